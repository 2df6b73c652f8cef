"""ONNX export of fitted AutoML models: onnxruntime matches ``predict_proba`` within 1e-5."""

from __future__ import annotations

import numpy as np
import pytest
from _testdata import make_frame

from automl_local.ensemble import make_meta_learner
from automl_local.exceptions import ConfigError
from automl_local.featurize import Featurizer
from automl_local.model import AutoMLModel
from automl_local.outputs import ONNX_ALGORITHMS, onnx_inputs, restrict_to_onnx, to_onnx
from automl_local.search import ESTIMATORS


def _fit(algorithm: str, X, y, featurizers):
    est = ESTIMATORS[algorithm]
    f = featurizers.setdefault(est.family, Featurizer(family=est.family).fit(X))
    params = (est.portfolio(len(X)) or [None])[0]
    if params is None:
        import optuna

        sampler = optuna.samplers.RandomSampler(seed=0)
        params = est.search_space(optuna.create_study(sampler=sampler).ask(), len(X))
    clf = est.build(params, n_jobs=1, seed=0, n_classes=2)
    clf = est.fit(clf, f.transform(X), y, None, f.categorical_indices_)
    return est.family, est.for_inference(clf)


@pytest.fixture(scope="module")
def data():
    frame = make_frame(500)
    frame.loc[::11, "color"] = None  # missing categories too, not only missing numbers
    X = frame.drop(columns="y")
    return X, (frame["y"] == "yes").to_numpy(dtype=int)


def _model(X, y, algorithms, *, weights=None, meta=None):
    featurizers: dict = {}
    members = [_fit(a, X, y, featurizers) for a in algorithms]
    meta_model = None
    if meta:
        stacked = np.hstack([m.predict_proba(featurizers[f].transform(X)) for f, m in members])
        meta_model = make_meta_learner(meta, 0).fit(stacked, y)
    return AutoMLModel(
        featurizers=featurizers, members=members, weights=weights or [1.0] * len(members),
        meta=meta_model, classes=["no", "yes"], columns=list(X.columns), algorithm="x",
    )  # fmt: skip


def _check(model, X) -> None:
    import onnxruntime as ort

    session = ort.InferenceSession(to_onnx(model).SerializeToString())
    labels, proba = session.run(["label", "probabilities"], onnx_inputs(model, X))
    np.testing.assert_allclose(proba, model.predict_proba(X), rtol=0, atol=1e-5)
    assert list(labels) == list(model.predict(X))


@pytest.mark.parametrize("algorithm", ONNX_ALGORITHMS)
def test_each_convertible_algorithm_matches(data, algorithm) -> None:
    X, y = data
    _check(_model(X, y, [algorithm]), X)


def test_voting_ensemble_of_two_families_matches(data) -> None:
    X, y = data
    _check(_model(X, y, ["LightGBM", "LogisticRegression", "XGBoostClassifier"],
                  weights=[2.0, 1.0, 1.0]), X)  # fmt: skip


@pytest.mark.parametrize("meta", ["LogisticRegression", "LightGBMClassifier"])
def test_stack_ensemble_matches(data, meta) -> None:
    X, y = data
    _check(_model(X, y, ["LightGBM", "LogisticRegression"], meta=meta), X)


def test_restrict_keeps_convertible_and_says_why_others_left() -> None:
    kept, skipped = restrict_to_onnx(["LightGBM", "RandomForest"], {"SVM": "too slow"}, [])
    assert kept == ["LightGBM"]
    assert skipped == {"SVM": "too slow", "RandomForest": "no ONNX converter "
                       "(enable_onnx_compatible_models)"}  # fmt: skip


def test_only_non_convertible_algorithms_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match=r"leaves no algorithm to try: RandomForest, "
                       r"DecisionTree have no ONNX converter\. Allow one of LightGBM"):
        restrict_to_onnx(["RandomForest", "DecisionTree"], {}, [])
    with pytest.raises(ConfigError, match="cannot export the text or datetime column"):
        restrict_to_onnx(["LightGBM"], {}, ["when"])
