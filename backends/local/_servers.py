"""The process manager: start, watch and stop one endpoint's scoring server.

An online endpoint is one uvicorn process (``python -m automl_local.service``) on
127.0.0.1 that holds every deployment's model. It must outlive the CLI
command that started it, so it runs in its own session (``setsid``) with
its output in ``<endpoint dir>/server.log``; a later command finds it again
through the pid and port kept in the catalogue.

This module knows processes and ports only, not the catalogue. Every pid it
signals is first checked to be *this* endpoint's server (its command line
names the endpoint folder), so a recycled pid is never killed by mistake.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections import deque
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from automl_local.exceptions import ServiceError

__all__ = [
    "DEFAULT_STARTUP_TIMEOUT",
    "ServerProcess",
    "is_port_free",
    "is_server_alive",
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

# Servers started by this Python process. ``Popen.poll`` reaps them, so a
# server that died while we are its parent is not mistaken for a live zombie.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


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


def _proc_cmdline(pid: int) -> str | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return raw.replace(b"\0", b" ").decode(errors="replace")


def _proc_state_and_pgrp(pid: int) -> tuple[str, int] | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # "pid (comm) state ppid pgrp ...": comm may contain spaces, so split after ")".
    fields = stat.rsplit(")", 1)[1].split()
    return fields[0], int(fields[2])


def _owns(pid: int, endpoint_dir: Path) -> bool:
    """Is ``pid`` a live process of this endpoint's server (not a zombie, not a reused pid)?"""
    child = _CHILDREN.get(pid)
    if child is not None and child.poll() is not None:
        _CHILDREN.pop(pid, None)
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process now holds the pid
        return False
    if not Path("/proc").is_dir():  # no procfs (macOS): the signal check is all we have
        return True
    state = _proc_state_and_pgrp(pid)
    cmdline = _proc_cmdline(pid)
    if state is None or cmdline is None or state[0] == "Z":
        return False
    return f"--endpoint-dir {endpoint_dir} " in f"{cmdline} "


def is_server_alive(pid: int | None, endpoint_dir: Path) -> bool:
    """True while the endpoint's server leader process runs."""
    return bool(pid) and _owns(int(pid), Path(endpoint_dir))  # type: ignore[arg-type]


def _group_members(pgid: int, endpoint_dir: Path) -> list[int]:
    """Processes of the server's group (uvicorn workers), even after the leader died."""
    if not Path("/proc").is_dir():
        return [pgid] if _owns(pgid, endpoint_dir) else []
    leader = _proc_state_and_pgrp(pgid)
    if leader is not None and leader[0] != "Z" and not _owns(pgid, endpoint_dir):
        return []  # the pid was reused by another program: its group is not ours
    # With the leader gone, Linux does not hand its pid out as a new group id
    # while members of the old group live, so every member left is one of our
    # workers (multiprocessing children do not repeat the leader's arguments).
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        info = _proc_state_and_pgrp(int(entry.name))
        if info is not None and info[1] == pgid and info[0] != "Z":
            members.append(int(entry.name))
    return members


def probe_health(port: int, timeout: float = 1.0) -> bool:
    """GET / answers ``Healthy`` (Azure's liveness probe)."""
    import httpx

    try:
        response = httpx.get(f"http://{HOST}:{port}/", timeout=timeout, trust_env=False)
    except httpx.HTTPError:
        return False
    return response.status_code == 200 and "Healthy" in response.text


def tail(path: Path, lines: int) -> str:
    """The last ``lines`` lines of a text file ('' if it does not exist)."""
    if lines <= 0:
        return ""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return "".join(deque(fh, maxlen=lines))
    except FileNotFoundError:
        return ""


def start_server(
    endpoint_dir: Path,
    port: int,
    workers: int,
    timeout: float = DEFAULT_STARTUP_TIMEOUT,
) -> ServerProcess:
    """Start ``python -m automl_local.service`` for ``endpoint_dir``; wait until GET / is healthy.

    Raises ServiceError with the tail of ``server.log`` if the process exits
    or does not become healthy within ``timeout`` seconds (and stops it).
    """
    endpoint_dir = Path(endpoint_dir)
    log_path = endpoint_dir / SERVER_LOG
    cmd = [
        sys.executable, "-m", "automl_local.service",
        "--endpoint-dir", str(endpoint_dir),
        "--host", HOST,
        "--port", str(port),
        "--workers", str(workers),
    ]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    with open(log_path, "ab") as log:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        log.write(f"--- {stamp} starting: port {port}, {workers} worker(s)\n".encode())
        log.flush()
        proc = subprocess.Popen(
            cmd,
            cwd=endpoint_dir,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # own session: survives the CLI, one group to stop
        )
    _CHILDREN[proc.pid] = proc
    server = ServerProcess(pid=proc.pid, port=port)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            _CHILDREN.pop(proc.pid, None)
            raise ServiceError(
                f"the scoring server for {endpoint_dir.name!r} exited with code {proc.returncode} "
                f"during start-up. Last lines of {log_path}:\n{tail(log_path, 30)}"
            )
        if probe_health(port, timeout=0.5):
            return server
        time.sleep(0.05)
    stop_server(server.pid, endpoint_dir)
    raise ServiceError(
        f"the scoring server for {endpoint_dir.name!r} did not answer GET "
        f"http://{HOST}:{port}/ within {timeout:.0f} s (set AUTOML_LOCAL_STARTUP_TIMEOUT to "
        f"wait longer). Last lines of {log_path}:\n{tail(log_path, 30)}"
    )


def _signal_all(pids: list[int], sig: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def stop_server(pid: int | None, endpoint_dir: Path, grace: float = _STOP_GRACE_SECONDS) -> None:
    """Stop the server whose leader is ``pid`` and its workers: SIGTERM, then SIGKILL.

    Safe to call on a server that already died (its orphaned workers, which
    may still hold the port, are stopped too) or was never started.
    """
    if not pid:
        return
    pid = int(pid)
    endpoint_dir = Path(endpoint_dir)
    members = _group_members(pid, endpoint_dir)
    _signal_all(members, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        child = _CHILDREN.get(pid)
        if child is not None:
            child.poll()
        if not [m for m in members if _alive(m)]:
            break
        time.sleep(0.05)
    else:
        _signal_all([m for m in members if _alive(m)], signal.SIGKILL)
    child = _CHILDREN.pop(pid, None)
    if child is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=5)


def _alive(pid: int) -> bool:
    child = _CHILDREN.get(pid)
    if child is not None:
        return child.poll() is None
    info = _proc_state_and_pgrp(pid)
    if info is not None:
        return info[0] != "Z"
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True
