"""The job's MLflow model loads in a fresh virtual environment without automl-local.

Real: a real job, a real ``python -m venv``, a real install of ``requirements.txt`` from the
package index this machine is configured with (by uv, as the environment builder installs: a
cold pip install took 83 s of CI's 20 minutes). Nothing of the project is installed or
importable in that environment.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import venv

import numpy as np
import pandas as pd
import pytest
from _testdata import make_frame
from uv import find_uv_bin

from automl_local.engine import run_job
from automl_local.packaging import model_requirements, save_mlflow_model
from automl_local.settings import JobSettings, LimitSettings, TrainingSettings
from automl_local.workspace import Workspace

LOAD_SCRIPT = """
import importlib.util, json, sys
import mlflow.pyfunc, pandas as pd
assert importlib.util.find_spec("automl_local") is None, "automl_local is importable"
model = mlflow.pyfunc.load_model(sys.argv[1])
rows = pd.read_json(sys.argv[2], orient="split")
print(json.dumps({
    "labels": [str(v) for v in model.predict(rows)],
    "proba": model.get_raw_model().predict_proba(rows).tolist(),
}))
"""


@pytest.fixture(scope="module")
def job_model(tmp_path_factory):
    """A fitted model of LightGBM member(s) from a real job: boosters, featurizer, labels."""
    import mlflow.sklearn

    tmp = tmp_path_factory.mktemp("portable")
    path = tmp / "train.csv"
    make_frame().to_csv(path, index=False)
    s = JobSettings(
        name="portable_job",
        target_column_name="y",
        training_data=str(path),
        limits=LimitSettings(max_trials=4, timeout_minutes=3),
        training=TrainingSettings(
            allowed_training_algorithms=["LightGBM"],
            enable_stack_ensemble=False,
            enable_model_explainability=False,
        ),
    )
    ws = Workspace(tmp / "ws")
    run_job(s, ws, emit=lambda e: None)
    model = mlflow.sklearn.load_model(str(ws.job_dir(s.name) / "outputs" / "best_model"))
    return model, tmp


def test_requirements_are_public_and_name_only_the_learners_used(job_model) -> None:
    model, _ = job_model
    reqs = model_requirements(model)
    names = {r.split("==")[0] for r in reqs}
    assert "automl-local" not in names
    assert {"scikit-learn", "pandas", "numpy", "cloudpickle", "mlflow"} <= names
    assert "lightgbm" in names  # the members are LightGBM boosters
    assert not names & {"xgboost", "xgboost-cpu"}  # no XGBoost member: not required


def test_model_loads_in_a_fresh_venv_without_automl_local(job_model) -> None:
    model, tmp = job_model
    rows = make_frame(30, seed=5).drop(columns="y")
    out = save_mlflow_model(model, rows.head(20), tmp / "mlflow-model")
    requirements = (out / "requirements.txt").read_text()
    assert "automl" not in requirements and "automl" not in (out / "conda.yaml").read_text()
    env_dir = tmp / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    t0 = time.monotonic()
    subprocess.run(
        [find_uv_bin(), "pip", "install", "-q", "--python", python,
         "-r", out / "requirements.txt"],
        check=True, env=env, cwd=tmp, timeout=900,
    )  # fmt: skip
    print(f"fresh venv install: {time.monotonic() - t0:.1f} s")
    (tmp / "load.py").write_text(LOAD_SCRIPT)
    rows_path = tmp / "rows.json"
    rows.to_json(rows_path, orient="split", index=False)
    rows = pd.read_json(rows_path, orient="split")  # the very values the venv reads
    proc = subprocess.run(
        [python, tmp / "load.py", out, rows_path],
        capture_output=True, text=True, env=env, cwd=tmp, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    np.testing.assert_allclose(got["proba"], model.predict_proba(rows), rtol=0, atol=1e-12)
    assert got["labels"] == [str(v) for v in model.predict(rows)]
    assert sys.version_info[:2] == tuple(
        int(x) for x in (out / "python_env.yaml").read_text().split("python: ")[1].split(".")[:2]
    )
