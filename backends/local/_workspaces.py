"""``ml_client.workspaces`` for the local backend: workspace folders.

A local client works in one workspace (its folder); named workspaces live
beside each other in ``<root>/workspaces/<name>``. ``get`` returns Azure's
``Workspace`` entity with location ``local``, the client's resource group
(``local`` unless given) and ``mlflow_tracking_uri`` set to the folder's
MLflow store, so the notebook pattern
``mlflow.set_tracking_uri(ml_client.workspaces.get(name).mlflow_tracking_uri)``
shows this workspace's runs, experiments and registered models.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from automl_local.backends.local._errors import not_found

from automl_local.workspace import Workspace, default_workspace_path

__all__ = ["LocalWorkspaceOperations"]


class LocalWorkspaceOperations:
    """``get`` / ``list``: this client's workspace and the named ones beside it."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def _named_root(self) -> Path:
        """Where named workspaces live: ``<root>/workspaces/<name>``, as default_workspace_path."""
        here = self._client.workspace.root
        if here.parent.name == "workspaces":
            return here.parent
        return default_workspace_path().expanduser().resolve() / "workspaces"

    def _others(self) -> dict[str, Path]:
        folder = self._named_root()
        found = sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []
        return {p.name: p for p in found if p.name != self._client.workspace_name}

    def _entity(self, name: str, ws: Workspace) -> Any:
        from azure.ai.ml.entities import Workspace as WorkspaceEntity

        return WorkspaceEntity(
            name=name,
            location="local",
            resource_group=self._client.resource_group_name,
            display_name=name,
            description=f"automl-local workspace in {ws.root}",
            tags={"automl_local.root": str(ws.root)},
            mlflow_tracking_uri=ws.tracking_uri,
        )

    def get(self, name: str | None = None, **kwargs: Any) -> Any:
        """This workspace, or a named one beside it; Azure's not-found error otherwise."""
        if name in (None, self._client.workspace_name):
            return self._entity(self._client.workspace_name, self._client.workspace)
        others = self._others()
        if name in others:
            return self._entity(str(name), Workspace(others[str(name)]))
        raise not_found(
            "workspace",
            str(name),
            [self._client.workspace_name, *others],
            hint="A named workspace is created on first use (MLClient(..., workspace_name=N) "
            "or automl-local -w N).",
        )

    def list(self, *, scope: str = "resource_group", **kwargs: Any) -> Iterator[Any]:
        yield self.get()
        for name, folder in self._others().items():
            yield self._entity(name, Workspace(folder))
