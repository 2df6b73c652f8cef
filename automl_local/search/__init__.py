"""The search: estimator registry, data preparation, the executor seam and the Optuna loop.

Trials and the final refit run through one interface, :class:`TrialExecutor`
(``submit`` / ``poll`` / ``cancel``, matrices shared once); the default,
:class:`LocalProcessExecutor`, runs them in worker processes on this machine;
:class:`RayExecutor` (needs the ``ray`` extra) runs them as Ray
tasks on the cluster a job's compute is bound to (:func:`bound_ray_address`).
"""

from __future__ import annotations

from automl_local.search._binding import (
    RAY_ADDRESS_ENV,
    bound_ray_address,
    check_ray_address,
    compute_variable,
    make_executor,
)
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
    event_from_message,
)
from automl_local.search._local import LocalProcessExecutor
from automl_local.search._prepare import PreparedData, prepare, stratified_splits
from automl_local.search._ray import RayExecutor
from automl_local.search._refit import Member, member_key, refit_members
from automl_local.search._search import SearchLimits, TrialRecord, run_search
from automl_local.search._worker import (
    ROUNDS_CAP,
    ROUNDS_PATIENCE,
    SharedData,
    Worker,
    allow_fork,
    cv_trial,
    error_detail,
    refit,
    rescore_trial,
    rounds_patience,
)

__all__ = [
    "ESTIMATORS",
    "RAY_ADDRESS_ENV",
    "ROUNDS_CAP",
    "ROUNDS_PATIENCE",
    "Dispatcher",
    "Estimator",
    "LocalProcessExecutor",
    "Member",
    "Placement",
    "PreparedData",
    "RayExecutor",
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
    "bound_ray_address",
    "canonical_algorithm",
    "check_ray_address",
    "compute_variable",
    "cv_trial",
    "error_detail",
    "event_from_message",
    "make_executor",
    "member_key",
    "prepare",
    "refit",
    "refit_members",
    "register",
    "rescore_trial",
    "resolve_algorithms",
    "rounds_patience",
    "run_search",
    "stratified_splits",
]
