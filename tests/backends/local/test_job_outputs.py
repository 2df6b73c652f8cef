"""What a finished local AutoML job leaves, read as an Azure user reads it.

One real job (generated data, a few trials, both ensembles) run through
``ml.jobs`` in a detached process, shared by the tests below: the registered
model is listed at once, the children's outputs have Azure's layout, and a
non-best child registers and serves.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from _schemathesis import run_schemathesis
from _testdata import make_frame
from automl_local.backends import get_client
from azure.ai.ml import Input, automl


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    """(client, job name): a completed 5-trial job (3 singles + VotingEnsemble + StackEnsemble)."""
    from automl_local.data import write_mltable

    tmp = tmp_path_factory.mktemp("outputs")
    ml = get_client("local", workspace=tmp / "ws")
    data = write_mltable(make_frame(), tmp / "train-mltable")
    spec = automl.classification(
        training_data=Input(type="mltable", path=str(data)),
        target_column_name="y",
        primary_metric="AUC_weighted",
        experiment_name="outputs",
        positive_label="yes",
        test_data_size=0.2,
    )
    spec.set_limits(max_trials=5, timeout_minutes=3)
    spec.set_training(allowed_training_algorithms=["LightGBM", "LogisticRegression"])
    returned = ml.jobs.create_or_update(spec)
    ml.jobs.stream(returned.name)
    assert ml.jobs.get(returned.name).status == "Completed"
    return ml, returned.name


def _cli(ml, capsys, *argv: str) -> tuple[int, str]:
    from automl_local.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--workspace", str(ml.workspace.root)])
    out, err = capsys.readouterr()
    return int(exit_info.value.code or 0), out + err


def test_registered_model_is_listed_right_after_the_job(job, capsys) -> None:
    ml, name = job
    model_name = f"azureml_{name}_output_mlflow_log_model"
    listed = {m.name: m for m in ml.models.list()}
    assert model_name in listed and listed[model_name].version == "1"
    assert (Path(listed[model_name].path) / "MLmodel").is_file()
    code, out = _cli(ml, capsys, "model", "list")
    assert code == 0 and model_name in out
    assert [m.version for m in ml.models.list(name=model_name)] == ["1"]  # adopted once


def _children(ml, name):
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=ml.workspace.tracking_uri)
    parent = client.get_run(name)
    best = parent.data.tags["automl_best_child_run_id"]
    runs = client.search_runs(
        [parent.info.experiment_id], f"tags.mlflow.parentRunId = '{name}'", max_results=100
    )
    return client, best, {r.info.run_id: r for r in runs}


def _artifacts(client, run_id, path=None) -> set[str]:
    out: set[str] = set()
    for a in client.list_artifacts(run_id, path):
        out |= _artifacts(client, run_id, a.path) if a.is_dir else {a.path}
    return out


AZURE_FILES = {
    "outputs/model.pkl",
    "outputs/conda_env_v_1_0_0.yml",
    "outputs/scoring_file_v_1_0_0.py",
    "outputs/scoring_file_v_2_0_0.py",
    "outputs/mlflow-model/MLmodel",
    "outputs/mlflow-model/model.pkl",
    "outputs/mlflow-model/requirements.txt",
    "confusion_matrix",
    "accuracy_table",
    "roc_curve.png",
    "precision_recall_curve.png",
    "calibration_curve.png",
    "lift_curve.png",
    "cumulative_gains_curve.png",
    "confusion_matrix.png",
}


def test_best_and_other_children_have_azures_outputs(job) -> None:
    from PIL import Image

    ml, name = job
    client, best, children = _children(ml, name)
    result = ml.jobs.get(name).properties
    assert best in children
    best_files = _artifacts(client, best)
    assert AZURE_FILES | {"outputs/generated_code/script.py",
                          "outputs/generated_code/script_run_notebook.ipynb",
                          "outputs/predictions/predictions.csv"} <= best_files
    predictions = client.download_artifacts(best, "outputs/predictions/predictions.csv")
    header = Path(predictions).read_text().splitlines()[0]
    assert header == "actual,predicted,proba_no,proba_yes"
    assert "test_AUC_binary" in client.get_run(name).data.metrics
    with_outputs = [r for r in children if r != best and "outputs/model.pkl" in
                    _artifacts(client, r, "outputs")]  # fmt: skip
    assert with_outputs, f"no child but the best has outputs ({result})"
    other = with_outputs[0]
    assert _artifacts(client, other) >= AZURE_FILES
    for run_id in children:  # every completed child: Azure's evaluation artifacts
        if children[run_id].info.status == "FINISHED":
            assert {"confusion_matrix", "accuracy_table"} <= _artifacts(client, run_id)
            assert "AUC_binary" in children[run_id].data.metrics
    local = client.download_artifacts(other, "roc_curve.png")
    with Image.open(local) as image:
        assert image.format == "PNG" and image.size[0] > 100
    assert "trials_chart.png" in _artifacts(client, name)


def test_a_non_best_child_registers_by_azure_paths_and_deploys(job, tmp_path) -> None:
    import json as _json

    from azure.ai.ml.entities import (
        ManagedOnlineDeployment,
        ManagedOnlineEndpoint,
        Model,
    )

    ml, name = job
    client, best, children = _children(ml, name)
    other = next(r for r in children if r != best and "outputs/model.pkl" in
                 _artifacts(client, r, "outputs"))  # fmt: skip
    base = f"azureml://jobs/{other}/outputs/artifacts/outputs"
    pkl = ml.models.create_or_update(Model(name="child-pkl", path=f"{base}/model.pkl"))
    assert Path(pkl.path).name == "model.pkl" and Path(pkl.path).stat().st_size > 1000
    mlflow_model = ml.models.create_or_update(
        Model(name="child-mlflow", path=f"{base}/mlflow-model", type="mlflow_model")
    )
    assert (Path(mlflow_model.path) / "MLmodel").is_file()
    ml.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name="child-ep")).result()
    try:
        ml.online_deployments.begin_create_or_update(
            ManagedOnlineDeployment(name="blue", endpoint_name="child-ep",
                                    model="azureml:child-mlflow:1", instance_count=1)
        ).result()  # fmt: skip
        rows = make_frame(3, seed=4).drop(columns="y")
        request = tmp_path / "request.json"
        request.write_text(_json.dumps({"input_data": {
            "columns": list(rows.columns), "index": [0, 1, 2],
            "data": _json.loads(rows.to_json(orient="values"))}}))  # fmt: skip
        answer = _json.loads(ml.online_endpoints.invoke(
            "child-ep", request_file=str(request), deployment_name="blue"))
        assert len(answer) == 3 and set(answer) <= {"yes", "no"}
    finally:
        ml.online_endpoints.begin_delete("child-ep").result()


def test_generated_script_scores_like_the_child(job, tmp_path) -> None:
    import re
    import subprocess
    import sys

    from automl_local.data import read_table

    ml, name = job
    client, best, children = _children(ml, name)
    script = Path(client.download_artifacts(best, "outputs/generated_code/script.py"))
    source = script.read_text()
    assert "automl_local" not in source.replace("written by automl-local", "")
    data = tmp_path / "train.csv"
    spec = ml.jobs.get(name)
    read_table(spec.training_data.path).to_csv(data, index=False)
    env = {"MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'script.db'}", "PATH": "/usr/bin"}
    proc = subprocess.run(
        [sys.executable, "-I", str(script), "--training_dataset_uri", str(data)],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    score = float(re.search(r"validation AUC_weighted: ([0-9.]+)", proc.stdout)[1])
    child_score = float(children[best].data.tags["score"])
    if "stacks a meta-learner" in source:  # the script is the best non-stack child's
        child = re.search(r"this is the code of child (\d+)", source)[1]
        child_score = float(children[f"{name}_{child}"].data.tags["score"])
    assert abs(score - child_score) <= 0.002
    assert "logged the model with MLflow" in proc.stdout


def test_a_child_scoring_file_deployment_matches_the_no_code_one(job, tmp_path) -> None:
    """Azure's AutoML notebook way: model.pkl + scoring_file_v_2_0_0.py + conda_env_v_1_0_0.yml,
    run by azmlinfsrv in the built conda environment, gives the no-code deployment's answers."""
    import json as _json
    import shutil

    import httpx
    import numpy as np
    from azure.ai.ml.entities import (
        CodeConfiguration,
        Environment,
        ManagedOnlineDeployment,
        ManagedOnlineEndpoint,
        Model,
    )

    ml, name = job
    client, best, _ = _children(ml, name)
    outputs = Path(client.download_artifacts(best, "outputs", str(tmp_path)))
    code = tmp_path / "code"
    code.mkdir()
    shutil.copy(outputs / "scoring_file_v_2_0_0.py", code)
    base = f"azureml://jobs/{best}/outputs/artifacts/outputs"
    ml.models.create_or_update(Model(name="best-pkl", path=f"{base}/model.pkl"))
    ml.models.create_or_update(
        Model(name="best-mlflow", path=f"{base}/mlflow-model", type="mlflow_model"))
    ml.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name="script-ep")).result()
    try:
        for deployment, model in (("scripted", "best-pkl"), ("scripted-mlflow", "best-mlflow")):
            ml.online_deployments.begin_create_or_update(ManagedOnlineDeployment(
                name=deployment, endpoint_name="script-ep", model=f"azureml:{model}:1",
                code_configuration=CodeConfiguration(
                    code=str(code), scoring_script="scoring_file_v_2_0_0.py"),
                environment=Environment(conda_file=str(outputs / "conda_env_v_1_0_0.yml"),
                                        image="mcr.microsoft.com/azureml/curated/"
                                              "mlflow-ubuntu20.04-py38-cpu-inference:latest"),
            )).result()  # fmt: skip
        ml.online_deployments.begin_create_or_update(ManagedOnlineDeployment(
            name="nocode", endpoint_name="script-ep", model="azureml:best-mlflow:1",
        )).result()  # fmt: skip
        rows = make_frame(5, seed=7).drop(columns="y")
        body = {"Inputs": {"data": _json.loads(rows.to_json(orient="records"))},
                "GlobalParameters": {"method": "predict_proba"}}  # fmt: skip
        request = tmp_path / "request.json"
        request.write_text(_json.dumps(body))
        answers = {
            d: _json.loads(ml.online_endpoints.invoke(
                "script-ep", request_file=str(request), deployment_name=d))
            for d in ("scripted", "scripted-mlflow", "nocode")
        }  # fmt: skip
        scripted = np.array(answers["scripted"]["Results"])
        assert scripted.shape == (5, 2)
        for other in ("scripted-mlflow", "nocode"):  # an mlflow_model with a script, no script
            np.testing.assert_allclose(scripted, np.array(answers[other]["Results"]), atol=1e-9)
        endpoint = ml.online_endpoints.get("script-ep")
        key = ml.online_endpoints.get_keys("script-ep").primary_key
        swagger = httpx.get(endpoint.openapi_uri, timeout=30, headers={
            "azureml-model-deployment": "scripted", "Authorization": f"Bearer {key}"}).json()
        described = swagger["definitions"]["ServiceInput"]["properties"]["Inputs"]
        assert set(rows.columns) <= set(
            described["properties"]["data"]["items"]["properties"])  # inference-schema's
        pinned = {"azureml-model-deployment": "scripted", "Authorization": f"Bearer {key}"}
        v3 = httpx.get(f"{endpoint.openapi_uri}?version=3", headers=pinned, timeout=30).json()
        assert v3["paths"]["/"]["get"]["security"] == []  # liveness needs no key
        assert swagger["paths"]["/"]["get"]["security"] == []  # Swagger 2.0 too
        service_input = v3["components"]["schemas"]["ServiceInput"]
        assert service_input["required"] == ["Inputs"]  # run(Inputs, GlobalParameters=...): the
        assert "required" in str(jsonschema_errors(service_input, {}))  # launcher's addition
        bad = httpx.post(endpoint.scoring_uri, headers=pinned, timeout=30,
                         json={**body, "GlobalParameters": {"method": {}}})  # fmt: skip
        assert bad.status_code == 400, bad.text  # the front's check, before run() raises
        assert "GlobalParameters.method is {} (an object)" in bad.json()["message"]
        # The scripted deployment is held to its own (azmlinfsrv's) document, as the no-code
        # one is in tests/service/test_service_openapi.py.
        base = endpoint.scoring_uri.rsplit("/score", 1)[0]
        code, generated, report = run_schemathesis(
            f"{endpoint.openapi_uri}?version=3", base, pinned, tmp_path, examples=50)
        logs = "" if code == 0 else ml.online_deployments.get_logs(
            name="scripted", endpoint_name="script-ep", lines=80)  # the script's traceback
        assert code == 0, report[-8000:] + logs
        assert generated >= 50, report[-4000:]
    finally:
        ml.online_endpoints.begin_delete("script-ep").result()


def jsonschema_errors(schema: dict, instance: object) -> list[str]:
    from jsonschema import Draft7Validator

    return [e.message for e in Draft7Validator(schema).iter_errors(instance)]


def test_generated_notebook_submits_the_script_as_a_command_job(
    job, tmp_path, monkeypatch, capsys
) -> None:
    """The generated notebook's "As a command job" cell, run as written with only the client
    construction changed: script.py runs in the child's conda environment and scores like it."""
    import json as _json
    import re

    from automl_local.data import read_table

    ml, name = job
    client, best, children = _children(ml, name)
    outputs = Path(client.download_artifacts(best, "outputs", str(tmp_path)))
    notebook = _json.loads((outputs / "generated_code" / "script_run_notebook.ipynb").read_text())
    cells = ["".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code"]
    submit = cells[-1]
    construction = "ml_client = MLClient.from_config(DefaultAzureCredential())"
    assert construction in submit
    read_table(ml.jobs.get(name).training_data.path).to_csv(tmp_path / "train.csv", index=False)
    monkeypatch.chdir(outputs / "generated_code")  # where the notebook sits
    namespace = {"training_dataset_uri": str(tmp_path / "train.csv")}
    exec(submit.replace(construction, "ml_client = ml"), {**namespace, "ml": ml})
    log = capsys.readouterr().out
    returned = ml.jobs.get(re.search(r"RunId: (\S+)", log)[1])
    assert returned.status == "Completed", log[-3000:]
    built = r"\[environment\] CliV2AnonymousEnvironment:\w+: (building|reusing)"
    assert re.search(built, log), log  # the child's conda environment, not this one
    score = float(re.search(r"validation AUC_weighted: ([0-9.]+)", log)[1])
    source = (outputs / "generated_code" / "script.py").read_text()
    child_score = float(children[best].data.tags["score"])
    if "stacks a meta-learner" in source:  # the script is the best non-stack child's
        child = re.search(r"this is the code of child (\d+)", source)[1]
        child_score = float(children[f"{name}_{child}"].data.tags["score"])
    assert abs(score - child_score) <= 0.002
