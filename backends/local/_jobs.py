"""``ml_client.jobs`` for the local backend.

``create_or_update`` checks the spec and the data up front (so a bad spec
fails at once with a clear message and leaves nothing behind), writes the
engine's ``spec.json``, and starts the job in a detached runner process, as
Azure queues it on compute. ``stream`` follows the job's event log from any
shell. A job killed outright can be resumed: creating it again under the same
name continues from its finished trials.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from automl_local.backends.base import LocalPoller
from automl_local.backends.local._convert import settings_from_job
from automl_local.backends.local._names import check_job_name, generate_job_name
from automl_local.backends.local._studio import studio_services, studio_url
from automl_local.backends.operations import entity_summary

from automl_local.detached import EVENTS_FILE, read_events, run_alive, start_run, stop_run
from automl_local.exceptions import (
    AlreadyExistsError,
    ConfigError,
    JobFailedError,
    NotFoundError,
)
from automl_local.settings import JobSettings

__all__ = ["LocalJobOperations", "yaml_folder"]

TERMINAL = ("Completed", "Failed", "Canceled")
BEST_MODEL = "best_model"
RUNNER = "automl_local.runner"  # the AutoML job process (python -m)


class LocalJobOperations:
    """Create, follow, cancel and download AutoML, pipeline and command jobs."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._ws = client.workspace

    # -- create ------------------------------------------------------------
    def create_or_update(
        self,
        job: Any,
        *,
        description: str | None = None,
        compute: str | None = None,
        tags: dict[str, str] | None = None,
        experiment_name: str | None = None,
        skip_validation: bool = False,
        **kwargs: Any,
    ) -> Any:
        from azure.ai.ml.entities import Command, CommandJob, PipelineJob

        if isinstance(job, PipelineJob):
            from automl_local.backends.local.pipelines import submit_pipeline

            return submit_pipeline(self._client, job, experiment_name=experiment_name, tags=tags)
        if isinstance(job, CommandJob | Command):
            from automl_local.backends.local.pipelines import submit_command_job

            return submit_command_job(
                self._client, job, experiment_name=experiment_name, tags=tags,
                description=description, compute=compute,
            )  # fmt: skip
        if experiment_name:
            job.experiment_name = experiment_name
        if compute:  # as on Azure: the argument overrides the spec's compute
            job.compute = compute
        if description:
            job.description = description
        if tags:
            job.tags = {**(job.tags or {}), **tags}
        if compute:
            job.compute = compute
        name = check_job_name(job.name or generate_job_name())
        record = self._ws.catalogue.get("job", name)
        resume = False
        if record is not None:
            status = self._live_status(record)
            if status == "Completed":
                raise AlreadyExistsError(
                    f"job {name!r} already exists and has completed. Choose another --name, or "
                    "leave the name out to get a new one."
                )
            if status not in TERMINAL:
                raise AlreadyExistsError(
                    f"job {name!r} is still {status}; wait for it or cancel it."
                )
            resume = True
        warnings: list[str] = []
        base_dir = yaml_folder(job)
        settings = settings_from_job(
            job,
            name=name,
            base_dir=base_dir,
            resolve_path=self._resolve,
            warnings=warnings,
            seed=int(kwargs.get("seed", 0)),
            compute_bound=self._compute_bound,
        )
        if not skip_validation:
            from automl_local.engine import validate_settings

            validate_settings(settings)
        return self._start(
            settings, record if resume else None, warnings, description or job.description
        )

    def resume(self, name: str) -> Any:
        """Continue a Failed or Canceled job from its finished trials."""
        record = self._record(name)
        status = self._live_status(record)
        if status not in ("Failed", "Canceled"):
            raise ConfigError(f"job {name!r} is {status}; only a Failed or Canceled job resumes.")
        settings = JobSettings.from_dict(
            json.loads((self._ws.job_dir(name) / "spec.json").read_text())
        )
        return self._start(settings, record, record.get("warnings", []), record.get("description"))

    def _compute_bound(self, ref: str) -> tuple[int | None, str]:
        from automl_local.backends.local._compute import compute_bound

        return compute_bound(self._client, ref)

    def _resolve(self, path: str, base_dir: Path | None) -> str:
        from automl_local.backends.local._data import resolve_input_path

        return resolve_input_path(self._client, path, base_dir)

    def _start(
        self,
        settings: JobSettings,
        previous: dict | None,
        warnings: list[str],
        description: str | None,
    ) -> Any:
        name = settings.name
        job_dir = self._ws.job_dir(name)
        job_dir.mkdir(parents=True, exist_ok=True)
        (job_dir / "spec.json").write_text(json.dumps(settings.to_dict(), indent=2, default=str))
        now = time.time()
        record = {
            "name": name,
            "type": "automl",
            "task": "classification",
            "status": "Starting",
            "experiment_name": settings.experiment_name,
            "display_name": settings.display_name,
            "description": description,
            "tags": settings.tags,
            "warnings": warnings,
            "created_at": (previous or {}).get("created_at", now),
            "submitted_at": now,
            "attempts": (previous or {}).get("attempts", 0),
            "error": "",
            "pid": None,
        }
        self._ws.catalogue.put("job", name, record)
        self._ws.catalogue.update("job", name, {"pid": start_run(RUNNER, self._ws, name)})
        return self.get(name)

    # -- read --------------------------------------------------------------
    def _record(self, name: str) -> dict[str, Any]:
        return self._ws.catalogue.require(
            "job", name, hint="List jobs with `automl-local job list`."
        )

    def _live_status(self, record: dict[str, Any]) -> str:
        """The stored status, corrected when the job process died without saying so."""
        status = record.get("status", "Unknown")
        if status in TERMINAL or record.get("type") != "automl":
            return status
        if record.get("pid") and not run_alive(RUNNER, record["pid"], record["name"]):
            err = (
                "the job process ended without finishing (killed?). Resume it with "
                f"`automl-local job resume --name {record['name']}`."
            )
            self._ws.catalogue.update(
                "job", record["name"], {"status": "Failed", "error": err, "pid": None}
            )
            record.update(status="Failed", error=err)
            return "Failed"
        return status

    def get(self, name: str) -> Any:
        record = self._record(name)
        if record.get("type") == "pipeline":
            from automl_local.backends.local.pipelines import pipeline_entity

            return pipeline_entity(self._client, record)
        if record.get("type") == "command":
            from automl_local.backends.local.pipelines import command_entity

            return command_entity(self._client, record)
        record["status"] = self._live_status(record)
        return self._entity(record)

    def _entity(self, record: dict[str, Any]) -> Any:
        from automl_local.backends.local._convert import job_from_settings

        name = record["name"]
        spec = json.loads((self._ws.job_dir(name) / "spec.json").read_text())
        job = job_from_settings(JobSettings.from_dict(spec))
        job.name = name
        job.description = record.get("description")
        job._status = record["status"]
        job.outputs = _outputs(name)
        props = {k: str(v) for k, v in record.items() if k in ("error", "attempts", "pid") and v}
        result = self.result(name)
        if result:
            props["automl_best_child_run_id"] = result.get("best_child_run_id", "")
            props["score"] = str(result.get("best_score", ""))
        job.properties = props
        job.services = studio_services(name)
        return job

    def list(self, *, parent_job_name: str | None = None, **kwargs: Any) -> Iterator[Any]:
        if parent_job_name:
            from automl_local.backends.local.pipelines import list_children

            yield from list_children(self._client, parent_job_name)
            return
        for record in reversed(self._ws.catalogue.list("job")):
            if record.get("parent"):
                continue
            try:
                yield self.get(record["name"])
            except NotFoundError:
                continue

    def summary(self, name: str) -> dict[str, Any]:
        """What ``job show`` reports: the job's state, its submission warnings and error, and
        for an AutoML job the result (best child, score, leaderboard, registered model)."""
        entity = self.get(name)
        record = self._record(name)
        out = entity_summary(entity)
        out["error"] = record.get("error") or None
        out["warnings"] = record.get("warnings") or []
        if out["type"] == "automl":
            out.update(self.result(name) or {})
            out["outputs"] = {"best_model": f"azureml://jobs/{name}/outputs/best_model"}
        elif out["type"] == "command":
            out["outputs"] = {k: f"azureml://jobs/{name}/outputs/{k}" for k in entity.outputs}
            out["log"] = (entity.properties or {}).get("automl_local.log")
        out["studio_url"] = entity.studio_url
        return out

    def result(self, name: str) -> dict[str, Any] | None:
        """The finished job's summary (leaderboard, metrics, registered model), if any."""
        path = self._ws.job_dir(name) / "result.json"
        return json.loads(path.read_text()) if path.exists() else None

    def events(
        self, name: str, *, follow: bool = True, poll: float = 0.3
    ) -> Iterator[dict[str, Any]]:
        """The job's events, as they come; stops after the final status."""
        self._record(name)
        path = self._ws.job_dir(name) / EVENTS_FILE
        offset = 0
        while True:
            events, offset = read_events(path, offset)
            yield from events
            status = self._live_status(self._record(name))
            if status in TERMINAL:
                # drain once more: the final events may have landed after our read
                if path.exists() and path.stat().st_size > offset:
                    continue
                return
            if not follow:
                return
            time.sleep(poll)

    def stream(
        self, name: str, *, printer: Callable[[dict[str, Any]], None] | None = None
    ) -> None:
        """Follow the job until it ends, as ``MLClient.jobs.stream`` does; raise if it failed."""
        record = self._record(name)
        if record.get("type") == "pipeline":
            from automl_local.backends.local.pipelines import stream_pipeline

            return stream_pipeline(self._client, name, printer=printer)
        if record.get("type") == "command":
            from automl_local.backends.local.pipelines import stream_command_job

            return stream_command_job(self._client, name)
        show = printer or _print_event
        print(f"RunId: {name}\nWeb View: {studio_url(name)}\n", flush=True)
        for event in self.events(name):
            show(event)
        record = self._record(name)
        if record["status"] != "Completed":
            raise JobFailedError(
                f"job {name!r} ended {record['status']}: {record.get('error') or 'see its log'}"
            )
        return None

    # -- cancel / download ---------------------------------------------------
    def begin_cancel(self, name: str, **kwargs: Any) -> LocalPoller[None]:
        def cancel() -> None:
            record = self._record(name)
            if record.get("type") in ("pipeline", "command"):
                from automl_local.backends.local.pipelines import cancel_pipeline

                return cancel_pipeline(self._client, name)
            if self._live_status(record) in TERMINAL:
                return None
            if run_alive(RUNNER, record.get("pid"), name):
                stop_run(RUNNER, record.get("pid"), name)
            record = self._record(name)
            if record["status"] not in TERMINAL:
                self._ws.catalogue.update(
                    "job",
                    name,
                    {"status": "Canceled", "error": "canceled by request", "pid": None},
                )
            return None

        return LocalPoller(cancel)

    def output_path(self, name: str, output_name: str = BEST_MODEL) -> Path:
        record = self._record(name)
        if record.get("type") in ("pipeline", "command"):
            from automl_local.backends.local.pipelines import pipeline_output_path

            return pipeline_output_path(self._client, name, output_name)
        if output_name != BEST_MODEL:
            raise NotFoundError(
                f"job {name!r} has no output {output_name!r}; an AutoML job has {BEST_MODEL!r}."
            )
        path = self._ws.job_dir(name) / "outputs" / BEST_MODEL
        if not (path / "MLmodel").exists():
            raise NotFoundError(
                f"job {name!r} has no best_model yet (status {self._live_status(record)}). "
                f"Wait for it: `automl-local job stream --name {name}`."
            )
        return path

    def download(
        self,
        name: str,
        *,
        download_path: str | os.PathLike[str] = ".",
        output_name: str | None = None,
        all: bool = False,
    ) -> None:
        """Azure's layout: ``named-outputs/<output>/`` and ``artifacts/`` (a command job's
        ``artifacts/user_logs/std_log.txt``)."""
        target = Path(download_path)
        record = self._record(name)
        kind = record.get("type")
        if all:
            wanted = sorted(record.get("outputs") or {}) if kind != "automl" else [BEST_MODEL]
        else:
            wanted = [output_name] if output_name else []
        for output in wanted:
            src = self.output_path(name, output)
            dst = target / "named-outputs" / output
            if dst.exists():
                shutil.rmtree(dst)
            shutil.copytree(src, dst)
        if output_name and not all:
            return
        job_dir = self._ws.job_dir(name)
        if kind == "command":
            from automl_local.backends.local.pipelines import command_log_path

            log = command_log_path(self._client, name)
            if log.exists():
                (target / "artifacts" / "user_logs").mkdir(parents=True, exist_ok=True)
                shutil.copy2(log, target / "artifacts" / "user_logs" / log.name)
            return
        dst = target / "artifacts" / "outputs"
        dst.mkdir(parents=True, exist_ok=True)
        for f in (
            "guardrails.json",
            "featurization_summary.json",
            "leaderboard.json",
            "result.json",
            "feature_importance.json",
        ):
            if (job_dir / f).exists():
                shutil.copy2(job_dir / f, dst / f)

    def validate(self, job: Any, *, raise_on_failure: bool = False, **kwargs: Any) -> Any:
        from azure.ai.ml.entities import Command, CommandJob
        from azure.ai.ml.entities._validation import ValidationResultBuilder

        try:
            if isinstance(job, Command | CommandJob):
                from automl_local.backends.local.pipelines import validate_command_job

                validate_command_job(self._client, job)
                return ValidationResultBuilder.success()
            settings = settings_from_job(
                job,
                name=job.name or "validation",
                base_dir=yaml_folder(job),
                resolve_path=self._resolve,
                warnings=[],
                compute_bound=self._compute_bound,
            )
            from automl_local.engine import validate_settings

            validate_settings(settings)
        except Exception as exc:
            if raise_on_failure:
                raise
            result = ValidationResultBuilder.success()
            result.append_error(message=str(exc))
            return result
        return ValidationResultBuilder.success()


def yaml_folder(entity: Any) -> Path:
    """Where relative paths of an entity resolve: its YAML file's folder, as ``az ml`` does.

    azure-ai-ml sets ``base_path`` to the current directory, not the YAML's
    folder; the file it was loaded from is kept in ``_source_path``.
    """
    source = getattr(entity, "_source_path", None)
    if source:
        return Path(source).resolve().parent
    return Path(getattr(entity, "base_path", None) or os.getcwd())


def _outputs(name: str) -> dict[str, Any]:
    from azure.ai.ml import Output

    return {
        BEST_MODEL: Output(type="mlflow_model", path=f"azureml://jobs/{name}/outputs/{BEST_MODEL}")
    }


def _print_event(event: dict[str, Any]) -> None:
    kind = event.get("event")
    if kind == "phase":
        print(f"[{kind}] {event.get('phase')}", flush=True)
    elif kind == "trial":
        score = event.get("score")
        shown = (
            f"{score:.4f}" if isinstance(score, float) and score == score else event.get("status")
        )
        print(
            f"trial {event['trial']:>3} {event['algorithm']:<22} {shown}  "
            f"best {event.get('best', float('nan')):.4f}",
            flush=True,
        )
    elif kind == "featurization":  # what the search left out, and why (e.g. no ONNX converter)
        for algorithm, why in (event.get("skipped_algorithms") or {}).items():
            print(f"skipped {algorithm}: {why}", flush=True)
    elif kind == "status":
        print(
            f"Status: {event['status']}" + (f" ({event['error']})" if event.get("error") else ""),
            flush=True,
        )
