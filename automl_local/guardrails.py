"""Data guardrails: the checks Azure AutoML reports before it trains, plus leakage.

Why: a model is only as good as its inputs, and Azure shows these findings on
the job's "Data guardrails" tab (and with ``show_output=True``). The same
report is produced locally, with Azure's names and states:

- ``passed``: nothing found; ``done``: something was found and handled
  (e.g. missing values imputed); ``alerted``: something was found that the
  user should fix.

Checks and thresholds (each chosen to match Azure's documented behaviour where
Azure has one, measured otherwise):

- *Validation split handling* (done): states the validation the engine chose.
- *Class balancing detection*: alerted when the smallest class has fewer than
  1/20 of the largest class's rows. Azure's documentation says AutoML handles
  imbalance up to 20:1, and a Microsoft answer gives the same 5 % heuristic.
- *Missing feature values imputation*: done when any feature has missing
  values, listing each column with its count and the imputation (Azure's
  defaults: mean for numbers, most frequent value otherwise).
- *High cardinality feature detection*: alerted for text/categorical columns
  with at least 20 distinct values and either more distinct values than half
  the rows or more than 1,000 (identifier-like columns carry no reusable
  signal). Azure reports ``done`` here because its featurizer hashes or drops
  them; this report asks the user to decide.
- *Feature leakage detection* (not an Azure guardrail): alerted for a column
  that (a) predicts the label almost perfectly on its own (single-feature
  AUC >= 0.95), or (b) predicts it strongly on its own (AUC >= 0.75) and
  carries signal no other column has: a quick all-feature model loses
  >= 0.10 AUC when the column is shuffled, and still >= 0.05 AUC when it is
  refitted without the column (the refit stops near-copies, which share the
  signal, from being flagged). On the bank-marketing file only ``duration``
  is flagged (alone 0.82; shuffled -0.20 to -0.25; removed -0.13 to -0.19,
  over the full file and five 90 % resamples; every other column at most
  0.78 alone and 0.05 shuffled); the data set's documentation says it is
  known only after the call ends. About 1 s of CPU on that file.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "GUARDRAIL_STATUSES",
    "HIGH_CARDINALITY_MAX_UNIQUE",
    "HIGH_CARDINALITY_MIN_UNIQUE",
    "HIGH_CARDINALITY_RATIO",
    "IMBALANCE_RATIO",
    "LEAKAGE_ALONE_AUC",
    "LEAKAGE_REMOVED_AUC_DROP",
    "LEAKAGE_SHUFFLED_AUC_DROP",
    "LEAKAGE_STRONG_AUC",
    "Guardrail",
    "feature_leakage_scores",
    "format_guardrails",
    "run_guardrails",
]

GUARDRAIL_STATUSES = ("passed", "done", "alerted")
IMBALANCE_RATIO = 1 / 20
HIGH_CARDINALITY_RATIO = 0.5
HIGH_CARDINALITY_MAX_UNIQUE = 1000
HIGH_CARDINALITY_MIN_UNIQUE = 20
LEAKAGE_ALONE_AUC = 0.95
LEAKAGE_STRONG_AUC = 0.75
LEAKAGE_SHUFFLED_AUC_DROP = 0.10
LEAKAGE_REMOVED_AUC_DROP = 0.05

_LEAKAGE_MAX_ROWS = 20_000
_LEAKAGE_MIN_ROWS_FOR_MODEL = 200
_PROBE_MAX_TRAIN = 9000
_PROBE_MAX_HELD_OUT = 2000
_N_BINS = 32
_SMOOTHING = 10.0
_MODEL_CATEGORIES = 250


@dataclass
class Guardrail:
    """One finding of the data guardrails, as Azure's studio tab shows it."""

    name: str
    status: str
    description: str
    details: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.status not in GUARDRAIL_STATUSES:
            raise ValueError(f"status must be one of {GUARDRAIL_STATUSES}, got {self.status!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_guardrails(
    X: pd.DataFrame,
    y: pd.Series,
    *,
    validation: str,
    sample_weight: Sequence[float] | np.ndarray | pd.Series | None = None,
    imputation: Mapping[str, str] | None = None,
) -> list[Guardrail]:
    """Run every guardrail on the training features ``X`` and labels ``y``.

    ``validation`` is the engine's sentence for the validation it chose (e.g.
    ``"10% holdout: more than 20,000 rows"``); ``imputation`` maps columns to
    custom imputer strategies from ``featurization.transformer_params``.
    """
    weights = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
    return [
        _validation_split(X, validation),
        _class_balance(y),
        _missing_values(X, imputation or {}),
        _high_cardinality(X),
        _feature_leakage(X, y, weights),
    ]


# --------------------------------------------------------------------------- simple checks


def _validation_split(X: pd.DataFrame, validation: str) -> Guardrail:
    return Guardrail(
        "Validation split handling",
        "done",
        f"Validation: {validation}. Every model is scored on data it was not trained on.",
        [{"validation": validation, "training_rows": len(X)}],
    )


def _class_balance(y: pd.Series) -> Guardrail:
    counts = pd.Series(y).value_counts(dropna=True)
    details = [
        {"class": _plain(label), "count": int(n), "share": round(float(n) / counts.sum(), 4)}
        for label, n in counts.items()
    ]
    ratio = float(counts.min()) / float(counts.max()) if len(counts) else 1.0
    if ratio < IMBALANCE_RATIO:
        return Guardrail(
            "Class balancing detection",
            "alerted",
            f"Imbalanced classes were detected: the smallest class has {ratio:.1%} of the rows "
            f"of the largest (alert below {IMBALANCE_RATIO:.0%}). To avoid a biased model, add "
            "data for the small classes, set weight_column_name, or use AUC_weighted / "
            "norm_macro_recall as the primary metric.",
            details,
        )
    return Guardrail(
        "Class balancing detection",
        "passed",
        "Your inputs were analyzed, and all classes are balanced in your training data "
        f"(smallest/largest class ratio {ratio:.1%}).",
        details,
    )


def _is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _missing_values(X: pd.DataFrame, imputation: Mapping[str, str]) -> Guardrail:
    details = []
    for column in X.columns:
        missing = int(X[column].isna().sum())
        if not missing:
            continue
        if missing == len(X):
            how = "column dropped (all values missing)"
        else:
            how = imputation.get(column) or ("mean" if _is_numeric(X[column]) else "most_frequent")
        details.append(
            {
                "column": str(column),
                "missing": missing,
                "share": round(missing / len(X), 4),
                "imputation": how,
            }
        )
    if not details:
        return Guardrail(
            "Missing feature values imputation",
            "passed",
            "No missing feature values were detected in the training data.",
        )
    return Guardrail(
        "Missing feature values imputation",
        "done",
        f"Missing feature values were detected in {len(details)} column(s) of the training "
        "data and were imputed (numeric: mean, categorical: most frequent value, unless "
        "featurization.transformer_params sets an imputer).",
        details,
    )


def _high_cardinality(X: pd.DataFrame) -> Guardrail:
    details: list[dict[str, Any]] = []
    rows = max(len(X), 1)
    for column in X.columns:
        series = X[column]
        if _is_numeric(series) or pd.api.types.is_datetime64_any_dtype(series):
            continue
        unique = int(series.nunique(dropna=True))
        ratio = unique / rows
        if unique >= HIGH_CARDINALITY_MIN_UNIQUE and (
            ratio > HIGH_CARDINALITY_RATIO or unique > HIGH_CARDINALITY_MAX_UNIQUE
        ):
            details.append(
                {"column": str(column), "unique_values": unique, "unique_ratio": round(ratio, 4)}
            )
    if not details:
        return Guardrail(
            "High cardinality feature detection",
            "passed",
            "Your inputs were analyzed, and no high cardinality features were detected.",
        )
    return Guardrail(
        "High cardinality feature detection",
        "alerted",
        f"High cardinality features were detected: {', '.join(d['column'] for d in details)}. "
        "Columns that are nearly unique per row (IDs, hashes, free text) rarely generalize; "
        "drop them, or declare them Hashes/Ignore (or Text) in featurization "
        "column_name_and_types.",
        details,
    )


# --------------------------------------------------------------------------- leakage


def _feature_leakage(X: pd.DataFrame, y: pd.Series, weights: np.ndarray | None) -> Guardrail:
    scores = feature_leakage_scores(X, y, sample_weight=weights)
    suspects = [s for s in scores if s["suspect"]]
    if not suspects:
        top = ", ".join(f"{s['column']} {s['single_feature_auc']:.2f}" for s in scores[:3])
        return Guardrail(
            "Feature leakage detection",
            "passed",
            "No single feature predicts the label suspiciously well on its own "
            f"(highest single-feature AUC: {top or 'n/a'}).",
        )
    reasons = []
    for score in suspects:
        if score["single_feature_auc"] >= LEAKAGE_ALONE_AUC:
            why = f"almost perfect on its own (AUC {score['single_feature_auc']:.2f})"
        else:
            why = (
                f"strong on its own (AUC {score['single_feature_auc']:.2f}) and not replaced by "
                f"any other column (the model loses {score['auc_drop_when_removed']:.2f} AUC "
                "without it)"
            )
        reasons.append(f"{score['column']}: {why}")
    return Guardrail(
        "Feature leakage detection",
        "alerted",
        f"Possible target leakage. {'; '.join(reasons)}. A feature known only after the "
        "outcome (e.g. a call's duration) inflates validation scores and fails in production; "
        "remove it unless it is available when predictions are made.",
        [{k: v for k, v in s.items() if k != "suspect"} for s in suspects],
    )


def feature_leakage_scores(
    X: pd.DataFrame,
    y: pd.Series,
    *,
    sample_weight: np.ndarray | None = None,
    max_rows: int = _LEAKAGE_MAX_ROWS,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """Per-column leakage evidence, strongest single-feature AUC first.

    For each column:

    - ``single_feature_auc``: out-of-fold (3-fold) AUC of the label's rate
      per value (numbers in up to 32 quantile bins): how well it predicts alone;
    - ``auc_drop_when_shuffled``: AUC a quick gradient-boosting model on all
      columns loses when the column is shuffled in held-out rows (``None``
      below 200 rows);
    - ``auc_drop_when_removed``: AUC lost when that model is refitted without
      the column, computed only for columns that are strong alone and whose
      shuffling costs >= 0.10 (``None`` otherwise);
    - ``suspect``: the guardrail's verdict (see the module docstring).

    Works on a stratified sample of at most ``max_rows`` rows; the result is
    deterministic for a given ``seed``.
    """
    from sklearn.model_selection import StratifiedKFold

    labels = pd.Series(y).reset_index(drop=True)
    classes, codes_y = np.unique(labels.astype(str).to_numpy(), return_inverse=True)
    if len(classes) < 2 or X.shape[1] == 0:
        return []
    frame = X.reset_index(drop=True)
    weights = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
    rows = _sample_rows(codes_y, max_rows, seed)
    frame, codes_y = frame.iloc[rows].reset_index(drop=True), codes_y[rows]
    weights = None if weights is None else weights[rows]
    n_splits = int(min(3, np.bincount(codes_y).min()))
    if n_splits < 2:
        return []
    folds = list(
        StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed).split(
            np.zeros(len(codes_y)), codes_y
        )
    )
    probe = _ModelProbe.build(frame, codes_y, weights, seed)
    shuffled = probe.shuffled_drops() if probe is not None else {}
    # About 100 rows per bin, so small data sets do not score noise as signal.
    n_bins = max(4, min(_N_BINS, len(frame) // 100))
    scores: list[dict[str, Any]] = []
    for name in frame.columns:
        column = str(name)
        codes = _encode(frame[name], n_bins)
        auc = _single_feature_auc(codes, codes_y, weights, len(classes), folds)
        drop = shuffled.get(column)
        removed = None
        strong = auc >= LEAKAGE_STRONG_AUC and (drop or 0.0) >= LEAKAGE_SHUFFLED_AUC_DROP
        if probe is not None and strong:
            removed = probe.removed_drop(column)
        suspect = auc >= LEAKAGE_ALONE_AUC or (
            removed is not None and removed >= LEAKAGE_REMOVED_AUC_DROP
        )
        scores.append(
            {
                "column": column,
                "single_feature_auc": round(auc, 4),
                "auc_drop_when_shuffled": None if drop is None else round(drop, 4),
                "auc_drop_when_removed": None if removed is None else round(removed, 4),
                "suspect": bool(suspect),
            }
        )
    scores.sort(key=lambda s: (-s["single_feature_auc"], s["column"]))
    return scores


def _sample_rows(codes_y: np.ndarray, max_rows: int, seed: int) -> np.ndarray:
    if len(codes_y) <= max_rows:
        return np.arange(len(codes_y))
    from sklearn.model_selection import train_test_split

    rows, _ = train_test_split(
        np.arange(len(codes_y)), train_size=max_rows, random_state=seed, stratify=codes_y
    )
    return np.sort(rows)


def _numeric_values(series: pd.Series) -> np.ndarray | None:
    """Floats (NaN for missing) for number, boolean and datetime columns; None for the rest."""
    if pd.api.types.is_datetime64_any_dtype(series):
        stamps = pd.to_datetime(series)
        values = stamps.to_numpy(dtype="datetime64[ns]").astype("int64").astype(float)
        values[stamps.isna().to_numpy()] = np.nan
        return values
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        return pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return None


def _encode(series: pd.Series, n_bins: int) -> np.ndarray:
    """Integer codes per value (numbers in quantile bins); missing values get their own code."""
    values = _numeric_values(series)
    if values is None:
        codes, _ = pd.factorize(series, use_na_sentinel=False)
        return codes.astype(np.int64)
    missing = np.isnan(values)
    finite = values[~missing]
    if len(finite) == 0:
        return np.zeros(len(values), dtype=np.int64)
    if len(np.unique(finite)) > n_bins:
        edges = np.unique(np.quantile(finite, np.linspace(0, 1, n_bins + 1)[1:-1]))
        codes = np.searchsorted(edges, values, side="right")
    else:
        _, codes = np.unique(np.where(missing, np.inf, values), return_inverse=True)
    return np.where(missing, codes.max() + 1, codes).astype(np.int64)


def _binary_auc(positive: np.ndarray, scores: np.ndarray, weights: np.ndarray) -> float:
    """Weighted ROC AUC with ties counted half (sklearn's value, without its overhead)."""
    _, groups = np.unique(scores, return_inverse=True)
    pos = np.bincount(groups, weights=weights * positive)
    neg = np.bincount(groups, weights=weights * (1 - positive))
    total_pos, total_neg = pos.sum(), neg.sum()
    if total_pos == 0 or total_neg == 0:
        return 0.5
    below = np.cumsum(neg) - neg
    return float((pos * (below + 0.5 * neg)).sum() / (total_pos * total_neg))


def _auc(codes_y: np.ndarray, scores: np.ndarray, weights: np.ndarray | None) -> float:
    """Binary AUC, or one-vs-rest AUC averaged with class weights (Azure's AUC_weighted)."""
    w = np.ones(len(codes_y)) if weights is None else weights
    if scores.shape[1] == 2:
        return _binary_auc((codes_y == 1).astype(float), scores[:, 1], w)
    support = np.bincount(codes_y, weights=w, minlength=scores.shape[1])
    per_class = [
        _binary_auc((codes_y == k).astype(float), scores[:, k], w) for k in range(scores.shape[1])
    ]
    return float(np.dot(per_class, support) / support.sum())


def _single_feature_auc(
    codes: np.ndarray,
    codes_y: np.ndarray,
    weights: np.ndarray | None,
    n_classes: int,
    folds: list[tuple[np.ndarray, np.ndarray]],
) -> float:
    """Out-of-fold AUC of the smoothed label rate per code: how well the column does alone."""
    n_codes = int(codes.max()) + 1
    w = np.ones(len(codes)) if weights is None else weights
    oof = np.zeros((len(codes), n_classes))
    for train, test in folds:
        joint = np.bincount(
            codes[train] * n_classes + codes_y[train],
            weights=w[train],
            minlength=n_codes * n_classes,
        ).reshape(n_codes, n_classes)
        prior = joint.sum(axis=0) / joint.sum()
        rates = (joint + _SMOOTHING * prior) / (joint.sum(axis=1, keepdims=True) + _SMOOTHING)
        oof[test] = rates[codes[test]]
    return _auc(codes_y, oof, weights)


class _ModelProbe:
    """A quick all-feature model on a held-out split, asked how much it needs each column.

    Shuffling a column in the held-out rows (permutation importance) is cheap
    but overstates columns that have a near-copy, because the fitted model
    may lean on either; refitting without the column answers "does any other
    column carry this signal", so it is done only for the few columns that
    already look suspicious. One thread: OpenMP spinning on a busy machine
    costs far more than it gains for a model this small.
    """

    def __init__(
        self,
        frame: pd.DataFrame,
        codes_y: np.ndarray,
        weights: np.ndarray | None,
        seed: int,
        split: tuple[np.ndarray, np.ndarray],
    ) -> None:
        self.columns = [str(c) for c in frame.columns]
        self.matrix, self.categorical = _model_matrix(frame)
        self.codes_y, self.weights, self.seed = codes_y, weights, seed
        self.train, self.test = split
        everything = list(range(len(self.columns)))
        self.model = self._fit(everything)
        self.base = self._score(self.model, everything, self.matrix[self.test])

    @classmethod
    def build(
        cls, frame: pd.DataFrame, codes_y: np.ndarray, weights: np.ndarray | None, seed: int
    ) -> _ModelProbe | None:
        """The probe, or None when the data is too small for a held-out split to mean much."""
        from sklearn.model_selection import train_test_split

        if len(frame) < _LEAKAGE_MIN_ROWS_FOR_MODEL:
            return None
        test_size = min(len(frame) // 3, _PROBE_MAX_HELD_OUT)
        try:
            split = train_test_split(
                np.arange(len(frame)),
                train_size=min(len(frame) - test_size, _PROBE_MAX_TRAIN),
                test_size=test_size,
                random_state=seed,
                stratify=codes_y,
            )
        except ValueError:  # a class too small to appear on both sides of the split
            return None
        return cls(frame, codes_y, weights, seed, (split[0], split[1]))

    def _fit(self, keep: list[int]) -> Any:
        from sklearn.ensemble import HistGradientBoostingClassifier
        from threadpoolctl import threadpool_limits

        model = HistGradientBoostingClassifier(
            max_iter=40,
            learning_rate=0.2,
            max_leaf_nodes=15,
            early_stopping=False,
            categorical_features=[self.categorical[i] for i in keep],
            random_state=self.seed,
        )
        weights = None if self.weights is None else self.weights[self.train]
        with threadpool_limits(limits=1):
            rows_cols = np.ix_(self.train, np.asarray(keep))
            model.fit(self.matrix[rows_cols], self.codes_y[self.train], weights)
        return model

    def _score(self, model: Any, keep: list[int], held_out: np.ndarray) -> float:
        from threadpoolctl import threadpool_limits

        weights = None if self.weights is None else self.weights[self.test]
        with threadpool_limits(limits=1):
            proba = model.predict_proba(held_out[:, keep])
        return _auc(self.codes_y[self.test], proba, weights)

    def shuffled_drops(self) -> dict[str, float]:
        rng = np.random.default_rng(self.seed)
        everything = list(range(len(self.columns)))
        held_out = self.matrix[self.test]
        drops = {}
        for index, column in enumerate(self.columns):
            shuffled = held_out.copy()
            shuffled[:, index] = rng.permutation(shuffled[:, index])
            drops[column] = self.base - self._score(self.model, everything, shuffled)
        return drops

    def removed_drop(self, column: str) -> float:
        keep = [i for i, c in enumerate(self.columns) if c != column]
        if not keep:
            return self.base - 0.5
        return self.base - self._score(self._fit(keep), keep, self.matrix[self.test])


def _model_matrix(frame: pd.DataFrame) -> tuple[np.ndarray, list[bool]]:
    """A float matrix for HistGradientBoosting: numbers as-is, categories as capped codes."""
    columns, categorical = [], []
    for column in frame.columns:
        series = frame[column]
        values = _numeric_values(series)
        if values is None:
            top = series.value_counts().index[:_MODEL_CATEGORIES]
            codes = pd.Categorical(series.where(series.isin(top) | series.isna(), "__other__"))
            values = codes.codes.astype(float)
            values[values < 0] = np.nan
        if np.isnan(values).all():  # HistGradientBoosting cannot bin a column of only NaN
            values = np.zeros(len(values))
        columns.append(values)
        categorical.append(_numeric_values(series) is None)
    return np.column_stack(columns), categorical


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


# --------------------------------------------------------------------------- report


def _details_table(rows: list[dict[str, Any]]) -> list[str]:
    headers = list(dict.fromkeys(k for row in rows for k in row))
    cells = [[str(row.get(h, "")) for h in headers] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) + 2 for i, h in enumerate(headers)]
    rule = "+" + "+".join("-" * w for w in widths) + "+"
    head_rule = "+" + "+".join("=" * w for w in widths) + "+"
    lines = [rule, "|" + "|".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + "|"]
    lines.append(head_rule)
    for row in cells:
        lines.append("|" + "|".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + "|")
        lines.append(rule)
    return lines


def format_guardrails(guardrails: Sequence[Guardrail], *, width: int = 100) -> str:
    """Render the guardrails the way Azure's ``show_output=True`` prints them."""
    bar = "*" * width
    label = 14
    out = [bar, "DATA GUARDRAILS:", ""]
    for guardrail in guardrails:
        wrapped = textwrap.wrap(guardrail.description, width=width - label) or [""]
        out.append("TYPE:".ljust(label) + guardrail.name)
        out.append("STATUS:".ljust(label) + guardrail.status.upper())
        out.append("DESCRIPTION:".ljust(label) + wrapped[0])
        out.extend(" " * label + line for line in wrapped[1:])
        if guardrail.details:
            out.append("DETAILS:")
            out.extend(_details_table(guardrail.details))
        out.extend(["", bar, ""])
    return "\n".join(out).rstrip() + "\n"
