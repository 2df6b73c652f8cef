"""The default executor: trials in worker processes on this machine.

Each :class:`~automl_local.search._worker.Worker` holds the prepared matrices
(sent once through its pipe), so a task costs only its fits. A task runs on
an idle worker, or on a new one when all are busy (the dispatcher bounds how
many run at once). Cancelling a task kills its worker (the next task starts
a fresh one, which loads the matrices): that kill is what makes
``trial_timeout_minutes`` and the wall budget hard limits.
Fold reports wait for the coordinator's answer, so the pruner can stop a
trial between folds.
"""

from __future__ import annotations

import signal
import socket
from multiprocessing.connection import wait
from typing import Any

from automl_local.search._executor import (
    Placement,
    Resources,
    TrialEvent,
    TrialHandle,
    TrialTask,
    event_from_message,
)
from automl_local.search._worker import SharedData, Worker

__all__ = ["LocalProcessExecutor"]

LOCAL_NODE = "local"


class LocalProcessExecutor:
    """Forked worker processes; ``prestart`` of them boot at once (before the data is ready).

    ``fork`` starts the first workers with a plain fork (instant), which is
    only safe in a process that has not run OpenMP yet (see ``allow_fork``);
    every later worker comes from the forkserver.
    """

    name = "local"
    interactive_pruning = True

    def __init__(self, prestart: int = 0, *, fork: bool = False) -> None:
        self._host = socket.gethostname()
        self._shared: SharedData | None = None
        self._idle: list[Worker] = [Worker(fork=fork) for _ in range(prestart)]
        self._busy: dict[int, tuple[Worker, TrialHandle]] = {}  # id(worker.conn) -> ...

    def share(self, shared: SharedData) -> None:
        self._shared = shared
        for worker in self._idle:
            worker.load(shared)

    def submit(self, task: TrialTask, resources: Resources) -> TrialHandle:
        if self._shared is None:
            raise RuntimeError("LocalProcessExecutor.submit before share()")
        worker = self._idle.pop(0) if self._idle else Worker(self._shared)
        handle = TrialHandle(task, ref=worker)
        handle.where = Placement(LOCAL_NODE, self._host, worker.process.pid)
        message: tuple[Any, ...]
        if task.kind in ("trial", "rescore"):
            message = (task.kind, task.number, task.algorithm, task.params)
        else:
            message = ("refit", task.algorithm, task.params)
        worker.send(handle, message)
        handle.started = worker.started
        self._busy[id(worker.conn)] = (worker, handle)
        return handle

    def poll(self, timeout: float) -> list[TrialEvent]:
        if not self._busy:
            return []
        conns = [w.conn for w, _ in self._busy.values()]
        events = []
        for conn in wait(conns, timeout=timeout):
            worker, handle = self._busy[id(conn)]
            try:
                msg = worker.conn.recv()
            except (EOFError, OSError):
                self._discard(worker)
                died = "the worker process died (out of memory?)"
                events.append(TrialEvent(handle, "error", error=died, lost=True))
                continue
            event = event_from_message(handle, msg)
            if event.kind != "fold":
                self._release(worker)
            events.append(event)
        return events

    def answer(self, handle: TrialHandle, prune: bool) -> None:
        handle.ref.conn.send("prune" if prune else "go")

    def cancel(self, handle: TrialHandle, *, force: bool = True) -> None:
        worker = handle.ref
        if id(worker.conn) in self._busy:
            self._discard(worker, signal.SIGKILL if force else signal.SIGTERM)

    def close(self) -> None:
        for worker in [*self._idle, *(w for w, _ in self._busy.values())]:
            worker.kill()
        self._idle, self._busy = [], {}

    def _release(self, worker: Worker) -> None:
        del self._busy[id(worker.conn)]
        worker.task = None
        self._idle.append(worker)

    def _discard(self, worker: Worker, sig: int = signal.SIGKILL) -> None:
        """Kill a stuck or dead worker; the next task that finds no idle worker starts one."""
        del self._busy[id(worker.conn)]
        worker.kill(sig)
