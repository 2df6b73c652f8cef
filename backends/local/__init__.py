"""The local backend: azure-ai-ml entities in, the local engine and workspace behind."""

from __future__ import annotations

import os
from functools import cached_property
from typing import Any

from automl_local.backends.base import (
    BaseClient,
    ControlPlaneOperations,
    PublishedPipelineOperations,
)

from automl_local.workspace import Workspace

__all__ = ["LocalClient"]


class LocalClient(BaseClient):
    """``MLClient`` over a local workspace folder.

    Operation groups are built on first use, so a client that only lists
    jobs never imports the serving stack, and vice versa.
    """

    backend = "local"

    def __init__(
        self, workspace: str | os.PathLike[str] | Workspace | None = None, **_: Any
    ) -> None:
        self.workspace = workspace if isinstance(workspace, Workspace) else Workspace(workspace)

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
        from automl_local.backends.local.pipelines import LocalBatchEndpointOperations

        return LocalBatchEndpointOperations(self)

    @cached_property
    def batch_deployments(self) -> Any:
        from automl_local.backends.local.pipelines import LocalBatchDeploymentOperations

        return LocalBatchDeploymentOperations(self)

    @cached_property
    def schedules(self) -> Any:
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
