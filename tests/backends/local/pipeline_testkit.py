"""Helpers shared by the pipeline, publish, schedule and control-plane tests.

Pipelines here use shell-only command nodes (``cp``, ``cat``, ``echo``), so
a run costs a runner process and a few shells, not Python imports. The one
AutoML pipeline of the suite lives in ``test_pipeline_automl_e2e.py``.
Tests in other folders import this module by adding its folder to sys.path.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

TWO_NODE_PIPELINE = """\
$schema: https://azuremlschemas.azureedge.net/latest/pipelineJob.schema.json
type: pipeline
experiment_name: kit
inputs:
  raw:
    type: uri_file
    path: ./raw.txt
  tag: first
outputs:
  report:
    type: uri_file
settings:
  default_compute: azureml:cpu-cluster
jobs:
  prep:
    type: command
    code: ./src
    command: >-
      cp ${{inputs.raw}} ${{outputs.clean}}/data.txt &&
      echo tag=${{inputs.tag}} >> ${{outputs.clean}}/data.txt &&
      cat helper.txt >> ${{outputs.clean}}/data.txt
    environment: azureml:AzureML-sklearn-1.5@latest
    inputs:
      raw: ${{parent.inputs.raw}}
      tag: ${{parent.inputs.tag}}
    outputs:
      clean:
        type: uri_folder
  report:
    type: command
    command: wc -l < ${{inputs.data}}/data.txt > ${{outputs.lines}} && echo "env=$AUTOML_BACKEND"
    environment: azureml:AzureML-sklearn-1.5@latest
    inputs:
      data: ${{parent.jobs.prep.outputs.clean}}
    outputs:
      lines: ${{parent.outputs.report}}
"""


def write_two_node_pipeline(folder: Path, text: str = TWO_NODE_PIPELINE) -> Path:
    """A prep -> report pipeline folder: pipeline.yml, raw.txt, src/helper.txt."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "src").mkdir(exist_ok=True)
    (folder / "src" / "helper.txt").write_text("helper line\n")
    (folder / "raw.txt").write_text("a\nb\nc\n")
    path = folder / "pipeline.yml"
    path.write_text(text)
    return path


def load(path: Path, **overrides: Any) -> Any:
    from azure.ai.ml import load_job

    return load_job(str(path), params_override=[{k: v} for k, v in overrides.items()])


def wait_terminal(client: Any, name: str, timeout: float = 120.0) -> dict[str, Any]:
    """Poll the job record until it ends; return it."""
    from automl_local.backends.local.pipelines import live_record

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        record = live_record(client, name)
        if record.get("status") in ("Completed", "Failed", "Canceled"):
            return record
        time.sleep(0.2)
    raise AssertionError(f"job {name} did not end within {timeout} s: {record}")


def nodes(client: Any, name: str) -> dict[str, dict[str, Any]]:
    return dict(client.workspace.catalogue.require("job", name)["nodes"])


def bank_frame(n: int = 300, seed: int = 0) -> pd.DataFrame:
    """Small bank-marketing-like data with a learnable "yes"/"no" label ``y``."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 90, n),
            "job": rng.choice(["admin.", "services", "retired", "technician"], n),
            "balance": rng.normal(1000, 300, n).round(2),
        }
    )
    frame["y"] = np.where((frame["age"] > 55) | (frame["job"] == "retired"), "yes", "no")
    return frame
