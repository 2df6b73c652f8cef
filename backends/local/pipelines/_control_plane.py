"""The control-plane server's process and keys: start, find, stop; create and rotate keys.

One control-plane server per workspace (``python -m automl_local.service.control_plane``,
FastAPI under uvicorn on 127.0.0.1) serves the published pipelines and fires
the schedules. It runs detached from the CLI in its own session, its log in
``<workspace>/control_plane/server.log``, its pid and port in the catalogue
(kind ``control_plane``, name ``server``), so any shell finds it.

Keys: two random keys (primary, secondary). The catalogue keeps only their
sha256 digests, which the server compares in constant time; the plaintext
is written once to ``control_plane/keys.json`` with owner-only permissions,
for ``automl-local server get-credentials``. Keys are never logged.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from automl_local.backends.local._servers import (
    DEFAULT_STARTUP_TIMEOUT,
    HOST,
    is_port_free,
    launch_server,
    pick_port,
)

from automl_local.exceptions import ConfigError, ServiceError
from automl_local.keys import key_digest, new_key
from automl_local.processes import is_alive, terminate
from automl_local.workspace import Workspace

__all__ = [
    "AUTOSTART_ENV",
    "HOST",
    "KEY_SLOTS",
    "MISSED_RUN_POLICIES",
    "control_plane_dir",
    "ensure_keys",
    "ensure_server",
    "get_keys",
    "key_digests",
    "regenerate_key",
    "server_state",
    "server_url",
    "start_server",
    "stop_server",
]

KIND = "control_plane"
STATE = "server"
KEYS = "keys"
KEY_SLOTS = ("primary", "secondary")
MISSED_RUN_POLICIES = ("run_once", "skip")
AUTOSTART_ENV = "AUTOML_LOCAL_SERVER_AUTOSTART"
_MODULE = "automl_local.service.control_plane"


def control_plane_dir(ws: Workspace) -> Path:
    folder = ws.root / "control_plane"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# ---------------------------------------------------------------------- keys


def _write_keys(ws: Workspace, keys: dict[str, str]) -> None:
    path = control_plane_dir(ws) / "keys.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(keys, fh)
    os.chmod(path, 0o600)
    ws.catalogue.put(KIND, KEYS, {f"{slot}_sha256": key_digest(k) for slot, k in keys.items()})


def ensure_keys(ws: Workspace) -> dict[str, str]:
    """The keys, created on first use."""
    path = control_plane_dir(ws) / "keys.json"
    if path.exists() and ws.catalogue.get(KIND, KEYS):
        return get_keys(ws)
    keys = {slot: new_key() for slot in KEY_SLOTS}
    _write_keys(ws, keys)
    return keys


def get_keys(ws: Workspace) -> dict[str, str]:
    path = control_plane_dir(ws) / "keys.json"
    if not path.exists():
        return ensure_keys(ws)
    return dict(json.loads(path.read_text()))


def regenerate_key(ws: Workspace, slot: str = "primary") -> dict[str, str]:
    """Replace one key; the running server sees the new digest on its next request."""
    if slot not in KEY_SLOTS:
        raise ConfigError(f"key type {slot!r} is not valid; use primary or secondary.")
    keys = get_keys(ws)
    keys[slot] = new_key()
    _write_keys(ws, keys)
    return keys


def key_digests(ws: Workspace) -> tuple[bytes, ...]:
    """The sha256 hex digests of the valid keys, as ASCII bytes (for hmac.compare_digest)."""
    record = ws.catalogue.get(KIND, KEYS) or {}
    return tuple(
        str(record[f"{slot}_sha256"]).encode("ascii")
        for slot in KEY_SLOTS
        if record.get(f"{slot}_sha256")
    )


# ---------------------------------------------------------------------- process


def _marker(ws: Workspace) -> tuple[str, str]:
    """What the command line of this workspace's control-plane server (only) holds."""
    return (_MODULE, str(ws.root))


def server_state(ws: Workspace) -> dict[str, Any] | None:
    """The running server's state (pid, port, url, started_at, policy), or None."""
    state = ws.catalogue.get(KIND, STATE)
    if not state or not is_alive(state.get("pid"), _marker(ws)):
        return None
    return state


def server_url(ws: Workspace) -> str | None:
    state = server_state(ws)
    return f"http://{HOST}:{state['port']}" if state else None


def start_server(
    ws: Workspace,
    *,
    port: int | None = None,
    missed_runs: str = "run_once",
    tick_seconds: float = 1.0,
    timeout: float = DEFAULT_STARTUP_TIMEOUT,
) -> dict[str, Any]:
    """Start the control-plane server in the background (or return the running one).

    ``port``: the port to use (default: the last one used, if free, so URLs
    stay the same across restarts; else any free port). ``missed_runs`` is
    the policy for schedule runs that fell due while no server was running:
    ``run_once`` (fire one run at start-up) or ``skip``.
    """
    if missed_runs not in MISSED_RUN_POLICIES:
        raise ConfigError(
            f"missed-runs policy {missed_runs!r} is not valid; use "
            f"{' or '.join(MISSED_RUN_POLICIES)}."
        )
    running = server_state(ws)
    if running:
        if port and int(port) != int(running["port"]):
            raise ServiceError(
                f"the control-plane server already runs on port {running['port']}; stop it first "
                "(automl-local server stop) to change the port."
            )
        return running
    previous = ws.catalogue.get(KIND, STATE) or {}
    if port:
        chosen = int(port)
        if not is_port_free(chosen):
            raise ServiceError(f"port {chosen} on {HOST} is in use; choose another --port.")
    else:
        last = previous.get("port")
        chosen = pick_port(int(last) if last else None)
    ensure_keys(ws)
    folder = control_plane_dir(ws)
    log_path = folder / "server.log"
    cmd = [
        sys.executable, "-m", _MODULE, "--workspace", str(ws.root), "--host", HOST,
        "--port", str(chosen), "--missed-runs", missed_runs, "--tick-seconds", str(tick_seconds),
    ]  # fmt: skip
    pid = launch_server(
        cmd, what="the control-plane server", cwd=folder, log_path=log_path, port=chosen,
        banner=f"port {chosen}", marker=_marker(ws), timeout=timeout,
    )  # fmt: skip
    state = {
        "pid": pid, "port": chosen, "url": f"http://{HOST}:{chosen}",
        "started_at": time.time(), "missed_runs": missed_runs, "log": str(log_path),
    }  # fmt: skip
    ws.catalogue.put(KIND, STATE, state)
    return state


def stop_server(ws: Workspace) -> bool:
    """Stop the running server; True if one was running."""
    state = server_state(ws)
    if not state:
        return False
    terminate(state["pid"], marker=_marker(ws))
    ws.catalogue.update(KIND, STATE, {"pid": None, "stopped_at": time.time()})
    return True


def ensure_server(ws: Workspace) -> dict[str, Any] | None:
    """Start the server unless it runs or ``AUTOML_LOCAL_SERVER_AUTOSTART=0``; its state or None.

    Publishing a pipeline, creating a batch endpoint and creating or
    enabling a schedule call this, as creating them on Azure makes them live.
    """
    running = server_state(ws)
    if running or os.environ.get(AUTOSTART_ENV, "1").strip().lower() in ("0", "false", "no"):
        return running
    return start_server(ws)
