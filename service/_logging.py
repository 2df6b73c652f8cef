"""``E/deployments/<d>/deployment.log``: the deployment's console log and request log.

What ``online_deployments.get_logs`` shows. Two kinds of lines:

* text lines ``<UTC time> <LEVEL> [pid <n>] <message>`` for start-up (model
  loading, ready), errors with tracebacks, and shutdown, always written;
* one JSON object per request when the deployment has
  ``app_insights_enabled`` (Application Insights' role): time, request_id,
  endpoint, deployment, route, method, status, duration_ms,
  client_request_id, plus model, format, rows and, when payload logging is on
  (``AUTOML_LOG_PAYLOADS=1`` in the server's environment or the deployment's
  ``environment_variables``), input and output.

Several worker processes append to the same file: it is opened with
``O_APPEND`` and every line (a traceback included) goes out in one
``os.write``, which the kernel appends atomically. Headers are never logged,
so neither keys nor the Authorization header can end up here.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["MAX_LOGGED_PAYLOAD_BYTES", "PAYLOAD_ENV", "DeploymentLog", "payload_logging_enabled"]

PAYLOAD_ENV = "AUTOML_LOG_PAYLOADS"
#: Inputs/outputs bigger than this (as JSON) are logged as a size note, not in full.
MAX_LOGGED_PAYLOAD_BYTES = 64 * 1024
_TRUE = ("1", "true", "yes", "on")


def payload_logging_enabled(environment_variables: Mapping[str, str]) -> bool:
    """Payload logging is on if the deployment's or the server's environment says so."""
    value = environment_variables.get(PAYLOAD_ENV)
    if value is None:
        value = os.environ.get(PAYLOAD_ENV, "")
    return value.strip().lower() in _TRUE


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _bounded(value: Any) -> Any:
    """``value`` itself, or a note of its size when it is too big to log."""
    text = json.dumps(value, separators=(",", ":"), default=str)
    if len(text) <= MAX_LOGGED_PAYLOAD_BYTES:
        return value
    return {"truncated": True, "json_bytes": len(text)}


class DeploymentLog:
    """Append-only writer of one deployment's log file, safe across processes."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd: int | None = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._lock = threading.Lock()

    def _write(self, text: str) -> None:
        data = text.encode("utf-8", "replace")
        with self._lock:
            if self._fd is None:
                return
            os.write(self._fd, data)

    def line(self, message: str, level: str = "INFO") -> None:
        """A text line (several lines for a traceback), written in one piece."""
        body = message.rstrip("\n").replace("\n", "\n    ")
        self._write(f"{_now()} {level} [pid {os.getpid()}] {body}\n")

    def request(self, record: dict[str, Any], *, payload: Any = None, output: Any = None) -> None:
        """One JSON line for one request; ``payload``/``output`` only if given (opt-in)."""
        entry = {"time": _now(), **record}
        if payload is not None:
            entry["input"] = _bounded(payload)
        if output is not None:
            entry["output"] = _bounded(output)
        self._write(json.dumps(entry, separators=(",", ":"), default=str) + "\n")

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
