"""A command job through the Azure adapter, checked on the wire (fake azure-core transport).

The canned answers follow the recorded ``command-job.json`` (Azure's own SDK e2e test):
PUT ``jobs/<name>`` answers 201 ``Starting`` with ``services.Studio``; GET answers
``Preparing``. What is checked is what azure-ai-ml sends for the job the local backend
runs as written: the code folder uploaded and referenced, the local input uploaded to
``LocalUpload/``, the command, environment, variables and experiment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from automl_local.exceptions import ConfigError

JOB_YAML = """\
type: command
code: ./src
command: python train.py --data ${{inputs.data}} --out ${{outputs.model}}
inputs:
  data: {type: uri_file, path: ./data/rows.csv}
  n: 3
outputs:
  model: {type: uri_folder}
environment: azureml:AzureML-sklearn-1.0-ubuntu20.04-py38-cpu:33
environment_variables: {GREETING: hello}
experiment_name: mfe-test1-dataset
"""


def _uploads(fake: Any) -> dict[str, bytes]:
    return {r.path.rsplit("/", 1)[-1]: r.body for r in fake.transport.requests
            if r.method == "PUT" and r.host.endswith(".blob.core.windows.net")
            and not r.query.get("comp")}  # fmt: skip


def _project(tmp_path: Path) -> Path:
    """A command job folder: ``job.yml``, its code folder and a local input file."""
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    (project / "data").mkdir()
    (project / "src" / "train.py").write_text("print('train')\n")
    (project / "data" / "rows.csv").write_text("a,b\n1,2\n")
    (project / "job.yml").write_text(JOB_YAML)
    return project


def test_command_job_yaml_goes_through_the_adapter(
    client: Any, fake: Any, tmp_path: Path, clean_env: Path
) -> None:
    from azure.ai.ml import load_job
    from azure.ai.ml.entities import Command

    project = _project(tmp_path)
    assert Path.cwd() == clean_env  # not the YAML's folder: paths start at the YAML anyway
    spec = load_job(project / "job.yml")
    job = client.create_or_update(spec)

    body = fake.transport.one("PUT", rf"/jobs/{job.name}$").json()["properties"]
    assert body["jobType"] == "Command"
    assert body["command"] == (
        "python train.py --data ${{inputs.data}} --out ${{outputs.model}}")
    assert body["environmentId"] == "azureml:AzureML-sklearn-1.0-ubuntu20.04-py38-cpu:33"
    assert body["environmentVariables"] == {"GREETING": "hello"}
    assert body["experimentName"] == "mfe-test1-dataset"
    assert "computeId" not in body  # no compute anywhere: serverless, as recorded
    data = body["inputs"]["data"]
    assert data["jobInputType"] == "uri_file"
    assert data["uri"].startswith("azureml://datastores/workspaceblobstore/paths/LocalUpload/")
    assert data["uri"].endswith("/rows.csv")
    assert body["inputs"]["n"] == {"jobInputType": "literal", "value": "3"}
    assert body["outputs"]["model"]["jobOutputType"] == "uri_folder"
    assert "/codes/" in body["codeId"]
    uploaded = _uploads(fake)
    assert uploaded["train.py"] == b"print('train')\n" and uploaded["rows.csv"] == b"a,b\n1,2\n"

    # azure-ai-ml answers a command job with a Command node (submitted and got alike)
    assert isinstance(job, Command) and job.status == "Starting"
    assert job.services["Studio"].endpoint.startswith(f"https://ml.azure.com/runs/{job.name}")
    got = client.jobs.get(job.name)
    assert isinstance(got, Command) and got.status == "Preparing"
    assert client.jobs.summary(job.name)["type"] == "command"
    assert spec.code == "./src" or str(spec.code).endswith("src")  # the caller's entity as given


def test_command_builder_with_compute(client: Any, fake: Any, tmp_path: Path) -> None:
    from azure.ai.ml import command

    job = client.jobs.create_or_update(command(
        command="pip freeze", environment="azureml:AzureML-sklearn-1.0-ubuntu20.04-py38-cpu:33",
        compute="cpu-cluster", display_name="test_dataset_display_name1",
    ))  # fmt: skip
    body = fake.transport.one("PUT", rf"/jobs/{job.name}$").json()["properties"]
    assert body["computeId"] == f"{fake.workspace_path}/computes/cpu-cluster"
    assert body["displayName"] == "test_dataset_display_name1"


def test_a_command_job_schedule_sends_the_command_job(
    client: Any, fake: Any, tmp_path: Path, clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Azure schedules command jobs (its SDK's ``test_command_job_schedule`` recording, made
    with azure-ai-ml's preview features on, which its serialiser requires)."""
    from azure.ai.ml import load_job
    from azure.ai.ml.entities import CronTrigger, JobSchedule

    project = _project(tmp_path)
    schedule = JobSchedule(name="cmd-nightly", trigger=CronTrigger(expression="15 10 * * 1"),
                           create_job=load_job(project / "job.yml"))  # fmt: skip
    monkeypatch.delenv("AZURE_ML_CLI_PRIVATE_FEATURES_ENABLED", raising=False)
    with pytest.raises(ConfigError, match=r"schedule 'cmd-nightly': create_job is a command job"
                                          r".*Set AZURE_ML_CLI_PRIVATE_FEATURES_ENABLED=true"):
        client.schedules.begin_create_or_update(schedule)
    assert not fake.transport.find("PUT", r"/schedules/cmd-nightly$")
    monkeypatch.setenv("AZURE_ML_CLI_PRIVATE_FEATURES_ENABLED", "true")
    client.schedules.begin_create_or_update(schedule).result()
    action = fake.transport.one("PUT", r"/schedules/cmd-nightly$").json()["properties"]["action"]
    assert action["actionType"] == "CreateJob"
    job = action["jobDefinition"]
    assert job["jobType"] == "Command"
    assert job["command"] == "python train.py --data ${{inputs.data}} --out ${{outputs.model}}"
    assert job["environmentId"] == "azureml:AzureML-sklearn-1.0-ubuntu20.04-py38-cpu:33"
    assert job["experimentName"] == "mfe-test1-dataset"
    assert "/codes/" in job["codeId"]
    assert job["inputs"]["data"]["uri"].endswith("/rows.csv")
    assert _uploads(fake)["train.py"] == b"print('train')\n"
    assert schedule.create_job.code == "./src" or str(schedule.create_job.code).endswith("src")
