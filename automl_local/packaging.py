"""The best model as Azure ships it: an MLflow model (sklearn + pyfunc flavours).

Azure names a job's ``best_model`` output and its registered asset in a fixed
way and stores an MLflow model under the best child run; this module writes
that folder so the same ``mlflow.pyfunc.load_model`` / deployment code works
on either side. The job's orchestration (:mod:`automl_local.engine`) decides
when; this module only knows how.
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path
from typing import Any

import pandas as pd

from automl_local.model import AutoMLModel

__all__ = ["model_requirements", "registered_model_name", "save_mlflow_model"]

# What a deployment needs to load the model (automl-local brings the model class).
_MODEL_DISTRIBUTIONS = (
    "automl-local",
    "scikit-learn",
    "lightgbm",
    "xgboost-cpu",
    "xgboost",
    "pandas",
    "numpy",
    "cloudpickle",
    "mlflow",
)


def registered_model_name(job_name: str) -> str:
    """Azure names a job's best-model asset ``azureml_<job>_output_mlflow_log_model``."""
    return f"azureml_{job_name}_output_mlflow_log_model"


def save_mlflow_model(
    model: AutoMLModel,
    X: pd.DataFrame,
    out: Path,
    *,
    metadata: dict[str, Any],
) -> None:
    """Write ``model`` to ``out`` (replaced), with a signature and an example from ``X``.

    Serialized with cloudpickle, knowingly: MLflow 3's default (skops) refuses
    LightGBM/XGBoost types and our own model class. The model loads wherever
    automl-local and its learners are installed (the deployment's environment).
    """
    import mlflow.sklearn
    from mlflow.models import infer_signature

    if out.exists():
        shutil.rmtree(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    example = X.head(1)
    # The signature keeps the training dtypes: MLflow refuses int64 input for a
    # double column, so declaring integers as doubles would reject ordinary rows.
    sample = X.head(100)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MLflow's hint about integer columns and NaN
        signature = infer_signature(sample, model.predict(sample))
    mlflow.sklearn.save_model(
        model,
        str(out),
        serialization_format="cloudpickle",
        signature=signature,
        input_example=example,
        pyfunc_predict_fn="predict",
        pip_requirements=model_requirements(),
        metadata=metadata,
    )


def model_requirements() -> list[str]:
    """Pinned requirements of the model's environment (MLflow's own inference of them
    loads the model in a subprocess: seconds we would take from the job's budget)."""
    from importlib import metadata

    pins = []
    for dist in _MODEL_DISTRIBUTIONS:
        try:
            pins.append(f"{dist}=={metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            continue
    return pins
