"""A child's outputs folder: every Azure file, the scoring files' contract, portability."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import numpy as np
import pytest
from _testdata import make_frame

from automl_local.featurize import Featurizer
from automl_local.model import AutoMLModel, BoosterClassifier
from automl_local.outputs import CHILD_OUTPUT_FILES, write_child_outputs

BLOCK_AUTOML = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "automl_local":
            raise ImportError("automl_local is blocked in this process")
sys.meta_path.insert(0, Block())
"""


@pytest.fixture(scope="module")
def model_and_rows():
    from lightgbm import LGBMClassifier

    frame = make_frame()
    X, y = frame.drop(columns="y"), (frame["y"] == "yes").to_numpy(dtype=int)
    featurizer = Featurizer(family="tree").fit(X)
    clf = LGBMClassifier(n_estimators=20, verbose=-1).fit(featurizer.transform(X), y)
    model = AutoMLModel(
        featurizers={"tree": featurizer},
        members=[("tree", BoosterClassifier.from_estimator(clf))],
        weights=[1.0],
        classes=["no", "yes"],
        columns=list(X.columns),
        algorithm="LightGBM",
    )
    return model, X


@pytest.fixture(scope="module")
def outputs(model_and_rows, tmp_path_factory):
    model, X = model_and_rows
    out = tmp_path_factory.mktemp("child") / "outputs"
    return write_child_outputs(model, out, sample=X.head(20), classes=["no", "yes"], run_id="j_3")


def test_every_azure_file_is_written(outputs) -> None:
    assert sorted(p.name for p in outputs.iterdir()) == sorted(CHILD_OUTPUT_FILES)
    assert (outputs / "mlflow-model" / "MLmodel").is_file()
    conda = (outputs / "conda_env_v_1_0_0.yml").read_text()
    assert "inference-schema" in conda and "lightgbm==" in conda and "automl" not in conda


def _load_scoring(path, monkeypatch, name):
    monkeypatch.setenv("AZUREML_MODEL_DIR", str(path.parent))
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.init()
    return module


def test_scoring_file_v2_predicts_probabilities_and_describes_columns(
    outputs, model_and_rows, monkeypatch
) -> None:
    from inference_schema.schema_util import get_input_schema

    model, X = model_and_rows
    scoring = _load_scoring(outputs / "scoring_file_v_2_0_0.py", monkeypatch, "score_v2")
    rows = X.head(5)
    body = {"Inputs": {"data": json.loads(rows.to_json(orient="records"))}}
    labels = scoring.run(**body, GlobalParameters={"method": "predict"})
    assert labels == {"Results": model.predict(rows).tolist()}
    proba = scoring.run(**body, GlobalParameters={"method": "predict_proba"})
    np.testing.assert_allclose(proba["Results"], model.predict_proba(rows), atol=1e-12)
    with pytest.raises(Exception, match="Invalid predict method argument received: 'nope'"):
        scoring.run(**body, GlobalParameters={"method": "nope"})
    schema = json.dumps(get_input_schema(scoring.run))
    for column in X.columns:
        assert f'"{column}"' in schema  # Swagger describes every training column


def test_scoring_file_v1_returns_labels(outputs, model_and_rows, monkeypatch) -> None:
    model, X = model_and_rows
    scoring = _load_scoring(outputs / "scoring_file_v_1_0_0.py", monkeypatch, "score_v1")
    out = json.loads(scoring.run(json.loads(X.head(3).to_json(orient="records"))))
    assert out == {"result": model.predict(X.head(3)).tolist()}


def test_model_pkl_loads_with_joblib_where_automl_local_cannot_be_imported(
    outputs, model_and_rows, tmp_path
) -> None:
    model, X = model_and_rows
    rows = tmp_path / "rows.pkl"
    X.head(10).to_pickle(rows)
    code = BLOCK_AUTOML + (
        "import joblib, json, pandas as pd\n"
        f"m = joblib.load({str(outputs / 'model.pkl')!r})\n"
        f"print(json.dumps(m.predict_proba(pd.read_pickle({str(rows)!r})).tolist()))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    np.testing.assert_allclose(json.loads(proc.stdout), model.predict_proba(X.head(10)))


def test_bounded_children_ensemble_members_come_free_extras_need_budget(model_and_rows) -> None:
    """Which children get outputs/: the best, its ensemble's members, top singles in budget."""
    import time
    from types import SimpleNamespace

    from lightgbm import LGBMClassifier

    from automl_local.ensemble import Candidate
    from automl_local.outputs._job import JobOutputs, children_with_models

    model, X = model_and_rows
    featurizer = model.featurizers["tree"]
    M = featurizer.transform(X)
    y = np.asarray(model.predict(X) == "yes", dtype=int)
    p_a = {"n_estimators": 10}
    p_b = {"n_estimators": 30}
    fit = {k: BoosterClassifier.from_estimator(LGBMClassifier(**p, verbose=-1).fit(M, y))
           for k, p in (("a", p_a), ("b", p_b))}  # fmt: skip
    oof = np.column_stack([1 - y, y]).astype(float)
    singles = [
        Candidate(0, "LightGBM", 0.9, seconds=0.1, members=[("LightGBM", p_a)], oof=oof),
        Candidate(1, "LightGBM", 0.8, seconds=0.1, members=[("LightGBM", p_b)], oof=oof),
        Candidate(2, "LightGBM", 0.7, seconds=0.1,
                  members=[("LightGBM", {"n_estimators": 5})], oof=oof),
    ]  # fmt: skip
    best = Candidate(3, "VotingEnsemble", 0.95, members=[s.members[0] for s in singles[:2]],
                     weights=[1.0, 1.0], oof=oof, ensembled_iterations=[0, 1])  # fmt: skip
    ensemble = AutoMLModel(featurizers={"tree": featurizer},
                           members=[("tree", fit["a"]), ("tree", fit["b"])], weights=[1.0, 1.0],
                           classes=["no", "yes"], columns=list(X.columns))  # fmt: skip
    data = SimpleNamespace(X=X, y=y, w=None, classes=["no", "yes"], notes=[])
    shared = SimpleNamespace(matrices={"tree": M}, categorical={"tree": [3]}, n_jobs=1)

    def ctx(deadline):
        return JobOutputs(SimpleNamespace(seed=0), data, {"tree": featurizer}, shared,
                          [*singles, best], best, ensemble, None, deadline)  # fmt: skip

    roomy = ctx(time.monotonic() + 600)
    chosen = children_with_models(roomy)
    assert sorted(chosen) == [0, 1, 2, 3]
    np.testing.assert_allclose(chosen[0].predict_proba(X), fit["a"].predict_proba(M))
    np.testing.assert_allclose(chosen[1].predict_proba(X), fit["b"].predict_proba(M))
    assert chosen[3] is ensemble
    tight = ctx(time.monotonic())  # the budget is spent: no refit, and the notes say so
    assert sorted(children_with_models(tight)) == [0, 1, 3]
    assert "child 2 (LightGBM) has no outputs/ model" in tight.notes[0]
