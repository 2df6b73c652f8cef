"""The bank-marketing flows, written once against the ``MLClient`` surface.

Nothing here knows which backend it drives: it is the code a user writes,
with ``client`` from ``get_client("local" | "azure")``. Backend-specific
checks happen in the ``probe`` (see ``contract_probes``), called after each
step with what the step produced.

Two flows: :func:`run_bank_scenario` (data -> AutoML job -> model ->
online endpoint -> consume) and :func:`run_pipeline_scenario` (the same
training as a pipeline -> its child runs -> schedules -> publication
behind a batch endpoint -> a run through it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from automl_local.exceptions import ConfigError, NotFoundError

ENDPOINT = "bank-contract-ep"
DEPLOYMENT = "blue"
DATA_NAME = "bankmarketing-train"
MODEL_NAME = "bankmarketing-best"
# Small enough to finish in seconds locally; every other setting is the YAML's.
MAX_TRIALS = 3
TIMEOUT_MINUTES = 15
# The pipeline flow's names.
PIPELINE_NODES = ("prep_node", "train_node")
CRON_SCHEDULE = "contract-nightly"
RECURRENCE_SCHEDULE = "contract-weekly"
BATCH_ENDPOINT = "contract-pipeline-ep"
BATCH_DEPLOYMENT = "pipeline-v1"


@dataclass
class ScenarioResult:
    """What the run produced, for assertions after the scenario."""

    job_name: str = ""
    model: Any = None
    predictions: list[Any] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)
    runs: list[str] = field(default_factory=list)  # pipeline runs started by trigger / invoke


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

    events: list[dict[str, Any]] = []
    client.jobs.stream(result.job_name, printer=events.append)
    assert events[-1]["event"] == "status" and events[-1]["status"] == "Completed"
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
    summary = client.jobs.summary(result.job_name)
    assert summary["status"] == "Completed" and summary["type"] == "automl"
    assert summary["best_child_run_id"].startswith(f"{result.job_name}_")
    best_model = f"azureml://jobs/{result.job_name}/outputs/best_model"
    assert summary["outputs"]["best_model"] == best_model
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


# ---------------------------------------------------------------------- the pipeline flow


def _status(job: Any) -> str:
    return str(getattr(job.status, "value", job.status))


def load_pipeline(yaml_path: Path, data_folder: Path) -> Any:
    """The contract pipeline YAML, reading ``data_folder`` (an MLTable folder)."""
    from azure.ai.ml import Input, load_job

    job = load_job(yaml_path)
    job.inputs.raw_data = Input(type="mltable", path=str(data_folder))
    return job


def _follow(client: Any, name: str) -> Any:
    """Stream a run to its end; the finished job."""
    client.jobs.stream(name)
    finished = client.jobs.get(name)
    assert _status(finished) == "Completed", (name, _status(finished))
    return finished


def run_pipeline_scenario(client: Any, probe: Any, *, yaml_path: Path, data_folder: Path
                          ) -> ScenarioResult:
    """pipeline job (command -> AutoML) -> stream -> child runs -> cron + recurrence schedules
    -> trigger -> delete refused while enabled -> disable -> delete -> batch endpoint +
    pipeline deployment (from the job) -> invoke with a parameter -> delete."""
    from azure.ai.ml.constants import TimeZone
    from azure.ai.ml.entities import (
        BatchEndpoint,
        CronTrigger,
        JobSchedule,
        PipelineComponentBatchDeployment,
        RecurrencePattern,
        RecurrenceTrigger,
    )

    result = ScenarioResult()

    spec = load_pipeline(yaml_path, data_folder)
    submitted = client.jobs.create_or_update(spec)
    result.job_name = str(submitted.name)
    assert submitted.type == "pipeline"
    assert spec.settings.default_compute is None  # the caller's entity is left as it was
    assert spec.inputs.raw_data.path == str(data_folder)
    probe.pipeline_submitted(submitted, spec)
    result.steps.append("pipeline")

    finished = _follow(client, result.job_name)
    probe.pipeline_finished(finished)
    result.steps.append("stream")

    children = list(client.jobs.list(parent_job_name=result.job_name))
    assert sorted(c.display_name for c in children) == sorted(PIPELINE_NODES), children
    assert all(_status(c) == "Completed" for c in children)
    probe.children_listed(result.job_name, children)
    result.steps.append("children")

    cron = JobSchedule(
        name=CRON_SCHEDULE, display_name="contract pipeline, nightly",
        trigger=CronTrigger(expression="0 2 * * *", time_zone=TimeZone.UTC),
        create_job=load_pipeline(yaml_path, data_folder),
    )
    weekly = JobSchedule(
        name=RECURRENCE_SCHEDULE,
        trigger=RecurrenceTrigger(
            frequency="week", interval=1, time_zone=TimeZone.UTC,
            schedule=RecurrencePattern(hours=[2, 14], minutes=[0], week_days=["monday"]),
        ),
        create_job=f"azureml:{result.job_name}",  # a new run of the pipeline job above
    )
    created = [client.schedules.begin_create_or_update(s).result() for s in (cron, weekly)]
    assert [s.name for s in created] == [CRON_SCHEDULE, RECURRENCE_SCHEDULE]
    assert all(s.is_enabled for s in created)
    assert created[0].trigger.expression == "0 2 * * *"
    assert created[1].trigger.frequency == "week"
    assert created[1].trigger.schedule.hours == [2, 14]
    probe.schedules_created(cron, weekly)
    result.steps.append("schedules")

    fired = client.schedules.trigger(CRON_SCHEDULE)
    assert fired.job_name
    result.runs.append(str(fired.job_name))
    probe.schedule_triggered(CRON_SCHEDULE, fired.job_name)
    _follow(client, str(fired.job_name))
    probe.run_finished(str(fired.job_name))
    result.steps.append("trigger")

    with pytest.raises(ConfigError, match=r"(?i)only (a )?disabled schedules? can be deleted"):
        client.schedules.begin_delete(CRON_SCHEDULE).result()
    assert client.schedules.get(CRON_SCHEDULE).is_enabled
    probe.enabled_delete_refused(CRON_SCHEDULE)
    result.steps.append("refuse_delete")

    for name in (CRON_SCHEDULE, RECURRENCE_SCHEDULE):
        disabled = client.schedules.begin_disable(name).result()
        assert disabled.is_enabled is False
        assert client.schedules.get(name).is_enabled is False
    probe.schedules_disabled((CRON_SCHEDULE, RECURRENCE_SCHEDULE))
    result.steps.append("disable")

    for name in (CRON_SCHEDULE, RECURRENCE_SCHEDULE):
        client.schedules.begin_delete(name).result()
        with pytest.raises(NotFoundError):
            client.schedules.get(name)
    probe.schedules_deleted((CRON_SCHEDULE, RECURRENCE_SCHEDULE))
    result.steps.append("delete_schedules")

    endpoint = BatchEndpoint(name=BATCH_ENDPOINT, description="the contract pipeline, published")
    client.batch_endpoints.begin_create_or_update(endpoint).result()
    deployment = PipelineComponentBatchDeployment(
        name=BATCH_DEPLOYMENT, endpoint_name=BATCH_ENDPOINT, job_definition=result.job_name,
        description="published from the contract pipeline run",
    )
    deployed = client.batch_deployments.begin_create_or_update(deployment).result()
    assert deployed.name == BATCH_DEPLOYMENT
    endpoint.defaults = {"deployment_name": BATCH_DEPLOYMENT}
    published = client.batch_endpoints.begin_create_or_update(endpoint).result()
    assert published.defaults.deployment_name == BATCH_DEPLOYMENT
    probe.pipeline_published(published, deployed, result.job_name)
    result.steps.append("publish")

    # a parameter as plain value, the same as the published run's: every step is reused locally
    run = client.batch_endpoints.invoke(endpoint_name=BATCH_ENDPOINT,
                                        inputs={"drop_columns": "balance"})
    assert run.name
    result.runs.append(str(run.name))
    probe.batch_invoked(BATCH_ENDPOINT, run)
    _follow(client, str(run.name))
    probe.run_finished(str(run.name))
    result.steps.append("invoke")

    client.batch_endpoints.begin_delete(name=BATCH_ENDPOINT).result()
    with pytest.raises(NotFoundError):
        client.batch_endpoints.get(BATCH_ENDPOINT)
    probe.batch_endpoint_deleted(BATCH_ENDPOINT)
    result.steps.append("delete_endpoint")
    return result
