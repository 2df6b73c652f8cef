import numpy as np
import optuna
import pytest

from automl_local.exceptions import ConfigError
from automl_local.search import ESTIMATORS, canonical_algorithm, resolve_algorithms

AZURE_NAMES = [
    "LogisticRegression",
    "SGD",
    "MultinomialNaiveBayes",
    "BernoulliNaiveBayes",
    "SVM",
    "LinearSVM",
    "KNN",
    "DecisionTree",
    "RandomForest",
    "ExtremeRandomTrees",
    "LightGBM",
    "GradientBoosting",
    "XGBoostClassifier",
]


def test_registry_covers_azure_classification_models():
    assert set(AZURE_NAMES) == set(ESTIMATORS)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("LightGBM", "LightGBM"),
        ("light_gbm", "LightGBM"),
        ("xg_boost_classifier", "XGBoostClassifier"),
        ("extreme_random_trees", "ExtremeRandomTrees"),
        ("KNN", "KNN"),
        ("linear_svm", "LinearSVM"),
    ],
)
def test_azure_spellings_resolve(given, expected):
    assert canonical_algorithm(given) == expected


def test_azure_enum_members_resolve():
    from azure.ai.ml.automl import ClassificationModels

    assert canonical_algorithm(ClassificationModels.LIGHT_GBM) == "LightGBM"


def test_unknown_algorithm_lists_the_valid_names():
    with pytest.raises(ConfigError, match=r"'Foo' is not a classification algorithm.*LightGBM"):
        canonical_algorithm("Foo")


def test_blocking_everything_is_an_error():
    with pytest.raises(ConfigError, match="no training algorithm is left"):
        resolve_algorithms(["LightGBM"], ["LightGBM"], n_rows=100, weighted=False)


def test_unusable_algorithms_are_skipped_with_a_reason():
    names, skipped = resolve_algorithms(None, ["SGD"], n_rows=50_000, weighted=True)
    assert "SVM" not in names and "too slow" in skipped["SVM"]
    assert skipped["KNN"] == "does not support weight_column_name"
    assert skipped["SGD"] == "blocked_training_algorithms"


@pytest.mark.parametrize("name", sorted(AZURE_NAMES))
def test_each_estimator_suggests_builds_and_fits(name):
    est = ESTIMATORS[name]
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 4))
    y = (X[:, 0] + rng.normal(scale=0.3, size=120) > 0).astype(int)
    study = optuna.create_study(direction="maximize")
    trial = study.ask()
    params = est.search_space(trial, 120)
    assert all(k.startswith(f"{name}.") for k in trial.params)
    model = est.fit(est.build(params, n_jobs=1, seed=0, n_classes=2), X, y, None, [])
    proba = model.predict_proba(X)
    assert proba.shape == (120, 2)
    for entry in est.portfolio(120):
        assert set(entry) == set(params), "portfolio entries must set every searched parameter"
