import numpy as np
import pandas as pd
import pytest
from _testdata import make_frame

from automl_local.exceptions import ConfigError, DataError
from automl_local.search import prepare
from automl_local.settings import JobSettings


def settings(path, **kw):
    return JobSettings(name="t", target_column_name="y", training_data=str(path), **kw)


def write(tmp_path, frame, name="d.csv"):
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize(("rows", "folds"), [(300, 10), (1500, 3)])
def test_azure_default_validation_for_small_data(tmp_path, rows, folds):
    data = prepare(settings(write(tmp_path, make_frame(rows))))
    assert len(data.splits) == folds
    assert sorted(data.eval_index.tolist()) == list(range(rows))


def test_holdout_above_20000_rows(tmp_path):
    data = prepare(settings(write(tmp_path, make_frame(20_001))))
    ((_, valid),) = data.splits
    assert len(valid) == pytest.approx(2000, abs=2)
    assert "10 % holdout" in data.validation


def test_explicit_cv_and_holdout_fraction(tmp_path):
    path = write(tmp_path, make_frame(300))
    assert len(prepare(settings(path, n_cross_validations=4)).splits) == 4
    ((_, ev),) = prepare(settings(path, validation_data_size=0.25)).splits
    assert len(ev) == 75


def test_validation_data_is_used_as_is(tmp_path):
    train = write(tmp_path, make_frame(200), "train.csv")
    valid = write(tmp_path, make_frame(50, seed=3), "valid.csv")
    data = prepare(settings(train, validation_data=str(valid)))
    ((tr, ev),) = data.splits
    assert len(tr) == 200 and len(ev) == 50


def test_conflicting_validation_options(tmp_path):
    path = write(tmp_path, make_frame(200))
    with pytest.raises(
        ConfigError, match="validation_data_size and n_cross_validations are both set"
    ):
        prepare(settings(path, validation_data_size=0.2, n_cross_validations=3))
    with pytest.raises(ConfigError, match="n_cross_validations must be an integer of at least 2"):
        prepare(settings(path, n_cross_validations=1))


def test_positive_label_is_the_second_class(tmp_path):
    path = write(tmp_path, make_frame(200))
    assert prepare(settings(path, positive_label="no")).classes == ["yes", "no"]
    with pytest.raises(
        ConfigError, match="positive_label 'maybe' is not a value of target column 'y'"
    ):
        prepare(settings(path, positive_label="maybe"))


def test_custom_cv_split_columns_and_weights(tmp_path):
    frame = make_frame(100)
    frame["fold_a"] = (np.arange(100) % 2).astype(int)
    frame["w"] = 2.0
    path = write(tmp_path, frame)
    data = prepare(settings(path, cv_split_column_names=["fold_a"], weight_column_name="w"))
    assert len(data.splits) == 1 and "fold_a" not in data.X.columns and "w" not in data.X.columns
    assert (data.w == 2.0).all()


def test_test_data_size_holds_rows_out(tmp_path):
    data = prepare(settings(write(tmp_path, make_frame(400)), test_data_size=0.25))
    assert len(data.X_test) == 100 and len(data.X) == 300


def test_missing_training_file(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        prepare(settings(tmp_path / "nope.csv"))


def test_test_data_with_unseen_label(tmp_path):
    train = write(tmp_path, make_frame(200), "train.csv")
    test = make_frame(20).assign(y="maybe")
    with pytest.raises(DataError, match="test_data has label value"):
        prepare(settings(train, test_data=str(write(tmp_path, test, "test.csv"))))


def test_labels_are_encoded_in_sorted_order(tmp_path):
    frame = pd.DataFrame({"a": range(60), "b": [1, 2, 3] * 20, "y": ["c", "a", "b"] * 20})
    data = prepare(settings(write(tmp_path, frame)))
    assert data.classes == ["a", "b", "c"] and data.y[:3].tolist() == [2, 0, 1]
