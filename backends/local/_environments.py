"""``ml_client.environments`` for the local backend.

Registered environments are stored by the engine (``automl_local.environments``)
with versions, ``latest`` and archiving, as Azure keeps them. Registration
checks the spec at once (a broken conda file fails here, naming the line);
building happens when a job first runs with it. Curated names
(``AzureML-sklearn-1.5``, ``AzureML-ai-ml-automl``...) are always there: they
run in automl-local's own environment.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from automl_local.backends.local._errors import as_resource_not_found

from automl_local.environments import (
    archive_environment,
    environment_spec,
    get_environment_record,
    is_curated_name,
    list_environment_records,
    next_version,
    save_environment,
)
from automl_local.exceptions import ConfigError

__all__ = ["LocalEnvironmentOperations"]

CURATED_NOTE = "curated Azure environment: runs in automl-local's own Python environment"


def _entity(record: dict[str, Any]) -> Any:
    from azure.ai.ml.entities import Environment

    env = Environment(
        name=record["name"],
        version=str(record["version"]),
        image=record.get("image"),
        conda_file=record.get("conda_file"),
        description=record.get("description"),
        tags=record.get("tags") or {},
    )
    return env


def _curated(name: str, version: str | None, label: str | None) -> Any:
    from azure.ai.ml.entities import Environment

    return Environment(
        name=name,
        version=version or "latest" if label is None else label,
        image=f"mcr.microsoft.com/azureml/curated/{name.lower().removeprefix('azureml-')}:latest",
        description=CURATED_NOTE,
    )


class LocalEnvironmentOperations:
    """``create_or_update / get / list / archive / restore``."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._ws = client.workspace

    def create_or_update(self, environment: Any, **kwargs: Any) -> Any:
        if not environment.name:
            raise ConfigError("an environment needs a name to be registered.")
        if is_curated_name(environment.name):
            raise ConfigError(
                f"environment name {environment.name!r} is reserved for Azure's curated "
                "environments (names starting AzureML-); choose another name."
            )
        environment_spec(environment, workspace=self._ws)  # bad conda files fail now
        conda = environment.conda_file if isinstance(environment.conda_file, dict) else None
        body = {
            "image": environment.image,
            "conda_file": conda,
            "description": environment.description,
            "tags": dict(environment.tags or {}),
        }
        version = environment.version
        if not version:
            live = list_environment_records(self._ws, environment.name)
            latest = live[-1] if live else None
            if latest and all(latest.get(k) == v for k, v in body.items()):
                return _entity(latest)  # unchanged: Azure keeps the latest version
            version = next_version(self._ws, environment.name)
        record = save_environment(self._ws, {"name": environment.name, "version": version, **body})
        return _entity(record)

    def get(self, name: str, version: str | None = None, label: str | None = None) -> Any:
        if version is not None and label is not None:
            raise ConfigError("Cannot specify both version and label.")
        if version is None and label is None:
            raise ConfigError("Must provide either version or label.")
        if is_curated_name(name):
            return _curated(name, version, label)
        with as_resource_not_found():
            return _entity(get_environment_record(self._ws, name, version, label))

    def list(self, name: str | None = None, **kwargs: Any) -> Iterator[Any]:
        """All versions of ``name``; without a name, the latest version of each environment."""
        records = list_environment_records(self._ws, name)
        if name is None:
            latest: dict[str, dict[str, Any]] = {}
            for r in records:
                latest[r["name"]] = r
            records = list(latest.values())
        for record in records:
            yield _entity(record)

    def archive(
        self, name: str, version: str | None = None, label: str | None = None, **_: Any
    ) -> None:
        with as_resource_not_found():
            archive_environment(self._ws, name, version, label)

    def restore(
        self, name: str, version: str | None = None, label: str | None = None, **_: Any
    ) -> None:
        with as_resource_not_found():
            archive_environment(self._ws, name, version, label, archived=False)
