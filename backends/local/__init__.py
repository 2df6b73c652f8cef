"""The local backend: azure-ai-ml entities in, the local engine and workspace behind."""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from automl_local.backends.base import (
    BaseClient,
    ControlPlaneOperations,
    PublishedPipelineOperations,
)

if TYPE_CHECKING:
    from automl_local.backends.local._data import LocalDataOperations
    from automl_local.backends.local._deployments import LocalOnlineDeploymentOperations
    from automl_local.backends.local._endpoints import LocalOnlineEndpointOperations
    from automl_local.backends.local._jobs import LocalJobOperations
    from automl_local.backends.local._models import LocalModelOperations
    from automl_local.backends.local.pipelines import (
        LocalBatchDeploymentOperations,
        LocalBatchEndpointOperations,
        LocalScheduleOperations,
    )
from automl_local.backends.workspace_config import CONFIG_FILE, find_config, read_config

from automl_local.exceptions import BackendConfigError, ConfigError
from automl_local.workspace import Workspace, default_workspace_path

__all__ = [
    "DEFAULT_WORKSPACE_NAME",
    "LOCAL_RESOURCE_GROUP",
    "LOCAL_SUBSCRIPTION",
    "LocalClient",
    "MLClient",
]

#: What ``workspace_name``, ``subscription_id`` and ``resource_group_name`` read back as when
#: a local client is built without them.
DEFAULT_WORKSPACE_NAME = "local"
LOCAL_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
LOCAL_RESOURCE_GROUP = "local"


# MLClient keyword arguments that configure its HTTP pipeline or the cloud it talks to. They
# are accepted so Azure code runs unchanged, and mean nothing for a local workspace (the
# README's operation-group table says so). Any other keyword is a TypeError, as a typo such as
# ``worksapce=`` must not silently create a workspace somewhere else.
AZURE_ONLY_KWARGS = frozenset({
    "cloud", "cloud_metadata", "user_agent", "show_progress", "enable_telemetry",
    "logging_enable", "retry_total", "connection_timeout", "read_timeout", "transport",
    "workspace_location",
})


class LocalClient(BaseClient):
    """``MLClient`` over a local workspace folder.

    The folder is ``workspace`` (or ``workspace_dir``) when given; otherwise a named
    workspace (``workspace_name``) lives in ``<root>/workspaces/<name>`` and an unnamed one is
    the root itself (``$AUTOML_LOCAL_WORKSPACE`` or ``./.automl``). The subscription, resource
    group and credential are recorded, so code that reads them back works, and used for
    nothing else. Operation groups are built on first use, so a client that only lists jobs
    never imports the serving stack, and vice versa.
    """

    backend = "local"

    def __init__(
        self,
        workspace: str | os.PathLike[str] | Workspace | None = None,
        *,
        workspace_dir: str | os.PathLike[str] | None = None,
        credential: Any = None,
        subscription_id: str | None = None,
        resource_group_name: str | None = None,
        workspace_name: str | None = None,
        registry_name: str | None = None,
        **kwargs: Any,
    ) -> None:
        unknown = sorted(set(kwargs) - AZURE_ONLY_KWARGS)
        if unknown:
            raise TypeError(
                f"LocalClient() got unexpected keyword argument(s): {', '.join(unknown)}. "
                "It takes MLClient's arguments (credential, subscription_id, "
                "resource_group_name, workspace_name) plus workspace= / workspace_dir= "
                "(the local workspace folder)."
            )
        if registry_name is not None:
            raise ConfigError(
                f"registry_name={registry_name!r}: Azure ML registries are not emulated "
                "locally; register models, environments and components in the workspace "
                "(drop registry_name, or use --backend azure for the registry)."
            )
        if workspace is not None and workspace_dir is not None:
            raise TypeError("give the local workspace folder once: workspace= or workspace_dir=")
        folder = workspace if workspace is not None else workspace_dir
        if isinstance(folder, Workspace):
            self.workspace = folder
        else:
            self.workspace = Workspace(
                folder if folder is not None else default_workspace_path(workspace_name)
            )
        self.workspace_name = workspace_name or DEFAULT_WORKSPACE_NAME
        self.subscription_id = subscription_id or LOCAL_SUBSCRIPTION
        self.resource_group_name = resource_group_name or LOCAL_RESOURCE_GROUP
        self.credential = credential

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(workspace={str(self.workspace.root)!r}, "
            f"workspace_name={self.workspace_name!r})"
        )

    @cached_property
    def jobs(self) -> LocalJobOperations:
        from automl_local.backends.local._jobs import LocalJobOperations

        return LocalJobOperations(self)

    @cached_property
    def data(self) -> LocalDataOperations:
        from automl_local.backends.local._data import LocalDataOperations

        return LocalDataOperations(self)

    @cached_property
    def models(self) -> LocalModelOperations:
        from automl_local.backends.local._models import LocalModelOperations

        return LocalModelOperations(self)

    @cached_property
    def online_endpoints(self) -> LocalOnlineEndpointOperations:
        from automl_local.backends.local._endpoints import LocalOnlineEndpointOperations

        return LocalOnlineEndpointOperations(self)

    @cached_property
    def online_deployments(self) -> LocalOnlineDeploymentOperations:
        from automl_local.backends.local._deployments import LocalOnlineDeploymentOperations

        return LocalOnlineDeploymentOperations(self)

    @cached_property
    def batch_endpoints(self) -> LocalBatchEndpointOperations:
        from automl_local.backends.local.pipelines import LocalBatchEndpointOperations

        return LocalBatchEndpointOperations(self)

    @cached_property
    def batch_deployments(self) -> LocalBatchDeploymentOperations:
        from automl_local.backends.local.pipelines import LocalBatchDeploymentOperations

        return LocalBatchDeploymentOperations(self)

    @cached_property
    def schedules(self) -> LocalScheduleOperations:
        from automl_local.backends.local.pipelines import LocalScheduleOperations

        return LocalScheduleOperations(self)

    @cached_property
    def published_pipelines(self) -> PublishedPipelineOperations:
        """Publish a pipeline job behind a REST trigger; describe a published pipeline."""
        from automl_local.backends.local.pipelines import LocalPublishedPipelineOperations

        return LocalPublishedPipelineOperations(self)

    @cached_property
    def control_plane(self) -> ControlPlaneOperations:
        """This workspace's control-plane server: start, stop, status, logs, keys."""
        from automl_local.backends.local.pipelines import LocalControlPlaneOperations

        return LocalControlPlaneOperations(self)

    @cached_property
    def workspaces(self) -> Any:
        from automl_local.backends.local._workspaces import LocalWorkspaceOperations

        return LocalWorkspaceOperations(self)

    @cached_property
    def compute(self) -> Any:
        from automl_local.backends.local._compute import LocalComputeOperations

        return LocalComputeOperations(self)

    @cached_property
    def environments(self) -> Any:
        from automl_local.backends.local._environments import LocalEnvironmentOperations

        return LocalEnvironmentOperations(self)

    @cached_property
    def components(self) -> Any:
        from automl_local.backends.local._components import LocalComponentOperations

        return LocalComponentOperations(self)

    @cached_property
    def datastores(self) -> Any:
        from automl_local.backends.local._datastores import LocalDatastoreOperations

        return LocalDatastoreOperations(self)

    def create_or_update(self, entity: Any, **kwargs: Any) -> Any:
        """``MLClient.create_or_update``: jobs, models, data, environments, components..."""
        from automl_local.backends.local._dispatch import create_or_update

        return create_or_update(self, entity, **kwargs)

    def begin_create_or_update(self, entity: Any, **kwargs: Any) -> Any:
        """``MLClient.begin_create_or_update``: computes here, the rest as ``BaseClient`` does."""
        from automl_local.backends.local._dispatch import begin_create_or_update

        poller = begin_create_or_update(self, entity, **kwargs)
        return poller if poller is not None else super().begin_create_or_update(entity, **kwargs)


class MLClient(LocalClient):
    """``azure.ai.ml.MLClient``'s constructor, over a local workspace.

    ``MLClient(credential, subscription_id, resource_group_name, workspace_name)`` as in
    Azure's notebooks; ``workspace_dir=`` picks the folder explicitly. The workspace name
    selects the local workspace (``<root>/workspaces/<name>``), so the CLI's
    ``-w/--workspace-name`` and this client meet in the same place.
    """

    def __init__(
        self,
        credential: Any = None,
        subscription_id: str | None = None,
        resource_group_name: str | None = None,
        workspace_name: str | None = None,
        registry_name: str | None = None,
        *,
        workspace_dir: str | os.PathLike[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            workspace_dir=workspace_dir,
            credential=credential,
            subscription_id=subscription_id,
            resource_group_name=resource_group_name,
            workspace_name=workspace_name,
            registry_name=registry_name,
            **kwargs,
        )

    @classmethod
    def from_config(
        cls,
        credential: Any = None,
        *,
        path: str | os.PathLike[str] | None = None,
        file_name: str | None = None,
        **kwargs: Any,
    ) -> MLClient:
        """``MLClient.from_config``: the workspace named by ``config.json``.

        Searched as Azure searches it (``path`` or the current folder and its parents, also
        in ``.azureml/``). Without one it raises, as Azure does, so the notebooks'
        ``try: MLClient.from_config(...) except Exception: MLClient(...)`` fallback works.
        """
        start = Path(path) / file_name if path is not None and file_name else path
        found = find_config(start)
        if found is None:
            raise BackendConfigError(
                f"no {file_name or CONFIG_FILE} was found in {Path(path or '.').resolve()} or "
                "its parents (also looked in .azureml/ and aml_config/). Put the workspace's "
                "config.json there, or build the client with MLClient(credential, "
                "subscription_id, resource_group_name, workspace_name)."
            )
        data = read_config(found)
        return cls(
            credential,
            data.get("subscription_id"),
            data.get("resource_group"),
            data.get("workspace_name"),
            **kwargs,
        )
