"""The Azure-inference-server-style swagger built from the model signature (no HTTP)."""

from __future__ import annotations

import pytest
from automl_local.service._model import LoadedModel
from automl_local.service._swagger import build_swagger


def test_swagger2_layout_matches_azure_inference_server(loaded_model: LoadedModel) -> None:
    spec = build_swagger(loaded_model, service_name="bank-ep")
    assert spec["swagger"] == "2.0"
    assert spec["info"]["title"] == "bank-ep"
    assert spec["info"]["description"] == (
        "API specification for the Azure Machine Learning service bank-ep"
    )
    assert spec["securityDefinitions"]["Bearer"] == {
        "type": "apiKey",
        "name": "Authorization",
        "in": "header",
        "description": "For example: Bearer abc123",
    }
    paths = spec["paths"]
    assert paths["/"]["get"]["operationId"] == "ServiceHealthCheck"
    score = paths["/score"]["post"]
    assert score["operationId"] == "RunMLService"
    assert score["security"] == [{"Bearer": []}]
    assert score["parameters"][0]["name"] == "serviceInputPayload"
    assert score["parameters"][0]["schema"] == {"$ref": "#/definitions/ServiceInput"}
    assert score["responses"]["200"]["schema"] == {"$ref": "#/definitions/ServiceOutput"}
    assert paths["/swagger.json"]["get"]["operationId"] == "GetSwaggerSpec"
    assert {"ServiceInput", "ServiceOutput", "ErrorResponse"} <= set(spec["definitions"])


def test_service_input_has_a_real_example_row_and_typed_columns(
    loaded_model: LoadedModel,
) -> None:
    definitions = build_swagger(loaded_model)["definitions"]
    service_input = definitions["ServiceInput"]
    (example,) = service_input["example"]["input_data"]["data"]
    assert example == {c: loaded_model.schema.example[c] for c in example}
    assert list(example) == ["age", "job", "balance", "housing"]
    data = service_input["properties"]["input_data"]["properties"]["data"]
    assert data["minItems"] == 1 and data["items"] == {"$ref": "#/definitions/InputRecord"}
    record = definitions["InputRecord"]
    assert record["required"] == ["age", "job", "housing"]
    # 'age' had no missing values and the model refuses NaN there; 'balance' takes null.
    assert record["properties"]["age"] == {"type": "integer", "format": "int64"}
    assert record["properties"]["balance"] == {
        "type": "number",
        "format": "double",
        "x-nullable": True,
    }
    automl = definitions["AutoMLServiceInput"]
    assert automl["properties"]["Inputs"]["properties"]["data"]["items"] == {
        "$ref": "#/definitions/InputRecord"
    }
    output = definitions["ServiceOutput"]
    assert output["example"] == loaded_model.output_example
    assert "['no', 'yes']" in output["description"]
    methods = service_input["properties"]["params"]["properties"]["method"]
    assert methods["enum"] == ["predict", "predict_proba"]
    assert service_input["properties"]["params"]["x-nullable"] is True


def test_openapi3_columns_say_every_value_the_server_takes(loaded_model: LoadedModel) -> None:
    schemas = build_swagger(loaded_model, version="3")["components"]["schemas"]
    columns = schemas["InputRecord"]["properties"]
    assert columns["age"] == {
        "anyOf": [
            {"type": "integer", "format": "int64"},
            {"type": "string", "pattern": "^[-+]?[0-9]{1,18}$"},
        ]
    }
    assert columns["job"]["anyOf"][0] == {"type": "string", "nullable": True}
    params = schemas["ServiceInput"]["properties"]["params"]
    assert params["nullable"] is True
    output = schemas["ServiceOutput"]["items"]["anyOf"]
    assert output == [{"type": "string"}, {"type": "array", "items": {"type": "number"}}]
    spec31 = build_swagger(loaded_model, version="3.1")["components"]["schemas"]
    assert {"type": "null"} in spec31["InputRecord"]["properties"]["balance"]["anyOf"]
    assert spec31["ServiceInput"]["properties"]["params"]["type"] == ["object", "null"]


@pytest.mark.parametrize(("version", "openapi"), [("3", "3.0.1"), ("3.1", "3.1.0")])
def test_openapi3(loaded_model: LoadedModel, version: str, openapi: str) -> None:
    spec = build_swagger(loaded_model, version=version)
    assert spec["openapi"] == openapi
    assert spec["components"]["securitySchemes"]["Bearer"]["in"] == "header"
    body = spec["paths"]["/score"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/ServiceInput"}
    record_ref = spec["components"]["schemas"]["AutoMLServiceInput"]["properties"]["Inputs"]
    assert record_ref["properties"]["data"]["items"]["$ref"] == "#/components/schemas/InputRecord"


def test_no_model_gives_generic_schemas() -> None:
    definitions = build_swagger(None)["definitions"]
    assert definitions["ServiceInput"] == {"type": "object", "example": {}}


def test_unknown_version() -> None:
    with pytest.raises(ValueError, match=r"Swagger version '4' is not supported; use one of 2, 3"):
        build_swagger(None, version="4")


@pytest.mark.parametrize("version", ["2", "3", "3.1"])
def test_liveness_and_the_document_need_no_key_in_the_no_code_document(
    loaded_model: LoadedModel, version: str
) -> None:
    paths = build_swagger(loaded_model, version=version)["paths"]
    assert paths["/"]["get"]["security"] == []  # as the scripted kind's (_script_contract)
    assert paths["/swagger.json"]["get"]["security"] == []
    assert paths["/score"]["post"]["security"] == [{"Bearer": []}]
