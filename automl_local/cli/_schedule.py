"""``automl-local schedule``: job schedules, as ``az ml schedule`` manages them.

Schedules are Azure's ``JobSchedule`` entities with a cron or recurrence
trigger, from the same YAML (``az ml schedule create --file``). Locally the
control-plane server fires them (started when a schedule is created or
enabled; see ``automl-local server``): the local schedule entities say
where (``automl_local.server_url``) and what their trigger could not honour
(``automl_local.warnings``) in their properties.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import click

from automl_local.cli._common import (
    backend_options,
    echo_json,
    get_ml_client,
    load_yaml_entity,
    output_option,
    parse_set_options,
)
from automl_local.exceptions import ConfigError

__all__ = ["describe_trigger", "schedule"]


def describe_trigger(trigger: Any) -> str:
    """One line for a trigger entity: ``cron '0 * * * *' (UTC)`` or ``every 1 day at ...``."""
    zone = str(getattr(getattr(trigger, "time_zone", None), "value", None)
               or getattr(trigger, "time_zone", None) or "UTC")  # fmt: skip
    expression = getattr(trigger, "expression", None)
    if expression:
        return f"cron '{expression}' ({zone})"
    text = f"every {trigger.interval} {trigger.frequency}"
    pattern = getattr(trigger, "schedule", None)
    if pattern is not None and (pattern.hours or pattern.minutes):
        hours = pattern.hours if isinstance(pattern.hours, list) else [pattern.hours]
        minutes = pattern.minutes if isinstance(pattern.minutes, list) else [pattern.minutes]
        times = ",".join(f"{h:02d}:{m:02d}" for h in hours for m in minutes)
        text += f" at {times}"
        days = pattern.week_days or getattr(pattern, "month_days", None)
        if days:
            text += f" on {','.join(str(d) for d in (days if isinstance(days, list) else [days]))}"
    return f"{text} ({zone})"


def _row(entity: Any) -> dict[str, Any]:
    props = dict(entity.properties or {})
    created = getattr(entity, "creation_context", None)
    return {
        "name": entity.name,
        "enabled": entity.is_enabled,
        "trigger": describe_trigger(entity.trigger),
        "next_run_time": props.get("automl_local.next_run_time") or None,
        "last_job": props.get("automl_local.last_job") or None,
        "created_at": created.created_at.isoformat()
        if created is not None and getattr(created, "created_at", None)
        else None,
        "display_name": entity.display_name,
        "description": entity.description,
    }


@click.group("schedule")
def schedule() -> None:
    """Create, enable, disable, show, list, trigger and delete job schedules (az ml schedule)."""


@schedule.command("create")
@click.option("--file", "-f", "file", required=True, help="Schedule YAML (schedule.schema.json).")
@click.option("--name", "-n", default=None, help="Override the schedule name.")
@click.option(
    "--set", "set_", multiple=True, help="Override a YAML field: --set trigger.interval=2"
)
@backend_options
@output_option
def create(file: str, name: str | None, set_: tuple[str, ...], output: str) -> None:
    """Create or update a schedule from YAML; its create_job may be a job YAML or azureml:<job>."""
    from azure.ai.ml.entities._load_functions import load_schedule

    overrides = parse_set_options(set_)
    if name:
        overrides["name"] = name
    entity = load_yaml_entity(load_schedule, file, overrides)
    ml = get_ml_client()
    created = ml.schedules.begin_create_or_update(entity).result()
    _after_write(created, output, "Created")


def _after_write(entity: Any, output: str, verb: str) -> None:
    row = _row(entity)
    if output == "json":
        echo_json(row)
        return
    state = "enabled" if entity.is_enabled else "disabled"
    click.echo(f"{verb} schedule {entity.name} ({state}): {row['trigger']}")
    if row["next_run_time"]:
        click.echo(f"Next run: {row['next_run_time']}")
    props = dict(entity.properties or {})
    for warning in str(props.get("automl_local.warnings") or "").splitlines():
        click.echo(f"warning: {warning}", err=True)
    if entity.is_enabled and "automl_local.server_url" in props:  # fired by the local server
        url = props["automl_local.server_url"]
        click.echo(f"Fired by the control plane at {url}." if url else
                   "The control plane is not running: start it with `automl-local server "
                   "start`, or the schedule will not fire.")  # fmt: skip


def _simple(verb: str, method: str) -> Any:
    @schedule.command(verb)
    @click.option("--name", "-n", required=True)
    @backend_options
    @output_option
    def command(name: str, output: str) -> None:
        ml = get_ml_client()
        entity = getattr(ml.schedules, method)(name=name).result()
        _after_write(entity, output, f"{verb.capitalize()}d")

    command.__doc__ = f"{verb.capitalize()} a schedule."
    return command


enable = _simple("enable", "begin_enable")
disable = _simple("disable", "begin_disable")


@schedule.command("delete")
@click.option("--name", "-n", required=True)
@backend_options
def delete(name: str) -> None:
    """Delete a schedule (it must be disabled first, as on Azure)."""
    get_ml_client().schedules.begin_delete(name=name).result()
    click.echo(f"Deleted schedule {name}.")


@schedule.command("show")
@click.option("--name", "-n", required=True)
@click.option("--history", "history_count", type=int, default=10, show_default=True,
              help="Local backend: how many recent runs to show.")  # fmt: skip
@backend_options
@output_option
def show(name: str, history_count: int, output: str) -> None:
    """A schedule: trigger, state, next run and (locally) its recent runs."""
    ml = get_ml_client()
    entity = ml.schedules.get(name=name)
    row = _row(entity)
    try:
        history = ml.schedules.history(name)[-history_count:]
    except ConfigError:  # a local extension: Azure shows a schedule's runs in the studio
        history = []
    if output == "json":
        echo_json({**row, "history": history})
        return
    for key in ("name", "display_name", "enabled", "trigger", "next_run_time", "last_job",
                "created_at", "description"):  # fmt: skip
        if row.get(key) not in (None, ""):
            click.echo(f"{key:<14} {row[key]}")
    if history:
        click.echo(f"\n{'FIRED AT':<20} {'SCHEDULED FOR':<26} {'REASON':<9} JOB")
        for h in history:
            fired = dt.datetime.fromtimestamp(h["fired_at"]).strftime("%Y-%m-%d %H:%M:%S")
            detail = h.get("job_name") or (f"error: {h['error']}" if h.get("error") else "")
            missed = f" ({h['missed']} missed)" if h.get("missed") else ""
            click.echo(f"{fired:<20} {h['scheduled_time'][:25]:<26} {h['reason']:<9} "
                       f"{detail}{missed}")  # fmt: skip


@schedule.command("list")
@click.option("--all", "all_", is_flag=True, help="Disabled schedules too.")
@click.option("--disabled", is_flag=True, help="Only disabled schedules.")
@backend_options
@output_option
def list_cmd(all_: bool, disabled: bool, output: str) -> None:
    """Schedules (enabled ones unless --all / --disabled, as Azure lists them)."""
    view = "All" if all_ else ("DisabledOnly" if disabled else "EnabledOnly")
    rows = [_row(s) for s in get_ml_client().schedules.list(list_view_type=view)]
    if output == "json":
        echo_json(rows)
        return
    if not rows:
        click.echo("No schedules. Create one: automl-local schedule create --file schedule.yml")
        return
    click.echo(f"{'NAME':<24} {'ENABLED':<8} {'NEXT RUN':<26} TRIGGER")
    for r in rows:
        click.echo(f"{r['name']:<24} {r['enabled']!s:<8} {(r['next_run_time'] or '-')[:25]:<26} "
                   f"{r['trigger']}")  # fmt: skip


@schedule.command("trigger")
@click.option("--name", "-n", required=True)
@backend_options
@output_option
def trigger(name: str, output: str) -> None:
    """Fire a schedule once, now."""
    result = get_ml_client().schedules.trigger(name=name)
    if output == "json":
        echo_json(
            {"job_name": result.job_name, "schedule_action_type": result.schedule_action_type}
        )
        return
    click.echo(f"Triggered schedule {name}: job {result.job_name}")
    click.echo(f"Follow it with: automl-local job stream --name {result.job_name}")
