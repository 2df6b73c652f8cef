"""The Azure SDK v2 bank-marketing AutoML notebook's calls, against the local client.

Written as the notebook is (workspaces.get -> MLflow tracking URI, compute.get with
the ResourceNotFoundError fallback, the Studio link, MLflow's best child run and its
``outputs`` artifacts); only the client construction differs. The command-job part of
the notebook waits for command jobs (issue 8, item 2).
"""

from __future__ import annotations

import os
from pathlib import Path

import mlflow
import pytest
from azure.ai.ml import Input, automl
from azure.ai.ml.entities import AmlCompute
from azure.core.exceptions import ResourceNotFoundError
from mlflow.tracking import MlflowClient


@pytest.fixture
def restore_mlflow_uri():
    """``mlflow.set_tracking_uri`` also exports MLFLOW_TRACKING_URI (for subprocesses), which
    every later Workspace would read: undo both."""
    before = os.environ.get("MLFLOW_TRACKING_URI")
    yield
    mlflow.set_tracking_uri(None)
    if before is not None:
        mlflow.set_tracking_uri(before)


def test_notebook_flow(
    tmp_path: Path,
    tiny_mltable: Path,
    restore_mlflow_uri: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AUTOML_LOCAL_WORKSPACE", str(tmp_path / "root"))
    monkeypatch.chdir(tmp_path)  # no config.json here: from_config fails, as on a new machine
    # the one changed line; the notebook has `from azure.ai.ml import MLClient`
    from automl_local import MLClient

    credential = None  # DefaultAzureCredential() in the notebook; nothing to sign in to here
    try:
        ml_client = MLClient.from_config(credential)
    except Exception:
        subscription_id, resource_group, workspace = "sub", "rg", "bank-ws"
        ml_client = MLClient(credential, subscription_id, resource_group, workspace)
    assert ml_client.workspace.root == (tmp_path / "root" / "workspaces" / "bank-ws").resolve()
    workspace = ml_client.workspaces.get(name=ml_client.workspace_name)
    assert (workspace.location, workspace.resource_group) == ("local", "rg")

    cpu_compute_target = "cpu-cluster"
    try:
        ml_client.compute.get(cpu_compute_target)
        created = False
    except ResourceNotFoundError:
        compute = AmlCompute(
            name=cpu_compute_target, type="amlcompute", size="STANDARD_DS12_V2",
            min_instances=0, max_instances=2,
        )  # fmt: skip
        ml_client.begin_create_or_update(compute).result()
        created = True
    assert created and ml_client.compute.get(cpu_compute_target).max_instances == 2

    job = automl.classification(
        compute=cpu_compute_target,
        experiment_name="dpv2-classifier-experiment",
        training_data=Input(type="mltable", path=str(tiny_mltable)),
        target_column_name="y",
        primary_metric="accuracy",
        n_cross_validations=3,
        enable_model_explainability=False,
        tags={"my_custom_tag": "My custom value"},
    )
    job.set_limits(timeout_minutes=3, max_trials=2, max_concurrent_trials=2)
    job.set_training(
        allowed_training_algorithms=["LogisticRegression"], enable_stack_ensemble=False
    )
    returned_job = ml_client.jobs.create_or_update(job)
    studio = returned_job.services["Studio"].endpoint
    assert studio == returned_job.studio_url and studio.endswith(f"#/runs/{returned_job.name}")
    ml_client.jobs.stream(returned_job.name)

    mlflow.set_tracking_uri(workspace.mlflow_tracking_uri)
    mlflow_client = MlflowClient()
    mlflow_parent_run = mlflow_client.get_run(returned_job.name)
    assert mlflow_parent_run.info.status == "FINISHED"
    best_child_run_id = mlflow_parent_run.data.tags["automl_best_child_run_id"]
    best_run = mlflow_client.get_run(best_child_run_id)
    assert best_run.data.metrics  # the child's metrics are there

    local_dir = tmp_path / "artifact_downloads"
    local_dir.mkdir()
    local_path = mlflow.artifacts.download_artifacts(
        run_id=best_run.info.run_id, artifact_path="outputs", dst_path=str(local_dir)
    )
    assert (Path(local_path) / "mlflow-model" / "MLmodel").exists()
    experiments = [e.name for e in mlflow_client.search_experiments()]
    assert "dpv2-classifier-experiment" in experiments
