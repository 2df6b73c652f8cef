"""A scripted deployment's document made true, and bodies held to it before the script runs.

The ``ServiceInput`` here is inference-schema's own, from decorators shaped like
the AutoML ``scoring_file_v_2_0_0.py``; the skeleton is azmlinfsrv's template
(global Bearer security in OpenAPI 3, per-operation in Swagger 2.0).
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import pytest
from automl_local.service._errors import ScoringError
from automl_local.service._script_contract import InputContract, true_document
from jsonschema import Draft7Validator


def _service_input() -> dict[str, Any]:
    from inference_schema.parameter_types.pandas_parameter_type import PandasParameterType
    from inference_schema.parameter_types.standard_py_parameter_type import (
        StandardPythonParameterType,
    )
    from inference_schema.schema_decorators import input_schema
    from inference_schema.schema_util import get_input_schema

    rows = PandasParameterType(pd.DataFrame({"x1": [0.0], "color": ["a"], "age": [0]}))

    @input_schema(
        "GlobalParameters",
        StandardPythonParameterType({"method": "predict"}),
        convert_to_provided_type=False,
    )
    @input_schema("Inputs", StandardPythonParameterType({"data": rows}))
    def run(Inputs: Any, GlobalParameters: Any = None) -> Any:
        return Inputs

    schema = get_input_schema(run)
    schema["required"] = ["Inputs"]  # what azmlinfsrv_main adds: run()'s parameter without default
    return schema


def _document(version: str) -> dict[str, Any]:
    bearer = {"Bearer": {"type": "apiKey", "name": "Authorization", "in": "header"}}
    paths: dict[str, Any] = {
        "/": {"get": {"operationId": "ServiceHealthCheck"}},
        "/swagger.json": {"get": {"operationId": "GetSwaggerSpec"}},
    }
    out = {
        "type": "object",
        "properties": {
            "Results": {
                "type": "array",
                "items": {
                    "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "number"}}]
                },
            }
        },
    }
    if version == "2":
        paths["/score"] = {
            "post": {
                "security": [{"Bearer": []}],
                "parameters": [
                    {
                        "name": "serviceInputPayload",
                        "in": "body",
                        "schema": {"$ref": "#/definitions/ServiceInput"},
                    }
                ],
            }
        }
        return {
            "swagger": "2.0",
            "securityDefinitions": bearer,
            "paths": paths,
            "definitions": {"ServiceInput": _service_input(), "ServiceOutput": out},
        }
    paths["/score"] = {
        "post": {
            "security": [{"Bearer": []}],
            "requestBody": {
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/ServiceInput"}}
                }
            },
        }
    }
    return {
        "openapi": "3.0.3",
        "security": [{"Bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": bearer,
            "schemas": {"ServiceInput": _service_input(), "ServiceOutput": out},
        },
    }


@pytest.mark.parametrize("version", ["2", "3"])
def test_liveness_and_the_document_need_no_key_and_score_needs_a_body(version: str) -> None:
    doc = true_document(_document(version))
    assert doc["paths"]["/"]["get"]["security"] == []
    assert doc["paths"]["/swagger.json"]["get"]["security"] == []
    post = doc["paths"]["/score"]["post"]
    assert post["security"] == [{"Bearer": []}]
    body = post["requestBody"] if version == "3" else post["parameters"][0]
    assert body["required"] is True


def test_a_pandas_table_says_what_inference_schema_does_with_it() -> None:
    doc = true_document(_document("3"))
    data = doc["components"]["schemas"]["ServiceInput"]["properties"]["Inputs"]["properties"][
        "data"
    ]
    assert data["minItems"] == 1 and data["items"]["additionalProperties"] is False
    cells = data["items"]["properties"]
    assert cells["x1"]["nullable"] and cells["color"]["nullable"]  # read as NaN / None
    assert "nullable" not in cells["age"]  # NaN cannot be cast to int64: a 500 in run()
    assert (cells["age"]["minimum"], cells["age"]["maximum"]) == (-(2**63), 2**63 - 1)
    v2 = true_document(_document("2"))["definitions"]
    assert (
        v2["ServiceInput"]["properties"]["Inputs"]["properties"]["data"]["items"]["properties"][
            "x1"
        ]["x-nullable"]
        is True
    )
    assert v2["ServiceOutput"]["properties"]["Results"]["items"] == {}  # Swagger 2.0: no anyOf


def test_an_empty_body_is_documented_as_invalid() -> None:
    service_input = true_document(_document("3"))["components"]["schemas"]["ServiceInput"]
    assert service_input["required"] == ["Inputs"]
    assert not Draft7Validator(service_input).is_valid({})


@pytest.fixture(scope="module")
def contract() -> InputContract:
    found = InputContract.from_document(true_document(_document("3")))
    assert found is not None
    return found


def _check(contract: InputContract, body: Any, content_type: str = "application/json") -> None:
    contract.check(body if isinstance(body, bytes) else json.dumps(body).encode(), content_type)


ROW = {"x1": 1.5, "color": "red", "age": 40}


def test_a_body_the_document_allows_goes_to_the_script(contract: InputContract) -> None:
    _check(contract, {"Inputs": {"data": [ROW, {**ROW, "x1": None, "color": None}]}})
    _check(contract, {"Inputs": {"data": [ROW]}, "GlobalParameters": {"method": "no-such"}})


def test_a_bad_global_parameters_type_is_a_400_naming_field_value_and_fix(
    contract: InputContract,
) -> None:
    with pytest.raises(
        ScoringError,
        match=r"GlobalParameters\.method is \{\} \(an object\); "
        r"the script's schema wants a string\. Send a string there",
    ) as caught:
        _check(contract, {"Inputs": {"data": [ROW]}, "GlobalParameters": {"method": {}}})
    assert caught.value.status == 400 and caught.value.body is None


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"data": []}, r"Inputs\.data is an empty list; .*at least 1\. Send rows"),
        ({"data": [{**ROW, "zip": 1}]}, r"Inputs\.data\[0\] has 'zip', which .* does not take"),
        ({"data": [{"x1": 1.0, "color": "a"}]}, r"Inputs\.data\[0\] has no 'age'; .* Add it"),
        ({"data": [{**ROW, "age": None}]}, r"Inputs\.data\[0\]\.age is null; .*an integer"),
        ({"data": [{**ROW, "age": 2**63}]}, r"\.age is 9223372036854775808 \(a number\), above"),
    ],
)
def test_rows_the_document_forbids_are_400s(
    contract: InputContract, inputs: Any, message: str
) -> None:
    with pytest.raises(ScoringError, match=message):
        _check(contract, {"Inputs": inputs})


def test_what_azmlinfsrv_answers_itself_is_left_to_it(contract: InputContract) -> None:
    _check(contract, {})  # "A value is not provided for the 'Inputs' parameter." (400, Azure's)
    _check(contract, b"not json")  # "POST body could not be decoded as JSON" (400)
    _check(contract, [1, 2])  # "POST body should be a JSON dictionary." (400)
    _check(contract, b"{}", "text/plain")  # "Expects Content-Type to be application/json"


def test_a_body_that_is_not_utf8_is_a_400_not_the_servers_500(contract: InputContract) -> None:
    with pytest.raises(ScoringError, match=r"the body is not UTF-8 text .*Send the JSON body"):
        _check(contract, b"\x89\xfffh")


def test_an_undecorated_script_has_no_contract() -> None:
    doc = _document("3")
    doc["components"]["schemas"]["ServiceInput"] = {"type": "object", "example": {}}
    assert InputContract.from_document(true_document(doc)) is None
