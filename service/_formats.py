"""Request formats in, DataFrames out; predictions in, each format's own response shape out.

Accepted request bodies (exactly one format key per body), each answered in
its own server's shape:

* Azure MLflow: ``{"input_data": {"columns": [...], "index": [...], "data": [[...]]}}``
  (also ``{"input_data": {"data": [records]}}``) -> a bare JSON list;
* AutoML scoring file v2: ``{"Inputs": {"data": [records]}, "GlobalParameters":
  {"method": "predict"|"predict_proba"}}`` -> ``{"Results": [...]}``;
* v1 web service: ``{"data": [records]}`` -> ``{"result": [...]}``;
* MLflow scoring server: ``{"dataframe_split": {...}}`` or
  ``{"dataframe_records": [records]}`` -> ``{"predictions": [...]}``.

``method`` (``predict`` or ``predict_proba``) comes from ``GlobalParameters``
or ``params`` in any format. Validation against the MLflow signature happens
here, once per request, with messages that name the column, the row and the
expected type:

* a missing required column is a 400 naming it; a missing optional column
  (one that had missing values in training) is filled with nulls;
* extra columns are ignored, as MLflow's schema enforcement does; their names
  are returned so the server can report them (response header and log);
* numbers are taken as JSON numbers or numeric strings; anything else in a
  numeric column is a 400. Non-string scalars in a string column are turned
  into strings (``5`` -> ``"5"``); objects/arrays in any column are a 400.

The hot path is plain Python over the decoded JSON plus one ``np.asarray``
per column: no pydantic models, no per-row DataFrame operations. The
DataFrame itself is built only when something asks for ``ParsedRequest.frame``:
a request that ``service._rows`` scores from the validated columns never builds
it (~0.25 ms of a one-row request).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from automl_local.service._errors import ScoringError
from automl_local.service._model import NUMERIC_TYPES, ColumnSpec, ModelSchema

__all__ = [
    "ACCEPTED_FORMATS",
    "METHODS",
    "ParsedRequest",
    "RequestFormat",
    "columns_from_records",
    "format_response",
    "frame_from_records",
    "frame_from_split",
    "parse_request",
]

METHODS = ("predict", "predict_proba")


class RequestFormat(StrEnum):
    """The request formats, named by their top-level key."""

    AZUREML = "input_data"
    AUTOML = "Inputs"
    V1 = "data"
    MLFLOW_SPLIT = "dataframe_split"
    MLFLOW_RECORDS = "dataframe_records"


ACCEPTED_FORMATS = (
    '{"input_data": {"columns": [...], "index": [...], "data": [[...]]}} (Azure MLflow)',
    '{"Inputs": {"data": [{...}]}, "GlobalParameters": {"method": "predict"}} '
    "(AutoML scoring file v2)",
    '{"data": [{...}]} (v1 web service)',
    '{"dataframe_split": {"columns": [...], "data": [[...]]}} or '
    '{"dataframe_records": [{...}]} (MLflow scoring server)',
)
_FORMAT_KEYS = tuple(f.value for f in RequestFormat)


class _Table(NamedTuple):
    """Validated model input: one array per signature column, or (no signature) pandas' frame."""

    columns: dict[str, Any] | None
    inferred: pd.DataFrame | None
    rows: int
    ignored: tuple[str, ...]

    def frame(self) -> pd.DataFrame:
        if self.inferred is not None:
            return self.inferred
        return pd.DataFrame(self.columns, copy=False)


@dataclass(frozen=True)
class ParsedRequest:
    """A validated request: the model input, its format and method, and ignored columns.

    ``columns`` maps each signature column to its validated array (None for a
    model without signature); ``frame``, the model's DataFrame input, is built
    from them on first use only.
    """

    format: RequestFormat
    columns: dict[str, Any] | None
    rows: int
    method: str = "predict"
    ignored_columns: tuple[str, ...] = ()
    inferred: pd.DataFrame | None = None  # the frame of a model without signature

    @cached_property
    def frame(self) -> pd.DataFrame:
        return _Table(self.columns, self.inferred, self.rows, ()).frame()


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _bad(message: str) -> ScoringError:
    return ScoringError(400, message)


def parse_request(payload: Any, schema: ModelSchema) -> ParsedRequest:
    """Turn a decoded JSON body into a validated DataFrame, its format and method.

    Raises :class:`ScoringError` (400) naming the field for anything it cannot
    take: unknown format, missing/mistyped columns, empty data, bad method.
    """
    if not isinstance(payload, dict):
        raise _bad(
            f"The request body must be a JSON object, got {_json_type(payload)}. "
            f"Accepted formats: {'; '.join(ACCEPTED_FORMATS)}."
        )
    keys = [k for k in _FORMAT_KEYS if k in payload]
    if len(keys) != 1:
        given = ", ".join(repr(k) for k in payload) or "none"
        problem = (
            f"has several format keys ({', '.join(keys)}); send exactly one"
            if keys
            else f"has no known format key (keys given: {given})"
        )
        raise _bad(
            f"Unrecognized request format: the JSON object {problem}. "
            f"Accepted formats: {'; '.join(ACCEPTED_FORMATS)}."
        )
    fmt = RequestFormat(keys[0])
    body = payload[fmt.value]
    if fmt is RequestFormat.AZUREML:
        table = _table_from_input_data(body, schema)
    elif fmt is RequestFormat.AUTOML:
        if not isinstance(body, dict) or "data" not in body:
            raise _bad(
                'Inputs must be an object {"data": [{column: value, ...}]}, got '
                f"{_json_type(body)}{' without data' if isinstance(body, dict) else ''}."
            )
        table = _records(body["data"], schema, "Inputs.data")
    elif fmt is RequestFormat.MLFLOW_SPLIT:
        table = _split(body, schema, "dataframe_split")
    else:  # V1 and MLFLOW_RECORDS: a list of records
        table = _records(body, schema, fmt.value)
    return ParsedRequest(
        fmt, table.columns, table.rows, _method(payload), table.ignored, table.inferred
    )


def _method(payload: dict[str, Any]) -> str:
    """``GlobalParameters.method`` or ``params.method``; ``predict`` when absent."""
    for key in ("GlobalParameters", "params"):
        if key not in payload or payload[key] is None:
            continue
        params = payload[key]
        if not isinstance(params, dict):
            raise _bad(
                f'{key} must be an object such as {{"method": "predict_proba"}}, '
                f"got {_json_type(params)}."
            )
        method = params.get("method", "predict")
        if method not in METHODS:
            raise _bad(
                f"{key}.method must be one of {', '.join(repr(m) for m in METHODS)}; "
                f"got {method!r}."
            )
        return str(method)
    return "predict"


def _table_from_input_data(body: Any, schema: ModelSchema) -> _Table:
    if isinstance(body, dict):
        if "columns" in body:
            return _split(body, schema, "input_data")
        data = body.get("data")
        if isinstance(data, list) and (not data or isinstance(data[0], dict)):
            return _records(data, schema, "input_data.data")
        raise _bad(
            'input_data must be {"columns": [...], "index": [...], "data": [[...], ...]} '
            '(split orientation) or {"data": [{column: value, ...}]} (records); '
            f"got an object with keys {sorted(body)}."
        )
    if isinstance(body, list) and body and isinstance(body[0], dict):
        return _records(body, schema, "input_data")
    raise _bad(
        "input_data must be an object in split orientation "
        '{"columns": [...], "index": [...], "data": [[...], ...]}; '
        f"got {_json_type(body)} (tensor input is not supported for this tabular model)."
    )


def frame_from_records(
    records: Any, schema: ModelSchema, where: str
) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """``[{column: value}, ...]`` -> (DataFrame in signature order, ignored column names)."""
    table = _records(records, schema, where)
    return table.frame(), table.ignored


def columns_from_records(records: Any, schema: ModelSchema, where: str) -> dict[str, Any]:
    """``[{column: value}, ...]`` -> the validated arrays ``ParsedRequest.columns`` holds."""
    columns = _records(records, schema, where).columns
    if columns is None:
        raise ValueError("a model without signature has no validated columns")
    return columns


def _records(records: Any, schema: ModelSchema, where: str) -> _Table:
    if not isinstance(records, list):
        raise _bad(
            f"{where} must be a list of row objects {{column: value}}, got {_json_type(records)}."
        )
    for i, row in enumerate(records):
        if not isinstance(row, dict):
            raise _bad(
                f"{where}[{i}] must be an object {{column: value, ...}}, got {_json_type(row)}."
            )
    if len(records) == 1:
        names = list(records[0])
        columns = {k: [v] for k, v in records[0].items()}
    else:
        names = list(dict.fromkeys(k for row in records for k in row))
        columns = {k: [row.get(k) for row in records] for k in names}
    return _build(names, columns, len(records), schema, where)


def frame_from_split(
    body: Any, schema: ModelSchema, where: str
) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """``{"columns": [...], "index": [...], "data": [[...]]}`` -> (DataFrame, ignored columns).

    ``index`` is optional and does not affect predictions (responses are lists
    in row order), as on Azure.
    """
    table = _split(body, schema, where)
    return table.frame(), table.ignored


def _split(body: Any, schema: ModelSchema, where: str) -> _Table:
    if not isinstance(body, dict):
        raise _bad(
            f'{where} must be an object {{"columns": [...], "data": [[...]]}}, '
            f"got {_json_type(body)}."
        )
    names, data = body.get("columns"), body.get("data")
    if not isinstance(names, list) or not all(isinstance(c, str) for c in names):
        raise _bad(f"{where}.columns must be a list of column names (strings).")
    if len(set(names)) != len(names):
        dupes = sorted({c for c in names if names.count(c) > 1})
        raise _bad(f"{where}.columns names {dupes} more than once; each column must be unique.")
    if not isinstance(data, list):
        raise _bad(
            f"{where}.data must be a list of rows (lists of values), got {_json_type(data)}."
        )
    width = len(names)
    for i, row in enumerate(data):
        if not isinstance(row, list) or len(row) != width:
            size = f"{len(row)} values" if isinstance(row, list) else _json_type(row)
            raise _bad(
                f"{where}.data[{i}] has {size} but {where}.columns names {width} columns; "
                "each row must be a list with one value per column, in the same order."
            )
    transposed = list(zip(*data, strict=True)) if data else [() for _ in names]
    columns = {name: list(values) for name, values in zip(names, transposed, strict=True)}
    return _build(names, columns, len(data), schema, where)


def _describe(schema: ModelSchema) -> str:
    return ", ".join(
        f"{c.name} ({c.type}{'' if c.required else ', optional'})" for c in schema.columns
    )


def _build(
    names: list[str],
    columns: dict[str, list[Any]],
    n_rows: int,
    schema: ModelSchema,
    where: str,
) -> _Table:
    if n_rows == 0:
        raise _bad(f"{where} has no rows; send at least one row to score.")
    if not schema.columns:  # no signature: trust the client and pandas' inference
        return _Table(None, pd.DataFrame(columns, columns=names), n_rows, ())
    known = schema.names
    missing = [c for c in schema.required if c not in columns]
    if missing:
        raise _bad(
            f"Missing required column(s) {missing} in {where}. "
            f"The model expects: {_describe(schema)}."
        )
    ignored = tuple(c for c in names if c not in known)
    arrays = {}
    for spec in schema.columns:
        values = columns.get(spec.name)
        if values is None:  # an optional column left out: all null, as in training
            values = [None] * n_rows
        array = _convert(spec, values, where)
        if not spec.nullable and _has_missing(array):
            raise _bad(
                f"The model cannot take missing values in column '{spec.name}' (it had none in "
                f"training), but {where} has null there. Send a value for '{spec.name}'."
            )
        arrays[spec.name] = array
    return _Table(arrays, None, n_rows, ignored)


def _has_missing(array: Any) -> bool:
    kind = getattr(getattr(array, "dtype", None), "kind", "O")
    if kind == "f":
        return bool(np.isnan(array).any())
    if kind == "O":
        return any(v is None or v != v for v in array)
    return bool(pd.isna(array).any()) if kind == "M" else False


def _convert(spec: ColumnSpec, values: list[Any], where: str) -> Any:
    """One column's JSON values -> an array of the signature's type, or a 400."""
    if spec.type in NUMERIC_TYPES:
        return _numeric(spec, values, where)
    if spec.type == "string":
        if all(type(v) is str for v in values):
            return np.asarray(values, dtype=object)
        return np.asarray([_to_str(spec, i, v, where) for i, v in enumerate(values)], dtype=object)
    if spec.type == "boolean":
        out = [_to_bool(spec, i, v, where) for i, v in enumerate(values)]
        return np.asarray(out, dtype=bool if None not in out else object)
    if spec.type == "datetime":
        try:
            return pd.to_datetime(pd.Series(values, dtype=object))
        except (TypeError, ValueError) as exc:
            raise _bad(
                f"Column '{spec.name}' expects a datetime (ISO 8601 string such as "
                f"'2024-05-01T12:00:00') in {where}: {exc}"
            ) from None
    for i, v in enumerate(values):
        if isinstance(v, dict | list):
            raise _type_error(spec, i, v, where, "a scalar value")
    return np.asarray(values, dtype=object)


def _type_error(spec: ColumnSpec, row: int, value: Any, where: str, expected: str) -> ScoringError:
    shown = repr(value) if not isinstance(value, dict | list) else _json_type(value)
    return _bad(
        f"Column '{spec.name}' expects {expected} (signature type {spec.type}) but row {row} "
        f"of {where} has {shown} ({_json_type(value)}). Send {expected} or null."
    )


#: The numeric strings a numeric column takes (the OpenAPI document gives the same patterns);
#: bounded lengths keep every match a finite float64 (or an int64 for integer columns).
NUMERIC_STRING = r"^[-+]?([0-9]{1,18}([.][0-9]{0,18})?|[.][0-9]{1,18})([eE][-+]?[0-9]{1,2})?$"
INTEGER_STRING = r"^[-+]?[0-9]{1,18}$"
_NUMERIC_STRING = re.compile(NUMERIC_STRING)
_INTEGER_STRING = re.compile(INTEGER_STRING)
_INT_BOUNDS = {"long": 2**63, "integer": 2**31}


def _numeric(spec: ColumnSpec, values: list[Any], where: str) -> Any:
    """Numbers, numeric strings and nulls -> float64, or int64/int32 for integer columns.

    Booleans, other strings, infinities and, in an integer column, non-whole
    or out-of-range numbers are a 400, as MLflow's schema enforcement refuses
    them on Azure.
    """
    bound = _INT_BOUNDS.get(spec.type)
    if bound is not None and all(type(v) is int for v in values):  # the common case
        for i, v in enumerate(values):
            if not -bound <= v < bound:
                raise _type_error(spec, i, v, where, f"a whole number that fits {spec.type}")
        return np.asarray(values, dtype=np.int64 if spec.type == "long" else np.int32)
    pattern = _NUMERIC_STRING if bound is None else _INTEGER_STRING
    numbers: list[Any] = []
    for i, v in enumerate(values):
        kind = type(v)
        if kind is str and pattern.match(v):
            v = int(v) if bound is not None else float(v)
        elif v is None or (kind is float and v != v):
            numbers.append(None)
            continue
        elif kind is not int and kind is not float:
            raise _type_error(spec, i, v, where, "a number")
        if not math.isfinite(v):
            raise _type_error(spec, i, v, where, "a finite number")
        # A float at +-2**63 may stand for a larger integer (JSON parsers round): refused.
        if bound is not None and (
            (kind is float and abs(v) >= bound) or v != int(v) or not -bound <= int(v) < bound
        ):
            raise _type_error(spec, i, v, where, f"a whole number that fits {spec.type}")
        numbers.append(v)
    if bound is not None and None not in numbers:
        return np.asarray([int(v) for v in numbers], np.int64 if bound > 2**31 else np.int32)
    return np.asarray(numbers, dtype=np.float64)


def _to_str(spec: ColumnSpec, row: int, value: Any, where: str) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return np.nan
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return str(value)
    raise _type_error(spec, row, value, where, "a string")


def _to_bool(spec: ColumnSpec, row: int, value: Any, where: str) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise _type_error(spec, row, value, where, "true or false")


def format_response(fmt: RequestFormat, predictions: list[Any]) -> Any:
    """Wrap predictions the way each format's own server answers."""
    if fmt is RequestFormat.AZUREML:
        return predictions
    if fmt is RequestFormat.AUTOML:
        return {"Results": predictions}
    if fmt is RequestFormat.V1:
        return {"result": predictions}
    return {"predictions": predictions}
