"""Pipeline jobs, schedules and batch endpoints through the adapter, checked on the wire.

The contract suite runs the whole flow; these tests pin what the adapter
adds to azure-ai-ml for it (copies, default compute, MLTable conversion,
literal parameters, clean invocation headers) and the errors it translates.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from automl_local.exceptions import ConfigError, NotFoundError

PIPELINE = """\
type: pipeline
experiment_name: adapter-pipelines
inputs:
  raw: {type: mltable, path: ./data/bank.csv}
  notes: {type: uri_file, path: ./data/bank.csv}
  folder: {type: mltable, path: ./ready}
jobs:
  prep:
    type: command
    code: ./src
    command: python prep.py --raw ${{inputs.raw}} --out ${{outputs.out}}
    environment: azureml:AzureML-sklearn-1.5@latest
    inputs:
      raw: ${{parent.inputs.raw}}
    outputs:
      out: {type: mltable}
  bound:
    type: automl
    task: classification
    target_column_name: y
    training_data: ${{parent.jobs.prep.outputs.out}}
    limits: {max_trials: 1}
  direct:
    type: automl
    task: classification
    target_column_name: y
    training_data: {type: mltable, path: ./data/bank.csv}
    limits: {max_trials: 1}
"""


@pytest.fixture
def project(tmp_path: Path, csv_file: Path) -> Path:
    """A pipeline folder: pipeline.yml, src/prep.py, data/bank.csv, ready/ (an MLTable)."""
    folder = tmp_path / "project"
    (folder / "src").mkdir(parents=True)
    (folder / "src" / "prep.py").write_text("print('prep')\n")
    (folder / "data").mkdir()
    (folder / "data" / "bank.csv").write_bytes(csv_file.read_bytes())
    (folder / "ready").mkdir()
    (folder / "ready" / "MLTable").write_text("paths: [{file: ./a.csv}]\n")
    (folder / "ready" / "a.csv").write_text("y\nno\n")
    (folder / "pipeline.yml").write_text(PIPELINE)
    return folder


def _load(project: Path) -> Any:
    from azure.ai.ml import load_job

    return load_job(project / "pipeline.yml")


def _job_body(fake: Any, name: str) -> dict[str, Any]:
    return fake.transport.one("PUT", rf"/jobs/{name}$").json()["properties"]


def _uploaded(fake: Any, suffix: str) -> list[bytes]:
    return [r.body for r in fake.transport.requests
            if r.method == "PUT" and r.host.endswith(".blob.core.windows.net")
            and r.path.endswith(suffix) and not r.query.get("comp")]


def _client_with_compute(fake: Any, compute: str | None) -> Any:
    from automl_local.backends import get_client
    from automl_local.backends.azure.testing import FakeCredential

    return get_client("azure", subscription_id=fake.sub, resource_group_name=fake.rg,
                      workspace_name=fake.ws, credential=FakeCredential(), compute=compute,
                      transport=fake.transport, show_progress=False)


# -- pipeline jobs ---------------------------------------------------------------------------

def test_the_callers_pipeline_job_is_not_changed(fake: Any, project: Path,
                                                 clean_env: Path) -> None:
    from azure.ai.ml.entities import CommandComponent

    client = _client_with_compute(fake, "cpu-cluster")
    spec = _load(project)
    job = client.jobs.create_or_update(spec)
    assert _job_body(fake, job.name)["settings"]["default_compute"] == (
        f"{fake.workspace_path}/computes/cpu-cluster")
    assert spec.settings.default_compute is None
    assert isinstance(spec.jobs["prep"].component, CommandComponent)  # not an ARM id
    assert spec.inputs.raw.path == "./data/bank.csv"
    assert spec.jobs["direct"].training_data.path == "./data/bank.csv"
    assert spec.name is None


def test_a_pipelines_own_default_compute_is_kept(fake: Any, project: Path,
                                                 clean_env: Path) -> None:
    spec = _load(project)
    spec.settings.default_compute = "gpu-cluster"
    job = _client_with_compute(fake, "cpu-cluster").jobs.create_or_update(spec)
    assert _job_body(fake, job.name)["settings"]["default_compute"] == (
        f"{fake.workspace_path}/computes/gpu-cluster")


def test_without_a_default_compute_a_pipeline_is_serverless(client: Any, fake: Any,
                                                            project: Path) -> None:
    spec = _load(project)
    job = client.jobs.create_or_update(spec)
    assert _job_body(fake, job.name)["settings"]["default_compute"] == (
        f"{fake.workspace_path}/computes/serverless")  # what azure-ai-ml makes of "serverless"
    assert spec.settings.default_compute is None
    assert not fake.transport.find("GET", r"/computes/")


def test_validation_sees_the_pipeline_as_it_will_be_sent(client: Any, fake: Any,
                                                         project: Path) -> None:
    raw = client.ml_client.jobs.validate(_load(project))  # azure-ai-ml alone
    assert not raw.passed and "Compute not set" in str(raw.error_messages)
    spec = _load(project)
    result = client.jobs.validate(spec)
    assert result.passed, result.error_messages  # serverless, as it would be submitted
    assert spec.settings.default_compute is None
    assert not fake.transport.requests  # validated locally: nothing sent


def test_local_csv_inputs_become_mltables_where_azure_needs_them(client: Any, fake: Any,
                                                                 project: Path) -> None:
    job = client.jobs.create_or_update(_load(project))
    body = _job_body(fake, job.name)
    local_upload = "azureml://datastores/workspaceblobstore/paths/LocalUpload/"
    # an mltable pipeline input that is a CSV file: an MLTable folder around it
    assert body["inputs"]["raw"]["jobInputType"] == "mltable"
    assert body["inputs"]["raw"]["uri"].startswith(local_upload)
    assert body["inputs"]["raw"]["uri"].endswith("/raw")
    # a uri_file input stays the file; an MLTable folder stays itself
    assert body["inputs"]["notes"]["jobInputType"] == "uri_file"
    assert body["inputs"]["notes"]["uri"].endswith("/bank.csv")
    assert body["inputs"]["folder"]["uri"].endswith("/ready")
    # an AutoML node reading a local CSV: an MLTable, bound through a pipeline input (see
    # test_an_automl_nodes_own_data_is_bound_through_a_pipeline_input); a bound node: untouched
    assert body["jobs"]["direct"]["training_data"] == "${{parent.inputs.direct_training_data}}"
    direct = body["inputs"]["direct_training_data"]
    assert direct["jobInputType"] == "mltable"
    assert direct["uri"].startswith(local_upload)
    assert direct["uri"].endswith("/training_data")
    assert body["jobs"]["bound"]["training_data"] == "${{parent.jobs.prep.outputs.out}}"
    mltables = [yaml.safe_load(b) for b in _uploaded(fake, "/MLTable")]
    assert {"file": "./bank.csv"} in [m["paths"][0] for m in mltables]
    assert all("read_delimited" in m["transformations"][0] for m in mltables
               if m["paths"] == [{"file": "./bank.csv"}])
    assert not fake.transport.unrouted


def test_an_automl_nodes_own_data_is_bound_through_a_pipeline_input(client: Any, fake: Any,
                                                                    project: Path) -> None:
    """azure-ai-ml 1.35 would send a node's ``Input`` as the text of a Python dict."""
    from azure.ai.ml import Input

    spec = _load(project)
    spec.jobs["direct"].training_data = Input(type="mltable", path="azureml:bank:2")
    spec.jobs["direct"].validation_data = Input(type="mltable", path="azureml:bank-valid:1")
    job = client.jobs.create_or_update(spec)
    body = _job_body(fake, job.name)
    node = body["jobs"]["direct"]
    assert node["training_data"] == "${{parent.inputs.direct_training_data}}"
    assert node["validation_data"] == "${{parent.inputs.direct_validation_data}}"
    assert body["inputs"]["direct_training_data"] == {
        "jobInputType": "mltable", "uri": f"{fake.workspace_path}/data/bank/versions/2"}
    assert body["inputs"]["direct_validation_data"]["uri"].endswith("/data/bank-valid/versions/1")
    assert set(spec.inputs) == {"raw", "notes", "folder"}  # the caller's job has no new inputs
    assert isinstance(spec.jobs["direct"].training_data, Input)


def test_a_dsl_pipeline_is_copied_and_submitted(client: Any, fake: Any, project: Path) -> None:
    from azure.ai.ml import Input, automl, command, dsl

    prep = command(code=str(project / "src"), command="python prep.py --out ${{outputs.out}}",
                   environment="azureml:AzureML-sklearn-1.5@latest",
                   outputs={"out": {"type": "mltable"}})

    csv = str(project / "data" / "bank.csv")

    @dsl.pipeline(experiment_name="adapter-dsl")
    def train(raw):  # type: ignore[no-untyped-def]  # azure-ai-ml reads annotations as types
        prepared = prep()
        bound = automl.classification(training_data=prepared.outputs.out,
                                      target_column_name="y", primary_metric="accuracy")
        bound.set_limits(max_trials=1)
        direct = automl.classification(training_data=Input(type="mltable", path=csv),
                                       target_column_name="y", primary_metric="accuracy")
        direct.set_limits(max_trials=1)

    spec = train(raw=Input(type="mltable", path=csv))
    job = client.jobs.create_or_update(spec)
    body = _job_body(fake, job.name)
    assert body["jobType"] == "Pipeline"
    assert body["inputs"]["raw"]["jobInputType"] == "mltable"
    assert body["inputs"]["raw"]["uri"].endswith("/raw")  # the CSV, as an MLTable folder
    assert body["jobs"]["bound"]["training_data"] == "${{parent.jobs.prepared.outputs.out}}"
    assert body["jobs"]["direct"]["training_data"] == "${{parent.inputs.direct_training_data}}"
    assert body["inputs"]["direct_training_data"]["uri"].endswith("/training_data")
    assert spec.inputs.raw.path == csv
    assert set(spec.inputs) == {"raw"}


def test_child_runs_are_listed_with_their_node_names(client: Any, fake: Any,
                                                     project: Path) -> None:
    job = client.jobs.create_or_update(_load(project))
    children = list(client.jobs.list(parent_job_name=job.name))
    assert sorted(c.display_name for c in children) == ["bound", "direct", "prep"]
    fake.transport.one("GET", rf"/history/v1\.0{fake.workspace_path}/runs/{job.name}/children$")


def test_children_of_an_unknown_job_are_not_found(client: Any) -> None:
    with pytest.raises(NotFoundError, match=r"jobs\.list\(\): .*Could not find jobs 'nope'"):
        list(client.jobs.list(parent_job_name="nope"))


# -- schedules -------------------------------------------------------------------------------

def _schedule(project: Path, name: str = "nightly") -> Any:
    from azure.ai.ml.entities import CronTrigger, JobSchedule

    return JobSchedule(name=name, trigger=CronTrigger(expression="0 3 * * *"),
                       create_job=_load(project))


def test_a_schedules_job_is_prepared_like_a_submitted_job(fake: Any, project: Path,
                                                          clean_env: Path) -> None:
    client = _client_with_compute(fake, "cpu-cluster")
    schedule = _schedule(project)
    created = client.schedules.begin_create_or_update(schedule).result()
    assert created.is_enabled is True
    action = fake.transport.one("PUT", r"/schedules/nightly$").json()["properties"]["action"]
    job = action["jobDefinition"]
    assert job["settings"]["default_compute"] == f"{fake.workspace_path}/computes/cpu-cluster"
    assert job["jobs"]["direct"]["training_data"] == "${{parent.inputs.direct_training_data}}"
    assert job["inputs"]["direct_training_data"]["jobInputType"] == "mltable"
    assert job["inputs"]["raw"]["uri"].endswith("/raw")
    assert schedule.create_job.settings.default_compute is None  # the caller's is unchanged
    assert schedule.create_job.inputs.raw.path == "./data/bank.csv"


def test_mlclient_level_create_routes_a_schedule_through_the_group(fake: Any, project: Path,
                                                                  clean_env: Path) -> None:
    client = _client_with_compute(fake, "cpu-cluster")
    client.begin_create_or_update(_schedule(project, "via-client")).result()
    job = fake.transport.one("PUT", r"/schedules/via-client$").json()["properties"]["action"][
        "jobDefinition"]
    assert job["settings"]["default_compute"].endswith("/computes/cpu-cluster")


def test_other_entities_go_to_mlclient_itself(client: Any, fake: Any) -> None:
    from azure.ai.ml.entities import AmlCompute

    with pytest.raises(NotFoundError, match=r"ml_client\.begin_create_or_update\(AmlCompute "
                                            r"'cpu'\)"):
        client.begin_create_or_update(AmlCompute(name="cpu", size="Standard_DS3_v2")).result()
    assert fake.transport.find("PUT", r"/computes/cpu$")


def test_a_scheduled_automl_job_is_refused_with_the_pipeline_form(client: Any,
                                                                  automl_job: Any) -> None:
    from azure.ai.ml.entities import CronTrigger, JobSchedule

    schedule = JobSchedule(name="retrain", trigger=CronTrigger(expression="0 3 * * *"),
                           create_job=automl_job("azureml:bank:1"))
    with pytest.raises(ConfigError, match=r"schedule 'retrain': create_job is a "
                                          r"ClassificationJob, and Azure schedules create "
                                          r"pipeline and command jobs.*one node of a pipeline"):
        client.schedules.begin_create_or_update(schedule)


def test_an_enabled_schedule_cannot_be_deleted(client: Any, project: Path) -> None:
    client.schedules.begin_create_or_update(_schedule(project)).result()
    with pytest.raises(ConfigError, match=r"schedules\.begin_delete\('nightly'\): .*Only "
                                          r"disabled schedules can be deleted"):
        client.schedules.begin_delete("nightly").result()
    client.schedules.begin_disable("nightly").result()
    client.schedules.begin_delete("nightly").result()
    with pytest.raises(NotFoundError, match=r"schedules\.get\('nightly'\)"):
        client.schedules.get("nightly")


def test_a_disabled_schedule_is_not_triggered(client: Any, project: Path) -> None:
    client.schedules.begin_create_or_update(_schedule(project)).result()
    client.schedules.begin_disable("nightly").result()
    with pytest.raises(Exception, match=r"is disabled; enable it to trigger it"):
        client.schedules.trigger("nightly")


def test_schedule_history_is_local_only(client: Any) -> None:
    with pytest.raises(ConfigError, match=r"schedules\.history is local-only .* list the jobs"):
        client.schedules.history("nightly")


# -- batch endpoints -------------------------------------------------------------------------

def _publish(client: Any, project: Path, endpoint: str = "pipe-ep") -> str:
    from azure.ai.ml.entities import BatchEndpoint, PipelineComponentBatchDeployment

    job = client.jobs.create_or_update(_load(project))
    client.batch_endpoints.begin_create_or_update(
        BatchEndpoint(name=endpoint, defaults={"deployment_name": "v1"})).result()
    client.batch_deployments.begin_create_or_update(PipelineComponentBatchDeployment(
        name="v1", endpoint_name=endpoint, job_definition=job.name)).result()
    return str(job.name)


def test_an_unsubmitted_job_definition_is_refused(client: Any, project: Path) -> None:
    from azure.ai.ml.entities import PipelineComponentBatchDeployment

    deployment = PipelineComponentBatchDeployment(name="v1", endpoint_name="pipe-ep",
                                                  job_definition=_load(project))
    with pytest.raises(ConfigError, match=r"job_definition is a pipeline job that was never "
                                          r"submitted.*job_definition=job\.name"):
        client.batch_deployments.begin_create_or_update(deployment)


def test_invoke_sends_plain_parameters_as_literal_inputs(client: Any, fake: Any,
                                                         project: Path) -> None:
    from azure.ai.ml import Input

    _publish(client, project)
    remote = Input(type="uri_folder", path="azureml://datastores/workspaceblobstore/paths/x/")
    run = client.batch_endpoints.invoke(endpoint_name="pipe-ep", inputs={
        "name": "bank", "trials": 3, "ratio": 0.5, "force": True, "data": remote})
    sent = fake.transport.one("POST", r"^/jobs$")
    assert sent.host == f"pipe-ep.{fake.location}.inference.ml.azure.com"
    assert sent.json()["properties"]["inputData"] == {
        "name": {"jobInputType": "Literal", "value": "bank"},
        "trials": {"jobInputType": "Literal", "value": 3},
        "ratio": {"jobInputType": "Literal", "value": 0.5},
        "force": {"jobInputType": "Literal", "value": True},
        "data": {"jobInputType": "UriFolder",
                 "uri": "azureml://datastores/workspaceblobstore/paths/x/"},
    }
    assert client.jobs.get(run.name).status == "Completed"


def test_invoking_an_unknown_batch_endpoint_is_not_found(client: Any) -> None:
    with pytest.raises(NotFoundError, match=r"batch_endpoints\.invoke\('nope'\)"):
        client.batch_endpoints.invoke(endpoint_name="nope")


def test_no_header_of_an_online_invocation_leaks_into_the_next(client: Any, fake: Any,
                                                               project: Path,
                                                               tmp_path: Path) -> None:
    """azure-ai-ml keeps invoke headers in one shared dict; each call must start clean."""
    from automl_local.backends.azure.testing import FakeCredential
    from azure.ai.ml.constants._endpoint import EndpointInvokeFields
    from azure.ai.ml.entities import ManagedOnlineDeployment, ManagedOnlineEndpoint

    client.online_endpoints.begin_create_or_update(
        ManagedOnlineEndpoint(name="online-ep", auth_mode="key")).result()
    client.online_deployments.begin_create_or_update(ManagedOnlineDeployment(
        name="blue", endpoint_name="online-ep", model="azureml:bank-best:1",
        instance_type="Standard_DS3_v2", instance_count=1)).result()
    request = tmp_path / "request.json"
    request.write_text('{"input_data": {"columns": ["age"], "index": [0], "data": [[30]]}}')
    client.online_endpoints.invoke(endpoint_name="online-ep", request_file=str(request),
                                   deployment_name="blue")
    _publish(client, project)
    client.batch_endpoints.invoke(endpoint_name="pipe-ep")
    sent = fake.transport.one("POST", r"^/jobs$")
    assert "azureml-model-deployment" not in sent.headers
    assert FakeCredential.claims(sent.headers["Authorization"])["aud"] == "https://ml.azure.com"
    assert EndpointInvokeFields.DEFAULT_HEADER == {"Content-Type": "application/json"}


def test_published_pipelines_publish_makes_endpoint_deployment_and_default(
    client: Any, fake: Any, project: Path
) -> None:
    job = client.jobs.create_or_update(_load(project))
    info = client.published_pipelines.publish(job.name, "pub-ep", description="nightly")
    assert info["name"] == "pub-ep" and info["default_deployment"] == "default"
    assert info["deployments"] == ["default"] and info["description"] == "nightly"
    deployment = fake.transport.one("PUT", r"/batchEndpoints/pub-ep/deployments/default$")
    assert deployment.json()["properties"]["description"] == "nightly"
    endpoint_puts = [r for r in fake.transport.requests
                     if r.method == "PUT" and r.path.endswith("/batchEndpoints/pub-ep")]
    assert endpoint_puts[-1].json()["properties"]["defaults"] == {"deploymentName": "default"}
    assert client.published_pipelines.describe("pub-ep") == info
