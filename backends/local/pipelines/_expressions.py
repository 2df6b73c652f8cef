"""Azure's schedule-time expressions: ``${{name}}`` and ``${{creation_context.trigger_time}}``.

Azure resolves them when a schedule fires: ``${{name}}`` is the new job's name (for the
pipeline's ``outputs`` paths), ``${{creation_context.trigger_time}}`` the time it fired (for
string ``inputs``). A stored schedule keeps them as held placeholders, which the pipeline
preparation sees as plain text (it would refuse an unknown ``${{...}}`` binding), and each
run expands them. The time is written in ISO 8601, UTC, as Azure writes trigger times.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

__all__ = ["expand_schedule_expressions", "hold_schedule_expressions"]

_EXPRESSION = re.compile(r"\$\{\{\s*(name|creation_context\.trigger_time)\s*\}\}")
_HELD = re.compile(r"@@schedule:(name|creation_context\.trigger_time)@@")


def _walk(value: Any, fix: Any) -> Any:
    if isinstance(value, str):
        return fix(value)
    if isinstance(value, dict):
        return {k: _walk(v, fix) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, fix) for v in value]
    return value


def hold_schedule_expressions(value: Any) -> Any:
    """A copy of ``value`` (a job dict) with the schedule expressions held for later.

    azure-ai-ml turns a string input written as an expression into ``{"path": "${{...}}"}``
    (a binding); such an input is the literal string it stands for, so it is held as one.
    """
    if isinstance(value, dict):
        if set(value) <= {"path", "type"} and value.get("type") in (None, "string") and (
            isinstance(value.get("path"), str) and _EXPRESSION.fullmatch(value["path"])
        ):
            return hold_schedule_expressions(value["path"])
        return {k: hold_schedule_expressions(v) for k, v in value.items()}
    if isinstance(value, list):
        return [hold_schedule_expressions(v) for v in value]
    if isinstance(value, str):
        return _EXPRESSION.sub(lambda m: f"@@schedule:{m.group(1)}@@", value)
    return value


def expand_schedule_expressions(value: Any, *, job_name: str, trigger_time: dt.datetime) -> Any:
    """A copy of ``value`` with the held expressions replaced for one run."""
    when = trigger_time.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    values = {"name": job_name, "creation_context.trigger_time": when}
    return _walk(value, lambda s: _HELD.sub(lambda m: values[m.group(1)], s))
