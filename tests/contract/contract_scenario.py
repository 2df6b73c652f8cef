"""The bank-marketing flow, written once against the ``MLClient`` surface.

Nothing here knows which backend it drives: it is the code a user writes,
with ``client`` from ``get_client("local" | "azure")``. Backend-specific
checks happen in the ``probe`` (see ``contract_probes``), called after each
step with what the step produced.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from automl_local.exceptions import NotFoundError

ENDPOINT = "bank-contract-ep"
DEPLOYMENT = "blue"
DATA_NAME = "bankmarketing-train"
MODEL_NAME = "bankmarketing-best"
# Small enough to finish in seconds locally; every other setting is the YAML's.
MAX_TRIALS = 3
TIMEOUT_MINUTES = 15


@dataclass
class ScenarioResult:
    """What the run produced, for assertions after the scenario."""

    job_name: str = ""
    model: Any = None
    predictions: list[Any] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)


def load_bank_job(yaml_path: Path, data_ref: str) -> Any:
    """The bank-marketing AutoML YAML, reading the registered data, with a small budget."""
    from azure.ai.ml import Input, load_job

    job = load_job(yaml_path)
    job.training_data = Input(type="mltable", path=data_ref)
    job.limits.max_trials = MAX_TRIALS
    job.limits.timeout_minutes = TIMEOUT_MINUTES
    return job


def request_body(rows: pd.DataFrame) -> dict[str, Any]:
    """Azure's MLflow request format (``input_data`` in pandas split orientation)."""
    split = json.loads(rows.to_json(orient="split", index=True))
    return {"input_data": {"columns": split["columns"], "index": split["index"],
                           "data": split["data"]}}


def run_bank_scenario(client: Any, probe: Any, *, data_folder: Path, yaml_path: Path,
                      sample: pd.DataFrame, workdir: Path) -> ScenarioResult:
    """register data -> AutoML job -> stream -> best model -> register -> endpoint (key)
    -> deployment (app insights) -> keys -> invoke -> logs -> regenerate key -> delete."""
    from azure.ai.ml.entities import Data, ManagedOnlineDeployment, ManagedOnlineEndpoint, Model

    result = ScenarioResult()

    data = client.data.create_or_update(
        Data(name=DATA_NAME, version="1", type="mltable", path=str(data_folder),
             description="bank marketing training data")
    )
    assert (data.name, str(data.version)) == (DATA_NAME, "1")
    probe.data_registered(data)
    result.steps.append("data")

    job = load_bank_job(yaml_path, f"azureml:{DATA_NAME}:1")
    submitted = client.jobs.create_or_update(job)
    result.job_name = str(submitted.name)
    assert submitted.type == "automl"
    probe.job_submitted(submitted, job)
    result.steps.append("job")

    client.jobs.stream(result.job_name)
    finished = client.jobs.get(result.job_name)
    assert str(getattr(finished.status, "value", finished.status)) == "Completed"
    probe.job_finished(finished)
    result.steps.append("stream")

    download = workdir / "download"
    client.jobs.download(result.job_name, output_name="best_model", download_path=download)
    best_folder = download / "named-outputs" / "best_model"
    assert (best_folder / "MLmodel").is_file(), sorted(p.name for p in download.rglob("*"))
    import mlflow.pyfunc

    offline = list(mlflow.pyfunc.load_model(str(best_folder)).predict(sample))
    assert len(offline) == len(sample) and set(map(str, offline)) <= {"yes", "no"}
    probe.model_downloaded(result.job_name, best_folder)
    result.steps.append("best_model")

    model = client.models.create_or_update(
        Model(name=MODEL_NAME, path=f"azureml://jobs/{result.job_name}/outputs/best_model",
              type="mlflow_model", description="best model of the bank-marketing AutoML job")
    )
    result.model = model
    assert model.name == MODEL_NAME and model.version
    probe.model_registered(model, result.job_name)
    result.steps.append("register")

    endpoint = ManagedOnlineEndpoint(name=ENDPOINT, auth_mode="key",
                                     description="bank marketing scoring")
    created = client.online_endpoints.begin_create_or_update(endpoint).result()
    assert created.name == ENDPOINT and created.auth_mode == "key"
    assert created.scoring_uri
    probe.endpoint_created(created)
    result.steps.append("endpoint")

    deployment = ManagedOnlineDeployment(
        name=DEPLOYMENT, endpoint_name=ENDPOINT, model=f"azureml:{model.name}:{model.version}",
        instance_type="Standard_DS3_v2", instance_count=1, app_insights_enabled=True,
    )
    deployed = client.online_deployments.begin_create_or_update(deployment).result()
    assert deployed.name == DEPLOYMENT and deployed.app_insights_enabled is True
    probe.deployment_created(deployed)
    endpoint.traffic = {DEPLOYMENT: 100}
    routed = client.online_endpoints.begin_create_or_update(endpoint).result()
    assert routed.traffic == {DEPLOYMENT: 100}
    probe.traffic_set(routed)
    result.steps.append("deployment")

    keys = client.online_endpoints.get_keys(ENDPOINT)
    assert keys.primary_key and keys.secondary_key and keys.primary_key != keys.secondary_key
    probe.keys_listed(ENDPOINT, keys)
    result.steps.append("keys")

    request_file = workdir / "sample-request.json"
    request_file.write_text(json.dumps(request_body(sample)), encoding="utf-8")
    answer = client.online_endpoints.invoke(
        endpoint_name=ENDPOINT, request_file=str(request_file), deployment_name=DEPLOYMENT
    )
    assert isinstance(answer, str)
    result.predictions = json.loads(answer)
    assert len(result.predictions) == len(sample)
    assert set(map(str, result.predictions)) <= {"yes", "no"}
    probe.invoked(ENDPOINT, DEPLOYMENT, request_file, keys.primary_key)
    result.steps.append("invoke")

    logs = client.online_deployments.get_logs(DEPLOYMENT, ENDPOINT, lines=50)
    assert isinstance(logs, str) and logs.strip()
    probe.logs_read(ENDPOINT, DEPLOYMENT, logs)
    result.steps.append("logs")

    client.online_endpoints.begin_regenerate_keys(ENDPOINT, key_type="primary").result()
    renewed = client.online_endpoints.get_keys(ENDPOINT)
    assert renewed.primary_key != keys.primary_key
    assert renewed.secondary_key == keys.secondary_key
    probe.keys_regenerated(ENDPOINT, keys, renewed)
    again = client.online_endpoints.invoke(
        endpoint_name=ENDPOINT, request_file=str(request_file), deployment_name=DEPLOYMENT
    )
    assert len(json.loads(again)) == len(sample)
    probe.invoked(ENDPOINT, DEPLOYMENT, request_file, renewed.primary_key)
    result.steps.append("regenerate")

    client.online_endpoints.begin_delete(name=ENDPOINT).result()
    with pytest.raises(NotFoundError):
        client.online_endpoints.get(ENDPOINT)
    probe.endpoint_deleted(ENDPOINT)
    result.steps.append("delete")
    return result
