"""The liveness probe of a deployment, run inside each scoring worker against its event loop.

On Azure the kubelet sends the liveness probe to the container and restarts
it after ``failure_threshold`` failures in a row. Here the probe runs as a
thread in each worker: every ``period`` seconds (after ``initial_delay``) it
asks the worker's event loop to run a no-op and waits ``timeout`` seconds;
an event loop that does not answer ``failure_threshold`` times in a row
(a request blocking it, a deadlock) gets a line in the deployment's log and
the worker exits, and the server's supervisor starts a fresh one that loads
the models again (``python -m automl_local.service`` always runs under the
supervisor when a deployment has a liveness probe).
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import TimeoutError as FutureTimeout

__all__ = ["LIVENESS_EXIT_CODE", "PROBE_FIELDS", "start_liveness_probe"]

#: What endpoint.json gives for a liveness probe (the process manager fills in Azure's
#: defaults for fields the deployment left unset).
PROBE_FIELDS = ("initial_delay", "period", "timeout", "failure_threshold")

LIVENESS_EXIT_CODE = 70


async def _noop() -> None:
    return None


def start_liveness_probe(
    loop: asyncio.AbstractEventLoop,
    deployment: str,
    settings: Mapping[str, int],
    log: Callable[[str], None],
    stop: threading.Event,
    on_failure: Callable[[], None] = lambda: os._exit(LIVENESS_EXIT_CODE),
) -> threading.Thread:
    """Probe ``loop`` in a daemon thread until ``stop`` is set; ``on_failure`` when it fails."""
    s = dict(settings)

    def probe() -> None:
        if stop.wait(s["initial_delay"]):
            return
        failures = 0
        while not stop.is_set():
            future = asyncio.run_coroutine_threadsafe(_noop(), loop)
            try:
                future.result(timeout=s["timeout"])
                failures = 0
            except FutureTimeout:
                future.cancel()
                failures += 1
                if failures >= s["failure_threshold"]:
                    log(
                        f"liveness probe failed {failures} times in a row (the worker's event "
                        f"loop did not answer within {s['timeout']} s, every {s['period']} s): "
                        f"worker {os.getpid()} exits and the server starts a new one, as Azure "
                        "restarts the container"
                    )
                    on_failure()
                    return
            if stop.wait(s["period"]):
                return

    thread = threading.Thread(target=probe, name=f"liveness-{deployment}", daemon=True)
    thread.start()
    return thread
