"""What a finished AutoML job writes for its children, in Azure's layout.

* portable MLflow models (:func:`save_mlflow_model`): the project's classes are
  pickled by value and only public requirements are listed, so the model loads
  and serves where automl-local is not installed.
"""

from __future__ import annotations

from automl_local.outputs._child import CHILD_OUTPUT_FILES, write_child_outputs
from automl_local.outputs._portable import (
    model_requirements,
    pickled_by_value,
    save_mlflow_model,
)

__all__ = [
    "CHILD_OUTPUT_FILES",
    "model_requirements",
    "pickled_by_value",
    "save_mlflow_model",
    "write_child_outputs",
]
