"""The pipeline job process (``python -m automl_local.backends.local._pipeline_runner``).

It lives in the backend (not the engine) because AutoML nodes are submitted
through the local client, exactly as standalone AutoML jobs are. The
runner owns the pipeline's status in the catalogue; SIGTERM (``job cancel``)
stops running nodes and ends the run Canceled.

Nodes run with these environment variables, so a step script can reach the
same workspace (e.g. to register a model with ``backends.get_client()``):
``AUTOML_LOCAL_WORKSPACE`` (the workspace root), ``AUTOML_BACKEND=local``,
``MLFLOW_TRACKING_URI`` (the workspace's MLflow store), ``AZUREML_RUN_ID``
(the node's run id) and ``AZUREML_ROOT_RUN_ID`` (the pipeline job name).
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
from collections.abc import Callable
from pathlib import Path

from automl_local.exceptions import AutoMLError
from automl_local.pipelines import PipelineRunner, parse_pipeline, run_command_node
from automl_local.runner import EventLog
from automl_local.workspace import Workspace

__all__ = ["main", "run"]

MAX_PARALLEL_NODES = max(1, min(4, os.cpu_count() or 1))
SPEC_FILE = "pipeline.json"


def _resolver(client: object, base_dir: Path) -> Callable[[str], str]:
    """Data paths -> local paths; absolute paths skip the import of the data-asset code."""

    def resolve(path: str) -> str:
        if Path(path).is_absolute() and Path(path).exists():
            return path
        from automl_local.backends.local._data import resolve_input_path

        return resolve_input_path(client, path, base_dir)

    return resolve


def run(workspace: Workspace, name: str) -> str:
    """Run pipeline job ``name`` in this process; return its final status."""
    from automl_local.backends.local import LocalClient
    from automl_local.backends.local._pipeline_automl import AutoMLNodeExecutor

    job_dir = workspace.job_dir(name)
    logging.basicConfig(
        filename=job_dir / "runner.log", level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )  # fmt: skip
    log = logging.getLogger(__name__)
    logging.getLogger("azure.ai.ml._utils._experimental").setLevel(logging.ERROR)
    emit = EventLog(job_dir / "events.jsonl")
    cancel = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: cancel.set())
    signal.signal(signal.SIGINT, lambda *_: cancel.set())
    cat = workspace.catalogue
    record = cat.update("job", name, {"status": "Running", "pid": os.getpid(),
                                      "started_at": time.time()})  # fmt: skip
    emit({"event": "status", "status": "Running"})
    client = LocalClient(workspace)
    base_dir = Path(record.get("base_dir") or workspace.root)
    status, error, outputs = "Failed", "", {}
    try:
        spec = parse_pipeline(json.loads((job_dir / SPEC_FILE).read_text()))
        runner = PipelineRunner(
            workspace, name, spec,
            {"command": run_command_node, "automl": AutoMLNodeExecutor(client)},
            resolve_data=_resolver(client, base_dir),
            emit=emit, should_stop=cancel.is_set, max_parallel=MAX_PARALLEL_NODES,
            env={"AUTOML_LOCAL_WORKSPACE": str(workspace.root), "AUTOML_BACKEND": "local",
                 "MLFLOW_TRACKING_URI": workspace.tracking_uri},
        )  # fmt: skip
        status, error = runner.run()
        for node_name, node in spec.nodes.items():
            produced = runner.nodes[node_name].get("outputs") or {}
            for out in node.outputs.values():
                if out.pipeline_output and out.name in produced:
                    outputs[out.pipeline_output] = produced[out.name]
    except AutoMLError as exc:
        error = str(exc)
        log.error("pipeline failed: %s", exc)
    except Exception as exc:  # a bug: keep the traceback in runner.log
        error = f"internal error: {type(exc).__name__}: {exc} (see {job_dir / 'runner.log'})"
        log.error("pipeline runner crashed\n%s", traceback.format_exc())
    if cancel.is_set() and status != "Completed":
        status, error = "Canceled", "canceled by request"
    cat.update("job", name, {"status": status, "error": error, "ended_at": time.time(),
                             "pid": None, "outputs": outputs})  # fmt: skip
    emit({"event": "status", "status": status, "error": error})
    return status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m automl_local.backends.local._pipeline_runner")
    parser.add_argument("--workspace", required=True)
    parser.add_argument("--job", required=True)
    args = parser.parse_args(argv)
    return 0 if run(Workspace(args.workspace), args.job) == "Completed" else 1


if __name__ == "__main__":
    sys.exit(main())
