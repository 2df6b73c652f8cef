"""The scheduler of the control-plane server: fire what is due, from persisted state only.

Every tick reads the enabled schedules from the workspace catalogue and, for
each, computes its next fire time after the last one it handled (or after
its creation). Nothing lives only in memory, so stopping and starting the
server loses no schedule and repeats no run.

Missed runs: when fire times passed while no server was running, the
``missed_runs`` policy decides, once per schedule, at the first tick:

* ``run_once`` (default): fire one run now for all of them (history reason
  ``missed``, with how many were missed);
* ``skip``: fire nothing; record one ``skipped`` history entry and wait for
  the next fire time.

A fire time is "missed" when it is more than ``grace_seconds`` (60 s) old at
the tick that sees it; a busy server that ticks a little late still fires on
time. The clock is injectable, so tests move time instead of sleeping.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["MAX_CATCH_UP", "Scheduler"]

logger = logging.getLogger(__name__)

MAX_CATCH_UP = 100_000  # fire times walked to find the latest missed one
Clock = Callable[[], dt.datetime]


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Scheduler:
    """Fires due schedules of one workspace; ``tick()`` does one pass, ``start()`` loops."""

    def __init__(
        self,
        client: Any,
        *,
        clock: Clock = _utc_now,
        missed_runs: str = "run_once",
        grace_seconds: float = 60.0,
        tick_seconds: float = 1.0,
    ) -> None:
        self.client = client
        self.clock = clock
        self.missed_runs = missed_runs
        self.grace_seconds = grace_seconds
        self.tick_seconds = tick_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> list[dict[str, Any]]:
        """One pass over the schedules; returns the history entries it wrote."""
        from automl_local.backends.local.pipelines import schedule_records

        written = []
        for record in schedule_records(self.client):
            if not record.get("is_enabled"):
                continue
            try:
                entry = self._one(record)
            except Exception:  # one broken schedule must not stop the others
                logger.exception("schedule %s: could not be evaluated", record.get("name"))
                continue
            if entry is not None:
                written.append(entry)
        return written

    def _one(self, record: dict[str, Any]) -> dict[str, Any] | None:
        from automl_local.backends.local.pipelines import (
            fire_schedule,
            plan_trigger,
            record_run,
            schedule_anchor,
            set_last_fire_time,
        )

        name = record["name"]
        now = self.clock()
        plan = plan_trigger(record["trigger"], schedule_anchor(record))
        last = record.get("last_fire_time")
        after = dt.datetime.fromtimestamp(float(last), dt.UTC) if last else schedule_anchor(record)
        due = plan.next_after(after)
        if due is None or due > now:
            return None
        latest, count = due, 1
        following = plan.next_after(due)
        while following is not None and following <= now and count < MAX_CATCH_UP:
            latest, count = following, count + 1
            following = plan.next_after(following)
        # claim the fire time first: a slow submission must not be fired twice
        set_last_fire_time(self.client, name, latest)
        late = (now - latest).total_seconds()
        if late <= self.grace_seconds:
            logger.info("schedule %s: firing for %s", name, latest.isoformat())
            return fire_schedule(self.client, name, latest, "schedule", missed=count - 1)
        if self.missed_runs == "run_once":
            logger.info("schedule %s: %d missed run(s); firing once", name, count)
            return fire_schedule(self.client, name, latest, "missed", missed=count)
        logger.info("schedule %s: skipping %d missed run(s)", name, count)
        return record_run(
            self.client, name,
            {"scheduled_time": latest.isoformat(), "reason": "skipped", "job_name": None,
             "missed": count, "error": None},
        )  # fmt: skip

    # ------------------------------------------------------------------ loop

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="scheduler", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:  # keep ticking: a catalogue hiccup must not end scheduling
                logger.exception("scheduler tick failed")
            self._stop.wait(self.tick_seconds)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
