"""``ml.jobs`` on the local backend: YAML in, detached job process, stream, download, resume."""

import json
import time
from pathlib import Path

import pytest
from _testdata import TINY_JOB_YAML, make_frame
from automl_local.backends import get_client
from azure.ai.ml import Input, automl, load_job

from automl_local.exceptions import (
    AlreadyExistsError,
    ConfigError,
    DataError,
    JobFailedError,
    NotFoundError,
)


@pytest.fixture
def ml(tmp_path):
    return get_client("local", workspace=tmp_path / "ws")


def _wait(ml, name, predicate, timeout=240):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting on job {name}: {ml.jobs.get(name).status}")


def test_yaml_job_runs_streams_and_downloads(ml, tiny_job_yaml, tmp_path, capsys):
    returned = ml.jobs.create_or_update(load_job(tiny_job_yaml), experiment_name="ops")
    assert returned.status in ("Starting", "Running")
    assert (
        returned.outputs["best_model"].path == f"azureml://jobs/{returned.name}/outputs/best_model"
    )
    ml.jobs.stream(returned.name)
    out = capsys.readouterr().out
    assert f"RunId: {returned.name}" in out and "Status: Completed" in out
    job = ml.jobs.get(returned.name)
    assert job.status == "Completed" and job.experiment_name == "ops"
    assert job.properties["automl_best_child_run_id"].startswith(returned.name)
    assert returned.name in [j.name for j in ml.jobs.list()]
    ml.jobs.download(returned.name, output_name="best_model", download_path=tmp_path / "dl")
    assert (tmp_path / "dl" / "named-outputs" / "best_model" / "MLmodel").exists()
    ml.jobs.download(returned.name, download_path=tmp_path / "dl")
    assert (
        json.loads((tmp_path / "dl" / "artifacts" / "outputs" / "result.json").read_text())[
            "status"
        ]
        == "Completed"
    )
    with pytest.raises(AlreadyExistsError, match="already exists and has completed"):
        job = load_job(tiny_job_yaml)
        job.name = returned.name
        ml.jobs.create_or_update(job)


def test_python_entity_job(ml, tiny_mltable):
    job = automl.classification(
        training_data=Input(type="mltable", path=str(tiny_mltable)),
        target_column_name="y",
        primary_metric="accuracy",
        n_cross_validations=3,
    )
    job.set_limits(max_trials=2, timeout_minutes=2)
    job.set_training(
        allowed_training_algorithms=["LogisticRegression"], enable_vote_ensemble=False
    )
    returned = ml.jobs.create_or_update(job)
    ml.jobs.stream(returned.name, printer=lambda e: None)
    got = ml.jobs.get(returned.name)
    assert str(got.primary_metric.value) == "Accuracy"
    assert ml.jobs.result(returned.name)["validation"] == "3-fold cross-validation"


def _yaml(tmp_path, tiny_mltable, **replace):
    text = TINY_JOB_YAML.format(data=tiny_mltable, max_trials=2)
    for old, new in replace.items():
        text = text.replace(old, new)
    path = tmp_path / "bad.yml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        (
            {"target_column_name: y": "target_column_name: label"},
            DataError,
            "target_column_name 'label' is not a column",
        ),
        (
            {
                "allowed_training_algorithms: [LightGBM, LogisticRegression]": (
                    "allowed_training_algorithms: [LightGBM]\n"
                    "  blocked_training_algorithms: [LightGBM]"
                )
            },
            ConfigError,
            "no training algorithm is left",
        ),
        (
            {"max_trials: 2": "max_trials: 0"},
            ConfigError,
            "limits.max_trials must be an integer >= 1",
        ),
    ],
)
def test_bad_specs_fail_at_submission_and_leave_nothing(
    ml, tmp_path, tiny_mltable, change, error, match
):
    with pytest.raises(error, match=match):
        ml.jobs.create_or_update(load_job(_yaml(tmp_path, tiny_mltable, **change)))
    assert list(ml.jobs.list()) == []


@pytest.mark.parametrize(
    ("frame_change", "match"),
    [
        (lambda f: f.assign(y="yes"), "single class"),
        (lambda f: f.assign(y=None), "target column 'y'"),
        (lambda f: f.head(0), "no rows|empty"),
        (
            lambda f: f.assign(age=[str(a) if i != 5 else "abc" for i, a in enumerate(f["age"])]),
            "column 'age' is numeric but holds text that is not a number: 'abc'",
        ),
    ],
)
def test_bad_data_is_named(ml, tmp_path, frame_change, match):
    from automl_local.data import write_mltable

    folder = write_mltable(frame_change(make_frame()), tmp_path / "bad-data")
    with pytest.raises(DataError, match=match):
        ml.jobs.create_or_update(load_job(_yaml(tmp_path, folder)))
    assert list(ml.jobs.list()) == []


def test_missing_training_data(ml, tmp_path):
    with pytest.raises(DataError, match="was not found"):
        ml.jobs.create_or_update(load_job(_yaml(tmp_path, tmp_path / "nowhere")))


def test_unknown_job_name(ml):
    with pytest.raises(NotFoundError, match="job 'nope' was not found"):
        ml.jobs.get("nope")


def test_cancel_ends_the_job(ml, tmp_path, tiny_mltable):
    path = _yaml(
        tmp_path,
        tiny_mltable,
        **{"max_trials: 2": "max_trials: 200", "timeout_minutes: 3": "timeout_minutes: 10"},
    )
    name = ml.jobs.create_or_update(load_job(path)).name
    _wait(ml, name, lambda: ml.jobs.get(name).status == "Running")
    ml.jobs.begin_cancel(name).result()
    assert ml.jobs.get(name).status == "Canceled"
    with pytest.raises(JobFailedError, match="ended Canceled"):
        ml.jobs.stream(name, printer=lambda e: None)


def test_compute_is_resolved_and_bounds_concurrency(ml, tmp_path, tiny_mltable):
    from azure.ai.ml.entities import AmlCompute
    from azure.core.exceptions import ResourceNotFoundError

    path = _yaml(
        tmp_path,
        tiny_mltable,
        **{"experiment_name: tiny": "experiment_name: tiny\ncompute: azureml:cpu-cluster"},
    )
    with pytest.raises(ResourceNotFoundError, match="compute 'cpu-cluster' was not found"):
        ml.jobs.create_or_update(load_job(path))
    ml.begin_create_or_update(AmlCompute(name="cpu-cluster", max_instances=1)).result()
    job = load_job(path)
    job.limits.max_concurrent_trials = 4
    name = ml.jobs.create_or_update(job).name
    warnings = ml.workspace.catalogue.get("job", name)["warnings"]
    assert any("max_instances=1" in w and "at most 1 concurrent" in w for w in warnings)
    spec = json.loads((ml.workspace.job_dir(name) / "spec.json").read_text())
    assert spec["limits"]["max_concurrent_trials"] == 1
    ml.jobs.begin_cancel(name).result()
    assert Path(ml.workspace.job_dir(name)).exists()
