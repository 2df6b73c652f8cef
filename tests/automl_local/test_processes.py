"""The process module, with real subprocesses: spawn detached, liveness by marker, stop, tail."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from automl_local.processes import is_alive, kill_group, spawn_detached, tail, terminate

# A child that prints, starts a grandchild in its own group, and sleeps; SIGTERM is ignored
# when IGNORE_TERM is set (a process that will not stop politely).
CHILD = """
import os, signal, subprocess, sys, time
if os.environ.get("IGNORE_TERM"):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
print("started", grandchild.pid, flush=True)
time.sleep(60)
"""


def wait_for(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def start(tmp_path: Path, *, env: dict[str, str] | None = None) -> tuple[int, int, Path]:
    """Spawn CHILD; return (its pid, its grandchild's pid, the log path)."""
    log = tmp_path / "child.log"
    proc = spawn_detached(
        [sys.executable, "-c", CHILD, "--marker", str(tmp_path)],
        log_path=log, cwd=tmp_path, env=env, banner="--- starting",
    )  # fmt: skip
    wait_for(lambda: "started" in log.read_text())
    grandchild = int(log.read_text().split("started ")[1].split()[0])
    return proc.pid, grandchild, log


def test_spawned_process_is_detached_logged_and_alive_only_with_its_marker(
    tmp_path: Path,
) -> None:
    pid, grandchild, log = start(tmp_path)
    try:
        assert log.read_text().startswith("--- starting\nstarted ")
        assert os.getsid(pid) == pid != os.getsid(0)  # its own session, not ours
        assert os.getpgid(grandchild) == pid
        assert is_alive(pid) and is_alive(pid, ("--marker", str(tmp_path)))
        assert not is_alive(pid, ("--marker", str(tmp_path / "other")))  # not this one's
        assert not is_alive(None) and not is_alive(0)
    finally:
        terminate(pid, grace=5)
    assert not is_alive(pid)


def test_terminate_stops_the_whole_group_and_refuses_a_foreign_marker(tmp_path: Path) -> None:
    pid, grandchild, _ = start(tmp_path)
    assert terminate(pid, marker=("--marker", "/elsewhere")) is False  # a recycled pid: untouched
    assert is_alive(pid) and psutil.pid_exists(grandchild)
    assert terminate(pid, marker=("--marker", str(tmp_path)), grace=5) is True
    assert not is_alive(pid)
    wait_for(lambda: not is_alive(grandchild))
    assert terminate(pid) is False  # nothing left to stop


def test_terminate_kills_after_the_grace_period(tmp_path: Path) -> None:
    pid, grandchild, _ = start(tmp_path, env=dict(os.environ, IGNORE_TERM="1"))
    started = time.monotonic()
    assert terminate(pid, grace=0.5) is True
    assert 0.5 <= time.monotonic() - started < 5
    assert not is_alive(pid)
    wait_for(lambda: not is_alive(grandchild))


def test_terminate_leader_only_leaves_the_children_to_the_leader(tmp_path: Path) -> None:
    pid, grandchild, _ = start(tmp_path)
    try:
        terminate(pid, grace=5, leader_only=True)
        assert not is_alive(pid)
        assert is_alive(grandchild)  # the leader was asked to stop, not its group
    finally:
        kill_group(pid)  # the orphaned group member: stopped by group id after the leader died
    wait_for(lambda: not is_alive(grandchild))


def test_a_process_that_exited_is_not_alive_before_it_is_reaped(tmp_path: Path) -> None:
    proc = spawn_detached([sys.executable, "-c", "pass"], log_path=tmp_path / "l", cwd=tmp_path)
    wait_for(lambda: not is_alive(proc.pid))
    assert proc.returncode == 0


@pytest.mark.parametrize(("lines", "expected"), [(2, "c\nd\n"), (10, "a\nb\nc\nd\n"), (0, "")])
def test_tail(tmp_path: Path, lines: int, expected: str) -> None:
    path = tmp_path / "log.txt"
    path.write_text("a\nb\nc\nd\n")
    assert tail(path, lines) == expected
    assert tail(tmp_path / "missing.txt", 3) == "" and tail(None) == ""
