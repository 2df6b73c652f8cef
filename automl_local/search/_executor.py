"""The executor seam: where trials and refits run, behind one small interface.

The coordinator (the job process) owns the Optuna study, the budgets, the
MLflow logging and the out-of-fold predictions; an executor only runs fits.
:class:`TrialExecutor` is all the search and the final refit know about it:

- :meth:`~TrialExecutor.share` hands over the prepared matrices once, before
  any task (local workers receive them through their pipe; a cluster puts
  them in its object store once, not once per trial);
- :meth:`~TrialExecutor.submit` starts one task with the resources it asks
  for and returns a :class:`TrialHandle`;
- :meth:`~TrialExecutor.poll` waits up to a timeout and returns what tasks
  reported (:class:`TrialEvent`); :meth:`~TrialExecutor.answer` replies to a
  fold report (prune or go on) when the executor prunes interactively;
- :meth:`~TrialExecutor.cancel` stops a task, hard when ``force`` (how
  ``trial_timeout_minutes`` and the wall budget are enforced);
- every handle says where its task runs (:class:`Placement`), and the trial
  record keeps it.

:class:`Dispatcher` is the one dispatch loop on top of it, shared by the
search and the refit: it keeps tasks in flight, answers fold reports and
cancels what runs past its timeout or the deadline.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np

from automl_local.search._worker import SharedData

__all__ = [
    "Dispatcher",
    "Placement",
    "Resources",
    "TrialEvent",
    "TrialExecutor",
    "TrialHandle",
    "TrialTask",
    "event_from_message",
]

TaskKind = Literal["trial", "rescore", "refit"]
EventKind = Literal["fold", "done", "pruned", "model", "error", "timeout"]


@dataclass(frozen=True)
class Resources:
    """What one task asks of the machine that runs it (``limits.max_cores_per_trial``)."""

    cpus: int = 1


@dataclass(frozen=True)
class TrialTask:
    """One unit of work: a cross-validated trial, a trial re-scored by cross-validation
    over every row (``rescore``: the folds of ``SharedData.rescore_splits``, no pruning),
    or a refit of one model on all rows.

    ``key`` is the caller's own name for the task (a trial number, an ensemble
    member); executors carry it and never look at it.
    """

    kind: TaskKind
    algorithm: str
    params: dict[str, Any]
    key: Any = None
    number: int = -1  # the Optuna trial number of a "trial" task


@dataclass
class Placement:
    """Where a task ran: the node (a cluster's node id, ``local`` on this machine), host, pid."""

    node: str = ""
    host: str = ""
    pid: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"node": self.node, "host": self.host, "pid": self.pid}


@dataclass(eq=False)
class TrialHandle:
    """A submitted task.

    ``started`` is ``time.monotonic()`` at submission, reset by executors that
    queue (Ray) when the task starts running; ``where.pid`` is set from then on.
    """

    task: TrialTask
    started: float = field(default_factory=time.monotonic)
    where: Placement = field(default_factory=Placement)
    ref: Any = None  # the executor's own reference (a worker, a Ray object ref)


@dataclass
class TrialEvent:
    """What a task reported. Every kind but ``fold`` ends the task.

    - ``fold``: ``step`` and ``value`` (a fold's score); the executor waits for
      :meth:`TrialExecutor.answer` when it prunes interactively;
    - ``done``: ``oof`` (out-of-fold probabilities), ``fit_seconds`` and
      ``fold_scores`` (reported afterwards when pruning is not interactive); a
      ``rescore`` adds ``params``, what the final refit should use;
    - ``pruned``; ``model``: ``model`` (a refit's fitted estimator);
    - ``error``: ``error`` (one line), ``lost`` when the process or node died;
    - ``timeout``: made by the :class:`Dispatcher` when it cancels a task.
    """

    handle: TrialHandle
    kind: EventKind
    step: int = 0
    value: float = float("nan")
    oof: np.ndarray | None = None
    fit_seconds: float = 0.0
    fold_scores: list[float] = field(default_factory=list)
    params: dict[str, Any] | None = None  # a rescore's parameters for the final refit
    model: Any = None
    error: str = ""
    lost: bool = False


class TrialExecutor(Protocol):
    """Runs tasks somewhere; see the module docstring for the life of a task."""

    #: ``local`` or ``ray``: shown in the job's events and benchmarks.
    name: str
    #: True when fold reports wait for :meth:`answer` (the pruner can stop a trial early);
    #: otherwise a ``done`` event carries every fold's score.
    interactive_pruning: bool

    def share(self, shared: SharedData) -> None:
        """Make the prepared matrices available to every task; called once, before submit."""
        ...

    def submit(self, task: TrialTask, resources: Resources) -> TrialHandle:
        """Start ``task`` now (the caller bounds how many run at once)."""
        ...

    def poll(self, timeout: float) -> list[TrialEvent]:
        """Wait up to ``timeout`` seconds; return the events of tasks in flight (maybe none)."""
        ...

    def answer(self, handle: TrialHandle, prune: bool) -> None:
        """Reply to a ``fold`` event: stop the trial (``prune``) or let it go on."""
        ...

    def cancel(self, handle: TrialHandle, *, force: bool = True) -> None:
        """Stop a task; with ``force`` its process is killed, not asked."""
        ...

    def close(self) -> None:
        """Stop every task and release the workers; the executor is not used afterwards."""
        ...


def event_from_message(handle: TrialHandle, msg: tuple[Any, ...]) -> TrialEvent:
    """A worker's message (see ``_worker``: fold, done, pruned, model, error) as an event."""
    kind = msg[0]
    if kind == "fold":
        return TrialEvent(handle, "fold", step=msg[1], value=msg[2])
    if kind == "done":
        params = msg[4] if len(msg) > 4 else None  # a rescore's refit parameters
        return TrialEvent(
            handle, "done", oof=msg[1], fit_seconds=msg[2], fold_scores=msg[3], params=params
        )
    if kind == "pruned":
        return TrialEvent(handle, "pruned")
    if kind == "model":
        return TrialEvent(handle, "model", model=msg[1], fit_seconds=msg[2])
    return TrialEvent(handle, "error", error=msg[1])


OnFold = Callable[[TrialHandle, int, float], bool]


class Dispatcher:
    """The dispatch loop of the search and of the refit, over any executor.

    Keeps at most ``slots`` tasks in flight, answers fold reports through
    ``on_fold`` (True: prune), and cancels (hard) a task running past
    ``task_timeout`` seconds or the ``deadline`` (``time.monotonic()``), which
    then ends with a ``timeout`` event.
    """

    def __init__(
        self,
        executor: TrialExecutor,
        *,
        slots: int,
        resources: Resources,
        task_timeout: float | None = None,
        deadline: float | None = None,
        on_fold: OnFold | None = None,
    ) -> None:
        self.executor = executor
        self.slots = max(1, slots)
        self.resources = resources
        self.task_timeout = task_timeout
        self.deadline = deadline
        self.on_fold = on_fold
        self.running: list[TrialHandle] = []

    @property
    def free(self) -> int:
        return self.slots - len(self.running)

    def submit(self, task: TrialTask) -> TrialHandle:
        handle = self.executor.submit(task, self.resources)
        self.running.append(handle)
        return handle

    def fill(self, source: Callable[[], TrialTask | None]) -> None:
        """Submit tasks from ``source`` (None: nothing to run now) while a slot is free."""
        while self.free > 0:
            task = source()
            if task is None:
                return
            self.submit(task)

    def step(self, timeout: float) -> list[TrialEvent]:
        """Wait up to ``timeout``; return the tasks that ended (fold reports are answered)."""
        if not self.running:
            return []
        ended: list[TrialEvent] = []
        reported: set[int] = set()
        for event in self.executor.poll(timeout):
            reported.add(id(event.handle))
            if event.kind == "fold":
                on_fold = self.on_fold
                prune = on_fold(event.handle, event.step, event.value) if on_fold else False
                self.executor.answer(event.handle, prune)
                continue
            self._forget(event.handle)
            ended.append(event)
        now = time.monotonic()
        for handle in list(self.running):
            if id(handle) in reported:
                continue
            # A task still queued (no pid yet) is not timed: a slow worker start-up on a busy
            # cluster is not the trial's fault. The wall deadline still applies to it.
            over = (
                self.task_timeout is not None
                and handle.where.pid is not None
                and now - handle.started > self.task_timeout
            )
            if over or (self.deadline is not None and now >= self.deadline):
                ended.append(self._stop(handle, "trial_timeout" if over else "deadline"))
        return ended

    def cancel_all(self, why: str) -> list[TrialEvent]:
        """Stop every task in flight (hard); one ``timeout`` event each, ``error`` = ``why``."""
        return [self._stop(handle, why) for handle in list(self.running)]

    def _stop(self, handle: TrialHandle, why: str) -> TrialEvent:
        self.executor.cancel(handle, force=True)
        self._forget(handle)
        return TrialEvent(handle, "timeout", error=why)

    def _forget(self, handle: TrialHandle) -> None:
        if handle in self.running:
            self.running.remove(handle)
