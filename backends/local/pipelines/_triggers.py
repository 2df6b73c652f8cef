"""When a schedule fires: Azure's cron and recurrence triggers, computed with APScheduler.

The date arithmetic (cron fields, time zones, daylight saving) is
APScheduler 3's ``CronTrigger`` / ``IntervalTrigger``; this module only maps
Azure's trigger fields onto them:

* ``cron``: a 5-field expression. Azure ignores the day-of-month and month
  fields (treats them as ``*``); so does this, with a warning. Day-of-week
  numbers follow crontab (0 or 7 = Sunday), not APScheduler 3's (0 = Monday).
* ``recurrence``: ``frequency`` minute|hour|day|week|month every ``interval``,
  optionally at ``schedule.hours`` x ``schedule.minutes`` on
  ``schedule.week_days`` / ``schedule.month_days``. Minute and hour
  recurrences are fixed intervals from ``start_time``; day, week and month
  ones keep the wall-clock time across daylight-saving changes (a cron rule
  plus a filter that keeps every ``interval``-th day, week or month counted
  from ``start_time``).

Times are computed in the trigger's ``time_zone`` (Azure's Windows names,
such as ``Pacific Standard Time``, mapped to IANA zones with tzlocal's CLDR
table) and returned as aware UTC datetimes. ``start_time`` without an offset
is wall-clock time in that zone; without a ``start_time`` the schedule's
creation time is the anchor.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from automl_local.exceptions import ConfigError

__all__ = [
    "FREQUENCIES",
    "TriggerPlan",
    "next_fire_time",
    "plan_trigger",
    "to_zone",
    "upcoming",
]

FREQUENCIES = ("minute", "hour", "day", "week", "month")
WEEK_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_CRON_DOW = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Windows zones of azure.ai.ml.constants.TimeZone that tzlocal's CLDR table lacks.
_EXTRA_ZONES = {
    "Mid-Atlantic Standard Time": "Etc/GMT+2",
    "Kamchatka Standard Time": "Asia/Kamchatka",
    "UTC": "UTC",
}
_MAX_SKIPS = 100_000
UTC = dt.UTC


def to_zone(name: str | None) -> ZoneInfo:
    """An IANA zone for Azure's Windows zone name (or an IANA name given directly)."""
    text = str(getattr(name, "value", name) or "UTC").strip()
    from tzlocal.windows_tz import win_tz

    iana = _EXTRA_ZONES.get(text) or win_tz.get(text) or text
    try:
        return ZoneInfo(iana)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"time_zone {text!r} is not known. Use one of Azure's zone names "
            "(azure.ai.ml.constants.TimeZone, e.g. 'UTC', 'Pacific Standard Time', "
            "'W. Europe Standard Time') or an IANA name such as 'Europe/Berlin'."
        ) from None


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def _parse_time(value: Any, zone: ZoneInfo, field: str) -> dt.datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        moment = value
    else:
        try:
            moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise ConfigError(
                f"trigger.{field} {value!r} is not an ISO date-time; use e.g. "
                "2024-07-10T10:00:00 (wall-clock time in trigger.time_zone)."
            ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(zone)


@dataclass
class TriggerPlan:
    """An APScheduler trigger plus the every-``interval``-th-period filter Azure implies."""

    trigger: Any
    zone: ZoneInfo
    start: dt.datetime
    end: dt.datetime | None
    period: str | None = None  # "day" | "week" | "month" when a filter applies
    interval: int = 1
    warnings: tuple[str, ...] = ()

    def _keeps(self, moment: dt.datetime) -> bool:
        if self.period is None or self.interval == 1:
            return True
        local, start = moment.astimezone(self.zone), self.start
        if self.period == "day":
            index = (local.date() - start.date()).days
        elif self.period == "week":
            monday = start.date() - dt.timedelta(days=start.weekday())
            index = (local.date() - monday).days // 7
        else:
            index = (local.year - start.year) * 12 + local.month - start.month
        return index % self.interval == 0

    def next_after(self, after: dt.datetime) -> dt.datetime | None:
        """The first fire time strictly after ``after`` (aware), in UTC; None when ended."""
        now = after.astimezone(self.zone) + dt.timedelta(microseconds=1)
        for _ in range(_MAX_SKIPS):
            found = self.trigger.get_next_fire_time(None, now)
            if found is None:
                return None
            if self.end is not None and found > self.end:
                return None
            if self._keeps(found):
                return found.astimezone(UTC)
            now = found + dt.timedelta(microseconds=1)
        return None


def plan_trigger(trigger: dict[str, Any], anchor: dt.datetime) -> TriggerPlan:
    """Check a trigger (``JobSchedule._to_dict()['trigger']``) and build its plan.

    ``anchor`` (aware) stands in for a missing ``start_time``: the schedule's
    creation time, so a restart computes the same fire times.
    """
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    kind = str(trigger.get("type") or "").lower()
    zone = to_zone(trigger.get("time_zone"))
    start = _parse_time(trigger.get("start_time"), zone, "start_time") or anchor.astimezone(zone)
    end = _parse_time(trigger.get("end_time"), zone, "end_time")
    if end is not None and end <= start:
        raise ConfigError(
            f"trigger.end_time {end.isoformat()} is not after start_time {start.isoformat()}."
        )
    if kind == "cron":
        fields, warnings = _cron_fields(str(trigger.get("expression") or ""))
        try:
            cron = CronTrigger(**fields, start_date=start, timezone=zone)
        except ValueError as exc:
            raise ConfigError(
                f"trigger.expression {trigger.get('expression')!r} is not a valid cron "
                f"expression: {exc}."
            ) from None
        return TriggerPlan(cron, zone, start, end, warnings=tuple(warnings))
    if kind != "recurrence":
        raise ConfigError(
            f"trigger.type {trigger.get('type')!r} is not supported; use cron or recurrence."
        )
    frequency = str(trigger.get("frequency") or "").lower()
    if frequency not in FREQUENCIES:
        raise ConfigError(
            f"trigger.frequency {trigger.get('frequency')!r} is not valid; use one of "
            f"{', '.join(FREQUENCIES)}."
        )
    try:
        interval = int(trigger.get("interval") or 0)
    except (TypeError, ValueError):
        interval = 0
    if interval < 1:
        raise ConfigError(
            f"trigger.interval must be a whole number of at least 1, got "
            f"{trigger.get('interval')!r}."
        )
    pattern = trigger.get("schedule") or {}
    hours = [int(h) for h in _as_list(pattern.get("hours"))]
    minutes = [int(m) for m in _as_list(pattern.get("minutes"))]
    week_days = [str(d).lower() for d in _as_list(pattern.get("week_days"))]
    month_days = [int(d) for d in _as_list(pattern.get("month_days"))]
    for day in week_days:
        if day not in WEEK_DAYS:
            raise ConfigError(
                f"trigger.schedule.week_days has {day!r}; use {', '.join(WEEK_DAYS)}."
            )
    has_pattern = bool(hours or minutes or week_days or month_days)
    if has_pattern and frequency in ("minute", "hour"):
        raise ConfigError(
            f"trigger.schedule (hours/minutes/week_days) applies to day, week and month "
            f"recurrences, not frequency {frequency!r}; remove it or use frequency: day."
        )
    if has_pattern and (not hours or not minutes):
        raise ConfigError(
            "trigger.schedule needs both hours and minutes (e.g. hours: [10], minutes: [0, 30])."
        )
    if frequency in ("minute", "hour"):
        length = {"minutes": interval} if frequency == "minute" else {"hours": interval}
        plain = IntervalTrigger(**length, start_date=start, timezone=zone)
        return TriggerPlan(plain, zone, start, end)
    cron_fields: dict[str, Any] = {"second": start.second if not has_pattern else 0}
    cron_fields["hour"] = _join(hours) if hours else start.hour
    cron_fields["minute"] = _join(minutes) if minutes else start.minute
    if frequency == "week":
        days = week_days or [WEEK_DAYS[start.weekday()]]
        cron_fields["day_of_week"] = ",".join(d[:3] for d in days)
    elif frequency == "day" and week_days:
        cron_fields["day_of_week"] = ",".join(d[:3] for d in week_days)
    elif frequency == "month":
        cron_fields["day"] = _join(month_days) if month_days else start.day
    try:
        cron = CronTrigger(**cron_fields, start_date=start, timezone=zone)
    except ValueError as exc:
        raise ConfigError(f"trigger.schedule is not valid: {exc}.") from None
    return TriggerPlan(cron, zone, start, end, period=frequency, interval=interval)


def _join(values: list[int]) -> str:
    return ",".join(str(v) for v in sorted(set(values)))


_DOW_TOKEN = re.compile(r"^(?P<lo>\d)(?:-(?P<hi>\d))?(?:/(?P<step>\d+))?$")


def _cron_fields(expression: str) -> tuple[dict[str, str], list[str]]:
    parts = expression.split()
    if len(parts) != 5:
        raise ConfigError(
            f"trigger.expression {expression!r} must have 5 fields (minute hour day month "
            "day-of-week), e.g. '0 10 * * 1-5'."
        )
    minute, hour, day, month, dow = parts
    warnings = [
        f"trigger.expression: the {label} field {value!r} is ignored and treated as '*' "
        "(Azure ML schedules do not support it)."
        for label, value in (("day-of-month", day), ("month", month))
        if value != "*"
    ]
    return {"minute": minute, "hour": hour, "day_of_week": _crontab_dow(dow)}, warnings


def _crontab_dow(field: str) -> str:
    """Crontab day-of-week (0/7 = Sunday) in APScheduler 3's names, which avoid its 0=Monday."""
    if field in ("*", "?"):
        return "*"
    days: list[str] = []
    for token in field.lower().split(","):
        match = _DOW_TOKEN.match(token)
        if match is None:
            if token == "*" or token.startswith("*/"):
                step = int(token[2:]) if token.startswith("*/") else 1
                days.extend(_CRON_DOW[i] for i in range(0, 7, step))
                continue
            days.append(token)  # names (mon, mon-fri): APScheduler reads them correctly
            continue
        lo, hi = int(match["lo"]), int(match["hi"] or match["lo"])
        step = int(match["step"] or 1)
        if lo > 7 or hi > 7 or lo > hi:
            raise ConfigError(
                f"trigger.expression day-of-week {field!r} is not valid: use 0-7 (0 and 7 are "
                "Sunday) or names (mon-fri)."
            )
        days.extend(_CRON_DOW[i] for i in range(lo, hi + 1, step))
    return ",".join(dict.fromkeys(days))


def next_fire_time(
    trigger: dict[str, Any], after: dt.datetime, anchor: dt.datetime
) -> dt.datetime | None:
    """The first fire time of ``trigger`` strictly after ``after`` (aware UTC), or None."""
    return plan_trigger(trigger, anchor).next_after(after)


def upcoming(
    trigger: dict[str, Any], after: dt.datetime, anchor: dt.datetime, count: int
) -> list[dt.datetime]:
    """The next ``count`` fire times after ``after``."""
    plan = plan_trigger(trigger, anchor)
    out: list[dt.datetime] = []
    moment: dt.datetime | None = after
    while len(out) < count and moment is not None:
        moment = plan.next_after(moment)
        if moment is not None:
            out.append(moment)
    return out
