import numpy as np
import pandas as pd
import pytest

from automl_local.exceptions import ConfigError, DataError
from automl_local.featurize import Featurizer, infer_column_plan


@pytest.fixture
def frame():
    return pd.DataFrame(
        {
            "num": [1.0, 2.0, np.nan, 4.0] * 20,
            "cat": ["a", "b", "a", None] * 20,
            "const": [1] * 80,
            "row_id": np.arange(80),
            "text_num": ["1", "2", "3", "4"] * 20,
        }
    )


def test_plan_drops_constants_and_identifiers(frame):
    plan = infer_column_plan(frame)
    assert plan.numeric == ["num", "text_num"]
    assert plan.categorical == ["cat"]
    assert plan.dropped == {"const": "constant", "row_id": "unique per row (an identifier)"}


def test_user_purpose_overrides_inference(frame):
    plan = infer_column_plan(frame, {"num": "Categorical", "cat": "Ignore"})
    assert "num" in plan.categorical
    assert plan.dropped["cat"] == "column_name_and_types: Ignore"


def test_unknown_purpose_and_column_are_rejected(frame):
    with pytest.raises(ConfigError, match="'nope' is not a column purpose"):
        infer_column_plan(frame, {"num": "nope"})
    with pytest.raises(ConfigError, match="names column 'missing'"):
        infer_column_plan(frame, {"missing": "Numeric"})


def test_tree_family_keeps_nan_and_codes_categories(frame):
    f = Featurizer(family="tree").fit(frame)
    out = f.transform(frame.head(4))
    assert out.shape == (4, 3)
    assert np.isnan(out[2, 0]) and np.isnan(out[3, 2])  # missing stays missing for the trees
    assert f.categorical_indices_ == [2]


def test_linear_family_imputes_scales_and_one_hot_encodes(frame):
    f = Featurizer(family="linear").fit(frame)
    out = f.transform(frame)
    assert not np.isnan(out).any()
    assert out.shape[1] == 2 + 2  # two numerics, two category levels
    assert abs(out[:, 0].mean()) < 1e-9


def test_unseen_category_does_not_fail(frame):
    f = Featurizer(family="linear").fit(frame)
    row = frame.head(1).assign(cat="zzz")
    assert f.transform(row)[0, 2:].sum() == 0.0


def test_one_row_transform_matches_batch(frame):
    for family in ("tree", "linear"):
        f = Featurizer(family=family).fit(frame)
        batch = f.transform(frame)
        single = np.vstack([f.transform(frame.iloc[[i]]) for i in range(5)])
        np.testing.assert_allclose(single, batch[:5])


def test_non_numeric_text_in_numeric_column_is_named(frame):
    f = Featurizer(family="tree").fit(frame)
    bad = frame.head(3).assign(num=["1", "two", "3"])
    with pytest.raises(DataError, match=r"column 'num' is numeric but holds text.*'two'"):
        f.transform(bad)


def test_missing_column_at_predict_time_is_named(frame):
    f = Featurizer(family="tree").fit(frame)
    with pytest.raises(DataError, match="missing column\\(s\\) 'cat'"):
        f.transform(frame.drop(columns=["cat"]))


def test_custom_imputer_strategy_is_used(frame):
    f = Featurizer(family="tree", imputers={"num": "mean"}).fit(frame)
    assert f.num_fill_["num"] == pytest.approx(np.nanmean(frame["num"]))
    with pytest.raises(ConfigError, match="strategy 'bogus'"):
        Featurizer(family="tree", imputers={"num": "bogus"}).fit(frame)


def test_linear_family_imputes_a_gap_in_a_column_that_had_none_in_training():
    full = pd.DataFrame({"a": [1.0, 2.0, 3.0, 10.0], "b": [0.5, 0.1, 0.2, 0.3]})
    f = Featurizer(family="linear").fit(full)
    out = f.transform(pd.DataFrame({"a": [np.nan], "b": [0.2]}))
    assert np.isfinite(out).all()  # LogisticRegression refuses NaN: a scoring-time crash before
    assert f.num_fill_["a"] == 2.5  # the median, as for a column with gaps


def test_summary_has_one_row_per_raw_column(frame):
    f = Featurizer(family="linear").fit(frame)
    rows = {r["RawFeatureName"]: r for r in f.summary()}
    assert set(rows) == set(frame.columns)
    assert rows["cat"]["Transformations"][-1] == "OneHotEncoder"
    assert rows["const"]["Dropped"] == "Yes"


@pytest.mark.parametrize("family", ["tree", "linear"])
def test_unseen_levels_in_a_large_frame_code_as_in_a_small_one_without_warnings(
    frame: pd.DataFrame, family: str
) -> None:
    import warnings

    fz = Featurizer(family=family).fit(frame)
    new = frame.assign(cat=["a", "zzz", None, "b"] * 20)  # 80 rows: the pandas path
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # pandas 3: Categorical with unseen values is deprecated
        large = fz.transform(new)
    small = np.vstack([fz.transform(new.iloc[i : i + 4]) for i in range(0, 8, 4)])
    np.testing.assert_array_equal(large[:8], small)
