"""``AzureClient``: the backend that runs the same user code on Azure ML.

It wraps a real :class:`azure.ai.ml.MLClient`. Operation groups are
azure-ai-ml's own, with three kinds of additions: conversions where the
local backend is more lenient than Azure (local CSV data, the best model of
an AutoML job, a default compute), errors for user mistakes as automl-local's
typed exceptions (the CLI's exit 2 with a message), and a clear refusal of
options that only mean something locally.

Constructing it makes no network call: the workspace coordinates are read
from arguments, the environment or ``config.json``, and the credential is
only asked for a token by the first operation.
"""

from __future__ import annotations

import os
from functools import cached_property
from typing import Any

from automl_local.backends.azure._assets import AzureDataOperations, AzureModelOperations
from automl_local.backends.azure._batch import (
    AzureBatchDeploymentOperations,
    AzureBatchEndpointOperations,
)
from automl_local.backends.azure._config import (
    ENV_COMPUTE,
    WorkspaceRef,
    default_credential,
    resolve_workspace,
)
from automl_local.backends.azure._endpoints import (
    AzureOnlineDeploymentOperations,
    AzureOnlineEndpointOperations,
)
from automl_local.backends.azure._errors import GuardedGroup
from automl_local.backends.azure._jobs import AzureJobOperations
from automl_local.backends.azure._local_only import refuse_local_only
from automl_local.backends.azure._mlflow import MlflowRunReader
from automl_local.backends.azure._published import (
    AzureControlPlaneOperations,
    AzurePublishedPipelineOperations,
)
from automl_local.backends.azure._schedules import AzureScheduleOperations
from automl_local.backends.base import BaseClient

__all__ = ["AzureClient"]


class _Group(GuardedGroup):
    """A pass-through operation group (workspaces, components, compute, ...)."""

    def __init__(self, ops: Any, group: str) -> None:
        super().__init__(ops)
        self._group = group


class AzureClient(BaseClient):
    """``MLClient`` for one Azure ML workspace, shaped like the local client.

    Args:
        subscription_id, resource_group_name, workspace_name: the workspace;
            each defaults to ``AZURE_SUBSCRIPTION_ID`` / ``AZURE_RESOURCE_GROUP``
            / ``AZUREML_WORKSPACE_NAME``, then to ``config.json``.
        credential: any azure-core ``TokenCredential``; default
            ``DefaultAzureCredential()`` (``az login``, service principal
            environment variables, managed identity...).
        compute: compute target for jobs that name none (default
            ``AZUREML_COMPUTE``; without either, jobs run on serverless compute).
        config_path: a ``config.json`` (or the folder to search from).
        transport: an azure-core ``HttpTransport`` for every request the
            client sends. For tests (see :mod:`backends.azure.testing`).
        **kwargs: passed on to ``MLClient`` (``cloud=``, ``show_progress=``, ...).
    """

    backend = "azure"

    def __init__(
        self,
        subscription_id: str | None = None,
        resource_group_name: str | None = None,
        workspace_name: str | None = None,
        credential: Any = None,
        *,
        compute: str | None = None,
        config_path: str | os.PathLike[str] | None = None,
        transport: Any = None,
        **kwargs: Any,
    ) -> None:
        refuse_local_only("get_client('azure')", kwargs)
        kwargs.pop("workspace", None)
        from azure.ai.ml import MLClient

        self.ref: WorkspaceRef = resolve_workspace(
            subscription_id, resource_group_name, workspace_name, config_path=config_path
        )
        self.credential = credential if credential is not None else default_credential()
        self.transport = transport
        if transport is not None:
            kwargs["transport"] = transport
        self.default_compute = compute or os.environ.get(ENV_COMPUTE) or None
        self.ml_client = MLClient(
            self.credential, self.ref.subscription_id, self.ref.resource_group_name,
            self.ref.workspace_name, **kwargs,
        )

    def __repr__(self) -> str:
        return (f"AzureClient(subscription_id={self.ref.subscription_id!r}, "
                f"resource_group_name={self.ref.resource_group_name!r}, "
                f"workspace_name={self.ref.workspace_name!r})")

    @cached_property
    def jobs(self) -> AzureJobOperations:
        return AzureJobOperations(self)

    @cached_property
    def data(self) -> AzureDataOperations:
        return AzureDataOperations(self)

    @cached_property
    def models(self) -> AzureModelOperations:
        return AzureModelOperations(self)

    @cached_property
    def online_endpoints(self) -> AzureOnlineEndpointOperations:
        return AzureOnlineEndpointOperations(self)

    @cached_property
    def online_deployments(self) -> AzureOnlineDeploymentOperations:
        return AzureOnlineDeploymentOperations(self)

    @cached_property
    def schedules(self) -> AzureScheduleOperations:
        return AzureScheduleOperations(self)

    @cached_property
    def batch_endpoints(self) -> AzureBatchEndpointOperations:
        return AzureBatchEndpointOperations(self)

    @cached_property
    def batch_deployments(self) -> AzureBatchDeploymentOperations:
        return AzureBatchDeploymentOperations(self)

    @cached_property
    def published_pipelines(self) -> AzurePublishedPipelineOperations:
        """Publish a pipeline job as a batch endpoint; describe a published pipeline."""
        return AzurePublishedPipelineOperations(self)

    @cached_property
    def control_plane(self) -> AzureControlPlaneOperations:
        """The local control-plane server's group: every call says what to use on Azure."""
        return AzureControlPlaneOperations(self)

    def __getattr__(self, name: str) -> Any:
        """Every other ``MLClient`` group (``workspaces``, ``components``, ``compute``...)."""
        if name.startswith("_") or name in ("ml_client", "ref", "credential", "default_compute"):
            raise AttributeError(name)
        attr = getattr(self.ml_client, name)
        if type(attr).__name__.endswith("Operations"):
            return _Group(attr, name)
        return attr

    def create_or_update(self, entity: Any, **kwargs: Any) -> Any:
        """``MLClient.create_or_update``: jobs, models and data through this client's groups."""
        from azure.ai.ml.entities import Data, Job, Model

        if isinstance(entity, Job):
            return self.jobs.create_or_update(entity, **kwargs)
        if isinstance(entity, Model):
            return self.models.create_or_update(entity, **kwargs)
        if isinstance(entity, Data):
            return self.data.create_or_update(entity, **kwargs)
        return _Group(self.ml_client, "ml_client").create_or_update(entity, **kwargs)

    def begin_create_or_update(self, entity: Any, **kwargs: Any) -> Any:
        """``MLClient.begin_create_or_update``: the groups above, else ``MLClient``'s own.

        Schedules, endpoints and deployments go through this client's groups
        (so a schedule's job is prepared); anything else (a compute, a
        workspace...) is ``MLClient.begin_create_or_update`` with errors
        translated.
        """
        from azure.ai.ml.entities import (
            BatchDeployment,
            BatchEndpoint,
            Data,
            Job,
            JobSchedule,
            Model,
            OnlineDeployment,
            OnlineEndpoint,
        )

        handled = (JobSchedule, BatchEndpoint, BatchDeployment, OnlineEndpoint,
                   OnlineDeployment, Job, Model, Data)
        if isinstance(entity, handled):
            return super().begin_create_or_update(entity, **kwargs)
        return _Group(self.ml_client, "ml_client").begin_create_or_update(entity, **kwargs)

    def mlflow_runs(self) -> MlflowRunReader:
        """Reader of the workspace's MLflow runs (tracking URI asked of Azure once)."""
        if "_mlflow_runs" not in self.__dict__:
            workspace = _Group(self.ml_client.workspaces, "workspaces").get(
                self.ref.workspace_name)
            uri = workspace.mlflow_tracking_uri
            if not uri:
                from automl_local.exceptions import BackendConfigError

                raise BackendConfigError(
                    f"Azure did not report an MLflow tracking URI for {self.ref.describe()}; "
                    "the best model of an AutoML job is found through it. Check that the "
                    "workspace is an Azure ML workspace (not a hub or project)."
                )
            self.__dict__["_mlflow_runs"] = MlflowRunReader(uri, self.credential, self.transport)
        return self.__dict__["_mlflow_runs"]
