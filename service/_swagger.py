"""``/swagger.json`` in the layout of Azure's inference server, generated from the model.

Azure's server (azureml-inference-server-http) serves a swagger 2.0 document
by default and OpenAPI 3 for ``?version=3`` (``3.1`` only changes the
``openapi`` field). Its skeleton is fixed: ``securityDefinitions.Bearer``
(an apiKey in the Authorization header), paths ``/`` (ServiceHealthCheck),
``/score`` (RunMLService, body parameter ``serviceInputPayload``) and
``/swagger.json`` (GetSwaggerSpec), and definitions ``ServiceInput``,
``ServiceOutput`` and ``ErrorResponse``.

``ServiceInput`` is the Azure MLflow no-code form (``input_data`` in split
orientation), which is what a no-code MLflow deployment of an AutoML model
answers, with the model's real example row. Because split orientation
cannot type its cells, two extra definitions carry the per-column types:
``InputRecord`` (one row, typed from the signature) and ``AutoMLServiceInput``
(the AutoML scoring-file form, whose rows are ``InputRecord``\\ s).
"""

from __future__ import annotations

import copy
from typing import Any

from automl_local.service._formats import ACCEPTED_FORMATS
from automl_local.service._model import LoadedModel

__all__ = ["SWAGGER_VERSIONS", "build_swagger", "swagger_ui_html"]

SWAGGER_VERSIONS = ("2", "3", "3.1")

_TYPES: dict[str, dict[str, str]] = {
    "integer": {"type": "integer", "format": "int32"},
    "long": {"type": "integer", "format": "int64"},
    "float": {"type": "number", "format": "float"},
    "double": {"type": "number", "format": "double"},
    "string": {"type": "string"},
    "boolean": {"type": "boolean"},
    "datetime": {"type": "string", "format": "date-time"},
    "binary": {"type": "string", "format": "binary"},
}


def _json_schema_of(value: Any) -> dict[str, str]:
    if isinstance(value, bool):
        return {"type": "boolean"}
    if isinstance(value, int):
        return {"type": "integer", "format": "int64"}
    if isinstance(value, float):
        return {"type": "number", "format": "double"}
    if isinstance(value, str):
        return {"type": "string"}
    return {}


def _schemas(model: LoadedModel | None, ref: str) -> dict[str, Any]:
    """The four data definitions; ``ref`` is the ``$ref`` prefix of the spec version."""
    if model is None or not model.schema.columns:
        generic: dict[str, Any] = {"type": "object", "example": {}}
        return {
            "ServiceInput": generic,
            "ServiceOutput": generic,
            "ErrorResponse": _error_schema(),
        }
    schema = model.schema
    row = schema.example_row()
    names = [c.name for c in schema.columns]
    record = {
        "type": "object",
        "required": list(schema.required),
        "properties": {c.name: dict(_TYPES.get(c.type, {})) for c in schema.columns},
        "example": row,
    }
    column_doc = ", ".join(f"{c.name} ({c.type})" for c in schema.columns)
    methods = list(model.methods())
    service_input = {
        "type": "object",
        "required": ["input_data"],
        "properties": {
            "input_data": {
                "type": "object",
                "required": ["columns", "data"],
                "properties": {
                    "columns": {"type": "array", "items": {"type": "string", "enum": names}},
                    "index": {"type": "array", "items": {"type": "integer", "format": "int64"}},
                    "data": {
                        "type": "array",
                        "description": f"Rows of values in the order of 'columns': {column_doc}.",
                        "items": {"type": "array", "items": {}},
                    },
                },
                "format": "pandas.DataFrame:split",
            },
            "params": {
                "type": "object",
                "properties": {"method": {"type": "string", "enum": methods}},
            },
        },
        "example": {
            "input_data": {"columns": names, "index": [0], "data": [[row[n] for n in names]]},
            "params": {"method": "predict"},
        },
        "description": "Also accepted: " + "; ".join(ACCEPTED_FORMATS[1:]) + ".",
    }
    automl_input = {
        "type": "object",
        "required": ["Inputs"],
        "properties": {
            "Inputs": {
                "type": "object",
                "required": ["data"],
                "properties": {
                    "data": {
                        "type": "array",
                        "items": {"$ref": f"{ref}InputRecord"},
                        "format": "pandas.DataFrame:records",
                    }
                },
            },
            "GlobalParameters": {
                "type": "object",
                "properties": {"method": {"type": "string", "enum": methods}},
            },
        },
        "example": {"Inputs": {"data": [row]}, "GlobalParameters": {"method": "predict"}},
    }
    example_out = model.output_example or []
    label_schema = _json_schema_of(example_out[0]) if example_out else {}
    classes = (
        f" Probabilities are in the order of the classes {model.classes}." if model.classes else ""
    )
    service_output = {
        "type": "array",
        "items": label_schema,
        "example": example_out,
        "description": "One predicted label per input row (method 'predict'); one list of "
        f"per-class probabilities per row for 'predict_proba'.{classes}",
    }
    return {
        "ServiceInput": service_input,
        "ServiceOutput": service_output,
        "ErrorResponse": _error_schema(),
        "InputRecord": record,
        "AutoMLServiceInput": automl_input,
    }


def _error_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"message": {"type": "string"}, "request_id": {"type": "string"}},
    }


def build_swagger(
    model: LoadedModel | None,
    *,
    version: str = "2",
    service_name: str = "ML service",
    service_version: str = "1.0",
) -> dict[str, Any]:
    """The spec for ``/swagger.json?version=...`` (``2``, ``3`` or ``3.1``).

    ``model`` is the deployment the spec describes (``None`` gives Azure's
    generic ``{"type": "object"}`` schemas, as for an undecorated script).
    Raises ``ValueError`` for another version; the server maps it to 404.
    """
    if version not in SWAGGER_VERSIONS:
        raise ValueError(
            f"Swagger version {version!r} is not supported; "
            f"use one of {', '.join(SWAGGER_VERSIONS)}."
        )
    info = {
        "title": service_name,
        "description": f"API specification for the Azure Machine Learning service {service_name}",
        "version": service_version,
    }
    if version == "2":
        return _swagger2(info, _schemas(model, "#/definitions/"))
    return _openapi3(info, _schemas(model, "#/components/schemas/"), version)


_HEALTH = {"description": "Simple status check for the service."}
_SCORE = {"description": "Run the model and get the prediction output."}
_SPEC = {"description": "Get the Swagger specification."}


def _swagger2(info: dict[str, Any], definitions: dict[str, Any]) -> dict[str, Any]:
    error = {"description": "Error", "schema": {"$ref": "#/definitions/ErrorResponse"}}
    return {
        "swagger": "2.0",
        "info": info,
        "schemes": ["http"],
        "consumes": ["application/json"],
        "produces": ["application/json"],
        "securityDefinitions": {
            "Bearer": {
                "type": "apiKey",
                "name": "Authorization",
                "in": "header",
                "description": "For example: Bearer abc123",
            }
        },
        "paths": {
            "/": {
                "get": {
                    "operationId": "ServiceHealthCheck",
                    **_HEALTH,
                    "responses": {
                        "200": {
                            "description": "Success",
                            "schema": {"type": "string"},
                            "examples": {"application/json": "Healthy"},
                        },
                        "default": error,
                    },
                }
            },
            "/score": {
                "post": {
                    "operationId": "RunMLService",
                    **_SCORE,
                    "security": [{"Bearer": []}],
                    "parameters": [
                        {
                            "name": "serviceInputPayload",
                            "in": "body",
                            "description": "The input payload for executing the real-time "
                            "machine learning service.",
                            "required": True,
                            "schema": {"$ref": "#/definitions/ServiceInput"},
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "The service processed the input correctly and "
                            "provided a result prediction, if applicable.",
                            "schema": {"$ref": "#/definitions/ServiceOutput"},
                        },
                        "default": error,
                    },
                }
            },
            "/swagger.json": {
                "get": {
                    "operationId": "GetSwaggerSpec",
                    **_SPEC,
                    "parameters": [
                        {
                            "name": "version",
                            "in": "query",
                            "required": False,
                            "type": "string",
                            "enum": list(SWAGGER_VERSIONS),
                        }
                    ],
                    "responses": {
                        "200": {"description": "Success", "schema": {"type": "object"}},
                        "default": error,
                    },
                }
            },
        },
        "definitions": definitions,
    }


def _openapi3(info: dict[str, Any], schemas: dict[str, Any], version: str) -> dict[str, Any]:
    def content(ref: str) -> dict[str, Any]:
        return {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}

    error = {"description": "Error", "content": content("ErrorResponse")}
    return {
        "openapi": "3.1.0" if version == "3.1" else "3.0.1",
        "info": info,
        "components": {
            "securitySchemes": {
                "Bearer": {
                    "type": "apiKey",
                    "name": "Authorization",
                    "in": "header",
                    "description": "For example: Bearer abc123",
                }
            },
            "schemas": copy.deepcopy(schemas),
        },
        "paths": {
            "/": {
                "get": {
                    "operationId": "ServiceHealthCheck",
                    **_HEALTH,
                    "responses": {
                        "200": {
                            "description": "Success",
                            "content": {
                                "text/plain": {"schema": {"type": "string"}, "example": "Healthy"}
                            },
                        },
                        "default": error,
                    },
                }
            },
            "/score": {
                "post": {
                    "operationId": "RunMLService",
                    **_SCORE,
                    "security": [{"Bearer": []}],
                    "requestBody": {
                        "description": "The input payload for executing the real-time machine "
                        "learning service.",
                        "required": True,
                        "content": content("ServiceInput"),
                    },
                    "responses": {
                        "200": {
                            "description": "The service processed the input correctly and "
                            "provided a result prediction, if applicable.",
                            "content": content("ServiceOutput"),
                        },
                        "default": error,
                    },
                }
            },
            "/swagger.json": {
                "get": {
                    "operationId": "GetSwaggerSpec",
                    **_SPEC,
                    "parameters": [
                        {
                            "name": "version",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "string", "enum": list(SWAGGER_VERSIONS)},
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "Success",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        },
                        "default": error,
                    },
                }
            },
        },
    }


def swagger_ui_html(spec_url: str, title: str) -> str:
    """Swagger UI over ``spec_url`` (assets from the jsDelivr CDN, like FastAPI's /docs)."""
    from fastapi.openapi.docs import get_swagger_ui_html

    page = get_swagger_ui_html(
        openapi_url=spec_url,
        title=title,
        swagger_ui_parameters={"persistAuthorization": True, "tryItOutEnabled": True},
    )
    return bytes(page.body).decode("utf-8")
