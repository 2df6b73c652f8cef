"""The AutoML job process: ``python -m automl_local.runner --workspace W --job NAME``.

A detached run (:mod:`automl_local.detached`) of one AutoML job: it reads
the job's ``spec.json``, runs the engine, and owns the job's status; a
SIGTERM (``job cancel``) ends it as Canceled, keeping finished trials for a
resume. Each start counts as an attempt (``attempts`` in the job record).
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from automl_local.detached import DetachedRun
from automl_local.settings import JobSettings
from automl_local.workspace import Workspace

__all__ = ["AutoMLJobRun", "main", "run"]

PROG = "python -m automl_local.runner"


class AutoMLJobRun(DetachedRun):
    """One AutoML job, run by the engine in this process."""

    log_file = "job.log"
    what = "job"

    def __init__(self, workspace: Workspace, name: str) -> None:
        self.started = time.monotonic()  # the job's time budget counts from process start
        super().__init__(workspace, name)

    def running_fields(self, record: dict[str, Any]) -> dict[str, Any]:
        return {"attempts": int(record.get("attempts", 0)) + 1}

    def execute(self) -> tuple[str, str]:
        from automl_local.engine import run_job
        from automl_local.search import allow_fork

        allow_fork()  # a fresh process: nothing has used OpenMP yet, so forking workers is safe
        settings = JobSettings.from_dict(json.loads((self.job_dir / "spec.json").read_text()))
        result = run_job(
            settings, self.workspace, emit=self.emit, should_stop=self.cancel.is_set,
            started=self.started,
        )  # fmt: skip
        return str(result["status"]), ""


def run(workspace: Workspace, name: str) -> str:
    """Run job ``name`` of ``workspace`` in this process; return its final status."""
    return AutoMLJobRun(workspace, name).run()


def main(argv: list[str] | None = None) -> int:
    return AutoMLJobRun.main(argv, prog=PROG)


if __name__ == "__main__":
    sys.exit(main())
