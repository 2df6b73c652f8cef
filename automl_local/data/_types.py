"""Column purposes: featurization's ``column_name_and_types`` applied to a frame.

Why: Azure lets a job override the detected type of a column
(``featurization: column_name_and_types: {age: Categorical}``). The values are
Azure AutoML's feature types (``azureml.automl.core.constants.FeatureType``);
azure-ai-ml passes them through unchecked, so this module is where a typo
becomes a clear error instead of a silently ignored setting.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from automl_local.exceptions import ConfigError, DataError

__all__ = [
    "COLUMN_PURPOSES",
    "DROPPED_PURPOSES",
    "coerce_column_types",
    "normalize_column_purposes",
]

#: Azure AutoML feature types a user may assign (``AllNan`` is detected, never assigned).
COLUMN_PURPOSES: tuple[str, ...] = (
    "Numeric",
    "Categorical",
    "CategoricalHash",
    "DateTime",
    "Text",
    "Hashes",
    "Ignore",
)
#: Purposes whose columns the featurizer leaves out of the model (as Azure does).
DROPPED_PURPOSES: frozenset[str] = frozenset({"Hashes", "Ignore"})

_BY_LOWER = {p.lower(): p for p in COLUMN_PURPOSES}


def normalize_column_purposes(column_name_and_types: Mapping[str, str] | None) -> dict[str, str]:
    """Map each column to Azure's canonical purpose spelling (case-insensitive input)."""
    result: dict[str, str] = {}
    for column, purpose in (column_name_and_types or {}).items():
        canonical = _BY_LOWER.get(str(purpose).strip().lower())
        if canonical is None:
            raise ConfigError(
                f"featurization column_name_and_types[{column!r}] = {purpose!r} is not a column "
                f"purpose. Use one of: {', '.join(COLUMN_PURPOSES)}."
            )
        result[str(column)] = canonical
    return result


def _missing_column(df: pd.DataFrame, column: str) -> DataError:
    close = difflib.get_close_matches(column, [str(c) for c in df.columns], n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return DataError(
        f"featurization column_name_and_types names column {column!r}, which the training "
        f"data does not have.{hint} Columns: {', '.join(map(str, df.columns))}."
    )


def _as_text(series: pd.Series) -> pd.Series:
    """Strings, keeping missing values missing; whole floats print without '.0'."""
    if pd.api.types.is_float_dtype(series):
        values = series.dropna()
        if len(values) and bool((values % 1 == 0).all()):
            return pd.Series(
                [np.nan if pd.isna(v) else str(int(v)) for v in series],
                index=series.index,
                name=series.name,
            )
    return pd.Series(
        [np.nan if pd.isna(v) else str(v) for v in series], index=series.index, name=series.name
    )


def _as_numeric(series: pd.Series, column: str) -> pd.Series:
    if pd.api.types.is_bool_dtype(series):
        return series.astype(float)
    converted = pd.to_numeric(series, errors="coerce")
    bad = series[converted.isna() & series.notna()]
    if len(bad):
        examples = list(dict.fromkeys(bad.tolist()))[:5]
        raise DataError(
            f"column {column!r} is declared Numeric but has {len(bad)} non-numeric values, "
            f"e.g. {examples}. Clean those values, or declare the column Categorical."
        )
    return converted


def _as_datetime(series: pd.Series, column: str) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(series):
        return series
    converted = pd.to_datetime(series, errors="coerce", format="mixed")
    bad = series[converted.isna() & series.notna()]
    if len(bad):
        examples = list(dict.fromkeys(bad.tolist()))[:5]
        raise DataError(
            f"column {column!r} is declared DateTime but has {len(bad)} values that are not "
            f"dates, e.g. {examples}. Use ISO dates (2024-01-31), or declare it Categorical."
        )
    return converted


def coerce_column_types(
    df: pd.DataFrame, column_name_and_types: Mapping[str, str] | None
) -> pd.DataFrame:
    """Return a copy of ``df`` whose columns have the dtypes their purposes imply.

    ``Numeric`` -> numbers (error naming the bad values otherwise); ``Categorical``,
    ``CategoricalHash`` and ``Text`` -> strings; ``DateTime`` -> datetimes.
    ``Hashes`` and ``Ignore`` columns are left as they are: the featurizer drops
    them (:data:`DROPPED_PURPOSES`), which keeps them in the raw input signature
    so scoring requests that include them still validate.
    """
    purposes = normalize_column_purposes(column_name_and_types)
    out = df.copy()
    for column, purpose in purposes.items():
        if column not in out.columns:
            raise _missing_column(out, column)
        series: Any = out[column]
        if purpose == "Numeric":
            out[column] = _as_numeric(series, column)
        elif purpose in ("Categorical", "CategoricalHash", "Text"):
            out[column] = _as_text(series)
        elif purpose == "DateTime":
            out[column] = _as_datetime(series, column)
    return out
