"""The control-plane scheduler with an injected clock: on-time fires, no repeats, missed runs."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any

import pytest

KIT = Path(__file__).parents[1] / "backends" / "local"
if str(KIT) not in sys.path:  # the pipeline test kit lives beside the backend tests
    sys.path.insert(0, str(KIT))

from automl_local.service.control_plane import Scheduler  # noqa: E402
from pipeline_testkit import load, wait_terminal, write_two_node_pipeline  # noqa: E402

T0 = dt.datetime(2024, 3, 1, 12, 0, tzinfo=dt.UTC)


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def at(self, **delta: float) -> Clock:
        self.now = T0 + dt.timedelta(**delta)
        return self


@pytest.fixture()
def ml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    from automl_local.backends import get_client

    monkeypatch.setenv("AUTOML_LOCAL_SERVER_AUTOSTART", "0")
    client = get_client("local", workspace=tmp_path / "ws")
    path = write_two_node_pipeline(tmp_path / "p")
    job = client.jobs.create_or_update(load(path))
    wait_terminal(client, job.name)
    client.source_job = job.name  # type: ignore[attr-defined]
    return client


def _schedule(ml: Any, name: str, trigger: Any) -> None:
    from azure.ai.ml.entities import JobSchedule

    schedule = JobSchedule(name=name, trigger=trigger, create_job=ml.source_job)
    ml.schedules.begin_create_or_update(schedule).result()
    # as if created at T0: the trigger counts from there
    ml.workspace.catalogue.update("schedule", name, {"anchor": T0.timestamp()})


def _wait_all(ml: Any) -> None:
    for entry in ml.workspace.catalogue.list("schedule_run"):
        if entry.get("job_name"):
            wait_terminal(ml, entry["job_name"])


def test_fires_on_time_once_and_coalesces_a_late_tick(ml: Any) -> None:
    from azure.ai.ml.entities import RecurrenceTrigger

    _schedule(ml, "minutely", RecurrenceTrigger(frequency="minute", interval=1,
                                                start_time="2024-03-01T12:00:00"))  # fmt: skip
    clock = Clock(T0)
    scheduler = Scheduler(ml, clock=clock)
    assert scheduler.tick() == []  # 12:00:00 is the anchor itself; the next time is 12:01
    clock.at(seconds=30)
    assert scheduler.tick() == []
    clock.at(minutes=1, seconds=2)
    fired = scheduler.tick()
    assert [(f["reason"], f["scheduled_time"], f["missed"]) for f in fired] == [
        ("schedule", "2024-03-01T12:01:00+00:00", 0)
    ]
    assert fired[0]["job_name"].startswith("minutely_202403011201_")
    assert scheduler.tick() == []  # no second fire for the same time
    clock.at(minutes=5, seconds=20)  # 12:02..12:05 passed; 12:05 is only 20 s late
    fired = scheduler.tick()
    assert [(f["reason"], f["scheduled_time"], f["missed"]) for f in fired] == [
        ("schedule", "2024-03-01T12:05:00+00:00", 3)
    ]
    _wait_all(ml)
    record = ml.workspace.catalogue.get("schedule", "minutely")
    assert record["last_fire_time"] == (T0 + dt.timedelta(minutes=5)).timestamp()


@pytest.mark.parametrize("policy", ["run_once", "skip"])
def test_missed_runs_after_downtime_follow_the_policy(ml: Any, policy: str) -> None:
    from azure.ai.ml.entities import RecurrenceTrigger

    _schedule(ml, "hourly", RecurrenceTrigger(frequency="hour", interval=1,
                                              start_time="2024-03-01T12:00:00"))  # fmt: skip
    ml.workspace.catalogue.update("schedule", "hourly", {"last_fire_time": T0.timestamp()})
    # the server was down from 12:00 to 15:30: 13:00, 14:00 and 15:00 were missed
    clock = Clock(T0).at(hours=3, minutes=30)
    entries = Scheduler(ml, clock=clock, missed_runs=policy).tick()
    assert len(entries) == 1 and entries[0]["missed"] == 3
    assert entries[0]["scheduled_time"] == "2024-03-01T15:00:00+00:00"
    if policy == "run_once":
        assert entries[0]["reason"] == "missed" and entries[0]["job_name"]
    else:
        assert entries[0]["reason"] == "skipped" and entries[0]["job_name"] is None
    # a new server process (state from the catalogue only) does not repeat them
    assert Scheduler(ml, clock=clock, missed_runs=policy).tick() == []
    fired = Scheduler(ml, clock=clock.at(hours=4, seconds=5), missed_runs=policy).tick()
    assert [f["reason"] for f in fired] == ["schedule"]
    _wait_all(ml)


def test_disabled_ended_and_broken_schedules(ml: Any) -> None:
    from azure.ai.ml.entities import CronTrigger, RecurrenceTrigger

    _schedule(ml, "off", RecurrenceTrigger(frequency="minute", interval=1))
    ml.schedules.begin_disable("off").result()
    _schedule(ml, "ended", CronTrigger(expression="* * * * *", start_time="2024-03-01T11:00:00",
                                       end_time="2024-03-01T12:00:30"))  # fmt: skip
    _schedule(ml, "broken", CronTrigger(expression="* * * * *"))
    ml.workspace.catalogue.update("schedule", "broken", {"trigger": {"type": "cron"}})
    _schedule(ml, "fine", CronTrigger(expression="*/10 * * * *"))
    fired = Scheduler(ml, clock=Clock(T0).at(minutes=10, seconds=1)).tick()
    # "off" is disabled; "ended" has no fire time after its anchor before its end_time;
    # "broken" cannot be evaluated (logged, skipped); "fine" fires for 12:10.
    assert [f["schedule"] for f in fired] == ["fine"]
    _wait_all(ml)
