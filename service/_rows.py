"""A few rows of an AutoML model scored straight from the parsed columns: no DataFrame.

Why: for one row of bank marketing, building the typed ``pd.DataFrame`` of a
request (``service._formats``) costs ~0.25 ms and the two ``Featurizer.transform``
calls ~0.45 ms (each converts the whole frame back to objects first), about a
third of the no-code endpoint's time. The request's values are already
validated Python scalars per column; the featurizers' fitted state (fill
values, scales, level tables) is plain dicts. :class:`RowPath` reads that
state once at load time and turns the columns into each family's float matrix
with a few dict look-ups and float operations per cell, then runs the members
and the vote as ``AutoMLModel.predict_proba`` does.

Saved models carry their own copy of ``AutoMLModel`` and ``Featurizer``
(cloudpickled by value), and the server serves any MLflow model, so the path
is built here, from the fitted state, only for models shaped as expected (no
datetime or text columns), and only used after :func:`compile_row_path` has
seen it give the same floats as the model's own ``predict_proba`` on the
example row and its variants (each column null, each string column an unseen
level, all of them at once). At request time any exception falls back to the
DataFrame path, so errors keep their messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from automl_local.service._errors import ScoringError
from automl_local.service._model import ModelSchema

__all__ = ["MAX_ROWS", "RowPath", "compile_row_path"]

#: Requests up to this many rows take the row path; bigger ones are cheaper per row in pandas.
MAX_ROWS = 64
_UNSEEN = "__automl_local_unseen_level__"
_NAN = float("nan")
_NUMERIC_TYPES = frozenset({"integer", "long", "float", "double"})


def _missing(value: Any) -> bool:
    """``featurize._is_missing``: the values the featurizer replaces by its fill level."""
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)


class _Family:
    """One fitted featurizer as tables: numeric ``(column, fill, mean, std)``, then categorical
    ``(column, levels, fill, one-hot width or 0)``, in the featurizer's block order."""

    def __init__(self, featurizer: Any, types: Mapping[str, str]) -> None:
        plan = featurizer.plan_
        if plan.datetime or plan.text or featurizer.text_:
            raise ValueError("datetime/text columns are featurized by pandas/scikit-learn")
        for col in plan.numeric:
            if types.get(col) not in _NUMERIC_TYPES:
                raise ValueError(f"numeric column {col!r} is not numeric in the signature")
        for col in plan.categorical:
            if types.get(col) not in (*_NUMERIC_TYPES, "string", "boolean"):
                raise ValueError(f"categorical column {col!r} has no plain signature type")
        onehot = bool(featurizer.onehot_)
        fills, scales = featurizer.num_fill_, featurizer.num_scale_
        self.numeric = [
            (str(col), fills.get(col), *scales.get(col, (None, None))) for col in plan.numeric
        ]
        self.categorical = [
            (
                str(col),
                dict(featurizer.levels_[col]),
                featurizer.cat_fill_.get(col),
                len(featurizer.levels_[col]) if onehot else 0,
            )
            for col in plan.categorical
        ]
        self.columns = [c for c, *_ in self.numeric] + [c for c, *_ in self.categorical]
        self.width = len(self.numeric) + sum(k if onehot else 1 for *_, k in self.categorical)
        if self.width != len(featurizer.feature_names_out_):
            raise ValueError("the featurizer's output width is not what its tables give")

    def matrix(self, values: Mapping[str, list[Any]], rows: int) -> np.ndarray:
        """The featurizer's ``transform`` of these rows, cell by cell in Python floats.

        Same operations as ``Featurizer.transform`` (NaN -> fill, then ``(x - mean) / std``;
        level code or NaN / one-hot), which numpy does elementwise in the same float64.
        """
        out: list[list[float]] = []
        for r in range(rows):
            row: list[float] = []
            for col, fill, mean, std in self.numeric:
                x = float(values[col][r])
                if fill is not None and x != x:
                    x = fill
                if mean is not None:
                    x = (x - mean) / std
                row.append(x)
            for col, levels, cat_fill, k in self.categorical:
                v = values[col][r]
                if cat_fill is not None and _missing(v):
                    v = cat_fill
                code = levels.get(v, -1)
                if k:
                    block = [0.0] * k
                    if code >= 0:
                        block[code] = 1.0
                    row.extend(block)
                else:
                    row.append(float(code) if code >= 0 else _NAN)
            out.append(row)
        return np.array(out, dtype=np.float64).reshape(rows, self.width)


class RowPath:
    """``predict``/``predict_proba`` of an AutoML model from validated columns (see module)."""

    def __init__(self, estimator: Any, schema: ModelSchema) -> None:
        members = estimator.members
        featurizers = estimator.featurizers
        if not isinstance(members, list) or not members or not isinstance(featurizers, dict):
            raise ValueError("not an AutoML model (members and featurizers)")
        types = {c.name: c.type for c in schema.columns}
        self.estimator = estimator
        self.families = {
            family: _Family(featurizers[family], types) for family in {f for f, _ in members}
        }
        self.columns = sorted({c for fam in self.families.values() for c in fam.columns})
        missing = [c for c in self.columns if c not in types]
        if missing:
            raise ValueError(f"column(s) {missing} are not in the signature")
        self.classes = np.asarray(estimator.classes, dtype=object)
        weights = estimator.weights
        self.weights = np.asarray(weights or [1.0] * len(members), dtype=float)
        self.description = (
            f"row path without DataFrame (featurizers {', '.join(sorted(self.families))}, "
            f"up to {MAX_ROWS} rows)"
        )

    def matrices(self, columns: Mapping[str, Any], rows: int) -> dict[str, np.ndarray]:
        """Each family's feature matrix of the request's columns (arrays from ``_formats``)."""
        values = {col: columns[col].tolist() for col in self.columns}
        return {family: fam.matrix(values, rows) for family, fam in self.families.items()}

    def predict_proba(self, columns: Mapping[str, Any], rows: int) -> np.ndarray:
        """``AutoMLModel.predict_proba``: members on their family's matrix, then meta or vote."""
        matrices = self.matrices(columns, rows)
        estimator = self.estimator
        probas = [model.predict_proba(matrices[family]) for family, model in estimator.members]
        if estimator.meta is not None:
            return np.asarray(estimator.meta.predict_proba(np.hstack(probas)))
        if len(probas) == 1:
            return np.asarray(probas[0])
        weights = self.weights
        return np.asarray(np.tensordot(weights / weights.sum(), np.stack(probas), axes=1))

    def predict(self, columns: Mapping[str, Any], rows: int, method: str) -> list[Any]:
        """JSON-ready answers of ``method`` (``predict``: labels; ``predict_proba``: rows)."""
        proba = self.predict_proba(columns, rows)
        if method == "predict_proba":
            return list(proba.tolist())
        if method == "predict":
            return list(self.classes[proba.argmax(axis=1)].tolist())
        raise ValueError(f"the row path has no method {method!r}")


def _probe_rows(schema: ModelSchema) -> list[dict[str, Any]]:
    """The example row, then it with each column null, then with each string column unseen."""
    example = schema.example_row()
    variants = [{**example, c.name: None} for c in schema.columns]
    variants += [{**example, c.name: _UNSEEN} for c in schema.columns if c.type == "string"]
    return [example, *variants]


def _same(path: RowPath, estimator: Any, schema: ModelSchema, records: list[dict[str, Any]]
          ) -> bool | None:
    """Does the row path give the model's own floats on ``records``? None: both refuse them."""
    from automl_local.service._formats import columns_from_records, frame_from_records

    try:
        frame, _ = frame_from_records(records, schema, "example")
        columns = columns_from_records(records, schema, "example")
    except ScoringError:
        return None  # refused before the model (a null where the model takes none)
    try:
        expected = np.asarray(estimator.predict_proba(frame))
    except Exception:
        try:
            path.predict_proba(columns, len(records))
        except Exception:
            return None  # both refuse: such a request falls back and gets today's error
        return False
    for family, matrix in path.matrices(columns, len(records)).items():
        if not np.array_equal(matrix, estimator.featurizers[family].transform(frame),
                              equal_nan=True):
            return False
    got = path.predict_proba(columns, len(records))
    labels = path.predict(columns, len(records), "predict")
    return np.array_equal(got, expected) and labels == list(
        np.asarray(estimator.predict(frame)).tolist())


def compile_row_path(estimator: Any, schema: ModelSchema) -> RowPath | None:
    """The row path of ``estimator`` if it is an AutoML model it gives the same answers for.

    None (today's DataFrame path) for anything else: other models, datetime or
    text columns, a model whose answers differ on any probe row, any surprise.
    """
    if not schema.columns or not hasattr(estimator, "featurizers"):
        return None
    try:
        path = RowPath(estimator, schema)
        answered = []
        for row in _probe_rows(schema):
            same = _same(path, estimator, schema, [row])
            if same is False:
                return None
            if same:
                answered.append(row)
        if answered and _same(path, estimator, schema, answered[:MAX_ROWS]):  # several at once
            return path
    except Exception:  # an unexpected model shape: keep the DataFrame path
        return None
    return None
