"""The control plane of a local workspace: published pipelines over HTTP, and the scheduler.

One server per workspace (``automl-local server start``), FastAPI on
127.0.0.1: it starts runs of published pipelines (batch-endpoint and
classic published-pipeline request forms, key auth), reports runs, and
fires due schedules from the state persisted in the workspace.

    from automl_local.service.control_plane import create_app
    app = create_app(".automl")          # for uvicorn, or fastapi.testclient
"""

from __future__ import annotations

from automl_local.service.control_plane._app import ControlPlaneError, create_app
from automl_local.service.control_plane._scheduler import Scheduler

__all__ = ["ControlPlaneError", "Scheduler", "create_app"]
