"""Serving-time compiled members give the same floats as the scikit-learn originals."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
from _testdata import make_frame
from automl_local.service._compile import (
    CompiledForest,
    CompiledHistGradientBoosting,
    compile_members,
)
from automl_local.service._compile_xgb import CompiledXGBoost
from sklearn.ensemble import (
    ExtraTreesClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
)

from automl_local.featurize import Featurizer
from automl_local.model import AutoMLModel, BoosterClassifier


def _automl_model(classes: int, categorical: bool = False,
                  forest: type | None = None) -> tuple[AutoMLModel, object]:
    frame = make_frame(600, seed=3, classes=classes)
    X, y = frame.drop(columns="y"), frame["y"]
    featurizer = Featurizer(family="tree").fit(X)
    features = featurizer.transform(X)
    if forest is not None:
        features = features.copy()
        features[::5, 0] = np.nan  # trees learn where missing values go
        member = forest(n_estimators=40, min_samples_leaf=3, random_state=0).fit(features, y)
    else:
        member = HistGradientBoostingClassifier(
            max_iter=60,
            random_state=0,
            categorical_features=featurizer.categorical_indices_ if categorical else None,
        ).fit(features, y)
    model = AutoMLModel(
        featurizers={"tree": featurizer},
        members=[("tree", member)],
        weights=[1.0],
        classes=list(member.classes_),
        columns=list(X.columns),
        algorithm=type(member).__name__,
    )
    return model, X


def _assert_same(fast: object, original: object, probe: object) -> None:
    """Identical probabilities on all rows at once and on single rows (the served case).

    A compiled member answers big batches with its original (``_Walked``), so
    its walk is also checked on all rows directly.
    """
    assert np.array_equal(fast.predict_proba(probe), original.predict_proba(probe))
    if hasattr(fast, "walk_proba"):
        assert np.array_equal(fast.walk_proba(probe), original.predict_proba(probe))
    rows = probe.iloc if hasattr(probe, "iloc") else probe
    for i in range(25):
        assert np.array_equal(fast.predict_proba(rows[i:i + 1]),
                              original.predict_proba(rows[i:i + 1]))  # fmt: skip


@pytest.mark.parametrize("classes", [2, 3])
def test_compiled_histgradientboosting_gives_the_same_floats(classes: int) -> None:
    model, X = _automl_model(classes)
    original = copy.deepcopy(model)
    assert compile_members(model, X.head(1)) == [
        "member 0 HistGradientBoostingClassifier (60 trees)"
    ]
    assert isinstance(model.members[0][1], CompiledHistGradientBoosting)
    probe = X.copy()
    probe.loc[probe.index[::7], "x1"] = np.nan  # missing values take each node's NaN branch
    _assert_same(model, original, probe)
    assert list(model.predict(probe)) == list(original.predict(probe))
    features = np.asarray(model.featurizers["tree"].transform(probe), np.float64)
    _assert_same(model.members[0][1], original.members[0][1], features)


def test_categorical_splits_are_left_to_scikit_learn() -> None:
    model, X = _automl_model(2, categorical=True)
    member = model.members[0][1]
    assert compile_members(model, X.head(1)) == []
    assert model.members[0][1] is member


def test_non_automl_estimators_are_untouched() -> None:
    hgb = HistGradientBoostingClassifier(max_iter=5).fit(np.eye(4), [0, 1, 0, 1])
    assert compile_members(hgb, np.eye(4)) == []


@pytest.mark.parametrize("forest", [RandomForestClassifier, ExtraTreesClassifier])
@pytest.mark.parametrize("classes", [2, 3])
def test_compiled_forests_give_the_same_floats(forest: type, classes: int) -> None:
    model, X = _automl_model(classes, forest=forest)
    original = copy.deepcopy(model)
    assert compile_members(model, X.head(1)) == [f"member 0 {forest.__name__} (40 trees)"]
    assert isinstance(model.members[0][1], CompiledForest)
    probe = X.copy()
    probe.loc[probe.index[::7], "x1"] = np.nan
    _assert_same(model, original, probe)
    features = np.asarray(model.featurizers["tree"].transform(X), np.float64)
    features[::3, 0] = np.nan  # the trees' own NaN branches (the featurizer imputes x1)
    _assert_same(model.members[0][1], original.members[0][1], features)
    assert list(model.predict(probe)) == list(original.predict(probe))


def _xgboost_model(classes: int, **params: object) -> tuple[AutoMLModel, object, np.ndarray]:
    """An AutoML model of one XGBoost member, its raw rows and featurized rows with NaNs."""
    from xgboost import XGBClassifier

    frame = make_frame(600, seed=5, classes=classes)
    X, y = frame.drop(columns="y"), frame["y"]
    featurizer = Featurizer(family="tree").fit(X)  # "color" becomes a category code
    features = featurizer.transform(X).copy()
    features[::5, 0] = np.nan  # trees learn a default direction for missing values
    features[::7, 1] = np.nan
    classes_, codes = np.unique(y, return_inverse=True)
    fitted = XGBClassifier(n_estimators=60, max_depth=4, random_state=0, n_jobs=1,
                           **params).fit(features, codes)  # fmt: skip
    model = AutoMLModel(
        featurizers={"tree": featurizer},
        members=[("tree", BoosterClassifier.from_estimator(fitted))],
        weights=[1.0],
        classes=list(classes_),
        columns=list(X.columns),
        algorithm="XGBoostClassifier",
    )
    return model, X, features


@pytest.mark.parametrize(("classes", "trees"), [(2, 60), (3, 180)])
def test_compiled_xgboost_gives_the_same_floats(classes: int, trees: int) -> None:
    model, X, features = _xgboost_model(classes)
    original = copy.deepcopy(model)
    assert compile_members(model, X.head(1)) == [
        f"member 0 BoosterClassifier (xgboost, {trees} trees)"
    ]
    fast = model.members[0][1]
    assert isinstance(fast, CompiledXGBoost)
    _assert_same(fast, original.members[0][1], features)  # NaNs take each node's default
    rng = np.random.default_rng(0)
    wild = features + rng.normal(scale=0.01, size=features.shape)  # off the training values
    wild[rng.random(wild.shape) < 0.2] = np.nan
    _assert_same(fast, original.members[0][1], wild)
    _assert_same(model, original, X)
    assert list(model.predict(X)) == list(original.predict(X))


@pytest.mark.parametrize("params", [
    {"booster": "dart"},  # dropout weights: not reproduced
    {"objective": "binary:logitraw"},  # margins, not probabilities
    {"feature_types": ["q", "q", "q", "c"], "enable_categorical": True},  # categorical splits
])  # fmt: skip
def test_xgboost_models_outside_the_exact_arithmetic_stay_uncompiled(
        params: dict[str, object]) -> None:
    model, X, _ = _xgboost_model(2, **params)
    member = model.members[0][1]
    assert CompiledXGBoost.from_member(member) is None  # refused, not failed
    assert compile_members(model, X.head(1)) == []
    assert model.members[0][1] is member


def test_an_xgboost_member_whose_answers_differ_is_kept() -> None:
    """A member that post-processes the booster's output fails the equality check: kept."""

    class Tempered(BoosterClassifier):
        def predict_proba(self, X: np.ndarray) -> np.ndarray:
            p = super().predict_proba(X) ** 0.9
            return p / p.sum(axis=1, keepdims=True)

    model, X, _ = _xgboost_model(2)
    booster = model.members[0][1].booster
    model.members[0] = ("tree", Tempered(booster, "xgboost"))
    assert CompiledXGBoost.from_member(model.members[0][1]) is not None  # it would compile
    assert compile_members(model, X.head(1)) == []
    assert isinstance(model.members[0][1], Tempered)


def test_a_served_automl_model_uses_its_compiled_xgboost_member(tmp_path: Path) -> None:
    """Saved as the engine saves it (classes pickled by value), loaded by the server."""
    from automl_local.service._model import load_model

    from automl_local.packaging import save_mlflow_model

    model, X, _ = _xgboost_model(3)
    save_mlflow_model(model, X, tmp_path / "model")
    served = load_model(tmp_path / "model", "xgbmodel", "1")
    assert served.compiled == ["member 0 BoosterClassifier (xgboost, 180 trees)"]
    assert type(served.estimator.members[0][1]).__name__ == "CompiledXGBoost"
    assert np.array_equal(served.estimator.predict_proba(X), model.predict_proba(X))


def test_big_batches_are_answered_by_the_library() -> None:
    """The walk serves few rows; beyond walk_cells rows x trees the booster is faster."""
    model, X, features = _xgboost_model(2)
    compile_members(model, X.head(1))
    fast = model.members[0][1]
    booster_proba = fast.model.predict_proba
    calls: list[int] = []
    fast.model.predict_proba = lambda Z: calls.append(len(Z)) or booster_proba(Z)
    few = fast.walk_cells // fast.n_trees
    fast.predict_proba(features[:few])
    assert calls == []
    more = features[:few + 1]
    assert np.array_equal(fast.predict_proba(more), booster_proba(more))
    assert calls == [few + 1]


def test_a_compiled_xgboost_member_can_be_copied() -> None:
    """Nothing unpicklable (the C library's expf) is kept on the member."""
    model, X, features = _xgboost_model(2)
    compile_members(model, X.head(1))
    twin = copy.deepcopy(model.members[0][1])
    assert np.array_equal(twin.walk_proba(features), model.members[0][1].walk_proba(features))
