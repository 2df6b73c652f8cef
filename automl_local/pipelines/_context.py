"""What a node executor is given, and how it reports failure.

An executor is ``Callable[[NodeContext], dict[str, str]]``: it runs one node
and returns its output paths by output name. The engine ships the command
executor; the backend supplies the AutoML one (it submits a job through the
same client code path as a standalone AutoML job).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from automl_local.exceptions import AutoMLError
from automl_local.pipelines._spec import NodeSpec
from automl_local.workspace import Workspace

__all__ = ["NodeContext", "NodeExecutor", "NodeFailed", "ResolvedInput"]


class NodeFailed(AutoMLError):
    """A node did not complete; the message says why (the runner adds node and log tail)."""

    def __init__(self, message: str, *, canceled: bool = False) -> None:
        super().__init__(message)
        self.canceled = canceled


@dataclass(frozen=True)
class ResolvedInput:
    """An input's value at run time: ``text`` goes on the command line (a path or literal)."""

    text: str
    value: Any
    type: str | None
    fingerprint: str
    is_data: bool


@dataclass
class NodeContext:
    pipeline_name: str
    experiment_name: str
    node: NodeSpec
    run_id: str
    node_dir: Path
    log_path: Path
    inputs: dict[str, ResolvedInput | None]
    env: dict[str, str]
    should_stop: Callable[[], bool]
    on_start: Callable[[int | None, str | None], None] = field(default=lambda pid, child: None)
    #: where registered environments are read and built ones cached (None: not built)
    workspace: Workspace | None = None
    #: the folder relative environment files are read from (the YAML's folder)
    base_dir: Path | None = None

    def started(self, pid: int | None = None, child_job: str | None = None) -> None:
        """Tell the runner the process id / child job, so a cancel can reach them."""
        self.on_start(pid, child_job)

    def log(self, line: str) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "a", encoding="utf-8") as fh:
            fh.write(line.rstrip("\n") + "\n")


NodeExecutor = Callable[[NodeContext], dict[str, str]]
