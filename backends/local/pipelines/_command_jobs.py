"""Standalone command jobs: ``type: command`` YAML, ``command(...)``, ``CommandJob``.

Azure runs a command job as one step on compute; here it is a one-node run of
the pipeline machinery, so there is one command runner: the entity becomes a
pipeline dict with a single command node (``NODE``) whose outputs are published
as the job's outputs under the same names, prepared like any pipeline (code
snapshotted, data paths checked, compute and environment resolved), and run by
the detached pipeline runner (record ``type: command``), whose node runs under
the job's own name. What differs from a pipeline is what the user sees:

* ``jobs.get`` returns what azure-ai-ml returns for a command job, a ``Command``
  (the ``Job`` subclass ``command(...)`` builds), with status and ``services["Studio"]``;
* ``jobs.stream`` prints the command's own log (``user_logs/std_log.txt``)
  as it is written, as Azure streams a command job;
* the job is an MLflow run whose id is the job name (``MLFLOW_RUN_ID`` is set
  for the command, so ``mlflow.log_metric`` in the script lands on it).

Fields with no local meaning (``resources``, ``distribution``, ``queue_settings``,
``identity``, input ``mode``) are accepted and named in the job's warnings.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import time
from pathlib import Path
from typing import Any

from automl_local.backends.local._studio import studio_services, studio_url
from automl_local.backends.local.pipelines._jobs import (
    TERMINAL,
    failure_message,
    live_record,
    start_pipeline,
)
from automl_local.backends.local.pipelines._spec import prepare_pipeline

from automl_local.exceptions import AlreadyExistsError, AutoMLError, ConfigError, JobFailedError

__all__ = [
    "COMMAND_FILE",
    "NODE",
    "command_entity",
    "command_log_path",
    "stream_command_job",
    "submit_command_job",
    "validate_command_job",
]

NODE = "command"  # the one node of a command job's run
COMMAND_FILE = "command.json"  # the CommandJob as submitted (what jobs.get rebuilds)
_POLL_SECONDS = 0.3
_AZURE_ONLY = {
    "resources": "runs as one process on this machine",
    "distribution": "runs as one process on this machine (no MPI/PyTorch/TensorFlow launcher)",
    "queue_settings": "nothing is queued locally",
    "identity": "the command runs as the local user",
}


def _command_job(job: Any) -> Any:
    """The ``CommandJob`` of a ``Command`` node (``command(...)``, ``load_job``) or itself."""
    from azure.ai.ml.entities import CommandJob

    return job if isinstance(job, CommandJob) else job._to_job()


def _node_body(job: Any) -> dict[str, Any]:
    from azure.ai.ml.entities import CommandJob

    node = job._to_node() if isinstance(job, CommandJob) else job
    try:
        body: dict[str, Any] = json.loads(json.dumps(node._to_dict(), default=str))
    except Exception as exc:  # azure-ai-ml validation/serialisation errors
        message = " ".join(str(exc).split("Visit this link")[0].split())
        raise ConfigError(f"the command job could not be read: {message}") from None
    return body


def _warnings(entity: Any) -> list[str]:
    """Azure-only settings the job sets: accepted, and said to mean nothing here."""
    set_fields = []
    resources = getattr(entity, "resources", None)
    if resources is not None and (
        (getattr(resources, "instance_count", None) or 1) > 1
        or getattr(resources, "instance_type", None)
    ):
        set_fields.append("resources")
    queue = getattr(entity, "queue_settings", None)
    if getattr(queue, "job_tier", None) or getattr(queue, "priority", None):
        set_fields.append("queue_settings")
    set_fields += [f for f in ("distribution", "identity") if getattr(entity, f, None)]
    out = [f"{f} is accepted and means nothing locally: {_AZURE_ONLY[f]}." for f in set_fields]
    for name, given in (getattr(entity, "inputs", None) or {}).items():
        mode = getattr(given, "mode", None)
        if mode:
            out.append(f"inputs.{name}.mode={mode}: locally every input is a local path.")
    return out


def submit_command_job(
    client: Any,
    job: Any,
    *,
    experiment_name: str | None = None,
    tags: dict[str, str] | None = None,
    description: str | None = None,
    compute: str | None = None,
) -> Any:
    """``jobs.create_or_update`` of a command job: check, store, start; return the entity."""
    from automl_local.backends.local._jobs import yaml_folder
    from automl_local.backends.local._names import check_job_name, generate_job_name

    entity = _command_job(job)
    name = check_job_name(job.name or entity.name or generate_job_name())
    if client.workspace.catalogue.get("job", name) is not None:
        raise AlreadyExistsError(
            f"job {name!r} already exists. Choose another name, or leave the name out to get a "
            "new one."
        )
    base_dir = yaml_folder(job)
    experiment = experiment_name or entity.experiment_name or "Default"
    all_tags = {str(k): str(v) for k, v in {**(entity.tags or {}), **(tags or {})}.items()}
    data, warnings = _prepared(client, job, entity, base_dir, compute=compute, name=name,
                               experiment=experiment, tags=all_tags)  # fmt: skip
    job_dir = client.workspace.job_dir(name)
    job_dir.mkdir(parents=True, exist_ok=True)
    stored = _absolute(json.loads(json.dumps(entity._to_dict(), default=str)), base_dir)
    (job_dir / COMMAND_FILE).write_text(json.dumps(stored, indent=2))
    record = start_pipeline(
        client, data, name=name, base_dir=base_dir, warnings=warnings,
        experiment_name=experiment, tags=all_tags,
        description=description or entity.description, display_name=entity.display_name,
        kind="command", as_entity=False,
    )  # fmt: skip
    return command_entity(client, record)


def _prepared(
    client: Any, job: Any, entity: Any, base_dir: Path, *, compute: str | None, name: str,
    experiment: str, tags: dict[str, str],
) -> tuple[dict[str, Any], list[str]]:
    """The job as a prepared one-node pipeline dict, and its submission warnings."""
    body = _node_body(job)
    target = compute or body.pop("compute", None) or entity.compute
    body.pop("compute", None)
    outputs = {k: {"type": (v or {}).get("type", "uri_folder")}
               for k, v in (body.get("outputs") or {}).items()}  # fmt: skip
    body["outputs"] = {k: f"${{{{parent.outputs.{k}}}}}" for k in outputs}
    data = {
        "type": "pipeline", "experiment_name": experiment,
        "display_name": entity.display_name or name, "tags": tags, "outputs": outputs,
        "settings": {"force_rerun": True, **({"default_compute": target} if target else {})},
        "jobs": {NODE: body},
    }  # fmt: skip
    try:
        data, _, warnings = prepare_pipeline(client, data, base_dir)
    except AutoMLError as exc:  # said of the job, not of its one node
        raise type(exc)(str(exc).replace(f"node {NODE!r} ", "")) from None
    warnings = [w.replace("settings.default_compute: ", "compute: ") for w in warnings]
    return data, [*warnings, *_warnings(entity)]


def validate_command_job(client: Any, job: Any) -> list[str]:
    """``jobs.validate`` of a command job: every check of a submission; its warnings."""
    from automl_local.backends.local._jobs import yaml_folder

    entity = _command_job(job)
    _, warnings = _prepared(client, job, entity, yaml_folder(job), compute=None,
                            name=entity.name or "validation", experiment="Default", tags={})
    return warnings


def _local(path: Any, base_dir: Path) -> Any:
    """``azureml:./x`` / ``./x`` -> an absolute path (azure-ai-ml reloads neither form)."""
    if not isinstance(path, str):
        return path
    text = path.removeprefix("azureml:") if path.startswith("azureml:.") else path
    if text.startswith(("./", "../")) or text in (".", ".."):
        return str((base_dir / text).resolve())
    return path


def _absolute(stored: dict[str, Any], base_dir: Path) -> dict[str, Any]:
    """The submitted job with its local paths absolute, so ``jobs.get`` can reload it."""
    if stored.get("code"):
        stored["code"] = _local(stored["code"], base_dir)
    for given in (stored.get("inputs") or {}).values():
        if isinstance(given, dict) and "path" in given:
            given["path"] = _local(given["path"], base_dir)
    return stored


def command_entity(client: Any, record: dict[str, Any]) -> Any:
    """The stored command job as azure-ai-ml's ``jobs.get`` gives it (a ``Command``), with its
    status and Studio link."""
    import yaml
    from azure.ai.ml import load_job
    from azure.ai.ml.entities import Command, SystemData

    name = record["name"]
    if record.get("status") not in TERMINAL:
        record = live_record(client, name)
    job_dir = client.workspace.job_dir(name)
    stored = json.loads((job_dir / COMMAND_FILE).read_text())
    loaded = load_job(io.StringIO(yaml.safe_dump(stored)),
                      relative_origin=str(record.get("base_dir") or "."))  # fmt: skip
    job: Any = loaded if isinstance(loaded, Command) else loaded._to_node()
    job.name = name
    job._status = record.get("status")
    job.experiment_name = record.get("experiment_name")
    job.display_name = record.get("display_name")
    job.description = record.get("description")
    job.tags = dict(record.get("tags") or {})
    for out in stored.get("outputs") or {}:
        job.outputs[out].path = f"azureml://jobs/{name}/outputs/{out}"
    props = {"automl_local.log": str(command_log_path(client, name))}
    if record.get("error"):
        props["error"] = str(record["error"])
    job.properties = props
    created = record.get("created_at")
    job._creation_context = SystemData(
        created_at=dt.datetime.fromtimestamp(created, dt.UTC) if created else None
    )
    job.services = studio_services(name)
    return job


def command_log_path(client: Any, name: str) -> Path:
    """The command's own log (stdout and stderr, environment build first)."""
    return client.workspace.job_dir(name) / "nodes" / NODE / "user_logs" / "std_log.txt"


def stream_command_job(client: Any, name: str) -> None:
    """Print the command's log as it is written until the job ends; raise unless it completed."""
    print(f"RunId: {name}\nWeb View: {studio_url(name)}\n\nStreaming user_logs/std_log.txt\n"
          "===============================", flush=True)  # fmt: skip
    path = command_log_path(client, name)
    offset = 0

    def drain() -> None:
        nonlocal offset
        if not path.exists():
            return
        with open(path, encoding="utf-8", errors="replace") as fh:
            fh.seek(offset)
            chunk = fh.read()
            offset = fh.tell()
        if chunk:
            print(chunk, end="", flush=True)

    while True:
        drain()
        record = live_record(client, name)
        if record.get("status") in TERMINAL:
            drain()
            break
        time.sleep(_POLL_SECONDS)
    print(f"\nExecution Summary\n=================\nRunId: {name}\nStatus: {record['status']}\n",
          flush=True)  # fmt: skip
    if record["status"] != "Completed":
        text = failure_message(client, record).replace(f"pipeline job {name!r} failed: node "
                                                       f"{NODE!r} failed", f"job {name!r} failed")
        raise JobFailedError(text)
