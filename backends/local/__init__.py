"""The local backend: azure-ai-ml entities in, the local engine and workspace behind."""

from __future__ import annotations

import os
from functools import cached_property
from typing import Any

from automl_local.backends.base import BaseClient

from automl_local.workspace import Workspace

__all__ = ["LocalClient"]


class LocalClient(BaseClient):
    """``MLClient`` over a local workspace folder.

    Operation groups are built on first use, so a client that only lists
    jobs never imports the serving stack, and vice versa.
    """

    backend = "local"

    def __init__(
        self,
        workspace: str | os.PathLike[str] | Workspace | None = None,
        *,
        workspace_name: str | None = None,
        resource_group_name: str | None = None,
        subscription_id: str | None = None,
        **_: Any,
    ) -> None:
        self.workspace = workspace if isinstance(workspace, Workspace) else Workspace(workspace)
        # Azure's coordinates, as MLClient keeps them; locally they only label the workspace.
        self.workspace_name = workspace_name or self.workspace.root.name.lstrip(".") or "local"
        self.resource_group_name = resource_group_name or "local"
        self.subscription_id = subscription_id or "local"

    def __repr__(self) -> str:
        return f"LocalClient(workspace={str(self.workspace.root)!r})"

    @cached_property
    def jobs(self) -> Any:  # type: ignore[override]
        from automl_local.backends.local._jobs import LocalJobOperations

        return LocalJobOperations(self)

    @cached_property
    def data(self) -> Any:  # type: ignore[override]
        from automl_local.backends.local._data import LocalDataOperations

        return LocalDataOperations(self)

    @cached_property
    def models(self) -> Any:  # type: ignore[override]
        from automl_local.backends.local._models import LocalModelOperations

        return LocalModelOperations(self)

    @cached_property
    def online_endpoints(self) -> Any:  # type: ignore[override]
        from automl_local.backends.local._endpoints import LocalOnlineEndpointOperations

        return LocalOnlineEndpointOperations(self)

    @cached_property
    def online_deployments(self) -> Any:  # type: ignore[override]
        from automl_local.backends.local._deployments import LocalOnlineDeploymentOperations

        return LocalOnlineDeploymentOperations(self)

    @cached_property
    def batch_endpoints(self) -> Any:
        from automl_local.backends.local._batch import LocalBatchEndpointOperations

        return LocalBatchEndpointOperations(self)

    @cached_property
    def batch_deployments(self) -> Any:
        from automl_local.backends.local._batch import LocalBatchDeploymentOperations

        return LocalBatchDeploymentOperations(self)

    @cached_property
    def schedules(self) -> Any:
        from automl_local.backends.local._schedules import LocalScheduleOperations

        return LocalScheduleOperations(self)

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
