"""VotingEnsemble and StackEnsemble over the trials' out-of-fold predictions.

VotingEnsemble is Caruana et al.'s ensemble selection, the method Azure
AutoML uses, with the three refinements of Caruana et al. (2006, "Getting
the most out of ensemble selection") that keep it from overfitting a small
validation split: sorted initialisation (start from the N best models),
selection with replacement (a model can gain weight), and bagging (the
selection is repeated on random halves of the models and the weights
averaged), see :func:`bagged_selection`. StackEnsemble fits a meta-learner on
the members' out-of-fold probabilities; its score is itself cross-validated
so that it competes fairly with the single models.
"""

from __future__ import annotations

import inspect
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

from automl_local import metrics
from automl_local.exceptions import ConfigError
from automl_local.featurize import Featurizer
from automl_local.model import AutoMLModel, LogProbaMeta
from automl_local.search import (
    ESTIMATORS,
    Resources,
    TrialExecutor,
    TrialRecord,
    member_key,
    refit_members,
)

__all__ = [
    "ENSEMBLE_SCORINGS",
    "STACK_META_LEARNERS",
    "STACK_SECONDS",
    "VOTE_MAX_MEMBERS",
    "Candidate",
    "EnsembleResult",
    "bagged_selection",
    "build_ensembles",
    "choose",
    "ensemble_seconds",
    "greedy_selection",
    "leaderboard_candidates",
    "library",
    "make_meta_learner",
    "refit_candidate",
    "scorer",
    "stack",
    "standard_error",
    "trial_candidates",
    "trial_library",
]

T = TypeVar("T")
# A library takes at most this many trials of one algorithm (see ``library``).
LIBRARY_PER_ALGORITHM = 4
# At most this many distinct models in a VotingEnsemble: each one is refit on all rows.
VOTE_MAX_MEMBERS = 8
# Below this many models, bagged selection is one plain sorted-init greedy run.
MIN_BAGGED_LIBRARY = 6
# Building the ensembles: the VotingEnsemble's selection scores about this many blends
# (20 bags x (3 + 15 rounds x 8 models)); the StackEnsemble's meta-learner takes ~1-2 s.
ENSEMBLE_SCORINGS = 2500
STACK_SECONDS = 2.0
STACK_META_LEARNERS = ("LogisticRegression", "LogisticRegressionCV", "LightGBMClassifier")


@dataclass
class Candidate:
    """A finished trial or an ensemble of trials: something that can become the model."""

    number: int
    algorithm: str
    score: float
    status: str = "Completed"
    seconds: float = 0.0
    members: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    weights: list[float] = field(default_factory=lambda: [1.0])
    meta: Any = None
    oof: np.ndarray | None = None
    ensembled_iterations: list[int] = field(default_factory=list)
    node: str = ""  # where the trial ran ("local", a Ray node id); "" for an ensemble
    error: str = ""  # why a trial failed or was stopped
    # The rows ``oof`` covers, in its order: None for the job's validation rows; every row
    # for the candidates of a cross-validated re-scoring (see ``automl_local.rescore``).
    eval_rows: np.ndarray | None = None

    def row(self, job: str) -> dict[str, Any]:
        """The candidate's leaderboard row."""
        row = {
            "run_id": f"{job}_{self.number}",
            "algorithm": self.algorithm,
            "score": self.score,
            "status": self.status,
            "seconds": round(self.seconds, 2),
            "node": self.node,
        }
        if self.error:
            row["error"] = self.error[:500]
        return row


@dataclass
class EnsembleResult:
    members: list[int]  # indices into the candidate list
    weights: list[float]
    score: float
    oof: np.ndarray
    meta: Any = None


def greedy_selection(
    candidates: list[np.ndarray],
    y: np.ndarray,
    metric: str,
    w: np.ndarray | None = None,
    *,
    max_rounds: int = 20,
    max_members: int = 8,
) -> EnsembleResult:
    """Greedy forward selection with replacement over candidate probability matrices."""
    scores = [metrics.score(metric, y, p, w) for p in candidates]
    first = int(np.nanargmax(scores))
    chosen = [first]
    total = candidates[first].copy()
    best = scores[first]
    for _ in range(max_rounds):
        distinct = set(chosen)
        trial_scores = []
        for i, p in enumerate(candidates):
            if len(distinct) >= max_members and i not in distinct:
                trial_scores.append(-np.inf)
                continue
            trial_scores.append(metrics.score(metric, y, (total + p) / (len(chosen) + 1), w))
        i = int(np.argmax(trial_scores))
        if trial_scores[i] <= best + 1e-7:
            break
        chosen.append(i)
        total += candidates[i]
        best = trial_scores[i]
    counts = Counter(chosen)
    members = sorted(counts)
    return EnsembleResult(
        members=members,
        weights=[float(counts[m]) for m in members],
        score=float(best),
        oof=total / len(chosen),
    )


Scorer = Callable[[np.ndarray], float]


def scorer(metric: str, y: np.ndarray, w: np.ndarray | None = None) -> Scorer:
    """The primary metric of probabilities on fixed labels, as a one-argument function.

    Ensemble selection scores thousands of blends of the same rows. For an unweighted
    ``AUC_weighted`` the labels' positions are computed once and each call ranks the
    probabilities once (Mann-Whitney, one column per class): through scikit-learn, a
    10-class AUC on 1,437 rows cost 33 ms, and one digits job's VotingEnsemble took 34 s
    of a 60 s budget, so the job failed at its refit. Every other metric goes through
    ``metrics.score``.
    """
    if metric != "AUC_weighted" or w is not None:
        return lambda p: metrics.score(metric, y, p, w)
    from scipy.stats import rankdata

    n = len(y)
    masks: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def auc(p: np.ndarray) -> float:
        k = p.shape[1]
        if k not in masks:
            onehot = y[:, None] == np.arange(k)[None, :]
            support = onehot.sum(axis=0)
            masks[k] = onehot, support, (support > 0) & (support < n)
        onehot, support, ok = masks[k]
        if not ok.any():
            return metrics.score(metric, y, p, w)
        if k == 2:  # the positive class's column only, as metrics.score (1 - p can tie apart)
            pos = support[1]
            ranks = rankdata(p[:, 1])
            return float((ranks[onehot[:, 1]].sum() - pos * (pos + 1) / 2) / (pos * (n - pos)))
        ranks = rankdata(p, axis=0)
        sums = (ranks * onehot).sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            per = (sums - support * (support + 1) / 2) / (support * (n - support))
        return float(np.average(per[ok], weights=support[ok]))

    return auc


def _select_path(
    candidates: list[np.ndarray], bag: np.ndarray, score: Scorer, init: int, rounds: int
) -> list[int]:
    """One ensemble selection over ``bag`` (indices, best first): sorted initialisation
    with the best prefix of up to ``init`` models, then ``rounds`` greedy additions with
    replacement; returns the chosen indices of the best point on that path."""
    starts = [np.mean([candidates[i] for i in bag[:n]], axis=0) for n in range(1, init + 1)]
    start_scores = [score(p) for p in starts]
    n0 = int(np.argmax(start_scores)) + 1
    chosen = [int(i) for i in bag[:n0]]
    total = starts[n0 - 1] * n0
    best_len, best = len(chosen), start_scores[n0 - 1]
    for _ in range(rounds):
        tried = [score((total + candidates[i]) / (len(chosen) + 1)) for i in bag]
        pick = int(bag[int(np.argmax(tried))])
        chosen.append(pick)
        total = total + candidates[pick]
        if max(tried) > best + 1e-7:
            best_len, best = len(chosen), max(tried)
    return chosen[:best_len]


def bagged_selection(
    candidates: list[np.ndarray],
    y: np.ndarray,
    metric: str,
    w: np.ndarray | None = None,
    *,
    bags: int = 20,
    fraction: float = 0.5,
    init: int = 3,
    rounds: int = 15,
    max_members: int = VOTE_MAX_MEMBERS,
    seed: int = 0,
    bagged: bool | None = None,
) -> EnsembleResult:
    """Caruana et al. (2006) ensemble selection over candidate probability matrices.

    Each of ``bags`` runs draws ``fraction`` of the candidates, starts from the
    best 1..``init`` of them (whichever blend scores best) and adds models
    greedily, with replacement, keeping the best point of the path. The
    weights are the runs' weights averaged: a model one lucky run picked gets
    little of it, which is what keeps the blend from fitting the validation
    rows' noise (a plain greedy pick gets worse as more trials compete). Only
    the ``max_members`` heaviest models are kept (each costs a refit).

    ``bagged`` False (or None with fewer than ``MIN_BAGGED_LIBRARY`` models) is
    one plain run over all models, as AutoGluon's weighted ensemble: for
    out-of-fold predictions over every row there is much less noise to fit,
    and a half-library bag that misses the best models drags the blend below
    them (measured on a generated 1,000-row job: 0.9474 against the best
    single model's 0.9480, 8 re-scored models).
    """
    score = scorer(metric, y, w)
    n = len(candidates)
    single = np.array([score(p) for p in candidates])
    order = np.argsort(-single, kind="stable")
    rng = np.random.default_rng(seed)
    size = min(n, max(2, round(fraction * n)))
    weights = np.zeros(n)
    # Bagging needs a library to draw from: with a handful of models a half-library bag often
    # misses the best one, and the averaged blend scores below it. Then one run over all.
    bagged = n >= MIN_BAGGED_LIBRARY if bagged is None else bagged
    for _ in range(bags if bagged else 1):
        bag = np.sort(rng.choice(n, size=size, replace=False)) if bagged else order
        bag = bag[np.argsort(-single[bag], kind="stable")]
        counts = np.bincount(_select_path(candidates, bag, score, init, rounds), minlength=n)
        weights += counts / counts.sum()
    keep = np.argsort(-weights, kind="stable")[: max(1, max_members)]
    keep = np.sort(keep[weights[keep] > 0])
    kept = np.round(weights[keep] / weights[keep].sum(), 4)
    oof = np.tensordot(kept / kept.sum(), np.stack([candidates[i] for i in keep]), axes=1)
    return EnsembleResult(
        members=[int(i) for i in keep],
        weights=[float(v) for v in kept],
        score=metrics.score(metric, y, oof, w),
        oof=oof,
    )


def ensemble_seconds(
    oof: np.ndarray, y: np.ndarray, metric: str, w: np.ndarray | None = None
) -> float:
    """Seconds that building the ensembles will take, from one blend's scoring on ``oof``.

    The least of 5 timings: one AUC call takes ~0.3 ms on 2,636 rows, and a
    single sample preempted on busy cores (a time slice is milliseconds) weighs 2,500 times.
    One sample, with the reserve uncapped, is the likely cause of a 60 s bank job whose
    search stopped after 4 trials.
    """
    score = scorer(metric, y, w)
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        score(oof)
        times.append(time.perf_counter() - t0)
    return ENSEMBLE_SCORINGS * min(times) + STACK_SECONDS


def library(
    ranked: list[T], groups: list[str], size: int, per_group: int = LIBRARY_PER_ALGORITHM
) -> list[T]:
    """The models an ensemble may choose from: the best ``size`` of ``ranked`` (best
    first), taking at most ``per_group`` of each group (algorithm) while others remain.

    A long search piles up near-copies of its best algorithm; blending copies gains
    little, blending different algorithms is where an ensemble's gain comes from.
    """
    taken: Counter[str] = Counter()
    first: list[T] = []
    rest: list[T] = []
    for item, group in zip(ranked, groups, strict=True):
        (first if taken[group] < per_group else rest).append(item)
        taken[group] += 1
    keep = {id(x) for x in (first + rest)[:size]}
    return [x for x in ranked if id(x) in keep]


def standard_error(
    metric: str,
    y: np.ndarray,
    proba: np.ndarray,
    w: np.ndarray | None = None,
    *,
    resamples: int = 100,
    seed: int = 0,
) -> float:
    """The bootstrap standard error of ``metric`` on these validation rows."""
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(resamples):
        rows = rng.integers(0, len(y), len(y))
        if len(np.unique(y[rows])) < len(np.unique(y)):
            continue  # a resample without some class has no AUC
        values.append(metrics.score(metric, y[rows], proba[rows], None if w is None else w[rows]))
    return float(np.nanstd(values)) if len(values) > 1 else 0.0


def choose(
    candidates: list[Candidate],
    y: np.ndarray,
    metric: str,
    w: np.ndarray | None = None,
    *,
    seed: int = 0,
) -> Candidate:
    """The candidate the job reports (its ``automl_best_child_run_id``).

    The best validation score, except that a single model beats the best
    ensemble only by more than that score's standard error: among many trials
    the top single score is partly luck on the validation rows (it gets worse
    on new rows as the search runs longer), while a blend of several models
    carries less of it. The chosen candidate's own score is what the job reports.
    """
    best = max(candidates, key=lambda c: c.score)
    ensembles = [c for c in candidates if c.ensembled_iterations and c.oof is not None]
    if best.ensembled_iterations or not ensembles or best.oof is None:
        return best
    ensemble = max(ensembles, key=lambda c: c.score)
    se = standard_error(metric, y, best.oof, w, seed=seed)
    return ensemble if ensemble.score >= best.score - se else best


def trial_library(records: list[TrialRecord], size: int) -> list[TrialRecord]:
    """The finished trials an ensemble may choose from (see :func:`library`), best first."""
    ok = sorted((r for r in records if r.ok and r.oof_path), key=lambda r: -r.score)
    return library(ok, [r.algorithm for r in ok], size)


def make_meta_learner(kind: str | None, seed: int, kwargs: dict[str, Any] | None = None) -> Any:
    """``stack_meta_learner_type`` (Azure's names) over the members' log-probabilities,
    built with ``stack_meta_learner_k_wargs``: a ConfigError names a keyword it does not take."""
    try:
        return LogProbaMeta(_meta_learner(kind, seed, kwargs))
    except TypeError as exc:
        raise ConfigError(
            f"training.stack_ensemble_settings.stack_meta_learner_kwargs {kwargs!r} do not fit "
            f"{kind or 'LogisticRegression'}: {exc}. Use that estimator's own parameter names "
            "(scikit-learn's or LightGBM's)."
        ) from None


def _meta_learner(kind: str | None, seed: int, kwargs: dict[str, Any] | None) -> Any:
    """The estimator; the user's keyword arguments override this project's defaults."""
    kind = kind or "LogisticRegression"
    if kind in ("LogisticRegression", "LogisticRegressionCV"):
        from sklearn import linear_model

        return getattr(linear_model, kind)(
            **{"max_iter": 1000, "random_state": seed, **(kwargs or {})}
        )
    if kind == "LightGBMClassifier":
        from lightgbm import LGBMClassifier

        # LGBMClassifier passes unknown keywords to the booster, which (verbose=-1) drops a
        # misspelt one without a word: only its named parameters are taken.
        unknown = set(kwargs or {}) - set(inspect.signature(LGBMClassifier).parameters)
        if unknown:
            raise TypeError(f"LGBMClassifier takes no keyword {', '.join(sorted(unknown))}")
        defaults = {"n_estimators": 100, "num_leaves": 8, "verbose": -1, "random_state": seed}
        return LGBMClassifier(**{**defaults, **(kwargs or {})})
    raise ConfigError(
        f"training.stack_ensemble_settings.stack_meta_learner_type {kind!r} is not supported "
        f"for classification. Use one of: {', '.join(STACK_META_LEARNERS)}."
    )


def stack(
    candidates: list[np.ndarray],
    y: np.ndarray,
    metric: str,
    w: np.ndarray | None = None,
    *,
    meta_learner: str | None = None,
    meta_kwargs: dict[str, Any] | None = None,
    seed: int = 0,
    max_members: int = 6,
) -> EnsembleResult:
    """A meta-learner over the best ``max_members`` candidates' probabilities."""
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    scores = [metrics.score(metric, y, p, w) for p in candidates]
    members = sorted(np.argsort(scores)[::-1][:max_members].tolist())
    features = np.hstack([candidates[i] for i in members])
    meta = make_meta_learner(meta_learner, seed, meta_kwargs)
    folds = StratifiedKFold(
        n_splits=min(5, int(np.bincount(y).min()) or 2), shuffle=True, random_state=seed
    )
    oof = cross_val_predict(meta, features, y, cv=folds, method="predict_proba")
    meta.fit(features, y)
    return EnsembleResult(
        members=members,
        weights=[1.0] * len(members),
        score=metrics.score(metric, y, oof, w),
        oof=oof,
        meta=meta,
    )


def build_ensembles(
    singles: list[Candidate],
    y: np.ndarray,
    metric: str,
    w: np.ndarray | None,
    *,
    vote: bool,
    stacked: bool,
    meta_learner: str | None,
    seed: int,
    meta_kwargs: dict[str, Any] | None = None,
    first_number: int,
) -> Iterator[Candidate]:
    """VotingEnsemble (if ``vote``) then StackEnsemble (if ``stacked``, with ``meta_learner``)
    over the singles' out-of-fold predictions, numbered from ``first_number``.

    Yields each ensemble as soon as it is built, so the caller logs it in order.
    """
    oofs = [c.oof for c in singles if c.oof is not None]
    if len(oofs) != len(singles):
        raise ValueError("every single candidate needs its out-of-fold predictions")
    builders: list[tuple[str, Callable[[], EnsembleResult]]] = []
    # Predictions by cross-validation over every row (re-scored trials): no bagging needed.
    bagged = None if not singles or singles[0].eval_rows is None else False
    if vote:
        builders.append(
            ("VotingEnsemble",
             lambda: bagged_selection(oofs, y, metric, w, seed=seed, bagged=bagged))
        )  # fmt: skip
    if stacked:
        builders.append(
            (
                "StackEnsemble",
                lambda: stack(
                    oofs,
                    y,
                    metric,
                    w,
                    meta_learner=meta_learner,
                    meta_kwargs=meta_kwargs,
                    seed=seed,
                ),
            )
        )
    for number, (name, build) in enumerate(builders, start=first_number):
        t0 = time.monotonic()
        built = build()
        chosen = [singles[i] for i in built.members]
        yield Candidate(
            number,
            name,
            built.score,
            seconds=time.monotonic() - t0,
            members=[m.members[0] for m in chosen],
            weights=built.weights,
            meta=built.meta,
            oof=built.oof,
            ensembled_iterations=[m.number for m in chosen],
        )


def refit_candidate(
    executor: TrialExecutor,
    preferred: Candidate,
    fallback: Candidate,
    featurizers: dict[str, Featurizer],
    classes: list[Any],
    *,
    soft_deadline: float,
    deadline: float,
    slots: int,
    resources: Resources,
) -> tuple[AutoMLModel, Candidate]:
    """The winner fitted on every row (on the search's executor), or the best single model
    if time runs short (see :func:`automl_local.search.refit_members`); returns the model
    and which candidate it is."""
    fitted, complete = refit_members(
        executor,
        preferred.members,
        fallback.members,
        soft_deadline=soft_deadline,
        deadline=deadline,
        slots=slots,
        resources=resources,
    )
    chosen = preferred if complete else fallback
    used = [(ESTIMATORS[a].family, fitted[member_key((a, p))]) for a, p in chosen.members]
    model = AutoMLModel(
        featurizers={family: featurizers[family] for family, _ in used},
        members=used,
        weights=list(chosen.weights),
        meta=chosen.meta,
        classes=classes,
        algorithm=chosen.algorithm,
    )
    return model, chosen


def leaderboard_candidates(
    singles: list[Candidate],
    pool: list[Candidate],
    ensembles: list[Candidate],
    rest: list[Candidate],
) -> tuple[list[Candidate], list[Candidate]]:
    """The job's candidates and its other leaderboard rows, each trial once: the trials as
    the search scored them, a re-scored trial the holdout's library left out (with its
    predictions, which its outputs need), the ensembles; then the rest."""
    in_library = {c.number for c in singles}
    missing = [c for c in pool if c.number not in in_library]
    shown = {c.number for c in missing}
    return [*singles, *missing, *ensembles], [c for c in rest if c.number not in shown]


def trial_candidates(
    records: list[TrialRecord], limit: int
) -> tuple[list[Candidate], list[Candidate]]:
    """The trials as candidates: the ensembles' library (with their out-of-fold predictions,
    see :func:`trial_library`), and every other trial (failed, or left out of the library),
    which the leaderboard still lists."""
    library = [
        Candidate(
            r.number,
            r.algorithm,
            r.score,
            seconds=r.seconds,
            members=[(r.algorithm, r.params)],
            oof=np.load(r.oof_path),
            node=r.node,
            error=r.error,
        )
        for r in trial_library(records, limit)
        if r.oof_path
    ]
    chosen = {c.number for c in library}
    ok = sorted((r for r in records if r.ok and r.oof_path), key=lambda r: -r.score)
    rest = [
        Candidate(r.number, r.algorithm, r.score, r.status, r.seconds, node=r.node, error=r.error)
        for r in records
        if not (r.ok and r.oof_path)
    ] + [
        Candidate(r.number, r.algorithm, r.score, seconds=r.seconds, node=r.node)
        for r in ok
        if r.number not in chosen
    ]
    return library, rest
