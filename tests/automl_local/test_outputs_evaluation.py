"""Azure's evaluation artifacts and the charts, from probabilities (no model needed)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from automl_local.metrics import BINARY_METRIC_NAMES, binary_metrics
from automl_local.outputs import (
    CHART_FILES,
    accuracy_table,
    confusion_matrix,
    trials_chart,
    write_evaluation,
)

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def predictions():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    p = np.clip(0.35 * y + 0.65 * rng.random(300), 0, 1)
    return y, np.column_stack([1 - p, p])


def test_confusion_matrix_counts_true_rows_predicted_columns(predictions) -> None:
    y, proba = predictions
    cm = confusion_matrix(y, proba, ["no", "yes"])
    assert cm["schema_type"] == "confusion_matrix" and cm["data"]["class_labels"] == ["no", "yes"]
    pred = proba.argmax(axis=1)
    expected = [[int(((y == t) & (pred == p)).sum()) for p in (0, 1)] for t in (0, 1)]
    assert cm["data"]["matrix"] == expected


def test_accuracy_table_counts_match_thresholding(predictions) -> None:
    y, proba = predictions
    table = accuracy_table(y, proba, ["no", "yes"])["data"]
    assert len(table["probability_thresholds"]) == 101 == len(table["percentile_thresholds"])
    for c in (0, 1):
        for i in (0, 37, 50, 100):
            t = table["probability_thresholds"][i]
            hit, above = y == c, proba[:, c] >= t
            expected = [int((hit & above).sum()), int((~hit & above).sum()),
                        int((~hit & ~above).sum()), int((hit & ~above).sum())]  # fmt: skip
            assert table["probability_tables"][c][i] == expected
        assert sum(table["percentile_tables"][c][0]) == len(y)


def test_binary_metrics_use_the_positive_class(predictions) -> None:
    from sklearn.metrics import f1_score, roc_auc_score

    y, proba = predictions
    m = binary_metrics(y, proba)
    assert set(m) == set(BINARY_METRIC_NAMES)
    assert m["AUC_binary"] == pytest.approx(roc_auc_score(y, proba[:, 1]))
    assert m["f1_score_binary"] == pytest.approx(f1_score(y, proba.argmax(axis=1)))
    assert binary_metrics(np.array([0, 1, 2]), np.eye(3)) == {}  # multiclass: none


def test_charts_are_pngs_and_artifacts_are_json(predictions, tmp_path) -> None:
    y, proba = predictions
    paths = write_evaluation(y, proba, ["no", "yes"], tmp_path)
    assert sorted(p.name for p in paths) == sorted(
        ["confusion_matrix", "accuracy_table", *CHART_FILES]
    )
    for p in paths:
        if p.suffix == ".png":
            assert p.read_bytes()[:8] == PNG and p.stat().st_size > 2000
        else:
            assert json.loads(p.read_text())["schema_type"] == p.name


def test_multiclass_charts_draw_each_class(tmp_path) -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 200)
    proba = rng.dirichlet([1, 1, 1], 200)
    paths = write_evaluation(y, proba, ["a", "b", "c"], tmp_path)
    assert all(p.exists() for p in paths)
    assert json.loads((tmp_path / "confusion_matrix").read_text())["data"]["class_labels"] == [
        "a", "b", "c"
    ]  # fmt: skip


def test_trials_chart(tmp_path) -> None:
    rows = [{"iteration": str(i), "algorithm": "LightGBM" if i % 2 else "SGD",
             "score": 0.7 + 0.01 * i, "status": "Completed"} for i in range(6)]  # fmt: skip
    rows.append({"iteration": "6", "algorithm": "SGD", "score": float("nan"), "status": "Failed"})
    path = trials_chart(rows, "AUC_weighted", tmp_path / "trials.png")
    assert path.read_bytes()[:8] == PNG
