"""The search: estimator registry, data preparation, the executor seam and the Optuna loop.

Trials and the final refit run through one interface, :class:`TrialExecutor`
(``submit`` / ``poll`` / ``cancel``, matrices shared once); the default,
:class:`LocalProcessExecutor`, runs them in worker processes on this machine.
"""

from __future__ import annotations

from automl_local.search._estimators import (
    ESTIMATORS,
    Estimator,
    canonical_algorithm,
    register,
    resolve_algorithms,
)
from automl_local.search._executor import (
    Dispatcher,
    Placement,
    Resources,
    TrialEvent,
    TrialExecutor,
    TrialHandle,
    TrialTask,
)
from automl_local.search._local import LocalProcessExecutor
from automl_local.search._prepare import PreparedData, prepare
from automl_local.search._refit import Member, member_key, refit_members
from automl_local.search._search import SearchLimits, TrialRecord, run_search
from automl_local.search._worker import (
    SharedData,
    Worker,
    allow_fork,
    cv_trial,
    error_detail,
    refit,
)

__all__ = [
    "ESTIMATORS",
    "Dispatcher",
    "Estimator",
    "LocalProcessExecutor",
    "Member",
    "Placement",
    "PreparedData",
    "Resources",
    "SearchLimits",
    "SharedData",
    "TrialEvent",
    "TrialExecutor",
    "TrialHandle",
    "TrialRecord",
    "TrialTask",
    "Worker",
    "allow_fork",
    "canonical_algorithm",
    "cv_trial",
    "error_detail",
    "member_key",
    "prepare",
    "refit",
    "refit_members",
    "register",
    "resolve_algorithms",
    "run_search",
]
