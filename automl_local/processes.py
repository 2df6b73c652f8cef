"""Detached processes: start one, tell whether it still runs, stop it, read its log.

Jobs, pipeline runs, command nodes, scoring servers and the control-plane
server all run as processes that must outlive the command that started
them (as work on Azure outlives ``az ml``): each runs in its own session
(so one signal reaches it and its children, and a Ctrl-C in the CLI does
not), with stdout and stderr appended to a log file. A later command finds
it again by the pid kept in the catalogue, and checks that the pid still
belongs to it by a *marker* (arguments its command line must hold), so a
recycled pid is never taken for ours, nor signalled.

Built on psutil rather than ``/proc``, so it works on macOS too; process
groups are POSIX (on Windows, the process and its children are stopped).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections import deque
from collections.abc import Mapping, Sequence
from pathlib import Path

import psutil

__all__ = [
    "DEFAULT_GRACE_SECONDS",
    "is_alive",
    "kill_group",
    "spawn_detached",
    "tail",
    "terminate",
]

DEFAULT_GRACE_SECONDS = 10.0
_POLL_SECONDS = 0.05
# Processes started by this Python process: ``Popen.poll`` reaps them, so one that
# exited while we are its parent is not mistaken for a live zombie.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def spawn_detached(
    cmd: Sequence[str],
    *,
    log_path: str | os.PathLike[str],
    cwd: str | os.PathLike[str],
    env: Mapping[str, str] | None = None,
    banner: str | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``cmd`` in a new session, stdin closed, stdout and stderr appended to ``log_path``.

    ``env`` replaces the environment (default: this one). ``banner`` is
    written to the log first (a start-up line, so restarts can be told apart).
    """
    with open(log_path, "ab") as log:
        if banner:
            log.write(f"{banner.rstrip()}\n".encode())
            log.flush()
        proc = subprocess.Popen(
            list(cmd),
            cwd=str(cwd),
            env=dict(env) if env is not None else None,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # survives the caller; one group to signal
        )
    _CHILDREN[proc.pid] = proc
    return proc


def _reaped(pid: int) -> bool:
    """True if ``pid`` is a child of ours that has exited (and is now reaped)."""
    child = _CHILDREN.get(pid)
    if child is None or child.poll() is None:
        return False
    _CHILDREN.pop(pid, None)
    return True


def _running(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def _matches(proc: psutil.Process, marker: Sequence[str]) -> bool:
    """Every string of ``marker`` is one argument of the process's command line."""
    try:
        args = proc.cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return False
    return all(m in args for m in marker)


def is_alive(pid: int | str | None, marker: Sequence[str] = ()) -> bool:
    """True while process ``pid`` runs (not a zombie) and its command line holds ``marker``.

    Without a marker only the pid is checked: use that only for processes
    whose command line is not known (a user's shell command).
    """
    if not pid:
        return False
    pid = int(pid)
    if _reaped(pid):
        return False
    try:
        proc = psutil.Process(pid)
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False
    return _running(proc) and (not marker or _matches(proc, marker))


def _group(pid: int) -> list[psutil.Process]:
    """The live processes of the session ``pid`` leads, even after the leader itself exited.

    With the leader gone, POSIX does not hand its pid out as a new group id
    while members of the old group live, so every member left is one of ours.
    """
    if not hasattr(os, "getpgid"):  # Windows: no process groups; the leader and its children
        try:
            leader = psutil.Process(pid)
            return [leader, *leader.children(recursive=True)]
        except psutil.Error:
            return []
    members = []
    for proc in psutil.process_iter():
        with contextlib.suppress(ProcessLookupError, PermissionError, OSError):
            if os.getpgid(proc.pid) == pid and _running(proc):
                members.append(proc)
    return members


def _signal(procs: list[psutil.Process], sig: int) -> None:
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            proc.send_signal(sig)


def kill_group(pid: int | str | None) -> None:
    """SIGKILL every process of the group ``pid`` leads, at once (no marker, no grace)."""
    if pid:
        _signal(_group(int(pid)), getattr(signal, "SIGKILL", signal.SIGTERM))
        _reaped(int(pid))


def terminate(
    pid: int | str | None,
    *,
    marker: Sequence[str] = (),
    grace: float = DEFAULT_GRACE_SECONDS,
    leader_only: bool = False,
) -> bool:
    """Stop process ``pid`` and its group: SIGTERM, up to ``grace`` seconds, then SIGKILL.

    ``marker``: arguments the leader's command line must hold, or nothing is
    signalled (a recycled pid). A leader that already died is fine: the
    members of its group left behind (which may still hold a port) are
    stopped. ``leader_only``: SIGTERM goes to the leader alone, which then
    stops its own children as it sees fit (a job runner cancels its trials),
    and only the leader is waited for; if it outlives the grace period,
    SIGKILL still goes to the whole group.
    Returns True if anything was signalled.
    """
    if not pid:
        return False
    pid = int(pid)
    leader_alive = is_alive(pid)
    if leader_alive and marker and not is_alive(pid, marker):
        return False  # the pid now belongs to another program
    members = _group(pid)
    leader = [m for m in members if m.pid == pid]
    if leader_alive and not leader:
        with contextlib.suppress(psutil.Error):
            leader = [psutil.Process(pid)]
            members.append(leader[0])
    if not members:
        return False
    _signal(leader if leader_only and leader else members, signal.SIGTERM)
    watched = leader if leader_only and leader else members
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        _reaped(pid)
        if not any(_running(m) for m in watched):
            break
        time.sleep(_POLL_SECONDS)
    else:
        _signal([m for m in members if _running(m)], getattr(signal, "SIGKILL", signal.SIGTERM))
    child = _CHILDREN.pop(pid, None)
    if child is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=5)
    return True


def tail(path: str | os.PathLike[str] | None, lines: int = 20) -> str:
    """The last ``lines`` lines of a text file ('' if there is none)."""
    if not path or lines <= 0:
        return ""
    try:
        with open(Path(path), encoding="utf-8", errors="replace") as fh:
            return "".join(deque(fh, maxlen=lines))
    except OSError:
        return ""
