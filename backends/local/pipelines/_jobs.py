"""Pipeline jobs on the local backend: what ``ml_client.jobs`` does for ``type: pipeline``.

``jobs.create_or_update(pipeline_job)`` lands in :func:`submit_pipeline`: the
entity becomes the engine's pipeline dict (code snapshotted, paths checked,
AutoML nodes validated), stored as ``jobs/<name>/pipeline.json``, and a
detached runner process (``python -m automl_local.backends.local.pipelines._runner``) runs
it, as Azure queues it on compute. Published endpoints and schedules start
runs of stored dicts through :func:`start_pipeline`.

The job record (catalogue kind ``job``, ``type: pipeline``) holds the
status, the per-node states the runner writes, and the pipeline outputs.
AutoML nodes are real AutoML jobs (records with ``parent`` set, hidden from
``jobs.list()``), so ``jobs.get/stream/download`` work on them by name.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from automl_local.backends.local.pipelines._spec import (
    pipeline_job_dict,
    prepare_pipeline,
    to_pipeline_job,
)

from automl_local.detached import (
    EVENTS_FILE,
    RUNNER_LOG,
    read_events,
    run_alive,
    start_run,
    stop_run,
)
from automl_local.exceptions import AlreadyExistsError, JobFailedError, NotFoundError
from automl_local.processes import kill_group, tail

__all__ = [
    "TERMINAL",
    "cancel_pipeline",
    "list_children",
    "live_record",
    "pipeline_entity",
    "pipeline_output_path",
    "start_pipeline",
    "stream_pipeline",
    "submit_pipeline",
]

TERMINAL = ("Completed", "Failed", "Canceled")
SPEC_FILE = "pipeline.json"  # also named in backends.local.pipelines._runner
RUNNER = "automl_local.backends.local.pipelines._runner"  # the pipeline job process (python -m)
_POLL_SECONDS = 0.3


def submit_pipeline(
    client: Any,
    job: Any,
    *,
    experiment_name: str | None = None,
    tags: dict[str, str] | None = None,
    description: str | None = None,
) -> Any:
    """``jobs.create_or_update`` for a ``PipelineJob``: check, store, start; return the entity."""
    from automl_local.backends.local._names import check_job_name, generate_job_name

    name = check_job_name(job.name or generate_job_name())
    if client.workspace.catalogue.get("job", name) is not None:
        raise AlreadyExistsError(
            f"job {name!r} already exists. Choose another name, or leave the name out to get a "
            "new one."
        )
    base_dir = Path(getattr(job, "base_path", None) or os.getcwd())
    data, _, warnings = prepare_pipeline(client, pipeline_job_dict(job), base_dir)
    return start_pipeline(
        client, data, name=name, base_dir=base_dir, warnings=warnings,
        experiment_name=experiment_name or job.experiment_name,
        tags={**(job.tags or {}), **(tags or {})},
        description=description or job.description, display_name=job.display_name,
    )  # fmt: skip


def start_pipeline(
    client: Any,
    data: dict[str, Any],
    *,
    name: str | None = None,
    base_dir: str | Path | None = None,
    warnings: list[str] | None = None,
    experiment_name: str | None = None,
    tags: dict[str, str] | None = None,
    description: str | None = None,
    display_name: str | None = None,
    origin: dict[str, Any] | None = None,
    as_entity: bool = True,
) -> Any:
    """Store a prepared pipeline dict as a new job and start its runner process.

    Returns the ``PipelineJob`` entity, or with ``as_entity=False`` the job
    record (the control plane answers with it, without loading azure-ai-ml).
    """
    from automl_local.backends.local._names import check_job_name, generate_job_name

    ws = client.workspace
    name = check_job_name(name or generate_job_name())
    job_dir = ws.job_dir(name)
    job_dir.mkdir(parents=True, exist_ok=True)
    (job_dir / SPEC_FILE).write_text(json.dumps(data, indent=2, default=str))
    now = time.time()
    record = {
        "name": name, "type": "pipeline", "status": "NotStarted",
        "experiment_name": experiment_name or data.get("experiment_name") or "Default",
        "display_name": display_name or data.get("display_name") or name,
        "description": description or data.get("description"),
        "tags": {str(k): str(v) for k, v in (tags or data.get("tags") or {}).items()},
        "warnings": list(warnings or []), "created_at": now, "submitted_at": now,
        "base_dir": str(base_dir or os.getcwd()), "origin": origin or {},
        "error": "", "pid": None, "nodes": {}, "outputs": {},
    }  # fmt: skip
    ws.catalogue.put("job", name, record)
    record = ws.catalogue.update("job", name, {"pid": start_run(RUNNER, ws, name)})
    return pipeline_entity(client, record) if as_entity else record


# ---------------------------------------------------------------------- read


def live_record(client: Any, name: str) -> dict[str, Any]:
    """The job record, with a dead runner's non-final status corrected to Failed."""
    cat = client.workspace.catalogue
    record = cat.require("job", name, hint="List jobs with `automl-local job list`.")
    if (record.get("status") in TERMINAL or not record.get("pid")
            or run_alive(RUNNER, record["pid"], name)):  # fmt: skip
        return record
    # the runner may have finished between our read and the liveness check
    record = cat.require("job", name)
    if record.get("status") in TERMINAL:
        return record
    error = (
        "the pipeline runner process ended without finishing (killed?); see "
        f"{client.workspace.job_dir(name) / RUNNER_LOG}"
    )
    return cat.update("job", name, {"status": "Failed", "error": error, "pid": None})


def _spec_data(client: Any, name: str) -> dict[str, Any]:
    path = client.workspace.job_dir(name) / SPEC_FILE
    if not path.exists():
        raise NotFoundError(f"pipeline job {name!r} has no {SPEC_FILE}; its folder was removed.")
    return json.loads(path.read_text())


def _when(stamp: float | None) -> dt.datetime | None:
    return dt.datetime.fromtimestamp(stamp, dt.UTC) if stamp else None


def pipeline_entity(client: Any, record: dict[str, Any]) -> Any:
    """The ``PipelineJob`` entity of a stored pipeline run, status included."""
    from azure.ai.ml.entities import SystemData

    name = record["name"]
    if record.get("status") not in TERMINAL:
        record = live_record(client, name)
    job = to_pipeline_job(_spec_data(client, name), record.get("base_dir"))
    job.name = name
    job._status = record.get("status")
    job.experiment_name = record.get("experiment_name")
    job.display_name = record.get("display_name")
    job.description = record.get("description")
    job.tags = dict(record.get("tags") or {})
    props = {"automl_local.runner_log": str(client.workspace.job_dir(name) / RUNNER_LOG)}
    if record.get("error"):
        props["error"] = str(record["error"])
    for key, value in (record.get("origin") or {}).items():
        props[f"automl_local.{key}"] = str(value)
    job.properties = props
    job._creation_context = SystemData(created_at=_when(record.get("created_at")))
    job._studio_url = client.workspace.job_dir(name).as_uri()
    return job


def _node_properties(parent: str, node: dict[str, Any]) -> dict[str, str]:
    props = {"azureml.nodeid": node["name"], "azureml.pipeline": parent}
    if node.get("reused"):
        props.update({
            "azureml.isreused": "true",
            "azureml.reusedrunid": str(node.get("reused_from")),
            "azureml.reusedpipelinerunid": str(node.get("reused_pipeline")),
        })  # fmt: skip
    for key in ("started_at", "ended_at"):
        if node.get(key):
            props[f"automl_local.{key}"] = _when(node[key]).isoformat()  # type: ignore[union-attr]
    if node.get("error"):
        props["error"] = str(node["error"])
    if node.get("log"):
        props["automl_local.log"] = str(node["log"])
    return props


def list_children(client: Any, parent_job_name: str) -> Iterator[Any]:
    """``jobs.list(parent_job_name=...)``: one job entity per node, in pipeline order."""
    from azure.ai.ml.entities import CommandJob

    from automl_local.pipelines import parse_pipeline

    record = live_record(client, parent_job_name)
    if record.get("type") != "pipeline":
        return
    spec = parse_pipeline(_spec_data(client, parent_job_name))
    states = record.get("nodes") or {}
    for node_name in spec.order():
        node_spec = spec.nodes[node_name]
        state = states.get(node_name) or {"name": node_name, "status": "NotStarted"}
        child = state.get("child_job")
        entity: Any = None
        if node_spec.type == "automl" and child and client.workspace.catalogue.get("job", child):
            entity = client.jobs.get(child)
        if entity is None:
            entity = CommandJob(
                command=node_spec.command or "",
                environment=node_spec.environment,
                experiment_name=record.get("experiment_name"),
            )
            entity.name = state.get("run_id") or f"{parent_job_name}_{node_name}"
            entity._status = state.get("status")
        entity.display_name = node_name
        entity.properties = {**(entity.properties or {}),
                             **_node_properties(parent_job_name, state)}  # fmt: skip
        yield entity


# ---------------------------------------------------------------------- stream


def format_event(event: dict[str, Any]) -> str | None:
    """One line of ``job stream`` output for a runner event (None: not shown)."""
    stamp = time.strftime("%H:%M:%S", time.localtime(event.get("time", time.time())))
    if event.get("event") == "node":
        status = event.get("status", "")
        detail = ""
        if event.get("reused"):
            detail = f" (reused from {event.get('reused_from')})"
        elif event.get("error"):
            detail = f" - {event['error']}"
        if status in ("Queued",):
            return None
        return f"[{stamp}] {event.get('node', ''):<24} {status}{detail}"
    if event.get("event") == "status":
        error = f" - {event['error']}" if event.get("error") else ""
        return f"[{stamp}] pipeline {event.get('status')}{error}"
    return None


def stream_pipeline(
    client: Any, name: str, printer: Callable[[dict[str, Any]], None] | None = None
) -> None:
    """Follow a pipeline run until it ends; raise :class:`JobFailedError` unless it completed."""
    ws = client.workspace
    record = live_record(client, name)
    print(f"RunId: {name}\nWeb View: {ws.job_dir(name).as_uri()}\n", flush=True)
    path = ws.job_dir(name) / EVENTS_FILE
    offset = 0
    while True:
        events, offset = read_events(path, offset)
        for event in events:
            if printer is not None:
                printer(event)
            else:
                line = format_event(event)
                if line:
                    print(line, flush=True)
        record = live_record(client, name)
        if record.get("status") in TERMINAL:
            more, offset = read_events(path, offset)
            for event in more:
                line = format_event(event)
                if printer is not None:
                    printer(event)
                elif line:
                    print(line, flush=True)
            break
        time.sleep(_POLL_SECONDS)
    print(f"\nExecution Summary\n=================\nRunId: {name}\n", flush=True)
    if record["status"] != "Completed":
        raise JobFailedError(failure_message(client, record))


def failure_message(client: Any, record: dict[str, Any]) -> str:
    """Why a pipeline did not complete: the failed node, its error and its log tail."""
    name = record["name"]
    for node in (record.get("nodes") or {}).values():
        if node.get("status") == "Failed":
            log = node.get("log")
            last = node.get("log_tail") or tail(log)
            text = (
                f"pipeline job {name!r} failed: node {node['name']!r} failed: {node.get('error')}"
            )
            if node.get("child_job"):
                child = node["child_job"]
                text += f" (AutoML job {child}: automl-local job show --name {child})"
            if last.strip():
                text += f"\nLast lines of {log}:\n{last.rstrip()}"
            return text
    error = record.get("error") or "see runner.log"
    return f"pipeline job {name!r} ended {record.get('status')}: {error}"


# ---------------------------------------------------------------------- cancel / outputs


def cancel_pipeline(client: Any, name: str) -> None:
    """Stop the runner (it cancels running nodes), then make sure nothing is left running."""
    ws = client.workspace
    record = live_record(client, name)
    if record.get("status") in TERMINAL:
        return
    if run_alive(RUNNER, record.get("pid"), name):
        stop_run(RUNNER, record.get("pid"), name)
    record = ws.catalogue.require("job", name)
    nodes = record.get("nodes") or {}
    for node in nodes.values():
        if node.get("status") in ("Running", "Queued"):
            kill_group(node.get("pid"))
            if node.get("child_job"):
                client.jobs.begin_cancel(node["child_job"]).result()
            node.update(status="Canceled", error="canceled by request", pid=None)
    if record.get("status") not in TERMINAL:
        changes = {"status": "Canceled", "error": "canceled by request", "pid": None}
        ws.catalogue.update("job", name, {**changes, "nodes": nodes, "ended_at": time.time()})


def pipeline_output_path(client: Any, name: str, output_name: str) -> Path:
    """The local folder of a pipeline output, once the run produced it.

    For a ``uri_file`` output it is the folder holding the file, so
    ``jobs.download`` gives Azure's ``named-outputs/<output>/<file>`` layout.
    """
    record = live_record(client, name)
    outputs = record.get("outputs") or {}
    if output_name not in outputs:
        declared = _spec_data(client, name).get("outputs") or {}
        if output_name in declared:
            raise NotFoundError(
                f"pipeline job {name!r} has not produced output {output_name!r} yet (status "
                f"{record.get('status')}). Wait for it: automl-local job stream --name {name}"
            )
        child_hint = ""
        for node in (record.get("nodes") or {}).values():
            if node.get("child_job"):
                child_hint = (
                    " The AutoML node's model is an output of its own job: automl-local job "
                    f"download --name {node['child_job']} --output-name best_model"
                )
        raise NotFoundError(
            f"pipeline job {name!r} has no output {output_name!r}; its outputs are: "
            f"{', '.join(sorted(declared)) or 'none'}.{child_hint}"
        )
    path = Path(outputs[output_name])
    return path.parent if path.is_file() else path
