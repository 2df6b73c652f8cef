"""``ml_client.models`` for the local workspace: register, get, list, download.

A registered model version is a snapshot: its files are copied into
``<workspace>/models/<name>/<version>/<folder>`` (as Azure uploads them to the
workspace storage), so a deployment keeps working when the source folder is
deleted. Each version is recorded twice:

* in the catalogue (kind ``model``), with the local path the server loads,
  so serving never depends on MLflow internals;
* in the workspace's MLflow model registry, so ``mlflow ui`` and MLflow
  client code see the same models (the MLflow version number is kept in the
  model's ``properties`` as ``mlflow.version``).

Sources: a local folder or file, ``azureml://jobs/<job>/outputs/best_model``
(the AutoML job's best model), ``azureml://jobs/<job>/outputs/<name>`` (a
command or pipeline job's named output, e.g. an ``mlflow_model`` output), ``azureml://jobs/<run>/outputs/artifacts/paths/<p>``
and ``runs:/<run>/<p>`` / ``models:/<name>/<version>`` (MLflow artifacts).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from automl_local.backends.local._endpoint_files import folder_lock
from automl_local.backends.local._serving import now

from automl_local.exceptions import (
    AlreadyExistsError,
    ConfigError,
    NotFoundError,
    ServiceError,
)

if TYPE_CHECKING:
    from azure.ai.ml.entities import Model

__all__ = ["LocalModelOperations", "parse_model_reference"]

logger = logging.getLogger(__name__)

KIND = "model"
MODEL_TYPES = ("mlflow_model", "custom_model", "triton_model")
# Azure asset names: letters, digits, '-', '_', '.', starting with a letter or digit.
_NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,254}$")
_JOB_URI_RE = re.compile(r"^azureml://jobs/(?P<job>[^/]+)/outputs/(?P<rest>.+?)/?$")
# Forms that all mean "the best model of an AutoML job".
_BEST_MODEL_OUTPUTS = (
    "best_model",
    "artifacts/outputs/mlflow-model",
    "artifacts/paths/outputs/mlflow-model",
)


def parse_model_reference(reference: str) -> tuple[str, str | None, str | None]:
    """``azureml:name:version``, ``name:version`` or ``[azureml:]name@label`` as a triple."""
    ref = reference.removeprefix("azureml:")
    if "@" in ref:
        name, _, label = ref.partition("@")
        return name, None, label or "latest"
    name, sep, version = ref.rpartition(":")
    if sep and name and version:
        return name, version, None
    raise ConfigError(
        f"model reference {reference!r} is not valid: use azureml:<name>:<version> or "
        "azureml:<name>@latest (for example azureml:bankmodel:1)."
    )


class LocalModelOperations:
    """The model registry of a local workspace, with ``ModelOperations``' methods."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._ws = client.workspace

    # ------------------------------------------------------------------ write

    def create_or_update(self, model: Model) -> Model:
        """Register ``model`` (a new version) from its ``path``; return the registered entity.

        With no ``version`` the next integer version is taken. Versions are
        immutable: registering an existing explicit version is an error.
        """
        from azure.ai.ml.entities import Model

        if not isinstance(model, Model):
            raise ConfigError(
                f"models.create_or_update takes an azure.ai.ml.entities.Model, got "
                f"{type(model).__name__}."
            )
        if not model.path:
            raise ConfigError(
                f"model {model.name!r} has no path: set path= to a local MLflow model folder, "
                "azureml://jobs/<job>/outputs/best_model or runs:/<run_id>/<artifact path>."
            )
        name = str(model.name)
        if not _NAME_RE.match(name):
            raise ConfigError(
                f"model name {name!r} is not valid: use letters, digits, '-', '_' or '.', "
                "starting with a letter or digit (at most 255 characters)."
            )
        model_type = (model.type or "custom_model").lower()
        if model_type not in MODEL_TYPES:
            raise ConfigError(
                f"model type {model.type!r} is not known: use one of {', '.join(MODEL_TYPES)}."
            )
        source = str(model.path)
        if "models:/" in source:  # azure-ai-ml takes MLflow registry URIs for local paths
            source = source[source.index("models:/"):]
        # One registration of a name at a time (two CLI calls would take the same version).
        with folder_lock(self._ws.root / "models" / name):
            return self._register(model, source, name, model_type)

    def _register(self, model: Model, source_uri: str, name: str, model_type: str,
                  mlflow_version: str | None = None) -> Model:
        """Copy, mirror in MLflow (unless it came from there: ``mlflow_version``), record."""
        if getattr(model, "_is_anonymous", False) and self._ws.catalogue.get(KIND, name, "1"):
            return self._entity(self._ws.catalogue.require(KIND, name, "1"))
        version = str(model.version) if model.version else None
        if version is not None and self._ws.catalogue.get(KIND, name, version) is not None:
            raise AlreadyExistsError(
                f"model {name}:{version} already exists and versions are immutable. Omit the "
                f"version to register the next one, or use `automl-local model show --name {name}"
                f" --version {version}` to see it."
            )
        with self._resolve_source(source_uri) as (source, job_name):
            if model_type == "mlflow_model" and not (source / "MLmodel").is_file():
                raise ConfigError(
                    f"model path {source_uri!r} (resolved to {str(source)!r}) is not an "
                    "MLflow model folder: it has no MLmodel file. Point path at the folder that "
                    "holds MLmodel, or register it with type custom_model."
                )
            version = version or self._next_version(name)
            target = self._ws.root / "models" / name / version / (source.name or "model")
            if target.parent.exists():
                shutil.rmtree(target.parent)
            target.parent.mkdir(parents=True)
            if source.is_dir():
                shutil.copytree(source, target)
            else:
                shutil.copy2(source, target)
        properties = {str(k): str(v) for k, v in (model.properties or {}).items()}
        tags = {str(k): str(v) for k, v in (model.tags or {}).items()}
        try:
            properties["mlflow.version"] = mlflow_version or self._register_in_mlflow(
                name, version, target, model.description, tags
            )
        except Exception as exc:
            shutil.rmtree(target.parent, ignore_errors=True)
            raise ServiceError(
                f"could not register model {name}:{version} in the MLflow registry at "
                f"{self._ws.tracking_uri!r}: {exc}. Check AUTOML_LOCAL_TRACKING_URI."
            ) from exc
        record = {
            "name": name,
            "version": version,
            "type": model_type,
            "path": str(target),
            "source": source_uri,
            "description": model.description,
            "tags": tags,
            "properties": properties,
            "job_name": job_name or getattr(model, "job_name", None),
            "flavors": _flavors(target) if model_type == "mlflow_model" else None,
            "created_at": now(),
            "archived": False,
        }
        self._ws.catalogue.put(KIND, name, record, version=version)
        logger.info("registered model %s:%s from %s", name, version, source_uri)
        return self._entity(record)

    def archive(self, name: str, version: str | None = None, label: str | None = None,
                **kwargs: Any) -> None:
        """Hide a version (or every version) from ``list``; it stays deployable by version."""
        self._set_archived(name, version, label, True)

    def restore(self, name: str, version: str | None = None, label: str | None = None,
                **kwargs: Any) -> None:
        self._set_archived(name, version, label, False)

    # ------------------------------------------------------------------- read

    def get(self, name: str, version: str | None = None, label: str | None = None) -> Model:
        """One version; ``label="latest"`` (or no version and no label) is the newest.

        Azure requires a version or a label; locally the newest is the default.
        """
        return self._entity(self._record(name, version, label))

    def list(self, name: str | None = None, stage: str | None = None, *,
             list_view_type: Any = None) -> list[Model]:
        """Every version of ``name``, or the latest version of each model."""
        view = str(getattr(list_view_type, "value", list_view_type) or "ActiveOnly")

        def visible(r: dict[str, Any]) -> bool:
            if view == "All":
                return True
            return bool(r.get("archived")) == (view == "ArchivedOnly")

        self._adopt_all_from_mlflow(name)
        records = [r for r in self._ws.catalogue.list(KIND, name) if visible(r)]
        if stage:
            records = [r for r in records if r.get("stage") == stage]
        if name is None:
            latest: dict[str, dict[str, Any]] = {}
            for r in records:
                best = latest.get(r["name"])
                if best is None or _vkey(r["version"]) > _vkey(best["version"]):
                    latest[r["name"]] = r
            records = list(latest.values())
        records.sort(key=lambda r: (r["name"], _vkey(r["version"])))
        return [self._entity(r) for r in records]

    def download(
        self, name: str, version: str, download_path: str | os.PathLike[str] = "."
    ) -> None:
        """Copy the model's files to ``download_path/<name>/<folder>``, as Azure lays them out."""
        record = self._record(name, version, None)
        source = Path(record["path"])
        target = Path(download_path) / name / source.name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True)
        else:
            shutil.copy2(source, target)

    # ------------------------------------------------------- local extensions

    def resolve(self, reference: str | Model, *, anonymous_name: str) -> Model:
        """The registered model a deployment points at.

        ``reference`` is a registered-model string (``azureml:name:version``,
        ``name@latest``...), a Model entity (registered if it carries a local
        or job path), or a local folder / ``azureml://jobs/...`` path, which is
        registered as ``anonymous_name``.
        """
        from azure.ai.ml.entities import Model

        if isinstance(reference, Model):
            path = str(reference.path) if reference.path else ""
            if not path or (path.startswith("azureml:") and not path.startswith("azureml://")):
                return self.get(str(reference.name), reference.version,
                                None if reference.version else "latest")
            if reference.version and self._ws.catalogue.get(
                    KIND, str(reference.name), str(reference.version)) is not None:
                return self.get(str(reference.name), str(reference.version))
            return self.create_or_update(reference)
        text = str(reference)
        looks_like_path = (
            text.startswith(("azureml://", "runs:/", "models:/", "/", "./", "../", "~"))
            or os.path.exists(text)
        )
        if looks_like_path:
            path = os.path.expanduser(text)
            if not os.path.exists(path):  # a job or MLflow URI: a named, versioned snapshot
                return self.create_or_update(
                    Model(name=anonymous_name, path=path, type="mlflow_model"))
            # A local folder: anonymous like Azure's (named by content hash, so
            # deploying the same folder twice registers it once).
            mlflow = os.path.isfile(os.path.join(path, "MLmodel"))
            return self.create_or_update(
                Model(path=path, type="mlflow_model" if mlflow else "custom_model"))
        name, version, label = parse_model_reference(text)
        return self.get(name, version, label)

    # ---------------------------------------------------------------- helpers

    def _record(self, name: str, version: str | None, label: str | None) -> dict[str, Any]:
        if version and label:
            raise ConfigError("Cannot specify both version and label.")
        if label not in (None, "latest"):
            raise ConfigError(f"model label {label!r} is not known locally; use 'latest'.")
        versions = self._ws.catalogue.versions(KIND, name)
        if version is None:
            if versions:
                version = max(versions, key=_vkey)
        elif str(version) in versions:
            version = str(version)
        else:
            versions = []
        if versions and version is not None:
            return self._ws.catalogue.require(KIND, name, version)
        adopted = self._adopt_from_mlflow(name, version)
        if adopted is not None:
            return adopted
        known = ", ".join(self._ws.catalogue.versions(KIND, name)) or "none"
        label_text = f"{name}:{version}" if version else name
        raise NotFoundError(
            f"model {label_text!r} was not found in workspace {str(self._ws.root)!r} (versions of "
            f"{name!r}: {known}). Register it with `automl-local model create --name {name} "
            "--path <MLflow model folder> --type mlflow_model`, or list models with "
            "`automl-local model list`."
        )

    def _set_archived(self, name: str, version: str | None, label: str | None, flag: bool) -> None:
        versions = [self._record(name, version, label)["version"]] if version or label else \
            self._ws.catalogue.versions(KIND, name)
        if not versions:
            self._record(name, None, None)  # raises NotFoundError with the fix
        for v in versions:
            self._ws.catalogue.update(KIND, name, {"archived": flag}, version=v)

    def _next_version(self, name: str) -> str:
        numbers = [int(v) for v in self._ws.catalogue.versions(KIND, name) if v.isdigit()]
        return str(max(numbers, default=0) + 1)

    @contextlib.contextmanager
    def _resolve_source(self, path: str) -> Iterator[tuple[Path, str | None]]:
        """The local file/folder behind ``path`` (downloaded to a temp dir if remote)."""
        match = _JOB_URI_RE.match(path)
        if match:
            job, rest = match["job"], match["rest"].strip("/")
            best = self._ws.job_dir(job) / "outputs" / "best_model"
            if rest in _BEST_MODEL_OUTPUTS and best.is_dir():
                yield best, job
                return
            artifact = rest.removeprefix("artifacts/").removeprefix("paths/")
            if rest.startswith("artifacts/"):
                with self._mlflow_download(run_id=job, artifact_path=artifact, what=path) as local:
                    yield local, job
                return
            record = self._ws.catalogue.get("job", job) or {}
            if record.get("type") in ("command", "pipeline"):  # a named output of the job
                yield self._client.jobs.output_path(job, rest), job
                return
            best_form = rest in _BEST_MODEL_OUTPUTS
            missing = f"best model at {best}" if best_form else f"output {rest!r}"
            raise NotFoundError(
                f"job output {path!r} was not found: job {job!r} has no {missing}"
                f". Check the job with `automl-local job show --name {job}` (it must have "
                "completed), or register a local folder instead."
            )
        if path.startswith(("runs:/", "models:/")):
            with self._mlflow_download(artifact_uri=path, what=path) as local:
                yield local, None
            return
        if path.startswith("azureml:"):
            raise ConfigError(
                f"model path {path!r} is not supported locally: use a local folder, "
                "azureml://jobs/<job>/outputs/best_model, or runs:/<run_id>/<path>."
            )
        local = Path(path).expanduser().resolve()
        if not local.exists():
            raise ConfigError(
                f"model path {path!r} does not exist (resolved to {str(local)!r}). Give the "
                "MLflow model folder (the one holding the MLmodel file)."
            )
        yield local, None

    @contextlib.contextmanager
    def _mlflow_download(self, *, what: str, **kwargs: Any) -> Iterator[Path]:
        import mlflow.artifacts
        from mlflow.exceptions import MlflowException

        with tempfile.TemporaryDirectory(prefix="automl-model-") as tmp:
            try:
                uri = kwargs.get("artifact_uri") or ""
                if uri.startswith("models:/"):
                    # download_artifacts ignores its registry_uri for models:/ URIs
                    # (MLflow 3.x); resolve the version's source in our registry.
                    kwargs["artifact_uri"] = self._model_version_source(uri)
                local = mlflow.artifacts.download_artifacts(
                    dst_path=tmp, tracking_uri=self._ws.tracking_uri,
                    registry_uri=self._ws.tracking_uri, **kwargs,
                )
            except (MlflowException, OSError) as exc:
                raise NotFoundError(
                    f"model artifacts {what!r} were not found in the MLflow store "
                    f"{self._ws.tracking_uri!r}: {str(exc).splitlines()[0]}. Check the run id "
                    "and artifact path (e.g. `automl-local job show --name <job>`)."
                ) from None
            yield Path(local)

    def _model_version_source(self, uri: str) -> str:
        from mlflow import MlflowClient
        from mlflow.exceptions import MlflowException

        name, _, version = uri.removeprefix("models:/").strip("/").partition("/")
        client = MlflowClient(tracking_uri=self._ws.tracking_uri,
                              registry_uri=self._ws.tracking_uri)
        if not version.isdigit():
            raise MlflowException(f"use models:/<name>/<version number>, got {uri!r}")
        return str(client.get_model_version_download_uri(name, version))

    def _register_in_mlflow(self, name: str, version: str, target: Path,
                            description: str | None, tags: dict[str, str]) -> str:
        from mlflow import MlflowClient
        from mlflow.exceptions import MlflowException

        uri = self._ws.tracking_uri
        client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        with contextlib.suppress(MlflowException):  # already registered: add a version
            client.create_registered_model(name)
        mv = client.create_model_version(
            name, source=str(target), description=description,
            tags={**tags, "azureml.version": version},
        )
        return str(mv.version)

    def _adopt_from_mlflow(self, name: str, version: str | None) -> dict[str, Any] | None:
        """A model registered straight into MLflow (e.g. by a job), copied into the catalogue."""
        uri = self._ws.tracking_uri
        if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).exists():
            return None
        from mlflow import MlflowClient
        from mlflow.exceptions import MlflowException

        client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        try:
            if version is None:
                candidates = client.search_model_versions(f"name='{name}'")
                if not candidates:
                    return None
                mv = max(candidates, key=lambda m: int(m.version))
            else:
                mv = client.get_model_version(name, version)
        except MlflowException:
            return None
        if str(self._ws.root / "models") in str(mv.source):
            return None  # one of ours, under another version number
        from azure.ai.ml.entities import Model

        adopted = Model(
            name=name, version=str(mv.version), type="mlflow_model", description=mv.description,
            tags=dict(mv.tags or {}), properties={"mlflow.run_id": mv.run_id or ""},
        )
        with folder_lock(self._ws.root / "models" / name):
            if self._ws.catalogue.get(KIND, name, str(mv.version)) is None:
                self._register(adopted, f"models:/{name}/{mv.version}", name, "mlflow_model",
                               mlflow_version=str(mv.version))
        return self._ws.catalogue.require(KIND, name, str(mv.version))

    def _adopt_all_from_mlflow(self, name: str | None) -> None:
        """Adopt every version registered straight into MLflow (a job's best model) that the
        catalogue does not hold yet, so ``list`` shows it the moment the job reports it.

        Without this a job's model appeared only after ``get`` had asked for it by name.
        """
        uri = self._ws.tracking_uri
        if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).exists():
            return
        from mlflow import MlflowClient
        from mlflow.exceptions import MlflowException

        client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        ours = str(self._ws.root / "models")
        try:
            versions = client.search_model_versions(
                None if name is None else f"name='{name}'", max_results=10_000
            )
        except MlflowException:
            return
        for mv in versions:
            if ours in str(mv.source) or self._ws.catalogue.get(KIND, mv.name, str(mv.version)):
                continue
            try:
                self._adopt_from_mlflow(mv.name, str(mv.version))
            except (NotFoundError, ServiceError) as exc:  # a broken source must not hide the rest
                logger.warning("could not adopt MLflow model %s:%s: %s", mv.name, mv.version, exc)

    def _entity(self, record: dict[str, Any]) -> Model:
        from azure.ai.ml.entities import Model

        model = Model(
            name=record["name"],
            version=record["version"],
            type=record["type"],
            path=record["path"],
            description=record.get("description"),
            tags=record.get("tags") or {},
            properties=record.get("properties") or {},
            flavors=record.get("flavors"),
            utc_time_created=record.get("created_at"),
            job_name=record.get("job_name"),
        )
        return model


def _vkey(version: str) -> tuple[int, int | str]:
    """Sort numeric versions numerically, after any non-numeric ones."""
    return (1, int(version)) if version.isdigit() else (0, version)


def _flavors(folder: Path) -> dict[str, Any] | None:
    import yaml

    try:
        mlmodel = yaml.safe_load((folder / "MLmodel").read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return None
    flavors = mlmodel.get("flavors") or {}
    return {k: {kk: str(vv) for kk, vv in (v or {}).items() if not isinstance(vv, dict)}
            for k, v in flavors.items()}
