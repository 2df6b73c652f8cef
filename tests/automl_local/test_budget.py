"""The end-of-budget plan: what the search keeps, and when the ensembles are skipped."""

import time

import numpy as np

import automl_local.budget as budget
from automl_local.budget import RESERVE_SHARE, EndOfBudget
from automl_local.search import TrialRecord


def _plan(deadline_in: float = 60.0) -> EndOfBudget:
    y = np.array([0, 1] * 10)
    return EndOfBudget(60.0, time.monotonic() + deadline_in, 1.0, 1, 2, False,
                       "AUC_weighted", y, None)  # fmt: skip


def _record(tmp_path, number: int, score: float) -> TrialRecord:
    path = tmp_path / f"{number}.npy"
    np.save(path, np.full((20, 2), 0.5))
    return TrialRecord(number, "LightGBM", {}, "Completed", score, 1.0, 1.0, oof_path=str(path))


def test_the_ensembles_are_timed_again_as_the_best_trial_changes_and_the_least_kept(
    tmp_path, monkeypatch
):
    timings = iter([24.0, 5.0, 9.0])  # the first taken while the workers were starting
    monkeypatch.setattr(budget, "ensemble_seconds", lambda *a, **k: next(timings))
    plan, records = _plan(), [_record(tmp_path, 0, 0.9)]
    assert plan.rest(records) == 24.0 + budget.SAVE_SECONDS
    assert plan.rest(records) == 24.0 + budget.SAVE_SECONDS  # same best trial: not re-timed
    records.append(_record(tmp_path, 1, 0.95))
    assert plan.rest(records) == 5.0 + budget.SAVE_SECONDS
    records.append(_record(tmp_path, 2, 0.96))
    assert plan.rest(records) == 5.0 + budget.SAVE_SECONDS  # 9 s timed, 5 s kept


def test_ensembles_are_skipped_only_when_the_capped_reserve_cannot_hold_them(
    tmp_path, monkeypatch
):
    seconds = {"now": 10.0}
    monkeypatch.setattr(budget, "ensemble_seconds", lambda *a, **k: seconds["now"])
    records = [_record(tmp_path, 0, 0.9)]
    plan = _plan()
    assert plan.reserve(records) < RESERVE_SHARE * 60.0 and plan.ensembles_note(records) == ""
    seconds["now"] = 1_000.0  # too slow for any plan, but the reserve held the old estimate
    assert plan.ensembles_note(records) == ""
    capped = _plan(deadline_in=20.0)
    assert capped.reserve(records) == RESERVE_SHARE * 60.0  # 1,000 s wanted: cut to 24 s
    note = capped.ensembles_note(records)
    assert note.startswith("The ensembles were not built: they would take about 1000 s and ")
    seconds["now"] = 2.0  # re-timed after the search, on quiet cores: they fit
    assert capped.ensembles_note(records) == ""
