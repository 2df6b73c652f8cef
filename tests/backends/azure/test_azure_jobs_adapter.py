"""What the adapter adds to azure-ai-ml's jobs, data and models, checked on the wire."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from automl_local.backends.azure.testing import FakeResponse

from automl_local.exceptions import ConfigError, JobFailedError, NotFoundError


def _job_body(fake: Any, name: str) -> dict[str, Any]:
    return fake.transport.one("PUT", rf"/jobs/{name}$").json()["properties"]


def _uploaded(fake: Any, name: str) -> bytes:
    found = [r for r in fake.transport.requests
             if r.method == "PUT" and r.host.endswith(".blob.core.windows.net")
             and r.path.endswith("/" + name) and not r.query.get("comp")]
    assert found, f"{name} was not uploaded"
    return found[-1].body


# -- local data -> MLTable upload ------------------------------------------------------------

def test_local_csv_training_data_is_uploaded_as_an_mltable(client: Any, fake: Any,
                                                           automl_job: Any,
                                                           csv_file: Path) -> None:
    job = client.jobs.create_or_update(automl_job(str(csv_file)))
    uri = _job_body(fake, job.name)["taskDetails"]["trainingData"]
    assert uri["jobInputType"] == "mltable"
    assert uri["uri"].startswith("azureml://datastores/workspaceblobstore/paths/LocalUpload/")
    mltable = yaml.safe_load(_uploaded(fake, "MLTable"))
    assert mltable["paths"] == [{"file": "./bank.csv"}]
    assert "read_delimited" in mltable["transformations"][0]
    assert _uploaded(fake, "bank.csv") == csv_file.read_bytes()


def test_the_callers_job_is_not_changed(client: Any, automl_job: Any, csv_file: Path) -> None:
    spec = automl_job(str(csv_file))
    client.jobs.create_or_update(spec)
    assert spec.training_data.path == str(csv_file)
    assert spec.compute is None


def test_relative_paths_start_at_the_yaml_folder(client: Any, fake: Any, tmp_path: Path,
                                                 clean_env: Path) -> None:
    from azure.ai.ml import load_job

    project = tmp_path / "project"
    (project / "data").mkdir(parents=True)
    (project / "data" / "bank.csv").write_text("age,y\n30,no\n45,yes\n")
    (project / "job.yml").write_text(
        "type: automl\ntask: classification\ntarget_column_name: y\n"
        "training_data: {path: ./data/bank.csv, type: mltable}\n")
    assert Path.cwd() == clean_env  # not the YAML's folder
    job = client.jobs.create_or_update(load_job(project / "job.yml"))
    assert _job_body(fake, job.name)["taskDetails"]["trainingData"]["uri"].startswith(
        "azureml://datastores/workspaceblobstore/paths/LocalUpload/")
    assert _uploaded(fake, "bank.csv") == b"age,y\n30,no\n45,yes\n"


def test_registered_data_is_passed_through(client: Any, fake: Any, automl_job: Any) -> None:
    job = client.jobs.create_or_update(automl_job("azureml:bank:2"))
    assert _job_body(fake, job.name)["taskDetails"]["trainingData"]["uri"] == (
        f"{fake.workspace_path}/data/bank/versions/2")
    assert not [r for r in fake.transport.requests if r.host.endswith(".blob.core.windows.net")]


def test_data_asset_from_a_local_csv_uploads_an_mltable(client: Any, fake: Any,
                                                        csv_file: Path) -> None:
    from azure.ai.ml.entities import Data

    data = client.data.create_or_update(
        Data(name="bank", version="1", type="mltable", path=str(csv_file)))
    assert data.path.startswith("azureml://datastores/workspaceblobstore/paths/LocalUpload/")
    put = fake.transport.one("PUT", r"/data/bank/versions/1$").json()["properties"]
    assert put["dataType"] == "mltable"
    assert yaml.safe_load(_uploaded(fake, "MLTable"))["paths"] == [{"file": "./bank.csv"}]


# -- compute ----------------------------------------------------------------------------------

def test_no_compute_anywhere_means_serverless(client: Any, fake: Any, automl_job: Any) -> None:
    job = client.jobs.create_or_update(automl_job("azureml:bank:1"))
    assert "computeId" not in _job_body(fake, job.name)


def test_azureml_compute_is_the_default(client: Any, fake: Any, automl_job: Any,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from automl_local.backends import get_client
    from automl_local.backends.azure.testing import FakeCredential

    monkeypatch.setenv("AZUREML_COMPUTE", "cpu-cluster")
    env_client = get_client("azure", subscription_id=fake.sub, resource_group_name=fake.rg,
                            workspace_name=fake.ws, credential=FakeCredential(),
                            transport=fake.transport, show_progress=False)
    job = env_client.jobs.create_or_update(automl_job("azureml:bank:1"))
    assert _job_body(fake, job.name)["computeId"] == f"{fake.workspace_path}/computes/cpu-cluster"


def test_the_jobs_own_compute_and_the_argument_win(client: Any, fake: Any,
                                                   automl_job: Any) -> None:
    client.default_compute = "default-cluster"
    own = client.jobs.create_or_update(automl_job("azureml:bank:1", compute="gpu-cluster"))
    assert _job_body(fake, own.name)["computeId"].endswith("/computes/gpu-cluster")
    arg = client.jobs.create_or_update(automl_job("azureml:bank:1"), compute="big-cluster")
    assert _job_body(fake, arg.name)["computeId"].endswith("/computes/big-cluster")
    default = client.jobs.create_or_update(automl_job("azureml:bank:1"))
    assert _job_body(fake, default.name)["computeId"].endswith("/computes/default-cluster")


# -- an azure-ai-ml 1.35 serialisation bug the adapter works around ------------------------

def test_stack_ensemble_settings_reach_the_wire(client: Any, fake: Any, automl_job: Any) -> None:
    from azure.ai.ml.automl import StackEnsembleSettings

    spec = automl_job("azureml:bank:1")
    spec.set_training(enable_stack_ensemble=True, stack_ensemble_settings=StackEnsembleSettings(
        stack_meta_learner_type="LogisticRegression", stack_meta_learner_train_percentage=0.3))
    job = client.jobs.create_or_update(spec)
    training = _job_body(fake, job.name)["taskDetails"]["trainingSettings"]
    assert training["stackEnsembleSettings"] == {
        "stackMetaLearnerType": "LogisticRegression", "stackMetaLearnerTrainPercentage": 0.3}
    assert isinstance(spec.training.stack_ensemble_settings, StackEnsembleSettings)


# -- best model ---------------------------------------------------------------------------------

def test_best_model_download_goes_through_mlflow_and_the_artifact_store(
        client: Any, fake: Any, automl_job: Any, tmp_path: Path, best_model_dir: Path) -> None:
    job = client.jobs.create_or_update(automl_job("azureml:bank:1"))
    fake.transport.clear()
    client.jobs.download(job.name, output_name="best_model", download_path=tmp_path / "dl")
    folder = tmp_path / "dl" / "named-outputs" / "best_model"
    for name in ("MLmodel", "model.pkl", "conda.yaml"):
        assert (folder / name).read_bytes() == (best_model_dir / name).read_bytes()
    mlflow = fake.transport.one("GET", r"/api/2\.0/mlflow/runs/get$")
    assert mlflow.host == "eastus.api.azureml.ms"
    assert mlflow.path.startswith(f"/mlflow/v1.0{fake.workspace_path}/")
    assert mlflow.query == {"run_id": job.name}
    listing = [r for r in fake.transport.requests if r.query.get("comp") == "list"]
    assert listing[0].path == "/azureml"  # the workspaceartifactstore container
    assert listing[0].query["prefix"] == f"ExperimentRun/dcid.{job.name}_3/outputs/mlflow-model"
    assert not fake.transport.unrouted


def test_best_child_lookup_reads_the_parent_runs_tag(client: Any, automl_job: Any) -> None:
    job = client.jobs.create_or_update(automl_job("azureml:bank:1"))
    assert client.jobs.best_child_run_id(job.name) == f"{job.name}_3"


def test_best_model_of_a_running_job_is_refused(client: Any, fake: Any,
                                                automl_job: Any) -> None:
    job = client.jobs.create_or_update(automl_job("azureml:bank:1"))
    fake.resources[f"{fake.workspace_path}/jobs/{job.name}".lower()]["properties"][
        "status"] = "Running"
    with pytest.raises(ConfigError, match=rf"job '{job.name}' is Running; its best model can "
                                          "be downloaded once it has finished"):
        client.jobs.download(job.name, output_name="best_model")


def test_best_model_of_a_failed_job_is_job_failed(client: Any, fake: Any,
                                                  automl_job: Any) -> None:
    job = client.jobs.create_or_update(automl_job("azureml:bank:1"))
    fake.resources[f"{fake.workspace_path}/jobs/{job.name}".lower()]["properties"][
        "status"] = "Failed"
    with pytest.raises(JobFailedError, match=r"ended Failed, so it has no best model"):
        client.jobs.download(job.name, output_name="best_model")


def test_no_best_child_tag_yet(client: Any, fake: Any, automl_job: Any) -> None:
    job = client.jobs.create_or_update(automl_job("azureml:bank:1"))
    fake.transport.add("GET", r"/api/2\.0/mlflow/runs/get$", FakeResponse(200, {
        "run": {"info": {"run_id": job.name}, "data": {"tags": []}}}))
    with pytest.raises(NotFoundError, match=r"has no automl_best_child_run_id tag yet"):
        client.jobs.download(job.name, output_name="best_model")


def test_best_trial_without_a_model(client: Any, fake: Any, automl_job: Any) -> None:
    fake.best_model_dir = None  # AutoML left no outputs/mlflow-model
    job = client.jobs.create_or_update(automl_job("azureml:bank:1"))
    with pytest.raises(NotFoundError, match=rf"best trial '{job.name}_3' .* has no MLflow "
                                            "model under outputs/mlflow-model"):
        client.jobs.download(job.name, output_name="best_model")


def test_registering_the_best_model_output_names_the_best_trial(client: Any, fake: Any,
                                                               automl_job: Any) -> None:
    from azure.ai.ml.entities import Model

    job = client.jobs.create_or_update(automl_job("azureml:bank:1"))
    model = client.models.create_or_update(Model(
        name="bank-best", version="1", type="mlflow_model",
        path=f"azureml://jobs/{job.name}/outputs/best_model"))
    body = fake.transport.one("PUT", r"/models/bank-best/versions/1$").json()["properties"]
    assert body["modelUri"] == (
        f"azureml://jobs/{job.name}_3/outputs/artifacts/outputs/mlflow-model/")
    assert model.name == "bank-best"


def test_other_model_paths_are_passed_through(client: Any, fake: Any) -> None:
    from azure.ai.ml.entities import Model

    path = "azureml://jobs/some_run/outputs/artifacts/outputs/mlflow-model/"
    client.models.create_or_update(Model(name="m", version="1", type="mlflow_model", path=path))
    body = fake.transport.one("PUT", r"/models/m/versions/1$").json()["properties"]
    assert body["modelUri"] == path
    assert not fake.transport.find("GET", r"/mlflow/")
