"""coerce_column_types (featurization purposes) and check_training_frame."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from automl_local.data import (
    COLUMN_PURPOSES,
    check_training_frame,
    coerce_column_types,
    normalize_column_purposes,
)
from automl_local.exceptions import ConfigError, DataError


@pytest.fixture
def df() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "age": ["31", "42", None, "57"],
            "zip": [1010.0, 2020.0, np.nan, 3030.0],
            "joined": ["2024-01-31", "2023-12-01", None, "2022-06-15"],
            "notes": ["a", "b", "c", "d"],
            "id": ["x1", "x2", "x3", "x4"],
            "w": [1.0, 2.0, 0.5, 1.0],
            "fold": [0, 1, 0, 1],
            "y": ["no", "yes", "no", "yes"],
        }
    )


def test_purposes_match_azure_feature_types() -> None:
    assert set(COLUMN_PURPOSES) == {
        "Numeric",
        "Categorical",
        "CategoricalHash",
        "DateTime",
        "Text",
        "Hashes",
        "Ignore",
    }
    assert normalize_column_purposes({"a": "numeric", "b": " DATETIME "}) == {
        "a": "Numeric",
        "b": "DateTime",
    }
    with pytest.raises(ConfigError, match=r"column_name_and_types\['a'\] = 'Number' is not"):
        normalize_column_purposes({"a": "Number"})


def test_coerce_applies_each_purpose(df: pd.DataFrame) -> None:
    out = coerce_column_types(
        df,
        {
            "age": "Numeric",
            "zip": "Categorical",
            "joined": "DateTime",
            "notes": "Text",
            "id": "Hashes",
        },
    )
    assert out["age"].tolist()[:2] == [31, 42] and np.isnan(out["age"].iloc[2])
    assert out["zip"].tolist()[:2] == ["1010", "2020"] and pd.isna(out["zip"].iloc[2])
    assert out["joined"].iloc[0] == pd.Timestamp("2024-01-31") and pd.isna(out["joined"].iloc[2])
    assert out["id"].tolist() == df["id"].tolist()  # left for the featurizer to drop
    assert df["age"].iloc[0] == "31"  # the input is not modified


def test_coerce_errors_name_column_and_values(df: pd.DataFrame) -> None:
    bad = df.assign(age=["31", "forty", None, "n/a"])
    with pytest.raises(
        DataError,
        match=r"column 'age' is declared Numeric but has 2 non-numeric values, "
        r"e.g. \['forty', 'n/a'\]",
    ):
        coerce_column_types(bad, {"age": "Numeric"})
    with pytest.raises(DataError, match=r"'joined' is declared DateTime .*\['someday'\]"):
        coerce_column_types(
            df.assign(joined=["someday", None, None, None]), {"joined": "datetime"}
        )
    with pytest.raises(DataError, match=r"names column 'ages'.*Did you mean 'age'\?"):
        coerce_column_types(df, {"ages": "Numeric"})


def test_valid_frame_passes(df: pd.DataFrame) -> None:
    check_training_frame(df, "y", weight_column="w", cv_split_columns=["fold"])


def test_empty_training_data() -> None:
    with pytest.raises(DataError, match=r"the training data is empty \(0 rows, 2 columns\)"):
        check_training_frame(pd.DataFrame({"a": [], "y": []}), "y")


def test_missing_target_suggests_close_match(df: pd.DataFrame) -> None:
    with pytest.raises(
        DataError,
        match=r"target_column_name 'Y' is not a column.*Did you mean 'y'\?.*Columns: age",
    ):
        check_training_frame(df, "Y")
    with pytest.raises(DataError, match=r"target_column_name 'label' is not a column.*Columns:"):
        check_training_frame(df, "label")


def test_missing_labels_and_single_class(df: pd.DataFrame) -> None:
    with pytest.raises(
        DataError, match=r"'y' has 2 missing values \(of 4 rows\).*Drop those rows"
    ):
        check_training_frame(df.assign(y=["no", None, "yes", np.nan]), "y")
    with pytest.raises(DataError, match=r"'y' has a single class \('no'\) in 4 rows"):
        check_training_frame(df.assign(y="no"), "y")


def test_weight_column_problems(df: pd.DataFrame) -> None:
    with pytest.raises(DataError, match=r"weight_column_name 'weight' is not a column"):
        check_training_frame(df, "y", weight_column="weight")
    with pytest.raises(DataError, match=r"weight column 'notes' must be numeric; .*\['a', 'b'"):
        check_training_frame(df, "y", weight_column="notes")
    with pytest.raises(DataError, match=r"'w' has 1 negative values, e.g. \[-1.0\]"):
        check_training_frame(df.assign(w=[1.0, -1.0, 1.0, 1.0]), "y", weight_column="w")
    with pytest.raises(DataError, match=r"'w' has 1 missing values; give every row a weight"):
        check_training_frame(df.assign(w=[1.0, None, 1.0, 1.0]), "y", weight_column="w")
    with pytest.raises(DataError, match=r"'w' is all zeros"):
        check_training_frame(df.assign(w=0.0), "y", weight_column="w")
    with pytest.raises(DataError, match=r"weight_column_name 'y' is the target column"):
        check_training_frame(df, "y", weight_column="y")


def test_cv_split_columns_and_no_features(df: pd.DataFrame) -> None:
    with pytest.raises(DataError, match=r"cv_split_column_names entry 'folds' .*'fold'"):
        check_training_frame(df, "y", cv_split_columns=["folds"])
    with pytest.raises(DataError, match=r"no feature columns besides \['w', 'y'\]"):
        check_training_frame(df[["w", "y"]], "y", weight_column="w")
