"""From job settings to arrays: read the data, encode the label, choose validation.

Azure's validation rule is followed when the job names none: more than
20,000 rows -> a 10 % holdout; 1,000 to 20,000 rows -> 3-fold
cross-validation; fewer than 1,000 -> 10 folds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from automl_local.exceptions import ConfigError, DataError
from automl_local.settings import JobSettings

__all__ = ["PreparedData", "prepare", "stratified_splits"]

HOLDOUT_ROWS = 20_000


@dataclass
class PreparedData:
    """Everything the search needs, label-encoded; ``X`` holds raw feature columns."""

    X: pd.DataFrame
    y: np.ndarray
    w: np.ndarray | None
    classes: list
    splits: list[tuple[np.ndarray, np.ndarray]]
    validation: str  # a sentence describing the choice, shown in guardrails
    X_test: pd.DataFrame | None = None
    y_test: np.ndarray | None = None
    w_test: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)
    # True when the job drew the holdout itself (Azure's rule or validation_data_size):
    # rows it may re-split by cross-validation; a validation_data table or custom split
    # columns are the user's choice and stay as given.
    random_holdout: bool = False

    @property
    def eval_index(self) -> np.ndarray:
        """Rows that get an out-of-fold prediction (all rows in CV, the holdout otherwise)."""
        return np.concatenate([ev for _, ev in self.splits])

    @property
    def cross_validated(self) -> bool:
        return len(self.splits) > 1


def _read(path: str, what: str) -> pd.DataFrame:
    from automl_local.data import read_table

    frame = read_table(path)
    if frame.empty:
        raise DataError(f"{what} {path!r} has no rows. Point {what} at a table with data.")
    return frame


def _encode_labels(
    y_raw: pd.Series, target: str, positive_label: object
) -> tuple[np.ndarray, list]:
    classes = sorted(pd.unique(y_raw), key=lambda v: (str(type(v)), v))
    if positive_label is not None:
        matches = [c for c in classes if str(c) == str(positive_label)]
        if not matches:
            raise ConfigError(
                f"positive_label {positive_label!r} is not a value of target column {target!r} "
                f"(values: {', '.join(map(repr, classes[:10]))})."
            )
        if len(classes) == 2:  # the positive class is the second column of predict_proba
            classes = [c for c in classes if c != matches[0]] + [matches[0]]
    index = {c: i for i, c in enumerate(classes)}
    return np.array([index[v] for v in y_raw], dtype=np.int64), list(classes)


def stratified_splits(
    n_splits: int, y: np.ndarray, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Shuffled k folds, stratified when every class has at least ``n_splits`` rows."""
    from sklearn.model_selection import KFold, StratifiedKFold

    if np.bincount(y).min() >= n_splits:
        cv = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
        return list(cv.split(np.zeros(len(y)), y))
    cv = KFold(n_splits=n_splits, shuffle=True, random_state=seed)
    return list(cv.split(np.zeros(len(y))))


def _holdout(size: float, y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(y))
    stratify = y if np.bincount(y).min() >= 2 else None
    tr, ev = train_test_split(idx, test_size=size, random_state=seed, stratify=stratify)
    return np.sort(tr), np.sort(ev)


def prepare(settings: JobSettings) -> PreparedData:
    """Read and check the data and fix the validation scheme, or raise a clear error."""
    from automl_local.data import check_training_frame

    s = settings
    _check_validation_options(s)
    train = _read(s.training_data, "training_data")
    check_training_frame(
        train,
        s.target_column_name,
        weight_column=s.weight_column_name,
        cv_split_columns=s.cv_split_column_names,
    )
    notes: list[str] = []
    n_train = len(train)
    valid = None
    if s.validation_data:
        valid = _read(s.validation_data, "validation_data")
        check_training_frame(valid, s.target_column_name, weight_column=s.weight_column_name)
        missing = sorted(set(train.columns) - set(valid.columns))
        if missing:
            raise DataError(
                f"validation_data lacks column(s) {', '.join(map(repr, missing))} that "
                "training_data has; both tables need the same columns."
            )
        train = pd.concat([train, valid[train.columns]], ignore_index=True)
    test = _read(s.test_data, "test_data") if s.test_data else None

    target = s.target_column_name
    y_all, classes = _encode_labels(train[target], target, s.positive_label)
    if test is not None:
        if target not in test.columns:
            raise DataError(
                f"test_data has no target column {target!r}; it needs the same columns as "
                "training_data."
            )
        unseen = set(test[target].unique()) - set(classes)
        if unseen:
            raise DataError(
                f"test_data has label value(s) {sorted(map(str, unseen))} that training_data "
                "never shows; the model cannot predict them."
            )
    elif s.test_data_size:
        tr, te = _holdout(float(s.test_data_size), y_all, s.seed + 1)
        test, train, y_all = train.iloc[te], train.iloc[tr].reset_index(drop=True), y_all[tr]
        n_train = len(train)
        notes.append(
            f"test_data_size={s.test_data_size}: {len(te)} rows held out for the test run"
        )

    drop = [target, *(s.cv_split_column_names or [])]
    if s.weight_column_name:
        drop.append(s.weight_column_name)
    w = train[s.weight_column_name].to_numpy(dtype=float) if s.weight_column_name else None
    X = train.drop(columns=drop).reset_index(drop=True)

    idx = np.arange(len(X))
    if valid is not None:
        splits = [(idx[:n_train], idx[n_train:])]
        validation = f"validation_data given: {len(X) - n_train} rows used for validation"
    elif s.cv_split_column_names:
        splits = []
        for col in s.cv_split_column_names:
            flags = train[col].to_numpy()
            if not set(np.unique(flags)) <= {0, 1}:
                raise DataError(
                    f"cv_split_column_names column {col!r} must hold 1 (train) or 0 (validate); "
                    f"found {sorted(map(str, np.unique(flags)))[:5]}."
                )
            splits.append((idx[flags == 1], idx[flags == 0]))
        validation = f"custom cross-validation: {len(splits)} folds from cv_split_column_names"
    elif s.validation_data_size:
        splits = [_holdout(float(s.validation_data_size), y_all, s.seed)]
        validation = (
            f"validation_data_size={s.validation_data_size}: "
            f"{len(splits[0][1])} rows held out for validation"
        )
    else:
        folds = s.n_cross_validations
        if folds is None and len(X) > HOLDOUT_ROWS:
            splits = [_holdout(0.1, y_all, s.seed)]
            validation = (
                f"{len(X):,} rows > {HOLDOUT_ROWS:,} and no validation set or folds given: "
                "10 % holdout validation (Azure's default)"
            )
        else:
            if folds in (None, "auto"):
                folds = 10 if len(X) < 1000 else 3 if len(X) <= HOLDOUT_ROWS else 5
            splits = stratified_splits(int(folds), y_all, s.seed)
            validation = f"{folds}-fold cross-validation"
    y_test = w_test = X_test = None
    if test is not None:
        y_test = np.array([classes.index(v) for v in test[target]], dtype=np.int64)
        w_test = test[s.weight_column_name].to_numpy(float) if s.weight_column_name else None
        X_test = test[X.columns].reset_index(drop=True)
    random_holdout = valid is None and not s.cv_split_column_names and len(splits) == 1
    return PreparedData(
        X, y_all, w, classes, splits, validation, X_test, y_test, w_test, notes, random_holdout
    )


def _check_validation_options(s: JobSettings) -> None:
    chosen = [
        name
        for name, value in (
            ("validation_data", s.validation_data),
            ("validation_data_size", s.validation_data_size),
            ("n_cross_validations", s.n_cross_validations),
            ("cv_split_column_names", s.cv_split_column_names),
        )
        if value not in (None, [], "")
    ]
    if len(chosen) > 1 and set(chosen) != {"n_cross_validations", "cv_split_column_names"}:
        raise ConfigError(
            f"{' and '.join(chosen)} are both set; choose one way to validate "
            "(a validation table, a holdout fraction, or cross-validation folds)."
        )
    k = s.n_cross_validations
    if k not in (None, "auto") and (not isinstance(k, int) or k < 2):
        raise ConfigError(
            f"n_cross_validations must be an integer of at least 2 or 'auto'; got {k!r}."
        )
    for name in ("validation_data_size", "test_data_size"):
        v = getattr(s, name)
        if v is not None and not 0.0 < float(v) < 1.0:
            raise ConfigError(f"{name} must be a fraction between 0 and 1; got {v!r}.")
    if s.test_data_size and s.validation_data:
        raise ConfigError(
            "test_data_size cannot be combined with validation_data; give test_data instead."
        )
    local = not str(s.training_data).startswith(("http://", "https://"))
    if s.training_data and local and not Path(s.training_data).exists():
        raise DataError(
            f"training_data {s.training_data!r} does not exist. Check the path in the job "
            "spec (relative paths are read from the YAML file's folder)."
        )
