"""The search: estimator registry, data preparation, trial workers and the Optuna loop."""

from __future__ import annotations

from automl_local.search._estimators import (
    ESTIMATORS,
    Estimator,
    canonical_algorithm,
    register,
    resolve_algorithms,
)
from automl_local.search._prepare import PreparedData, prepare
from automl_local.search._search import SearchLimits, TrialRecord, run_search
from automl_local.search._worker import SharedData, Worker, allow_fork

__all__ = [
    "ESTIMATORS",
    "Estimator",
    "PreparedData",
    "SearchLimits",
    "SharedData",
    "TrialRecord",
    "Worker",
    "allow_fork",
    "canonical_algorithm",
    "prepare",
    "register",
    "resolve_algorithms",
    "run_search",
]
