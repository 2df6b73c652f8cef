"""``ml_client.schedules`` locally: JobSchedule from YAML and Python, with Azure's rules."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from pipeline_testkit import load, wait_terminal, write_two_node_pipeline  # noqa: E402

from automl_local.exceptions import ConfigError, NotFoundError  # noqa: E402

SCHEDULE_YAML = """\
$schema: https://azuremlschemas.azureedge.net/latest/schedule.schema.json
name: nightly
display_name: Nightly refresh
description: re-runs the two-node pipeline
trigger:
  type: recurrence
  frequency: week
  interval: 1
  schedule:
    hours: [10]
    minutes: [0, 30]
    week_days: [monday, friday]
  start_time: "2024-07-10T10:00:00"
  time_zone: "Pacific Standard Time"
create_job: ./pipeline.yml
"""


@pytest.fixture()
def ml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    from automl_local.backends import get_client

    monkeypatch.setenv("AUTOML_LOCAL_SERVER_AUTOSTART", "0")
    return get_client("local", workspace=tmp_path / "ws")


@pytest.fixture()
def schedule_file(tmp_path: Path) -> Path:
    folder = tmp_path / "p"
    write_two_node_pipeline(folder)
    path = folder / "schedule.yml"
    path.write_text(SCHEDULE_YAML)
    return path


def _load(path: Path) -> Any:
    from azure.ai.ml.entities._load_functions import load_schedule

    return load_schedule(str(path))


def test_yaml_schedule_lifecycle(ml: Any, schedule_file: Path) -> None:
    from azure.ai.ml.entities import JobSchedule, PipelineJob, RecurrenceTrigger

    created = ml.schedules.begin_create_or_update(_load(schedule_file)).result()
    assert isinstance(created, JobSchedule) and created.is_enabled is True
    assert isinstance(created.trigger, RecurrenceTrigger)
    assert created.trigger.schedule.week_days == ["monday", "friday"]
    assert isinstance(created.create_job, PipelineJob)
    next_run = created.properties["automl_local.next_run_time"]
    assert next_run.endswith(("17:00:00+00:00", "17:30:00+00:00", "18:00:00+00:00",
                              "18:30:00+00:00"))  # 10:00/10:30 Pacific  # fmt: skip
    assert [s.name for s in ml.schedules.list()] == ["nightly"]

    with pytest.raises(ConfigError, match=r"schedule 'nightly' is enabled; only a disabled"):
        ml.schedules.begin_delete("nightly").result()

    result = ml.schedules.trigger("nightly")
    assert result.schedule_action_type == "CreateJob" and result.job_name.startswith("nightly_")
    assert wait_terminal(ml, result.job_name)["status"] == "Completed"
    history = ml.schedules.history("nightly")
    assert [(h["reason"], h["job_name"]) for h in history] == [("trigger", result.job_name)]
    record = ml.workspace.catalogue.get("job", result.job_name)
    assert record["origin"]["schedule"] == "nightly"
    assert ml.schedules.get("nightly").properties["automl_local.last_job"] == result.job_name

    disabled = ml.schedules.begin_disable("nightly").result()
    assert disabled.is_enabled is False
    assert list(ml.schedules.list()) == []  # EnabledOnly by default, as Azure lists
    assert [s.name for s in ml.schedules.list(list_view_type="DisabledOnly")] == ["nightly"]
    with pytest.raises(ConfigError, match=r"schedule 'nightly' is disabled; only an enabled"):
        ml.schedules.trigger("nightly")
    ml.schedules.begin_delete("nightly").result()
    with pytest.raises(NotFoundError, match=r"schedule 'nightly' was not found"):
        ml.schedules.get("nightly")
    assert ml.workspace.catalogue.list("schedule_run") == []


def test_python_cron_schedule_of_an_existing_job(ml: Any, tmp_path: Path) -> None:
    from azure.ai.ml.entities import CronTrigger, JobSchedule

    path = write_two_node_pipeline(tmp_path / "p")
    job = ml.jobs.create_or_update(load(path))
    wait_terminal(ml, job.name)
    schedule = JobSchedule(
        name="hourly",
        trigger=CronTrigger(expression="0 * 1 * *", time_zone="UTC"),
        create_job=job.name,
    )
    created = ml.schedules.begin_create_or_update(schedule).result()
    assert created.create_job == job.name and created.trigger.expression == "0 * 1 * *"
    record = ml.workspace.catalogue.get("schedule", "hourly")
    assert "day-of-month field '1' is ignored" in record["warnings"][0]
    result = ml.schedules.trigger("hourly")
    final = wait_terminal(ml, result.job_name)
    assert final["status"] == "Completed"
    assert all(n["reused"] for n in final["nodes"].values())  # same pipeline, nothing changed


def test_updating_keeps_history_and_restarts_the_count_on_a_new_trigger(
    ml: Any, schedule_file: Path
) -> None:
    ml.schedules.begin_create_or_update(_load(schedule_file)).result()
    ml.workspace.catalogue.update("schedule", "nightly", {"last_fire_time": 1.0})
    same = _load(schedule_file)
    same.description = "new words"
    ml.schedules.begin_create_or_update(same).result()
    kept = ml.workspace.catalogue.get("schedule", "nightly")
    assert kept["last_fire_time"] == 1.0 and kept["description"] == "new words"
    changed = _load(schedule_file)
    changed.trigger.interval = 2
    ml.schedules.begin_create_or_update(changed).result()
    record = ml.workspace.catalogue.get("schedule", "nightly")
    assert record["last_fire_time"] is None and record["trigger"]["interval"] == 2


def test_an_automl_job_can_be_scheduled(ml: Any, tmp_path: Path) -> None:
    from azure.ai.ml import Input, automl
    from azure.ai.ml.automl import ClassificationJob
    from azure.ai.ml.entities import JobSchedule, RecurrenceTrigger
    from pipeline_testkit import bank_frame

    from automl_local.data import write_mltable

    bank_frame(120).to_csv(tmp_path / "bank.csv", index=False)
    csv_job = automl.classification(
        training_data=Input(type="uri_file", path=str(tmp_path / "bank.csv")),
        target_column_name="y", primary_metric="accuracy",
    )  # fmt: skip
    refused = JobSchedule(name="csv", create_job=csv_job, trigger=RecurrenceTrigger(
        frequency="day", interval=1))  # fmt: skip
    with pytest.raises(ConfigError, match=r"A scheduled AutoML job needs mltable inputs"):
        ml.schedules.begin_create_or_update(refused).result()
    write_mltable(bank_frame(120), tmp_path / "bank")
    job = automl.classification(
        training_data=Input(type="mltable", path=str(tmp_path / "bank")),
        target_column_name="y", primary_metric="accuracy",
    )  # fmt: skip
    job.set_limits(max_trials=1, timeout_minutes=1)
    schedule = JobSchedule(
        name="daily_automl", create_job=job,
        trigger=RecurrenceTrigger(frequency="day", interval=1),
    )  # fmt: skip
    got = ml.schedules.begin_create_or_update(schedule).result()
    assert isinstance(got.create_job, ClassificationJob)
    assert got.create_job.limits.max_trials == 1
    assert ml.workspace.catalogue.get("schedule", "daily_automl")["create_job"]["kind"] == "automl"


def test_bad_schedules_are_refused_before_anything_is_stored(ml: Any, schedule_file: Path) -> None:
    from azure.ai.ml.entities import CronTrigger, JobSchedule

    bad_zone = JobSchedule(
        name="badzone",
        trigger=CronTrigger(expression="0 * * * *", time_zone="Atlantis Standard Time"),
        create_job="whatever",
    )
    with pytest.raises(ConfigError, match=r"time_zone 'Atlantis Standard Time' is not known"):
        ml.schedules.begin_create_or_update(bad_zone).result()
    missing_job = JobSchedule(
        name="nojob", trigger=CronTrigger(expression="0 * * * *"), create_job="ghost_job"
    )
    with pytest.raises(NotFoundError, match=r"create_job: job 'ghost_job' was not found"):
        ml.schedules.begin_create_or_update(missing_job).result()
    with pytest.raises(ConfigError, match=r"takes a JobSchedule, got str"):
        ml.schedules.begin_create_or_update("nightly").result()
    assert ml.workspace.catalogue.list("schedule") == []


STAMP_PIPELINE = """\
type: pipeline
inputs:
  when: ${{creation_context.trigger_time}}
outputs:
  stamp:
    type: uri_file
jobs:
  stamp:
    type: command
    command: echo "${{inputs.when}}" > ${{outputs.out}}
    environment: azureml:AzureML-sklearn-1.5@latest
    inputs:
      when: ${{parent.inputs.when}}
    outputs:
      out: ${{parent.outputs.stamp}}
"""


def test_schedule_expressions_are_resolved_when_the_schedule_fires(
    ml: Any, tmp_path: Path
) -> None:
    """Azure's ``${{creation_context.trigger_time}}`` (string inputs) resolves per run."""
    import datetime as dt

    from azure.ai.ml.entities import CronTrigger, JobSchedule

    path = tmp_path / "stamp.yml"
    path.write_text(STAMP_PIPELINE)
    schedule = JobSchedule(name="stamped", trigger=CronTrigger(expression="0 6 * * *"),
                           create_job=load(path))
    ml.schedules.begin_create_or_update(schedule).result()
    result = ml.schedules.trigger("stamped")
    assert wait_terminal(ml, result.job_name)["status"] == "Completed"
    (entry,) = ml.schedules.history("stamped")
    fired = dt.datetime.fromisoformat(entry["scheduled_time"]).astimezone(dt.UTC)
    stamp = (ml.jobs.output_path(result.job_name, "stamp") / "out").read_text().strip()
    assert stamp == fired.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_held_expressions_expand_per_run() -> None:
    import datetime as dt

    from automl_local.backends.local.pipelines import (
        expand_schedule_expressions,
        hold_schedule_expressions,
    )

    job = {"inputs": {"when": {"path": "${{ creation_context.trigger_time }}"}, "n": 3},
           "outputs": {"o": {"path": "azureml://datastores/d/paths/${{name}}/o.csv"}}}
    held = hold_schedule_expressions(job)
    assert "${{" not in str(held) and held["inputs"]["n"] == 3
    when = dt.datetime(2026, 12, 1, 7, 30, tzinfo=dt.UTC)
    run = expand_schedule_expressions(held, job_name="nightly_1", trigger_time=when)
    assert run["inputs"]["when"] == "2026-12-01T07:30:00Z"
    assert run["outputs"]["o"]["path"] == "azureml://datastores/d/paths/nightly_1/o.csv"
    assert expand_schedule_expressions(held, job_name="nightly_2", trigger_time=when)[
        "outputs"]["o"]["path"].endswith("/nightly_2/o.csv")


def test_a_command_job_can_be_scheduled_and_rerun_by_name(ml: Any, tmp_path: Path) -> None:
    from azure.ai.ml import command
    from azure.ai.ml.entities import AmlCompute, Command, JobSchedule, RecurrenceTrigger

    src = tmp_path / "src"
    src.mkdir()
    (src / "hello.py").write_text(
        "import sys, pathlib\npathlib.Path(sys.argv[2], 'said.txt').write_text(sys.argv[1])\n"
    )
    ml.compute.begin_create_or_update(AmlCompute(name="cpu-cluster")).result()
    job = command(
        code=str(src), command="python hello.py ${{inputs.word}} ${{outputs.out}}",
        inputs={"word": "nightly"}, outputs={"out": {"type": "uri_folder"}},
        environment="azureml:AzureML-sklearn-1.5:1", compute="cpu-cluster",
    )  # fmt: skip
    schedule = JobSchedule(name="cmd_nightly", create_job=job,
                           trigger=RecurrenceTrigger(frequency="day", interval=1))  # fmt: skip
    got = ml.schedules.begin_create_or_update(schedule).result()
    assert isinstance(got.create_job, Command)  # what load_job gives for a command YAML
    assert got.create_job.command.startswith("python hello.py")
    assert ml.workspace.catalogue.get("schedule", "cmd_nightly")["create_job"]["kind"] == "command"
    first = ml.schedules.trigger("cmd_nightly")
    done = wait_terminal(ml, first.job_name)
    assert done["status"] == "Completed", done.get("error")
    assert done["type"] == "command"
    by_name = JobSchedule(name="cmd_again", create_job=first.job_name,
                          trigger=RecurrenceTrigger(frequency="day", interval=1))  # fmt: skip
    ml.schedules.begin_create_or_update(by_name).result()
    again = ml.schedules.trigger("cmd_again")
    rerun = wait_terminal(ml, again.job_name)
    assert rerun["status"] == "Completed", rerun.get("error")
    for name in (first.job_name, again.job_name):
        said = list(ml.workspace.root.rglob(f"*{name}*/**/said.txt"))
        assert [p.read_text() for p in said] == ["nightly"], name
