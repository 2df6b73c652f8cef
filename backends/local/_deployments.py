"""``ml_client.online_deployments`` for the local workspace.

A deployment is a registered model plus request settings, served by its
endpoint's process. A no-code deployment (an MLflow model, no
``code_configuration``) is scored inside that process. A deployment with
``code_configuration`` (``custom_model`` or ``mlflow_model``) runs its scoring
script's ``init()``/``run()`` in Azure's own inference server
(``azureml-inference-server-http``) in the deployment's built ``environment``,
with ``AZUREML_MODEL_DIR`` laid out as on Azure (see ``_scripted``); the
endpoint's process forwards its requests. The script's prints, ``logging``
lines and tracebacks are in ``get_logs``; an ``init()`` that raises fails the
deployment. Creating or changing one restarts that process (the
models are loaded at start) and returns once ``GET /`` answers ``Healthy``.
If it does not come up, the deployment is marked ``Failed``, the endpoint
goes back to serving what it served before, and the error carries the log.

``request_settings`` are honoured by the server (``max_concurrent_requests_per_instance``
threads per worker and 429 beyond twice that many in flight, ``request_timeout_ms`` -> 408),
``readiness_probe`` by the start-up (``_probes``). Azure fields with no local meaning are
accepted so Azure specs load as they are, with a warning: ``instance_type`` (one machine
here; ``instance_count`` becomes the number of uvicorn worker processes), ``environment``
without ``code_configuration`` (a no-code MLflow deployment is served in automl-local's own
environment, as Azure builds one from the MLmodel), ``max_queue_wait_ms`` (deprecated by
Azure) and scale settings.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from automl_local.backends.base import LocalPoller
from automl_local.backends.local import _servers
from automl_local.backends.local._endpoint_specs import validate_name
from automl_local.backends.local._probes import probe_settings
from automl_local.backends.local._scripted import ScriptPlan, plan_script, prepare_script
from automl_local.backends.local._serving import (
    DEPLOYMENT_KIND,
    converge,
    deployment_key,
    deployment_records,
    is_running,
    now,
    require_deployment,
    require_endpoint,
    served_entry,
)

from automl_local.exceptions import ConfigError, ServiceError

if TYPE_CHECKING:
    from azure.ai.ml.entities import ManagedOnlineDeployment, OnlineDeployment

__all__ = ["LocalOnlineDeploymentOperations"]

logger = logging.getLogger(__name__)

# Azure's service defaults (reference-yaml-deployment-managed-online).
DEFAULT_REQUEST_TIMEOUT_MS = 5000
MAX_REQUEST_TIMEOUT_MS = 180000
DEFAULT_MAX_CONCURRENT = 1
STORAGE_INITIALIZER_LOG = "storage-initializer.log"
# Written by the scoring server (service/_script_children.py) when a scoring script's
# server dies after start-up; removed when it starts again.
SCRIPT_EXITED = "script-exited.txt"


class LocalOnlineDeploymentOperations:
    """Online deployments of a local workspace, with ``OnlineDeploymentOperations``' methods."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._ws = client.workspace

    def begin_create_or_update(
        self, deployment: OnlineDeployment, *, local: bool = False,
        startup_timeout: float | None = None, **kwargs: Any,
    ) -> LocalPoller[ManagedOnlineDeployment]:
        """Deploy (or redeploy) and wait until the endpoint's server is healthy.

        The spec is checked and the model resolved before the poller is
        returned; the restart runs inside it, so ``.result()`` raises
        ServiceError (with the server log tail) if the server does not start.
        Re-running it with the same spec brings back a server that died.
        """
        from azure.ai.ml.entities import OnlineDeployment

        if not isinstance(deployment, OnlineDeployment):
            raise ConfigError(
                "online_deployments.begin_create_or_update takes a ManagedOnlineDeployment "
                f"(or load_online_deployment('deployment.yml')), got {type(deployment).__name__}."
            )
        name = validate_name(deployment.name, "online deployment")
        if not deployment.endpoint_name:
            raise ConfigError(
                f"deployment {name!r} has no endpoint_name: set it in the YAML or pass "
                "--endpoint-name."
            )
        endpoint_name = validate_name(deployment.endpoint_name, "online endpoint")
        require_endpoint(self._ws, endpoint_name)
        plan = plan_script(deployment, name, self._ws)
        record = self._record_from_entity(deployment, name, endpoint_name, plan)
        key = deployment_key(endpoint_name, name)
        previous = self._ws.catalogue.get(DEPLOYMENT_KIND, key)
        record["created_at"] = previous["created_at"] if previous else now()
        folder = self._ws.endpoint_dir(endpoint_name) / "deployments" / name
        self._write_storage_log(endpoint_name, name, deployment.model, record)

        def run() -> ManagedOnlineDeployment:
            if plan is not None:  # before any record: a failed build leaves nothing behind
                record["served_script"] = prepare_script(
                    plan, self._ws, folder, self._client.models.get(
                        record["model_name"], record["model_version"]),
                    _log_to(folder / "deployment.log"),
                )  # fmt: skip
            state = "Updating" if previous else "Creating"
            self._ws.catalogue.put(DEPLOYMENT_KIND, key, {**record, "provisioning_state": state})
            served = dict(require_endpoint(self._ws, endpoint_name).get("served", {}))
            served[name] = served_entry(record)
            try:
                converge(self._ws, endpoint_name, {"served": served}, timeout=startup_timeout)
            except Exception as exc:
                self._ws.catalogue.put(
                    DEPLOYMENT_KIND, key, {**record, "provisioning_state": "Failed",
                                           "error": str(exc)},
                )
                if not isinstance(exc, ServiceError):
                    raise
                raise ServiceError(
                    f"deployment {name!r} of endpoint {endpoint_name!r} failed to start; the "
                    f"endpoint keeps serving its previous deployments. {exc}"
                ) from None
            self._ws.catalogue.put(
                DEPLOYMENT_KIND, key, {**record, "provisioning_state": "Succeeded", "error": None}
            )
            logger.info("deployment %s/%s is serving %s:%s", endpoint_name, name,
                        record["model_name"], record["model_version"])
            return self.get(name, endpoint_name)

        return LocalPoller(run)

    def get(self, name: str, endpoint_name: str, *, local: bool = False,
            **kwargs: Any) -> ManagedOnlineDeployment:
        """The deployment; ``provisioning_state`` is ``Failed`` if its server is not running."""
        return self._entity(require_deployment(self._ws, name, endpoint_name))

    def list(self, endpoint_name: str, *, local: bool = False,
             **kwargs: Any) -> list[ManagedOnlineDeployment]:
        require_endpoint(self._ws, endpoint_name)
        return [self._entity(r) for r in deployment_records(self._ws, endpoint_name)]

    def get_logs(self, name: str, endpoint_name: str, lines: int, *,
                 container_type: str | None = None, local: bool = False, **kwargs: Any) -> str:
        """The last ``lines`` lines of the deployment's log.

        ``InferenceServer`` (default): the server's start-up lines and one JSON
        line per request (with ``app_insights_enabled``); while the server is
        down, the tail of ``server.log`` follows, to show why.
        ``StorageInitializer``: where the model was taken from.
        """
        record = require_deployment(self._ws, name, endpoint_name)
        lines = int(lines)
        if lines < 0:
            raise ConfigError(f"lines must be 0 or more, got {lines}.")
        folder = self._ws.endpoint_dir(endpoint_name) / "deployments" / name
        kind = (container_type or "InferenceServer").replace("-", "").lower()
        if kind == "storageinitializer":
            return _servers.tail(folder / STORAGE_INITIALIZER_LOG, lines)
        if kind != "inferenceserver":
            raise ConfigError(
                f"container_type {container_type!r} is not known: use InferenceServer or "
                "StorageInitializer."
            )
        text = _servers.tail(folder / "deployment.log", lines)
        endpoint = require_endpoint(self._ws, endpoint_name)
        if record.get("provisioning_state") == "Failed" or not is_running(self._ws, endpoint):
            server_log = self._ws.endpoint_dir(endpoint_name) / _servers.SERVER_LOG
            text += f"--- {server_log} (last {lines} lines) ---\n"
            text += _servers.tail(server_log, lines)
        return text

    def begin_delete(self, name: str, endpoint_name: str, *, local: bool = False,
                     **kwargs: Any) -> LocalPoller[None]:
        """Remove a deployment; refused while it still takes traffic (as on Azure)."""
        require_deployment(self._ws, name, endpoint_name)
        endpoint = require_endpoint(self._ws, endpoint_name)
        share = endpoint.get("traffic", {}).get(name, 0)
        mirror = endpoint.get("mirror_traffic", {}).get(name, 0)
        if share or mirror:
            others = [d for d in endpoint.get("served", {}) if d != name]
            example = f"{others[0]}=100" if others else f"{name}=0"
            raise ConfigError(
                f"deployment {name!r} still takes {share or mirror} % of the traffic of endpoint "
                f"{endpoint_name!r} ({'live' if share else 'mirrored'}). Move it first: "
                f"`automl-local online-endpoint update --name {endpoint_name} --traffic "
                f'"{example}"`, then delete the deployment.'
            )

        def run() -> None:
            current = require_endpoint(self._ws, endpoint_name)
            served = {d: s for d, s in current.get("served", {}).items() if d != name}
            converge(self._ws, endpoint_name, {"served": served})
            self._ws.catalogue.delete(DEPLOYMENT_KIND, deployment_key(endpoint_name, name))
            logger.info("deleted deployment %s/%s", endpoint_name, name)

        return LocalPoller(run)

    # --------------------------------------------------------------- helpers

    def _record_from_entity(self, deployment: OnlineDeployment, name: str,
                            endpoint_name: str, plan: ScriptPlan | None) -> dict[str, Any]:
        if deployment.model is None:
            raise ConfigError(
                f"deployment {name!r} has no model: set model: azureml:<name>:<version> "
                "(a registered model) or a local model folder."
            )
        model = self._client.models.resolve(
            deployment.model, anonymous_name=f"{endpoint_name}-{name}-model"
        )
        if plan is None and model.type != "mlflow_model":
            raise ConfigError(
                f"deployment {name!r}: model {model.name}:{model.version} is a {model.type}, "
                "which needs a scoring script: add code_configuration (code: <folder>, "
                "scoring_script: score.py) and an environment, or deploy an MLflow model "
                "(type mlflow_model) without one."
            )
        if not Path(str(model.path)).exists() or (
            plan is None and not (Path(str(model.path)) / "MLmodel").is_file()
        ):
            raise ConfigError(
                f"deployment {name!r}: the files of model {model.name}:{model.version} are "
                f"missing ({model.path}). Register the model again."
            )
        count = deployment.instance_count if deployment.instance_count is not None else 1
        if not isinstance(count, int) or count < 1:
            raise ConfigError(
                f"deployment {name!r}: instance_count must be a whole number of at least 1, "
                f"got {count!r}."
            )
        settings = deployment.request_settings
        timeout_ms = getattr(settings, "request_timeout_ms", None) or DEFAULT_REQUEST_TIMEOUT_MS
        if not 1 <= int(timeout_ms) <= MAX_REQUEST_TIMEOUT_MS:
            raise ConfigError(
                f"deployment {name!r}: request_settings.request_timeout_ms must be 1.."
                f"{MAX_REQUEST_TIMEOUT_MS}, got {timeout_ms}."
            )
        concurrent = (getattr(settings, "max_concurrent_requests_per_instance", None)
                      or DEFAULT_MAX_CONCURRENT)
        if int(concurrent) < 1:
            raise ConfigError(
                f"deployment {name!r}: request_settings.max_concurrent_requests_per_instance "
                f"must be at least 1, got {concurrent}."
            )
        probes = {
            which: probe_settings(getattr(deployment, which, None), name, which)
            for which in ("readiness_probe", "liveness_probe")
        }
        self._warn_ignored(deployment, name, count, plan)
        env = {str(k): str(v) for k, v in (deployment.environment_variables or {}).items()}
        script = None if plan is None else {
            "code": str(plan.code_dir), "scoring_script": plan.scoring_script,
            "environment": plan.environment_label,
        }  # fmt: skip
        return {
            "code_configuration": script,
            "name": name,
            "endpoint_name": endpoint_name,
            "description": deployment.description,
            "tags": dict(deployment.tags or {}),
            "properties": {str(k): str(v) for k, v in (deployment.properties or {}).items()},
            "model": f"azureml:{model.name}:{model.version}",
            "model_name": model.name,
            "model_version": model.version,
            "model_dir": str(Path(str(model.path)).resolve()),
            "instance_type": deployment.instance_type,
            "instance_count": count,
            "request_timeout_ms": int(timeout_ms),
            "max_concurrent_requests_per_instance": int(concurrent),
            "app_insights_enabled": bool(deployment.app_insights_enabled),
            "environment_variables": env,
            **probes,
            "updated_at": now(),
        }

    @staticmethod
    def _warn_ignored(deployment: OnlineDeployment, name: str, count: int,
                      plan: ScriptPlan | None) -> None:
        if getattr(deployment.request_settings, "max_queue_wait_ms", None):
            logger.warning(
                "deployment %s: request_settings.max_queue_wait_ms is deprecated by Azure and "
                "not used here: a request waits for a thread within request_timeout_ms.", name,
            )
        if deployment.instance_type:
            logger.warning(
                "deployment %s: instance_type %s is ignored locally; it runs as %d worker "
                "process(es) on this machine (instance_count).", name,
                deployment.instance_type, count,
            )
        if plan is None and deployment.environment:
            logger.warning(
                "deployment %s: environment is not used by a no-code deployment: the MLflow "
                "model is served in automl-local's own environment. Add code_configuration "
                "(a scoring script) to run in that environment.", name,
            )

    def _write_storage_log(self, endpoint_name: str, name: str, reference: Any,
                           record: dict[str, Any]) -> None:
        folder = self._ws.endpoint_dir(endpoint_name) / "deployments" / name
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / STORAGE_INITIALIZER_LOG, "a", encoding="utf-8") as fh:
            source = getattr(reference, "path", None) or reference
            fh.write(
                f"{now()} model {record['model']} (requested as {source}) ready at "
                f"{record['model_dir']}\n"
            )

    def _entity(self, record: dict[str, Any]) -> ManagedOnlineDeployment:
        from azure.ai.ml.entities import (
            CodeConfiguration,
            ManagedOnlineDeployment,
            OnlineRequestSettings,
        )

        state = record.get("provisioning_state", "Succeeded")
        endpoint = require_endpoint(self._ws, record["endpoint_name"])
        folder = self._ws.endpoint_dir(record["endpoint_name"]) / "deployments" / record["name"]
        if state == "Succeeded" and (
            not is_running(self._ws, endpoint) or (folder / SCRIPT_EXITED).exists()
        ):
            state = "Failed"
        return ManagedOnlineDeployment(
            name=record["name"],
            endpoint_name=record["endpoint_name"],
            description=record.get("description"),
            tags=record.get("tags") or {},
            properties=record.get("properties") or {},
            model=record["model"],
            instance_type=record.get("instance_type"),
            instance_count=record.get("instance_count"),
            request_settings=OnlineRequestSettings(
                request_timeout_ms=record["request_timeout_ms"],
                max_concurrent_requests_per_instance=record[
                    "max_concurrent_requests_per_instance"],
            ),
            readiness_probe=_probe_entity(record.get("readiness_probe")),
            liveness_probe=_probe_entity(record.get("liveness_probe")),
            app_insights_enabled=record.get("app_insights_enabled", False),
            environment_variables=record.get("environment_variables") or {},
            provisioning_state=state,
            code_configuration=None if not (code := record.get("code_configuration")) else
            CodeConfiguration(code=code["code"], scoring_script=code["scoring_script"]),
            environment=code["environment"] if code else None,
        )


def _log_to(path: Path) -> Any:
    """A one-line logger appending to the deployment log (what get-logs shows)."""

    def write(line: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(f"{now()} INFO {line}\n")
        logger.info("%s", line)

    return write


def _probe_entity(settings: dict[str, int] | None) -> Any:
    from azure.ai.ml.entities import ProbeSettings

    return None if settings is None else ProbeSettings(**settings)
