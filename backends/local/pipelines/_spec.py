"""azure-ai-ml pipeline entities -> the engine's pipeline dict, ready to run anywhere later.

``PipelineJob._to_dict()`` (and ``PipelineComponent._to_dict()``) is the
pipeline YAML with every component inlined, which is what the engine parses.
Preparing it for a run does what Azure does at submission:

* each command component's ``code`` folder is copied into a content-addressed
  snapshot (``<workspace>/snapshots/<sha256>``), so a published or scheduled
  pipeline keeps running the code it was created with, and the digest is
  part of the step-reuse key;
* relative data paths become absolute (against the YAML's folder) and must
  exist; data asset references (``azureml:name@latest``) stay references and
  are resolved when the node runs, so a schedule picks up new versions;
* every AutoML node goes through the same checks as a standalone AutoML job
  (``settings_from_job``), minus the data, which does not exist yet;
* Azure-only settings (``default_compute``, node ``compute``) are noted as
  warnings.
"""

from __future__ import annotations

import copy
import io
from pathlib import Path
from typing import Any

from automl_local.exceptions import AutoMLError, ConfigError
from automl_local.pipelines import (
    AUTOML_DATA_INPUTS,
    DATA_TYPES,
    PipelineSpec,
    parse_binding,
    parse_pipeline,
    snapshot_folder,
)

__all__ = [
    "component_dict",
    "local_input_path",
    "pipeline_job_dict",
    "prepare_pipeline",
    "to_pipeline_job",
]

_BEST_MODEL = "best_model"


def _read_error(what: str, exc: Exception) -> ConfigError:
    message = " ".join(str(exc).split("Visit this link")[0].split())
    return ConfigError(f"{what} could not be read: {message}")


def pipeline_job_dict(job: Any) -> dict[str, Any]:
    """The YAML-shaped dict of a ``PipelineJob`` (from ``load_job`` or ``@dsl.pipeline``)."""
    try:
        data = job._to_dict()
    except Exception as exc:  # azure-ai-ml validation/serialisation errors
        raise _read_error("the pipeline job", exc) from None
    return _normalise(data)


def component_dict(component: Any, settings: dict[str, Any] | None = None) -> dict[str, Any]:
    """A pipeline job dict from a ``PipelineComponent`` (batch deployment ``component=``)."""
    try:
        data = component._to_dict()
    except Exception as exc:
        raise _read_error("the pipeline component", exc) from None
    out: dict[str, Any] = {
        "type": "pipeline",
        "display_name": data.get("display_name") or data.get("name"),
        "description": data.get("description"),
        "inputs": {},
        "outputs": {
            k: {"type": (v or {}).get("type", "uri_folder")}
            for k, v in (data.get("outputs") or {}).items()
        },
        "jobs": data.get("jobs") or {},
        "settings": dict(settings or {}),
    }
    for name, decl in (data.get("inputs") or {}).items():
        decl = decl if isinstance(decl, dict) else {"type": decl}
        entry: dict[str, Any] = {"type": decl.get("type")}
        if decl.get("default") is not None:
            entry["default"] = _typed(decl.get("default"), decl.get("type"))
        out["inputs"][name] = entry
    return _normalise(out)


def _typed(value: Any, type_: str | None) -> Any:
    """Component defaults are dumped as strings; give literals back their type."""
    if not isinstance(value, str):
        return value
    try:
        if type_ == "integer":
            return int(value)
        if type_ == "number":
            return float(value)
    except ValueError:
        return value
    if type_ == "boolean":
        return value.strip().lower() == "true"
    return value


def _normalise(data: dict[str, Any]) -> dict[str, Any]:
    """Make AutoML node outputs loadable again (``_to_dict`` writes forms ``load_job`` refuses)."""
    data = copy.deepcopy(data)
    for body in (data.get("jobs") or {}).values():
        if not isinstance(body, dict) or body.get("type") != "automl":
            continue
        outputs: dict[str, Any] = {}
        for key, value in (body.get("outputs") or {}).items():
            if isinstance(value, dict):
                raw = value.get("value", value.get("path"))
                if isinstance(raw, str) and "${{" in raw:
                    outputs[key] = raw
                    continue
                kind = value.get("type") or value.get("job_output_type") or "mlflow_model"
                outputs[key] = {"type": "mlflow_model" if kind == "literal" else kind}
            else:
                outputs[key] = value
        if outputs:
            body["outputs"] = outputs
    return data


def to_pipeline_job(data: dict[str, Any], base_dir: str | Path | None = None) -> Any:
    """The ``PipelineJob`` entity of a stored pipeline dict (what ``jobs.get`` returns)."""
    import yaml
    from azure.ai.ml import load_job

    text = yaml.safe_dump(data, sort_keys=False)
    try:
        return load_job(source=io.StringIO(text), relative_origin=str(base_dir or "."))
    except Exception as exc:
        raise _read_error("the stored pipeline", exc) from None


def prepare_pipeline(
    client: Any, data: dict[str, Any], base_dir: Path
) -> tuple[dict[str, Any], PipelineSpec, list[str]]:
    """Snapshot code, absolutise paths, check AutoML nodes; return (dict, spec, warnings)."""
    data = copy.deepcopy(data)
    warnings: list[str] = []
    parse_pipeline(data)  # structure first: the clearest errors come from here
    compute = (data.get("settings") or {}).get("default_compute")
    if compute:
        warnings.append(
            f"settings.default_compute={compute} is Azure-only and ignored locally "
            "(runs on this machine)."
        )
    for name, value in (data.get("inputs") or {}).items():
        if isinstance(value, dict) and value.get("path") is not None:
            value["path"] = local_input_path(
                client, str(value["path"]), base_dir, f"input {name!r}"
            )
    store = client.workspace.root / "snapshots"
    for node_name, body in (data.get("jobs") or {}).items():
        if body.get("compute"):
            warnings.append(
                f"jobs.{node_name}.compute={body['compute']} is Azure-only and ignored locally."
            )
        if body.get("type") == "automl":
            _check_automl_node(client, node_name, body, base_dir, warnings)
            continue
        component = body.get("component") or {}
        code = component.get("code")
        if code:
            source = Path(str(code).removeprefix("file:"))
            source = source if source.is_absolute() else base_dir / source
            if not source.exists():
                raise ConfigError(
                    f"node {node_name!r}: its code folder {str(source)!r} does not exist. Fix "
                    "`code:` in the component (relative paths are read from the YAML's folder)."
                )
            snapshot, _ = snapshot_folder(source, store)
            component["code"] = str(snapshot)
        for key, given in (body.get("inputs") or {}).items():
            if isinstance(given, dict) and given.get("type") in DATA_TYPES and given.get("path"):
                where = f"node {node_name!r} input {key!r}"
                given["path"] = local_input_path(client, str(given["path"]), base_dir, where)
    return data, parse_pipeline(data), warnings


def local_input_path(client: Any, path: str, base_dir: Path, where: str) -> str:
    """An absolute local path (checked now), or a URL / data asset reference (kept as is).

    References are checked now (so a typo fails at submission) but resolved
    when the node runs, so ``@latest`` means the latest version at that time.
    """
    if parse_binding(path, where) is not None or path.startswith(("http://", "https://")):
        return path
    text = path
    if text.startswith("azureml:"):
        rest = text[len("azureml:") :]
        if not rest.startswith(("./", "../", "/")) or rest.startswith("//"):
            _resolve(client, text, base_dir, where)
            return text
        text = rest
    candidate = Path(text).expanduser()
    candidate = candidate if candidate.is_absolute() else base_dir / candidate
    if candidate.exists():
        return str(candidate.resolve())
    resolved = _resolve(client, text, base_dir, where)  # a bare name:version, or an error
    return text if resolved != str(candidate.resolve()) else resolved


def _resolve(client: Any, path: str, base_dir: Path, where: str) -> str:
    from automl_local.backends.local._data import resolve_input_path

    try:
        return resolve_input_path(client, path, base_dir)
    except AutoMLError as exc:
        raise type(exc)(f"{where}: {exc}") from None


def _check_automl_node(
    client: Any, name: str, body: dict[str, Any], base_dir: Path, warnings: list[str]
) -> None:
    """What ``jobs.create_or_update`` checks for an AutoML job, before any data exists."""
    import yaml
    from automl_local.backends.local._convert import settings_from_job
    from azure.ai.ml import load_job

    for key in AUTOML_DATA_INPUTS:
        given = body.get(key)
        path = given.get("path") if isinstance(given, dict) else given
        if isinstance(path, str) and parse_binding(path, f"node {name!r} {key}") is None:
            resolved = local_input_path(client, path, base_dir, f"node {name!r} {key}")
            body[key] = {"type": "mltable", "path": resolved}
    probe = {k: v for k, v in body.items() if k not in ("outputs", "name")}
    for key in AUTOML_DATA_INPUTS:
        if key in probe:
            probe[key] = {"type": "mltable", "path": f"/placeholder/{key}"}
    try:
        job = load_job(source=io.StringIO(yaml.safe_dump(probe)))
    except Exception as exc:
        raise _read_error(f"automl node {name!r}", exc) from None
    node_warnings: list[str] = []
    try:
        settings_from_job(
            job, name=name, base_dir=base_dir, resolve_path=lambda p, _b: p,
            warnings=node_warnings,
        )  # fmt: skip
    except ConfigError as exc:
        raise ConfigError(f"automl node {name!r}: {exc}") from None
    warnings.extend(f"jobs.{name}: {w}" for w in node_warnings)
