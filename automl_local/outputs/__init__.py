"""What a finished AutoML job writes for its children, in Azure's layout.

:func:`write_job_outputs` is the engine's one call (the bounding rule is in its
module); the parts:

* portable MLflow models (:func:`save_mlflow_model`): the project's classes are
  pickled by value and only public requirements are listed, so the model loads
  and serves where automl-local is not installed.
"""

from __future__ import annotations

from automl_local.outputs._child import CHILD_OUTPUT_FILES, write_child_outputs
from automl_local.outputs._codegen import CodeSpec, build_code_spec, write_generated_code
from automl_local.outputs._evaluation import (
    CHART_FILES,
    accuracy_table,
    confusion_matrix,
    trials_chart,
    write_evaluation,
)
from automl_local.outputs._job import TOP_SINGLES, JobOutputs, write_job_outputs
from automl_local.outputs._onnx import ONNX_ALGORITHMS, onnx_inputs, restrict_to_onnx, to_onnx
from automl_local.outputs._portable import (
    model_requirements,
    pickled_by_value,
    save_mlflow_model,
)

__all__ = [
    "CHART_FILES",
    "CHILD_OUTPUT_FILES",
    "ONNX_ALGORITHMS",
    "TOP_SINGLES",
    "CodeSpec",
    "JobOutputs",
    "accuracy_table",
    "build_code_spec",
    "confusion_matrix",
    "model_requirements",
    "onnx_inputs",
    "pickled_by_value",
    "restrict_to_onnx",
    "save_mlflow_model",
    "to_onnx",
    "trials_chart",
    "write_child_outputs",
    "write_evaluation",
    "write_generated_code",
    "write_job_outputs",
]
