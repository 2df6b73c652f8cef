"""A real scoring server for tests: `python -m automl_local.service` on 127.0.0.1, real HTTP.

Shared by the end-to-end test modules (server, request settings, OpenAPI,
browser), so each starts the server the way the process manager does.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 90.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class Server:
    def __init__(self, process: subprocess.Popen[bytes], url: str, endpoint: Any) -> None:
        self.process = process
        self.url = url
        self.endpoint = endpoint
        self.http = httpx.Client(base_url=url, timeout=30.0)

    def healthy(self) -> bool:
        if self.process.poll() is not None:
            out = self.process.stdout.read().decode() if self.process.stdout else ""
            raise AssertionError(f"server exited with {self.process.returncode}:\n{out}")
        try:
            return self.http.get("/", timeout=2.0).text == "Healthy"
        except httpx.HTTPError:
            return False

    def score(self, body: Any, key: str | None = None, **headers: str) -> httpx.Response:
        key = self.endpoint.primary_key if key is None else key
        return self.http.post("/score", json=body, headers=self.endpoint.headers(key, **headers))


@contextlib.contextmanager
def run_server(folder: Any, workers: int = 1) -> Iterator[Server]:
    """Serve the endpoint folder until the block ends; the whole process group is stopped."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "automl_local.service", "--endpoint-dir", str(folder.path)),
            *("--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, so cleanup reaches the workers
    )
    server = Server(process, f"http://127.0.0.1:{port}", folder)
    try:
        wait_until(server.healthy, STARTUP_TIMEOUT, "GET / to answer Healthy")
        yield server
    finally:
        server.http.close()
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError):  # workers left behind by a hung leader
            os.killpg(process.pid, signal.SIGKILL)
