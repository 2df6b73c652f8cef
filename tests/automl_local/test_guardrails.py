"""Data guardrails on generated data, and the leakage check on the real bank file."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from automl_local.guardrails import (
    Guardrail,
    feature_leakage_scores,
    format_guardrails,
    run_guardrails,
)

BANK = Path(__file__).resolve().parents[3] / "shared" / "data" / "bankmarketing_train.csv"


def by_name(guardrails: list[Guardrail]) -> dict[str, Guardrail]:
    return {g.name: g for g in guardrails}


@pytest.fixture(scope="module")
def clean() -> tuple[pd.DataFrame, pd.Series]:
    """3,000 rows: one weak numeric signal, a categorical, nothing missing or leaking."""
    rng = np.random.default_rng(0)
    n = 3000
    positive = rng.random(n) < 0.3
    X = pd.DataFrame(
        {
            "weak": rng.normal(size=n) + 0.3 * positive,
            "color": rng.choice(["red", "green", "blue"], n),
            "count": rng.integers(0, 5, n),
        }
    )
    return X, pd.Series(np.where(positive, "yes", "no"), name="y")


def test_clean_data_passes_everything_but_validation(
    clean: tuple[pd.DataFrame, pd.Series],
) -> None:
    X, y = clean
    result = by_name(run_guardrails(X, y, validation="5-fold cross-validation"))
    assert list(result) == [
        "Validation split handling",
        "Class balancing detection",
        "Missing feature values imputation",
        "High cardinality feature detection",
        "Feature leakage detection",
    ]
    assert result["Validation split handling"].status == "done"
    assert result["Validation split handling"].details == [
        {"validation": "5-fold cross-validation", "training_rows": 3000}
    ]
    for name in list(result)[1:]:
        assert result[name].status == "passed", result[name]


def test_class_imbalance_alert_threshold() -> None:
    X = pd.DataFrame({"x": np.arange(1049)})
    imbalanced = pd.Series(["a"] * 1000 + ["b"] * 49)
    guardrail = by_name(run_guardrails(X, imbalanced, validation="cv"))[
        "Class balancing detection"
    ]
    assert guardrail.status == "alerted"
    assert "smallest class has 4.9% of the rows of the largest" in guardrail.description
    assert guardrail.details[1] == {"class": "b", "count": 49, "share": 0.0467}
    balanced_enough = pd.Series(["a"] * 1000 + ["b"] * 60)
    X = pd.DataFrame({"x": np.arange(1060)})
    assert (
        by_name(run_guardrails(X, balanced_enough, validation="cv"))[
            "Class balancing detection"
        ].status
        == "passed"
    )


def test_missing_values_are_listed_with_their_imputation(
    clean: tuple[pd.DataFrame, pd.Series],
) -> None:
    X, y = clean
    X = X.copy()
    X.loc[:9, "weak"] = np.nan
    X.loc[:2, "color"] = None
    X["empty"] = np.nan
    guardrail = by_name(run_guardrails(X, y, validation="cv", imputation={"color": "constant"}))[
        "Missing feature values imputation"
    ]
    assert guardrail.status == "done"
    assert guardrail.details == [
        {"column": "weak", "missing": 10, "share": 0.0033, "imputation": "mean"},
        {"column": "color", "missing": 3, "share": 0.001, "imputation": "constant"},
        {
            "column": "empty",
            "missing": 3000,
            "share": 1.0,
            "imputation": "column dropped (all values missing)",
        },
    ]


def test_high_cardinality_columns_are_alerted(clean: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = clean
    X = X.assign(
        customer_id=[f"C{i:05d}" for i in range(len(X))],
        city=[f"c{i % 50}" for i in range(len(X))],
    )
    guardrail = by_name(run_guardrails(X, y, validation="cv"))[
        "High cardinality feature detection"
    ]
    assert guardrail.status == "alerted"
    assert guardrail.details == [
        {"column": "customer_id", "unique_values": 3000, "unique_ratio": 1.0}
    ]
    assert "Hashes/Ignore" in guardrail.description


def test_leaking_feature_is_flagged_and_clean_ones_are_not(
    clean: tuple[pd.DataFrame, pd.Series],
) -> None:
    X, y = clean
    rng = np.random.default_rng(1)
    positive = (y == "yes").to_numpy()
    X = X.assign(refund=np.where(positive, rng.normal(3, 1, len(X)), rng.normal(0, 1, len(X))))
    guardrail = by_name(run_guardrails(X, y, validation="cv"))["Feature leakage detection"]
    assert guardrail.status == "alerted"
    assert [d["column"] for d in guardrail.details] == ["refund"]
    assert guardrail.details[0]["single_feature_auc"] > 0.95
    assert "refund: almost perfect on its own" in guardrail.description


def test_strong_unique_feature_is_flagged_but_a_near_copy_pair_is_not() -> None:
    """Like the bank file: `dur` is strong and unique; m1/m2 are strong but share their signal."""
    rng = np.random.default_rng(0)
    n = 6000
    positive = rng.random(n) < 0.3
    shared = rng.normal(size=n) + 1.1 * positive
    X = pd.DataFrame(
        {
            "weak": rng.normal(size=n) + 0.3 * positive,
            "dur": rng.normal(size=n) + 1.3 * positive,
            "m1": shared + rng.normal(scale=0.05, size=n),
            "m2": shared + rng.normal(scale=0.05, size=n),
        }
    )
    scores = {s["column"]: s for s in feature_leakage_scores(X, pd.Series(positive))}
    assert [c for c, s in scores.items() if s["suspect"]] == ["dur"]
    assert scores["dur"]["single_feature_auc"] == pytest.approx(0.82, abs=0.02)
    assert scores["dur"]["auc_drop_when_removed"] > 0.08
    for column in ("m1", "m2"):
        assert scores[column]["single_feature_auc"] > 0.75  # strong, but replaceable
        removed = scores[column]["auc_drop_when_removed"]
        assert removed is None or removed < 0.02


def test_two_copies_of_the_label_are_both_flagged() -> None:
    rng = np.random.default_rng(0)
    y = pd.Series(rng.choice(["a", "b", "c"], 1500))
    codes = y.map({"a": 0, "b": 1, "c": 2}).to_numpy()
    X = pd.DataFrame(
        {
            "copy1": codes + rng.normal(scale=0.1, size=1500),
            "copy2": y.str.upper(),
            "noise": rng.normal(size=1500),
        }
    )
    weights = rng.uniform(0.5, 2.0, 1500)
    scores = feature_leakage_scores(X, y, sample_weight=weights)
    assert {s["column"] for s in scores if s["suspect"]} == {"copy1", "copy2"}
    assert scores[-1]["column"] == "noise" and scores[-1]["single_feature_auc"] < 0.6


def test_small_data_skips_the_model_probe() -> None:
    rng = np.random.default_rng(0)
    y = pd.Series(rng.choice(["no", "yes"], 120))
    X = pd.DataFrame({"leak": (y == "yes").astype(float), "noise": rng.normal(size=120)})
    scores = {s["column"]: s for s in feature_leakage_scores(X, y)}
    assert scores["leak"]["suspect"] and scores["leak"]["auc_drop_when_shuffled"] is None
    assert not scores["noise"]["suspect"]


def test_report_format_and_dict(clean: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = clean
    X = X.assign(weak=X["weak"].where(X.index >= 5))
    guardrails = run_guardrails(X, y, validation="10% holdout")
    text = format_guardrails(guardrails)
    assert "TYPE:         Missing feature values imputation\nSTATUS:       DONE" in text
    assert "|column  |missing  |share   |imputation  |" in text
    assert "|weak    |5        |0.0017  |mean        |" in text
    assert guardrails[0].to_dict()["details"][0]["validation"] == "10% holdout"
    with pytest.raises(ValueError, match=r"status must be one of"):
        Guardrail("x", "failed", "y")


def test_bank_marketing_duration_is_the_only_leak_suspect() -> None:
    if not BANK.is_file():
        pytest.skip(f"{BANK} is absent (the shared reference data set is not on this machine)")
    df = pd.read_csv(BANK)
    X, y = df.drop(columns="y"), df["y"]
    run_guardrails(X.head(500), y.head(500), validation="warm-up")  # imports, not measured
    started = time.process_time()
    result = by_name(run_guardrails(X, y, validation="10% holdout"))
    cpu_seconds = time.process_time() - started
    leakage = result["Feature leakage detection"]
    assert leakage.status == "alerted"
    assert [d["column"] for d in leakage.details] == ["duration"]
    assert result["Class balancing detection"].status == "passed"
    assert result["Missing feature values imputation"].status == "passed"
    assert result["High cardinality feature detection"].status == "passed"
    assert cpu_seconds < 4.0  # about 1 s on a 2-core machine; CPU time ignores other load


def test_unusual_column_types_do_not_break_the_checks() -> None:
    rng = np.random.default_rng(0)
    n = 400
    y = pd.Series(rng.choice(["a", "b"], n))
    X = pd.DataFrame(
        {
            "when": pd.date_range("2024-01-01", periods=n, freq="h"),
            "flag": rng.random(n) < 0.5,
            "cat": pd.Categorical(rng.choice(["x", "y"], n)),
            "all_nan": np.nan,
            "nullable": pd.array(rng.integers(0, 3, n), dtype="Int64"),
            "text": pd.array(rng.choice(["p", None], n), dtype="string"),
            "leak": (y == "b").astype("boolean"),
        }
    )
    X.loc[3, "when"] = pd.NaT
    result = by_name(run_guardrails(X, y.to_numpy(), validation="cv"))
    assert [d["column"] for d in result["Feature leakage detection"].details] == ["leak"]
    missing = {d["column"] for d in result["Missing feature values imputation"].details}
    assert missing == {"when", "all_nan", "text"}
