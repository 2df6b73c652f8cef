"""The control-plane FastAPI app: trigger published pipelines, read runs, fire schedules.

Routes (Swagger UI at ``/docs``, schema at ``/openapi.json``):

* ``GET /`` - ``Healthy`` (no key needed, like a scoring server's probe);
* ``POST /pipelines/{name}`` - the classic published-pipeline trigger:
  ``{"ExperimentName": ..., "ParameterAssignments": {...}}`` -> ``{"Id": ...}``;
* ``POST /endpoints/{name}/jobs`` - the batch-endpoint trigger
  (``{"properties": {"InputData": {...}}}``, optional header
  ``azureml-model-deployment``) -> ``{"id", "name", "properties": {...}}``;
* ``GET /pipelines``, ``GET /pipelines/{name}``, ``GET /pipelines/{name}/runs``,
  ``GET /endpoints/{name}/jobs``, ``GET /jobs``, ``GET /jobs/{id}``;
* ``GET /schedules``, ``GET /schedules/{name}``, ``POST /schedules/{name}/trigger``.

Every route but ``/`` and the docs needs ``Authorization: Bearer <key>``
(``automl-local server get-credentials``); the key's sha256 is compared in
constant time with the digests in the catalogue, read per request, so
regenerated keys apply at once. Errors are ``{"error": {"code", "message"}}``
with 400 (bad parameter, named), 401, 404 or 409.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from automl_local.service import add_swagger_ui
from automl_local.service.control_plane._scheduler import Scheduler
from automl_local.service.control_plane._schemas import BatchJobRequest, PipelineSubmitRequest
from fastapi import Depends, FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from automl_local.exceptions import (
    AlreadyExistsError,
    AutoMLError,
    ConfigError,
    DataError,
    NotFoundError,
)
from automl_local.keys import key_matches

__all__ = ["ControlPlaneError", "create_app"]

logger = logging.getLogger(__name__)

_HOW_TO = (
    "Send 'Authorization: Bearer <key>' with a control-plane key "
    "(`automl-local server get-credentials`)."
)
_DATA_INPUT_TYPES = {"urifile": "uri_file", "urifolder": "uri_folder", "mltable": "mltable"}


class ControlPlaneError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _status_of(exc: AutoMLError) -> tuple[int, str]:
    if isinstance(exc, NotFoundError):
        return 404, "NotFound"
    if isinstance(exc, AlreadyExistsError):
        return 409, "Conflict"
    if isinstance(exc, ConfigError | DataError):
        return 400, "BadRequest"
    return 500, "InternalError"


def _iso(stamp: float | None) -> str | None:
    return dt.datetime.fromtimestamp(stamp, dt.UTC).isoformat() if stamp else None


def create_app(
    workspace: str | Path,
    *,
    missed_runs: str = "run_once",
    tick_seconds: float = 1.0,
    clock: Callable[[], dt.datetime] | None = None,
    run_scheduler: bool = True,
    warm_up: bool = True,
) -> FastAPI:
    """The app for one workspace; the scheduler runs in a thread while the app lives.

    ``warm_up`` imports azure-ai-ml and the job code before the app serves:
    the first trigger is then fast, and request threads never import
    azure-ai-ml concurrently (its import graph breaks when two threads race).
    """
    from automl_local.backends.local import LocalClient

    client = LocalClient(workspace)
    ws = client.workspace
    kwargs: dict[str, Any] = {"missed_runs": missed_runs, "tick_seconds": tick_seconds}
    if clock is not None:
        kwargs["clock"] = clock
    scheduler = Scheduler(client, **kwargs)

    if warm_up:
        _warm_up(client)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if run_scheduler:
            scheduler.start()
        try:
            yield
        finally:
            scheduler.stop()

    app = FastAPI(
        title="automl-local control plane",
        version="1",
        description=(
            "Published pipelines (batch-endpoint and classic forms), pipeline runs and "
            "schedules of one automl-local workspace. Authorize with a key from "
            "`automl-local server get-credentials`."
        ),
        lifespan=lifespan,
        docs_url=None,  # served offline below, not from a CDN
    )
    add_swagger_ui(app, "/openapi.json", "automl-local control plane - Swagger UI")
    app.state.client = client
    app.state.scheduler = scheduler
    bearer = HTTPBearer(auto_error=False, description="A control-plane key.")

    def require_key(
        credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
    ) -> None:
        from automl_local.backends.local.pipelines import key_digests

        if credentials is None or not credentials.credentials:
            raise ControlPlaneError(401, "Unauthorized", f"Missing bearer key. {_HOW_TO}")
        if not key_matches(credentials.credentials, key_digests(ws)):
            raise ControlPlaneError(
                401, "Unauthorized", f"Invalid key (keys may have been regenerated). {_HOW_TO}"
            )

    @app.exception_handler(ControlPlaneError)
    async def _cp_error(request: Request, exc: ControlPlaneError) -> JSONResponse:
        headers = (
            {"WWW-Authenticate": 'Bearer realm="automl-local"'} if exc.status == 401 else None
        )
        return JSONResponse(
            {"error": {"code": exc.code, "message": exc.message}},
            status_code=exc.status,
            headers=headers,
        )

    @app.exception_handler(AutoMLError)
    async def _automl_error(request: Request, exc: AutoMLError) -> JSONResponse:
        status, code = _status_of(exc)
        return JSONResponse({"error": {"code": code, "message": str(exc)}}, status_code=status)

    @app.exception_handler(RequestValidationError)
    async def _bad_body(request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
            parts.append(f"{where or 'body'}: {err.get('msg')}")
        return JSONResponse(
            {"error": {"code": "BadRequest", "message": "; ".join(parts)}}, status_code=400
        )

    auth = [Depends(require_key)]

    @app.get("/", response_class=PlainTextResponse, tags=["health"])
    def health() -> str:
        return "Healthy"

    # ------------------------------------------------------------------ published

    @app.get("/pipelines", dependencies=auth, tags=["published pipelines"])
    def list_published() -> dict[str, Any]:
        from automl_local.backends.local.pipelines import describe_published, published_names

        return {"value": [describe_published(client, n) for n in published_names(client)]}

    @app.get("/pipelines/{name}", dependencies=auth, tags=["published pipelines"])
    def show_published(name: str) -> dict[str, Any]:
        from automl_local.backends.local.pipelines import describe_published

        return describe_published(client, name)

    @app.post("/pipelines/{name}", dependencies=auth, tags=["published pipelines"])
    def submit_published(name: str, body: PipelineSubmitRequest) -> dict[str, Any]:
        """Start a run (classic ``PipelineSubmit``); the response's ``Id`` is the run id."""
        from automl_local.backends.local.pipelines import invoke_published

        unsupported = sorted(set(body.model_extra or {}) - {"RunSource"})
        if unsupported:
            raise ControlPlaneError(
                400, "BadRequest",
                f"{unsupported[0]} is not supported locally; give data inputs as paths in "
                "ParameterAssignments.",
            )  # fmt: skip
        record = invoke_published(
            client, name, parameters=body.ParameterAssignments,
            experiment_name=body.ExperimentName, description=body.Description,
            tags=body.Tags, via="rest:pipelines", as_entity=False,
        )  # fmt: skip
        return {
            "Id": record["name"], "Status": record["status"],
            "ExperimentName": record["experiment_name"], "PipelineName": name,
            "RunUrl": f"/jobs/{record['name']}",
        }  # fmt: skip

    @app.get("/pipelines/{name}/runs", dependencies=auth, tags=["published pipelines"])
    def published_runs(name: str) -> dict[str, Any]:
        from automl_local.backends.local.pipelines import runs_of

        return {"value": [_run_summary(r) for r in runs_of(client, name)]}

    # ------------------------------------------------------------------ batch style

    @app.post("/endpoints/{name}/jobs", dependencies=auth, tags=["batch endpoints"])
    def invoke_endpoint(
        name: str,
        body: BatchJobRequest,
        azureml_model_deployment: str | None = Header(None),
    ) -> dict[str, Any]:
        """Start a run of the endpoint's (default, or named by header) pipeline deployment."""
        from automl_local.backends.local.pipelines import invoke_published

        props = body.properties
        if props.OutputData:
            raise ControlPlaneError(
                400, "BadRequest",
                "OutputData is not supported locally: outputs are written under the workspace "
                "(GET /jobs/<id> lists them).",
            )  # fmt: skip
        parameters: dict[str, Any] = {}
        for key, given in props.InputData.items():
            kind = given.JobInputType.replace("_", "").lower()
            if kind == "literal":
                parameters[key] = given.Value
            elif kind in _DATA_INPUT_TYPES:
                if not given.Uri:
                    raise ControlPlaneError(
                        400, "BadRequest", f"InputData.{key}: a {given.JobInputType} needs Uri."
                    )
                parameters[key] = given.Uri
            else:
                raise ControlPlaneError(
                    400, "BadRequest",
                    f"InputData.{key}.JobInputType {given.JobInputType!r} is not valid; use "
                    "Literal, UriFile, UriFolder or MLTable.",
                )  # fmt: skip
        extra = props.properties or {}
        record = invoke_published(
            client, name, deployment=azureml_model_deployment, parameters=parameters,
            experiment_name=extra.get("experimentName") or extra.get("ExperimentName"),
            via="rest:endpoints", as_entity=False,
        )  # fmt: skip
        origin = record.get("origin") or {}
        return {
            "id": record["name"], "name": record["name"],
            "type": "Microsoft.MachineLearningServices/workspaces/jobs",
            "properties": {
                "status": record["status"], "experimentName": record["experiment_name"],
                "jobType": "Pipeline", "endpointName": name,
                "deploymentName": origin.get("deployment"),
            },
        }  # fmt: skip

    @app.get("/endpoints/{name}/jobs", dependencies=auth, tags=["batch endpoints"])
    def endpoint_jobs(name: str) -> dict[str, Any]:
        from automl_local.backends.local.pipelines import runs_of

        return {"value": [_run_summary(r) for r in runs_of(client, name)]}

    # ------------------------------------------------------------------ runs

    @app.get("/jobs", dependencies=auth, tags=["jobs"])
    def list_runs(top: int = 50) -> dict[str, Any]:
        records = [r for r in reversed(ws.catalogue.list("job")) if r.get("type") == "pipeline"]
        return {"value": [_run_summary(r) for r in records[: max(1, top)]]}

    @app.get("/jobs/{job_name}", dependencies=auth, tags=["jobs"])
    def show_run(job_name: str) -> dict[str, Any]:
        from automl_local.backends.local.pipelines import live_record

        record = ws.catalogue.require("job", job_name, hint="GET /jobs lists the runs.")
        if record.get("type") == "pipeline":
            record = live_record(client, job_name)
        return _run_detail(record)

    # ------------------------------------------------------------------ schedules

    @app.get("/schedules", dependencies=auth, tags=["schedules"])
    def list_schedules() -> dict[str, Any]:
        from automl_local.backends.local.pipelines import schedule_records

        return {"value": [_schedule_summary(client, r) for r in schedule_records(client)]}

    @app.get("/schedules/{name}", dependencies=auth, tags=["schedules"])
    def show_schedule(name: str) -> dict[str, Any]:
        from automl_local.backends.local.pipelines import schedule_history, schedule_record

        record = schedule_record(client, name, hint="GET /schedules lists them.")
        return {**_schedule_summary(client, record), "history": schedule_history(client, name)}

    @app.post("/schedules/{name}/trigger", dependencies=auth, tags=["schedules"])
    def trigger_schedule(name: str) -> dict[str, Any]:
        result = client.schedules.trigger(name)
        return {"job_name": result.job_name, "schedule_action_type": result.schedule_action_type}

    return app


def _warm_up(client: Any) -> None:
    import azure.ai.ml
    import azure.ai.ml.entities  # noqa: F401

    # the client's groups import their modules on first use: use them all once, now
    for group in ("jobs", "schedules", "batch_endpoints", "batch_deployments"):
        getattr(client, group)


def _run_summary(record: dict[str, Any]) -> dict[str, Any]:
    origin = record.get("origin") or {}
    return {
        "id": record["name"], "status": record.get("status"),
        "experimentName": record.get("experiment_name"),
        "createdAt": _iso(record.get("created_at")), "endedAt": _iso(record.get("ended_at")),
        "endpoint": origin.get("endpoint"), "schedule": origin.get("schedule"),
        "error": record.get("error") or None,
    }  # fmt: skip


def _run_detail(record: dict[str, Any]) -> dict[str, Any]:
    nodes = []
    for node in (record.get("nodes") or {}).values():
        nodes.append({
            "name": node.get("name"), "type": node.get("type"), "status": node.get("status"),
            "reused": bool(node.get("reused")), "reusedFrom": node.get("reused_from"),
            "startedAt": _iso(node.get("started_at")), "endedAt": _iso(node.get("ended_at")),
            "error": node.get("error") or None, "childJob": node.get("child_job"),
        })  # fmt: skip
    return {
        **_run_summary(record), "type": record.get("type"),
        "startedAt": _iso(record.get("started_at")), "nodes": nodes,
        "outputs": record.get("outputs") or {},
    }  # fmt: skip


def _schedule_summary(client: Any, record: dict[str, Any]) -> dict[str, Any]:
    from automl_local.backends.local.pipelines import next_run_time, schedule_history

    history = schedule_history(client, record["name"])
    upcoming = next_run_time(record) if record.get("is_enabled") else None
    last = history[-1] if history else {}
    return {
        "name": record["name"], "isEnabled": bool(record.get("is_enabled")),
        "trigger": record.get("trigger"),
        "nextRunTime": upcoming.isoformat() if upcoming else None,
        "lastJob": last.get("job_name"), "lastReason": last.get("reason"),
        "runs": len(history),
    }  # fmt: skip
