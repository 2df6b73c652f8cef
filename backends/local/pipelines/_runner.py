"""The pipeline job process (``python -m automl_local.backends.local.pipelines._runner``).

A detached run (:mod:`automl_local.detached`) of one pipeline job. It lives
in the backend (not the engine) because AutoML nodes are submitted through
the local client, exactly as standalone AutoML jobs are. The runner owns
the pipeline's status in the catalogue; SIGTERM (``job cancel``) stops
running nodes and ends the run Canceled.

Nodes run with these environment variables, so a step script can reach the
same workspace (e.g. to register a model with ``backends.get_client()``):
``AUTOML_LOCAL_WORKSPACE`` (the workspace root), ``AUTOML_BACKEND=local``,
``MLFLOW_TRACKING_URI`` (the workspace's MLflow store), ``AZUREML_RUN_ID``
(the node's run id) and ``AZUREML_ROOT_RUN_ID`` (the pipeline job name).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path

from automl_local.detached import RUNNER_LOG, DetachedRun
from automl_local.pipelines import PipelineRunner, parse_pipeline, run_command_node

__all__ = ["PipelineJobRun", "main"]

MAX_PARALLEL_NODES = max(1, min(4, os.cpu_count() or 1))
SPEC_FILE = "pipeline.json"
PROG = "python -m automl_local.backends.local.pipelines._runner"


def _resolver(client: object, base_dir: Path) -> Callable[[str], str]:
    """Data paths -> local paths; absolute paths skip the import of the data-asset code."""

    def resolve(path: str) -> str:
        if Path(path).is_absolute() and Path(path).exists():
            return path
        from automl_local.backends.local._data import resolve_input_path

        return resolve_input_path(client, path, base_dir)

    return resolve


class PipelineJobRun(DetachedRun):
    """One pipeline job: its nodes run by the engine's DAG runner, AutoML nodes as jobs."""

    log_file = RUNNER_LOG
    what = "pipeline"

    def execute(self) -> tuple[str, str]:
        outputs: dict[str, str] = {}
        self.final_fields["outputs"] = outputs  # written with the final status, even on failure
        from automl_local.backends.local import LocalClient
        from automl_local.backends.local.pipelines._automl_node import AutoMLNodeExecutor

        logging.getLogger("azure.ai.ml._utils._experimental").setLevel(logging.ERROR)
        ws = self.workspace
        client = LocalClient(ws)
        base_dir = Path(self.record.get("base_dir") or ws.root)
        spec = parse_pipeline(json.loads((self.job_dir / SPEC_FILE).read_text()))
        runner = PipelineRunner(
            ws, self.name, spec,
            {"command": run_command_node, "automl": AutoMLNodeExecutor(client)},
            resolve_data=_resolver(client, base_dir),
            emit=self.emit, should_stop=self.cancel.is_set, max_parallel=MAX_PARALLEL_NODES,
            env={"AUTOML_LOCAL_WORKSPACE": str(ws.root), "AUTOML_BACKEND": "local",
                 "MLFLOW_TRACKING_URI": ws.tracking_uri},
        )  # fmt: skip
        status, error = runner.run()
        for node_name, node in spec.nodes.items():
            produced = runner.nodes[node_name].get("outputs") or {}
            for out in node.outputs.values():
                if out.pipeline_output and out.name in produced:
                    outputs[out.pipeline_output] = produced[out.name]
        return status, error


def main(argv: list[str] | None = None) -> int:
    return PipelineJobRun.main(argv, prog=PROG)


if __name__ == "__main__":
    sys.exit(main())
