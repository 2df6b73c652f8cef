"""Published pipelines: batch endpoints with pipeline deployments, parameters, invocation."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from automl_local.backends.local.pipelines import (  # noqa: E402
    LocalBatchDeploymentOperations,
    LocalBatchEndpointOperations,
    coerce_parameters,
    invoke_published,
    publish_job,
)
from automl_local.backends.local.pipelines import describe_published as describe  # noqa: E402
from pipeline_testkit import load, nodes, wait_terminal, write_two_node_pipeline  # noqa: E402

from automl_local.exceptions import ConfigError, NotFoundError  # noqa: E402

PIPELINE_COMPONENT = """\
$schema: https://azuremlschemas.azureedge.net/latest/pipelineComponent.schema.json
name: echo_pc
version: 1
type: pipeline
inputs:
  greeting:
    type: string
  times:
    type: integer
    default: 2
outputs:
  said:
    type: uri_folder
jobs:
  say:
    type: command
    component:
      type: command
      command: >-
        for i in $(seq ${{inputs.times}}); do echo ${{inputs.greeting}}; done
        > ${{outputs.o}}/said.txt
      environment: azureml:env@latest
      inputs:
        greeting: {type: string}
        times: {type: integer}
      outputs:
        o: {type: uri_folder}
    inputs:
      greeting: ${{parent.inputs.greeting}}
      times: ${{parent.inputs.times}}
    outputs:
      o: ${{parent.outputs.said}}
"""


@pytest.fixture()
def ml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    from automl_local.backends import get_client

    monkeypatch.setenv("AUTOML_LOCAL_SERVER_AUTOSTART", "0")
    return get_client("local", workspace=tmp_path / "ws")


def test_publish_a_job_and_invoke_it_with_parameters(ml: Any, tmp_path: Path) -> None:
    path = write_two_node_pipeline(tmp_path / "p")
    job = ml.jobs.create_or_update(load(path))
    wait_terminal(ml, job.name)
    info = publish_job(ml, job.name, "kit-pipeline", description="the kit")
    assert info["default_deployment"] == "default" and info["source"] == {"job": job.name}
    assert info["parameters"]["tag"] == {"type": "string", "default": "first", "required": False}
    assert info["parameters"]["raw"]["type"] == "uri_file"
    assert info["server"].startswith("stopped")  # autostart is off in these tests

    run = invoke_published(ml, "kit-pipeline", parameters={"tag": "second"},
                           experiment_name="published")  # fmt: skip
    final = wait_terminal(ml, run.name)
    assert final["status"] == "Completed" and final["experiment_name"] == "published"
    assert final["origin"] == {
        "endpoint": "kit-pipeline",
        "deployment": "default",
        "via": "python",
    }
    assert not nodes(ml, run.name)["prep"]["reused"]  # the parameter changed prep's input
    report = ml.jobs.output_path(run.name, "report") / "lines"
    assert report.read_text().strip() == "5"

    again = invoke_published(ml, "kit-pipeline")  # the published defaults: all reused
    assert all(n["reused"] for n in wait_terminal(ml, again.name)["nodes"].values())

    with pytest.raises(
        ConfigError, match=r"unknown parameter 'tga'; this pipeline takes: raw, tag"
    ):
        invoke_published(ml, "kit-pipeline", parameters={"tga": "x"})
    with pytest.raises(NotFoundError, match=r"batch_endpoint 'nope' was not found"):
        invoke_published(ml, "nope")


def test_parameters_are_checked_by_type() -> None:
    data = {
        "type": "pipeline",
        "inputs": {"n": 3, "rate": 0.5, "flag": True, "name": "x",
                   "data": {"type": "uri_folder"}},
        "jobs": {"a": {"type": "command", "component": {
            "type": "command",
            "command": "echo ${{inputs.n}} ${{inputs.rate}} ${{inputs.flag}} ${{inputs.name}} "
                       "${{inputs.data}}",
            "inputs": {"n": {"type": "integer"}, "rate": {"type": "number"},
                       "flag": {"type": "boolean"}, "name": {"type": "string"},
                       "data": {"type": "uri_folder"}}},
            "inputs": {k: {"path": f"${{{{parent.inputs.{k}}}}}"}
                       for k in ("n", "rate", "flag", "name", "data")}}},
    }  # fmt: skip
    out = coerce_parameters(data, {"n": "7", "rate": "0.25", "flag": "false", "data": "/d"})
    assert out["inputs"]["n"] == 7 and out["inputs"]["rate"] == 0.25
    assert out["inputs"]["flag"] is False
    assert out["inputs"]["data"] == {"type": "uri_folder", "path": "/d"}
    for given, message in (
        ({"n": 1.5, "data": "/d"}, r"parameter 'n' must be an integer, got 1.5"),
        ({"n": True, "data": "/d"}, r"parameter 'n' must be an integer, got True"),
        ({"rate": "fast", "data": "/d"}, r"parameter 'rate' must be a number, got 'fast'"),
        ({"flag": "maybe", "data": "/d"}, r"parameter 'flag' must be true or false"),
        ({"data": 5}, r"parameter 'data' is a uri_folder input: give a path"),
        ({}, r"parameter 'data' is required \(uri_folder\) and has no default"),
    ):
        with pytest.raises(ConfigError, match=message):
            coerce_parameters(data, given)


def test_batch_endpoint_and_deployment_entities(ml: Any, tmp_path: Path) -> None:
    from azure.ai.ml import load_component
    from azure.ai.ml.entities import BatchEndpoint, PipelineComponentBatchDeployment

    endpoints = LocalBatchEndpointOperations(ml)
    deployments = LocalBatchDeploymentOperations(ml)
    endpoints.begin_create_or_update(BatchEndpoint(name="echoer", description="says")).result()
    (tmp_path / "pc.yml").write_text(PIPELINE_COMPONENT)
    component = load_component(str(tmp_path / "pc.yml"))
    deployment = PipelineComponentBatchDeployment(
        name="blue1", endpoint_name="echoer", component=component,
        settings={"continue_on_step_failure": False, "default_compute": "batch-cluster"},
    )  # fmt: skip
    deployments.begin_create_or_update(deployment).result()
    endpoint = endpoints.get("echoer")
    assert endpoint.defaults.deployment_name == "blue1"  # the first deployment became the default
    assert [d.name for d in deployments.list("echoer")] == ["blue1"]
    assert describe(ml, "echoer")["parameters"]["greeting"]["required"] is True

    with pytest.raises(ConfigError, match=r"parameter 'greeting' is required \(string\)"):
        endpoints.invoke("echoer")
    job = endpoints.invoke("echoer", inputs={"greeting": "hello", "times": 3})
    assert job.type == "pipeline"
    assert wait_terminal(ml, job.name)["status"] == "Completed"
    said = ml.jobs.output_path(job.name, "said") / "said.txt"
    assert said.read_text() == "hello\nhello\nhello\n"
    assert [j.name for j in endpoints.list_jobs("echoer")] == [job.name]
    assert [j.name for j in deployments.list_jobs("echoer", name="blue1")] == [job.name]

    with pytest.raises(ConfigError, match=r"deployment 'blue1' is the default of batch endpoint"):
        deployments.begin_delete("blue1", "echoer").result()
    with pytest.raises(NotFoundError, match=r"batch endpoint 'echoer' has no deployment 'green2'"):
        endpoints.invoke("echoer", deployment_name="green2", inputs={"greeting": "x"})
    endpoints.begin_delete("echoer").result()
    assert list(endpoints.list()) == []


def test_deployments_refuse_what_is_not_emulated(ml: Any) -> None:
    from azure.ai.ml.entities import BatchEndpoint, ModelBatchDeployment

    endpoints = LocalBatchEndpointOperations(ml)
    deployments = LocalBatchDeploymentOperations(ml)
    endpoints.begin_create_or_update(BatchEndpoint(name="scorer")).result()
    model_dep = ModelBatchDeployment(name="m", endpoint_name="scorer", model="azureml:m:1")
    with pytest.raises(ConfigError, match=r"Model batch deployments need --backend azure"):
        deployments.begin_create_or_update(model_dep).result()
    with pytest.raises(ConfigError, match=r"batch endpoint name 'x' is not valid"):
        endpoints.begin_create_or_update(BatchEndpoint(name="x")).result()
    with pytest.raises(NotFoundError, match=r"job_definition: job 'ghost' was not found"):
        publish_job(ml, "ghost", "scorer")
