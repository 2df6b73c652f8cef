"""MLflow models that load where automl-local is not installed.

The fitted model is made of the project's own classes (``AutoMLModel``,
``Featurizer``, ``BoosterClassifier``). Pickled by reference, as pickle does
by default, loading it needs ``import automl_local``, and so the model used
to pin ``automl-local==0.1.0``, a distribution no package index has: neither
``mlflow models serve`` nor an Azure no-code deployment could build its
environment. Here those classes are pickled *by value* (cloudpickle copies
their code into the pickle), so the model carries the code it needs and its
``requirements.txt`` lists only public distributions: the learners the model
actually uses, pandas, numpy, cloudpickle and mlflow.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
import threading
import warnings
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["model_requirements", "pickled_by_value", "save_mlflow_model"]

_PACKAGE = "automl_local"
_lock = threading.Lock()
# Top-level module of a learner's class -> the distributions that provide it (first found wins).
_LIBRARIES: dict[str, tuple[str, ...]] = {
    "lightgbm": ("lightgbm",),
    "xgboost": ("xgboost-cpu", "xgboost"),
}
_ALWAYS = ("scikit-learn", "pandas", "numpy", "cloudpickle", "mlflow")


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
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def save_mlflow_model(
    model: Any,
    out: Path,
    *,
    sample: Any,
    metadata: dict[str, Any] | None = None,
) -> Path:
    """Save ``model`` as a portable MLflow model (sklearn + pyfunc flavours) in ``out``.

    ``sample`` is a few raw rows: the signature keeps their dtypes (MLflow refuses int64
    input for a double column, so declaring integers as doubles would reject ordinary
    rows) and the first row is the input example.
    """
    import mlflow.sklearn
    from mlflow.models import infer_signature

    if out.exists():
        shutil.rmtree(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MLflow's hints about integer columns and pickles
        signature = infer_signature(sample, model.predict(sample))
        with pickled_by_value():
            mlflow.sklearn.save_model(
                model,
                str(out),
                serialization_format="cloudpickle",
                signature=signature,
                input_example=sample.head(1),
                pyfunc_predict_fn="predict",
                pip_requirements=model_requirements(model),
                metadata=metadata,
            )
    return out
