"""Loading an MLflow model once, with everything the hot path needs pre-computed.

A :class:`LoadedModel` holds the estimator, the input schema from the MLflow
signature (column names, MLflow types, required flags), a JSON-safe example
row from the model's ``input_example`` and the model's answer for that row.
The example answer doubles as a warm-up (first-call costs are paid at
start-up, not by the first client) and as the swagger's output example.

The sklearn flavour is loaded when present: it gives ``predict_proba`` and
skips MLflow's per-call schema enforcement (``service._formats`` validates
against the same signature once, faster). Other flavours go through pyfunc.
The ``MLmodel`` file, signature and input example are read as the files they
are (a documented format), so a worker with a pickled sklearn model never
imports MLflow.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from automl_local.exceptions import ConfigError

if TYPE_CHECKING:
    from automl_local.service._rows import RowPath

__all__ = ["NUMERIC_TYPES", "ColumnSpec", "LoadedModel", "ModelSchema", "load_model"]

#: MLflow column types taken as numbers (JSON numbers, numeric strings, null).
NUMERIC_TYPES = frozenset({"integer", "long", "float", "double"})
_PLACEHOLDERS = {"string": "example_value", "boolean": False, "datetime": "2024-01-01T00:00:00"}


@dataclass(frozen=True)
class ColumnSpec:
    """One input column: its name, MLflow type name, whether it must be sent and may be null.

    ``nullable`` is found at load time (:func:`_probe_nulls`): whether the model
    answers when this column is null, so a request the model would fail on is a
    400 naming the column, and the OpenAPI document says which columns take null.
    """

    name: str
    type: str
    required: bool = True
    nullable: bool = True


@dataclass(frozen=True)
class ModelSchema:
    """The columns a model takes, in training order, plus one example row.

    An empty ``columns`` means the model has no signature: requests are then
    passed through with pandas' own type inference and no column checks.
    """

    columns: tuple[ColumnSpec, ...] = ()
    example: dict[str, Any] = field(default_factory=dict)

    # cached: the hot path asks for these on every request.
    @cached_property
    def names(self) -> frozenset[str]:
        return frozenset(c.name for c in self.columns)

    @cached_property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    def example_row(self) -> dict[str, Any]:
        """The example row, completed with placeholders for columns it lacks."""
        row = {}
        for col in self.columns:
            if col.name in self.example:
                row[col.name] = self.example[col.name]
            else:
                row[col.name] = 0 if col.type in NUMERIC_TYPES else _PLACEHOLDERS.get(col.type, "")
        return row if self.columns else dict(self.example)


@dataclass
class LoadedModel:
    """A model ready to score; built by :func:`load_model` (or directly in tests)."""

    estimator: Any
    schema: ModelSchema
    name: str = ""
    version: str = ""
    model_dir: str = ""
    flavor: str = "sklearn"
    load_seconds: float = 0.0
    output_example: list[Any] | None = None
    classes: list[Any] | None = None
    compiled: list[str] = field(default_factory=list)  # members swapped for equal fast ones
    row_path: RowPath | None = None  # scores a few rows without a DataFrame (service._rows)

    @property
    def label(self) -> str:
        if self.name and self.version:
            return f"{self.name}:{self.version}"
        return self.name or Path(self.model_dir).name

    def methods(self) -> tuple[str, ...]:
        """The scoring methods this model supports, in the order swagger lists them."""
        has_proba = callable(getattr(self.estimator, "predict_proba", None))
        return ("predict", "predict_proba") if has_proba else ("predict",)


def _read_mlmodel(model_dir: Path) -> dict[str, Any]:
    import yaml

    path = model_dir / "MLmodel"
    if not path.is_file():
        raise ConfigError(
            f"{model_dir} is not an MLflow model folder (no MLmodel file). Register the "
            "model's mlflow-model/ folder (type mlflow_model)."
        )
    meta = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(meta, dict) or not isinstance(meta.get("flavors"), dict):
        raise ConfigError(f"{path} has no 'flavors' section; it is not a valid MLflow model.")
    return meta


def _schema(meta: dict[str, Any], model_dir: Path) -> ModelSchema:
    """Columns from the MLmodel signature (its ``inputs`` JSON), example from the input example."""
    raw = (meta.get("signature") or {}).get("inputs")
    columns: tuple[ColumnSpec, ...] = ()
    if raw:
        specs = json.loads(raw) if isinstance(raw, str) else raw
        if any(spec.get("type") == "tensor" for spec in specs):
            raise ConfigError(
                f"Model at {model_dir} has a tensor signature; the scoring server serves "
                "tabular (column-based) MLflow models. Log the model with a DataFrame signature."
            )
        if any("name" not in spec for spec in specs):
            raise ConfigError(
                f"Model at {model_dir} has unnamed signature columns; re-log it with "
                "infer_signature(<training DataFrame>, ...)."
            )
        columns = tuple(
            ColumnSpec(str(s["name"]), str(s.get("type", "")), bool(s.get("required", True)))
            for s in specs
        )
    return ModelSchema(columns=columns, example=_example_row(meta, model_dir))


def _example_row(meta: dict[str, Any], model_dir: Path) -> dict[str, Any]:
    """First row of the saved DataFrame input example as plain JSON values; {} when absent."""
    info = meta.get("saved_input_example_info") or {}
    if info.get("type") != "dataframe" or not info.get("artifact_path"):
        return {}
    try:
        example = json.loads((model_dir / info["artifact_path"]).read_text(encoding="utf-8"))
    except (OSError, ValueError):  # a broken example must not stop serving
        return {}
    if isinstance(example, dict) and "dataframe_split" in example:
        example = example["dataframe_split"]
    if isinstance(example, dict) and example.get("columns") and example.get("data"):
        return dict(zip(example["columns"], example["data"][0], strict=False))
    if isinstance(example, list) and example and isinstance(example[0], dict):
        return dict(example[0])
    return {}


def _load_estimator(meta: dict[str, Any], model_dir: Path) -> tuple[Any, str]:
    """The sklearn object (fast path: unpickle directly), else MLflow's own loaders.

    A pickle/cloudpickle sklearn flavour without extra code paths is read with
    cloudpickle, exactly as ``mlflow.sklearn.load_model`` does, but without
    importing MLflow (about 40 % of a worker's start-up). Anything else (skops,
    code paths, pyfunc-only models) goes through MLflow.
    """
    flavor = meta["flavors"].get("sklearn")
    if (
        isinstance(flavor, dict)
        and flavor.get("serialization_format") in ("pickle", "cloudpickle")
        and not flavor.get("code")
        and flavor.get("pickled_model")
    ):
        import cloudpickle

        with open(model_dir / flavor["pickled_model"], "rb") as handle:
            return cloudpickle.load(handle), "sklearn"
    if isinstance(flavor, dict):
        import mlflow.sklearn

        return mlflow.sklearn.load_model(str(model_dir)), "sklearn"
    import mlflow.pyfunc

    return mlflow.pyfunc.load_model(str(model_dir)), "python_function"


def load_model(model_dir: str | Path, name: str = "", version: str = "") -> LoadedModel:
    """Load the MLflow model folder ``model_dir`` and warm it up on its example row.

    Raises :class:`ConfigError` if the folder is not an MLflow model or its
    signature is not tabular; the model's own import/unpickling errors
    propagate unchanged (the caller logs them into ``deployment.log``).
    """
    started = time.perf_counter()
    folder = Path(model_dir).resolve()
    meta = _read_mlmodel(folder)
    schema = _schema(meta, folder)
    estimator, flavor = _load_estimator(meta, folder)
    classes = getattr(estimator, "classes_", None)
    model = LoadedModel(
        estimator=estimator,
        schema=schema,
        name=name,
        version=version,
        model_dir=str(folder),
        flavor=flavor,
        classes=[_plain(c) for c in classes] if classes is not None else None,
    )
    if schema.columns:
        model.compiled = _compile(model)
        model.row_path = _row_path(model)
    model.output_example = _warm_up(model)
    if model.output_example is not None:
        model.schema = _probe_nulls(model)
    model.load_seconds = time.perf_counter() - started
    return model


def _compile(model: LoadedModel) -> list[str]:
    """Swap members for proven-equal fast versions (``service._compile``); none if unsure."""
    from automl_local.service._compile import compile_members
    from automl_local.service._formats import frame_from_records

    try:
        frame, _ = frame_from_records([model.schema.example_row()], model.schema, "example")
    except Exception:
        return []
    return compile_members(model.estimator, frame)


def _row_path(model: LoadedModel) -> RowPath | None:
    """The proven-equal DataFrame-free path of an AutoML model (``service._rows``), if any."""
    from automl_local.service._rows import compile_row_path

    return compile_row_path(model.estimator, model.schema)


def _warm_up(model: LoadedModel) -> list[Any] | None:
    """Score the example row once; its answer becomes the swagger's output example."""
    if not model.schema.columns:
        return None
    from automl_local.service._formats import frame_from_records
    from automl_local.service._predict import predict

    try:
        frame, _ = frame_from_records([model.schema.example_row()], model.schema, "example")
        return predict(model, frame, "predict")
    except Exception:  # the first real request reports the problem with its own id
        return None


def _probe_nulls(model: LoadedModel) -> ModelSchema:
    """The schema with ``nullable`` set per column: does the model answer with it null?

    One prediction per column on the example row (milliseconds at start-up).
    Models differ here: AutoML models impute, a bare scikit-learn estimator
    refuses NaN; only trying tells.
    """
    from dataclasses import replace

    from automl_local.service._formats import frame_from_records
    from automl_local.service._predict import predict

    schema = model.schema
    columns = []
    for col in schema.columns:
        row = {**schema.example_row(), col.name: None}
        try:
            frame, _ = frame_from_records([row], schema, "example")
            predict(model, frame, "predict")
            nullable = True
        except Exception:
            nullable = False
        columns.append(replace(col, nullable=nullable))
    return ModelSchema(columns=tuple(columns), example=schema.example)


def _plain(value: Any) -> Any:
    """numpy scalars -> Python scalars, so labels serialise to JSON."""
    return value.item() if hasattr(value, "item") else value
