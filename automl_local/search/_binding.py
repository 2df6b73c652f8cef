"""Which executor a job's trials run on: a compute bound to a Ray cluster, or this machine.

A job names its compute as on Azure (``compute: azureml:cpu-cluster``). Locally
that name means nothing until it is bound to a Ray cluster, by an environment
variable of the shell that submits the job:

- ``AUTOML_LOCAL_RAY_ADDRESS_<COMPUTE>`` binds one compute (the name upper-cased,
  every other character than A-Z and 0-9 made ``_``: ``cpu-cluster`` ->
  ``AUTOML_LOCAL_RAY_ADDRESS_CPU_CLUSTER``);
- ``AUTOML_LOCAL_RAY_ADDRESS`` binds every compute that has no variable of its own.

The value is the Ray head's GCS address, ``host:port`` (what ``ray start
--head`` prints); ``local`` unbinds a compute. A job without a compute, or
with an unbound one, runs its trials in local worker processes, as before.
Why environment variables: they need no state in the workspace and no
compute operations, and they are how Ray itself is pointed at a cluster
(``RAY_ADDRESS``). The binding is resolved when the job is submitted and kept
in its spec, so a resumed job goes back to the same cluster.
"""

from __future__ import annotations

import importlib.util
import os
import re
import socket
from collections.abc import Mapping

from automl_local.exceptions import ConfigError
from automl_local.search._executor import TrialExecutor
from automl_local.search._local import LocalProcessExecutor

__all__ = [
    "RAY_ADDRESS_ENV",
    "bound_ray_address",
    "check_ray_address",
    "compute_variable",
    "make_executor",
]

RAY_ADDRESS_ENV = "AUTOML_LOCAL_RAY_ADDRESS"
_REACH_SECONDS = 3.0


def compute_variable(compute: str) -> str:
    """The environment variable that binds ``compute`` alone."""
    name = compute.removeprefix("azureml:").upper()
    return f"{RAY_ADDRESS_ENV}_{re.sub(r'[^A-Z0-9]', '_', name)}"


def bound_ray_address(compute: str | None, environ: Mapping[str, str] | None = None) -> str | None:
    """The Ray address ``compute`` is bound to, or None (trials run in local processes)."""
    if not compute:
        return None
    env = os.environ if environ is None else environ
    for variable in (compute_variable(compute), RAY_ADDRESS_ENV):
        value = env.get(variable, "").strip()
        if value:
            return None if value.lower() == "local" else value
    return None


def check_ray_address(address: str, compute: str | None) -> None:
    """Refuse, before the job starts, a binding that cannot work: no Ray, or no cluster there."""
    what = (
        f"compute {compute!r} is bound to the Ray cluster at {address!r} "
        f"({compute_variable(compute or '')} or {RAY_ADDRESS_ENV})"
    )
    if not _ray_installed():
        raise ConfigError(
            f"{what}, but Ray is not installed here. Install the extra "
            "(pip install 'automl-local[ray]'), or unset the variable to run the trials in "
            "local processes."
        )
    host, sep, port = address.rpartition(":")
    if "://" in address or not sep or not host or not port.isdigit():
        raise ConfigError(
            f"{what}, which is not a host:port address. Give the head's GCS address, as "
            "`ray start --head` prints it (e.g. 10.0.0.5:6379)."
        )
    try:
        socket.create_connection((host, int(port)), timeout=_REACH_SECONDS).close()
    except OSError as exc:
        raise ConfigError(
            f"{what}, which cannot be reached ({exc.strerror or exc}). Start the head there "
            f"(ray start --head --port {port}), correct the address, or unset the variable to "
            "run the trials in local processes."
        ) from None


def _ray_installed() -> bool:
    try:
        return importlib.util.find_spec("ray") is not None
    except (ImportError, ValueError):  # a module entry set to None hides the package
        return False


def make_executor(ray_address: str | None, workers: int) -> TrialExecutor:
    """The job's executor: Ray tasks at ``ray_address``, else ``workers`` local processes.

    Local workers start at once (their imports overlap with data preparation).
    """
    if ray_address:
        from automl_local.search._ray import RayExecutor

        return RayExecutor(ray_address)
    return LocalProcessExecutor(workers, fork=True)
