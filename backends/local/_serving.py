"""Endpoint state: the catalogue records, and making the running server match them.

The catalogue is the source of truth. An ``online_endpoint`` record holds the
traffic, the port, the server pid and ``served``: the deployments the server
runs, each with its model folder and settings. ``endpoint.json`` (what the
server reads) is derived from it. ``online_deployment`` records hold what the
user asked for and how it went (``provisioning_state``); a deployment whose
update failed stays ``Failed`` while its previous version keeps serving, as on
Azure.

:func:`converge` is the one place that decides between rewriting
``endpoint.json`` (traffic: the server picks it up live) and restarting the
process (models are loaded at start).
"""

from __future__ import annotations

import datetime as _dt
import time
from pathlib import Path
from typing import Any

from automl_local.backends.local import _servers
from automl_local.backends.local._endpoint_files import (
    DEFAULT_MAX_BODY_BYTES,
    folder_lock,
    write_endpoint_config,
)
from automl_local.backends.local._probes import wait_ready, with_azure_defaults

from automl_local.exceptions import NotFoundError, ServiceError
from automl_local.workspace import Workspace

__all__ = [
    "DEPLOYMENT_KIND",
    "ENDPOINT_KIND",
    "converge",
    "deployment_key",
    "deployment_records",
    "endpoint_config",
    "free_port",
    "is_running",
    "now",
    "require_deployment",
    "require_endpoint",
]

ENDPOINT_KIND = "online_endpoint"
DEPLOYMENT_KIND = "online_deployment"


def now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def deployment_key(endpoint_name: str, deployment_name: str) -> str:
    return f"{endpoint_name}/{deployment_name}"


def require_endpoint(ws: Workspace, name: str) -> dict[str, Any]:
    record = ws.catalogue.get(ENDPOINT_KIND, name)
    if record is None:
        known = ", ".join(r["name"] for r in ws.catalogue.list(ENDPOINT_KIND)) or "none"
        raise NotFoundError(
            f"online endpoint {name!r} was not found in workspace {str(ws.root)!r} "
            f"(endpoints: {known}). Create it with `automl-local online-endpoint create "
            f"--name {name}` or check --workspace."
        )
    return record


def deployment_records(ws: Workspace, endpoint_name: str) -> list[dict[str, Any]]:
    return [
        r for r in ws.catalogue.list(DEPLOYMENT_KIND) if r.get("endpoint_name") == endpoint_name
    ]


def require_deployment(ws: Workspace, name: str, endpoint_name: str) -> dict[str, Any]:
    require_endpoint(ws, endpoint_name)
    record = ws.catalogue.get(DEPLOYMENT_KIND, deployment_key(endpoint_name, name))
    if record is None:
        known = ", ".join(r["name"] for r in deployment_records(ws, endpoint_name)) or "none"
        raise NotFoundError(
            f"online deployment {name!r} was not found in endpoint {endpoint_name!r} "
            f"(deployments: {known}). Create it with `automl-local online-deployment create "
            f"--file deployment.yml --endpoint-name {endpoint_name}`."
        )
    return record


def is_running(ws: Workspace, endpoint: dict[str, Any]) -> bool:
    return _servers.is_server_alive(endpoint.get("pid"), ws.endpoint_dir(endpoint["name"]))


def endpoint_config(endpoint: dict[str, Any]) -> dict[str, Any]:
    """``endpoint.json`` for the server, from the endpoint record."""
    served = endpoint.get("served", {})
    return {
        "name": endpoint["name"],
        "auth_mode": "key",  # aml_token is served as a static bearer key locally
        "traffic": {d: p for d, p in endpoint.get("traffic", {}).items() if d in served and p},
        "mirror_traffic": {
            d: p for d, p in endpoint.get("mirror_traffic", {}).items() if d in served and p
        },
        "max_body_bytes": endpoint.get("max_body_bytes", DEFAULT_MAX_BODY_BYTES),
        "deployments": {
            name: {k: v for k, v in spec.items() if k != "instance_count"}
            for name, spec in served.items()
        },
    }


def _workers(served: dict[str, Any]) -> int:
    return max((int(s.get("instance_count") or 1) for s in served.values()), default=1)


def converge(
    ws: Workspace,
    endpoint_name: str,
    changes: dict[str, Any],
    *,
    force_restart: bool = False,
    timeout: float | None = None,
) -> dict[str, Any]:
    """Apply ``changes`` to the endpoint record and make the server match it.

    The server is restarted only when a deployment is added or changed (its
    model or settings), when ``force_restart`` is set, or when it is not
    running; a traffic change or a removed deployment is a rewrite of
    ``endpoint.json``, which the server reads live. If the new server
    does not come up, the previous record and server are restored and the
    ServiceError (with the log tail) propagates.
    """
    endpoint_dir = ws.endpoint_dir(endpoint_name)
    with folder_lock(endpoint_dir):
        old = require_endpoint(ws, endpoint_name)
        new = {**old, **changes, "updated_at": now()}
        before, after = old.get("served", {}), new.get("served", {})
        served_changed = before != after
        # Only a new or changed model needs a restart: a removed deployment
        # just leaves endpoint.json, and the server stops routing to it at once.
        loaded_changed = any(before.get(name) != spec for name, spec in after.items())
        alive = is_running(ws, old)
        restart = bool(after) and (force_restart or loaded_changed or not alive)
        if not new.get("served"):
            _servers.stop_server(old.get("pid"), endpoint_dir)
            new.update(pid=None, started_at=None)
        elif restart:
            try:
                new.update(_restart(ws, old, new, timeout))
            except ServiceError:
                if served_changed and old.get("served"):
                    _restore(ws, old, timeout)
                else:  # nothing served before (or the same set): leave it stopped
                    write_endpoint_config(endpoint_dir, endpoint_config(old))
                    ws.catalogue.put(ENDPOINT_KIND, endpoint_name, {**old, "pid": None})
                raise
        else:
            write_endpoint_config(endpoint_dir, endpoint_config(new))
        ws.catalogue.put(ENDPOINT_KIND, endpoint_name, new)
        return new


def _restart(
    ws: Workspace, old: dict[str, Any], new: dict[str, Any], timeout: float | None
) -> dict[str, Any]:
    """Stop the old server, write the new config, start on the same port if it is free."""
    endpoint_dir: Path = ws.endpoint_dir(new["name"])
    _servers.stop_server(old.get("pid"), endpoint_dir)
    write_endpoint_config(endpoint_dir, endpoint_config(new))
    # Workers of a stopped (or killed) server release the port a moment after they exit;
    # wait briefly for it, so the scoring URI survives a restart on a busy machine.
    deadline = time.monotonic() + _PORT_RELEASE_SECONDS
    while new.get("port") and not _servers.is_port_free(new["port"]):
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
    port = _servers.pick_port(new.get("port"), avoid=_other_ports(ws, new["name"]))
    workers = _workers(new["served"])
    logs = {name: _deployment_log(endpoint_dir, name) for name in new["served"]}
    offsets = {name: path.stat().st_size if path.exists() else 0 for name, path in logs.items()}
    server = _servers.start_server(
        endpoint_dir, port, workers, timeout or _servers.DEFAULT_STARTUP_TIMEOUT
    )
    failures = {
        name: excerpt for name, path in logs.items()
        if (excerpt := _load_failure(path, offsets[name]))
    }
    if failures:
        # The server stays up when one model fails (that deployment answers
        # 503), but a deployment whose model cannot load must fail its create.
        _servers.stop_server(server.pid, endpoint_dir)
        names = ", ".join(map(repr, failures))
        if all("\n" not in t.strip() for t in failures.values()):  # a script's one-line reason
            reasons = "; ".join(t[t.find(_LOAD_FAILURE_MARK):].strip() for t in failures.values())
            raise ServiceError(
                f"the model of {names} did not load: {reasons}. The traceback is in "
                "`automl-local online-deployment get-logs`."
            )
        details = "\n".join(f"deployment {n!r}:\n{text}" for n, text in failures.items())
        raise ServiceError(f"the model of {names} did not load:\n{details}")
    try:
        for name, spec in new["served"].items():
            if spec.get("readiness_probe") is not None:
                wait_ready(server.port, name, spec["readiness_probe"])
    except ServiceError:
        _servers.stop_server(server.pid, endpoint_dir)
        raise
    return {"pid": server.pid, "port": server.port, "workers": workers, "started_at": now()}


_PORT_RELEASE_SECONDS = 3.0

# Written by service/_app.py (ScoringRuntime._load) when a model fails to load, and by
# service/_script_children.py when a scoring script's server does not start.
_LOAD_FAILURE_MARK = "could not load model"


def _deployment_log(endpoint_dir: Path, name: str) -> Path:
    return endpoint_dir / "deployments" / name / "deployment.log"


def _load_failure(path: Path, offset: int) -> str:
    """The log lines of this start after a model load failure ('' if it loaded)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            fh.seek(offset)
            text = fh.read()
    except FileNotFoundError:
        return ""
    at = text.find(_LOAD_FAILURE_MARK)
    return "" if at < 0 else text[text.rfind("\n", 0, at) + 1:][:4000]


def _other_ports(ws: Workspace, name: str) -> set[int]:
    return {r["port"] for r in ws.catalogue.list(ENDPOINT_KIND) if r["name"] != name}


def free_port(ws: Workspace, name: str) -> int:
    """A port for a new endpoint: free now, and not the port of another endpoint."""
    return _servers.pick_port(avoid=_other_ports(ws, name))


def _restore(ws: Workspace, old: dict[str, Any], timeout: float | None) -> None:
    """Bring back what served before a failed change (best effort; the first error wins)."""
    endpoint_dir = ws.endpoint_dir(old["name"])
    try:
        old = {**old, **_restart(ws, {"pid": None}, old, timeout)}
    except ServiceError:
        old = {**old, "pid": None}
        write_endpoint_config(endpoint_dir, endpoint_config(old))
    ws.catalogue.put(ENDPOINT_KIND, old["name"], old)


def served_entry(record: dict[str, Any]) -> dict[str, Any]:
    """The ``endpoint.json`` entry (plus worker count) of a deployment record."""
    return {
        "model_dir": record["model_dir"],
        "model_name": record["model_name"],
        "model_version": record["model_version"],
        "app_insights_enabled": bool(record.get("app_insights_enabled")),
        "request_timeout_ms": int(record["request_timeout_ms"]),
        "max_concurrent_requests_per_instance": int(
            record["max_concurrent_requests_per_instance"]
        ),
        "environment_variables": dict(record.get("environment_variables") or {}),
        "instance_count": int(record.get("instance_count") or 1),
        "readiness_probe": record.get("readiness_probe"),
        "liveness_probe": with_azure_defaults(record.get("liveness_probe")),
        # A scripted deployment: what its azmlinfsrv child runs (backends/local/_scripted.py).
        "scoring_script": record.get("served_script"),
    }
