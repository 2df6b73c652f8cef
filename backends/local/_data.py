"""Data assets on the local backend: ``ml_client.data`` over the workspace.

Why a snapshot: on Azure, ``data.create_or_update`` uploads a local file or
folder to the workspace's storage, so a registered version keeps its content
even if the source changes later. Locally the same promise is kept by copying
the data into ``<workspace>/data/<name>/<version>/`` and recording the content
sha256 in the catalogue (kind ``"data"``). http(s) paths are registered by
reference, as Azure does.

:func:`resolve_input_path` is what the job runner calls to turn a job input
(``azureml:name:version``, ``azureml:name@latest``, a relative path, a URL)
into something :func:`automl_local.data.read_table` can read.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from azure.ai.ml.entities import Data, SystemData

from automl_local.data import MLTABLE_FILE, is_url, load_mltable_spec, sha256_file
from automl_local.exceptions import AlreadyExistsError, ConfigError, DataError, NotFoundError

__all__ = ["ASSET_TYPES", "KIND", "LocalDataOperations", "resolve_input_path"]

KIND = "data"
ASSET_TYPES = ("uri_file", "uri_folder", "mltable")
LATEST = "latest"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$")
_HINT = (
    "List data assets with `automl-local data list`; register one with "
    "`automl-local data create`."
)
_PROPERTY_SHA = "automl_local.content_sha256"
_PROPERTY_SOURCE = "automl_local.source"


def _view(list_view_type: Any) -> str:
    value = str(getattr(list_view_type, "value", list_view_type))
    if value not in ("ActiveOnly", "ArchivedOnly", "All"):
        raise ConfigError(
            f"list_view_type {value!r} is not valid; use ActiveOnly, ArchivedOnly or All "
            "(azure.ai.ml.constants.ListViewType)."
        )
    return value


class LocalDataOperations:
    """``MLClient.data`` for a local workspace: create_or_update, get, list, archive, restore."""

    def __init__(self, client: Any) -> None:
        self._client = client

    @property
    def _catalogue(self) -> Any:
        return self._client.workspace.catalogue

    # ------------------------------------------------------------------ create

    def create_or_update(self, data: Data) -> Data:
        """Snapshot ``data.path`` into the workspace and register it as ``name:version``.

        ``version=None`` takes the next integer version. Re-registering an
        existing version with the same content updates its description, tags
        and properties; different content is refused (versions are immutable).
        """
        if not isinstance(data, Data):
            raise ConfigError(
                f"data.create_or_update takes an azure.ai.ml.entities.Data, got "
                f"{type(data).__name__}."
            )
        name = str(data.name or "")
        if not _NAME.match(name):
            raise ConfigError(
                f"data asset name {name!r} is not valid: use letters, digits, '-', '_' and '.', "
                "starting with a letter or digit."
            )
        if data.type not in ASSET_TYPES:
            raise ConfigError(
                f"data asset type {data.type!r} is not valid; use one of {', '.join(ASSET_TYPES)}."
            )
        if not data.path:
            raise ConfigError(
                f"data asset {name!r} has no path. Give the file or folder to register (--path)."
            )
        source = self._source(data)
        version = None if data.version is None else str(data.version)
        if version is not None and not _NAME.match(version):
            raise ConfigError(
                f"data asset version {version!r} is not valid: use letters, digits, '-', '_', '.'."
            )
        if version is not None:
            existing = self._catalogue.get(KIND, name, version)
            if existing is not None:
                return self._update_existing(existing, data, source)
        body = self._register(name, version, data, source)
        return _entity(body)

    def _source(self, data: Data) -> str | Path:
        raw = str(data.path)
        if is_url(raw):
            return raw
        if raw.startswith("azureml:"):
            raise ConfigError(
                f"data asset path {raw!r} points into Azure storage, which the local backend "
                "cannot read. Register a local file/folder or an https URL, or use "
                "--backend azure."
            )
        if raw.startswith("file://"):
            raw = raw[len("file://") :]
        path = Path(raw).expanduser()
        if not path.is_absolute():
            path = Path(getattr(data, "base_path", None) or Path.cwd()) / path
        path = path.resolve()
        if not path.exists():
            raise DataError(f"data asset path {raw!r} was not found (looked at {path}).")
        if data.type == "uri_file" and not path.is_file():
            raise ConfigError(f"File path does not match asset type uri_file: {path} is a folder.")
        if data.type in ("uri_folder", "mltable") and not path.is_dir():
            raise ConfigError(
                f"File path does not match asset type {data.type}: {path} is a file; "
                f"{data.type} assets are folders."
            )
        if data.type == "mltable":
            _check_mltable(path)
        return path

    def _update_existing(self, existing: dict[str, Any], data: Data, source: str | Path) -> Data:
        sha = None if isinstance(source, str) else _content_sha256(source)
        if sha is None:
            same = existing.get("source") == str(source)
        else:
            same = existing.get("sha256") == sha
        if not same:
            raise AlreadyExistsError(
                f"data asset {existing['name']}:{existing['version']} already exists with "
                "different content, and data versions are immutable. Register a new version, "
                "or omit the version to get the next one."
            )
        changes = {
            "description": data.description or existing.get("description"),
            "tags": {**existing.get("tags", {}), **(data.tags or {})},
            "properties": _user_properties(data.properties) or existing.get("properties", {}),
        }
        body = self._catalogue.update(KIND, existing["name"], changes, version=existing["version"])
        return _entity(body)

    def _register(
        self, name: str, version: str | None, data: Data, source: str | Path
    ) -> dict[str, Any]:
        root = self._client.workspace.data_dir() / name
        root.mkdir(parents=True, exist_ok=True)
        target, version = _reserve(root, version, self._catalogue.versions(KIND, name))
        try:
            path: str | Path
            if isinstance(source, str):  # URLs are registered by reference, as on Azure
                path, sha = source, None
            else:
                path, sha = _snapshot(source, target)
            body = {
                "name": name,
                "version": version,
                "type": data.type,
                "path": str(path),
                "source": str(source),
                "sha256": sha,
                "description": data.description,
                "tags": dict(data.tags or {}),
                "properties": _user_properties(data.properties),
                "created_at": dt.datetime.now(dt.UTC).isoformat(),
                "archived": False,
            }
            self._catalogue.put(KIND, name, body, version=version)
        except BaseException:
            shutil.rmtree(target, ignore_errors=True)
            raise
        return body

    # ------------------------------------------------------------------ read

    def get(self, name: str, version: str | None = None, label: str | None = None) -> Data:
        """One version by ``version``, or the newest active one with ``label="latest"``."""
        return _entity(self._get_body(name, version, label))

    def _get_body(self, name: str, version: str | None, label: str | None) -> dict[str, Any]:
        if version and label:
            raise ConfigError("Cannot specify both version and label.")
        if label:
            if label != LATEST:
                raise ConfigError(f"label {label!r} is not supported; the only label is 'latest'.")
            return self._latest(name)
        if not version:
            raise ConfigError(
                f"Must provide either version or label for data asset {name!r} "
                "(for example version='1' or label='latest')."
            )
        return self._catalogue.require(KIND, name, str(version), hint=_HINT)

    def _latest(self, name: str) -> dict[str, Any]:
        active = [b for b in self._catalogue.list(KIND, name) if not b.get("archived")]
        if not active:
            raise NotFoundError(
                f"data asset {name!r} has no active version in the workspace. {_HINT}"
            )
        return active[-1]

    def list(self, name: str | None = None, *, list_view_type: Any = "ActiveOnly") -> list[Data]:
        """Versions of ``name``, or one entry per asset name (with ``latest_version``)."""
        view = _view(list_view_type)

        def keep(body: dict[str, Any]) -> bool:
            archived = bool(body.get("archived"))
            return view == "All" or archived == (view == "ArchivedOnly")

        bodies = [b for b in self._catalogue.list(KIND, name) if keep(b)]
        if name is not None:
            return [_entity(b) for b in bodies]
        newest: dict[str, dict[str, Any]] = {}
        for body in bodies:  # ordered by creation, so the last one per name wins
            newest[body["name"]] = body
        entities = []
        for body in newest.values():
            entity = _entity(body)
            entity.latest_version = body["version"]
            entities.append(entity)
        return entities

    # ------------------------------------------------------------------ archive

    def archive(
        self, name: str, version: str | None = None, label: str | None = None, **_: Any
    ) -> None:
        """Hide a version (or, without version/label, every version) from default listings."""
        self._set_archived(name, version, label, archived=True)

    def restore(
        self, name: str, version: str | None = None, label: str | None = None, **_: Any
    ) -> None:
        """Undo :meth:`archive`."""
        self._set_archived(name, version, label, archived=False)

    def _set_archived(
        self, name: str, version: str | None, label: str | None, *, archived: bool
    ) -> None:
        if version or label:
            bodies: Iterable[dict[str, Any]] = [self._get_body(name, version, label)]
        else:
            bodies = self._catalogue.list(KIND, name)
            if not bodies:
                raise NotFoundError(f"data asset {name!r} was not found in the workspace. {_HINT}")
        for body in bodies:
            self._catalogue.update(KIND, name, {"archived": archived}, version=body["version"])


# ---------------------------------------------------------------------- helpers


def _user_properties(properties: dict[str, Any] | None) -> dict[str, Any]:
    return {
        k: v for k, v in (properties or {}).items() if not str(k).startswith("automl_local.")
    }


def _entity(body: dict[str, Any]) -> Data:
    properties = dict(body.get("properties") or {})
    if body.get("sha256"):
        properties[_PROPERTY_SHA] = body["sha256"]
    properties[_PROPERTY_SOURCE] = body.get("source")
    created = body.get("created_at")
    return Data(
        name=body["name"],
        version=str(body["version"]),
        type=body["type"],
        path=body["path"],
        description=body.get("description"),
        tags=dict(body.get("tags") or {}),
        properties=properties,
        creation_context=SystemData(
            created_at=dt.datetime.fromisoformat(created) if created else None,
            created_by="automl-local",
        ),
    )


def _reserve(root: Path, version: str | None, known: list[str]) -> tuple[Path, str]:
    """Create the version's folder; ``mkdir`` is atomic, so concurrent creators never collide."""
    if version is not None:
        target = root / version
        if target.exists():  # left behind by an interrupted create: not in the catalogue
            shutil.rmtree(target)
        target.mkdir()
        return target, version
    numbers = [int(v) for v in known if v.isdigit()]
    candidate = max(numbers, default=0) + 1
    while True:
        target = root / str(candidate)
        try:
            target.mkdir()
            return target, str(candidate)
        except FileExistsError:
            candidate += 1


def _snapshot(source: Path, target: Path) -> tuple[Path, str]:
    if source.is_file():
        copied = target / source.name
        shutil.copy2(source, copied)
        return copied, sha256_file(copied)
    shutil.copytree(source, target, dirs_exist_ok=True)
    return target, _content_sha256(target)


def _content_sha256(path: Path) -> str:
    """sha256 of a file, or of a folder's (relative path, file sha256) list."""
    if path.is_file():
        return sha256_file(path)
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(f"{file.relative_to(path).as_posix()}\0{sha256_file(file)}\n".encode())
    return digest.hexdigest()


def _check_mltable(folder: Path) -> None:
    """Validate the MLTable file now, as Azure does at registration, not at first read."""
    if not (folder / MLTABLE_FILE).is_file():
        raise DataError(
            f"{folder} has no {MLTABLE_FILE} file, so it cannot be an mltable asset. Add one, "
            "or register the folder as uri_folder."
        )
    spec = load_mltable_spec(folder)
    root = folder.resolve()
    for path in spec.local_paths():
        resolved = path.resolve()
        if resolved != root and root not in resolved.parents:
            raise DataError(
                f"{folder / MLTABLE_FILE} refers to {path}, outside the MLTable folder; it would "
                "not be copied with the asset. Move the data into the folder, or use an https URL."
            )


# ---------------------------------------------------------------------- job inputs

_REF_VERSION = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9_.-]*):(?P<version>[A-Za-z0-9_.-]+)$")
_REF_LABEL = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9_.-]*)@(?P<label>[A-Za-z0-9_-]+)$")
_REF_LONG = re.compile(r"/data/(?P<name>[^/]+)/versions/(?P<version>[^/]+)/?$")


def resolve_input_path(client: Any, path: str, base_dir: Path | None = None) -> str:
    """Turn a job input path into a local path or URL that ``read_table`` can read.

    Accepts ``azureml:name:version``, ``azureml:name@latest``, the long
    ``azureml://.../data/<name>/versions/<v>`` form, a bare ``name:version``
    (when no such local file exists), http(s) URLs (unchanged) and local paths
    (relative ones against ``base_dir``, the YAML file's folder).
    """
    text = str(path).strip()
    if is_url(text):
        return text
    if text.startswith("azureml:"):
        rest = text[len("azureml:") :]
        if rest.startswith(("./", "../", "/")) and not rest.startswith("//"):
            return _local_input(text, rest, base_dir)  # azure-ai-ml's dump writes azureml:./x
        return _asset_path(client, text, rest)
    local = _local_candidate(text, base_dir)
    if not local.exists() and (_REF_VERSION.match(text) or _REF_LABEL.match(text)):
        return _asset_path(client, text, text)
    return _local_input(text, text, base_dir)


def _local_candidate(text: str, base_dir: Path | None) -> Path:
    if text.startswith("file://"):
        text = text[len("file://") :]
    path = Path(text).expanduser()
    return path if path.is_absolute() else (base_dir or Path.cwd()) / path


def _local_input(original: str, text: str, base_dir: Path | None) -> str:
    path = _local_candidate(text, base_dir).resolve()
    if not path.exists():
        origin = f"the YAML folder {base_dir}" if base_dir is not None else "the current directory"
        raise DataError(
            f"input path {original!r} was not found (looked at {path}). Relative paths are "
            f"resolved against {origin}; or register the data and use azureml:<name>:<version>."
        )
    return str(path)


def _asset_path(client: Any, original: str, ref: str) -> str:
    operations = client.data
    if ref.startswith("//") and "/datastores/" in ref and "/paths/" in ref:
        from automl_local.backends.local._datastores import resolve_datastore_uri

        target = resolve_datastore_uri(client, original)
        if not target.exists():
            raise DataError(
                f"input path {original!r} is {target} in the workspace's datastore folder, "
                "which does not exist. Put the files there, or register the data and use "
                "azureml:<name>:<version>."
            )
        return str(target)
    if ref.startswith("//"):
        match = _REF_LONG.search(ref)
        if match is None:
            raise DataError(
                f"input path {original!r} is an Azure datastore path, which the local backend "
                "cannot read. Register the data locally (`automl-local data create`) and use "
                "azureml:<name>:<version>, or run with --backend azure."
            )
        return str(operations.get(match["name"], version=match["version"]).path)
    if match := _REF_VERSION.match(ref):
        return str(operations.get(match["name"], version=match["version"]).path)
    if match := _REF_LABEL.match(ref):
        return str(operations.get(match["name"], label=match["label"]).path)
    raise ConfigError(
        f"input path {original!r} names a data asset without a version. Use "
        f"azureml:{ref}:<version> or azureml:{ref}@latest."
    )
