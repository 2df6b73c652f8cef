"""The scoring service: an Azure-inference-server-compatible FastAPI app for one endpoint.

``python -m automl_local.service --endpoint-dir E --port N [--workers K]`` serves every
deployment listed in ``E/endpoint.json``; :func:`create_app` builds the same
app in-process. Scoring is also available as plain functions
(:func:`parse_request`, :func:`predict`, :func:`format_response`,
:func:`score_body`) that need no HTTP.

Names are imported on first use, so ``python -m automl_local.service`` (whose supervisor
process never scores) does not pay for pandas, FastAPI or MLflow.
"""

from __future__ import annotations

# One import path per module (see setup.py): run from the repository root, ``import service``
# would otherwise load a second copy of every module beside ``automl_local.service``.
if __name__ != "automl_local.service":
    raise ImportError(
        f"import this package as automl_local.service, not {__name__!r}: the repository's "
        f"service/ folder is installed under the automl_local name (pip install -e .)"
    )

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from automl_local.service._app import ScoringRuntime, app_from_env, create_app
    from automl_local.service._auth import check_bearer
    from automl_local.service._config import (
        DeploymentConfig,
        EndpointConfig,
        KeyHashes,
        hash_key,
        parse_endpoint_config,
        parse_key_hashes,
        read_endpoint_config,
    )
    from automl_local.service._errors import ModelFailure, ScoringError
    from automl_local.service._formats import (
        ParsedRequest,
        RequestFormat,
        format_response,
        parse_request,
    )
    from automl_local.service._model import ColumnSpec, LoadedModel, ModelSchema, load_model
    from automl_local.service._predict import ScoreOutcome, predict, score_body
    from automl_local.service._routing import choose_deployment
    from automl_local.service._script_contract import InputContract, true_document
    from automl_local.service._swagger import add_swagger_ui, build_swagger

__all__ = [
    "ColumnSpec",
    "DeploymentConfig",
    "EndpointConfig",
    "InputContract",
    "KeyHashes",
    "LoadedModel",
    "ModelFailure",
    "ModelSchema",
    "ParsedRequest",
    "RequestFormat",
    "ScoreOutcome",
    "ScoringError",
    "ScoringRuntime",
    "add_swagger_ui",
    "app_from_env",
    "build_swagger",
    "check_bearer",
    "choose_deployment",
    "create_app",
    "format_response",
    "hash_key",
    "load_model",
    "parse_endpoint_config",
    "parse_key_hashes",
    "parse_request",
    "predict",
    "read_endpoint_config",
    "score_body",
    "true_document",
]

_HOME = {
    "ScoringRuntime": "_app",
    "app_from_env": "_app",
    "create_app": "_app",
    "check_bearer": "_auth",
    "DeploymentConfig": "_config",
    "EndpointConfig": "_config",
    "KeyHashes": "_config",
    "hash_key": "_config",
    "parse_endpoint_config": "_config",
    "parse_key_hashes": "_config",
    "read_endpoint_config": "_config",
    "ModelFailure": "_errors",
    "ScoringError": "_errors",
    "ParsedRequest": "_formats",
    "RequestFormat": "_formats",
    "format_response": "_formats",
    "parse_request": "_formats",
    "ColumnSpec": "_model",
    "LoadedModel": "_model",
    "ModelSchema": "_model",
    "load_model": "_model",
    "ScoreOutcome": "_predict",
    "predict": "_predict",
    "score_body": "_predict",
    "choose_deployment": "_routing",
    "InputContract": "_script_contract",
    "true_document": "_script_contract",
    "add_swagger_ui": "_swagger",
    "build_swagger": "_swagger",
}


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"automl_local.service.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
