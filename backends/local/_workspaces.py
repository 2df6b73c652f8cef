"""``ml_client.workspaces`` for the local backend: this client's workspace folder.

A local client has one workspace (its folder). ``get`` returns Azure's
``Workspace`` entity with location ``local``, the client's resource group
(``local`` unless given) and ``mlflow_tracking_uri`` set to the folder's
MLflow store, so the notebook pattern
``mlflow.set_tracking_uri(ml_client.workspaces.get(name).mlflow_tracking_uri)``
shows this workspace's runs, experiments and registered models.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from automl_local.backends.local._errors import not_found

__all__ = ["LocalWorkspaceOperations"]


class LocalWorkspaceOperations:
    """``get`` / ``list`` over the one local workspace."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def _entity(self) -> Any:
        from azure.ai.ml.entities import Workspace

        ws = self._client.workspace
        return Workspace(
            name=self._client.workspace_name,
            location="local",
            resource_group=self._client.resource_group_name,
            display_name=self._client.workspace_name,
            description=f"automl-local workspace in {ws.root}",
            tags={"automl_local.root": str(ws.root)},
            mlflow_tracking_uri=ws.tracking_uri,
        )

    def get(self, name: str | None = None, **kwargs: Any) -> Any:
        """This workspace (``name`` None or its name); Azure's not-found error otherwise."""
        if name not in (None, self._client.workspace_name):
            raise not_found(
                "workspace",
                str(name),
                [self._client.workspace_name],
                hint="A local client has one workspace: its folder (--workspace-dir or "
                "AUTOML_LOCAL_WORKSPACE selects another).",
            )
        return self._entity()

    def list(self, *, scope: str = "resource_group", **kwargs: Any) -> Iterator[Any]:
        yield self._entity()
