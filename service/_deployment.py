"""One deployment as a scoring worker holds it: model, log, threads and request accounting.

Split from ``_app`` (the HTTP side); the rules here are Azure's request
settings: ``max_concurrent_requests_per_instance`` threads, 429 beyond twice
that many requests in flight, 408 after ``request_timeout_ms``.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from automl_local.service._errors import ScoringError
from automl_local.service._logging import DeploymentLog
from automl_local.service._model import LoadedModel
from automl_local.service._scripted import ScriptServer

__all__ = ["Deployment", "limit_native_threads", "native_threads", "timed_out", "too_many"]


@dataclass
class Deployment:
    """A deployment as this worker holds it: its model (or load error), log and threads."""

    name: str
    log: DeploymentLog
    concurrency: int = 1
    model: LoadedModel | None = None
    script: ScriptServer | None = None  # a scripted deployment's azmlinfsrv child
    error: str = ""
    executor: ThreadPoolExecutor = field(init=False)
    swagger: dict[str, dict[str, Any]] = field(default_factory=dict)
    in_flight: int = 0  # requests of this deployment inside this worker (event-loop only)
    native_threads: int = 1  # OpenMP/BLAS threads per scoring thread (OMP_NUM_THREADS)
    recent_ms: float = float("inf")  # moving average of scoring times; inf until measured

    def observe(self, exec_ms: float) -> None:
        """Update the moving average that decides whether requests may run inline."""
        if self.recent_ms == float("inf"):
            self.recent_ms = exec_ms
        else:
            self.recent_ms += 0.2 * (exec_ms - self.recent_ms)

    def __post_init__(self) -> None:
        self.executor = self._new_executor()

    @property
    def pending_limit(self) -> int:
        """Azure's rule: 2 x max_concurrent_requests_per_instance per instance, then 429."""
        return 2 * self.concurrency

    def _new_executor(self) -> ThreadPoolExecutor:
        return ThreadPoolExecutor(
            self.concurrency,
            thread_name_prefix=f"score-{self.name}",
            initializer=limit_native_threads,
            initargs=(self.native_threads,),
        )

    def abandon_executor(self) -> None:
        """Swap in fresh threads after a timeout; the stuck call finishes (or not) alone.

        A Python thread cannot be killed, so a timed-out predict keeps running;
        without the swap it would hold the deployment's only slot and every
        later request would time out behind it.
        """
        old, self.executor = self.executor, self._new_executor()
        old.shutdown(wait=False, cancel_futures=False)


def limit_native_threads(count: int) -> None:
    """Each scoring thread runs native code (OpenMP, BLAS) on ``count`` threads (default 1).

    Why: one-row predictions are far too small to split; an OpenMP pool the
    size of the machine only adds wake-up and spin costs. Measured on the
    bank-marketing VotingEnsemble: its HistGradientBoosting member takes
    ~11 ms CPU per row with the default pool and 0.7 ms on one thread.
    Parallelism comes from ``max_concurrent_requests_per_instance`` threads
    and ``instance_count`` workers instead. The deployment's
    ``OMP_NUM_THREADS`` environment variable, when set, is honoured.
    """
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=count)  # OpenMP's limit is per calling thread: this one


def timed_out(dep: Deployment, timeout_ms: int) -> ScoringError:
    return ScoringError(
        408,
        f"Scoring did not finish within request_timeout_ms={timeout_ms} of deployment "
        f"'{dep.name}'. Send fewer rows, or raise request_settings.request_timeout_ms.",
    )


def native_threads(environment: Mapping[str, str]) -> int:
    try:
        return max(1, int(environment.get("OMP_NUM_THREADS", "1")))
    except ValueError:
        return 1


def too_many(dep: Deployment) -> ScoringError:
    return ScoringError(
        429,
        f"Too many pending requests: deployment '{dep.name}' already has {dep.in_flight} "
        f"requests in flight on this instance, the most Azure allows (2 x "
        f"max_concurrent_requests_per_instance={dep.concurrency}). Retry with backoff, or raise "
        "request_settings.max_concurrent_requests_per_instance or instance_count.",
    )
