"""A child run's evaluation, as Azure logs it: the ``confusion_matrix`` and
``accuracy_table`` JSON artifacts and the charts of the studio's Metrics tab.

Charts are PNGs drawn with matplotlib's Agg backend (no display needed):
ROC, precision-recall, calibration, lift, cumulative gains and the confusion
matrix, one-vs-rest for each class. All of them work from the child's
out-of-fold (or holdout) probabilities, the same predictions its metrics
come from, so nothing is refitted for them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "CHART_FILES",
    "accuracy_table",
    "confusion_matrix",
    "trials_chart",
    "write_evaluation",
]

CHART_FILES = (
    "roc_curve.png",
    "precision_recall_curve.png",
    "calibration_curve.png",
    "lift_curve.png",
    "cumulative_gains_curve.png",
    "confusion_matrix.png",
)
_N_THRESHOLDS = 101
_DPI = 72


def confusion_matrix(y: np.ndarray, proba: np.ndarray, labels: list[str]) -> dict[str, Any]:
    """Azure's ``confusion_matrix`` artifact (rows: true class, columns: predicted class)."""
    k = len(labels)
    matrix = np.zeros((k, k), dtype=np.int64)
    np.add.at(matrix, (y, proba.argmax(axis=1)), 1)
    return {
        "schema_type": "confusion_matrix",
        "schema_version": "1.0.0",
        "data": {"class_labels": labels, "matrix": matrix.tolist()},
    }


def _counts(hit: np.ndarray, scores: np.ndarray, thresholds: np.ndarray) -> list[list[int]]:
    """``[tp, fp, tn, fn]`` of "score >= threshold" for each threshold."""
    order = np.sort(scores)
    pos_scores = np.sort(scores[hit])
    n, n_pos = len(scores), int(hit.sum())
    above = n - np.searchsorted(order, thresholds, side="left")
    tp = n_pos - np.searchsorted(pos_scores, thresholds, side="left")
    fp = above - tp
    fn = n_pos - tp
    tn = n - n_pos - fp
    return np.column_stack([tp, fp, tn, fn]).astype(int).tolist()


def accuracy_table(y: np.ndarray, proba: np.ndarray, labels: list[str]) -> dict[str, Any]:
    """Azure's ``accuracy_table`` artifact (schema 1.0.1): one-vs-rest counts per class at
    101 probability thresholds and at the 101 percentiles of that class's scores."""
    probability_thresholds = np.linspace(0.0, 1.0, _N_THRESHOLDS)
    percentile_thresholds = np.linspace(0.0, 100.0, _N_THRESHOLDS)
    prob_tables, perc_tables = [], []
    for c in range(len(labels)):
        scores, hit = proba[:, c], y == c
        prob_tables.append(_counts(hit, scores, probability_thresholds))
        perc_tables.append(_counts(hit, scores, np.percentile(scores, percentile_thresholds)))
    return {
        "schema_type": "accuracy_table",
        "schema_version": "1.0.1",
        "data": {
            "probability_tables": prob_tables,
            "percentile_tables": perc_tables,
            "probability_thresholds": probability_thresholds.round(4).tolist(),
            "percentile_thresholds": percentile_thresholds.tolist(),
            "class_labels": labels,
        },
    }


def _figure() -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5, 4), dpi=_DPI)  # no pyplot: no global state, thread-safe
    return fig, fig.add_subplot()


def _save(fig: Any, ax: Any, path: Path, title: str, xlabel: str, ylabel: str) -> Path:
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, format="png")
    return path


def _classes_to_draw(k: int) -> list[int]:
    return [1] if k == 2 else list(range(k))  # binary: the positive class only


def _charts(y: np.ndarray, proba: np.ndarray, labels: list[str], out: Path) -> list[Path]:
    from sklearn.calibration import calibration_curve
    from sklearn.metrics import auc, precision_recall_curve, roc_curve

    k = len(labels)
    drawn = _classes_to_draw(k)
    paths = []
    fig, ax = _figure()
    for c in drawn:
        fpr, tpr, _ = roc_curve(y == c, proba[:, c])
        ax.plot(fpr, tpr, label=f"{labels[c]} (AUC {auc(fpr, tpr):.3f})")
    ax.plot([0, 1], [0, 1], "k--", lw=0.8, label="random")
    paths.append(_save(fig, ax, out / CHART_FILES[0], "ROC", "False positive rate",
                       "True positive rate"))  # fmt: skip
    fig, ax = _figure()
    for c in drawn:
        precision, recall, _ = precision_recall_curve(y == c, proba[:, c])
        ax.plot(recall, precision, label=labels[c])
    paths.append(_save(fig, ax, out / CHART_FILES[1], "Precision-recall", "Recall",
                       "Precision"))  # fmt: skip
    fig, ax = _figure()
    for c in drawn:
        true, predicted = calibration_curve(y == c, proba[:, c], n_bins=10, strategy="quantile")
        ax.plot(predicted, true, marker="o", label=labels[c])
    ax.plot([0, 1], [0, 1], "k--", lw=0.8, label="perfectly calibrated")
    paths.append(_save(fig, ax, out / CHART_FILES[2], "Calibration", "Mean predicted probability",
                       "Fraction of positives"))  # fmt: skip
    fig_lift, ax_lift = _figure()
    fig_gain, ax_gain = _figure()
    share = np.arange(1, len(y) + 1) / len(y)
    for c in drawn:
        hits = (y[np.argsort(-proba[:, c], kind="stable")] == c).astype(float)
        gains = np.cumsum(hits) / max(1.0, hits.sum())
        ax_gain.plot(share, gains, label=labels[c])
        ax_lift.plot(share, gains / share, label=labels[c])
    ax_gain.plot([0, 1], [0, 1], "k--", lw=0.8, label="random")
    ax_lift.axhline(1.0, color="k", ls="--", lw=0.8, label="random")
    paths.append(_save(fig_lift, ax_lift, out / CHART_FILES[3], "Lift", "Share of rows targeted",
                       "Lift"))  # fmt: skip
    paths.append(_save(fig_gain, ax_gain, out / CHART_FILES[4], "Cumulative gains",
                       "Share of rows targeted", "Share of class found"))  # fmt: skip
    fig, ax = _figure()
    matrix = np.asarray(confusion_matrix(y, proba, labels)["data"]["matrix"])
    ax.imshow(matrix, cmap="Blues")
    for (i, j), v in np.ndenumerate(matrix):
        color = "white" if v > matrix.max() / 2 else "black"
        ax.text(j, i, str(v), ha="center", va="center", color=color)
    ax.set_xticks(range(k), labels)
    ax.set_yticks(range(k), labels)
    paths.append(_save(fig, ax, out / CHART_FILES[5], "Confusion matrix", "Predicted label",
                       "True label"))  # fmt: skip
    return paths


def write_evaluation(
    y: np.ndarray, proba: np.ndarray, classes: list[Any], out: Path, *, charts: bool = True
) -> list[Path]:
    """``confusion_matrix``, ``accuracy_table`` (JSON, no extension, as Azure names them)
    and, with ``charts``, the PNGs of :data:`CHART_FILES`, into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    labels = [str(c) for c in classes]
    paths = []
    builders = {"confusion_matrix": confusion_matrix, "accuracy_table": accuracy_table}
    for name, build in builders.items():
        path = out / name
        path.write_text(json.dumps(build(y, proba, labels)))
        paths.append(path)
    if charts:
        paths += _charts(y, proba, labels, out)
    return paths


def trials_chart(rows: list[dict[str, Any]], metric: str, path: Path) -> Path:
    """The job's chart: each trial's primary metric by algorithm, and the best so far."""
    fig, ax = _figure()
    fig.set_size_inches(7, 4)
    done = sorted(
        (r for r in rows if r.get("status") == "Completed" and np.isfinite(r["score"])),
        key=lambda r: int(r["iteration"]),
    )
    for algorithm in sorted({r["algorithm"] for r in done}):
        mine = [r for r in done if r["algorithm"] == algorithm]
        ax.scatter([int(r["iteration"]) for r in mine], [r["score"] for r in mine],
                   label=algorithm, s=18)  # fmt: skip
    if done:
        best = np.maximum.accumulate([r["score"] for r in done])
        ax.step([int(r["iteration"]) for r in done], best, where="post", color="k", lw=1,
                label="best so far")  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    return _save(fig, ax, path, f"{metric} by trial", "Trial (iteration)", metric)
