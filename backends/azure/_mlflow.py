"""The best trial of an Azure AutoML job, found as Azure's own samples find it.

Azure's samples point MLflow at the workspace's tracking URI
(``ml_client.workspaces.get(ws).mlflow_tracking_uri``), read the parent
run, and take its ``automl_best_child_run_id`` tag. That URI is
``azureml://<region>.api.azureml.ms/mlflow/v1.0/<workspace scope>``; behind
it is MLflow's REST API over HTTPS with the workspace's Entra ID token. The
``azureml-mlflow`` plugin that teaches the MLflow client this scheme is a
heavy dependency for one call, so the call is made here directly through an
azure-core pipeline: same credential, same transport as the ``MLClient``
(which is also what lets tests answer it).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from azure.core import PipelineClient
from azure.core.pipeline.policies import (
    BearerTokenCredentialPolicy,
    HeadersPolicy,
    RetryPolicy,
    UserAgentPolicy,
)
from azure.core.rest import HttpRequest

from automl_local.exceptions import NotFoundError

__all__ = ["ARM_SCOPE", "BEST_CHILD_TAG", "MlflowRunReader", "tracking_base_url"]

BEST_CHILD_TAG = "automl_best_child_run_id"
ARM_SCOPE = "https://management.azure.com/.default"


def tracking_base_url(tracking_uri: str) -> str:
    """``azureml://host/path`` (what the workspace reports) as ``https://host/path``."""
    if tracking_uri.startswith("azureml://"):
        return "https://" + tracking_uri[len("azureml://"):].rstrip("/")
    return tracking_uri.rstrip("/")


class MlflowRunReader:
    """Reads runs from an Azure ML workspace's MLflow tracking server."""

    def __init__(self, tracking_uri: str, credential: Any, transport: Any = None) -> None:
        self.base_url = tracking_base_url(tracking_uri)
        policies = [
            HeadersPolicy(),
            UserAgentPolicy(sdk_moniker="automl-local"),
            RetryPolicy(),
            BearerTokenCredentialPolicy(credential, ARM_SCOPE),
        ]
        self._client: PipelineClient[Any, Any] = PipelineClient(
            self.base_url, policies=policies, transport=transport
        )

    def get_run(self, run_id: str) -> dict[str, Any]:
        """``GET /api/2.0/mlflow/runs/get``: the run's info and data (tags as a list)."""
        request = HttpRequest(
            "GET", f"{self.base_url}/api/2.0/mlflow/runs/get?run_id={quote(run_id)}",
            headers={"Accept": "application/json"},
        )
        response = self._client.send_request(request)
        if response.status_code == 404:
            raise NotFoundError(
                f"MLflow run {run_id!r} was not found in the workspace's tracking store "
                f"({self.base_url}). Check the job name with `automl-local job show --name "
                f"{run_id} --backend azure`."
            )
        response.raise_for_status()
        return dict(response.json().get("run") or {})

    def tags(self, run_id: str) -> dict[str, str]:
        data = self.get_run(run_id).get("data") or {}
        return {t["key"]: t["value"] for t in data.get("tags") or []}

    def best_child_run_id(self, job_name: str) -> str:
        """The parent run's ``automl_best_child_run_id`` tag (set when trials finish)."""
        best = self.tags(job_name).get(BEST_CHILD_TAG)
        if not best:
            raise NotFoundError(
                f"AutoML job {job_name!r} has no {BEST_CHILD_TAG} tag yet: no trial has "
                f"finished (wait with `automl-local job stream --name {job_name} --backend "
                "azure`), or the job is not an AutoML job."
            )
        return best
