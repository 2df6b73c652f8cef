"""Featurization: column type inference, imputation and encoding per model family.

Why not a scikit-learn ``ColumnTransformer``: the deployed model featurizes one
row per request, and a ColumnTransformer with encoders costs a few
milliseconds per call in pandas/sklearn overhead (measured: ~4.6 ms for an
OrdinalEncoder + LightGBM pipeline on one row). The :class:`Featurizer` below
does the same work with precomputed lookup tables and numpy, so a one-row
transform costs tens of microseconds, and an ensemble featurizes once per
family instead of once per member.

Two families cover the registry: ``tree`` (ordinal codes, NaN left to the
learner, categorical indices handed to LightGBM) and ``linear`` (median/mode
imputation, one-hot with rare levels grouped, standard scaling).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from automl_local.exceptions import ConfigError, DataError
from automl_local.settings import FeaturizationSettings

__all__ = [
    "IMPUTER_STRATEGIES",
    "ColumnPlan",
    "Featurizer",
    "check_featurization",
    "check_numeric",
    "featurize_families",
    "infer_column_plan",
]

IMPUTER_STRATEGIES = ("mean", "median", "most_frequent")
# Azure's column purposes (automl_local.data.COLUMN_PURPOSES) -> featurizer treatment.
_PURPOSE_KIND = {
    "Numeric": "numeric",
    "Categorical": "categorical",
    "CategoricalHash": "categorical",
    "DateTime": "datetime",
    "Text": "text",
    "Hashes": "ignore",
    "Ignore": "ignore",
}
_MAX_ONEHOT_LEVELS = 100
_TEXT_MIN_UNIQUE_RATIO = 0.5
_TEXT_MIN_MEAN_WORDS = 3.0


@dataclass
class ColumnPlan:
    """Which raw column is treated how; the featurization summary is built from it."""

    numeric: list[str] = field(default_factory=list)
    categorical: list[str] = field(default_factory=list)
    datetime: list[str] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    dropped: dict[str, str] = field(default_factory=dict)  # column -> reason

    @property
    def used(self) -> list[str]:
        return self.numeric + self.categorical + self.datetime + self.text


def _looks_like_id(s: pd.Series) -> bool:
    n = len(s)
    if n < 50 or s.nunique(dropna=True) < n:
        return False
    if pd.api.types.is_integer_dtype(s):
        diffs = np.diff(np.sort(s.to_numpy()))
        return bool((diffs == 1).all())
    return pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s)


def infer_column_plan(X: pd.DataFrame, purposes: dict[str, str] | None = None) -> ColumnPlan:
    """Decide each column's type as Azure's featurization would, honouring user purposes."""
    from automl_local.data import normalize_column_purposes

    purposes = normalize_column_purposes(purposes)
    plan = ColumnPlan()
    for col in purposes:
        if col not in X.columns:
            raise ConfigError(
                f"featurization.column_name_and_types names column {col!r}, which is not in the "
                f"training data (columns: {', '.join(map(str, X.columns))})."
            )
    for col in X.columns:
        s = X[col]
        forced = purposes.get(col)
        kind = _PURPOSE_KIND[forced] if forced else None
        if kind is None:
            if s.isna().all():
                plan.dropped[col] = "all values missing"
                continue
            if s.nunique(dropna=True) <= 1:
                plan.dropped[col] = "constant"
                continue
            if _looks_like_id(s):
                plan.dropped[col] = "unique per row (an identifier)"
                continue
            if pd.api.types.is_bool_dtype(s):
                kind = "categorical"
            elif pd.api.types.is_numeric_dtype(s):
                kind = "numeric"
            elif pd.api.types.is_datetime64_any_dtype(s):
                kind = "datetime"
            else:
                kind = _string_kind(s)
        if kind == "ignore":
            plan.dropped[col] = f"column_name_and_types: {forced}"
        else:
            getattr(plan, kind).append(col)
    if not plan.used:
        raise DataError(
            "no usable feature columns: every column was dropped "
            f"({'; '.join(f'{c}: {r}' for c, r in plan.dropped.items())}). "
            "Add informative columns or set featurization.column_name_and_types."
        )
    return plan


def _string_kind(s: pd.Series) -> str:
    values = s.dropna().astype(str)
    if (
        len(values)
        and values.nunique() / len(values) > _TEXT_MIN_UNIQUE_RATIO
        and values.str.split().str.len().mean() >= _TEXT_MIN_MEAN_WORDS
    ):
        return "text"
    sample = values.iloc[:2000]  # a sample decides; a full pass costs ~20 ms per column
    parsed = pd.to_numeric(sample, errors="coerce")
    if len(sample) and parsed.notna().mean() > 0.98:
        return "numeric"  # numbers read as text; bad cells are reported at fit time
    return "categorical"


def check_numeric(s: pd.Series, col: str) -> None:
    """Raise a clear error if a numeric column holds text that is not a number."""
    if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
        _to_numeric(s, col)


def _to_numeric(s: pd.Series | np.ndarray, col: str) -> np.ndarray:
    if isinstance(s, np.ndarray):  # object values of a few rows (see _column_reader)
        try:
            return s.astype(np.float64)
        except (TypeError, ValueError):  # None, pd.NA or text: the general path says which
            s = pd.Series(s, dtype=object)
    if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
        return s.to_numpy(dtype=np.float64, na_value=np.nan)
    parsed = pd.to_numeric(s, errors="coerce")
    bad = s[parsed.isna() & s.notna()]
    if len(bad):
        raise DataError(
            f"column {col!r} is numeric but holds text that is not a number: "
            f"{', '.join(map(repr, bad.astype(str).unique()[:3]))} ({len(bad)} rows). "
            "Clean those cells, or declare the column Categorical in "
            "featurization.column_name_and_types."
        )
    return parsed.to_numpy(dtype=np.float64, na_value=np.nan)


SMALL_FRAME_ROWS = 64  # scoring requests: read values as Python objects, skip pandas per column


def _column_reader(X: pd.DataFrame, *, small: bool) -> Any:
    """``col -> values``: a Series, or for a few rows an object array cut from one conversion.

    One ``to_numpy(dtype=object)`` for the whole frame costs ~0.4 ms for the
    bank data's 20 columns; reading them one Series at a time costs ~1.2 ms.
    """
    if not small:
        return lambda col: X[col]
    raw = X.to_numpy(dtype=object)
    position = {c: i for i, c in enumerate(X.columns)}
    return lambda col: raw[:, position[col]]


def _is_missing(v: Any) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and v != v)


def _codes(values: pd.Series | np.ndarray, levels: dict[Any, int], fill: Any = None) -> np.ndarray:
    """Map values to level codes; unseen or missing values become -1 (or ``fill``'s code)."""
    if isinstance(values, np.ndarray):  # a few rows: dict lookups beat pandas machinery
        if fill is not None:
            values = [fill if _is_missing(v) else v for v in values]
        return np.fromiter(
            (levels.get(v, -1) for v in values), dtype=np.float64, count=len(values)
        )
    if fill is not None:
        values = values.where(values.notna(), fill)
    # Not pd.Categorical(values, categories=...): pandas 3 warns that values outside the
    # categories (unseen levels, the rare levels one-hot leaves out) will raise.
    codes = pd.Index(list(levels), dtype=object).get_indexer(values.astype(object))
    return codes.astype(np.float64)


class Featurizer(TransformerMixin, BaseEstimator):
    """Raw DataFrame -> dense float matrix for one model family.

    Parameters are plain keywords (scikit-learn rules); fitted state ends in ``_``.
    """

    def __init__(
        self,
        *,
        family: str = "tree",
        plan: ColumnPlan | None = None,
        imputers: dict[str, str] | None = None,
        onehot: bool | None = None,
        max_text_features: int = 200,
    ) -> None:
        self.family = family
        self.plan = plan
        self.imputers = imputers
        self.onehot = onehot
        self.max_text_features = max_text_features

    # -- fit -------------------------------------------------------------
    def fit(self, X: pd.DataFrame, y: Any = None) -> Featurizer:
        plan = self.plan or infer_column_plan(X)
        imputers = dict(self.imputers or {})
        linear = self.family == "linear"
        onehot = linear if self.onehot is None else self.onehot
        self.plan_ = plan
        self.num_fill_: dict[str, float] = {}
        self.num_scale_: dict[str, tuple[float, float]] = {}
        for col in plan.numeric:
            x = _to_numeric(X[col], col)
            strategy = imputers.get(col, "median" if linear else None)
            # Every column gets its fill, not only those with a gap in training: a missing
            # value at scoring time is imputed (as Azure's featurization does), not a crash.
            if strategy is not None:
                self.num_fill_[col] = _fill_value(x, strategy, col)
            if linear:
                xf = np.where(np.isnan(x), self.num_fill_.get(col, 0.0), x)
                std = float(xf.std()) or 1.0
                self.num_scale_[col] = (float(xf.mean()), std)
        self.levels_: dict[str, dict[Any, int]] = {}
        self.cat_fill_: dict[str, Any] = {}
        for col in plan.categorical:
            s = X[col].astype(object).where(X[col].notna(), None)
            counts = s.dropna().value_counts()
            if onehot and len(counts) > _MAX_ONEHOT_LEVELS:
                counts = counts.iloc[:_MAX_ONEHOT_LEVELS]  # rarer levels share the all-zero row
            self.levels_[col] = {v: i for i, v in enumerate(counts.index)}
            strategy = imputers.get(col, "most_frequent" if linear else None)
            if strategy is not None and s.isna().any() and len(counts):
                self.cat_fill_[col] = counts.index[0]
        self.onehot_ = onehot
        self.text_: dict[str, Any] = {}
        for col in plan.text:
            from sklearn.feature_extraction.text import TfidfVectorizer

            vec = TfidfVectorizer(max_features=self.max_text_features, min_df=2)
            self.text_[col] = vec.fit(X[col].fillna("").astype(str))
        self.feature_names_out_ = self._names()
        self.categorical_indices_ = (
            [] if onehot else [len(plan.numeric) + i for i in range(len(plan.categorical))]
        )
        return self

    def _names(self) -> list[str]:
        names = list(self.plan_.numeric)
        for col in self.plan_.categorical:
            if self.onehot_:
                names += [f"{col}_{v}" for v in self.levels_[col]]
            else:
                names.append(col)
        for col in self.plan_.datetime:
            names += [f"{col}_{p}" for p in ("year", "month", "day", "dayofweek", "hour")]
        for col, vec in self.text_.items():
            names += [f"{col}_tfidf_{t}" for t in vec.get_feature_names_out()]
        return names

    # -- transform -------------------------------------------------------
    def transform(self, X: pd.DataFrame) -> np.ndarray:
        missing = [c for c in self.plan_.used if c not in X.columns]
        if missing:
            raise DataError(
                f"input is missing column(s) {', '.join(map(repr, missing))} that the model was "
                "trained on; send every training column."
            )
        column = _column_reader(X, small=len(X) <= SMALL_FRAME_ROWS)
        blocks: list[np.ndarray] = []
        for col in self.plan_.numeric:
            x = _to_numeric(column(col), col)
            if col in self.num_fill_:
                x = np.where(np.isnan(x), self.num_fill_[col], x)
            if col in self.num_scale_:
                mean, std = self.num_scale_[col]
                x = (x - mean) / std
            blocks.append(x[:, None])
        for col in self.plan_.categorical:
            codes = _codes(column(col), self.levels_[col], self.cat_fill_.get(col))
            if self.onehot_:
                k = len(self.levels_[col])
                block = np.zeros((len(codes), k))
                ok = codes >= 0
                block[np.nonzero(ok)[0], codes[ok].astype(int)] = 1.0
                blocks.append(block)
            else:
                blocks.append(np.where(codes < 0, np.nan, codes)[:, None])
        for col in self.plan_.datetime:
            d = pd.to_datetime(X[col], errors="coerce")
            parts = [d.dt.year, d.dt.month, d.dt.day, d.dt.dayofweek, d.dt.hour]
            blocks.append(
                np.column_stack([p.to_numpy(dtype=np.float64, na_value=np.nan) for p in parts])
            )
        for col, vec in self.text_.items():
            blocks.append(vec.transform(X[col].fillna("").astype(str)).toarray())
        if not blocks:
            return np.empty((len(X), 0))
        return np.hstack(blocks) if len(blocks) > 1 else blocks[0]

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray(self.feature_names_out_, dtype=object)

    def summary(self) -> list[dict[str, Any]]:
        """Azure's featurization summary: one entry per raw column."""
        rows: list[dict[str, Any]] = []
        for col in self.plan_.numeric:
            steps = ["Imputer"] if col in self.num_fill_ else []
            if col in self.num_scale_:
                steps.append("StandardScaler")
            rows.append(_summary_row(col, "Numeric", 1, steps))
        for col in self.plan_.categorical:
            n = len(self.levels_[col]) if self.onehot_ else 1
            steps = (["Imputer"] if col in self.cat_fill_ else []) + [
                "OneHotEncoder" if self.onehot_ else "LabelEncoder"
            ]
            rows.append(_summary_row(col, "Categorical", n, steps))
        for col in self.plan_.datetime:
            rows.append(_summary_row(col, "DateTime", 5, ["DateTimeTransformer"]))
        for col, vec in self.text_.items():
            rows.append(_summary_row(col, "Text", len(vec.get_feature_names_out()), ["TfIdf"]))
        for col, reason in self.plan_.dropped.items():
            row = _summary_row(col, "Ignore", 0, [])
            row.update(Dropped="Yes", Reason=reason)
            rows.append(row)
        return rows


def _summary_row(col: str, kind: str, count: int, steps: list[str]) -> dict[str, Any]:
    return {
        "RawFeatureName": col,
        "TypeDetected": kind,
        "Dropped": "No",
        "EngineeredFeatureCount": count,
        "Transformations": steps,
    }


def _fill_value(x: np.ndarray, strategy: str, col: str) -> float:
    finite = x[~np.isnan(x)]
    if not len(finite):
        return 0.0
    if strategy == "mean":
        return float(finite.mean())
    if strategy == "median":
        return float(np.median(finite))
    if strategy == "most_frequent":
        values, counts = np.unique(finite, return_counts=True)
        return float(values[counts.argmax()])
    raise ConfigError(
        f"featurization.transformer_params.imputer strategy {strategy!r} for column {col!r} is "
        f"not supported. Use one of: {', '.join(IMPUTER_STRATEGIES)}."
    )


# -- the job's ``featurization:`` settings --------------------------------------------


def check_featurization(X: pd.DataFrame, fs: FeaturizationSettings, plan: ColumnPlan) -> None:
    """Refuse featurization settings this data cannot honour, before anything is trained."""
    for col in plan.numeric:
        check_numeric(X[col], col)
    mode = (fs.mode or "auto").lower()
    if mode not in ("auto", "off", "custom"):
        raise ConfigError(f"featurization.mode must be auto, off or custom; got {mode!r}.")
    if mode == "off":
        non_numeric = plan.categorical + plan.text + plan.datetime
        if non_numeric:
            raise ConfigError(
                f"featurization.mode is off, but column(s) {', '.join(map(repr, non_numeric))} "
                "are not numeric. Encode them yourself, or set featurization.mode: auto."
            )
    for col, strategy in fs.imputer.items():
        if col not in X.columns:
            raise ConfigError(
                f"featurization.transformer_params.imputer names column {col!r}, which is not a "
                f"feature column (columns: {', '.join(map(str, X.columns))})."
            )
        if strategy not in IMPUTER_STRATEGIES:
            raise ConfigError(
                f"featurization.transformer_params.imputer strategy {strategy!r} for column "
                f"{col!r} is not supported. Use one of: {', '.join(IMPUTER_STRATEGIES)}."
            )


def featurize_families(
    X: pd.DataFrame, fs: FeaturizationSettings, plan: ColumnPlan, families: list[str]
) -> tuple[dict[str, Featurizer], dict[str, np.ndarray], dict[str, list[int]]]:
    """One fitted featurizer per model family, its matrix of ``X`` and its categorical columns.

    ``blocked_transformers`` maps onto the families: blocking OneHotEncoder
    gives the linear family ordinal codes, blocking LabelEncoder gives the tree
    family one-hot columns, blocking TfIdf drops the text features.
    """
    mode = (fs.mode or "auto").lower()
    blocked = {str(b).replace("_", "").lower() for b in fs.blocked_transformers}
    imputers = dict(fs.imputer) if mode == "custom" else {}
    featurizers: dict[str, Featurizer] = {}
    matrices: dict[str, np.ndarray] = {}
    categorical: dict[str, list[int]] = {}
    for family in families:
        onehot = None
        if family == "linear" and "onehotencoder" in blocked:
            onehot = False
        if family == "tree" and "labelencoder" in blocked:
            onehot = True
        f = Featurizer(family=family, plan=plan, imputers=imputers, onehot=onehot)
        f.max_text_features = 0 if "tfidf" in blocked else 200
        matrices[family] = f.fit(X).transform(X)
        featurizers[family] = f
        categorical[family] = f.categorical_indices_
    return featurizers, matrices, categorical
