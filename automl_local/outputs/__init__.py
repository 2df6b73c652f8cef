"""What a finished AutoML job writes for its children, in Azure's layout.

:func:`write_job_outputs` is the engine's one call (the bounding rule is in its
module); the parts:

* (the portable MLflow model itself is :mod:`automl_local.packaging`'s.)
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
    "onnx_inputs",
    "restrict_to_onnx",
    "to_onnx",
    "trials_chart",
    "write_child_outputs",
    "write_evaluation",
    "write_generated_code",
    "write_job_outputs",
]
