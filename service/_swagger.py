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
from collections.abc import Callable
from pathlib import Path
from typing import Any

from automl_local.service._formats import ACCEPTED_FORMATS, INTEGER_STRING, NUMERIC_STRING
from automl_local.service._model import NUMERIC_TYPES, ColumnSpec, LoadedModel

__all__ = ["SWAGGER_VERSIONS", "add_swagger_ui", "build_swagger", "swagger_ui_html"]

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


def _nullable(schema: dict[str, Any], version: str) -> dict[str, Any]:
    """``schema`` that also takes JSON null, in the spelling of each spec version."""
    if version == "3.1":
        return {**schema, "type": [schema["type"], "null"]} if "type" in schema else schema
    return {**schema, "nullable": True} if version == "3" else {**schema, "x-nullable": True}


def _column_schema(col: ColumnSpec, version: str) -> dict[str, Any]:
    """The JSON values ``service._formats`` takes in this column (OpenAPI 3 can say them all).

    Numbers also come as numeric strings, strings also as numbers or booleans
    (turned into text), booleans also as 0/1 or "true"/"false". Swagger 2.0
    has no ``anyOf``, so it gives the signature type alone.
    """
    main = dict(_TYPES.get(col.type, {}))
    if version == "2" or not main:
        return _nullable(main, version) if col.nullable and main else main
    others: list[dict[str, Any]] = []
    if col.type in NUMERIC_TYPES:
        whole = col.type in ("integer", "long")
        others = [{"type": "string", "pattern": INTEGER_STRING if whole else NUMERIC_STRING}]
    elif col.type == "string":
        others = [{"type": "number"}, {"type": "boolean"}]
    elif col.type == "boolean":
        others = [
            {"type": "number", "enum": [0, 1]},
            {"type": "string", "pattern": "^([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee])$"},
        ]
    branches = [main, *others]
    if col.nullable:
        if version == "3.1":
            branches.append({"type": "null"})
        else:
            branches = [{**b, "nullable": True} for b in branches]
    return {"anyOf": branches} if len(branches) > 1 else branches[0]


def _method_param(methods: list[str], version: str) -> dict[str, Any]:
    """``params``/``GlobalParameters``: an object or null (both read as "no parameters")."""
    return _nullable(
        {"type": "object", "properties": {"method": {"type": "string", "enum": methods}}},
        version,
    )


def _schemas(model: LoadedModel | None, ref: str, version: str = "2") -> dict[str, Any]:
    """The data definitions; ``ref`` is the ``$ref`` prefix of the spec version.

    What the schemas accept is what ``/score`` accepts (a property-based tester
    holds the server to it): rows are typed per column (split orientation
    cannot type its cells, so the documented body is ``input_data`` in records
    form, which the server takes as well), every column takes null (the model
    decides what a missing value means; AutoML models impute), at least one
    row, and ``params`` may be null.
    """
    if model is None or not model.schema.columns:
        generic: dict[str, Any] = {"type": "object", "example": {}}
        return {
            "ServiceInput": generic,
            "ServiceOutput": generic,
            "ErrorResponse": _error_schema(),
        }
    schema = model.schema
    row = schema.example_row()
    record = {
        "type": "object",
        "required": list(schema.required),
        "properties": {c.name: _column_schema(c, version) for c in schema.columns},
        "example": row,
    }
    column_doc = ", ".join(f"{c.name} ({c.type})" for c in schema.columns)
    methods = list(model.methods())
    rows = {
        "type": "array",
        "minItems": 1,
        "items": {"$ref": f"{ref}InputRecord"},
        "format": "pandas.DataFrame:records",
    }
    service_input = {
        "type": "object",
        "required": ["input_data"],
        "properties": {
            "input_data": {
                "type": "object",
                "required": ["data"],
                "properties": {
                    "data": {**rows, "description": f"One object per row: {column_doc}."}
                },
            },
            "params": _method_param(methods, version),
        },
        "example": {"input_data": {"data": [row]}, "params": {"method": "predict"}},
        "description": "Also accepted: "
        + "; ".join(ACCEPTED_FORMATS)
        + ". Columns the model does not take are ignored.",
    }
    automl_input = {
        "type": "object",
        "required": ["Inputs"],
        "properties": {
            "Inputs": {"type": "object", "required": ["data"], "properties": {"data": rows}},
            "GlobalParameters": _method_param(methods, version),
        },
        "example": {"Inputs": {"data": [row]}, "GlobalParameters": {"method": "predict"}},
    }
    example_out = model.output_example or []
    label_schema = _json_schema_of(example_out[0]) if example_out else {}
    classes = (
        f" Probabilities are in the order of the classes {model.classes}." if model.classes else ""
    )
    # predict_proba answers a list of probabilities per row; swagger 2.0 has no anyOf.
    probabilities = {"type": "array", "items": {"type": "number"}}
    item = {"anyOf": [label_schema, probabilities]} if version != "2" and label_schema else {}
    service_output = {
        "type": "array",
        "items": item,
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
        return _swagger2(info, _schemas(model, "#/definitions/", version))
    return _openapi3(info, _schemas(model, "#/components/schemas/", version), version)


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
                    "security": [],  # liveness needs no key, as on Azure
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
                    "security": [],
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
                    "security": [],  # liveness needs no key, as on Azure
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
                    "security": [],
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


#: Swagger UI's files served under ``<docs>/assets/``, from the swagger-ui-bundle package.
_ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon-32x32.png": "image/png",
}


def swagger_ui_html(spec_url: str, title: str, assets_url: str = "/docs/assets") -> str:
    """Swagger UI over ``spec_url``, its JS/CSS from ``assets_url`` (this server, not a CDN)."""
    from fastapi.openapi.docs import get_swagger_ui_html

    page = get_swagger_ui_html(
        openapi_url=spec_url,
        title=title,
        swagger_js_url=f"{assets_url}/swagger-ui-bundle.js",
        swagger_css_url=f"{assets_url}/swagger-ui.css",
        swagger_favicon_url=f"{assets_url}/favicon-32x32.png",
        swagger_ui_parameters={"persistAuthorization": True, "tryItOutEnabled": True},
    )
    return bytes(page.body).decode("utf-8")


def add_swagger_ui(
    app: Any, spec_url: str, title: str | Callable[[], str], path: str = "/docs"
) -> None:
    """Serve Swagger UI at ``path`` with its assets from the installed swagger-ui-bundle.

    Why not FastAPI's default ``/docs``: it loads the JavaScript and CSS from
    a CDN, so the page is blank without internet. Here every file the page
    loads comes from this server (``<path>/assets/<file>``), read once from
    the package and kept in memory.
    """
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, PlainTextResponse, Response

    assets_url = f"{path}/assets"
    cache: dict[str, bytes] = {}

    async def docs(request: Request) -> Response:
        name = title() if callable(title) else title
        return HTMLResponse(swagger_ui_html(spec_url, name, assets_url))

    async def asset(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in _ASSETS:
            return PlainTextResponse(f"No Swagger UI asset {name!r}.", status_code=404)
        if name not in cache:
            from swagger_ui_bundle import swagger_ui_path

            cache[name] = (Path(str(swagger_ui_path)) / name).read_bytes()
        headers = {"Cache-Control": "public, max-age=86400"}
        return Response(cache[name], media_type=_ASSETS[name], headers=headers)

    app.router.add_route(path, docs, methods=["GET"], include_in_schema=False)
    app.router.add_route(f"{assets_url}/{{name}}", asset, methods=["GET"], include_in_schema=False)
