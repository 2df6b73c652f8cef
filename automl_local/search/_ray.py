"""The Ray executor: each trial is a Ray task on a cluster the job's compute is bound to.

What goes to the cluster, and how often:

- the prepared matrices (:class:`SharedData`: featurized rows, labels,
  weights, folds) go to the object store once per job (``ray.put``); every
  task reads them from there (zero-copy on the node that holds them);
- per task, only the :class:`TrialTask` (an algorithm name and its
  hyperparameters); the code is not shipped: every node runs the same
  ``automl-local[ray]`` install (the task imports ``automl_local.search``);
- back come the out-of-fold probabilities (a trial) or the fitted model (a
  refit), and where the task ran.

Each task asks for ``num_cpus`` = the trial's cores (``max_cores_per_trial``,
at most the largest node's CPUs) and is never retried (``max_retries=0``):
a lost node or worker fails that trial only, with Ray's reason in the trial
record, and the search goes on. Cancelling is ``ray.cancel(force=True)``,
which kills the worker process: ``trial_timeout_minutes`` and the wall budget
stay hard limits. The coordinator keeps the Optuna study, the logging and
the predictions; when it dies, Ray ends its tasks with it.

A task is a generator: its first item says where it runs (so a timeout counts
running time, not time queued for a free CPU, and a trial killed with its
node still names the node), its second is the result. Pruning is not
interactive here (a task cannot wait for the coordinator between folds): a
trial runs all its folds, and the fold scores reach the pruner afterwards.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from typing import Any

from automl_local.search._executor import (
    Placement,
    Resources,
    TrialEvent,
    TrialHandle,
    TrialTask,
    event_from_message,
)
from automl_local.search._worker import SharedData, cv_trial, error_detail, refit, rescore_trial

__all__ = ["RayExecutor"]

log = logging.getLogger(__name__)


def _run(shared: SharedData, task: TrialTask) -> Any:
    """The body of one Ray task (a generator: where it runs, then the result)."""
    import ray

    yield Placement(ray.get_runtime_context().get_node_id(), socket.gethostname(), os.getpid())
    try:
        if task.kind == "trial":
            oof, fit_seconds, scores = cv_trial(
                shared, task.algorithm, task.params, lambda k, v: False
            )
            yield ("done", oof, fit_seconds, scores)
        elif task.kind == "rescore":
            yield ("done", *rescore_trial(shared, task.algorithm, task.params))
        else:
            yield ("model", *refit(shared, task.algorithm, task.params))
    except Exception as exc:
        yield ("error", error_detail(exc))


class RayExecutor:
    """Trials as Ray tasks on the cluster at ``address`` (``host:port`` of its head)."""

    name = "ray"
    interactive_pruning = False

    def __init__(self, address: str) -> None:
        import ray

        from automl_local.exceptions import ConfigError

        self._ray = ray
        try:
            ray.init(
                address=address,
                log_to_driver=False,
                logging_level=logging.WARNING,
                configure_logging=False,
            )
        except Exception as exc:  # version mismatch, a port that is not a Ray head, ...
            raise ConfigError(
                f"could not join the Ray cluster at {address!r}: {exc}. Check the address and "
                "that the cluster runs the same Ray and Python versions as this machine."
            ) from None
        self._remote = ray.remote(max_retries=0, num_returns="streaming")(_run)
        self._max_cpus = max(
            (int(n["Resources"].get("CPU", 0)) for n in ray.nodes() if n.get("Alive")), default=1
        )
        self._shared_ref: Any = None
        self._in_flight: dict[Any, TrialHandle] = {}  # ObjectRefGenerator -> handle
        self._clamped = False

    @property
    def in_flight(self) -> list[TrialHandle]:
        """The tasks submitted and not yet ended (their ``where`` once they started)."""
        return list(self._in_flight.values())

    def share(self, shared: SharedData) -> None:
        self._shared_ref = self._ray.put(shared)

    def submit(self, task: TrialTask, resources: Resources) -> TrialHandle:
        if self._shared_ref is None:
            raise RuntimeError("RayExecutor.submit before share()")
        cpus = min(max(1, resources.cpus), self._max_cpus)
        if cpus < resources.cpus and not self._clamped:
            self._clamped = True
            log.warning(
                "a trial asks for %d CPUs; the largest Ray node has %d: trials use %d",
                resources.cpus,
                self._max_cpus,
                cpus,
            )
        gen = self._remote.options(num_cpus=cpus).remote(self._shared_ref, task)
        handle = TrialHandle(task, ref=gen)
        self._in_flight[gen] = handle
        return handle

    def poll(self, timeout: float) -> list[TrialEvent]:
        if not self._in_flight:
            return []
        ray = self._ray
        pending = list(self._in_flight)
        ready, _ = ray.wait(pending, num_returns=1, timeout=timeout)
        if ready:  # everything else that is ready too, without waiting
            ready, _ = ray.wait(pending, num_returns=len(pending), timeout=0)
        events = []
        for gen in ready:
            handle = self._in_flight[gen]
            try:
                item = ray.get(next(gen))
            except StopIteration:
                item = ("error", "the Ray task ended without a result")
            except ray.exceptions.RayError as exc:
                events.append(self._end(gen, _lost(handle, exc)))
                continue
            if isinstance(item, Placement):
                handle.where = item
                handle.started = time.monotonic()  # running now; queueing does not count
                continue
            events.append(self._end(gen, event_from_message(handle, item)))
        return events

    def answer(self, handle: TrialHandle, prune: bool) -> None:
        """Never asked: fold scores come with the result (see the module docstring)."""

    def cancel(self, handle: TrialHandle, *, force: bool = True) -> None:
        gen = handle.ref
        if gen in self._in_flight:
            self._ray.cancel(gen, force=force)
            del self._in_flight[gen]

    def close(self) -> None:
        for gen in list(self._in_flight):
            self._ray.cancel(gen, force=True)
        self._in_flight.clear()
        self._shared_ref = None
        if self._ray.is_initialized():
            self._ray.shutdown()

    def _end(self, gen: Any, event: TrialEvent) -> TrialEvent:
        del self._in_flight[gen]
        return event


def _lost(handle: TrialHandle, exc: Exception) -> TrialEvent:
    """A task that Ray could not finish: its node or worker died, or it was cancelled."""
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return TrialEvent(
        handle, "error", error=f"{type(exc).__name__}: {first_line}"[:2000], lost=True
    )
