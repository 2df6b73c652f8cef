"""One child run's ``outputs/`` folder, as Azure AutoML writes it.

``model.pkl``, ``conda_env_v_1_0_0.yml``, ``scoring_file_v_1_0_0.py``,
``scoring_file_v_2_0_0.py`` and ``mlflow-model/``. ``model.pkl`` is written
with cloudpickle, the project's classes by value, so ``joblib.load`` (what
Azure's scoring files call) opens it wherever the conda file's packages are
installed, automl-local or not.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pandas as pd

from automl_local.outputs._scoring import conda_env, scoring_file_v1, scoring_file_v2
from automl_local.packaging import model_requirements, pickled_by_value, save_mlflow_model

__all__ = ["CHILD_OUTPUT_FILES", "write_child_outputs"]

CHILD_OUTPUT_FILES = (
    "model.pkl",
    "conda_env_v_1_0_0.yml",
    "scoring_file_v_1_0_0.py",
    "scoring_file_v_2_0_0.py",
    "mlflow-model",
)


def write_child_outputs(
    model: Any,
    out: Path,
    *,
    sample: pd.DataFrame,
    classes: list[Any],
    run_id: str,
    metadata: dict[str, Any] | None = None,
    mlflow_model: bool = True,
) -> Path:
    """Write every file of :data:`CHILD_OUTPUT_FILES` for ``model`` into ``out`` (replaced).

    ``sample`` is a few raw training rows (their dtypes make the signature and the
    scoring files' input schema). ``mlflow_model=False`` leaves out ``mlflow-model/``
    (the best child's is the job's ``best_model``, saved and logged already).
    """
    import cloudpickle

    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    with pickled_by_value(), (out / "model.pkl").open("wb") as f:
        cloudpickle.dump(model, f)
    requirements = model_requirements(model)
    (out / "conda_env_v_1_0_0.yml").write_text(conda_env(requirements, "project_environment"))
    what = f"child run {run_id}"
    (out / "scoring_file_v_1_0_0.py").write_text(scoring_file_v1(sample, classes, what))
    (out / "scoring_file_v_2_0_0.py").write_text(scoring_file_v2(sample, classes, what))
    if mlflow_model:
        save_mlflow_model(model, sample, out / "mlflow-model", metadata=metadata)
    return out
