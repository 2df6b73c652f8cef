"""The best model as Azure ships it: an MLflow model (sklearn + pyfunc flavours).

Azure names a job's ``best_model`` output and its registered asset in a fixed
way and stores an MLflow model under the best child run; this module writes
that folder so the same ``mlflow.pyfunc.load_model`` / deployment code works
on either side. The job's orchestration (:mod:`automl_local.engine`) decides
when; this module only knows how.

The models are portable. The fitted model is made of the project's own classes
(``AutoMLModel``, ``Featurizer``, ``BoosterClassifier``); pickled by reference,
as pickle does by default, loading it would need ``import automl_local``, and the
model would pin ``automl-local``, a distribution no package index has, so neither
``mlflow models serve`` nor an Azure no-code deployment could build its
environment. Here those classes are pickled *by value* (cloudpickle copies their
code into the pickle): the model carries the code it needs and its
``requirements.txt`` lists only public distributions, the learners the model
actually uses, pandas, numpy, cloudpickle and mlflow.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
import threading
import warnings
from collections.abc import Iterator
from importlib import metadata as _metadata
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = [
    "model_requirements",
    "pickled_by_value",
    "registered_model_name",
    "save_mlflow_model",
]

_PACKAGE = "automl_local"
_lock = threading.Lock()
# Top-level module of a learner's class -> the distributions that provide it (first found wins).
_LIBRARIES: dict[str, tuple[str, ...]] = {
    "lightgbm": ("lightgbm",),
    "xgboost": ("xgboost-cpu", "xgboost"),
}
_ALWAYS = ("scikit-learn", "pandas", "numpy", "cloudpickle", "mlflow")


def registered_model_name(job_name: str) -> str:
    """Azure names a job's best-model asset ``azureml_<job>_output_mlflow_log_model``."""
    return f"azureml_{job_name}_output_mlflow_log_model"


@contextlib.contextmanager
def pickled_by_value() -> Iterator[None]:
    """While open, cloudpickle copies every ``automl_local`` class and function into the pickle.

    The registry is process-global, so it is held under a lock and restored on exit.
    """
    import cloudpickle

    package = sys.modules[_PACKAGE]
    with _lock:
        already = _PACKAGE in cloudpickle.list_registry_pickle_by_value()
        if not already:
            cloudpickle.register_pickle_by_value(package)
        try:
            yield
        finally:
            if not already:
                cloudpickle.unregister_pickle_by_value(package)


def _libraries_of(obj: Any, seen: set[int] | None = None, depth: int = 0) -> set[str]:
    """Top-level modules of the objects a fitted model holds (members, boosters, meta)."""
    seen = set() if seen is None else seen
    if id(obj) in seen or depth > 6 or obj is None or isinstance(obj, str | int | float):
        return set()
    seen.add(id(obj))
    found = {type(obj).__module__.split(".")[0]}
    children: list[Any] = []
    if isinstance(obj, dict):
        children = list(obj.values())
    elif isinstance(obj, list | tuple):
        children = list(obj)
    elif hasattr(obj, "__dict__") and type(obj).__module__.split(".")[0] in (_PACKAGE, "sklearn"):
        children = list(vars(obj).values())
    for child in children:
        found |= _libraries_of(child, seen, depth + 1)
    return found


def model_requirements(model: Any) -> list[str]:
    """Pinned public requirements of ``model``: only the learners it holds, never automl-local.

    Pinned to this machine's versions, so the model loads as it was tested. MLflow's own
    inference of requirements loads the model in a subprocess: seconds a job cannot spare.
    """
    names = list(_ALWAYS)
    used = _libraries_of(model)
    for module, dists in _LIBRARIES.items():
        if module in used:
            names.append(next((d for d in dists if _version(d)), dists[0]))
    return [f"{d}=={_version(d)}" if _version(d) else d for d in names]


def _version(dist: str) -> str | None:
    try:
        return _metadata.version(dist)
    except _metadata.PackageNotFoundError:
        return None


def save_mlflow_model(
    model: Any,
    X: pd.DataFrame,
    out: Path,
    *,
    metadata: dict[str, Any] | None = None,
) -> Path:
    """Write ``model`` to ``out`` (replaced) as a portable MLflow model, with a signature
    and an example from ``X`` (raw training rows).

    Serialized with cloudpickle, knowingly: MLflow 3's default (skops) refuses
    LightGBM/XGBoost types and our own model class.
    """
    import mlflow.sklearn
    from mlflow.models import infer_signature

    if out.exists():
        shutil.rmtree(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    # The signature keeps the training dtypes: MLflow refuses int64 input for a
    # double column, so declaring integers as doubles would reject ordinary rows.
    sample = X.head(100)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MLflow's hints about integer columns and pickles
        signature = infer_signature(sample, model.predict(sample))
        with pickled_by_value():
            mlflow.sklearn.save_model(
                model,
                str(out),
                serialization_format="cloudpickle",
                signature=signature,
                input_example=X.head(1),
                pyfunc_predict_fn="predict",
                pip_requirements=model_requirements(model),
                metadata=metadata,
            )
    return out
