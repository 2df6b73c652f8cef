"""What ``job.studio_url`` / ``job.services["Studio"]`` point at locally: the MLflow UI.

Azure's studio page of a job shows its run, metrics, children and outputs.
Locally the job is an MLflow run (job name = run id) in the workspace's
store, so its page is the MLflow UI's run page, ``<ui>/#/runs/<job name>``.
Start the UI over the workspace's store with::

    mlflow ui --backend-store-uri sqlite:///.automl/mlflow.db \\
        --default-artifact-root .automl/mlartifacts --host 127.0.0.1 --port 5000

Another address (port, host) is set with ``AUTOML_LOCAL_MLFLOW_UI``.
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["ENV_MLFLOW_UI", "studio_services", "studio_url"]

ENV_MLFLOW_UI = "AUTOML_LOCAL_MLFLOW_UI"
DEFAULT_UI = "http://127.0.0.1:5000"


def studio_url(run_id: str) -> str:
    base = (os.environ.get(ENV_MLFLOW_UI) or DEFAULT_UI).rstrip("/")
    return f"{base}/#/runs/{run_id}"


def studio_services(run_id: str) -> dict[str, Any]:
    """``job.services`` as Azure returns it: a ``Studio`` entry whose endpoint is the run page."""
    from azure.ai.ml.entities import JobService

    # Azure's service answers with the type "Studio", which the entity's own hint leaves out.
    return {"Studio": JobService(endpoint=studio_url(run_id), type="Studio")}  # type: ignore[arg-type]
