"""Pipeline jobs through ``ml_client.jobs`` on the local backend (YAML and @dsl.pipeline)."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from pipeline_testkit import (  # noqa: E402
    load,
    nodes,
    wait_terminal,
    write_two_node_pipeline,
)

from automl_local.exceptions import ConfigError, DataError, JobFailedError, NotFoundError  # noqa: E402


@pytest.fixture()
def ml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    from automl_local.backends import get_client

    monkeypatch.setenv("AUTOML_LOCAL_SERVER_AUTOSTART", "0")
    return get_client("local", workspace=tmp_path / "ws")


def test_yaml_pipeline_runs_streams_and_lists_its_nodes(
    ml: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from azure.ai.ml.entities import PipelineJob

    path = write_two_node_pipeline(tmp_path / "p")
    job = ml.jobs.create_or_update(load(path), experiment_name="kit-exp")
    assert isinstance(job, PipelineJob) and job.status in ("NotStarted", "Running")
    ml.jobs.stream(job.name)
    out = capsys.readouterr().out
    assert "prep" in out and "report" in out and "pipeline Completed" in out
    got = ml.jobs.get(job.name)
    assert got.status == "Completed" and got.experiment_name == "kit-exp"
    assert set(got.jobs) == {"prep", "report"}
    children = list(ml.jobs.list(parent_job_name=job.name))
    assert [c.display_name for c in children] == ["prep", "report"]
    assert all(c.status == "Completed" for c in children)
    assert children[0].properties["azureml.nodeid"] == "prep"
    # pipeline outputs: the report node's output is published as `report`
    report = ml.jobs.output_path(job.name, "report") / "lines"
    assert report.read_text().strip() == "5"  # a, b, c, tag=first, helper line
    ml.jobs.download(job.name, output_name="report", download_path=tmp_path / "dl")
    assert (tmp_path / "dl" / "named-outputs" / "report" / "lines").read_text().strip() == "5"
    # the node saw the runner's environment; the curated environment is this interpreter
    log = Path(children[1].properties["automl_local.log"]).read_text()
    assert "env=local" in log and "curated Azure environment" in log
    # the pipeline is listed; its nodes are not top-level jobs
    assert [j.name for j in ml.jobs.list()] == [job.name]
    record = ml.workspace.catalogue.get("job", job.name)
    assert any("default_compute" in w for w in record["warnings"])


def test_rerun_reuses_and_changed_input_reruns_downstream(ml: Any, tmp_path: Path) -> None:
    path = write_two_node_pipeline(tmp_path / "p")
    first = ml.jobs.create_or_update(load(path))
    assert wait_terminal(ml, first.name)["status"] == "Completed"

    second = ml.jobs.create_or_update(load(path))
    assert wait_terminal(ml, second.name)["status"] == "Completed"
    reused = nodes(ml, second.name)
    assert reused["prep"]["reused"] and reused["report"]["reused"]
    assert reused["prep"]["reused_from"] == f"{first.name}_prep"
    child = next(iter(ml.jobs.list(parent_job_name=second.name)))
    assert child.properties["azureml.isreused"] == "true"
    assert child.properties["azureml.reusedrunid"] == f"{first.name}_prep"
    assert child.properties["azureml.reusedpipelinerunid"] == first.name

    (tmp_path / "p" / "raw.txt").write_text("a\n")  # the input's content changed
    third = ml.jobs.create_or_update(load(path))
    assert wait_terminal(ml, third.name)["status"] == "Completed"
    states = nodes(ml, third.name)
    assert not states["prep"]["reused"] and not states["report"]["reused"]
    assert (ml.jobs.output_path(third.name, "report") / "lines").read_text().strip() == "3"

    # the code snapshot is taken at submission: a later code edit is a change too
    (tmp_path / "p" / "src" / "helper.txt").write_text("new helper\nsecond line\n")
    fourth = ml.jobs.create_or_update(load(path))
    assert wait_terminal(ml, fourth.name)["status"] == "Completed"
    assert not nodes(ml, fourth.name)["prep"]["reused"]

    # settings.force_rerun runs everything again
    forced = ml.jobs.create_or_update(load(path, **{"settings.force_rerun": True}))
    assert wait_terminal(ml, forced.name)["status"] == "Completed"
    assert not any(n["reused"] for n in nodes(ml, forced.name).values())


def test_a_failing_node_is_named_with_its_log_tail(ml: Any, tmp_path: Path) -> None:
    path = write_two_node_pipeline(tmp_path / "p")
    job = load(path, **{"jobs.prep.command": "echo preparing... && ls /no/such/dir"})
    job = ml.jobs.create_or_update(job)
    with pytest.raises(JobFailedError) as info:
        ml.jobs.stream(job.name)
    message = str(info.value)
    assert f"pipeline job '{job.name}' failed: node 'prep' failed" in message
    assert "exited with code 2" in message and "preparing..." in message
    assert "/no/such/dir" in message  # the log tail
    states = nodes(ml, job.name)
    assert states["report"]["status"] == "NotStarted"


def test_dsl_pipeline_runs(ml: Any, tmp_path: Path) -> None:
    from azure.ai.ml import Input, Output, command, dsl
    from azure.ai.ml.entities import AmlCompute

    ml.begin_create_or_update(AmlCompute(name="cpu", max_instances=1)).result()  # as on Azure

    (tmp_path / "in.txt").write_text("x\ny\n")
    shout = command(
        command="tr a-z A-Z < ${{inputs.text}} > ${{outputs.loud}}/out.txt",
        environment="azureml:AzureML-sklearn-1.5:1",
        inputs={"text": Input(type="uri_file")},
        outputs={"loud": Output(type="uri_folder")},
    )

    # No annotations: with `from __future__ import annotations` they are strings, which
    # azure-ai-ml's DSL cannot turn into pipeline inputs.
    @dsl.pipeline(experiment_name="dsl-exp", default_compute="cpu")
    def loud_pipeline(text):  # type: ignore[no-untyped-def]
        step = shout(text=text)
        return {"loud": step.outputs.loud}

    job = loud_pipeline(text=Input(type="uri_file", path=str(tmp_path / "in.txt")))
    job = ml.jobs.create_or_update(job)
    assert wait_terminal(ml, job.name)["status"] == "Completed"
    assert (ml.jobs.output_path(job.name, "loud") / "out.txt").read_text() == "X\nY\n"
    ml.jobs.download(job.name, output_name="loud", download_path=tmp_path / "dl")
    assert (tmp_path / "dl" / "named-outputs" / "loud" / "out.txt").exists()


def test_cancel_a_running_pipeline(ml: Any, tmp_path: Path) -> None:
    path = write_two_node_pipeline(tmp_path / "p")
    job = ml.jobs.create_or_update(load(path, **{"jobs.prep.command": "sleep 60"}))
    deadline = time.monotonic() + 30
    while nodes(ml, job.name).get("prep", {}).get("status") != "Running":
        assert time.monotonic() < deadline, "prep never started"
        time.sleep(0.2)
    ml.jobs.begin_cancel(job.name).result()
    assert ml.jobs.get(job.name).status == "Canceled"
    assert nodes(ml, job.name)["prep"]["status"] == "Canceled"


@pytest.mark.parametrize(
    ("override", "error", "message"),
    [
        ({"jobs.prep.inputs.raw": "${{parent.jobs.report.outputs.lines}}"}, ConfigError,
         r"the pipeline has a cycle: (prep -> report -> prep|report -> prep -> report)"),
        ({"jobs.report.inputs.data": "${{parent.jobs.ghost.outputs.x}}"}, Exception,
         r"ghost"),
        ({"inputs.raw.path": "./missing.txt"}, DataError,
         r"input 'raw': input path './missing.txt' was not found"),
    ],
)  # fmt: skip
def test_bad_pipelines_fail_at_submission(
    ml: Any, tmp_path: Path, override: dict[str, Any], error: type[Exception], message: str
) -> None:
    path = write_two_node_pipeline(tmp_path / "p")
    with pytest.raises(error, match=message):
        ml.jobs.create_or_update(load(path, **override))
    assert ml.workspace.catalogue.list("job") == []


def test_code_folder_removed_after_loading_is_named(ml: Any, tmp_path: Path) -> None:
    import shutil

    path = write_two_node_pipeline(tmp_path / "p")
    job = load(path)
    shutil.rmtree(tmp_path / "p" / "src")
    with pytest.raises(ConfigError, match=r"node 'prep': its code folder .*src' does not exist"):
        ml.jobs.create_or_update(job)


def test_missing_required_input_and_unknown_node_type(ml: Any, tmp_path: Path) -> None:
    folder = tmp_path / "p"
    write_two_node_pipeline(folder)
    (folder / "component.yml").write_text(
        "name: needs_raw\ntype: command\ninputs:\n  raw:\n    type: uri_file\n"
        "command: cat ${{inputs.raw}}\nenvironment: azureml:AzureML-sklearn-1.5:1\n"
    )
    (folder / "missing.yml").write_text(
        "type: pipeline\njobs:\n  a:\n    type: command\n    component: file:./component.yml\n"
    )
    with pytest.raises(ConfigError, match=r"node 'a' input 'raw' is required but not bound"):
        ml.jobs.create_or_update(load(folder / "missing.yml"))
    (folder / "spark.yml").write_text(
        "type: pipeline\njobs:\n  s:\n    type: spark\n    code: ./src\n    entry:\n"
        "      file: run.py\n    conf:\n      spark.driver.cores: 1\n"
        "      spark.driver.memory: 2g\n      spark.executor.cores: 1\n"
        "      spark.executor.memory: 2g\n      spark.executor.instances: 1\n"
        "    resources:\n      instance_type: standard_e4s_v3\n      runtime_version: '3.3'\n"
    )
    with pytest.raises(ConfigError, match=r"node 's' has type 'spark' \(Spark steps"):
        ml.jobs.create_or_update(load(folder / "spark.yml"))


def test_unknown_output_and_job_names(ml: Any, tmp_path: Path) -> None:
    path = write_two_node_pipeline(tmp_path / "p")
    job = ml.jobs.create_or_update(load(path))
    wait_terminal(ml, job.name)
    with pytest.raises(NotFoundError, match=r"has no output 'nope'; its outputs are: report"):
        ml.jobs.output_path(job.name, "nope")
    with pytest.raises(NotFoundError, match=r"job 'ghost' was not found"):
        ml.jobs.get("ghost")
