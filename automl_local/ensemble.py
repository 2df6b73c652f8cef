"""VotingEnsemble and StackEnsemble over the trials' out-of-fold predictions.

VotingEnsemble is Caruana et al.'s greedy ensemble selection (with
replacement), the method Azure AutoML uses: start from the best model, add
whichever model most improves the primary metric of the averaged
probabilities, stop when nothing helps. StackEnsemble fits a meta-learner on
the members' out-of-fold probabilities; its score is itself cross-validated
so that it competes fairly with the single models.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from automl_local import metrics
from automl_local.exceptions import ConfigError
from automl_local.featurize import Featurizer
from automl_local.model import AutoMLModel
from automl_local.search import (
    ESTIMATORS,
    Resources,
    TrialExecutor,
    member_key,
    refit_members,
)

__all__ = [
    "STACK_META_LEARNERS",
    "Candidate",
    "EnsembleResult",
    "build_ensembles",
    "greedy_selection",
    "refit_candidate",
    "stack",
]

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


def make_meta_learner(kind: str | None, seed: int, kwargs: dict[str, Any] | None = None) -> Any:
    kind = kind or "LogisticRegression"
    kwargs = dict(kwargs or {})
    if kind == "LogisticRegression":
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(max_iter=1000, random_state=seed, **kwargs)
    if kind == "LogisticRegressionCV":
        from sklearn.linear_model import LogisticRegressionCV

        return LogisticRegressionCV(max_iter=1000, random_state=seed, **kwargs)
    if kind == "LightGBMClassifier":
        from lightgbm import LGBMClassifier

        return LGBMClassifier(
            n_estimators=100, num_leaves=8, verbose=-1, random_state=seed, **kwargs
        )
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
    seed: int = 0,
    max_members: int = 6,
) -> EnsembleResult:
    """A meta-learner over the best ``max_members`` candidates' probabilities."""
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    scores = [metrics.score(metric, y, p, w) for p in candidates]
    members = sorted(np.argsort(scores)[::-1][:max_members].tolist())
    features = np.hstack([candidates[i] for i in members])
    meta = make_meta_learner(meta_learner, seed)
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
    if vote:
        builders.append(("VotingEnsemble", lambda: greedy_selection(oofs, y, metric, w)))
    if stacked:
        builders.append(
            (
                "StackEnsemble",
                lambda: stack(oofs, y, metric, w, meta_learner=meta_learner, seed=seed),
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
