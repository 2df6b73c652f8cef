"""``ml_client.components`` for the local backend: command components, stored with their code.

``create_or_update`` copies the component's ``code`` folder into the
workspace (``components/<name>/<version>/code``, as Azure snapshots it) and
writes the component's YAML beside it, so what is registered does not change
when the user's folder does. ``get`` loads that YAML with azure-ai-ml's own
loader. :func:`resolve_component` turns ``azureml:name:version``,
``azureml:name@latest``, ``name:version`` or ``name@latest`` into the entity,
for the pipeline code.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from automl_local.backends.local._errors import not_found

from automl_local.exceptions import ConfigError

__all__ = ["LocalComponentOperations", "resolve_component"]

KIND = "component"
_REF = re.compile(
    r"^(?:azureml:)?(?P<name>[A-Za-z0-9_.\-]+)(?::(?P<version>[^:@/]+)|@(?P<label>\w+))?$"
)


def _versions(client: Any, name: str) -> list[str]:
    return [str(r["version"]) for r in client.workspace.catalogue.list(KIND, name)]


def _load(record: dict[str, Any]) -> Any:
    from azure.ai.ml import load_component

    return load_component(source=record["yaml"])


def _record(client: Any, name: str, version: str | None, label: str | None) -> dict[str, Any]:
    cat = client.workspace.catalogue
    if version is None:
        if label not in (None, "latest"):
            raise ConfigError(f"component {name!r}: the only label is 'latest', not {label!r}.")
        live = [r for r in cat.list(KIND, name) if not r.get("archived")]
        if live:
            return live[-1]
    else:
        found = cat.get(KIND, name, str(version))
        if found is not None:
            return found
    versions = _versions(client, name)
    if versions:
        raise not_found(
            "component", f"{name}:{version or label}", [f"{name}:{v}" for v in versions]
        )
    raise not_found(
        "component",
        name,
        sorted({r["name"] for r in cat.list(KIND)}),
        hint="Register it with ml_client.components.create_or_update(load_component(...)).",
    )


def resolve_component(client: Any, ref: str) -> Any:
    """The registered component ``ref`` names (``azureml:name:version``, ``name@latest``...)."""
    match = _REF.match(ref.strip())
    if match is None:
        raise ConfigError(
            f"component reference {ref!r} is not azureml:<name>:<version> or "
            "azureml:<name>@latest (registry components are Azure-only)."
        )
    label = match["label"] or (None if match["version"] else "latest")
    return _load(_record(client, match["name"], match["version"], label))


class LocalComponentOperations:
    """``create_or_update / get / list / archive / restore`` for command components."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._ws = client.workspace

    def create_or_update(self, component: Any, **kwargs: Any) -> Any:
        from automl_local.backends.local._jobs import yaml_folder
        from azure.ai.ml.entities import CommandComponent

        if not isinstance(component, CommandComponent):
            raise ConfigError(
                f"a {type(component).__name__} cannot be registered locally; command "
                "components can (type: command). Pipelines run their own components inline."
            )
        if not component.name:
            raise ConfigError("a component needs a name to be registered.")
        name = component.name
        version = str(component.version) if component.version else self._next_version(name)
        folder = self._ws.root / "components" / name / version
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        body = json.loads(json.dumps(component._to_dict(), default=str))
        body.update(name=name, version=version)
        code = component.code
        if (
            isinstance(code, str)
            and code.startswith("azureml:")
            and not code.startswith("azureml://")
        ):
            code = code[len("azureml:") :]
        if code:
            src = Path(str(code))
            src = src if src.is_absolute() else yaml_folder(component) / src
            if not src.exists():
                raise ConfigError(f"component {name}: code folder {src} does not exist.")
            if src.is_dir():
                shutil.copytree(src, folder / "code")
            else:
                (folder / "code").mkdir()
                shutil.copy2(src, folder / "code" / src.name)
            body["code"] = "./code"
        path = folder / "component.yml"
        path.write_text(yaml.safe_dump(body, sort_keys=False))
        self._ws.catalogue.put(
            KIND,
            name,
            {
                "name": name,
                "version": version,
                "type": "command",
                "yaml": str(path),
                "archived": False,
                "created_at": time.time(),
            },
            version=version,
        )
        return self.get(name, version=version)

    def _next_version(self, name: str) -> str:
        numbers = [int(v) for v in _versions(self._client, name) if v.isdigit()]
        return str(max(numbers, default=0) + 1)

    def get(self, name: str, version: str | None = None, label: str | None = None) -> Any:
        if version is not None and label is not None:
            raise ConfigError("Cannot specify both version and label.")
        return _load(_record(self._client, name, version, label))

    def list(self, name: str | None = None, **kwargs: Any) -> Iterator[Any]:
        """Versions of ``name``; without a name, the latest version of each component."""
        records = [r for r in self._ws.catalogue.list(KIND, name) if not r.get("archived")]
        if name is None:
            records = list({r["name"]: r for r in records}.values())
        for record in records:
            yield _load(record)

    def archive(
        self, name: str, version: str | None = None, label: str | None = None, **_: Any
    ) -> None:
        self._flag(name, version, label, archived=True)

    def restore(
        self, name: str, version: str | None = None, label: str | None = None, **_: Any
    ) -> None:
        self._flag(name, version, label, archived=False)

    def _flag(self, name: str, version: str | None, label: str | None, *, archived: bool) -> None:
        cat = self._ws.catalogue
        targets = (
            [_record(self._client, name, version, label)["version"]]
            if version or label
            else _versions(self._client, name)
        )
        if not targets:
            _record(self._client, name, None, "latest")  # raises, naming what exists
        for v in targets:
            cat.update(KIND, name, {"archived": archived}, version=v)
