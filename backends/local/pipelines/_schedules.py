"""``ml_client.schedules`` on the local backend: ``JobSchedule`` in, runs on time out.

A schedule is stored in the workspace catalogue (kind ``schedule``): its
trigger as Azure writes it (``JobSchedule._to_dict()['trigger']``), the job
to create (a prepared pipeline dict, an AutoML job dict, or the name of an
existing job to copy), whether it is enabled, the last fire time handled,
and the history of its runs. The control-plane server
(``automl-local server start``, started automatically when a schedule is
created or enabled) reads that state every second and fires what is due, so
schedules and their history survive a server restart.

Azure's rules kept: only a disabled schedule can be deleted; ``trigger``
fires an enabled schedule once, now; ``list`` shows enabled schedules unless
``list_view_type`` says otherwise. Missed runs (due while no server ran) are
handled by the server's policy: see :mod:`service.control_plane._scheduler`.
"""

from __future__ import annotations

import builtins
import datetime as dt
import io
import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from automl_local.backends.base import LocalPoller
from automl_local.backends.local.pipelines._control_plane import ensure_server, server_url
from automl_local.backends.local.pipelines._expressions import (
    expand_schedule_expressions,
    hold_schedule_expressions,
)
from automl_local.backends.local.pipelines._triggers import plan_trigger

from automl_local.exceptions import ConfigError, NotFoundError

__all__ = [
    "HISTORY_LIMIT",
    "KIND",
    "LocalScheduleOperations",
    "fire_schedule",
    "next_run_time",
    "record_run",
    "schedule_anchor",
    "schedule_history",
    "schedule_record",
    "schedule_records",
    "set_last_fire_time",
]

KIND = "schedule"
RUN_KIND = "schedule_run"
HISTORY_LIMIT = 200
_HINT = "List schedules with `automl-local schedule list --all`."
_VIEWS = {"EnabledOnly": True, "DisabledOnly": False, "All": None}


def _utc(stamp: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(stamp, dt.UTC)


def schedule_anchor(record: dict[str, Any]) -> dt.datetime:
    """Where the trigger counts from when it has no ``start_time``: the last create/update."""
    return _utc(float(record.get("anchor") or record.get("created_at") or time.time()))


def next_run_time(record: dict[str, Any], after: dt.datetime | None = None) -> dt.datetime | None:
    """The next time the schedule fires after ``after`` (default: its last handled time)."""
    if after is None:
        last = record.get("last_fire_time")
        after = _utc(float(last)) if last else schedule_anchor(record)
    return plan_trigger(record["trigger"], schedule_anchor(record)).next_after(after)


# ---------------------------------------------------------------------- the job to create


def _job_payload(client: Any, create_job: Any) -> dict[str, Any]:
    """What the schedule will submit, stored so a run needs no YAML files."""
    from azure.ai.ml.entities import Command, CommandJob, Job, PipelineJob

    if isinstance(create_job, str):
        name = create_job.removeprefix("azureml:")
        record = client.workspace.catalogue.get("job", name)
        if record is None:
            raise NotFoundError(
                f"create_job: job {name!r} was not found in the workspace. Give a job YAML "
                "(create_job: ./pipeline.yml), a job entity, or an existing job's name."
            )
        return {"kind": "job_ref", "job": name, "type": record.get("type")}
    if isinstance(create_job, PipelineJob):
        import os

        from automl_local.backends.local.pipelines._spec import pipeline_job_dict, prepare_pipeline

        base_dir = Path(getattr(create_job, "base_path", None) or os.getcwd())
        held = hold_schedule_expressions(pipeline_job_dict(create_job))
        data, _, warnings = prepare_pipeline(client, held, base_dir)
        return {
            "kind": "pipeline", "pipeline": data, "base_dir": str(base_dir),
            "warnings": warnings, "experiment_name": create_job.experiment_name,
        }  # fmt: skip
    if isinstance(create_job, Command | CommandJob):
        return _command_payload(create_job)
    if isinstance(create_job, Job):
        import os

        from azure.ai.ml.entities._job.automl.tabular.classification_job import (
            ClassificationJob,
        )

        if not isinstance(create_job, ClassificationJob):
            raise ConfigError(
                f"create_job is a {type(create_job).__name__}; local schedules create pipeline "
                "jobs, command jobs and AutoML classification jobs."
            )
        base_dir = Path(getattr(create_job, "base_path", None) or os.getcwd())
        client.jobs.validate(create_job, raise_on_failure=True)
        try:
            dumped = create_job._to_dict()
        except Exception as exc:  # azure-ai-ml's schema (e.g. Azure wants mltable inputs)
            message = " ".join(str(exc).split())
            raise ConfigError(
                f"create_job cannot be stored as Azure's job YAML: {message}. A scheduled AutoML "
                "job needs mltable inputs (an MLTable folder or azureml:<asset>@latest)."
            ) from None
        return {
            "kind": "automl", "job": hold_schedule_expressions(dumped), "base_dir": str(base_dir)
        }
    raise ConfigError(
        f"create_job must be a job entity, a job YAML or an existing job name, got "
        f"{type(create_job).__name__}."
    )


def _command_payload(create_job: Any) -> dict[str, Any]:
    """A command job as its stored dict, local paths made absolute, as ``jobs.get`` keeps it."""
    from automl_local.backends.local._jobs import yaml_folder
    from automl_local.backends.local.pipelines._command_jobs import _absolute, _command_job

    entity = _command_job(create_job)
    base_dir = yaml_folder(create_job)
    dumped = _absolute(json.loads(json.dumps(entity._to_dict(), default=str)), base_dir)
    return {"kind": "command", "job": hold_schedule_expressions(dumped), "base_dir": str(base_dir)}


def _job_entity(client: Any, payload: dict[str, Any]) -> Any:
    """The entity ``schedules.get(...).create_job`` shows."""
    if payload["kind"] == "job_ref":
        return payload["job"]
    if payload["kind"] == "pipeline":
        from automl_local.backends.local.pipelines._spec import to_pipeline_job

        return to_pipeline_job(payload["pipeline"], payload.get("base_dir"))
    import yaml
    from azure.ai.ml import load_job

    return load_job(
        source=io.StringIO(yaml.safe_dump(payload["job"])), relative_origin=payload["base_dir"]
    )


def _run_name(schedule: str, when: dt.datetime) -> str:
    return f"{schedule}_{when:%Y%m%d%H%M}_{secrets.token_hex(2)}"


def record_run(client: Any, name: str, entry: dict[str, Any]) -> dict[str, Any]:
    """Add an entry to a schedule's history (one record each: concurrent writers never clash)."""
    cat = client.workspace.catalogue
    fired_at = time.time()
    key = f"{name}/{fired_at:.6f}-{secrets.token_hex(3)}"
    entry = {"schedule": name, "fired_at": fired_at, **entry, "key": key}
    cat.put(RUN_KIND, key, entry)
    for old in _runs(client, name)[:-HISTORY_LIMIT]:
        cat.delete(RUN_KIND, old["key"])
    return entry


def _runs(client: Any, name: str) -> list[dict[str, Any]]:
    return [r for r in client.workspace.catalogue.list(RUN_KIND) if r.get("schedule") == name]


def schedule_records(client: Any) -> list[dict[str, Any]]:
    """Every stored schedule (enabled or not), as the catalogue holds it."""
    return list(client.workspace.catalogue.list(KIND))


def schedule_record(client: Any, name: str, *, hint: str = _HINT) -> dict[str, Any]:
    """The stored schedule ``name``, or NotFoundError with ``hint``."""
    return dict(client.workspace.catalogue.require(KIND, name, hint=hint))


def set_last_fire_time(client: Any, name: str, when: dt.datetime) -> None:
    """Claim fire time ``when`` of schedule ``name``: it is handled, never fired again."""
    client.workspace.catalogue.update(KIND, name, {"last_fire_time": when.timestamp()})


def schedule_history(client: Any, name: str) -> list[dict[str, Any]]:
    """The schedule's runs, oldest first: scheduled time, job name, reason, error."""
    return _runs(client, name)


def fire_schedule(
    client: Any, name: str, scheduled: dt.datetime, reason: str, *, missed: int = 0
) -> dict[str, Any]:
    """Submit the schedule's job now and record it in the schedule's history; return the entry.

    ``reason`` is ``schedule`` (on time), ``missed`` (fell due while no server
    ran; fired once at start-up) or ``trigger`` (``schedules.trigger``).
    A job that cannot start is recorded with its error; the schedule goes on.
    """
    record = client.workspace.catalogue.require(KIND, name, hint=_HINT)
    payload = record["create_job"]
    job_name = _run_name(name, scheduled)
    entry: dict[str, Any] = {
        "scheduled_time": scheduled.isoformat(), "reason": reason, "job_name": None,
        "missed": missed, "error": None,
    }  # fmt: skip
    origin = {"schedule": name, "scheduled_time": scheduled.isoformat(), "via": reason}
    payload = expand_schedule_expressions(payload, job_name=job_name, trigger_time=scheduled)
    try:
        if payload["kind"] == "pipeline":
            from automl_local.backends.local.pipelines._jobs import start_pipeline

            start_pipeline(
                client, payload["pipeline"], name=job_name, base_dir=payload.get("base_dir"),
                experiment_name=payload.get("experiment_name"), warnings=payload.get("warnings"),
                origin=origin, display_name=f"{name} {scheduled:%Y-%m-%d %H:%M}", as_entity=False,
            )  # fmt: skip
        elif payload["kind"] == "job_ref":
            job_name = _rerun(client, payload["job"], job_name, origin)
        else:
            job = _job_entity(client, payload)
            job.name = job_name
            job_name = client.jobs.create_or_update(job).name
        entry["job_name"] = job_name
    except Exception as exc:  # a schedule keeps going when one run cannot start
        entry["error"] = f"{type(exc).__name__}: {exc}"
    return record_run(client, name, entry)


def _rerun(client: Any, source: str, job_name: str, origin: dict[str, Any]) -> str:
    """A new run of an existing job: same pipeline dict, or same AutoML settings."""
    ws = client.workspace
    record = ws.catalogue.require("job", source, hint="The schedule's create_job is gone.")
    if record.get("type") == "command":
        from automl_local.backends.local.pipelines._command_jobs import COMMAND_FILE

        stored = json.loads((ws.job_dir(source) / COMMAND_FILE).read_text())
        job = _job_entity(client, {"kind": "command", "job": stored,
                                   "base_dir": record.get("base_dir") or ws.root})  # fmt: skip
        job.name = job_name
        return str(client.jobs.create_or_update(job).name)
    if record.get("type") == "pipeline":
        from automl_local.backends.local.pipelines._jobs import start_pipeline

        data = json.loads((ws.job_dir(source) / "pipeline.json").read_text())
        start_pipeline(
            client, data, name=job_name, base_dir=record.get("base_dir"),
            experiment_name=record.get("experiment_name"), origin=origin, as_entity=False,
        )  # fmt: skip
        return job_name
    from automl_local.backends.local._convert import job_from_settings

    from automl_local.settings import JobSettings

    settings = JobSettings.from_dict(json.loads((ws.job_dir(source) / "spec.json").read_text()))
    job = job_from_settings(settings)
    job.name = job_name
    return str(client.jobs.create_or_update(job).name)


# ---------------------------------------------------------------------- operations


class LocalScheduleOperations:
    """Create, enable, disable, delete, get, list and trigger schedules."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._ws = client.workspace

    # -- write -------------------------------------------------------------
    def begin_create_or_update(self, schedule: Any, **kwargs: Any) -> LocalPoller[Any]:
        return LocalPoller(lambda: self._create(schedule))

    def _create(self, schedule: Any) -> Any:
        from azure.ai.ml.entities import JobSchedule

        if not isinstance(schedule, JobSchedule):
            raise ConfigError(
                f"schedules.begin_create_or_update takes a JobSchedule, got "
                f"{type(schedule).__name__} (monitor schedules are not emulated)."
            )
        name = str(schedule.name or "")
        from automl_local.backends.local._names import check_job_name

        check_job_name(name)
        if schedule.trigger is None:
            raise ConfigError(f"schedule {name!r} has no trigger; give a cron or recurrence one.")
        try:
            probe = JobSchedule(name=name, trigger=schedule.trigger, create_job="azureml:x")
            trigger = probe._to_dict()["trigger"]
        except Exception as exc:
            raise ConfigError(f"schedule {name!r}: its trigger could not be read: {exc}") from None
        now = time.time()
        plan = plan_trigger(trigger, _utc(now))  # checks the trigger now, not at fire time
        existing = self._ws.catalogue.get(KIND, name)
        payload = _job_payload(self._client, schedule.create_job)
        enabled = True if schedule.is_enabled is None else bool(schedule.is_enabled)
        if existing is not None and schedule.is_enabled is None:
            enabled = bool(existing.get("is_enabled", True))
        keep = existing if existing and existing.get("trigger") == trigger else None
        record = {
            "name": name, "display_name": schedule.display_name,
            "description": schedule.description, "tags": dict(schedule.tags or {}),
            "properties": {str(k): str(v) for k, v in (schedule.properties or {}).items()},
            "trigger": trigger, "create_job": payload, "is_enabled": enabled,
            "warnings": list(plan.warnings),
            "created_at": (existing or {}).get("created_at", now), "updated_at": now,
            # a changed trigger counts from now: no catch-up of times it never promised
            "anchor": (keep or {}).get("anchor", now),
            "last_fire_time": (keep or {}).get("last_fire_time"),
        }  # fmt: skip
        self._ws.catalogue.put(KIND, name, record)
        if enabled:
            ensure_server(self._ws)
        return self.get(name)

    def _set_enabled(self, name: str, flag: bool) -> Any:
        record = self._record(name)
        changes: dict[str, Any] = {"is_enabled": flag, "updated_at": time.time()}
        if flag and not record.get("is_enabled"):
            # re-enabling starts from now: the runs it missed while disabled are not owed
            changes.update(anchor=time.time(), last_fire_time=None)
        self._ws.catalogue.update(KIND, name, changes)
        if flag:
            ensure_server(self._ws)
        return self.get(name)

    def begin_enable(self, name: str, **kwargs: Any) -> LocalPoller[Any]:
        return LocalPoller(lambda: self._set_enabled(name, True))

    def begin_disable(self, name: str, **kwargs: Any) -> LocalPoller[Any]:
        return LocalPoller(lambda: self._set_enabled(name, False))

    def begin_delete(self, name: str, **kwargs: Any) -> LocalPoller[None]:
        def delete() -> None:
            record = self._record(name)
            if record.get("is_enabled"):
                raise ConfigError(
                    f"schedule {name!r} is enabled; only a disabled schedule can be deleted (as "
                    f"on Azure). Disable it first: automl-local schedule disable --name {name}"
                )
            self._ws.catalogue.delete(KIND, name)
            for run in _runs(self._client, name):
                self._ws.catalogue.delete(RUN_KIND, run["key"])

        return LocalPoller(delete)

    def trigger(self, name: str, **kwargs: Any) -> Any:
        """Fire the schedule once, now (``schedule_time`` may name the logical time)."""
        from azure.ai.ml.entities._schedule.schedule import ScheduleTriggerResult

        record = self._record(name)
        if not record.get("is_enabled"):
            raise ConfigError(
                f"schedule {name!r} is disabled; only an enabled schedule can be triggered. "
                f"Enable it: automl-local schedule enable --name {name}"
            )
        when = kwargs.get("schedule_time")
        scheduled = dt.datetime.fromisoformat(str(when)) if when else dt.datetime.now(dt.UTC)
        if scheduled.tzinfo is None:
            scheduled = scheduled.replace(tzinfo=dt.UTC)
        entry = fire_schedule(self._client, name, scheduled, "trigger")
        if entry["error"]:
            raise ConfigError(f"schedule {name!r} could not start its job: {entry['error']}")
        return ScheduleTriggerResult(job_name=entry["job_name"], schedule_action_type="CreateJob")

    # -- read --------------------------------------------------------------
    def _record(self, name: str) -> dict[str, Any]:
        return self._ws.catalogue.require(KIND, name, hint=_HINT)

    def get(self, name: str, **kwargs: Any) -> Any:
        return self._entity(self._record(name))

    def _entity(self, record: dict[str, Any]) -> Any:
        from azure.ai.ml.entities import JobSchedule, SystemData

        loaded = JobSchedule._load(
            data={"name": record["name"], "trigger": record["trigger"], "create_job": "azureml:x"}
        )
        props = dict(record.get("properties") or {})
        upcoming = next_run_time(record) if record.get("is_enabled") else None
        props["automl_local.next_run_time"] = upcoming.isoformat() if upcoming else ""
        props["automl_local.server_url"] = server_url(self._ws) or ""  # who fires it
        if record.get("warnings"):
            props["automl_local.warnings"] = "\n".join(record["warnings"])
        history = _runs(self._client, record["name"])
        if history:
            props["automl_local.last_job"] = str(history[-1].get("job_name") or "")
            props["automl_local.last_fired_at"] = _utc(history[-1]["fired_at"]).isoformat()
        entity = JobSchedule(
            name=record["name"], trigger=loaded.trigger,
            create_job=_job_entity(self._client, record["create_job"]),
            display_name=record.get("display_name"), description=record.get("description"),
            tags=record.get("tags"), properties=props, is_enabled=bool(record.get("is_enabled")),
            provisioning_state="Succeeded",
        )  # fmt: skip
        entity._creation_context = SystemData(
            created_at=_utc(record["created_at"]), last_modified_at=_utc(record["updated_at"])
        )
        return entity

    def list(self, *, list_view_type: Any = "EnabledOnly", **kwargs: Any) -> Iterator[Any]:
        view = str(getattr(list_view_type, "value", list_view_type))
        if view not in _VIEWS:
            raise ConfigError(
                f"list_view_type {view!r} is not valid; use EnabledOnly, DisabledOnly or All "
                "(azure.ai.ml.constants.ScheduleListViewType)."
            )
        wanted = _VIEWS[view]
        for record in self._ws.catalogue.list(KIND):
            if wanted is None or bool(record.get("is_enabled")) == wanted:
                yield self._entity(record)

    def history(self, name: str) -> builtins.list[dict[str, Any]]:
        """The schedule's runs, oldest first (local extension; Azure shows them in studio)."""
        self._record(name)
        return schedule_history(self._client, name)
