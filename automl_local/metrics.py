"""Azure ML's classification metric set, with Azure's definitions.

Every child run logs all of them; the primary metric is one of five. All
primary metrics are "higher is better". Labels are integer-encoded
(0..K-1) and ``proba`` is an (n, K) matrix of class probabilities.

This module is also the home of the metric vocabulary: the primary metrics
Azure accepts, their spellings (:func:`normalize_metric`) and the defaults
(one constant per meaning: the job spec's and the Python SDK's).
"""

from __future__ import annotations

import warnings

import numpy as np

from automl_local.exceptions import ConfigError

__all__ = [
    "BINARY_METRIC_NAMES",
    "DEFAULT_PRIMARY_METRIC",
    "METRIC_NAMES",
    "PRIMARY_METRICS",
    "PYTHON_DEFAULT_PRIMARY_METRIC",
    "binary_metrics",
    "classification_metrics",
    "normalize_metric",
    "score",
]

# Azure's classification primary metrics (wire value -> our canonical name).
PRIMARY_METRICS: dict[str, str] = {
    "accuracy": "accuracy",
    "auc_weighted": "AUC_weighted",
    "norm_macro_recall": "norm_macro_recall",
    "average_precision_score_weighted": "average_precision_score_weighted",
    "precision_score_weighted": "precision_score_weighted",
}
#: The default of a job spec that names no primary metric: Azure's YAML schema
#: (``AutoMLClassificationSchema``, ``load_default``) and the design card say
#: ``AUC_weighted``. The engine's :class:`~automl_local.settings.JobSettings` uses it.
DEFAULT_PRIMARY_METRIC = PRIMARY_METRICS["auc_weighted"]
#: azure-ai-ml's Python path (``automl.classification()`` without ``primary_metric``,
#: ``ClassificationJob._DEFAULT_PRIMARY_METRIC``) defaults to ``accuracy`` instead;
#: the local backend applies it to an entity that carries no metric.
PYTHON_DEFAULT_PRIMARY_METRIC = PRIMARY_METRICS["accuracy"]

METRIC_NAMES = (
    "AUC_macro",
    "AUC_micro",
    "AUC_weighted",
    "accuracy",
    "average_precision_score_macro",
    "average_precision_score_micro",
    "average_precision_score_weighted",
    "balanced_accuracy",
    "f1_score_macro",
    "f1_score_micro",
    "f1_score_weighted",
    "log_loss",
    "matthews_correlation",
    "norm_macro_recall",
    "precision_score_macro",
    "precision_score_micro",
    "precision_score_weighted",
    "recall_score_macro",
    "recall_score_micro",
    "recall_score_weighted",
    "weighted_accuracy",
)


def _snake(name: str) -> str:
    out: list[str] = []
    for i, ch in enumerate(name):
        if (
            ch.isupper()
            and i
            and (name[i - 1].islower() or (i + 1 < len(name) and name[i + 1].islower()))
            and name[i - 1] != "_"
        ):
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


def normalize_metric(value: str) -> str:
    """Accept Azure's spellings (``AUC_weighted``, ``AUCWeighted``, ``auc_weighted``)."""
    key = _snake(str(value)).replace("a_u_c", "auc")
    if key not in PRIMARY_METRICS:
        raise ConfigError(
            f"primary_metric {value!r} is not a classification metric. "
            f"Use one of: {', '.join(PRIMARY_METRICS.values())}."
        )
    return PRIMARY_METRICS[key]


def _one_hot(y: np.ndarray, k: int) -> np.ndarray:
    out = np.zeros((len(y), k))
    out[np.arange(len(y)), y] = 1.0
    return out


def _per_class(fn, onehot: np.ndarray, proba: np.ndarray, w: np.ndarray | None) -> np.ndarray:
    """One-vs-rest scores; a class absent from ``y`` scores NaN (left out of averages)."""
    out = np.full(onehot.shape[1], np.nan)
    for c in range(onehot.shape[1]):
        if 0 < onehot[:, c].sum() < len(onehot):
            out[c] = fn(onehot[:, c], proba[:, c], sample_weight=w)
    return out


def _averages(per_class: np.ndarray, support: np.ndarray) -> tuple[float, float]:
    ok = ~np.isnan(per_class)
    if not ok.any():
        return float("nan"), float("nan")
    macro = float(per_class[ok].mean())
    weighted = float(np.average(per_class[ok], weights=support[ok]))
    return macro, weighted


def score(
    metric: str, y: np.ndarray, proba: np.ndarray, sample_weight: np.ndarray | None = None
) -> float:
    """The primary metric only: the search calls this once per fold, so keep it cheap."""
    from sklearn import metrics as skm  # imported here: the vocabulary above needs no sklearn

    k = proba.shape[1]
    if metric == "AUC_weighted":
        if k == 2:
            return float(skm.roc_auc_score(y, proba[:, 1], sample_weight=sample_weight))
        onehot = _one_hot(y, k)
        per = _per_class(skm.roc_auc_score, onehot, proba, sample_weight)
        return _averages(per, onehot.sum(axis=0))[1]
    if metric == "average_precision_score_weighted":
        onehot = _one_hot(y, k)
        per = _per_class(skm.average_precision_score, onehot, proba, sample_weight)
        return _averages(per, onehot.sum(axis=0))[1]
    pred = proba.argmax(axis=1)
    if metric == "accuracy":
        return float(skm.accuracy_score(y, pred, sample_weight=sample_weight))
    if metric == "precision_score_weighted":
        return float(
            skm.precision_score(
                y, pred, average="weighted", sample_weight=sample_weight, zero_division=0
            )
        )
    if metric == "norm_macro_recall":
        recall = skm.recall_score(
            y, pred, average="macro", sample_weight=sample_weight, zero_division=0
        )
        return _norm_macro_recall(float(recall), k)
    raise KeyError(metric)


def _norm_macro_recall(recall_macro: float, n_classes: int) -> float:
    """Macro recall rescaled so that random guessing scores 0 and perfect scores 1 (Azure)."""
    chance = 1.0 / n_classes
    return max(0.0, (recall_macro - chance) / (1.0 - chance))


def classification_metrics(
    y: np.ndarray, proba: np.ndarray, sample_weight: np.ndarray | None = None
) -> dict[str, float]:
    """All of Azure's classification metrics for one set of predictions (with the
    ``*_binary`` ones when there are two classes)."""
    from sklearn import metrics as skm

    k = proba.shape[1]
    pred = proba.argmax(axis=1)
    onehot = _one_hot(y, k)
    support = onehot.sum(axis=0)
    w = sample_weight
    out: dict[str, float] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        auc = _per_class(skm.roc_auc_score, onehot, proba, w)
        out["AUC_macro"], out["AUC_weighted"] = _averages(auc, support)
        out["AUC_micro"] = float(
            skm.roc_auc_score(
                onehot.ravel(), proba.ravel(), sample_weight=None if w is None else np.repeat(w, k)
            )
        )
        ap = _per_class(skm.average_precision_score, onehot, proba, w)
        out["average_precision_score_macro"], out["average_precision_score_weighted"] = _averages(
            ap, support
        )
        out["average_precision_score_micro"] = float(
            skm.average_precision_score(
                onehot.ravel(), proba.ravel(), sample_weight=None if w is None else np.repeat(w, k)
            )
        )
        out["accuracy"] = float(skm.accuracy_score(y, pred, sample_weight=w))
        out["balanced_accuracy"] = float(skm.balanced_accuracy_score(y, pred, sample_weight=w))
        labels = np.arange(k)
        for avg in ("macro", "micro", "weighted"):
            out[f"f1_score_{avg}"] = float(
                skm.f1_score(y, pred, labels=labels, average=avg, sample_weight=w, zero_division=0)
            )
            out[f"precision_score_{avg}"] = float(
                skm.precision_score(
                    y, pred, labels=labels, average=avg, sample_weight=w, zero_division=0
                )
            )
            out[f"recall_score_{avg}"] = float(
                skm.recall_score(
                    y, pred, labels=labels, average=avg, sample_weight=w, zero_division=0
                )
            )
        out["log_loss"] = float(
            skm.log_loss(y, np.clip(proba, 1e-15, 1.0), labels=labels, sample_weight=w)
        )
        out["matthews_correlation"] = float(skm.matthews_corrcoef(y, pred, sample_weight=w))
        out["norm_macro_recall"] = _norm_macro_recall(out["recall_score_macro"], k)
        # Azure: each sample weighted by the number of samples of its class.
        class_weight = support[y]
        out["weighted_accuracy"] = float(
            np.average(pred == y, weights=class_weight if w is None else class_weight * w)
        )
    return out | binary_metrics(y, proba, w)


BINARY_METRIC_NAMES = (
    "AUC_binary",
    "average_precision_score_binary",
    "f1_score_binary",
    "precision_score_binary",
    "recall_score_binary",
)


def binary_metrics(
    y: np.ndarray, proba: np.ndarray, sample_weight: np.ndarray | None = None
) -> dict[str, float]:
    """Azure's ``*_binary`` metrics: the positive class alone (column 1 of ``proba``).

    The data preparation puts ``positive_label`` second for two classes, so column 1 is
    the positive class whether or not the job named it. Empty for more than two classes.
    """
    from sklearn import metrics as skm

    if proba.shape[1] != 2:
        return {}
    positive, pred = proba[:, 1], proba.argmax(axis=1)
    w = sample_weight
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        both = 0 < int(y.sum()) < len(y)
        return {
            "AUC_binary": float(skm.roc_auc_score(y, positive, sample_weight=w))
            if both
            else float("nan"),
            "average_precision_score_binary": float(
                skm.average_precision_score(y, positive, sample_weight=w)
            ),
            "f1_score_binary": float(skm.f1_score(y, pred, sample_weight=w, zero_division=0)),
            "precision_score_binary": float(
                skm.precision_score(y, pred, sample_weight=w, zero_division=0)
            ),
            "recall_score_binary": float(
                skm.recall_score(y, pred, sample_weight=w, zero_division=0)
            ),
        }
