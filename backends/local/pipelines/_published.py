"""Published pipelines: ``ml_client.batch_endpoints`` / ``batch_deployments`` for pipelines.

Azure's v2 way to put a pipeline behind a REST trigger is a batch endpoint
whose deployment is a ``PipelineComponentBatchDeployment`` (built from a
pipeline component, or from an existing pipeline job with
``job_definition=``). Locally the deployment stores the prepared pipeline
dict (code snapshotted, so the endpoint keeps running what was published),
and the workspace's control-plane server serves it:

* ``POST /endpoints/<endpoint>/jobs`` (batch-endpoint style), and
* ``POST /pipelines/<name>`` (the classic published-pipeline form, with
  ``{"ExperimentName": ..., "ParameterAssignments": {...}}``),

each starting a pipeline run whose inputs are the given parameters.
``automl-local pipeline publish --job J --name P`` is the short form: an
endpoint ``P`` with a deployment ``default`` made from job ``J``.

Model batch deployments (scoring files in bulk) are not emulated.
"""

from __future__ import annotations

import builtins
import re
import time
from collections.abc import Iterator
from typing import Any

from automl_local.backends.base import LocalPoller

from automl_local.exceptions import ConfigError, NotFoundError
from automl_local.pipelines import DATA_TYPES, parse_pipeline

__all__ = [
    "DEFAULT_DEPLOYMENT",
    "LocalBatchDeploymentOperations",
    "LocalBatchEndpointOperations",
    "coerce_parameters",
    "describe_published",
    "invoke_published",
    "parameters_of",
    "publish_job",
    "published_names",
    "runs_of",
]

ENDPOINT = "batch_endpoint"
DEPLOYMENT = "batch_deployment"
DEFAULT_DEPLOYMENT = "default"
_NAME = re.compile(r"^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$")  # azure-ai-ml's rule, 3-32 chars
_HINT = "List published pipelines with `automl-local pipeline list`."


def _check_name(name: str | None, what: str) -> str:
    if not name or not 3 <= len(str(name)) <= 32 or not _NAME.match(str(name)):
        raise ConfigError(
            f"{what} name {name!r} is not valid: 3-32 characters, letters, digits and '-', "
            "starting with a letter and ending with a letter or digit (Azure's naming rule)."
        )
    return str(name)


# ---------------------------------------------------------------------- parameters


def _coerce(name: str, value: Any, type_: str) -> Any:
    """``value`` as pipeline input ``name`` of ``type_`` wants it, or ConfigError naming it."""
    from azure.ai.ml import Input

    if isinstance(value, Input):  # azure-ai-ml's form: a path for data, a default for a literal
        data = type_ in DATA_TYPES
        first, second = (value.path, value.default) if data else (value.default, value.path)
        value = first if first is not None else second
    bad = ConfigError(
        f"parameter {name!r} must be {_TYPE_WORDS.get(type_, type_)}, got {value!r}."
    )
    if type_ in DATA_TYPES:
        path = getattr(value, "path", value)
        if isinstance(value, dict):
            path = value.get("Uri") or value.get("uri") or value.get("path")
        if not isinstance(path, str) or not path.strip():
            raise ConfigError(
                f"parameter {name!r} is a {type_} input: give a path, URL or "
                f"azureml:<data asset>:<version>, got {value!r}."
            )
        return path.strip()
    if isinstance(value, dict | list):
        raise bad
    if type_ == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise bad
    if type_ == "integer":
        if isinstance(value, bool):
            raise bad
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value.strip()):
            return int(value)
        raise bad
    if type_ == "number":
        if isinstance(value, bool):
            raise bad
        if isinstance(value, int | float):
            return value
        try:
            return float(str(value))
        except ValueError:
            raise bad from None
    if value is None:
        raise bad
    return str(value)


_TYPE_WORDS = {
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "string": "a string",
}


def parameters_of(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each pipeline input: its type, default and whether a caller must give it."""
    spec = parse_pipeline(data)
    bound = {
        i.binding.name
        for n in spec.nodes.values()
        for i in n.inputs.values()
        if i.binding is not None and i.binding.kind == "parent_input" and not i.optional
    }
    out: dict[str, dict[str, Any]] = {}
    for name, pin in spec.inputs.items():
        default = pin.path if pin.path is not None else pin.value
        out[name] = {
            "type": pin.type or "string",
            "default": default,
            "required": default is None and name in bound,
        }
    return out


def coerce_parameters(data: dict[str, Any], given: dict[str, Any] | None) -> dict[str, Any]:
    """Check ``given`` against the pipeline's inputs; return the pipeline dict with them applied.

    Unknown names, wrong types and missing required inputs raise
    :class:`ConfigError` naming the parameter (the HTTP layer turns it into 400).
    """
    import copy

    params = parameters_of(data)
    given = dict(given or {})
    unknown = sorted(set(given) - set(params))
    if unknown:
        raise ConfigError(
            f"unknown parameter {unknown[0]!r}; this pipeline takes: "
            f"{', '.join(sorted(params)) or 'no parameters'}."
        )
    out = copy.deepcopy(data)
    inputs = out.setdefault("inputs", {})
    for name, info in params.items():
        if name not in given:
            if info["required"]:
                raise ConfigError(
                    f"parameter {name!r} is required ({info['type']}) and has no default; "
                    f"give it in ParameterAssignments / inputs."
                )
            continue
        value = _coerce(name, given[name], info["type"])
        if info["type"] in DATA_TYPES:
            inputs[name] = {"type": info["type"], "path": value}
        else:
            inputs[name] = value
    return out


# ---------------------------------------------------------------------- publish / invoke


def publish_job(
    client: Any, job_name: str, name: str, *, description: str | None = None
) -> dict[str, Any]:
    """``pipeline publish --job J --name P``: endpoint P, deployment ``default`` from job J."""
    from azure.ai.ml.entities import BatchEndpoint, PipelineComponentBatchDeployment

    _check_name(name, "published pipeline")
    endpoints = LocalBatchEndpointOperations(client)
    if client.workspace.catalogue.get(ENDPOINT, name) is None:
        endpoints.begin_create_or_update(
            BatchEndpoint(name=name, description=description)
        ).result()
    deployment = PipelineComponentBatchDeployment(
        name=DEFAULT_DEPLOYMENT, endpoint_name=name,
        job_definition=job_name,  # type: ignore[arg-type]  # a job name: azure-ai-ml takes it
        description=description or f"published from pipeline job {job_name}",
    )  # fmt: skip
    LocalBatchDeploymentOperations(client).begin_create_or_update(deployment).result()
    return describe_published(client, name)


def describe_published(client: Any, name: str) -> dict[str, Any]:
    """What a caller needs to trigger endpoint ``name``: URLs, deployment, parameters."""
    from automl_local.backends.local.pipelines._control_plane import server_url

    endpoint = client.workspace.catalogue.require(ENDPOINT, name, hint=_HINT)
    deployment_name = endpoint.get("default_deployment")
    deployment = (
        client.workspace.catalogue.get(DEPLOYMENT, f"{name}/{deployment_name}")
        if deployment_name
        else None
    )
    base = server_url(client.workspace)
    return {
        "name": name,
        "description": endpoint.get("description"),
        "default_deployment": deployment_name,
        "deployments": [d["name"] for d in _deployments(client, name)],
        "source": (deployment or {}).get("source"),
        "parameters": (deployment or {}).get("parameters", {}),
        "endpoint_url": f"{base}/endpoints/{name}/jobs" if base else None,
        "pipeline_url": f"{base}/pipelines/{name}" if base else None,
        "server": "running" if base else "stopped (automl-local server start)",
        "created_at": endpoint.get("created_at"),
    }


def published_names(client: Any) -> list[str]:
    """The names of the batch endpoints (published pipelines) of the workspace."""
    return [str(r["name"]) for r in client.workspace.catalogue.list(ENDPOINT)]


def _deployments(client: Any, endpoint: str) -> list[dict[str, Any]]:
    return [
        d
        for d in client.workspace.catalogue.list(DEPLOYMENT)
        if d.get("endpoint_name") == endpoint
    ]


def invoke_published(
    client: Any,
    endpoint: str,
    *,
    deployment: str | None = None,
    parameters: dict[str, Any] | None = None,
    experiment_name: str | None = None,
    description: str | None = None,
    tags: dict[str, str] | None = None,
    via: str = "python",
    as_entity: bool = True,
) -> Any:
    """Start a run of a published pipeline; return its ``PipelineJob`` (or its job record)."""
    from automl_local.backends.local.pipelines._jobs import start_pipeline

    record = client.workspace.catalogue.require(ENDPOINT, endpoint, hint=_HINT)
    chosen = deployment or record.get("default_deployment")
    if not chosen:
        raise ConfigError(
            f"batch endpoint {endpoint!r} has no default deployment; name one "
            "(deployment_name= / header azureml-model-deployment) or set endpoint.defaults."
        )
    body = client.workspace.catalogue.get(DEPLOYMENT, f"{endpoint}/{chosen}")
    if body is None:
        raise NotFoundError(
            f"batch endpoint {endpoint!r} has no deployment {chosen!r}; it has: "
            f"{', '.join(d['name'] for d in _deployments(client, endpoint)) or 'none'}."
        )
    data = coerce_parameters(body["pipeline"], parameters)
    _check_data_parameters(client, body, data, parameters or {})
    origin = {"endpoint": endpoint, "deployment": chosen, "via": via}
    return start_pipeline(
        client, data, base_dir=body.get("base_dir"), experiment_name=experiment_name,
        tags={**(body.get("tags") or {}), **(tags or {})}, description=description,
        warnings=body.get("warnings"), origin=origin, as_entity=as_entity,
    )  # fmt: skip


def _check_data_parameters(
    client: Any, body: dict[str, Any], data: dict[str, Any], given: dict[str, Any]
) -> None:
    """Data given as parameters must exist now (400 at the trigger, not a failed run later)."""
    from pathlib import Path

    from automl_local.backends.local.pipelines._spec import local_input_path

    base_dir = Path(body.get("base_dir") or client.workspace.root)
    for name, value in (data.get("inputs") or {}).items():
        if name in given and isinstance(value, dict) and value.get("path") is not None:
            value["path"] = local_input_path(
                client, str(value["path"]), base_dir, f"parameter {name!r}"
            )


def runs_of(client: Any, endpoint: str) -> list[dict[str, Any]]:
    """Job records of the runs started through ``endpoint``, newest first."""
    client.workspace.catalogue.require(ENDPOINT, endpoint, hint=_HINT)
    return [
        r
        for r in reversed(client.workspace.catalogue.list("job"))
        if r.get("type") == "pipeline" and (r.get("origin") or {}).get("endpoint") == endpoint
    ]


# ---------------------------------------------------------------------- operation groups


class LocalBatchEndpointOperations:
    """``MLClient.batch_endpoints`` for pipeline deployments on the control-plane server."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._ws = client.workspace

    def begin_create_or_update(self, endpoint: Any, **kwargs: Any) -> LocalPoller[Any]:
        def create() -> Any:
            from automl_local.backends.local.pipelines._control_plane import ensure_server

            name = _check_name(endpoint.name, "batch endpoint")
            existing = self._ws.catalogue.get(ENDPOINT, name) or {}
            defaults = endpoint.defaults
            default = (
                defaults.get("deployment_name")
                if isinstance(defaults, dict)
                else getattr(defaults, "deployment_name", None)
            )
            if default and self._ws.catalogue.get(DEPLOYMENT, f"{name}/{default}") is None:
                raise NotFoundError(
                    f"defaults.deployment_name {default!r}: batch endpoint {name!r} has no such "
                    "deployment. Create the deployment first."
                )
            self._ws.catalogue.put(ENDPOINT, name, {
                "name": name, "description": endpoint.description,
                "tags": dict(endpoint.tags or {}), "auth_mode": endpoint.auth_mode or "key",
                "default_deployment": default or existing.get("default_deployment"),
                "created_at": existing.get("created_at", time.time()),
            })  # fmt: skip
            ensure_server(self._ws)
            return self.get(name)

        return LocalPoller(create)

    def get(self, name: str, **kwargs: Any) -> Any:
        from automl_local.backends.local.pipelines._control_plane import server_url
        from azure.ai.ml._restclient.arm_ml_service.models import BatchEndpointDefaults
        from azure.ai.ml.entities import BatchEndpoint

        record = self._ws.catalogue.require(ENDPOINT, name, hint=_HINT)
        base = server_url(self._ws)
        default = record.get("default_deployment")
        return BatchEndpoint(
            name=name, description=record.get("description"), tags=record.get("tags"),
            auth_mode=record.get("auth_mode"),
            # azure-ai-ml's annotation says dict; it reads the REST model (Azure returns one)
            defaults=BatchEndpointDefaults(deployment_name=default)  # type: ignore[arg-type]
            if default else None,
            scoring_uri=f"{base}/endpoints/{name}/jobs" if base else None,
            openapi_uri=f"{base}/openapi.json" if base else None,
            provisioning_state="Succeeded",
        )  # fmt: skip

    def list(self, **kwargs: Any) -> Iterator[Any]:
        for record in self._ws.catalogue.list(ENDPOINT):
            yield self.get(record["name"])

    def begin_delete(self, name: str, **kwargs: Any) -> LocalPoller[None]:
        def delete() -> None:
            self._ws.catalogue.require(ENDPOINT, name, hint=_HINT)
            for d in _deployments(self._client, name):
                self._ws.catalogue.delete(DEPLOYMENT, f"{name}/{d['name']}")
            self._ws.catalogue.delete(ENDPOINT, name)

        return LocalPoller(delete)

    def invoke(
        self,
        endpoint_name: str,
        *,
        deployment_name: str | None = None,
        inputs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        """Start a run; returns a ``BatchJob`` (``ml_client.jobs.stream(job.name)`` follows it)."""
        from azure.ai.ml.entities._deployment.batch_job import BatchJob

        unsupported = sorted(set(kwargs) - {"experiment_name", "job_name", "params_override"})
        if unsupported:
            raise ConfigError(
                f"batch_endpoints.invoke got {', '.join(unsupported)}, which the local backend "
                "does not support for pipeline deployments; pass inputs= (and experiment_name=)."
            )
        job = invoke_published(
            self._client, endpoint_name, deployment=deployment_name, parameters=inputs,
            experiment_name=kwargs.get("experiment_name"), via="python", as_entity=False,
        )  # fmt: skip
        return BatchJob(id=job["name"], name=job["name"], type="pipeline", status=job["status"])

    def list_jobs(self, endpoint_name: str) -> builtins.list[Any]:
        from azure.ai.ml.entities._deployment.batch_job import BatchJob

        return [
            BatchJob(id=r["name"], name=r["name"], type="pipeline", status=r.get("status"))
            for r in runs_of(self._client, endpoint_name)
        ]


class LocalBatchDeploymentOperations:
    """``MLClient.batch_deployments`` for ``PipelineComponentBatchDeployment``."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._ws = client.workspace

    def begin_create_or_update(self, deployment: Any, **kwargs: Any) -> LocalPoller[Any]:
        return LocalPoller(lambda: self._create(deployment))

    def _create(self, deployment: Any) -> Any:
        import os
        from pathlib import Path

        from automl_local.backends.local.pipelines._spec import (
            component_dict,
            pipeline_job_dict,
            prepare_pipeline,
        )
        from azure.ai.ml.entities import PipelineComponentBatchDeployment

        if not isinstance(deployment, PipelineComponentBatchDeployment):
            raise ConfigError(
                f"batch_deployments.begin_create_or_update got a {type(deployment).__name__}; "
                "the local backend serves pipeline deployments "
                "(PipelineComponentBatchDeployment). Model batch deployments need --backend azure."
            )
        endpoint = _check_name(deployment.endpoint_name, "batch endpoint")
        name = _check_name(deployment.name, "batch deployment")
        endpoint_record = self._ws.catalogue.get(ENDPOINT, endpoint)
        if endpoint_record is None:
            raise NotFoundError(
                f"batch endpoint {endpoint!r} does not exist; create it first "
                "(ml_client.batch_endpoints.begin_create_or_update(BatchEndpoint(name=...)))."
            )
        settings = dict(deployment.settings or {})
        base_dir = Path(getattr(deployment, "base_path", None) or os.getcwd())
        source: dict[str, Any]
        definition = deployment.job_definition
        if definition is not None and deployment.component is not None:
            raise ConfigError("give a batch deployment either component= or job_definition=.")
        if isinstance(definition, str):
            job_name = definition.removeprefix("azureml:")
            data, base_dir, warnings = self._from_job(job_name)
            source = {"job": job_name}
        elif definition is not None:
            from azure.ai.ml.entities import PipelineJob

            if not isinstance(definition, PipelineJob):
                raise ConfigError(
                    f"job_definition must be a PipelineJob or a job name, got "
                    f"{type(definition).__name__}."
                )
            base_dir = Path(getattr(definition, "base_path", None) or base_dir)
            data, _, warnings = prepare_pipeline(
                self._client, pipeline_job_dict(definition), base_dir
            )
            source = {"job_definition": definition.display_name or "pipeline job"}
        elif deployment.component is not None:
            component = deployment.component
            if isinstance(component, str):
                raise ConfigError(
                    f"component {component!r} is a registered component; the local backend has "
                    "no component registry. Give the component YAML (component: "
                    "./pipeline-component.yml) or job_definition: azureml:<pipeline job>."
                )
            base_dir = Path(getattr(component, "base_path", None) or base_dir)
            data, _, warnings = prepare_pipeline(
                self._client, component_dict(component, settings), base_dir
            )
            source = {"component": getattr(component, "name", None) or "pipeline component"}
        else:
            raise ConfigError(
                f"batch deployment {name!r} has neither component= nor job_definition=; give one."
            )
        if settings:
            data.setdefault("settings", {}).update(
                {k: v for k, v in settings.items() if k in ("continue_on_step_failure",
                                                           "force_rerun", "default_compute")}
            )  # fmt: skip
        existing = self._ws.catalogue.get(DEPLOYMENT, f"{endpoint}/{name}") or {}
        self._ws.catalogue.put(DEPLOYMENT, f"{endpoint}/{name}", {
            "name": name, "endpoint_name": endpoint, "description": deployment.description,
            "tags": dict(deployment.tags or {}), "settings": settings, "pipeline": data,
            "base_dir": str(base_dir), "parameters": parameters_of(data), "source": source,
            "warnings": warnings, "created_at": existing.get("created_at", time.time()),
            "updated_at": time.time(),
        })  # fmt: skip
        if not endpoint_record.get("default_deployment"):
            self._ws.catalogue.update(ENDPOINT, endpoint, {"default_deployment": name})
        return self.get(name, endpoint)

    def _from_job(self, job_name: str) -> tuple[dict[str, Any], Any, list[str]]:
        import json
        from pathlib import Path

        record = self._ws.catalogue.get("job", job_name)
        if record is None:
            raise NotFoundError(
                f"job_definition: job {job_name!r} was not found in the workspace. List jobs "
                "with `automl-local job list`."
            )
        if record.get("type") != "pipeline":
            raise ConfigError(
                f"job_definition: job {job_name!r} is a {record.get('type')} job; publish a "
                "pipeline job."
            )
        data = json.loads((self._ws.job_dir(job_name) / "pipeline.json").read_text())
        return data, Path(record.get("base_dir") or "."), list(record.get("warnings") or [])

    def get(self, name: str, endpoint_name: str, **kwargs: Any) -> Any:
        from azure.ai.ml.entities import PipelineComponentBatchDeployment

        record = self._ws.catalogue.require(DEPLOYMENT, f"{endpoint_name}/{name}", hint=_HINT)
        source = record.get("source") or {}
        return PipelineComponentBatchDeployment(
            name=name, endpoint_name=endpoint_name, description=record.get("description"),
            tags=record.get("tags"), settings=record.get("settings") or None,
            job_definition=source.get("job"),
        )  # fmt: skip

    def list(self, endpoint_name: str, **kwargs: Any) -> Iterator[Any]:
        for record in _deployments(self._client, endpoint_name):
            yield self.get(record["name"], endpoint_name)

    def begin_delete(self, name: str, endpoint_name: str, **kwargs: Any) -> LocalPoller[None]:
        def delete() -> None:
            self._ws.catalogue.require(DEPLOYMENT, f"{endpoint_name}/{name}", hint=_HINT)
            endpoint = self._ws.catalogue.get(ENDPOINT, endpoint_name) or {}
            if endpoint.get("default_deployment") == name:
                raise ConfigError(
                    f"deployment {name!r} is the default of batch endpoint {endpoint_name!r}; "
                    "make another deployment the default, or delete the endpoint."
                )
            self._ws.catalogue.delete(DEPLOYMENT, f"{endpoint_name}/{name}")

        return LocalPoller(delete)

    def list_jobs(self, endpoint_name: str, *, name: str | None = None) -> builtins.list[Any]:
        from azure.ai.ml.entities._deployment.batch_job import BatchJob

        return [
            BatchJob(id=r["name"], name=r["name"], type="pipeline", status=r.get("status"))
            for r in runs_of(self._client, endpoint_name)
            if name is None or (r.get("origin") or {}).get("deployment") == name
        ]
