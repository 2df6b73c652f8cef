"""Small generated data and specs for tests (importable from any test folder)."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["TINY_JOB_YAML", "make_frame"]


def make_frame(n: int = 400, *, seed: int = 0, classes: int = 2, label: str = "y") -> pd.DataFrame:
    """A learnable mixed-type table: numbers, a category, a few missing cells, string labels."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    x2 = rng.normal(size=n)
    color = rng.choice(["red", "green", "blue"], size=n)
    signal = x1 + 0.5 * x2 + np.where(color == "red", 0.8, 0.0) + rng.normal(scale=0.5, size=n)
    if classes == 2:
        y = np.where(signal > 0.3, "yes", "no")
    else:
        y = np.array(["low", "mid", "high"])[np.digitize(signal, [-0.4, 0.8])]
    frame = pd.DataFrame({"x1": x1, "x2": x2, "color": color, "age": rng.integers(18, 90, n)})
    frame.loc[rng.choice(n, size=n // 20, replace=False), "x2"] = np.nan
    frame[label] = y
    return frame


TINY_JOB_YAML = """\
$schema: https://azuremlsdk2.blob.core.windows.net/preview/0.0.1/autoMLJob.schema.json
type: automl
experiment_name: tiny
task: classification
target_column_name: y
training_data: {{path: {data}, type: mltable}}
limits:
  timeout_minutes: 3
  max_trials: {max_trials}
training:
  allowed_training_algorithms: [LightGBM, LogisticRegression]
  enable_stack_ensemble: false
"""


def save_sklearn_model(pipe, frame: pd.DataFrame, path):
    """Save a fitted scikit-learn model as the engine saves its best model (MLflow, cloudpickle).

    Explicit requirements skip MLflow's requirement inference, a subprocess that
    re-imports the model and costs ~10 s per model.
    """
    import warnings

    import mlflow.sklearn
    from mlflow.models import infer_signature

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlflow.sklearn.save_model(
            pipe,
            str(path),
            serialization_format="cloudpickle",
            signature=infer_signature(frame, pipe.predict(frame)),
            input_example=frame.head(1),
            pip_requirements=["scikit-learn", "pandas", "cloudpickle"],
        )
    return path
