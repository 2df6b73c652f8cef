"""What a finished local AutoML job leaves, read as an Azure user reads it.

One real job (generated data, a few trials, both ensembles) run through
``ml.jobs`` in a detached process, shared by the tests below: the registered
model is listed at once, the children's outputs have Azure's layout, and a
non-best child registers and serves.
"""

from __future__ import annotations

from pathlib import Path

import pytest
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
