"""The process manager: start, watch and stop one endpoint's scoring server.

An online endpoint is one uvicorn process (``python -m automl_local.service``) on
127.0.0.1 that holds every deployment's model. It must outlive the CLI
command that started it, so it runs in its own session (``setsid``) with
its output in ``<endpoint dir>/server.log``; a later command finds it again
through the pid and port kept in the catalogue.

This module knows servers and ports only, not the catalogue; the process
handling is :mod:`automl_local.processes`. Every pid it signals is first
checked to be *this* endpoint's server (its command line names the endpoint
folder), so a recycled pid is never killed by mistake. The control-plane
server starts through :func:`launch_server` too.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from automl_local.exceptions import ServiceError
from automl_local.processes import is_alive, spawn_detached, tail, terminate

__all__ = [
    "DEFAULT_STARTUP_TIMEOUT",
    "HOST",
    "ServerProcess",
    "is_port_free",
    "is_server_alive",
    "launch_server",
    "pick_port",
    "probe_health",
    "start_server",
    "stop_server",
    "tail",
]

HOST = "127.0.0.1"
SERVER_LOG = "server.log"
# A deployment normally answers in a few seconds; big ensembles with several
# workers on a small machine need longer. Overridable for slow CI machines.
DEFAULT_STARTUP_TIMEOUT = float(os.environ.get("AUTOML_LOCAL_STARTUP_TIMEOUT", "120"))
_STOP_GRACE_SECONDS = 10.0


@dataclass(frozen=True)
class ServerProcess:
    """A started server: the leader pid (also its process-group id) and the port."""

    pid: int
    port: int


def is_port_free(port: int) -> bool:
    """True if a server could bind ``127.0.0.1:port`` now (as uvicorn does, SO_REUSEADDR)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def pick_port(preferred: int | None = None, avoid: Collection[int] = ()) -> int:
    """``preferred`` if it is free (stable scoring URIs across restarts), else a free one.

    ``avoid``: ports other endpoints own while they are stopped, so that two
    endpoints never share a scoring URI.
    """
    if preferred and is_port_free(preferred):
        return preferred
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((HOST, 0))
            port = int(sock.getsockname()[1])
        if port not in avoid:
            return port
    raise ServiceError("no free TCP port on 127.0.0.1 for an endpoint server.")


def _marker(endpoint_dir: Path) -> tuple[str, str]:
    """What the command line of this endpoint's server (and no other program) holds."""
    return ("--endpoint-dir", str(endpoint_dir))


def is_server_alive(pid: int | None, endpoint_dir: Path) -> bool:
    """True while the endpoint's server leader process runs."""
    return is_alive(pid, _marker(Path(endpoint_dir)))


def probe_health(port: int, timeout: float = 1.0) -> bool:
    """GET / answers ``Healthy`` (Azure's liveness probe)."""
    import httpx

    try:
        response = httpx.get(f"http://{HOST}:{port}/", timeout=timeout, trust_env=False)
    except httpx.HTTPError:
        return False
    return response.status_code == 200 and "Healthy" in response.text


def launch_server(
    cmd: Sequence[str],
    *,
    what: str,
    cwd: Path,
    log_path: Path,
    port: int,
    banner: str,
    marker: Sequence[str],
    timeout: float = DEFAULT_STARTUP_TIMEOUT,
) -> int:
    """Start an HTTP server detached; return its pid once GET / on ``port`` is healthy.

    Raises ServiceError with the tail of ``log_path`` if the process exits,
    or does not become healthy within ``timeout`` seconds (and stops it).
    ``what`` names the server in those messages.
    """
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    proc = spawn_detached(
        cmd, log_path=log_path, cwd=cwd, env=dict(os.environ, PYTHONUNBUFFERED="1"),
        banner=f"--- {stamp} starting: {banner}",
    )  # fmt: skip
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServiceError(
                f"{what} exited with code {proc.returncode} during start-up. "
                f"Last lines of {log_path}:\n{tail(log_path, 30)}"
            )
        if probe_health(port, timeout=0.5):
            return proc.pid
        time.sleep(0.05)
    terminate(proc.pid, marker=marker, grace=_STOP_GRACE_SECONDS)
    raise ServiceError(
        f"{what} did not answer GET http://{HOST}:{port}/ within {timeout:.0f} s (set "
        "AUTOML_LOCAL_STARTUP_TIMEOUT to wait longer). "
        f"Last lines of {log_path}:\n{tail(log_path, 30)}"
    )


def start_server(
    endpoint_dir: Path,
    port: int,
    workers: int,
    timeout: float = DEFAULT_STARTUP_TIMEOUT,
) -> ServerProcess:
    """Start ``python -m automl_local.service`` for ``endpoint_dir``; wait until it is healthy."""
    endpoint_dir = Path(endpoint_dir)
    cmd = [
        sys.executable, "-m", "automl_local.service", "--endpoint-dir", str(endpoint_dir),
        "--host", HOST, "--port", str(port), "--workers", str(workers),
    ]  # fmt: skip
    pid = launch_server(
        cmd, what=f"the scoring server for {endpoint_dir.name!r}", cwd=endpoint_dir,
        log_path=endpoint_dir / SERVER_LOG, port=port, marker=_marker(endpoint_dir),
        banner=f"port {port}, {workers} worker(s)", timeout=timeout,
    )  # fmt: skip
    return ServerProcess(pid=pid, port=port)


def stop_server(pid: int | None, endpoint_dir: Path, grace: float = _STOP_GRACE_SECONDS) -> None:
    """Stop the server whose leader is ``pid`` and its workers: SIGTERM, then SIGKILL.

    Safe to call on a server that already died (its orphaned workers, which
    may still hold the port, are stopped too) or was never started.
    """
    terminate(pid, marker=_marker(Path(endpoint_dir)), grace=grace)
