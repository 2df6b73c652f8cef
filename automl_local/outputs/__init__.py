"""What a finished AutoML job writes for its children, in Azure's layout.

:func:`write_job_outputs` is the engine's one call; its module holds the bounding
rule (which children get ``outputs/``). The parts:

* a child's ``outputs/`` folder (:func:`write_child_outputs`): ``model.pkl``, the
  conda file, Azure's v1 and v2 scoring files and ``mlflow-model/``;
* evaluation (:func:`write_evaluation`, :func:`trials_chart`): Azure's
  ``confusion_matrix`` and ``accuracy_table`` artifacts and PNG charts;
* ONNX (:func:`to_onnx`, :func:`restrict_to_onnx`): the search keeps to
  :data:`ONNX_ALGORITHMS`, and the best model becomes one ONNX graph;
* generated training code (:func:`write_generated_code`): a standalone
  ``script.py`` and its notebook for the best child.

The portable MLflow model itself (classes pickled by value, public requirements)
is :mod:`automl_local.packaging`'s.
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
