"""A fake Azure ML workspace: ARM resources, run history, MLflow, scoring."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from automl_local.backends.azure.testing._blobs import FakeBlobStorage
from automl_local.backends.azure.testing._pipelines import PipelineServices
from automl_local.backends.azure.testing._transport import (
    FakeAzureTransport,
    FakeResponse,
    RecordedRequest,
)

__all__ = ["FakeAzureML"]


_ARM_HOST = r"management\.azure\.com"
_WS = (
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)"
    r"/providers/Microsoft\.MachineLearningServices/workspaces/(?P<ws>[^/]+)"
)
# ARM collections whose items the fake keeps: URL segment -> fixture file stem.
_COLLECTIONS = {
    "jobs": "job",
    "data": "data_version",
    "models": "model_version",
    "onlineEndpoints": "online_endpoint",
    "deployments": "online_deployment",
    "batchEndpoints": "batch_endpoint",
    "batchDeployments": "batch_deployment",
    "schedules": "schedule",
    "codes": "code_version",
    "components": "component_version",
    "environments": "environment_version",
}
_LRO_COLLECTIONS = {"onlineEndpoints", "deployments", "batchEndpoints", "batchDeployments",
                    "schedules"}


def _deep_merge(base: Any, overlay: Any) -> Any:
    if isinstance(base, dict) and isinstance(overlay, dict):
        merged = dict(base)
        for key, value in overlay.items():
            merged[key] = _deep_merge(base.get(key), value)
        return merged
    return overlay


def _fill(template: Any, values: dict[str, str]) -> Any:
    """Replace ``${key}`` in every string of a JSON template."""
    if isinstance(template, dict):
        return {_fill(k, values): _fill(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [_fill(v, values) for v in template]
    if isinstance(template, str):
        return re.sub(r"\$\{(\w+)\}", lambda m: values.get(m[1], m[0]), template)
    return template


class FakeAzureML:
    """One Azure ML workspace behind a :class:`FakeAzureTransport`.

    It keeps what clients PUT (jobs, data and model versions, endpoints,
    deployments, schedules) and answers GET / list / DELETE from that store,
    with the fields Azure adds server-side (``provisioningState``, ``status``,
    ``scoringUri``, ...) taken from JSON fixtures in ``fixtures_dir``: a
    fixture's ``defaults`` fill what the request left out, ``created`` is
    what the PUT answers with, ``stored`` what later GETs see. The
    other calls of the AutoML flow (workspace, discovery, datastores and
    secrets, run history, model URIs, MLflow, endpoint keys, logs, scoring)
    are answered from fixtures too. Fixture strings may use ``${name}``,
    ``${sub}``, ``${rg}``, ``${ws}``, ``${endpoint}``, ``${location}``.

    Its AutoML "trains" :attr:`best_model_dir` (an MLflow model folder, if
    set): when a job is submitted, those files appear in the artifact store
    as the best trial's ``outputs/mlflow-model/``, where Azure puts them.
    A pipeline job gets one child run per node (see
    :class:`~backends.azure.testing._pipelines.PipelineServices`, which also
    serves code uploads, schedule triggers and batch-endpoint invocations).
    """

    location = "eastus"

    def __init__(self, fixtures_dir: str | Path, transport: FakeAzureTransport | None = None,
                 *, subscription_id: str = "00000000-0000-0000-0000-000000000000",
                 resource_group: str = "rg-automl", workspace: str = "ws-automl") -> None:
        self.fixtures = Path(fixtures_dir)
        self.transport = transport or FakeAzureTransport()
        self.storage = FakeBlobStorage()
        self.sub, self.rg, self.ws = subscription_id, resource_group, workspace
        self.resources: dict[str, dict[str, Any]] = {}  # ARM path (lower case) -> body
        self.keys: dict[str, dict[str, str]] = {}  # endpoint -> {"primaryKey", "secondaryKey"}
        self.score_response: Any = self.fixture("score_response")
        self.best_model_dir: Path | None = None
        self.pipelines = PipelineServices(self)
        self._install()

    # -- fixtures -----------------------------------------------------------
    def values(self, **extra: str) -> dict[str, str]:
        return {"sub": self.sub, "rg": self.rg, "ws": self.ws, "location": self.location,
                **extra}

    def fixture(self, stem: str, **extra: str) -> Any:
        path = self.fixtures / f"{stem}.json"
        return _fill(json.loads(path.read_text()), self.values(**extra))

    @property
    def workspace_path(self) -> str:
        return (f"/subscriptions/{self.sub}/resourceGroups/{self.rg}/providers/"
                f"Microsoft.MachineLearningServices/workspaces/{self.ws}")

    # -- routes -------------------------------------------------------------
    def _install(self) -> None:
        t = self.transport  # routes added later take precedence
        t.add("*", _WS + r"/(?P<kind>[A-Za-z]+)(?:/(?P<name>[^/]+)"
              r"(?:/versions(?:/(?P<version>[^/]+))?)?)?$", self._resource, host=_ARM_HOST)
        t.add("*", _WS + r"/onlineEndpoints/(?P<endpoint>[^/]+)/(?P<kind>deployments)"
              r"(?:/(?P<name>[^/]+))?$", self._resource, host=_ARM_HOST)
        t.add("*", _WS + r"/batchEndpoints/(?P<endpoint>[^/]+)/deployments(?:/(?P<name>[^/]+))?$",
              lambda r, m: self._resource(r, m, kind="batchDeployments"), host=_ARM_HOST)
        self.storage.install(t)
        self.pipelines.install(t)
        t.add("GET", r"/MLTable\.schema\.json$", self.fixture("mltable_schema"),
              host=r"azuremlschemas\w*\.azureedge\.net")
        t.add("GET", _WS + r"$", lambda r, m: FakeResponse(200, self.fixture("workspace")),
              host=_ARM_HOST)
        t.add("GET", r"^/discovery$", lambda r, m: FakeResponse(200, self.fixture("discovery")),
              host=r"[a-z0-9]+\.api\.azureml\.ms")
        t.add("GET", _WS + r"/datastores/(?P<ds>[^/]+)$", self._datastore, host=_ARM_HOST)
        t.add("POST", _WS + r"/datastores/(?P<ds>[^/]+)/listSecrets$",
              lambda r, m: FakeResponse(200, self.fixture("datastore_secrets")), host=_ARM_HOST)
        t.add("POST", _WS + r"/onlineEndpoints/(?P<endpoint>[^/]+)/listKeys$", self._list_keys,
              host=_ARM_HOST)
        t.add("POST", _WS + r"/onlineEndpoints/(?P<endpoint>[^/]+)/regenerateKeys$",
              self._regenerate_keys, host=_ARM_HOST)
        t.add("POST", _WS + r"/onlineEndpoints/(?P<endpoint>[^/]+)/deployments/(?P<name>[^/]+)"
              r"/getLogs$", self._get_logs, host=_ARM_HOST)
        t.add("GET", r"/mfeOperationsStatus/(?P<op>[^/]+)$",
              lambda r, m: FakeResponse(200, self.fixture("async_operation", op=m["op"])),
              host=_ARM_HOST)
        t.add("GET", r"/mfeOperationResults/(?P<op>[^/]+)$", FakeResponse(200, None),
              host=_ARM_HOST)
        t.add("GET", r"/history/v1\.0" + _WS[1:] + r"/runs/(?P<run>[^/]+)/details$",
              lambda r, m: FakeResponse(200, self.fixture("run_details", name=m["run"])))
        t.add("POST", r"/history/v1\.0" + _WS[1:] + r"/rundata$",
              lambda r, m: FakeResponse(200, self.fixture("run_data", name=r.json()["runId"])))
        t.add("POST", r"/modelregistry/v1\.0" + _WS[1:] + r"/models/batchGetResolvedUris$",
              self._model_uris)
        t.add("GET", r"/mlflow/v1\.0" + _WS[1:] + r"/api/2\.0/mlflow/runs/get$",
              lambda r, m: FakeResponse(200, self.fixture("mlflow_run", name=r.query["run_id"])))
        t.add("POST", r"^/score$", self._score,
              host=r"[^.]+\.[a-z0-9]+\.inference\.ml\.azure\.com")

    def _datastore(self, request: RecordedRequest, match: re.Match[str]) -> FakeResponse:
        return FakeResponse(200, self.fixture(f"datastore_{match['ds']}"))

    def _async_headers(self, op: str) -> dict[str, str]:
        base = (f"https://management.azure.com/subscriptions/{self.sub}/providers/"
                f"Microsoft.MachineLearningServices/locations/{self.location}")
        version = "api-version=2022-02-01-preview"
        return {
            "Azure-AsyncOperation": f"{base}/mfeOperationsStatus/{op}?{version}",
            "Location": f"{base}/mfeOperationResults/{op}?{version}",
            "Retry-After": "0",
        }

    def _resource(self, request: RecordedRequest, match: re.Match[str],
                  kind: str | None = None) -> FakeResponse:
        groups = match.groupdict()
        kind, name, version = kind or groups["kind"], groups["name"], groups.get("version")
        if kind not in _COLLECTIONS:
            return FakeResponse(404, {"error": {"code": "NotFound",
                                                "message": f"fake Azure ML has no {kind!r}"}})
        key = request.path.lower().rstrip("/")
        if name is None or (version is None and key.endswith("/versions")):
            return self._list(request, key)
        if request.method == "PUT":
            return self._put(request, key, kind, name, version, groups.get("endpoint") or "")
        if request.method == "GET":
            if key not in self.resources:
                return self._not_found(kind, name)
            return FakeResponse(200, self.resources[key])
        if request.method == "DELETE":
            if kind == "schedules" and key in self.resources:
                refused = self.pipelines.refuse_enabled_delete(name, self.resources[key])
                if refused is not None:
                    return refused
            if self.resources.pop(key, None) is None:
                return FakeResponse(204)
            for path in [p for p in self.resources if p.startswith(key + "/")]:
                del self.resources[path]
            return FakeResponse(202, None, self._async_headers(f"delete-{kind}-{name}"))
        return FakeResponse(405, {"error": {"code": "MethodNotAllowed"}})

    def _list(self, request: RecordedRequest, key: str) -> FakeResponse:
        if request.method != "GET":
            return FakeResponse(405, {"error": {"code": "MethodNotAllowed"}})
        digest = request.query.get("hash")
        if digest and "/codes/" in key:
            # Azure looks code up by content hash across names: the same folder uploads once
            items = [body for path, body in self.resources.items() if "/codes/" in path and (
                body.get("properties", {}).get("properties", {}).get("hash_sha256") == digest)]
            return FakeResponse(200, {"value": items})
        prefix = key + "/"
        items = [body for path, body in self.resources.items()
                 if path.startswith(prefix) and "/" not in path[len(prefix):]]
        return FakeResponse(200, {"value": items})

    def _put(self, request: RecordedRequest, key: str, kind: str, name: str,
             version: str | None, endpoint: str) -> FakeResponse:
        existed = key in self.resources
        sent = request.json() or {}
        job_type = sent.get("properties", {}).get("jobType") if kind == "jobs" else None
        is_pipeline = job_type == "Pipeline"
        stem = {"Pipeline": "job_pipeline", "Command": "job_command"}.get(str(job_type),
                                                                           _COLLECTIONS[kind])
        server = self.fixture(stem, name=name, endpoint=endpoint, version=version or "")
        body = _deep_merge(_deep_merge(server.get("defaults", {}), sent),
                           server.get("created", {}))
        body.update(id=request.path, name=version or name)
        body.setdefault("type", f"Microsoft.MachineLearningServices/workspaces/{kind}")
        self.resources[key] = _deep_merge(body, server.get("stored", {}))
        if is_pipeline:
            self.pipelines.add_children(name, sent["properties"])
        elif kind == "jobs" and job_type == "AutoML":
            self._train(name)
        if kind == "onlineEndpoints" and name not in self.keys:
            self.keys[name] = self.fixture("endpoint_keys", endpoint=name)
        status = 200 if existed else 201
        if kind in _LRO_COLLECTIONS:
            return FakeResponse(status, body, self._async_headers(f"put-{kind}-{name}"))
        return FakeResponse(status, body)

    def best_child(self, job_name: str) -> str:
        """The best trial the fixtures name for ``job_name`` (``<job>_3``)."""
        tags = self.fixture("mlflow_run", name=job_name)["run"]["data"]["tags"]
        return next(t["value"] for t in tags if t["key"] == "automl_best_child_run_id")

    def artifact_store(self) -> tuple[str, str]:
        """(storage account, container) of ``workspaceartifactstore``."""
        props = self.fixture("datastore_workspaceartifactstore")["properties"]
        return props["accountName"], props["containerName"]

    def _train(self, job_name: str) -> None:
        """What AutoML leaves behind: the best trial's ``outputs/mlflow-model/`` files."""
        if self.best_model_dir is None:
            return
        account, container = self.artifact_store()
        prefix = f"ExperimentRun/dcid.{self.best_child(job_name)}/outputs/mlflow-model"
        for file in sorted(self.best_model_dir.rglob("*")):
            if file.is_file():
                rel = file.relative_to(self.best_model_dir).as_posix()
                self.storage.put(account, container, f"{prefix}/{rel}", file.read_bytes())

    @staticmethod
    def _not_found(kind: str, name: str | None) -> FakeResponse:
        return FakeResponse(404, {"error": {
            "code": "UserError",
            "message": f"Could not find {kind} '{name}'.",
            "innerError": {"code": "NotFound"},
        }})

    def _endpoint(self, name: str) -> dict[str, Any] | None:
        return self.resources.get(f"{self.workspace_path}/onlineEndpoints/{name}".lower())

    def _list_keys(self, request: RecordedRequest, match: re.Match[str]) -> FakeResponse:
        if self._endpoint(match["endpoint"]) is None:
            return self._not_found("onlineEndpoints", match["endpoint"])
        return FakeResponse(200, self.keys[match["endpoint"]])

    def _regenerate_keys(self, request: RecordedRequest, match: re.Match[str]) -> FakeResponse:
        name = match["endpoint"]
        if self._endpoint(name) is None:
            return self._not_found("onlineEndpoints", name)
        which = "primaryKey" if request.json()["keyType"] == "Primary" else "secondaryKey"
        count = sum(1 for r in self.transport.find("POST", r"/regenerateKeys$"))
        self.keys[name][which] = f"regenerated-{which}-{count}"
        return FakeResponse(202, None, self._async_headers(f"regen-{name}-{count}"))

    def _get_logs(self, request: RecordedRequest, match: re.Match[str]) -> FakeResponse:
        return FakeResponse(200, self.fixture("deployment_logs", endpoint=match["endpoint"],
                                              name=match["name"]))

    def _model_uris(self, request: RecordedRequest, match: re.Match[str]) -> FakeResponse:
        answer = {}
        for asset_id in request.json()["values"]:
            found = re.search(r"/models/azureml_(?P<job>.+)_output_mlflow_log_model_", asset_id)
            answer[asset_id] = self.fixture("model_uris", job=found["job"] if found else "")
        return FakeResponse(200, {"values": answer})

    def _score(self, request: RecordedRequest, match: re.Match[str]) -> FakeResponse:
        endpoint = request.host.split(".", 1)[0]
        keys = self.keys.get(endpoint, {})
        auth = request.headers.get("Authorization", "")
        if auth not in (f"Bearer {keys.get('primaryKey')}", f"Bearer {keys.get('secondaryKey')}"):
            return FakeResponse(401, {"message": "Unauthorized"})
        return FakeResponse(200, self.score_response)
