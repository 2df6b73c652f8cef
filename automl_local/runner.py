"""The job process: ``python -m automl_local.runner --workspace W --job NAME``.

Jobs run detached from the CLI (as they run on Azure compute while the CLI
returns), so ``job create`` returns at once and ``job stream`` follows from
any shell. The runner owns the job's status in the catalogue; a SIGTERM
(``job cancel``) ends it as Canceled, keeping finished trials for a resume.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from automl_local.exceptions import AutoMLError
from automl_local.settings import JobSettings
from automl_local.workspace import Workspace

__all__ = ["EventLog", "main", "run"]

TERMINAL = ("Completed", "Failed", "Canceled")


class EventLog:
    """Append-only JSON lines: what ``job stream`` shows, readable while the job runs."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def __call__(self, event: dict[str, Any]) -> None:
        line = json.dumps({"time": time.time(), **event}, default=str) + "\n"
        with self._lock, open(self.path, "a", encoding="utf-8") as fh:
            fh.write(line)


def run(workspace: Workspace, name: str) -> str:
    """Run job ``name`` of ``workspace`` in this process; return its final status."""
    from automl_local.engine import run_job
    from automl_local.search import allow_fork

    t0 = time.monotonic()
    allow_fork()  # a fresh process: nothing has used OpenMP yet, so forking workers is safe
    job_dir = workspace.job_dir(name)
    settings = JobSettings.from_dict(json.loads((job_dir / "spec.json").read_text()))
    logging.basicConfig(
        filename=job_dir / "job.log",
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    emit = EventLog(job_dir / "events.jsonl")
    cancel = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: cancel.set())
    signal.signal(signal.SIGINT, lambda *_: cancel.set())
    cat = workspace.catalogue
    record = cat.update(
        "job", name, {"status": "Running", "pid": os.getpid(), "started_at": time.time()}
    )
    attempt = int(record.get("attempts", 0)) + 1
    cat.update("job", name, {"attempts": attempt})
    emit({"event": "status", "status": "Running", "attempt": attempt})
    status, error = "Failed", ""
    try:
        result = run_job(settings, workspace, emit=emit, should_stop=cancel.is_set, started=t0)
        status = result["status"]
    except AutoMLError as exc:
        error = str(exc)
        logging.getLogger(__name__).error("job failed: %s", exc)
    except Exception as exc:  # a bug: keep the traceback in the job log
        error = f"internal error: {type(exc).__name__}: {exc} (traceback in {job_dir / 'job.log'})"
        logging.getLogger(__name__).error("job crashed\n%s", traceback.format_exc())
    if cancel.is_set() and status != "Completed":
        status, error = "Canceled", "canceled by request"
    cat.update(
        "job", name, {"status": status, "error": error, "ended_at": time.time(), "pid": None}
    )
    emit({"event": "status", "status": status, "error": error})
    return status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m automl_local.runner")
    parser.add_argument("--workspace", required=True)
    parser.add_argument("--job", required=True)
    args = parser.parse_args(argv)
    status = run(Workspace(args.workspace), args.job)
    return 0 if status == "Completed" else 1


if __name__ == "__main__":
    sys.exit(main())
