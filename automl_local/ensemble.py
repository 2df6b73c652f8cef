"""VotingEnsemble and StackEnsemble over the trials' out-of-fold predictions.

VotingEnsemble is Caruana et al.'s greedy ensemble selection (with
replacement), the method Azure AutoML uses: start from the best model, add
whichever model most improves the primary metric of the averaged
probabilities, stop when nothing helps. StackEnsemble fits a meta-learner on
the members' out-of-fold probabilities; its score is itself cross-validated
so that it competes fairly with the single models.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from automl_local import metrics
from automl_local.exceptions import ConfigError

__all__ = ["STACK_META_LEARNERS", "EnsembleResult", "greedy_selection", "stack"]

STACK_META_LEARNERS = ("LogisticRegression", "LogisticRegressionCV", "LightGBMClassifier")


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
