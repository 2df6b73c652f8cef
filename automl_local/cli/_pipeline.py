"""``automl-local pipeline``: publish pipeline jobs behind a REST trigger, invoke, list runs.

``pipeline publish --job J --name P`` is Azure's v2 route in one command: a
batch endpoint ``P`` whose deployment ``default`` is a
``PipelineComponentBatchDeployment`` built from pipeline job ``J``. Locally
the control-plane server serves it (started if needed) at
``POST /pipelines/P`` (classic published-pipeline body) and
``POST /endpoints/P/jobs`` (batch-endpoint body). With ``--backend azure``
the same entities go through ``MLClient``. Either way the commands use the
client's public groups only (``published_pipelines``, ``batch_endpoints``).

Also here: :func:`pipeline_nodes` / :func:`echo_pipeline_nodes`, the node
table ``job show`` prints for a pipeline job (status, timing, reuse).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import click

from automl_local.cli._common import (
    backend_options,
    echo_json,
    get_ml_client,
    output_option,
    parse_set_options,
)

__all__ = ["echo_pipeline_nodes", "pipeline", "pipeline_nodes"]


# ---------------------------------------------------------------------- node table


def _when(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


def pipeline_nodes(ml: Any, name: str) -> list[dict[str, Any]]:
    """One row per node of pipeline job ``name``: status, timing, reuse, error (any backend)."""
    rows = []
    for child in ml.jobs.list(parent_job_name=name):
        props = dict(getattr(child, "properties", None) or {})
        started = _when(props.get("automl_local.started_at"))
        ended = _when(props.get("automl_local.ended_at"))
        reused = str(props.get("azureml.isreused", "")).lower() == "true"
        rows.append({
            "node": getattr(child, "display_name", None) or child.name,
            "run_id": child.name,
            "type": getattr(child, "type", None),
            "status": child.status,
            "started_at": started.isoformat() if started else None,
            "duration_seconds": round((ended - started).total_seconds(), 1)
            if started and ended else None,
            "reused": reused,
            "reused_from": props.get("azureml.reusedrunid") if reused else None,
            "reused_pipeline": props.get("azureml.reusedpipelinerunid") if reused else None,
            "error": props.get("error"),
            "log": props.get("automl_local.log"),
        })  # fmt: skip
    return rows


def echo_pipeline_nodes(ml: Any, name: str) -> None:
    """Print the node table of a pipeline job."""
    rows = pipeline_nodes(ml, name)
    click.echo(f"\n{'NODE':<26} {'TYPE':<8} {'STATUS':<11} {'STARTED':<20} {'SECONDS':>8}  REUSE")
    for r in rows:
        started = (r["started_at"] or "")[:19].replace("T", " ")
        seconds = f"{r['duration_seconds']:.1f}" if r["duration_seconds"] is not None else ""
        reuse = f"reused from {r['reused_from']}" if r["reused"] else ""
        click.echo(f"{r['node']:<26} {r['type'] or ''!s:<8} {r['status']!s:<11} "
                   f"{started:<20} {seconds:>8}  {reuse}")  # fmt: skip
        if r["error"]:
            click.echo(f"{'':<26} error: {r['error']}")


# ---------------------------------------------------------------------- helpers


def _echo_description(info: dict[str, Any]) -> None:
    click.echo(f"name        {info['name']}")
    if info.get("description"):
        click.echo(f"description {info['description']}")
    every = ", ".join(info.get("deployments") or [])
    click.echo(f"deployment  {info.get('default_deployment')} (of {every})")
    if info.get("source"):
        click.echo(f"source      {info['source']}")
    if "server" in info:
        click.echo(f"server      {info['server']}")
    for label, key in (("endpoint", "endpoint_url"), ("classic", "pipeline_url")):
        if info.get(key):
            click.echo(f"{label:<11} POST {info[key]}")
    params = info.get("parameters") or {}
    if params:
        click.echo("parameters:")
        for pname, p in params.items():
            need = "required" if p.get("required") else f"default {p.get('default')!r}"
            click.echo(f"  {pname:<28} {p.get('type'):<12} {need}")


def _inputs(params: dict[str, Any]) -> dict[str, Any]:
    """``--set`` values as azure-ai-ml ``Input``s: paths/URLs/assets as data, the rest literal.

    Azure needs to be told which values are data; the local backend reads the
    parameter types from the pipeline and takes either form.
    """
    from azure.ai.ml import Input

    out: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, str) and (value.startswith(("azureml:", "http")) or "/" in value):
            out[key] = Input(path=value)
        elif isinstance(value, bool | int | float | str):
            kind = {bool: "boolean", int: "integer", float: "number"}.get(type(value), "string")
            out[key] = Input(type=kind, default=value)
        else:
            out[key] = value
    return out


# ---------------------------------------------------------------------- commands


@click.group("pipeline")
def pipeline() -> None:
    """Publish pipeline jobs behind a REST trigger and run them (batch endpoints)."""


@pipeline.command("publish")
@click.option("--job", "-j", "job_name", required=True, help="The pipeline job to publish.")
@click.option("--name", "-n", required=True, help="Name of the published pipeline (endpoint).")
@click.option("--description", default=None)
@backend_options
@output_option
def publish(job_name: str, name: str, description: str | None, output: str) -> None:
    """Publish a pipeline job: endpoint NAME, deployment 'default' from JOB."""
    info = get_ml_client().published_pipelines.publish(job_name, name, description=description)
    if output == "json":
        echo_json(info)
        return
    click.echo(f"Published pipeline job {job_name} as {name}.\n")
    _echo_description(info)
    if info.get("pipeline_url"):
        click.echo(
            "\nTrigger it (key: automl-local server get-credentials):\n"
            f"  curl -X POST {info['pipeline_url']} -H 'Authorization: Bearer <key>' \\\n"
            "       -H 'Content-Type: application/json' \\\n"
            '       -d \'{"ExperimentName": "published", "ParameterAssignments": {}}\''
        )


@pipeline.command("list")
@backend_options
@output_option
def list_cmd(output: str) -> None:
    """Published pipelines (batch endpoints with a pipeline deployment)."""
    ml = get_ml_client()
    rows = [ml.published_pipelines.describe(e.name) for e in ml.batch_endpoints.list()]
    if output == "json":
        echo_json(rows)
        return
    if not rows:
        click.echo(
            "Nothing published yet: automl-local pipeline publish --job <job> --name <name>"
        )
        return
    click.echo(f"{'NAME':<28} {'DEPLOYMENT':<14} URL")
    for r in rows:
        url = r.get("pipeline_url") or r.get("endpoint_url") or ""
        click.echo(f"{r['name']:<28} {r.get('default_deployment')!s:<14} {url}")


@pipeline.command("show")
@click.option("--name", "-n", required=True)
@backend_options
@output_option
def show(name: str, output: str) -> None:
    """A published pipeline: its URLs, deployment and parameters."""
    info = get_ml_client().published_pipelines.describe(name)
    if output == "json":
        echo_json(info)
        return
    _echo_description(info)


@pipeline.command("invoke")
@click.option("--name", "-n", required=True, help="Published pipeline (endpoint) name.")
@click.option("--deployment", default=None, help="Deployment (default: the endpoint's default).")
@click.option(
    "--set", "set_", multiple=True,
    help="A parameter: --set frac=0.5 (a path, URL or azureml:<asset> is sent as data).",
)  # fmt: skip
@click.option("--experiment-name", default=None)
@click.option("--stream", is_flag=True, help="Follow the run until it ends.")
@backend_options
@output_option
def invoke(name: str, deployment: str | None, set_: tuple[str, ...],
           experiment_name: str | None, stream: bool, output: str) -> None:  # fmt: skip
    """Start a run of a published pipeline, with parameters."""
    ml = get_ml_client()
    params = _inputs(parse_set_options(set_))
    kwargs: dict[str, Any] = {"experiment_name": experiment_name} if experiment_name else {}
    job = ml.batch_endpoints.invoke(
        endpoint_name=name, deployment_name=deployment, inputs=params or None, **kwargs
    )
    if output == "json" and not stream:
        echo_json({"name": job.name, "status": job.status})
        return
    click.echo(f"Started run {job.name} of {name} ({job.status}).")
    if stream:
        ml.jobs.stream(job.name)
    else:
        click.echo(f"Follow it with: automl-local job stream --name {job.name}")


@pipeline.command("runs")
@click.option("--name", "-n", required=True)
@backend_options
@output_option
def runs(name: str, output: str) -> None:
    """Runs started through a published pipeline, newest first."""
    jobs = list(get_ml_client().batch_endpoints.list_jobs(endpoint_name=name))
    rows = [{"name": j.name, "status": j.status} for j in jobs]
    if output == "json":
        echo_json(rows)
        return
    if not rows:
        click.echo(f"No runs of {name} yet: automl-local pipeline invoke --name {name}")
        return
    for r in rows:
        click.echo(f"{r['name']:<44} {r['status']}")


@pipeline.command("delete")
@click.option("--name", "-n", required=True)
@backend_options
def delete(name: str) -> None:
    """Unpublish: delete the endpoint and its deployments (runs are kept)."""
    get_ml_client().batch_endpoints.begin_delete(name=name).result()
    click.echo(f"Deleted published pipeline {name}.")
