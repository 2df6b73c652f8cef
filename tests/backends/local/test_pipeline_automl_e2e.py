"""The bank-marketing pipeline shape end to end: preprocess -> AutoML -> register, then reuse.

The suite's one AutoML pipeline run (the engine is slow to start): Azure's
sample layout from ``examples/pipeline/pipeline.yml``, on 300 generated rows
with two LogisticRegression trials.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from pipeline_testkit import bank_frame, load, nodes, wait_terminal  # noqa: E402

EXAMPLE = Path(__file__).parents[3] / "examples" / "pipeline" / "pipeline.yml"

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def bank_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from automl_local.backends import get_client

    from automl_local.data import write_mltable

    root = tmp_path_factory.mktemp("bank")
    write_mltable(bank_frame(), root / "bank-small")
    ml = get_client("local", workspace=root / "ws")
    from azure.ai.ml.entities import AmlCompute

    # The sample names settings.default_compute: azureml:cpu-cluster; it must exist, as on Azure.
    ml.begin_create_or_update(AmlCompute(name="cpu-cluster", max_instances=2)).result()
    overrides = {
        "inputs.classification_train_data.path": str(root / "bank-small"),
        "inputs.model_base_name": "e2e-bank-model",
        "jobs.classification_node.limits.max_trials": 2,
        "jobs.classification_node.limits.timeout_minutes": 1,
        "jobs.classification_node.training.allowed_training_algorithms": ["LogisticRegression"],
        "jobs.classification_node.training.enable_model_explainability": False,
    }
    job = ml.jobs.create_or_update(load(EXAMPLE, **overrides))
    ml.jobs.stream(job.name)  # raises JobFailedError (node, log tail) if it failed
    return {"ml": ml, "job": job.name, "overrides": overrides}


def test_the_bank_marketing_pipeline_runs(bank_run: dict[str, Any]) -> None:
    from azure.ai.ml.automl import ClassificationJob
    from azure.ai.ml.entities import CommandJob

    ml, name = bank_run["ml"], bank_run["job"]
    assert ml.jobs.get(name).status == "Completed"
    children = list(ml.jobs.list(parent_job_name=name))
    assert [c.display_name for c in children] == [
        "preprocessing_node", "classification_node", "register_model_node",
    ]  # fmt: skip
    assert [type(c) for c in children] == [CommandJob, ClassificationJob, CommandJob]
    automl = children[1]
    assert automl.status == "Completed" and automl.name == f"{name}_classification_node"
    assert (ml.jobs.output_path(automl.name, "best_model") / "MLmodel").exists()
    assert [j.name for j in ml.jobs.list()] == [name]  # the AutoML child is not top-level
    model = ml.models.get("e2e-bank-model", version="1")
    assert model.type == "mlflow_model" and (Path(model.path) / "MLmodel").exists()
    reg_id = ml.jobs.output_path(name, "registered_model_id") / "reg_id.txt"
    assert "e2e-bank-model" in reg_id.read_text()


def test_a_rerun_reuses_every_step_and_a_publication_serves_it(bank_run: dict[str, Any]) -> None:
    from automl_local.backends.local.pipelines import invoke_published, publish_job

    ml = bank_run["ml"]
    again = ml.jobs.create_or_update(load(EXAMPLE, **bank_run["overrides"]))
    final = wait_terminal(ml, again.name, timeout=60)
    assert final["status"] == "Completed"
    states = nodes(ml, again.name)
    assert all(s["reused"] for s in states.values())
    assert states["classification_node"]["reused_from"] == (
        f"{bank_run['job']}_classification_node"
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AUTOML_LOCAL_SERVER_AUTOSTART", "0")
        info = publish_job(ml, bank_run["job"], "bank-pipeline")
    assert info["parameters"]["model_base_name"]["default"] == "e2e-bank-model"
    run = invoke_published(ml, "bank-pipeline")
    assert wait_terminal(ml, run.name, timeout=60)["status"] == "Completed"
