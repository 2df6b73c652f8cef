"""automl-local: Azure ML's AutoML -> deploy -> consume flow, offline.

The engine and workspace. It never imports azure-ai-ml at module level: the
``backends`` package turns azure-ai-ml entities into :class:`JobSettings`.
"""

from __future__ import annotations

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
from automl_local.settings import (
    FeaturizationSettings,
    JobSettings,
    LimitSettings,
    TrainingSettings,
)
from automl_local.workspace import Workspace

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
    "NotFoundError",
    "ServiceError",
    "TrainingSettings",
    "Workspace",
]
__version__ = "0.1.0"
