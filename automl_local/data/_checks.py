"""Checks a training frame must pass before any model is fitted.

Why: these mistakes (misspelled target, empty file, one class only, bad weight
column) otherwise surface minutes later as a scikit-learn traceback from deep
inside a trial. Failing first, with the column named and the fix spelled out,
is what Azure's own validation does at submission time.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

import pandas as pd

from automl_local.exceptions import DataError

__all__ = ["check_training_frame"]


def _columns_text(df: pd.DataFrame, limit: int = 30) -> str:
    names = [str(c) for c in df.columns]
    more = f", ... ({len(names) - limit} more)" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def _suggest(name: str, df: pd.DataFrame) -> str:
    columns = [str(c) for c in df.columns]
    exact = [c for c in columns if c.lower() == name.lower()]
    close = exact or difflib.get_close_matches(name, columns, n=1, cutoff=0.6)
    return f" Did you mean {close[0]!r}?" if close else ""


def _require(df: pd.DataFrame, column: str, role: str) -> None:
    if column not in df.columns:
        raise DataError(
            f"{role} {column!r} is not a column of the training data.{_suggest(column, df)} "
            f"Columns: {_columns_text(df)}."
        )


def check_training_frame(
    df: pd.DataFrame,
    target: str,
    weight_column: str | None = None,
    cv_split_columns: Sequence[str] | None = None,
) -> None:
    """Raise :class:`DataError` if ``df`` cannot train a classifier for ``target``."""
    if df.shape[0] == 0 or df.shape[1] == 0:
        raise DataError(
            f"the training data is empty ({df.shape[0]} rows, {df.shape[1]} columns). Check that "
            "the file has a header row and data rows, and that MLTable transformations "
            "(take, skip, keep_columns) do not remove everything."
        )
    _require(df, target, "target_column_name")
    labels = df[target]
    missing = int(labels.isna().sum())
    if missing:
        raise DataError(
            f"target column {target!r} has {missing} missing values (of {len(df)} rows). Drop "
            "those rows or fill in their labels before training."
        )
    classes = labels.unique()
    if len(classes) < 2:
        raise DataError(
            f"target column {target!r} has a single class ({classes[0]!r}) in {len(df)} rows; "
            "classification needs at least two. Check the target column and any row filters."
        )
    special = {target}
    if weight_column is not None:
        _check_weights(df, target, weight_column)
        special.add(weight_column)
    for column in cv_split_columns or []:
        _require(df, column, "cv_split_column_names entry")
        special.add(column)
    if not [c for c in df.columns if c not in special]:
        raise DataError(
            f"the training data has no feature columns besides {sorted(special)}; add the "
            "columns the model should learn from."
        )


def _check_weights(df: pd.DataFrame, target: str, weight_column: str) -> None:
    if weight_column == target:
        raise DataError(
            f"weight_column_name {weight_column!r} is the target column; use a separate "
            "column of non-negative sample weights."
        )
    _require(df, weight_column, "weight_column_name")
    weights = df[weight_column]
    if not pd.api.types.is_numeric_dtype(weights) or pd.api.types.is_bool_dtype(weights):
        numeric = pd.to_numeric(weights, errors="coerce")
        bad = weights[numeric.isna() & weights.notna()].head(5).tolist()
        raise DataError(
            f"weight column {weight_column!r} must be numeric; it has values like {bad}. "
            "Use non-negative numbers."
        )
    if weights.isna().any():
        raise DataError(
            f"weight column {weight_column!r} has {int(weights.isna().sum())} missing values; "
            "give every row a weight (use 1.0 for the default)."
        )
    negative = weights < 0
    if negative.any():
        raise DataError(
            f"weight column {weight_column!r} has {int(negative.sum())} negative values, e.g. "
            f"{weights[negative].head(3).tolist()}; sample weights must be >= 0."
        )
    if not (weights > 0).any():
        raise DataError(f"weight column {weight_column!r} is all zeros; no row would count.")
