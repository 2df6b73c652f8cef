"""Serving-time compiled members give the same floats as the scikit-learn originals."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from _testdata import make_frame
from automl_local.service._compile import (
    CompiledForest,
    CompiledHistGradientBoosting,
    compile_members,
)
from sklearn.ensemble import (
    ExtraTreesClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
)

from automl_local.featurize import Featurizer
from automl_local.model import AutoMLModel


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
    assert np.array_equal(model.predict_proba(probe), original.predict_proba(probe))
    assert list(model.predict(probe)) == list(original.predict(probe))


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
    assert np.array_equal(model.predict_proba(probe), original.predict_proba(probe))
    assert list(model.predict(probe)) == list(original.predict(probe))
