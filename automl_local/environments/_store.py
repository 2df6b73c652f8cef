"""Registered environments in the workspace catalogue (kind ``environment``).

One record per ``name:version``: the conda file as a dict, pip requirements,
the image, description, tags and an ``archived`` flag. ``latest`` is the most
recently created version that is not archived, as Azure's label resolves.
The backend's ``ml_client.environments`` and the resolver here share these
functions, so the record shape has one home.
"""

from __future__ import annotations

import time
from typing import Any, cast

from automl_local.exceptions import NotFoundError
from automl_local.workspace import Workspace

__all__ = [
    "KIND",
    "archive_environment",
    "get_environment_record",
    "list_environment_records",
    "next_version",
    "save_environment",
]

KIND = "environment"


def save_environment(workspace: Workspace, record: dict[str, Any]) -> dict[str, Any]:
    """Store (or replace) ``record['name']:record['version']``; returns the stored body."""
    body = {
        "archived": False,
        "created_at": time.time(),
        **record,
        "name": str(record["name"]),
        "version": str(record["version"]),
    }
    workspace.catalogue.put(KIND, body["name"], body, version=body["version"])
    return body


def next_version(workspace: Workspace, name: str) -> str:
    """Azure's auto-increment: one more than the highest integer version, else ``1``."""
    numbers = [int(v) for v in _versions(workspace, name) if v.isdigit()]
    return str(max(numbers, default=0) + 1)


def _versions(workspace: Workspace, name: str) -> list[str]:
    # Catalogue's ``list`` method shadows the builtin in its annotations, hence the cast.
    return cast("list[str]", workspace.catalogue.versions(KIND, name))


def _known(workspace: Workspace) -> str:
    names = sorted({r["name"] for r in workspace.catalogue.list(KIND)})
    return ", ".join(names) if names else "none registered"


def get_environment_record(
    workspace: Workspace, name: str, version: str | None = None, label: str | None = None
) -> dict[str, Any]:
    """One version, or the ``latest`` label; NotFoundError names what exists."""
    if version is not None and label is not None:
        raise NotFoundError("give either a version or a label of an environment, not both.")
    if version is None:
        if label not in (None, "latest"):
            raise NotFoundError(
                f"environment {name!r} has no label {label!r}; the only label is 'latest'."
            )
        live = [r for r in workspace.catalogue.list(KIND, name) if not r.get("archived")]
        if not live:
            raise NotFoundError(
                f"environment {name!r} was not found in the workspace (environments: "
                f"{_known(workspace)})."
            )
        return live[-1]
    record = workspace.catalogue.get(KIND, name, str(version))
    if record is None:
        versions = _versions(workspace, name)
        have = (
            f"its versions: {', '.join(versions)}"
            if versions
            else f"environments: {_known(workspace)}"
        )
        raise NotFoundError(
            f"environment {name}:{version} was not found in the workspace ({have})."
        )
    return record


def list_environment_records(
    workspace: Workspace, name: str | None = None, *, include_archived: bool = False
) -> list[dict[str, Any]]:
    records = workspace.catalogue.list(KIND, name)
    return [r for r in records if include_archived or not r.get("archived")]


def archive_environment(
    workspace: Workspace,
    name: str,
    version: str | None = None,
    label: str | None = None,
    *,
    archived: bool = True,
) -> None:
    """Archive one version, or every version when neither version nor label is given."""
    if version is None and label is None:
        versions = _versions(workspace, name)
        if not versions:
            get_environment_record(workspace, name)  # raises, naming what exists
        for v in versions:
            workspace.catalogue.update(KIND, name, {"archived": archived}, version=v)
        return
    record = get_environment_record(workspace, name, version, label)
    workspace.catalogue.update(KIND, name, {"archived": archived}, version=record["version"])
