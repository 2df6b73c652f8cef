"""The local workspace: everything a job, model or endpoint leaves behind.

Layout under the root (default ``./.automl``, or ``AUTOML_LOCAL_WORKSPACE``)::

    mlflow.db            MLflow tracking + model registry (SQLite)
    mlartifacts/         MLflow artifacts
    catalogue.db         data assets, jobs, endpoints, deployments, schedules
    jobs/<name>/         spec.json, job.log, events.jsonl, trial files, outputs
    endpoints/<name>/    keys (owner-only), server state and logs

Deleting the folder is the reset.
"""

from __future__ import annotations

from automl_local.workspace._catalogue import Catalogue
from automl_local.workspace._workspace import Workspace, default_workspace_path

__all__ = ["Catalogue", "Workspace", "default_workspace_path"]
