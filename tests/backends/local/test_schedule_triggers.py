"""Fire times of Azure's cron and recurrence triggers (APScheduler arithmetic, Azure's rules)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from automl_local.backends.local.pipelines import plan_trigger, to_zone, upcoming

from automl_local.exceptions import ConfigError

UTC = dt.UTC
NOW = dt.datetime(2024, 3, 1, 12, 0, tzinfo=UTC)  # a Friday


def times(trigger: dict[str, Any], count: int = 4, after: dt.datetime = NOW) -> list[str]:
    return [t.isoformat() for t in upcoming(trigger, after, NOW, count)]


def test_cron_in_a_windows_time_zone_keeps_wall_clock_across_dst() -> None:
    # 10:00 every Monday in Pacific time: 18:00 UTC before 10 March 2024, 17:00 after
    got = times({"type": "cron", "expression": "0 10 * * 1", "time_zone": "Pacific Standard Time"})
    assert got[:3] == [
        "2024-03-04T18:00:00+00:00",
        "2024-03-11T17:00:00+00:00",
        "2024-03-18T17:00:00+00:00",
    ]


def test_cron_day_of_week_numbers_follow_crontab_not_apscheduler() -> None:
    # crontab 0 = Sunday (APScheduler 3 alone would read it as Monday)
    got = times({"type": "cron", "expression": "30 6 * * 0"}, 2)
    assert got == ["2024-03-03T06:30:00+00:00", "2024-03-10T06:30:00+00:00"]
    got = times({"type": "cron", "expression": "0 9 * * 1-5"}, 3)  # weekdays
    assert got == [
        "2024-03-04T09:00:00+00:00",
        "2024-03-05T09:00:00+00:00",
        "2024-03-06T09:00:00+00:00",
    ]


def test_cron_day_and_month_fields_are_ignored_with_a_warning_as_on_azure() -> None:
    plan = plan_trigger({"type": "cron", "expression": "0 0 15 6 *"}, NOW)
    assert "day-of-month field '15' is ignored" in plan.warnings[0]
    assert "month field '6' is ignored" in plan.warnings[1]
    assert times({"type": "cron", "expression": "0 0 15 6 *"}, 2) == [
        "2024-03-02T00:00:00+00:00",
        "2024-03-03T00:00:00+00:00",
    ]


def test_minute_and_hour_recurrences_count_from_start_time() -> None:
    trigger = {"type": "recurrence", "frequency": "minute", "interval": 15,
               "start_time": "2024-03-01T11:05:00"}  # fmt: skip
    assert times(trigger, 3) == [
        "2024-03-01T12:05:00+00:00",
        "2024-03-01T12:20:00+00:00",
        "2024-03-01T12:35:00+00:00",
    ]
    hourly = {"type": "recurrence", "frequency": "hour", "interval": 5}  # no start: the anchor
    assert times(hourly, 2) == ["2024-03-01T17:00:00+00:00", "2024-03-01T22:00:00+00:00"]


def test_daily_pattern_every_other_day() -> None:
    trigger = {
        "type": "recurrence", "frequency": "day", "interval": 2,
        "schedule": {"hours": [10], "minutes": [0, 30]},
        "start_time": "2024-03-01T00:00:00", "time_zone": "W. Europe Standard Time",
    }  # fmt: skip
    assert times(trigger, 5) == [
        "2024-03-03T09:00:00+00:00",
        "2024-03-03T09:30:00+00:00",
        "2024-03-05T09:00:00+00:00",
        "2024-03-05T09:30:00+00:00",
        "2024-03-07T09:00:00+00:00",
    ]


def test_weekly_pattern_every_second_week() -> None:
    trigger = {
        "type": "recurrence", "frequency": "week", "interval": 2,
        "schedule": {"hours": [9], "minutes": [0], "week_days": ["monday", "friday"]},
        "start_time": "2024-03-01T00:00:00",
    }  # fmt: skip
    assert times(trigger, 4) == [
        "2024-03-11T09:00:00+00:00",
        "2024-03-15T09:00:00+00:00",
        "2024-03-25T09:00:00+00:00",
        "2024-03-29T09:00:00+00:00",
    ]


def test_monthly_on_the_31st_skips_short_months_as_azure_does() -> None:
    trigger = {"type": "recurrence", "frequency": "month", "interval": 1,
               "start_time": "2024-01-31T08:00:00"}  # fmt: skip
    assert times(trigger, 3) == [
        "2024-03-31T08:00:00+00:00",
        "2024-05-31T08:00:00+00:00",
        "2024-07-31T08:00:00+00:00",
    ]


def test_end_time_stops_the_schedule() -> None:
    trigger = {"type": "cron", "expression": "*/20 * * * *", "end_time": "2024-03-01T12:45:00"}
    assert times(trigger, 10) == ["2024-03-01T12:20:00+00:00", "2024-03-01T12:40:00+00:00"]


@pytest.mark.parametrize(
    ("trigger", "message"),
    [
        ({"type": "cron", "expression": "0 10 * *"}, r"must have 5 fields"),
        ({"type": "cron", "expression": "61 * * * *"}, r"is not a valid cron expression"),
        ({"type": "recurrence", "frequency": "fortnight", "interval": 1},
         r"trigger.frequency 'fortnight' is not valid; use one of minute, hour, day, week, month"),
        ({"type": "recurrence", "frequency": "day", "interval": 0},
         r"trigger.interval must be a whole number of at least 1, got 0"),
        ({"type": "recurrence", "frequency": "hour", "interval": 1,
          "schedule": {"hours": [1], "minutes": [0]}}, r"applies to day, week and month"),
        ({"type": "recurrence", "frequency": "week", "interval": 1,
          "schedule": {"hours": [1], "minutes": [0], "week_days": ["funday"]}},
         r"week_days has 'funday'"),
        ({"type": "cron", "expression": "0 * * * *", "time_zone": "Atlantis Standard Time"},
         r"time_zone 'Atlantis Standard Time' is not known"),
        ({"type": "cron", "expression": "0 * * * *", "start_time": "2024-03-02",
          "end_time": "2024-03-01"}, r"end_time .* is not after start_time"),
    ],
)  # fmt: skip
def test_bad_triggers_are_named(trigger: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        plan_trigger(trigger, NOW)


def test_every_azure_time_zone_maps_to_a_zone() -> None:
    from azure.ai.ml.constants import TimeZone

    for zone in TimeZone:
        assert to_zone(zone.value).key
    assert to_zone("Europe/Berlin").key == "Europe/Berlin"  # IANA names work too
