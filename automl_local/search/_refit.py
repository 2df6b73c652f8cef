"""The final refit: the winner's models fitted on every row, on the search's executor.

It runs through the same :class:`~automl_local.search._executor.Dispatcher`
as the trials, so a refit runs wherever the trials ran (local workers that
already hold the matrices, or a cluster) under the same hard limits.
"""

from __future__ import annotations

import json
import time
from typing import Any

from automl_local.exceptions import BudgetError
from automl_local.search._executor import Dispatcher, Resources, TrialExecutor, TrialTask

__all__ = ["Member", "member_key", "refit_members"]

Member = tuple[str, dict[str, Any]]  # (algorithm, hyperparameters)


def member_key(member: Member) -> str:
    """One model's identity: an ensemble that uses a model twice fits it once."""
    return json.dumps([member[0], member[1]], sort_keys=True, default=str)


def refit_members(
    executor: TrialExecutor,
    preferred: list[Member],
    fallback: list[Member],
    *,
    soft_deadline: float,
    deadline: float,
    slots: int,
    resources: Resources,
) -> tuple[dict[str, Any], bool]:
    """Fit the members of ``preferred`` (and of ``fallback``, first) before the deadline.

    The fallback (the best single model) is fitted first, alone (measured on a
    loaded machine: fitted beside the ensemble's members it missed a 60 s job's
    deadline): if ``soft_deadline``
    comes before the preferred ensemble's other members are done, the job
    still ends with a model, the best one that could be finished, instead of
    failing. Only if even that one is not done by ``deadline`` does it raise.
    Returns the fitted models by :func:`member_key` and whether every
    preferred member was fitted.
    """
    order = {member_key(m): m for m in [*fallback, *preferred]}
    first = {member_key(m) for m in fallback}
    pending = list(order)
    fitted: dict[str, Any] = {}

    def complete(members: list[Member]) -> bool:
        return all(member_key(m) in fitted for m in members)

    def next_task() -> TrialTask | None:
        if not pending:
            return None
        if pending[0] not in first and not complete(fallback):
            return None  # the fallback fits alone first: it is what a short budget ends with
        key = pending.pop(0)
        algorithm, params = order[key]
        return TrialTask("refit", algorithm, params, key=key)

    dispatcher = Dispatcher(executor, slots=min(len(order), slots), resources=resources)
    try:
        while not complete(preferred):
            dispatcher.fill(next_task)
            now = time.monotonic()
            if now >= soft_deadline and complete(fallback):
                break
            remaining = deadline - now
            if remaining <= 0:
                raise BudgetError(
                    "limits.timeout_minutes ran out while refitting the best model on all rows. "
                    "Raise limits.timeout_minutes."
                )
            for event in dispatcher.step(min(remaining, 1.0)):
                if event.kind != "model":
                    raise BudgetError(
                        f"refitting {event.handle.task.algorithm} on all rows failed: "
                        f"{event.error}"
                    )
                fitted[event.handle.task.key] = event.model
    finally:
        dispatcher.cancel_all("refit over")
    return fitted, complete(preferred)
