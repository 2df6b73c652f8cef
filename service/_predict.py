"""Scoring as plain functions: body bytes -> parsed request -> predictions -> response bytes.

Nothing here knows about HTTP; :func:`score_body` is what the server runs
(in a worker thread, under the deployment's ``request_timeout_ms``), and what
tests call directly.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
import pandas as pd
from automl_local.service._errors import ModelFailure, ScoringError
from automl_local.service._formats import ParsedRequest, format_response, parse_request
from automl_local.service._model import LoadedModel
from automl_local.service._rows import MAX_ROWS

__all__ = ["ScoreOutcome", "decode_json", "predict", "score_body", "to_jsonable"]


@dataclass(frozen=True)
class ScoreOutcome:
    """What one scoring call produced: the response bytes and what to log about it.

    ``request`` is None when a scoring script parsed the body (its own format).
    """

    body: bytes
    request: ParsedRequest | None
    payload: Any
    response: Any
    exec_ms: float


def decode_json(body: bytes) -> Any:
    """The decoded body, or a 400 saying why it is not JSON."""
    if not body.strip():
        raise ScoringError(
            400,
            "The request body is empty; send a JSON object such as "
            '{"input_data": {"columns": [...], "data": [[...]]}}.',
        )
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass  # orjson refuses some valid JSON (lone surrogate escapes, integers past 64 bits)
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ScoringError(400, f"The request body is not valid JSON: {exc}.") from None


def to_jsonable(result: Any) -> list[Any]:
    """A model's output (ndarray, Series, DataFrame, list) as a JSON-ready list."""
    if isinstance(result, pd.DataFrame):
        result = result.to_numpy() if result.shape[1] > 1 else result.iloc[:, 0].to_numpy()
    elif isinstance(result, pd.Series):
        result = result.to_numpy()
    if isinstance(result, np.ndarray):
        return list(result.tolist())
    return [v.item() if isinstance(v, np.generic) else v for v in result]


def predict(model: LoadedModel, frame: pd.DataFrame, method: str = "predict") -> list[Any]:
    """Run ``method`` on the frame; JSON-ready predictions (labels or per-class probabilities).

    A model error caused by missing or infinite values the model cannot take
    is a 400 naming the columns (the client can fix it); any other model error
    is a :class:`ModelFailure` (500) carrying the original exception.
    """
    if method not in model.methods():
        raise ScoringError(
            400,
            f"Model {model.label or '(unnamed)'} does not support {method!r}; "
            f"use one of {', '.join(repr(m) for m in model.methods())}.",
        )
    try:
        result = getattr(model.estimator, method)(frame)
    except Exception as exc:
        raise _diagnose(frame, exc) from exc
    except SystemExit as exc:  # a model calling sys.exit() must not stop the worker
        raise ModelFailure(exc) from exc
    return to_jsonable(result)


def _diagnose(frame: pd.DataFrame, exc: Exception) -> ScoringError:
    """Blame the input when the error is about NaN/infinity and the input has some."""
    text = str(exc).lower()
    if isinstance(exc, ValueError | TypeError):
        if "nan" in text or "missing" in text:
            nulls = [str(c) for c in frame.columns if frame[c].isna().any()]
            if nulls:
                return ScoringError(
                    400,
                    f"The model cannot take missing values, but column(s) {nulls} contain "
                    "null/NaN. Send a value for each of them.",
                )
        if "infinity" in text:
            numeric = frame.select_dtypes("number")
            infinite = [str(c) for c in numeric.columns if np.isinf(numeric[c]).any()]
            if infinite:
                return ScoringError(
                    400,
                    f"The model cannot take infinite values, but column(s) {infinite} contain "
                    "Infinity. Send finite numbers.",
                )
    return ModelFailure(exc)


def _predictions(model: LoadedModel, request: ParsedRequest) -> list[Any]:
    """The row path for a small request it can take (proven equal at load), else :func:`predict`.

    Any exception on the row path means "not this request": the DataFrame path
    then answers, with today's errors and messages.
    """
    row_path = model.row_path
    if row_path is not None and request.columns is not None and request.rows <= MAX_ROWS:
        try:
            return row_path.predict(request.columns, request.rows, request.method)
        except (Exception, SystemExit):  # predict() turns a model's sys.exit() into a 500
            pass
    return predict(model, request.frame, request.method)


def _encode(response: Any) -> bytes:
    """Compact JSON; orjson (several times faster) unless a value is beyond it (big ints)."""
    try:
        return orjson.dumps(response)
    except TypeError:
        return json.dumps(response, separators=(",", ":")).encode("utf-8")


def score_body(body: bytes, model: LoadedModel) -> ScoreOutcome:
    """Decode, validate, predict and format one request body (the server's unit of work)."""
    started = time.perf_counter()
    payload = decode_json(body)
    request = parse_request(payload, model.schema)
    predictions = _predictions(model, request)
    response = format_response(request.format, predictions)
    encoded = _encode(response)
    return ScoreOutcome(
        body=encoded,
        request=request,
        payload=payload,
        response=response,
        exec_ms=(time.perf_counter() - started) * 1000.0,
    )
