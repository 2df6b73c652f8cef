"""``published_pipelines`` and ``control_plane`` on Azure.

``published_pipelines.publish`` is Azure's v2 way to put a pipeline job behind
a REST trigger, in one call: a batch endpoint, a
``PipelineComponentBatchDeployment`` named ``default`` built from the job,
made the endpoint's default. ``describe`` reads back what a caller needs.

``control_plane`` is the local workspace's server process (published
pipelines over HTTP, the scheduler). On Azure the service itself plays that
part, so every method refuses with what to use instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn

from automl_local.exceptions import ConfigError, NotFoundError

if TYPE_CHECKING:
    from automl_local.backends.azure._client import AzureClient

__all__ = ["AzureControlPlaneOperations", "AzurePublishedPipelineOperations"]

DEFAULT_DEPLOYMENT = "default"


def _default_deployment(endpoint: Any) -> str | None:
    defaults = endpoint.defaults
    if isinstance(defaults, dict):
        return defaults.get("deployment_name")
    return getattr(defaults, "deployment_name", None)


class AzurePublishedPipelineOperations:
    """Publish a pipeline job as a batch endpoint; describe a published pipeline."""

    def __init__(self, client: AzureClient) -> None:
        self._client = client

    def publish(
        self, job_name: str, name: str, *, description: str | None = None
    ) -> dict[str, Any]:
        """Endpoint ``name`` (created if needed), deployment ``default`` from job ``job_name``."""
        from azure.ai.ml.entities import BatchEndpoint, PipelineComponentBatchDeployment

        endpoints = self._client.batch_endpoints
        try:
            endpoints.get(name)
        except NotFoundError:
            endpoints.begin_create_or_update(
                BatchEndpoint(name=name, description=description)
            ).result()
        deployment = PipelineComponentBatchDeployment(
            name=DEFAULT_DEPLOYMENT, endpoint_name=name, job_definition=job_name,  # type: ignore[arg-type]
            description=description or f"published from pipeline job {job_name}",
        )  # fmt: skip
        self._client.batch_deployments.begin_create_or_update(deployment).result()
        endpoint = endpoints.get(name)
        endpoint.defaults = {"deployment_name": DEFAULT_DEPLOYMENT}
        endpoints.begin_create_or_update(endpoint).result()
        return self.describe(name)

    def describe(self, name: str) -> dict[str, Any]:
        """Name, description, default deployment, deployments and the endpoint's URL."""
        endpoint = self._client.batch_endpoints.get(name)
        deployments = self._client.batch_deployments.list(endpoint_name=name)
        return {
            "name": endpoint.name, "description": endpoint.description,
            "default_deployment": _default_deployment(endpoint),
            "endpoint_url": endpoint.scoring_uri,
            "deployments": [d.name for d in deployments],
        }  # fmt: skip


_WHY = (
    "the control-plane server is local-only: it serves this machine's published pipelines "
    "and fires its schedules. On Azure the workspace does both itself"
)
_INSTEAD = {
    "start": "nothing to start; publish with `automl-local pipeline publish --backend azure` "
    "and create schedules with `automl-local schedule create --backend azure`",
    "stop": "nothing to stop; disable a schedule with `automl-local schedule disable "
    "--backend azure`, or delete an endpoint with `automl-local pipeline delete --backend azure`",
    "status": "see published pipelines with `automl-local pipeline list --backend azure` and "
    "schedules with `automl-local schedule list --backend azure`",
    "logs": "read a run's logs with `automl-local job stream --backend azure --name <run>` or "
    "in the studio",
    "url": "a published pipeline's URL is in `automl-local pipeline show --backend azure --name "
    "<name>`",
    "get_keys": "batch endpoints authenticate with an Entra ID token, not keys: "
    "`az account get-access-token --resource https://ml.azure.com`",
    "regenerate_key": "batch endpoints authenticate with an Entra ID token, not keys: "
    "`az account get-access-token --resource https://ml.azure.com`",
}


class AzureControlPlaneOperations:
    """Refuses every call: on Azure, the service is the control plane."""

    def __init__(self, client: AzureClient) -> None:
        self._client = client

    @staticmethod
    def _refuse(method: str) -> NoReturn:
        raise ConfigError(f"control_plane.{method}: {_WHY}; {_INSTEAD[method]}.")

    def start(self, *, port: int | None = None, missed_runs: str = "run_once") -> dict[str, Any]:
        self._refuse("start")

    def stop(self) -> bool:
        self._refuse("stop")

    def status(self) -> dict[str, Any]:
        self._refuse("status")

    def logs(self, lines: int = 50) -> str | None:
        self._refuse("logs")

    def url(self) -> str | None:
        self._refuse("url")

    def get_keys(self) -> dict[str, str]:
        self._refuse("get_keys")

    def regenerate_key(self, key_type: str = "primary") -> dict[str, str]:
        self._refuse("regenerate_key")
