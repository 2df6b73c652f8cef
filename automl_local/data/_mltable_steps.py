"""MLTable transformations applied after the read: columns, rows, column types.

Why a module of its own: reading an MLTable (paths, read options, files) and
reshaping the table it gives are two concepts. Each step here checks its
argument and raises :class:`DataError` naming the step and the MLTable file
(``where``), so a typo never gives a different table than Azure would.
Steps: ``keep_columns``, ``drop_columns``, ``skip``, ``take``,
``take_random_sample`` and ``convert_column_types``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from automl_local.exceptions import DataError

__all__ = ["apply_step"]


def _columns_arg(value: Any, step: str, where: str) -> list[str]:
    columns = [value] if isinstance(value, str) else value
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise DataError(f"{where}: {step} takes a column name or a list of names, got {value!r}.")
    return columns


def _require_columns(df: pd.DataFrame, columns: list[str], step: str, where: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise DataError(
            f"{where}: {step} names column {missing[0]!r}, which the table does not have. "
            f"Columns: {', '.join(map(str, df.columns))}."
        )


def _count_arg(value: Any, step: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise DataError(f"{where}: {step} takes a non-negative row count, got {value!r}.")
    return value


def apply_step(df: pd.DataFrame, step: str, arg: Any, where: str) -> pd.DataFrame:
    if step in ("keep_columns", "drop_columns"):
        columns = _columns_arg(arg, step, where)
        _require_columns(df, columns, step, where)
        return df[columns] if step == "keep_columns" else df.drop(columns=columns)
    if step == "skip":
        return df.iloc[_count_arg(arg, step, where) :]
    if step == "take":
        return df.iloc[: _count_arg(arg, step, where)]
    if step == "take_random_sample":
        if not isinstance(arg, dict) or "probability" not in arg:
            raise DataError(
                f"{where}: take_random_sample needs `probability:` (and optional `seed:`)."
            )
        probability = float(arg["probability"])
        if not 0.0 <= probability <= 1.0:
            raise DataError(
                f"{where}: take_random_sample probability must be in [0, 1], got {probability}."
            )
        rng = np.random.default_rng(arg.get("seed"))
        return df[rng.random(len(df)) < probability]
    return _convert_column_types(df, arg, where)


def _convert_column_types(df: pd.DataFrame, arg: Any, where: str) -> pd.DataFrame:
    if not isinstance(arg, list):
        raise DataError(
            f"{where}: convert_column_types takes a list of `- columns: [...]` / "
            "`column_type: ...` entries."
        )
    df = df.copy()
    for entry in arg:
        if not isinstance(entry, dict) or set(entry) != {"columns", "column_type"}:
            raise DataError(
                f"{where}: each convert_column_types entry needs exactly 'columns' and "
                f"'column_type'; got {entry!r}."
            )
        columns = _columns_arg(entry["columns"], "convert_column_types", where)
        _require_columns(df, columns, "convert_column_types", where)
        converter = _converter(entry["column_type"], where)
        for column in columns:
            df[column] = converter(df[column], column)
    return df


def _converter(column_type: Any, where: str) -> Callable[[pd.Series, str], pd.Series]:
    options: dict[str, Any] = {}
    if isinstance(column_type, dict) and len(column_type) == 1:
        ((column_type, options),) = column_type.items()
        options = options or {}
    simple: dict[str, Callable[[pd.Series, str], pd.Series]] = {
        "int": _to_int,
        "float": _to_float,
        "string": _to_string,
    }
    if column_type in simple and not options:
        return simple[column_type]
    if column_type == "boolean":
        return lambda s, c: _to_bool(s, c, options, where)
    if column_type == "datetime":
        return lambda s, c: _to_datetime(s, c, options, where)
    raise DataError(
        f"{where}: column_type {column_type!r} is not supported; use int, float, string, "
        "boolean (with optional true_values/false_values/mismatch_as) or datetime "
        "(with optional formats)."
    )


def _bad_values(original: pd.Series, converted: pd.Series) -> list[Any]:
    bad = original[converted.isna() & original.notna()]
    return list(dict.fromkeys(bad.tolist()))[:5]


def _to_float(series: pd.Series, column: str) -> pd.Series:
    converted = pd.to_numeric(series, errors="coerce")
    bad = _bad_values(series, converted)
    if bad:
        raise DataError(f"column {column!r} cannot be converted to float: bad values {bad}.")
    return converted.astype(float)


def _to_int(series: pd.Series, column: str) -> pd.Series:
    converted = _to_float(series, column)
    fractional = converted.dropna() % 1 != 0
    if fractional.any():
        raise DataError(
            f"column {column!r} cannot be converted to int: non-integer values "
            f"{converted.dropna()[fractional].head(5).tolist()}."
        )
    return converted.astype("Int64") if converted.isna().any() else converted.astype("int64")


def _to_string(series: pd.Series, column: str) -> pd.Series:
    return series.map(lambda v: v if pd.isna(v) else str(v))


def _to_bool(series: pd.Series, column: str, options: dict[str, Any], where: str) -> pd.Series:
    true_values = {str(v).lower() for v in options.get("true_values", ["true", "1", "yes"])}
    false_values = {str(v).lower() for v in options.get("false_values", ["false", "0", "no"])}
    mismatch = options.get("mismatch_as", "error")
    if mismatch not in ("error", "true", "false"):
        raise DataError(f"{where}: mismatch_as must be error, true or false, got {mismatch!r}.")
    text = series.map(lambda v: v if pd.isna(v) else str(v).lower())
    result = text.map(lambda v: True if v in true_values else False if v in false_values else None)
    unmatched = text.notna() & result.isna()
    if unmatched.any():
        if mismatch == "error":
            raise DataError(
                f"column {column!r} has values that are neither true nor false values: "
                f"{list(dict.fromkeys(series[unmatched].tolist()))[:5]}. Add them to "
                f"true_values/false_values or set mismatch_as in {where}."
            )
        result[unmatched] = mismatch == "true"
    return result.astype("boolean")


def _to_datetime(series: pd.Series, column: str, options: dict[str, Any], where: str) -> pd.Series:
    formats = options.get("formats") or [None]
    if isinstance(formats, str):
        formats = [formats]
    result = pd.Series(pd.NaT, index=series.index, dtype="datetime64[ns]")
    for fmt in formats:
        todo = result.isna() & series.notna()
        if not todo.any():
            break
        parsed = pd.to_datetime(series[todo], format=fmt, errors="coerce")
        result[todo] = parsed
    bad = _bad_values(series, result)
    if bad:
        raise DataError(
            f"column {column!r} cannot be converted to datetime: bad values {bad}. "
            f"Give the matching `formats:` in {where}."
        )
    return result
