"""The DataFrame-free row path of AutoML models gives the DataFrame path's exact answers.

A real AutoMLModel (tree + linear featurizers; LightGBM booster, random
forest, logistic regression members, weighted vote) is fitted on generated
data with missing numbers and levels, a boolean and an integer column, saved
as the engine saves it (MLflow, cloudpickle) and loaded by the server's own
``load_model``. Each request is scored twice, with the row path and with it
switched off, and the response bytes must be identical.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from _testdata import save_sklearn_model
from automl_local.service._app import create_app
from automl_local.service._errors import ScoringError
from automl_local.service._formats import columns_from_records, frame_from_records
from automl_local.service._model import LoadedModel, load_model
from automl_local.service._predict import score_body
from automl_local.service._rows import MAX_ROWS, compile_row_path
from fastapi.testclient import TestClient

from automl_local.featurize import Featurizer
from automl_local.model import AutoMLModel, BoosterClassifier

LEVELS = ["red", "green", "blue", "amber"]


def make_frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "x1": rng.normal(size=n),
            "x2": rng.normal(100, 30, size=n).round(1),
            "color": rng.choice(LEVELS, size=n).astype(object),
            "age": rng.integers(18, 90, n),
            "member": rng.random(n) > 0.6,
            "grade": rng.choice(["a", "b", "c"], size=n).astype(object),
        }
    )
    frame.loc[frame.index[3::17], "x1"] = np.nan  # optional columns: the linear family imputes
    frame.loc[frame.index[5::13], "color"] = np.nan
    return frame


def _label(frame: pd.DataFrame, classes: int = 2) -> np.ndarray:
    signal = frame["x1"].fillna(0) + (frame["color"] == "red") + frame["member"] * 0.5
    signal = signal + frame["age"] / 90
    if classes == 3:
        return np.array(["low", "mid", "high"])[np.digitize(signal, [0.8, 1.6])]
    return np.where(signal > 1.2, "yes", "no")


def _automl_model(frame: pd.DataFrame, featurizer: type = Featurizer, *, classes: int = 2,
                  stack: bool = False) -> AutoMLModel:
    import lightgbm
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression

    y = _label(frame, classes)
    tree = featurizer(family="tree").fit(frame)
    linear = featurizer(family="linear").fit(frame)
    Xt, Xl = tree.transform(frame), linear.transform(frame)
    booster = lightgbm.LGBMClassifier(n_estimators=20, num_leaves=7, verbose=-1).fit(Xt, y)
    members = [
        ("tree", BoosterClassifier.from_estimator(booster)),
        ("tree", RandomForestClassifier(n_estimators=15, random_state=0).fit(Xt, y)),
        ("linear", LogisticRegression(max_iter=500).fit(Xl, y)),
    ]
    meta = None
    if stack:  # StackEnsemble: a meta-learner over the members' probabilities
        probas = np.hstack([m.predict_proba(Xl if f == "linear" else Xt) for f, m in members])
        meta = LogisticRegression(max_iter=500).fit(probas, y)
    return AutoMLModel(
        featurizers={"tree": tree, "linear": linear},
        members=members,
        weights=[0.5, 0.3, 0.2],
        meta=meta,
        classes=sorted(set(y)),
        columns=list(frame.columns),
        algorithm="StackEnsemble" if stack else "VotingEnsemble",
    )


@pytest.fixture(scope="module")
def automl_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    frame = make_frame(500, seed=1)
    return save_sklearn_model(
        _automl_model(frame), frame, tmp_path_factory.mktemp("rows") / "automl"
    )


@pytest.fixture(scope="module")
def automl(automl_dir: Path) -> LoadedModel:
    return load_model(automl_dir, "automl", "1")


def _both(model: LoadedModel, body: dict[str, Any]) -> tuple[Any, Any]:
    """(row path outcome, DataFrame path outcome) of one request body."""
    raw = json.dumps(body).encode()
    fast = score_body(raw, model)
    path, model.row_path = model.row_path, None
    try:
        slow = score_body(raw, model)
    finally:
        model.row_path = path
    return fast, slow


def _request_rows(n: int, seed: int) -> list[dict[str, Any]]:
    """Held-out rows as clients send them: nulls, unseen levels, ints as floats, gaps."""
    rng = np.random.default_rng(seed)
    frame = make_frame(n, seed)
    rows: list[dict[str, Any]] = json.loads(frame.to_json(orient="records"))
    for i, row in enumerate(rows):
        if i % 4 == 0:
            row["color"] = "purple"  # a level the model never saw
        if i % 5 == 1:
            row["grade"] = "z"
        if i % 3 == 0:
            row["age"] = float(row["age"])  # 42.0 in an integer column
        if i % 7 == 2:
            del row["x1"]  # an optional column left out
        if i % 6 == 4:
            row["member"] = int(rng.integers(0, 2))  # 0/1 in a boolean column
    return rows


def test_automl_models_get_a_row_path_that_is_proven_at_load(automl: LoadedModel) -> None:
    assert automl.row_path is not None
    assert automl.row_path.description == (
        f"row path without DataFrame (featurizers linear, tree, up to {MAX_ROWS} rows)"
    )


def test_the_server_scores_automl_models_on_the_row_path(
    endpoint: Any, automl_dir: Path, automl: LoadedModel
) -> None:
    endpoint.set_deployment("automl", automl_dir)
    rows = _request_rows(3, seed=4)
    body = {"input_data": {"data": rows}, "params": {"method": "predict_proba"}}
    with TestClient(create_app(endpoint.path)) as client:
        answer = client.post("/score", json=body, headers=endpoint.headers(
            **{"azureml-model-deployment": "automl"}))
    assert answer.status_code == 200
    _, slow = _both(automl, body)
    assert answer.content == slow.body
    assert "; row path without DataFrame (featurizers linear, tree" in endpoint.log("automl")


@pytest.mark.parametrize("method", ["predict", "predict_proba"])
def test_row_path_answers_are_the_dataframe_paths_bytes(automl: LoadedModel, method: str) -> None:
    rows = _request_rows(60, seed=7)
    for i, row in enumerate(rows):
        columns = list(row)
        bodies = [
            {"input_data": {"columns": columns, "data": [list(row.values())]}},  # split
            {"Inputs": {"data": [row]}, "GlobalParameters": {"method": method}},  # records
        ]
        if method == "predict_proba":
            bodies[0]["params"] = {"method": method}
        for body in bodies:
            fast, slow = _both(automl, body)
            assert fast.body == slow.body, (i, row)
            assert "frame" not in fast.request.__dict__  # scored without building the frame
            assert "frame" in slow.request.__dict__


def test_several_rows_and_the_row_limit(automl: LoadedModel) -> None:
    rows = _request_rows(MAX_ROWS + 1, seed=11)
    # Past the limit, without unseen levels: the featurizer's pandas path warns on those.
    seen = [{**row, "color": "red", "grade": "a"} for row in rows]
    for batch in (rows[:MAX_ROWS], seen):
        body = {"dataframe_records": batch, "params": {"method": "predict_proba"}}
        fast, slow = _both(automl, body)
        assert fast.body == slow.body
        assert ("frame" in fast.request.__dict__) is (len(batch) > MAX_ROWS)


def test_row_path_probabilities_equal_the_models_own(automl: LoadedModel) -> None:
    rows = _request_rows(40, seed=3)
    frame, _ = frame_from_records(rows, automl.schema, "test")
    columns = columns_from_records(rows, automl.schema, "test")
    assert automl.row_path is not None
    got = automl.row_path.predict_proba(columns, len(rows))
    assert np.array_equal(got, automl.estimator.predict_proba(frame))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"age": "old"}, r"Column 'age' expects a number"),
        ({"member": "maybe"}, r"Column 'member' expects true or false"),
        ({"color": {"a": 1}}, r"Column 'color' expects a string"),
    ],
)
def test_bad_requests_get_the_same_messages(
    automl: LoadedModel, change: dict[str, Any], message: str
) -> None:
    body = {"Inputs": {"data": [{**automl.schema.example_row(), **change}]}}
    answers = []
    for row_path in (automl.row_path, None):
        automl.row_path, saved = row_path, automl.row_path
        try:
            with pytest.raises(ScoringError, match=message) as caught:
                score_body(json.dumps(body).encode(), automl)
        finally:
            automl.row_path = saved
        answers.append((caught.value.status, str(caught.value)))
    assert answers[0] == answers[1]
    assert answers[0][0] == 400


def test_a_gap_where_training_had_none_is_imputed_on_both_paths(automl: LoadedModel) -> None:
    # The linear featurizer fills every numeric column (as Azure's featurization does), so
    # x2, which had no gap in training, takes null: it was a 400 "cannot take missing values".
    assert next(c for c in automl.schema.columns if c.name == "x2").nullable
    fast, slow = _both(automl, {"Inputs": {"data": [{**automl.schema.example_row(), "x2": None}]}})
    assert fast.body == slow.body


class _RefusesNaN:
    """A member that refuses missing values, as scikit-learn estimators without imputing do."""

    def __init__(self, member: Any) -> None:
        self.member = member

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        if np.isnan(X).any():
            raise ValueError("Input X contains NaN.")
        return np.asarray(self.member.predict_proba(X))


def test_a_model_error_on_the_row_path_gives_todays_message(automl_dir: Path) -> None:
    model = load_model(automl_dir)
    family, member = model.estimator.members[0]
    model.estimator.members[0] = (family, _RefusesNaN(member))
    assert model.row_path is not None
    row = {**model.schema.example_row(), "x1": None}
    with pytest.raises(ScoringError, match=r"column\(s\) \['x1'\] contain null/NaN") as fast:
        score_body(json.dumps({"data": [row]}).encode(), model)
    model.row_path = None
    with pytest.raises(ScoringError) as slow:
        score_body(json.dumps({"data": [row]}).encode(), model)
    assert (fast.value.status, str(fast.value)) == (slow.value.status, str(slow.value))


class _ClippingFeaturizer(Featurizer):
    """A featurizer whose transform does more than its fitted tables say (a newer version)."""

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        return np.clip(super().transform(X), -1.0, 1.0)


def test_a_row_path_that_is_not_equal_is_not_used(tmp_path: Path) -> None:
    frame = make_frame(300, seed=2)
    model = load_model(save_sklearn_model(
        _automl_model(frame, _ClippingFeaturizer), frame, tmp_path / "m"))
    assert model.row_path is None
    assert model.output_example in (["no"], ["yes"])  # still served, by the DataFrame path


def test_datetime_columns_and_other_models_keep_the_dataframe_path(
    automl: LoadedModel, loaded_model: LoadedModel
) -> None:
    assert loaded_model.row_path is None  # a scikit-learn pipeline: not an AutoML model
    estimator = automl.estimator
    tree = estimator.featurizers["tree"]
    tree.plan_.datetime.append("when")
    try:
        assert compile_row_path(estimator, automl.schema) is None
    finally:
        tree.plan_.datetime.remove("when")
    assert compile_row_path(estimator, automl.schema) is not None


def test_stack_ensembles_of_three_classes_get_the_same_floats(automl: LoadedModel) -> None:
    frame = make_frame(400, seed=5)
    estimator = _automl_model(frame, classes=3, stack=True)
    assert set(estimator.classes) == {"low", "mid", "high"}
    path = compile_row_path(estimator, automl.schema)  # same columns and types as `automl`
    assert path is not None
    rows = _request_rows(30, seed=9)
    frame, _ = frame_from_records(rows, automl.schema, "test")
    columns = columns_from_records(rows, automl.schema, "test")
    assert np.array_equal(path.predict_proba(columns, len(rows)), estimator.predict_proba(frame))
    assert path.predict(columns, len(rows), "predict") == list(estimator.predict(frame))
