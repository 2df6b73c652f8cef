"""automl-local: Azure ML's AutoML -> deploy -> consume flow, offline.

This package is the engine and the workspace; it never imports azure-ai-ml at module level
(``automl_local.backends`` turns azure-ai-ml entities into :class:`JobSettings`). It is also
the distribution's front door: ``from automl_local import MLClient`` (the local client with
``azure.ai.ml.MLClient``'s constructor) and ``get_client("local"|"azure")``. Those two are
looked up on first use, so importing the engine never loads the backends (the layers stay
one-way: backends use the engine, not the reverse).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from automl_local.exceptions import (
    AlreadyExistsError,
    AutoMLError,
    BackendConfigError,
    BudgetError,
    ConfigError,
    DataError,
    JobFailedError,
    NotFoundError,
    ServiceError,
)

# MLClient and get_client are named only as strings here: the engine package never imports
# the layer above it, not even for type checkers (they see them through __getattr__).
if TYPE_CHECKING:
    from automl_local.settings import (
        FeaturizationSettings,
        JobSettings,
        LimitSettings,
        TrainingSettings,
    )
    from automl_local.workspace import Workspace

# name -> module of the names resolved on first use by __getattr__: the settings pull in the
# metrics (numpy), and a process that only needs a subpackage (the scoring supervisor,
# ``python -m automl_local.service``) must not pay for them.
_FRONT_DOOR = {
    "MLClient": "automl_local.backends.local",
    "get_client": "automl_local.backends",
    "FeaturizationSettings": "automl_local.settings",
    "JobSettings": "automl_local.settings",
    "LimitSettings": "automl_local.settings",
    "TrainingSettings": "automl_local.settings",
    "Workspace": "automl_local.workspace",
}

__all__ = [
    "AlreadyExistsError",
    "AutoMLError",
    "BackendConfigError",
    "BudgetError",
    "ConfigError",
    "DataError",
    "FeaturizationSettings",
    "JobFailedError",
    "JobSettings",
    "LimitSettings",
    "MLClient",
    "NotFoundError",
    "ServiceError",
    "TrainingSettings",
    "Workspace",
    "get_client",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    module = _FRONT_DOOR.get(name)
    if module is None:
        raise AttributeError(f"module 'automl_local' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
