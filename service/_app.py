"""The scoring app: one FastAPI app per worker process, serving every deployment of an endpoint.

Why one process per endpoint holding each deployment's model (not a router in
front of one process per deployment): a request is answered with no extra
network hop, traffic weights are applied in-process from ``endpoint.json``,
and ``--workers K`` gives K identical processes (Azure's ``instance_count``)
that uvicorn restarts when one dies. Isolation between deployments is per
thread pool, not per process; the process manager restarts the server when
the set of deployments or their models change.

Request path of ``POST /score`` (kept lean, measured in the README):
auth against the key digests -> routing (header pin, else traffic weights)
-> content type -> 429 beyond the deployment's in-flight limit -> body read
with the size limit -> JSON decode, validation, predict, response encoding
(on the event loop when the deployment is known to be quick, else in its
threads under ``request_timeout_ms``; for a scripted deployment, forwarded to its
``azmlinfsrv`` child instead: ``_scripted``) -> log line, metrics, span. Every
failure is a :class:`ScoringError` turned into ``{"message": ..., "request_id": ...}``
here and nowhere else (a scoring script's own error answer is passed on as it is).
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
import traceback
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from automl_local.service._auth import check_bearer
from automl_local.service._config import (
    ENDPOINT_DIR_ENV,
    ENDPOINT_FILE,
    KEYS_FILE,
    METRICS_SUBDIR,
    DeploymentConfig,
    EndpointConfig,
    WatchedFile,
    deployment_dir,
    parse_endpoint_config,
    parse_key_hashes,
)
from automl_local.service._deployment import (
    Deployment,
    limit_native_threads,
    native_threads,
    timed_out,
    too_many,
)
from automl_local.service._errors import ModelFailure, ScoringError
from automl_local.service._liveness import start_liveness_probe
from automl_local.service._logging import DeploymentLog, payload_logging_enabled
from automl_local.service._metrics import Metrics
from automl_local.service._model import load_model
from automl_local.service._predict import ScoreOutcome, score_body
from automl_local.service._request import check_content_type, read_body
from automl_local.service._routing import DEPLOYMENT_HEADER, choose_deployment, choose_mirror
from automl_local.service._script_children import scripts_from_env
from automl_local.service._scripted import ScriptServer
from automl_local.service._swagger import add_swagger_ui, build_swagger
from automl_local.service._telemetry import make_tracer
from fastapi import FastAPI, Request
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import PlainTextResponse, Response

from automl_local.exceptions import ConfigError

__all__ = ["ENDPOINT_DIR_ENV", "ScoringRuntime", "app_from_env", "create_app"]

_JSON = "application/json"
#: Requests up to this size, to deployments scoring in under INLINE_MS, run on the event loop.
INLINE_MAX_BODY = 32 * 1024
INLINE_MS = 5.0


@dataclass
class _Call:
    """What one scoring request accumulates on its way through the handler."""

    config: EndpointConfig
    request_id: str
    client_request_id: str = ""
    pinned: str | None = None
    name: str = ""  # the deployment, once chosen
    body: bytes = b""
    outcome: ScoreOutcome | None = None
    error: ScoringError | None = None
    mirrored: bool = False

    @property
    def status(self) -> int:
        return self.error.status if self.error is not None else 200


def _end_span(span: Span, call: _Call) -> None:
    span.set_attributes(
        {
            "http.request.method": "POST",
            "url.path": "/score",
            "http.response.status_code": call.status,
            "Request Id": call.request_id,
            "Client Request Id": call.client_request_id,
            "Service Name": call.config.name,
            "azureml.endpoint": call.config.name,
            "azureml.deployment": call.name,
        }
    )
    if call.error is not None:
        span.set_attribute("error.message", call.error.message)
        if call.status >= 500:
            span.set_status(Status(StatusCode.ERROR, call.error.message))
    span.end()


def _new_request_id() -> str:
    return str(uuid.uuid4())


class ScoringRuntime:
    """Everything one worker holds: config watchers, loaded deployments, logs, metrics, tracer."""

    def __init__(
        self, endpoint_dir: str | os.PathLike[str], tracer_provider: TracerProvider | None = None
    ) -> None:
        self.endpoint_dir = Path(endpoint_dir).resolve()
        self._config = WatchedFile(
            self.endpoint_dir / ENDPOINT_FILE,
            lambda raw: parse_endpoint_config(raw, str(self.endpoint_dir / ENDPOINT_FILE)),
        )
        self._keys = WatchedFile(
            self.endpoint_dir / KEYS_FILE,
            lambda raw: parse_key_hashes(raw, str(self.endpoint_dir / KEYS_FILE)),
        )
        try:
            config = self._config.get()
        except FileNotFoundError:
            raise ConfigError(
                f"{self.endpoint_dir / ENDPOINT_FILE} does not exist; the scoring server needs "
                "the endpoint folder written by the process manager."
            ) from None
        self._last_config = config
        self.metrics = Metrics(config.name, self.endpoint_dir / METRICS_SUBDIR)
        self.tracer, self.exporter = make_tracer(config.name, tracer_provider)
        self.deployments: dict[str, Deployment] = {}
        self._late_logs: dict[str, DeploymentLog] = {}
        self._scripts = scripts_from_env(os.environ)  # the supervisor's azmlinfsrv children
        for name, settings in config.deployments.items():
            self.deployments[name] = self._load(config.name, settings)

    # -- start-up -------------------------------------------------------------------------
    def _log_for(self, name: str) -> DeploymentLog:
        dep = self.deployments.get(name)
        if dep is not None:
            return dep.log
        if name not in self._late_logs:  # declared after start-up: log it all the same
            path = deployment_dir(self.endpoint_dir, name) / "deployment.log"
            self._late_logs[name] = DeploymentLog(path)
        return self._late_logs[name]

    def _load(self, endpoint: str, settings: DeploymentConfig) -> Deployment:
        log = DeploymentLog(deployment_dir(self.endpoint_dir, settings.name) / "deployment.log")
        dep = Deployment(
            settings.name,
            log,
            settings.max_concurrent_requests_per_instance,
            native_threads=native_threads(settings.environment_variables),
        )
        if settings.script is not None:
            return self._attach_script(dep, settings)
        log.line(
            f"loading model {settings.model_label} from {settings.model_dir} "
            f"(endpoint '{endpoint}', deployment '{settings.name}')"
        )
        try:
            model = load_model(settings.model_dir, settings.model_name, settings.model_version)
        except Exception as exc:
            dep.error = f"{type(exc).__name__}: {exc}"
            log.line(
                f"could not load model {settings.model_label}: {dep.error}\n"
                + traceback.format_exc(),
                level="ERROR",
            )
            return dep
        dep.model = model
        columns = ", ".join(f"{c.name} ({c.type})" for c in model.schema.columns) or "no signature"
        log.line(
            f"model {model.label} loaded in {model.load_seconds:.2f} s: flavor {model.flavor}, "
            f"methods {', '.join(model.methods())}, input columns {columns}; "
            f"compiled for serving: {', '.join(model.compiled) or 'nothing'}; "
            f"{model.row_path.description if model.row_path else 'no row path'}; "
            f"request_timeout_ms {settings.request_timeout_ms}, "
            f"max_concurrent_requests_per_instance {dep.concurrency}, "
            f"app_insights_enabled {str(settings.app_insights_enabled).lower()}, "
            f"telemetry exporter {self.exporter}"
        )
        if model.output_example is None and model.schema.columns:
            log.line(
                "warm-up prediction on the model's example row failed; requests may fail too",
                level="WARNING",
            )
        self.metrics.set_model(settings.name, model.label)
        return dep

    def _attach_script(self, dep: Deployment, settings: DeploymentConfig) -> Deployment:
        """A scripted deployment: requests go to the child the supervisor started."""
        child = self._scripts.get(settings.name) or {"error": "the supervisor did not start it"}
        if "port" not in child:
            dep.error = f"its scoring script did not start: {child.get('error')}"
            return dep
        dep.script = ScriptServer(settings.name, int(str(child["port"])), int(str(child["pid"])))
        self.metrics.set_model(settings.name, settings.model_label)
        return dep

    def mark_ready(self) -> None:
        """In the event loop's thread, just before serving: one native thread there too."""
        limit_native_threads(1)  # inline requests run here (see ``run``)
        for dep in self.deployments.values():
            if dep.model is not None or dep.script is not None:
                via = f" through azmlinfsrv on port {dep.script.port}" if dep.script else ""
                dep.log.line(f"ready: worker serving deployment '{dep.name}'{via}")

    def close(self) -> None:
        with suppress(OSError):
            self.metrics.publish(force=True)
        for dep in self.deployments.values():
            dep.log.line("worker shutting down")
            dep.executor.shutdown(wait=False, cancel_futures=True)
            dep.log.close()
        for log in self._late_logs.values():
            log.close()

    # -- per request ----------------------------------------------------------------------
    def config(self) -> EndpointConfig:
        """The current endpoint.json; the last good one if it vanished or is mid-write."""
        with suppress(FileNotFoundError, ConfigError):
            self._last_config = self._config.get()
        return self._last_config

    def digests(self) -> tuple[bytes, ...]:
        """Current key digests; none (so every key fails) if the key file is gone."""
        try:
            return self._keys.get().digests()
        except (FileNotFoundError, ConfigError):
            return ()

    def deployment(self, name: str) -> Deployment:
        dep = self.deployments.get(name)
        if dep is None:
            raise ScoringError(
                503,
                f"Deployment '{name}' is not loaded by this server process yet (it was added "
                "after the server started); retry after the endpoint restarts its server.",
            )
        if dep.script is not None:
            if dep.script.gone:
                raise ScoringError(503, dep.script.unavailable())
            return dep
        if dep.model is None:
            raise ScoringError(
                503,
                f"Deployment '{name}' failed to load its model ({dep.error}). "
                "See its logs (online_deployments.get_logs) and update the deployment.",
            )
        return dep

    async def run(
        self, dep: Deployment, body: bytes, timeout_ms: int, call: _Call | None = None
    ) -> ScoreOutcome:
        """``score_body`` inline when it is known to be quick, else in the deployment's threads.

        Why inline: handing a one-row request to a thread and back costs two
        GIL hand-offs, measured at 2-5 ms of waiting on a busy 2-core machine
        (more than the prediction itself). A small body to a deployment whose
        recent requests took under ``INLINE_MS`` runs on the event loop
        instead; anything else runs in the threads and is abandoned with a 408
        after ``timeout_ms``. An inline call that still overran is a 408 too.
        """
        if dep.script is not None:  # scored by the user's script, in its own server
            request_id = call.request_id if call is not None else _new_request_id()
            headers = {"x-ms-client-request-id": call.client_request_id} if call else {}
            try:
                return await dep.script.score(body, headers, timeout_ms, request_id)
            except TimeoutError:
                raise timed_out(dep, timeout_ms) from None
        model = dep.model
        assert model is not None  # self.deployment() answered 503 otherwise
        inline = dep.native_threads == 1 and dep.recent_ms < INLINE_MS  # see mark_ready
        if inline and len(body) <= INLINE_MAX_BODY:
            outcome = score_body(body, model)
            dep.observe(outcome.exec_ms)
            if outcome.exec_ms > timeout_ms:
                raise timed_out(dep, timeout_ms)
            return outcome
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(dep.executor, score_body, body, model)
        try:
            outcome = await asyncio.wait_for(future, timeout_ms / 1000.0)
        except TimeoutError:
            dep.abandon_executor()
            dep.observe(float(timeout_ms))
            raise timed_out(dep, timeout_ms) from None
        dep.observe(outcome.exec_ms)
        return outcome

    async def score(self, request: Request) -> Response:
        """``POST /score``: one JSON answer whatever happens, then log, metrics and span."""
        started = time.perf_counter()
        # One pass over the raw headers (already lowercase) instead of a scan per lookup.
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in request.scope["headers"]}
        call = _Call(
            config=self.config(),
            request_id=_new_request_id(),
            client_request_id=headers.get("x-ms-client-request-id", "")[:256],
            pinned=headers.get(DEPLOYMENT_HEADER),
        )
        span = self.tracer.start_span("/score", kind=SpanKind.SERVER)
        try:
            call.outcome = await self._score(request, headers, call)
        except ScoringError as exc:
            call.error = exc
        except Exception as exc:  # a server bug: still one JSON answer, and a traceback
            call.error = ModelFailure(exc)
        if isinstance(call.error, ModelFailure) and call.name:
            self._log_for(call.name).line(
                f"request {call.request_id}: scoring failed\n"
                + "".join(traceback.format_exception(call.error.cause)),
                level="ERROR",
            )
        response = self._respond(call)
        duration = time.perf_counter() - started
        self.metrics.observe(call.name, call.status, duration)
        settings = call.config.deployments.get(call.name)
        if settings is not None:
            self._record(settings, call, duration)
        _end_span(span, call)
        return response

    async def _score(self, request: Request, headers: dict[str, str], call: _Call) -> ScoreOutcome:
        """The checks in Azure's order (auth, routing, content), then the model."""
        config = call.config
        check_bearer(headers.get("authorization"), self.digests())
        call.name = choose_deployment(config.name, config.traffic, config.deployments, call.pinned)
        dep = self.deployment(call.name)
        check_content_type(headers.get("content-type"))
        if dep.in_flight >= dep.pending_limit:
            raise too_many(dep)
        dep.in_flight += 1
        try:
            call.body = await read_body(
                request, headers.get("content-length"), config.max_body_bytes
            )
            timeout_ms = config.deployments[call.name].request_timeout_ms
            return await self.run(dep, call.body, timeout_ms, call)
        finally:
            dep.in_flight -= 1

    def _respond(self, call: _Call) -> Response:
        headers = {"x-request-id": call.request_id, "x-ms-request-id": call.request_id}
        if call.client_request_id:
            headers["x-ms-client-request-id"] = call.client_request_id
        if call.name:
            headers[DEPLOYMENT_HEADER] = call.name
        if call.outcome is None:
            assert call.error is not None
            headers.update(call.error.headers)
            return _error_response(call.error, call.request_id, headers)
        headers["x-ms-run-fn-exec-ms"] = f"{call.outcome.exec_ms:.3f}"
        if call.outcome.request is not None and call.outcome.request.ignored_columns:
            headers["x-automl-ignored-columns"] = _header_list(
                call.outcome.request.ignored_columns
            )
        response = Response(call.outcome.body, media_type=_JSON, headers=headers)
        mirror = None if call.pinned else choose_mirror(call.config.mirror_traffic, call.name)
        if mirror is not None:  # runs after the response is sent
            response.background = BackgroundTask(self._mirror, mirror, call.body, call.config)
        return response

    def _record(self, settings: DeploymentConfig, call: _Call, duration: float) -> None:
        """The per-request JSON line (only with app_insights_enabled, as on Azure)."""
        if not settings.app_insights_enabled:
            return
        dep = self.deployments.get(settings.name)
        record: dict[str, Any] = {
            "request_id": call.request_id,
            "endpoint": call.config.name,
            "deployment": settings.name,
            "route": "/score",
            "method": "POST",
            "status": call.status,
            "duration_ms": round(duration * 1000.0, 3),
            "client_request_id": call.client_request_id,
            "model": dep.model.label if dep is not None and dep.model is not None
            else settings.model_label,
            "worker_pid": os.getpid(),
        }
        if call.mirrored:
            record["mirrored"] = True
        payload = output = None
        outcome = call.outcome
        if outcome is not None and outcome.request is None:  # a scoring script's answer
            record.update(format="scoring_script", exec_ms=round(outcome.exec_ms, 3))
        elif outcome is not None and outcome.request is not None:
            record.update(
                format=outcome.request.format.value,
                predict_method=outcome.request.method,
                rows=outcome.request.rows,
                exec_ms=round(outcome.exec_ms, 3),
            )
            if outcome.request.ignored_columns:
                record["ignored_columns"] = list(outcome.request.ignored_columns)
            if payload_logging_enabled(settings.environment_variables):
                payload, output = outcome.payload, outcome.response
        if call.error is not None:
            record["message"] = call.error.message
        self._log_for(settings.name).request(record, payload=payload, output=output)

    async def _mirror(self, name: str, body: bytes, config: EndpointConfig) -> None:
        """Score a shadow copy on the mirror deployment; only its log line and metrics stay."""
        settings = config.deployments.get(name)
        if settings is None:
            return
        started = time.perf_counter()
        call = _Call(config=config, request_id=_new_request_id(), name=name, mirrored=True)
        try:
            dep = self.deployment(name)
            call.outcome = await self.run(dep, body, settings.request_timeout_ms, call)
        except ScoringError as exc:
            call.error = exc
        except Exception as exc:
            call.error = ModelFailure(exc)
        duration = time.perf_counter() - started
        self.metrics.observe(name, call.status, duration)
        self._record(settings, call, duration)

    async def swagger(self, version: str, pinned: str | None) -> dict[str, Any] | Response:
        """The spec of the pinned deployment, else the one with most traffic.

        A scripted deployment's comes from its azmlinfsrv (the script's
        inference-schema decorators, as on Azure), passed on as it answers.
        """
        loaded = {n: d for n, d in self.deployments.items() if d.model or d.script}
        if pinned and pinned in loaded:
            dep = loaded[pinned]
        elif loaded:
            traffic = self.config().traffic
            dep = loaded[max(sorted(loaded), key=lambda n: traffic.get(n, 0))]
        else:
            return build_swagger(None, version=version, service_name=self.config().name)
        if dep.script is not None:
            status, body = await dep.script.swagger(version)
            return Response(body, status_code=status, media_type=_JSON)
        if version not in dep.swagger:
            dep.swagger[version] = build_swagger(
                dep.model, version=version, service_name=self.config().name
            )
        return dep.swagger[version]

    async def publish_metrics_forever(self, every: float = 1.0) -> None:
        while True:
            await asyncio.sleep(every)
            # OSError: the endpoint folder is being deleted; there is nothing to report to.
            with suppress(OSError):
                self.metrics.publish()


def _header_list(names: tuple[str, ...]) -> str:
    """Column names as one header value: percent-encoded UTF-8 (any name, even a lone
    surrogate from JSON, fits a latin-1 header), comma-separated."""
    return ",".join(quote(n.encode("utf-8", "surrogatepass"), safe=" ._-") for n in names)


def _error_response(error: ScoringError, request_id: str, headers: Mapping[str, str]) -> Response:
    if error.body is not None:  # a scoring script's server answered this: passed on unchanged
        return Response(error.body, error.status, dict(headers), media_type=error.media_type)
    body = json.dumps({"message": error.message, "request_id": request_id})
    return Response(body, status_code=error.status, media_type=_JSON, headers=dict(headers))


def create_app(
    endpoint_dir: str | os.PathLike[str], *, tracer_provider: TracerProvider | None = None
) -> FastAPI:
    """The scoring app for the endpoint folder ``endpoint_dir``, with every model loaded.

    Raises :class:`ConfigError` if ``endpoint.json`` is missing or invalid. A
    model that fails to load does not stop the app: its deployment answers
    503 with the load error, which is also in its ``deployment.log``.
    """
    runtime = ScoringRuntime(endpoint_dir, tracer_provider)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        publisher = asyncio.create_task(runtime.publish_metrics_forever())
        runtime.mark_ready()
        stop = threading.Event()
        for name, settings in runtime.config().deployments.items():
            dep = runtime.deployments.get(name)
            if settings.liveness_probe is not None and dep is not None:
                log = dep.log
                start_liveness_probe(
                    asyncio.get_running_loop(),
                    name,
                    settings.liveness_probe,
                    lambda text, log=log: log.line(text, level="ERROR"),  # type: ignore[misc]
                    stop,
                )
        try:
            yield
        finally:
            stop.set()
            publisher.cancel()
            for dep in runtime.deployments.values():
                if dep.script is not None:
                    await dep.script.close()
            runtime.close()

    app = FastAPI(
        title=f"automl-local endpoint {runtime.config().name}",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )
    app.state.runtime = runtime

    async def health(request: Request) -> Response:
        """Liveness: the process answers. Pinned to a deployment (``azureml-model-deployment``),
        readiness: 200 only once that deployment's model is loaded, else 503 with why."""
        pinned = request.headers.get(DEPLOYMENT_HEADER)
        if pinned:
            try:
                runtime.deployment(pinned)
            except ScoringError as exc:
                return _error_response(exc, _new_request_id(), {DEPLOYMENT_HEADER: pinned})
        return PlainTextResponse("Healthy")

    app.router.add_route("/", health, methods=["GET"], include_in_schema=False)

    # A plain Starlette route: no FastAPI dependency solving on the hot path.
    app.router.add_route("/score", runtime.score, methods=["POST"], include_in_schema=False)

    @app.get("/swagger.json")
    async def swagger(request: Request) -> Response:
        version = request.query_params.get("version", "2")
        try:
            spec = await runtime.swagger(version, request.headers.get(DEPLOYMENT_HEADER))
        except ValueError as exc:
            return _error_response(ScoringError(404, str(exc)), _new_request_id(), {})
        except ScoringError as exc:
            return _error_response(exc, _new_request_id(), {})
        return spec if isinstance(spec, Response) else Response(json.dumps(spec), media_type=_JSON)

    add_swagger_ui(app, "/swagger.json", lambda: f"{runtime.config().name} - Swagger UI")

    @app.get("/metrics", response_class=PlainTextResponse)
    async def metrics() -> PlainTextResponse:
        return PlainTextResponse(
            runtime.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8"
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> Response:
        message = str(exc.detail)
        if exc.status_code == 404:
            message = "Not found. Routes: GET /, POST /score, GET /swagger.json, /docs, /metrics."
        error = ScoringError(exc.status_code, message, headers=exc.headers)
        return _error_response(error, _new_request_id(), error.headers)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> Response:
        error = ScoringError(500, f"Internal server error ({type(exc).__name__}).")
        return _error_response(error, _new_request_id(), {})

    return app


def app_from_env() -> FastAPI:
    """uvicorn's app factory in each worker: the endpoint folder comes from the environment."""
    endpoint_dir = os.environ.get(ENDPOINT_DIR_ENV)
    if not endpoint_dir:
        raise ConfigError(
            f"{ENDPOINT_DIR_ENV} is not set; start the server with "
            "`python -m automl_local.service --endpoint-dir <folder> --port <n>`."
        )
    return create_app(endpoint_dir)
