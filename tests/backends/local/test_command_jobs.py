"""Standalone command jobs on the local backend, from Python and from the CLI.

Real subprocesses, a real MLflow store, real environments: a command job is a
one-node run of the pipeline runner, so these tests also pin what differs from
a pipeline (a ``CommandJob`` entity, the command's own log streamed, outputs
under the job's name, its own MLflow run).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import ResourceNotFoundError
from pipeline_testkit import wait_terminal

from automl_local.cli import cli
from automl_local.cli._common import run_cli

TRAIN = """\
import argparse, os, pathlib
import mlflow
p = argparse.ArgumentParser()
p.add_argument("--data"); p.add_argument("--folder"); p.add_argument("--n", type=int)
p.add_argument("--table")
p.add_argument("--out")
a = p.parse_args()
rows = pathlib.Path(a.data).read_text().splitlines()
names = sorted(os.listdir(a.folder))
assert pathlib.Path(a.table, "MLTable").is_file()
text = f"{len(rows) * a.n} {names} {os.environ['GREETING']}"
pathlib.Path(a.out, "summary.txt").write_text(text)
mlflow.log_metric("rows", len(rows))
print("trained on", len(rows), "rows")
"""
JOB_YAML = """\
$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json
type: command
code: ./src
command: >-
  python train.py --data ${{inputs.data}} --folder ${{inputs.folder}} --n ${{inputs.n}}
  --table ${{inputs.table}} --out ${{outputs.result}}
inputs:
  data: {type: uri_file, path: ./data/rows.txt}
  folder: {type: uri_folder, path: ./data}
  table: {type: mltable, path: ./data}
  n: 3
outputs:
  result: {type: uri_folder}
environment: azureml:AzureML-sklearn-1.5:1
environment_variables: {GREETING: hello}
compute: azureml:cpu-cluster
experiment_name: cmd-exp
tags: {team: local}
"""


@pytest.fixture()
def ml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    from automl_local.backends import get_client
    from azure.ai.ml.entities import AmlCompute

    monkeypatch.setenv("AUTOML_LOCAL_SERVER_AUTOSTART", "0")
    client = get_client("local", workspace=tmp_path / "ws")
    client.begin_create_or_update(AmlCompute(name="cpu-cluster", max_instances=1)).result()
    return client


@pytest.fixture()
def job_yaml(tmp_path: Path) -> Path:
    folder = tmp_path / "job"
    (folder / "src").mkdir(parents=True)
    (folder / "data").mkdir()
    (folder / "src" / "train.py").write_text(TRAIN)
    (folder / "data" / "rows.txt").write_text("a\nb\n")
    (folder / "data" / "MLTable").write_text("paths:\n  - file: ./rows.txt\n")
    (folder / "job.yml").write_text(JOB_YAML)
    return folder / "job.yml"


def test_yaml_command_job_runs_streams_and_downloads(
    ml: Any, job_yaml: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from azure.ai.ml import load_job
    from azure.ai.ml.entities import Command
    from mlflow.tracking import MlflowClient

    job = ml.create_or_update(load_job(str(job_yaml)))
    # what azure-ai-ml returns for a command job: a Command (a Job), with its Studio link
    assert isinstance(job, Command) and job.services["Studio"].endpoint == job.studio_url
    ml.jobs.stream(job.name)
    out = capsys.readouterr().out
    assert "trained on 2 rows" in out and "Status: Completed" in out
    got = ml.jobs.get(job.name)
    assert (got.status, got.experiment_name, got.tags) == ("Completed", "cmd-exp",
                                                           {"team": "local"})  # fmt: skip
    assert [j.name for j in ml.jobs.list()] == [job.name]
    summary = ml.jobs.summary(job.name)
    assert summary["outputs"] == {"result": f"azureml://jobs/{job.name}/outputs/result"}
    assert any("cpu-cluster (amlcompute" in w for w in summary["warnings"])
    ml.jobs.download(job.name, output_name="result", download_path=tmp_path / "dl")
    text = (tmp_path / "dl" / "named-outputs" / "result" / "summary.txt").read_text()
    assert text == "6 ['MLTable', 'rows.txt'] hello"
    ml.jobs.download(job.name, all=True, download_path=tmp_path / "all")
    log = tmp_path / "all" / "artifacts" / "user_logs" / "std_log.txt"
    assert "trained on" in log.read_text()
    run = MlflowClient(ml.workspace.tracking_uri).get_run(job.name)  # job name = MLflow run id
    assert run.info.status == "FINISHED" and run.data.metrics["rows"] == 2.0


def test_command_builder_output_model_registers(ml: Any, tmp_path: Path) -> None:
    from azure.ai.ml import Input, Output, command
    from azure.ai.ml.entities import Model

    code = tmp_path / "src"
    code.mkdir()
    (code / "save.py").write_text(
        "import sys, mlflow.pyfunc\n"
        "class M(mlflow.pyfunc.PythonModel):\n"
        "    def predict(self, context, model_input, params=None): return model_input\n"
        "mlflow.pyfunc.save_model(sys.argv[1] + '/m', python_model=M())\n"
        "import shutil; shutil.copytree(sys.argv[1] + '/m', sys.argv[2], dirs_exist_ok=True)\n"
    )
    job = command(
        code=str(code), command="python save.py ${{inputs.scratch}} ${{outputs.model}}",
        inputs={"scratch": Input(type="uri_folder", path=str(tmp_path / "scratch"))},
        outputs={"model": Output(type="mlflow_model")},
        environment="azureml:AzureML-sklearn-1.5:1", experiment_name="builder",
    )  # fmt: skip
    (tmp_path / "scratch").mkdir()
    returned = ml.jobs.create_or_update(job)
    assert wait_terminal(ml, returned.name)["status"] == "Completed"
    model = ml.models.create_or_update(Model(
        name="cmd-model", type="mlflow_model",
        path=f"azureml://jobs/{returned.name}/outputs/model",
    ))  # fmt: skip
    assert model.version == "1"
    stored = Path(ml.workspace.catalogue.get("model", "cmd-model", "1")["path"])
    assert (stored / "MLmodel").exists()


def test_failing_command_is_failed_with_its_log_tail(ml: Any, tmp_path: Path) -> None:
    from azure.ai.ml import command

    from automl_local.exceptions import JobFailedError

    job = ml.jobs.create_or_update(command(
        command="echo preparing... && ls /no/such/dir", environment="AzureML-sklearn-1.5:1",
    ))  # fmt: skip
    with pytest.raises(JobFailedError, match=r"(?s)exited with code 2.*preparing\.\.\..*no/such"):
        ml.jobs.stream(job.name)
    assert ml.jobs.get(job.name).status == "Failed"


def test_cancel_stops_the_command(ml: Any) -> None:
    from azure.ai.ml import command

    job = ml.jobs.create_or_update(command(command="sleep 60", environment="AzureML-x:1"))
    record = wait_terminal_or_running(ml, job.name)
    assert record["status"] == "Running"
    ml.jobs.begin_cancel(job.name).result()
    assert wait_terminal(ml, job.name, timeout=40)["status"] == "Canceled"


def wait_terminal_or_running(ml: Any, name: str) -> dict[str, Any]:
    import time

    for _ in range(200):
        record = ml.workspace.catalogue.require("job", name)
        nodes = record.get("nodes") or {}
        if record["status"] in ("Completed", "Failed", "Canceled") or any(
            n.get("status") == "Running" and n.get("pid") for n in nodes.values()
        ):
            return record
        time.sleep(0.1)
    raise AssertionError(f"job {name} did not start")


def test_unknown_compute_and_environment_are_azure_not_found(ml: Any) -> None:
    from azure.ai.ml import command

    with pytest.raises(ResourceNotFoundError, match=r"compute 'gpu'.*computes here: cpu-cluster"):
        ml.jobs.create_or_update(command(command="true", environment="AzureML-x:1",
                                         compute="gpu"))  # fmt: skip
    with pytest.raises(ResourceNotFoundError, match=r"^environment: environment my-env:1 was not"):
        ml.jobs.create_or_update(command(command="true", environment="azureml:my-env:1"))
    result = ml.jobs.validate(command(command="true", environment="azureml:my-env:1"))
    assert not result.passed and "my-env" in str(result.error_messages)
    assert ml.jobs.validate(command(command="true", environment="AzureML-x:1")).passed
    assert list(ml.jobs.list()) == []  # nothing was left behind


def test_cli_create_show_list_download_cancel(
    ml: Any, job_yaml: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = ["--workspace-dir", str(ml.workspace.root)]

    def run(*args: str) -> tuple[int, str, str]:
        code = run_cli(cli, [*args, *ws])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    code, out, err = run("job", "create", "--file", str(job_yaml), "-n", "cli_cmd", "--stream")
    assert code == 0, err
    assert "trained on 2 rows" in out
    code, out, _ = run("job", "show", "-n", "cli_cmd", "-o", "json")
    shown = json.loads(out)
    assert shown["type"] == "command" and shown["status"] == "Completed"
    assert shown["services"]["Studio"]["endpoint"].endswith("#/runs/cli_cmd")
    code, out, _ = run("job", "show", "-n", "cli_cmd", "-o", "table")
    assert "Completed" in out and "azureml://jobs/cli_cmd/outputs/result" in out
    code, out, _ = run("job", "list", "-o", "json")
    assert [r["name"] for r in json.loads(out)] == ["cli_cmd"]
    code, out, _ = run("job", "download", "-n", "cli_cmd", "--output-name", "result",
                       "-p", str(tmp_path / "cli-dl"))  # fmt: skip
    assert code == 0 and (tmp_path / "cli-dl" / "named-outputs" / "result").is_dir()
    code, _, _ = run("job", "cancel", "-n", "cli_cmd")  # already finished: a no-op, as on Azure
    assert code == 0

    bad = job_yaml.parent / "bad.yml"
    bad.write_text(JOB_YAML.replace("python train.py", "python missing.py"))
    code, out, err = run("job", "create", "--file", str(bad), "--stream")
    assert code == 2
    assert "missing.py" in err and "Traceback" not in err


def test_cli_broken_conda_file_names_the_line(
    ml: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "conda.yml").write_text("dependencies:\n  - numpy\n   - pip:\n  - x\n")
    (tmp_path / "job.yml").write_text(
        "type: command\ncommand: echo hi\nenvironment:\n  image: python:3.11\n"
        "  conda_file: ./conda.yml\n"
    )
    code = run_cli(cli, ["job", "create", "--file", str(tmp_path / "job.yml"),
                         "--workspace-dir", str(ml.workspace.root)])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "conda.yml is not valid YAML" in err and "line 3, column" in err
    assert len(err.strip().splitlines()) == 1


def test_command_job_entity_runs_in_its_built_environment(
    ml: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from azure.ai.ml import Input
    from azure.ai.ml.entities import CommandJob, Environment

    (tmp_path / "conda.yml").write_text("dependencies:\n  - pip\n  - pip:\n    - inflection\n")
    (tmp_path / "words.txt").write_text("device_type")
    job = CommandJob(
        command="python -c \"import inflection,sys; print(inflection.camelize("
                "open(sys.argv[1]).read()))\" ${{inputs.words}}",
        inputs={"words": Input(type="uri_file", path=str(tmp_path / "words.txt"))},
        environment=Environment(image="python:3.11", conda_file=str(tmp_path / "conda.yml")),
        experiment_name="entity-exp", display_name="camel",
    )  # fmt: skip
    returned = ml.jobs.create_or_update(job)
    ml.jobs.stream(returned.name)
    out = capsys.readouterr().out
    assert "DeviceType" in out and "[environment]" in out
    got = ml.jobs.get(returned.name)
    assert (got.status, got.experiment_name, got.display_name) == ("Completed", "entity-exp",
                                                                   "camel")  # fmt: skip
