import numpy as np
import pytest
from sklearn import metrics as skm

from automl_local import metrics


@pytest.fixture
def binary():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    p1 = np.clip(y * 0.6 + rng.uniform(0, 0.5, 300), 0, 1)
    return y, np.column_stack([1 - p1, p1])


def test_binary_auc_weighted_equals_roc_auc(binary):
    y, proba = binary
    m = metrics.classification_metrics(y, proba)
    expected = skm.roc_auc_score(y, proba[:, 1])
    assert m["AUC_weighted"] == pytest.approx(expected)
    assert m["AUC_macro"] == pytest.approx(expected)
    assert metrics.score("AUC_weighted", y, proba) == pytest.approx(expected)


def test_every_azure_metric_is_reported(binary):
    y, proba = binary
    expected = set(metrics.METRIC_NAMES) | set(metrics.BINARY_METRIC_NAMES)
    assert set(metrics.classification_metrics(y, proba)) == expected


def test_norm_macro_recall_is_zero_for_constant_guess():
    y = np.array([0, 0, 1, 1])
    proba = np.array([[0.9, 0.1]] * 4)  # always class 0: macro recall 0.5 = chance
    assert metrics.classification_metrics(y, proba)["norm_macro_recall"] == 0.0
    assert metrics.score("norm_macro_recall", y, proba) == 0.0


def test_weighted_accuracy_weights_samples_by_class_size():
    y = np.array([0, 0, 0, 1])
    proba = np.array([[0.9, 0.1], [0.9, 0.1], [0.1, 0.9], [0.1, 0.9]])
    # correct: two of class 0 (weight 3 each), the class-1 sample (weight 1); wrong: one (3)
    assert metrics.classification_metrics(y, proba)["weighted_accuracy"] == pytest.approx(7 / 10)


def test_multiclass_auc_weighted_uses_class_support():
    rng = np.random.default_rng(1)
    y = np.repeat([0, 1, 2], [50, 30, 20])
    proba = rng.dirichlet([1, 1, 1], size=100)
    proba[np.arange(100), y] += 0.5
    proba /= proba.sum(axis=1, keepdims=True)
    expected = skm.roc_auc_score(y, proba, multi_class="ovr", average="weighted")
    assert metrics.score("AUC_weighted", y, proba) == pytest.approx(expected)


def test_unknown_primary_metric_raises():
    with pytest.raises(KeyError):
        metrics.score("f1", np.array([0, 1]), np.array([[0.5, 0.5], [0.5, 0.5]]))


def test_each_default_primary_metric_is_azures_default_on_its_path(tmp_path):
    """The YAML path defaults to AUC_weighted (the schema), the Python path to accuracy."""
    from azure.ai.ml import Input, automl, load_job

    from automl_local.metrics import (
        DEFAULT_PRIMARY_METRIC,
        PYTHON_DEFAULT_PRIMARY_METRIC,
        normalize_metric,
    )
    from automl_local.settings import JobSettings

    spec = tmp_path / "job.yml"
    spec.write_text(
        "type: automl\ntask: classification\ntarget_column_name: y\n"
        "training_data: {path: ./train, type: mltable}\n"
    )
    yaml_metric = load_job(spec).primary_metric
    python_job = automl.classification(
        training_data=Input(type="mltable", path="./train"), target_column_name="y"
    )
    assert normalize_metric(getattr(yaml_metric, "value", yaml_metric)) == DEFAULT_PRIMARY_METRIC
    python_metric = python_job.primary_metric
    assert (
        normalize_metric(getattr(python_metric, "value", python_metric))
        == PYTHON_DEFAULT_PRIMARY_METRIC
    )
    assert JobSettings(name="j", target_column_name="y", training_data="t").primary_metric == (
        DEFAULT_PRIMARY_METRIC
    )
