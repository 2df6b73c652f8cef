"""Request parsing, validation against the signature, prediction and response shapes.

Plain functions on a real MLflow model; no HTTP.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
from automl_local.service._errors import ModelFailure, ScoringError
from automl_local.service._formats import RequestFormat, format_response, parse_request
from automl_local.service._model import ColumnSpec, LoadedModel, ModelSchema
from automl_local.service._predict import decode_json, predict, score_body


def split(row: dict[str, Any], rows: int = 1) -> dict[str, Any]:
    return {"columns": list(row), "index": list(range(rows)), "data": [list(row.values())] * rows}


def test_signature_and_example_come_from_the_mlflow_model(loaded_model: LoadedModel) -> None:
    schema = loaded_model.schema
    assert [(c.name, c.type, c.required) for c in schema.columns] == [
        ("age", "long", True),
        ("job", "string", True),
        ("balance", "double", False),  # had missing values in training
        ("housing", "string", True),
    ]
    assert set(schema.example) == {"age", "job", "balance", "housing"}
    assert loaded_model.classes == ["no", "yes"]
    assert loaded_model.methods() == ("predict", "predict_proba")
    assert loaded_model.output_example in (["no"], ["yes"])  # warm-up on the example row


@pytest.mark.parametrize(
    ("make_body", "fmt", "shape"),
    [
        (lambda r: {"input_data": split(r, 2)}, RequestFormat.AZUREML, list),
        (lambda r: {"input_data": {"data": [r, r]}}, RequestFormat.AZUREML, list),
        (lambda r: {"Inputs": {"data": [r, r]}}, RequestFormat.AUTOML, "Results"),
        (lambda r: {"data": [r, r]}, RequestFormat.V1, "result"),
        (lambda r: {"dataframe_split": split(r, 2)}, RequestFormat.MLFLOW_SPLIT, "predictions"),
        (lambda r: {"dataframe_records": [r, r]}, RequestFormat.MLFLOW_RECORDS, "predictions"),
    ],
)
def test_each_format_answers_in_its_own_shape(
    loaded_model: LoadedModel, row: dict[str, Any], make_body: Any, fmt: RequestFormat, shape: Any
) -> None:
    outcome = score_body(json.dumps(make_body(row)).encode(), loaded_model)
    assert outcome.request.format is fmt
    assert outcome.request.rows == 2
    answer = json.loads(outcome.body)
    labels = answer if shape is list else answer[shape]
    assert labels == ["yes", "yes"]  # retired, 61, positive balance


def test_predict_proba_in_automl_and_azure_formats(
    loaded_model: LoadedModel, row: dict[str, Any]
) -> None:
    body = {"Inputs": {"data": [row]}, "GlobalParameters": {"method": "predict_proba"}}
    results = json.loads(score_body(json.dumps(body).encode(), loaded_model).body)["Results"]
    assert len(results) == 1 and len(results[0]) == 2
    assert results[0][1] > 0.5 and abs(sum(results[0]) - 1) < 1e-9  # classes ["no", "yes"]
    body2 = {"input_data": split(row), "params": {"method": "predict_proba"}}
    assert json.loads(score_body(json.dumps(body2).encode(), loaded_model).body) == results


def test_frame_types_follow_the_signature(loaded_model: LoadedModel) -> None:
    payload = {"data": [{"age": "42", "job": 7, "balance": None, "housing": "yes"}]}
    frame = parse_request(payload, loaded_model.schema).frame
    assert list(frame.columns) == ["age", "job", "balance", "housing"]
    assert frame["age"].dtype == np.int64 and frame["age"].iloc[0] == 42  # numeric string taken
    assert frame["job"].iloc[0] == "7"  # a number in a string column becomes its text
    assert np.isnan(frame["balance"].iloc[0])


def test_optional_column_may_be_left_out_and_extra_columns_are_ignored(
    loaded_model: LoadedModel, row: dict[str, Any]
) -> None:
    del row["balance"]
    row["campaign"] = 3
    parsed = parse_request({"data": [row]}, loaded_model.schema)
    assert parsed.ignored_columns == ("campaign",)
    assert "campaign" not in parsed.frame.columns
    assert parsed.frame["balance"].isna().all()
    assert predict(loaded_model, parsed.frame) in (["yes"], ["no"])  # imputed by the model


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ([1, 2], r"must be a JSON object, got an array"),
        ({"foo": []}, r"Unrecognized request format.*keys given: 'foo'.*Accepted formats"),
        ({"data": [], "Inputs": {}}, r"several format keys \(Inputs, data\)"),
        ({"data": []}, r"data has no rows"),
        ({"data": {"age": 1}}, r"data must be a list of row objects.*got an object"),
        ({"data": [1]}, r"data\[0\] must be an object"),
        ({"Inputs": [{"age": 1}]}, r'Inputs must be an object \{"data"'),
        ({"input_data": [[1, 2]]}, r"tensor input is not supported"),
        ({"input_data": {"columns": ["age"], "data": [[1, 2]]}}, r"input_data.data\[0\] has 2"),
        ({"input_data": {"columns": ["a", "a"], "data": []}}, r"names \['a'\] more than once"),
        ({"dataframe_split": {"columns": "age", "data": []}}, r"columns must be a list"),
    ],
)
def test_malformed_requests_are_400_naming_the_field(
    loaded_model: LoadedModel, payload: Any, message: str
) -> None:
    with pytest.raises(ScoringError, match=message) as info:
        parse_request(payload, loaded_model.schema)
    assert info.value.status == 400


def test_missing_required_columns_are_named(loaded_model: LoadedModel) -> None:
    with pytest.raises(
        ScoringError,
        match=r"Missing required column\(s\) \['job', 'housing'\] in Inputs.data\. "
        r"The model expects: age \(long\), job \(string\), balance \(double, optional\)",
    ):
        parse_request({"Inputs": {"data": [{"age": 30, "balance": 1.0}]}}, loaded_model.schema)


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("age", "forty", r"Column 'age' expects a number \(signature type long\) but row 1 of"),
        ("balance", {"x": 1}, r"Column 'balance' expects a number .* has an object"),
        ("job", ["a"], r"Column 'job' expects a string .* has an array"),
    ],
)
def test_wrong_types_are_400_naming_column_row_and_type(
    loaded_model: LoadedModel, row: dict[str, Any], column: str, value: Any, message: str
) -> None:
    bad = {**row, column: value}
    with pytest.raises(ScoringError, match=message):
        parse_request({"dataframe_records": [row, bad]}, loaded_model.schema)


def test_bad_method_is_400(loaded_model: LoadedModel, row: dict[str, Any]) -> None:
    with pytest.raises(ScoringError, match=r"GlobalParameters.method must be one of"):
        parse_request(
            {"Inputs": {"data": [row]}, "GlobalParameters": {"method": "explain"}},
            loaded_model.schema,
        )
    with pytest.raises(ScoringError, match=r"GlobalParameters must be an object"):
        parse_request({"Inputs": {"data": [row]}, "GlobalParameters": 1.0}, loaded_model.schema)


def test_nan_the_model_cannot_take_is_400(loaded_model: LoadedModel, row: dict[str, Any]) -> None:
    # Found at load time: the model refuses a null 'age', takes a null 'balance'.
    assert {c.name: c.nullable for c in loaded_model.schema.columns} == {
        "age": False,
        "job": True,
        "balance": True,
        "housing": True,
    }
    with pytest.raises(ScoringError, match=r"cannot take missing values in column 'age'") as info:
        parse_request({"data": [{**row, "age": None}]}, loaded_model.schema)
    assert info.value.status == 400
    # Without that knowledge, the model's own error is diagnosed the same way.
    lenient = ModelSchema(
        tuple(dataclasses.replace(c, nullable=True) for c in loaded_model.schema.columns)
    )
    frame = parse_request({"data": [{**row, "age": None}]}, lenient).frame
    with pytest.raises(ScoringError, match=r"cannot take missing values.*\['age'\]") as info:
        predict(loaded_model, frame)
    assert info.value.status == 400


def test_model_failure_is_500_flagged(loaded_model: LoadedModel) -> None:
    class Broken:
        def predict(self, frame: pd.DataFrame) -> None:
            raise RuntimeError("kaput")

    model = LoadedModel(Broken(), loaded_model.schema, name="broken")
    frame = parse_request({"data": [{"age": 1, "job": "x", "housing": "y"}]}, model.schema).frame
    with pytest.raises(ModelFailure) as info:
        predict(model, frame)
    assert info.value.status == 500
    assert info.value.headers == {"x-ms-run-function-failed": "True"}
    assert isinstance(info.value.cause, RuntimeError)
    with pytest.raises(ScoringError, match=r"does not support 'predict_proba'; use one of"):
        predict(model, frame, "predict_proba")


def test_model_without_signature_takes_what_it_is_given() -> None:
    class Echo:
        def predict(self, frame: pd.DataFrame) -> pd.Series:
            return frame["x"] * 2

    model = LoadedModel(Echo(), ModelSchema())
    outcome = score_body(b'{"data": [{"x": 1}, {"x": 2.5}]}', model)
    assert json.loads(outcome.body) == {"result": [2, 5.0]}


def test_boolean_and_datetime_columns() -> None:
    schema = ModelSchema(
        (ColumnSpec("flag", "boolean"), ColumnSpec("when", "datetime", required=False))
    )
    frame = parse_request(
        {"data": [{"flag": True, "when": "2024-05-01T12:00:00"}, {"flag": "false"}]}, schema
    ).frame
    assert frame["flag"].tolist() == [True, False]
    assert str(frame["when"].dtype).startswith("datetime64")
    with pytest.raises(ScoringError, match=r"Column 'flag' expects true or false"):
        parse_request({"data": [{"flag": "maybe"}]}, schema)
    with pytest.raises(ScoringError, match=r"Column 'when' expects a datetime"):
        parse_request({"data": [{"flag": True, "when": "not a date"}]}, schema)


def test_decode_json_errors() -> None:
    with pytest.raises(ScoringError, match=r"request body is empty"):
        decode_json(b"  ")
    with pytest.raises(ScoringError, match=r"not valid JSON: Expecting"):
        decode_json(b"{'single': 'quotes'}")
    with pytest.raises(ScoringError, match=r"not valid JSON"):
        decode_json(b"\xff\xfe\xfa")


def test_format_response_shapes() -> None:
    assert format_response(RequestFormat.AZUREML, ["a"]) == ["a"]
    assert format_response(RequestFormat.AUTOML, ["a"]) == {"Results": ["a"]}
    assert format_response(RequestFormat.V1, ["a"]) == {"result": ["a"]}
    assert format_response(RequestFormat.MLFLOW_SPLIT, ["a"]) == {"predictions": ["a"]}
    assert format_response(RequestFormat.MLFLOW_RECORDS, ["a"]) == {"predictions": ["a"]}


def test_skops_and_pyfunc_models_load_through_mlflow(tmp_path: Any) -> None:
    """Formats the fast path does not read (skops, pyfunc-only) still serve via MLflow."""
    import mlflow.pyfunc
    import mlflow.sklearn
    from automl_local.service._model import load_model
    from mlflow.models import infer_signature
    from sklearn.linear_model import LogisticRegression

    frame = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0]})
    labels = np.array(["no", "no", "yes", "yes"])
    signature = infer_signature(frame, labels)
    estimator = LogisticRegression().fit(frame, labels)
    mlflow.sklearn.save_model(
        estimator,
        tmp_path / "skops",
        serialization_format="skops",
        signature=signature,
        input_example=frame.head(1),
        pip_requirements=["scikit-learn"],
    )

    class Doubler(mlflow.pyfunc.PythonModel):
        def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> Any:
            return model_input["x"] * 2

    mlflow.pyfunc.save_model(
        tmp_path / "pyfunc",
        python_model=Doubler(),
        signature=infer_signature(frame),
        pip_requirements=["pandas"],
    )
    skops = load_model(tmp_path / "skops")
    assert skops.flavor == "sklearn" and skops.methods() == ("predict", "predict_proba")
    assert json.loads(score_body(b'{"data": [{"x": 3}]}', skops).body) == {"result": ["yes"]}
    pyfunc = load_model(tmp_path / "pyfunc")
    assert pyfunc.flavor == "python_function" and pyfunc.methods() == ("predict",)
    assert json.loads(score_body(b'{"data": [{"x": 3}]}', pyfunc).body) == {"result": [6.0]}


@pytest.mark.parametrize(
    ("age", "expected"),
    [
        (True, "expects a number"),  # a boolean is not a number (JSON true)
        (41.5, "expects a whole number that fits long"),
        (2**63, "expects a whole number that fits long"),
        (-(2.0**63), "expects a whole number that fits long"),  # may stand for a bigger int
        ("4.5", "expects a number"),  # the integer pattern takes digits only
        ("1e999", "expects a number"),
    ],
)
def test_numeric_columns_refuse_what_the_openapi_document_forbids(
    loaded_model: LoadedModel, row: dict[str, Any], age: Any, expected: str
) -> None:
    with pytest.raises(ScoringError, match=rf"Column 'age' {expected}"):
        parse_request({"data": [{**row, "age": age}]}, loaded_model.schema)
    whole = parse_request({"data": [{**row, "age": 41.0}]}, loaded_model.schema).frame
    assert whole["age"].dtype == np.int64 and whole["age"].iloc[0] == 41
