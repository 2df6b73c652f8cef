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


def _noisy(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6))
    y = (X[:, 0] + 0.5 * X[:, 1] + rng.normal(scale=1.5, size=n) > 0).astype(int)
    return X, y


def test_gradient_boosting_keeps_the_round_with_the_best_held_out_auc():
    from sklearn.metrics import roc_auc_score

    est = ESTIMATORS["GradientBoosting"]
    (X, y), (Xv, yv) = _noisy(2000, 0), _noisy(1000, 1)
    params = {"max_iter": 400, "learning_rate": 0.3, "max_leaf_nodes": 64,
              "min_samples_leaf": 5, "l2_regularization": 1e-8}  # fmt: skip  (overfits)
    model = est.build(params, n_jobs=1, seed=0, n_classes=2)
    best = est.fit_early_stopped(model, (X, y, None), (Xv, yv, None), [], patience=50, auc=True)
    aucs = [roc_auc_score(yv, raw) for raw in model.staged_decision_function(Xv)]
    # Stopped long before 400 rounds, on a round within 5 of the best AUC up to the stop,
    # and not on the rounds past it.
    assert model.n_iter_ < 400 and best < model.n_iter_
    assert aucs[best - 1] >= max(aucs[: best + 50]) - 0.002
    assert aucs[best - 1] > aucs[model.n_iter_ - 1]


@pytest.mark.parametrize(
    ("algorithm", "params", "n_jobs", "threads"),
    [
        ("RandomForest", {"n_estimators": 10, "max_features": 0.5, "min_samples_leaf": 5,
                          "criterion": "gini"}, 1, 1),
        # HistGradientBoosting's OpenMP regions gain little from a second thread: capped at 1.
        ("GradientBoosting", {"max_iter": 20, "learning_rate": 0.1, "max_leaf_nodes": 8,
                              "min_samples_leaf": 5, "l2_regularization": 1e-8}, 2, 1),
    ],
)  # fmt: skip
def test_trial_fits_use_the_shared_thread_count(
    monkeypatch: pytest.MonkeyPatch, algorithm: str, params: dict, n_jobs: int, threads: int
) -> None:
    """OpenMP and BLAS would take every core in each worker; trials run side by side."""
    from threadpoolctl import threadpool_info

    from automl_local.search import SharedData, cv_trial

    seen: list[int] = []
    base = type(ESTIMATORS[algorithm])

    class Probe(base):  # type: ignore[misc, valid-type]
        def fit(self, model, X, y, w, cat):  # type: ignore[no-untyped-def]
            seen.extend(p["num_threads"] for p in threadpool_info())
            return super().fit(model, X, y, w, cat)

    monkeypatch.setitem(ESTIMATORS, algorithm, Probe())
    X, y = _noisy(300, 0)
    idx = np.arange(300)
    shared = SharedData(matrices={"tree": X}, categorical={"tree": []}, y=y, w=None,
                        splits=[(idx[:200], idx[200:])], n_classes=2, metric="AUC_weighted",
                        n_jobs=n_jobs, seed=0)  # fmt: skip
    oof, _, scores = cv_trial(shared, algorithm, params, lambda k, v: False)
    assert oof is not None and scores[0] > 0.6
    assert seen and set(seen) == {threads}, seen


@pytest.mark.parametrize(
    ("rate", "patience"),
    [(0.3, 50), (0.1, 50), (0.05, 100), (0.015, 333), (0.001, 500), (None, 50)],
)
def test_a_slow_learner_gets_more_patience(rate: float | None, patience: int) -> None:
    from automl_local.search import rounds_patience

    assert rounds_patience({} if rate is None else {"learning_rate": rate}) == patience


def test_rescoring_stops_each_fold_with_the_learning_rates_patience(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With 50 rounds' patience at a learning rate of 0.015, one bank-marketing fold stopped at
    62 rounds, the others at 762 and 521, and its predictions sank the trial's CV score."""
    from automl_local.search import SharedData, rescore_trial, stratified_splits

    seen: list[int] = []
    base = type(ESTIMATORS["LightGBM"])

    class Probe(base):  # type: ignore[misc, valid-type]
        def fit_early_stopped(self, model, train, held_out, cat, *, patience, auc):  # type: ignore[no-untyped-def]
            seen.append(patience)
            return super().fit_early_stopped(
                model, train, held_out, cat, patience=patience, auc=auc)

    monkeypatch.setitem(ESTIMATORS, "LightGBM", Probe())
    X, y = _noisy(600, 0)
    folds = stratified_splits(3, y, 0)
    shared = SharedData(matrices={"tree": X}, categorical={"tree": []}, y=y, w=None,
                        splits=folds, n_classes=2, metric="AUC_weighted", n_jobs=1, seed=0,
                        rescore_splits=folds)  # fmt: skip
    params = {"n_estimators": 60, "learning_rate": 0.02, "num_leaves": 7, "min_child_samples": 10,
              "colsample_bytree": 1.0, "subsample": 1.0, "reg_alpha": 1e-8, "reg_lambda": 1e-8}
    oof, _, scores, refit = rescore_trial(shared, "LightGBM", params)
    assert seen == [250, 250, 250]
    assert oof is not None and min(scores) > 0.6 and refit["n_estimators"] >= 1
