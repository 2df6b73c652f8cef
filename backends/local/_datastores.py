"""``ml_client.datastores`` for the local backend: folders of the workspace.

A workspace has its default store, ``workspaceblobstore``; its files live in
``<workspace>/datastores/workspaceblobstore/``. A datastore registered with
``create_or_update`` (an ``AzureBlobDatastore`` naming a storage account) is
recorded with its account and container, and its files live in
``<workspace>/datastores/<name>/``: nothing is read from Azure storage.
:func:`resolve_datastore_uri` maps ``azureml://datastores/<name>/paths/<p>``
(and the long ``azureml://subscriptions/.../datastores/<name>/paths/<p>``
form) to the file there.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from automl_local.backends.local._errors import not_found

from automl_local.exceptions import ConfigError

__all__ = ["DEFAULT_DATASTORE", "LocalDatastoreOperations", "resolve_datastore_uri"]

KIND = "datastore"
DEFAULT_DATASTORE = "workspaceblobstore"
_URI = re.compile(r"^azureml://(?:.*/)?datastores/(?P<name>[^/]+)/paths/(?P<path>.*)$")


def datastore_root(client: Any, name: str) -> Path:
    return Path(client.workspace.root) / "datastores" / name


def _names(client: Any) -> list[str]:
    return [DEFAULT_DATASTORE, *(r["name"] for r in client.workspace.catalogue.list(KIND))]


def _entity(client: Any, name: str) -> Any:
    from azure.ai.ml.entities import AzureBlobDatastore

    if name == DEFAULT_DATASTORE:
        record: dict[str, Any] = {"account_name": "local", "container_name": client.workspace_name}
    else:
        found = client.workspace.catalogue.get(KIND, name)
        if found is None:
            raise not_found("datastore", name, _names(client))
        record = found
    root = datastore_root(client, name)
    return AzureBlobDatastore(
        name=name,
        account_name=record.get("account_name") or "local",
        container_name=record.get("container_name") or name,
        description=record.get("description") or f"files in {root}",
        tags={**(record.get("tags") or {}), "automl_local.path": str(root)},
    )


def resolve_datastore_uri(client: Any, uri: str) -> Path:
    """The local file or folder an ``azureml://datastores/<name>/paths/<p>`` URI names."""
    match = _URI.match(uri.strip())
    if match is None:
        raise ConfigError(
            f"{uri!r} is not a datastore URI; expected azureml://datastores/<name>/paths/<path>."
        )
    name = match["name"]
    if name not in _names(client):
        raise not_found("datastore", name, _names(client))
    root = datastore_root(client, name).resolve()
    target = (root / match["path"]).resolve()
    if target != root and root not in target.parents:
        raise ConfigError(f"{uri!r} points outside datastore {name!r}.")
    return target


class LocalDatastoreOperations:
    """``get_default / get / list / create_or_update / delete``."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def get_default(self, *, include_secrets: bool = False) -> Any:
        return _entity(self._client, DEFAULT_DATASTORE)

    def get(self, name: str, *, include_secrets: bool = False) -> Any:
        return _entity(self._client, name)

    def list(self, *, include_secrets: bool = False) -> Iterator[Any]:
        for name in _names(self._client):
            yield _entity(self._client, name)

    def create_or_update(self, datastore: Any, **kwargs: Any) -> Any:
        if datastore.name == DEFAULT_DATASTORE:
            raise ConfigError(
                f"{DEFAULT_DATASTORE} is the workspace's own store; it is not replaced."
            )
        body = {
            "name": datastore.name,
            "type": str(getattr(datastore, "type", "")),
            "account_name": getattr(datastore, "account_name", None),
            "container_name": getattr(datastore, "container_name", None)
            or getattr(datastore, "file_share_name", None),
            "description": datastore.description,
            "tags": dict(datastore.tags or {}),
        }
        self._client.workspace.catalogue.put(KIND, datastore.name, body)
        datastore_root(self._client, datastore.name).mkdir(parents=True, exist_ok=True)
        return _entity(self._client, datastore.name)

    def delete(self, name: str) -> None:
        if name == DEFAULT_DATASTORE:
            raise ConfigError(f"{DEFAULT_DATASTORE} is the workspace's own store; it stays.")
        _entity(self._client, name)
        self._client.workspace.catalogue.delete(KIND, name)
