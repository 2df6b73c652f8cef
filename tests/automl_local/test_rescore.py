"""Re-scoring by cross-validation before the final choice, when validation is one holdout.

Real jobs on small generated data (local worker processes; the Ray side is in
test_executors.py), and the planning that sizes the stage to the time left.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from _testdata import make_frame

from automl_local.engine import run_job
from automl_local.rescore import (
    RESCORE_FOLDS,
    RESCORE_MAX_MODELS,
    RESCORE_MODELS,
    RescoreStage,
    plan,
    rescore,
    rescore_library,
    rescore_seconds,
)
from automl_local.search import PreparedData, TrialRecord
from automl_local.settings import JobSettings, LimitSettings, TrainingSettings
from automl_local.workspace import Workspace

ALGORITHMS = ["LightGBM", "LogisticRegression", "RandomForest"]


def _job(tmp_path: Path, name: str, *, ensembles: bool = True, **kw: Any) -> JobSettings:
    path = tmp_path / f"{name}.csv"
    make_frame(1000).to_csv(path, index=False)
    training = TrainingSettings(
        allowed_training_algorithms=ALGORITHMS,
        enable_vote_ensemble=ensembles,
        enable_stack_ensemble=ensembles,
    )
    kw.setdefault("limits", LimitSettings(max_trials=10, timeout_minutes=3))
    return JobSettings(
        name=name, target_column_name="y", training_data=str(path), training=training, **kw
    )


def _records(seconds: float, n: int = 9) -> list[TrialRecord]:
    algos = ["LightGBM", "RandomForest", "LightGBM", "LightGBM", "XGBoostClassifier"] * 2
    return [
        TrialRecord(i, algos[i], {"i": i}, "Completed", score=0.9 - 0.01 * i, seconds=seconds)
        for i in range(n)
    ]


def test_the_choice_among_single_models_follows_the_cv_scores_not_the_holdout(
    tmp_path: Path,
) -> None:
    # A 100-row holdout: the best trial on it is not the best by 5-fold CV over all rows.
    limits = LimitSettings(max_trials=8, timeout_minutes=3)
    s = _job(tmp_path, "single", ensembles=False, validation_data_size=0.1, limits=limits)
    result = run_job(s, Workspace(tmp_path / "ws"), emit=lambda e: None)
    cv = result["cv_rescoring"]
    assert cv["folds"] == RESCORE_FOLDS and cv["rows"] == 1000 and not cv["missed"]
    assert 2 <= len(cv["cv_scores"]) <= RESCORE_MAX_MODELS
    by_cv = max(cv["cv_scores"], key=cv["cv_scores"].get)
    by_holdout = max(cv["holdout_scores"], key=cv["holdout_scores"].get)
    assert by_cv != by_holdout  # the data set is one where the two choices differ
    assert result["best_child_run_id"] == cv["chosen"] == by_cv
    # The run reports the chosen child's own metrics (its holdout score, as the search logged).
    assert result["best_score"] == pytest.approx(cv["holdout_scores"][by_cv], abs=1e-6)
    assert any(n.startswith("Holdout validation: the best") for n in result["notes"])


def test_ensembles_are_built_and_chosen_on_the_cv_predictions(tmp_path: Path) -> None:
    from mlflow.tracking import MlflowClient

    ws = Workspace(tmp_path / "ws")
    result = run_job(_job(tmp_path, "ens", validation_data_size=0.1), ws, emit=lambda e: None)
    cv = result["cv_rescoring"]
    rows = {r["run_id"]: r for r in result["leaderboard"]}
    vote = next(r for r in rows.values() if r["algorithm"] == "VotingEnsemble")
    # Ensembles are scored on all 1,000 rows (CV), not on the 100-row holdout.
    assert vote["score"] >= max(cv["cv_scores"].values()) - 1e-6  # (recorded to 6 places)
    assert result["best_child_run_id"] == cv["chosen"]
    if result["best_algorithm"].endswith("Ensemble"):
        assert set(result["ensembled_iterations"]) <= {int(k.rsplit("_", 1)[1])
                                                       for k in cv["cv_scores"]}  # fmt: skip
        assert result["best_score"] == rows[cv["chosen"]]["score"]
        assert result["best_score"] == pytest.approx(cv["chosen_cv_score"], abs=1e-6)
    client = MlflowClient(ws.tracking_uri)
    parent = client.search_runs(
        [client.get_experiment_by_name("Default").experiment_id],
        filter_string="tags.mlflow.runName = 'ens'",
    )
    assert parent and json.loads(parent[0].data.tags["cv_rescoring"]) == cv


def test_boosters_are_refit_with_the_rounds_early_stopping_found(tmp_path: Path) -> None:
    import mlflow

    ws = Workspace(tmp_path / "ws")
    s = _job(tmp_path, "rounds", validation_data_size=0.1)
    s.training.allowed_training_algorithms = ["LightGBM", "XGBoostClassifier"]
    result = run_job(s, ws, emit=lambda e: None)
    cv = result["cv_rescoring"]
    rounds = cv["refit_rounds"]
    assert rounds and set(rounds) <= set(cv["cv_scores"])
    assert all(r["refit"] != r["trial"] and r["refit"] >= 1 for r in rounds.values())
    note = next(n for n in result["notes"] if n.startswith("Holdout validation: the best"))
    for r in rounds.values():
        assert f"refit with {r['refit']} rounds, early-stopped, not {r['trial']}" in note
    # The saved model's boosters have those rounds: the chosen child or the ensemble's members.
    model = mlflow.sklearn.load_model(str(ws.job_dir(s.name) / "outputs" / "best_model"))
    numbers = result.get("ensembled_iterations") or [int(cv["chosen"].rsplit("_", 1)[1])]
    checked = 0
    for number, (_family, member) in zip(numbers, model.members, strict=True):
        expected = rounds.get(f"rounds_{number}")
        if expected and member.library == "xgboost":
            assert member.booster.num_boosted_rounds() == expected["refit"]
            checked += 1
        elif expected:  # LightGBM may end a tree list early on tiny data, never go past it
            assert 1 <= member.booster.num_trees() <= expected["refit"]
            checked += 1
    assert checked


def test_no_rescoring_when_validation_is_not_a_holdout_the_job_drew(tmp_path: Path) -> None:
    limits = LimitSettings(max_trials=3, timeout_minutes=3)
    folds = run_job(_job(tmp_path, "cv", n_cross_validations=3, limits=limits),
                    Workspace(tmp_path / "ws1"), emit=lambda e: None)  # fmt: skip
    assert "cv_rescoring" not in folds
    valid = tmp_path / "valid.csv"
    make_frame(200, seed=1).to_csv(valid, index=False)
    given = run_job(_job(tmp_path, "given", validation_data=str(valid), limits=limits),
                    Workspace(tmp_path / "ws2"), emit=lambda e: None)  # fmt: skip
    assert "cv_rescoring" not in given


def test_the_library_takes_the_best_distinct_configs_few_per_algorithm() -> None:
    records = _records(1.0)
    records.append(TrialRecord(20, "LightGBM", {"i": 0}, "Completed", score=0.95))  # a copy of 0
    records.append(TrialRecord(21, "LightGBM", {"i": 21}, "Failed"))
    chosen = rescore_library(records)
    assert [r.number for r in chosen] == [20, 1, 2, 4, 6]  # copy 0 dropped, 2 LightGBMs at most
    assert len({r.algorithm for r in chosen}) == 3


def test_the_stage_shrinks_then_is_skipped_as_time_runs_short() -> None:
    records = _records(2.0)
    full = plan(records, 1e9, rows_ratio=1.0, slots=2)
    assert len(full) == RESCORE_MODELS
    shrunk = plan(records, 12.0, rows_ratio=1.0, slots=2)  # 7.2 s per model, 2 side by side
    assert len(shrunk) == 3 and shrunk == full[:3]
    assert plan(records, 5.0, rows_ratio=1.0, slots=2) == []  # not even two models fit
    records[1].seconds = 20.0  # too slow for the time left: the next trials instead
    assert [r.number for r in plan(records, 12.0, rows_ratio=1.0, slots=2)] == [0, 2, 4]
    records[0].seconds = 20.0  # the best itself: no stage, rather than one without it
    assert plan(records, 12.0, rows_ratio=1.0, slots=2) == []
    assert len(plan(records, 1e9, rows_ratio=1.0, slots=2)) == RESCORE_MODELS


def test_the_stage_takes_more_trials_when_time_is_left_counting_their_refit() -> None:
    records = _records(2.0)
    assert len(plan(records, 1e9, rows_ratio=1.0, slots=2, size=RESCORE_MAX_MODELS)) == 8
    # 3.6 s of fold fits a trial side by side, plus a 10 s refit each: 3 fit in 45 s.
    with_refit = plan(records, 45.0, rows_ratio=1.0, slots=2, size=RESCORE_MAX_MODELS,
                      refit_seconds=lambda rs: 10.0 * len(rs))  # fmt: skip
    assert [r.number for r in with_refit] == [0, 1, 2]


def test_a_60_second_budget_keeps_no_time_for_it_and_300_seconds_does() -> None:
    y = np.tile([0, 1], 15_000)
    idx = np.arange(len(y))
    data = PreparedData(X=pd.DataFrame(index=idx), y=y, w=None, classes=[0, 1],
                        splits=[(idx[3000:], idx[:3000])], validation="10 % holdout",
                        random_holdout=True)  # fmt: skip
    records = _records(6.0)  # trials of 6 s, like bank marketing's random forests
    assert RescoreStage(data, 0, 60.0, slots=1).reserve(records) == 0.0
    assert RescoreStage(data, 0, 300.0, slots=1).reserve(records) > 0.0
    # The refit of the planned models is part of the stage's cost: it can push it out of the share.
    with_refit = RescoreStage(data, 0, 300.0, slots=1, refit_seconds=lambda rs: 20.0 * len(rs))
    assert 0.0 < with_refit.reserve(records) <= 0.3 * 300.0
    assert len(with_refit.plan(records, 90.0)) < len(RescoreStage(data, 0, 300.0, 1).plan(
        records, 90.0))
    data.random_holdout = False
    assert RescoreStage(data, 0, 300.0, slots=1).folds is None


def _logistic_trials(n: int) -> tuple[Any, list[TrialRecord]]:
    """Shared data with re-scoring folds over 100 rows, and ``n`` finished trials."""
    from automl_local.search import SharedData

    y = np.tile([0, 1], 50)
    data = PreparedData(X=pd.DataFrame(index=range(100)), y=y, w=None, classes=[0, 1],
                        splits=[(np.arange(90), np.arange(90, 100))], validation="",
                        random_holdout=True)  # fmt: skip
    stage = RescoreStage(data, 0, 60.0, slots=1)
    shared = SharedData(matrices={"linear": np.c_[y + np.random.default_rng(0).normal(size=100)]},
                        categorical={"linear": []}, y=y, w=None, splits=[], n_classes=2,
                        metric="AUC_weighted", n_jobs=1, seed=0,
                        rescore_splits=stage.folds)  # fmt: skip
    records = [TrialRecord(i, "LogisticRegression", {"C": 0.1 * (i + 1)}, "Completed",
                           score=0.9, seconds=0.1) for i in range(n)]  # fmt: skip
    return shared, records


def test_rescore_past_its_deadline_runs_nothing_and_returns_none() -> None:
    from automl_local.search import LocalProcessExecutor, Resources

    shared, records = _logistic_trials(2)
    executor = LocalProcessExecutor()
    executor.share(shared)
    try:
        assert rescore(executor, records, shared, deadline=time.monotonic(), slots=1,
                       resources=Resources()) is None  # fmt: skip
        done = rescore(executor, records, shared, deadline=time.monotonic() + 60, slots=1,
                       resources=Resources())  # fmt: skip
        assert done is not None and [c.number for c in done.candidates] == [0, 1]
        assert all(c.oof is not None and c.oof.shape == (100, 2) for c in done.candidates)
        assert sorted(done.rows.tolist()) == list(range(100))
    finally:
        executor.close()


def test_rescore_takes_backlog_trials_while_there_is_room_for_them() -> None:
    from automl_local.search import LocalProcessExecutor, Resources

    shared, records = _logistic_trials(5)
    asked: list[list[int]] = []

    def room(taken: list[TrialRecord]) -> float | None:
        asked.append([r.number for r in taken])
        return time.monotonic() + 60 if taken[-1].number != 2 else None  # no room for 2

    executor = LocalProcessExecutor()
    executor.share(shared)
    try:
        done = rescore(executor, records[:2], shared, deadline=time.monotonic() + 60, slots=1,
                       resources=Resources(), backlog=records[2:], room=room)  # fmt: skip
    finally:
        executor.close()
    # 2 did not fit: passed over for 3 and 4, which did.
    assert done is not None and [c.number for c in done.candidates] == [0, 1, 3, 4]
    assert [0, 1, 2] in asked and [0, 1, 3, 4, 2] in asked


def test_a_single_finished_trial_is_not_rescored(tmp_path: Path) -> None:
    assert plan(_records(0.1, 1), 1e9, rows_ratio=1.0, slots=1) == []
    s = _job(tmp_path, "one", validation_data_size=0.1, limits=LimitSettings(max_trials=1))
    result = run_job(s, Workspace(tmp_path / "ws"), emit=lambda e: None)
    assert result["cv_rescoring"] == {"skipped": "fewer than two distinct finished trials"}
    assert not any("Holdout validation" in n for n in result["notes"])


def test_a_boosters_rescoring_is_planned_at_its_capped_rounds() -> None:
    """Its folds may grow to ROUNDS_CAP times its rounds before early stopping ends them."""
    from automl_local.search import ROUNDS_CAP

    forest = TrialRecord(0, "RandomForest", {"n_estimators": 100}, "Completed", 0.9, seconds=2.0)
    booster = TrialRecord(1, "LightGBM", {"n_estimators": 100}, "Completed", 0.9, seconds=2.0)
    one = rescore_seconds([forest], 1.0, 1)
    assert one >= RESCORE_FOLDS * 2.0  # a fit per fold, with a margin
    assert rescore_seconds([booster], 1.0, 1) == pytest.approx(ROUNDS_CAP * one)
