"""Azure AutoML's scoring files and conda environment for one child's ``model.pkl``.

Azure writes ``scoring_file_v_1_0_0.py`` (``run(data)``, a table in, labels out) and
``scoring_file_v_2_0_0.py`` (``run(Inputs, GlobalParameters)``, where
``GlobalParameters.method`` picks ``predict`` or ``predict_proba``), both with
``inference-schema`` decorators built from a sample of the training columns so that
the endpoint's Swagger document describes every column and its type. One addition
to Azure's v2 file: ``method`` is declared with its two values (a small
``StandardPythonParameterType`` subclass adds the ``enum``), so the document says
which strings ``run()`` takes (Azure's says any string, and ``run()`` raises on
others), and ``Results`` is declared as labels or lists of probabilities (Azure's
says labels, which ``predict_proba``'s answer is not). The Azure
AutoML notebook deploys ``model.pkl`` with ``scoring_file_v_2_0_0.py`` and
``conda_env_v_1_0_0.yml``; these files keep that contract, with no ``azureml``
import, so they also run under a plain ``azureml-inference-server-http``.
"""

from __future__ import annotations

import platform
from typing import Any

import pandas as pd

__all__ = ["conda_env", "data_sample_code", "scoring_file_v1", "scoring_file_v2"]

_HEADER = '''\
"""Scoring script for {what} (Azure AutoML scoring-file contract, written by automl-local).

init() loads model.pkl from $AZUREML_MODEL_DIR; run() scores. The inference-schema
decorators describe the input columns, so the endpoint's Swagger lists them.
"""
import json
import logging
import os

import joblib
import numpy as np
import pandas as pd
from inference_schema.parameter_types.numpy_parameter_type import NumpyParameterType
from inference_schema.parameter_types.pandas_parameter_type import PandasParameterType
from inference_schema.parameter_types.standard_py_parameter_type import (
    StandardPythonParameterType,
)
from inference_schema.schema_decorators import input_schema, output_schema

logger = logging.getLogger("automl_local.scoring")
data_sample = PandasParameterType({sample})
'''

_INIT = '''

def _model_path():
    """model.pkl under AZUREML_MODEL_DIR (a registered model folder holds it, maybe nested)."""
    root = os.getenv("AZUREML_MODEL_DIR", ".")
    for folder, _, files in os.walk(root):
        if "model.pkl" in files:
            return os.path.join(folder, "model.pkl")
    raise FileNotFoundError(f"no model.pkl under AZUREML_MODEL_DIR={{root!r}}")


def init():
    global model
    path = _model_path()
    logger.info("Loading model from %s", path)
    model = joblib.load(path)
'''

_RUN_V1 = '''
output_sample = NumpyParameterType(np.array({label}))


@input_schema("data", data_sample)
@output_schema(output_sample)
def run(data):
    try:
        result = model.predict(data)
        return json.dumps({{"result": result.tolist()}})
    except Exception as exc:
        return json.dumps({{"error": str(exc)}})
'''

_RUN_V2 = '''

class OneOfStrings(StandardPythonParameterType):
    """A string parameter that takes one of ``values``: the Swagger says which (``enum``)."""

    def __init__(self, values):
        super().__init__(values[0])
        self.values = list(values)

    def input_to_swagger(self):
        schema = super().input_to_swagger()
        schema["enum"] = self.values
        return schema


input_sample = StandardPythonParameterType({{"data": data_sample}})
method_sample = OneOfStrings(["predict", "predict_proba"])
sample_global_params = StandardPythonParameterType({{"method": method_sample}})


class LabelsOrProbabilities(NumpyParameterType):
    """``Results``: a label per row (``predict``) or a list of probabilities per row."""

    def input_to_swagger(self):
        schema = super().input_to_swagger()
        probabilities = {{"type": "array", "items": {{"type": "number"}}}}
        schema["items"] = {{"anyOf": [schema["items"], probabilities]}}
        return schema


result_sample = LabelsOrProbabilities(np.array({label}))
output_sample = StandardPythonParameterType({{"Results": result_sample}})


@input_schema("GlobalParameters", sample_global_params, convert_to_provided_type=False)
@input_schema("Inputs", input_sample)
@output_schema(output_sample)
def run(Inputs, GlobalParameters={{"method": "predict"}}):
    data = Inputs["data"]
    method = GlobalParameters.get("method", None)
    if method == "predict_proba":
        result = model.predict_proba(data)
    elif method == "predict":
        result = model.predict(data)
    else:
        raise Exception(
            f"Invalid predict method argument received: {{method!r}}. "
            "Use GlobalParameters.method 'predict' or 'predict_proba'."
        )
    if isinstance(result, pd.DataFrame):
        result = result.values
    return {{"Results": result.tolist()}}
'''


def _series(s: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(s):
        return "pd.Series([False], dtype=\"bool\")"
    if pd.api.types.is_integer_dtype(s):
        return f"pd.Series([0], dtype=\"{s.dtype}\")"
    if pd.api.types.is_float_dtype(s):
        return f"pd.Series([0.0], dtype=\"{s.dtype}\")"
    if pd.api.types.is_datetime64_any_dtype(s):
        return "pd.Series([\"2000-1-1\"], dtype=\"datetime64[ns]\")"
    return "pd.Series([\"example_value\"], dtype=\"object\")"


def data_sample_code(X: pd.DataFrame) -> str:
    """``pd.DataFrame({...})`` source with one placeholder row of each training column."""
    cols = ", ".join(f"{str(c)!r}: {_series(X[c])}" for c in X.columns)
    return f"pd.DataFrame({{{cols}}})"


def _label(classes: list[Any]) -> str:
    first = classes[0] if classes else 0
    return repr([first.item() if hasattr(first, "item") else first])


def scoring_file_v1(X: pd.DataFrame, classes: list[Any], what: str) -> str:
    """``scoring_file_v_1_0_0.py``: ``run(data)`` returns ``{"result": [labels]}`` as JSON."""
    return (
        _HEADER.format(what=what, sample=data_sample_code(X))
        + _INIT.format()
        + _RUN_V1.format(label=_label(classes))
    )


def scoring_file_v2(X: pd.DataFrame, classes: list[Any], what: str) -> str:
    """``scoring_file_v_2_0_0.py``: ``{"Inputs": {"data": rows}, "GlobalParameters": ...}``."""
    return (
        _HEADER.format(what=what, sample=data_sample_code(X))
        + _INIT.format()
        + _RUN_V2.format(label=_label(classes))
    )


def conda_env(requirements: list[str], name: str) -> str:
    """``conda_env_v_1_0_0.yml``: this Python, pip, the model's public requirements and the
    scoring files' own (inference-schema, azureml-inference-server-http)."""
    lines = [
        f"name: {name}",
        "channels:",
        "- conda-forge",
        "dependencies:",
        f"- python={platform.python_version()}",
        "- pip",
        "- pip:",
        *(f"  - {r}" for r in [*requirements, "joblib", "inference-schema",
                                "azureml-inference-server-http"]),
    ]  # fmt: skip
    return "\n".join(lines) + "\n"
