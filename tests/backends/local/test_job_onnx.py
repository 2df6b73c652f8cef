"""``enable_onnx_compatible_models: true`` as the Azure notebook sets it: the search keeps to
convertible algorithms (and says so), and the best child's ``outputs/model.onnx`` scores as
the model does."""

from __future__ import annotations

import numpy as np
import pytest
from _testdata import make_frame
from automl_local.backends import get_client
from azure.ai.ml import Input, automl

from automl_local.exceptions import ConfigError


def _spec(data, algorithms):
    spec = automl.classification(
        training_data=Input(type="mltable", path=str(data)),
        target_column_name="y",
        primary_metric="AUC_weighted",
        experiment_name="onnx",
    )
    spec.set_limits(max_trials=3, timeout_minutes=3)
    spec.set_training(allowed_training_algorithms=algorithms, enable_onnx_compatible_models=True)
    return spec


@pytest.fixture(scope="module")
def ml_data(tmp_path_factory):
    from automl_local.data import write_mltable

    tmp = tmp_path_factory.mktemp("onnx")
    frame = make_frame()
    frame.loc[::13, "color"] = None
    return get_client("local", workspace=tmp / "ws"), write_mltable(frame, tmp / "train")


def test_onnx_job_skips_non_convertible_and_its_model_matches(ml_data, capsys) -> None:
    import mlflow.sklearn
    import onnxruntime as ort
    from mlflow import MlflowClient

    from automl_local.outputs import onnx_inputs

    ml, data = ml_data
    returned = ml.jobs.create_or_update(_spec(data, ["LightGBM", "RandomForest"]))
    ml.jobs.stream(returned.name)
    out = capsys.readouterr().out
    assert "skipped RandomForest: no ONNX converter (enable_onnx_compatible_models)" in out
    job = ml.jobs.get(returned.name)
    assert job.status == "Completed"
    client = MlflowClient(tracking_uri=ml.workspace.tracking_uri)
    best = client.get_run(returned.name).data.tags["automl_best_child_run_id"]
    onnx_path = client.download_artifacts(best, "outputs/model.onnx")
    model = mlflow.sklearn.load_model(str(ml.workspace.job_dir(returned.name) / "outputs"
                                          / "best_model"))  # fmt: skip
    from automl_local.data import read_table

    rows = read_table(str(data)).drop(columns="y")  # 400 rows: 10-fold CV validates every row
    session = ort.InferenceSession(onnx_path)
    labels, proba = session.run(["label", "probabilities"], onnx_inputs(model, rows))
    np.testing.assert_allclose(proba, model.predict_proba(rows), rtol=0, atol=1e-5)
    assert list(labels) == list(model.predict(rows))


def test_only_non_convertible_algorithms_fail_before_the_job_starts(ml_data) -> None:
    ml, data = ml_data
    with pytest.raises(ConfigError, match="enable_onnx_compatible_models: true leaves no "
                       "algorithm to try: RandomForest, DecisionTree have no ONNX converter"):
        ml.jobs.create_or_update(_spec(data, ["RandomForest", "DecisionTree"]))
    assert list(ml.jobs.list()) == [] or all(j.status != "Running" for j in ml.jobs.list())
