"""Readiness probes of online deployments, with Azure's ``ProbeSettings`` fields and defaults.

On Azure a deployment is ready when its container answers the readiness
probe ``success_threshold`` times in a row, probed every ``period`` seconds
after ``initial_delay``, each probe waiting ``timeout`` seconds; after
``failure_threshold`` failures in a row the deployment fails. Here the probe
is ``GET /`` with the ``azureml-model-deployment`` header, which the scoring
server answers ``Healthy`` only once that deployment's model is loaded
(503 with the load error otherwise). A deployment without ``readiness_probe``
is ready when the server answers at all (it loads every model before it
serves), as before. The liveness probe runs in the server (``service._liveness``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from automl_local.exceptions import ConfigError, ServiceError

__all__ = [
    "AZURE_PROBE_DEFAULTS",
    "probe_deployment",
    "probe_settings",
    "wait_ready",
    "with_azure_defaults",
]

#: reference-yaml-deployment-managed-online: the service's defaults for unset fields.
AZURE_PROBE_DEFAULTS = {
    "initial_delay": 10,
    "period": 10,
    "timeout": 2,
    "success_threshold": 1,
    "failure_threshold": 30,
}
HOST = "127.0.0.1"


def probe_settings(probe: Any, deployment: str, which: str) -> dict[str, int] | None:
    """The fields set on a ``ProbeSettings`` (``None`` when there is no probe), checked."""
    if probe is None:
        return None
    values: dict[str, int] = {}
    for name in AZURE_PROBE_DEFAULTS:
        value = getattr(probe, name, None)
        if value is None:
            continue
        least = 0 if name == "initial_delay" else 1
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ConfigError(
                f"deployment {deployment!r}: {which}.{name} must be a whole number of at least "
                f"{least}, got {value!r}."
            )
        values[name] = value
    return values


def with_azure_defaults(settings: Mapping[str, int] | None) -> dict[str, int] | None:
    """Every probe field, Azure's default where the deployment left it unset (None: no probe).

    This is what ``endpoint.json`` carries for the liveness probe that the
    scoring server runs itself (``service._liveness``).
    """
    return None if settings is None else {**AZURE_PROBE_DEFAULTS, **settings}


def probe_deployment(port: int, deployment: str, timeout: float) -> bool:
    """One readiness probe: ``GET /`` pinned to the deployment answers 200 ``Healthy``."""
    import httpx

    try:
        response = httpx.get(
            f"http://{HOST}:{port}/",
            headers={"azureml-model-deployment": deployment},
            timeout=timeout,
            trust_env=False,
        )
    except httpx.HTTPError:
        return False
    return response.status_code == 200 and response.text == "Healthy"


def wait_ready(
    port: int,
    deployment: str,
    settings: Mapping[str, int],
    probe: Callable[[int, str, float], bool] = probe_deployment,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Probe until ``success_threshold`` successes in a row; the number of probes sent.

    Raises ServiceError after ``failure_threshold`` failures in a row.
    """
    s = with_azure_defaults(settings) or {}
    sleep(s["initial_delay"])
    successes = failures = sent = 0
    while True:
        sent += 1
        if probe(port, deployment, float(s["timeout"])):
            successes, failures = successes + 1, 0
            if successes >= s["success_threshold"]:
                return sent
        else:
            successes, failures = 0, failures + 1
            if failures >= s["failure_threshold"]:
                raise ServiceError(
                    f"deployment {deployment!r} failed its readiness probe {failures} times in a "
                    f"row (GET / every {s['period']} s, timeout {s['timeout']} s, after "
                    f"{s['initial_delay']} s): its model is not loaded. See get-logs; raise "
                    "readiness_probe.failure_threshold if it needs longer to start."
                )
        sleep(s["period"])
