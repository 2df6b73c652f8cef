"""The local client's ``published_pipelines`` and ``control_plane`` operation groups.

Both backends have them, so the CLI says ``ml.published_pipelines.publish(...)``
or ``ml.control_plane.start()`` whatever the backend: here the control plane
is this workspace's server process (published pipelines over HTTP, the
scheduler); on Azure the service itself is the control plane, and those
methods say so (see ``backends.base.ControlPlaneOperations``).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from automl_local.backends.local.pipelines._control_plane import (
    control_plane_dir,
    ensure_server,
    get_keys,
    regenerate_key,
    server_state,
    server_url,
    start_server,
    stop_server,
)
from automl_local.backends.local.pipelines._published import (
    ENDPOINT,
    describe_published,
    publish_job,
)
from automl_local.backends.local.pipelines._schedules import KIND as SCHEDULE_KIND

from automl_local.processes import tail

__all__ = ["LocalControlPlaneOperations", "LocalPublishedPipelineOperations"]


class LocalPublishedPipelineOperations:
    """Publish a pipeline job behind a REST trigger; describe what was published."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def publish(
        self, job_name: str, name: str, *, description: str | None = None
    ) -> dict[str, Any]:
        """Endpoint ``name``, its deployment ``default`` built from pipeline job ``job_name``.

        Starts the control-plane server (unless ``AUTOML_LOCAL_SERVER_AUTOSTART=0``), as
        publishing on Azure makes the endpoint live; returns :meth:`describe`.
        """
        publish_job(self._client, job_name, name, description=description)
        ensure_server(self._client.workspace)
        return self.describe(name)

    def describe(self, name: str) -> dict[str, Any]:
        """URLs, deployments, source job and parameters of published pipeline ``name``."""
        return describe_published(self._client, name)


class LocalControlPlaneOperations:
    """The workspace's control-plane server: start, stop, status, logs, keys."""

    def __init__(self, client: Any) -> None:
        self._ws = client.workspace

    def start(self, *, port: int | None = None, missed_runs: str = "run_once") -> dict[str, Any]:
        """Start the server in the background, or return the running one's state.

        The state holds ``pid``, ``port``, ``url``, ``started_at``, ``missed_runs``
        and ``already_running``.
        """
        was_running = server_state(self._ws) is not None
        state = start_server(self._ws, port=port, missed_runs=missed_runs)
        return {**state, "already_running": was_running}

    def stop(self) -> bool:
        """Stop the server; True if one was running."""
        return stop_server(self._ws)

    def status(self) -> dict[str, Any]:
        """Whether the server runs, where, and what it serves."""
        state = server_state(self._ws)
        cat = self._ws.catalogue
        schedules = cat.list(SCHEDULE_KIND)
        started = state["started_at"] if state else None
        return {
            "running": state is not None,
            "url": state["url"] if state else None,
            "pid": state["pid"] if state else None,
            "started_at": dt.datetime.fromtimestamp(started, dt.UTC).isoformat()
            if started else None,
            "missed_runs": state.get("missed_runs") if state else None,
            "published_pipelines": len(cat.list(ENDPOINT)),
            "schedules_enabled": sum(1 for s in schedules if s.get("is_enabled")),
            "schedules_total": len(schedules),
            "log": str(self._log()),
        }  # fmt: skip

    def _log(self) -> Path:
        return control_plane_dir(self._ws) / "server.log"

    def logs(self, lines: int = 50) -> str | None:
        """The last ``lines`` lines of the server log; None if the server never ran."""
        path = self._log()
        return tail(path, lines) if path.exists() else None

    def url(self) -> str | None:
        """The running server's base URL, or None."""
        return server_url(self._ws)

    def get_keys(self) -> dict[str, str]:
        """``{"primary": ..., "secondary": ...}`` (created on first use)."""
        return get_keys(self._ws)

    def regenerate_key(self, key_type: str = "primary") -> dict[str, str]:
        """Replace one key; the running server accepts only the new one from now on."""
        return regenerate_key(self._ws, key_type)
