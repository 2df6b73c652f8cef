"""The skeleton of a detached job process (``python -m <module> --workspace W --job NAME``).

Jobs run detached from the CLI (as they run on Azure compute while the CLI
returns), so ``job create`` returns at once and ``job stream`` follows from
any shell. A detached run owns its job's record in the catalogue: it marks
it Running with its pid, appends events to ``events.jsonl``, turns SIGTERM
and SIGINT (``job cancel``) into a stop request its work polls, and writes
the final status, whatever happens: a user error (:class:`AutoMLError`)
becomes the job's error message, a bug keeps its traceback in the job's log.

Subclasses say what the work is (:meth:`DetachedRun.execute`); the AutoML
job process (:mod:`automl_local.runner`) and the pipeline job process of the
local backend are the two.
"""

from __future__ import annotations

import abc
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
from automl_local.processes import is_alive, spawn_detached, terminate
from automl_local.workspace import Workspace

__all__ = [
    "EVENTS_FILE",
    "RUNNER_LOG",
    "DetachedRun",
    "EventLog",
    "read_events",
    "run_alive",
    "start_run",
    "stop_run",
]

EVENTS_FILE = "events.jsonl"
RUNNER_LOG = "runner.log"  # the process's stdout and stderr, in the job folder
CANCEL_GRACE_SECONDS = 30.0
_LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def start_run(module: str, workspace: Workspace, name: str) -> int:
    """Start ``python -m module --workspace W --job NAME`` detached; return its pid."""
    cmd = [sys.executable, "-m", module, "--workspace", str(workspace.root), "--job", name]
    log_path = workspace.job_dir(name) / RUNNER_LOG
    return spawn_detached(cmd, log_path=log_path, cwd=workspace.root).pid


def _marker(module: str, name: str) -> tuple[str, str]:
    return (module, name)


def run_alive(module: str, pid: int | None, name: str) -> bool:
    """True while ``pid`` is the process :func:`start_run` started for job ``name``."""
    return is_alive(pid, _marker(module, name))


def stop_run(module: str, pid: int | None, name: str) -> None:
    """Ask the run to stop (SIGTERM: it cancels its work and says so), kill it after 30 s."""
    terminate(pid, marker=_marker(module, name), grace=CANCEL_GRACE_SECONDS, leader_only=True)


class EventLog:
    """Append-only JSON lines: what ``job stream`` shows, readable while the job runs."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def __call__(self, event: dict[str, Any]) -> None:
        line = json.dumps({"time": time.time(), **event}, default=str) + "\n"
        with self._lock, open(self.path, "a", encoding="utf-8") as fh:
            fh.write(line)


def read_events(path: Path, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """The whole event lines of ``path`` after byte ``offset``, and the offset after them.

    A line the writer is still writing is left for the next read.
    """
    if not path.exists():
        return [], offset
    with open(path, encoding="utf-8") as fh:
        fh.seek(offset)
        chunk = fh.read()
    end = chunk.rfind("\n") + 1
    events = [json.loads(line) for line in chunk[:end].splitlines() if line.strip()]
    return events, offset + len(chunk[:end].encode("utf-8"))


class DetachedRun(abc.ABC):
    """One job run in this process: record, events, cancellation and final status.

    ``log_file`` is the log (in the job folder) that ``logging`` writes to;
    ``what`` names the run in its log ("job", "pipeline").
    """

    log_file = "job.log"
    what = "job"

    def __init__(self, workspace: Workspace, name: str) -> None:
        self.workspace = workspace
        self.name = name
        self.job_dir = workspace.job_dir(name)
        self.record: dict[str, Any] = {}
        self.emit = EventLog(self.job_dir / EVENTS_FILE)
        self.cancel = threading.Event()
        self.log = logging.getLogger(type(self).__module__)
        #: record fields written with the final status (e.g. a pipeline's outputs)
        self.final_fields: dict[str, Any] = {}

    def running_fields(self, record: dict[str, Any]) -> dict[str, Any]:
        """Extra fields stored, and put in the Running event, when the run starts."""
        return {}

    @abc.abstractmethod
    def execute(self) -> tuple[str, str]:
        """Do the work; return ``(status, error)``. Poll ``self.cancel`` to stop early."""

    def run(self) -> str:
        """Run the job in this process; return its final status."""
        logging.basicConfig(
            filename=self.job_dir / self.log_file, level=logging.INFO, format=_LOG_FORMAT
        )
        signal.signal(signal.SIGTERM, lambda *_: self.cancel.set())
        signal.signal(signal.SIGINT, lambda *_: self.cancel.set())
        cat = self.workspace.catalogue
        self.record = cat.update(
            "job", self.name, {"status": "Running", "pid": os.getpid(), "started_at": time.time()}
        )
        extra = self.running_fields(self.record)
        if extra:
            self.record = cat.update("job", self.name, extra)
        self.emit({"event": "status", "status": "Running", **extra})
        status, error = "Failed", ""
        try:
            status, error = self.execute()
        except AutoMLError as exc:
            error = str(exc)
            self.log.error("%s failed: %s", self.what, exc)
        except Exception as exc:  # a bug: keep the traceback in the log
            log_path = self.job_dir / self.log_file
            error = f"internal error: {type(exc).__name__}: {exc} (traceback in {log_path})"
            self.log.error("%s crashed\n%s", self.what, traceback.format_exc())
        if self.cancel.is_set() and status != "Completed":
            status, error = "Canceled", "canceled by request"
        cat.update("job", self.name, {"status": status, "error": error, "ended_at": time.time(),
                                      "pid": None, **self.final_fields})  # fmt: skip
        self.emit({"event": "status", "status": status, "error": error})
        return status

    @classmethod
    def main(cls, argv: list[str] | None = None, *, prog: str) -> int:
        """``prog --workspace W --job NAME``: run the job; exit 0 if it completed, else 1."""
        parser = argparse.ArgumentParser(prog=prog)
        parser.add_argument("--workspace", required=True)
        parser.add_argument("--job", required=True)
        args = parser.parse_args(argv)
        return 0 if cls(Workspace(args.workspace), args.job).run() == "Completed" else 1
