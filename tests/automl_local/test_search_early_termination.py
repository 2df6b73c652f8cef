"""Early termination: Azure's rule (no gain for the patience), with the ensemble's score
counted as a gain, so a job does not stop while its ensemble still improves."""

from automl_local.search import SearchLimits, TrialRecord
from automl_local.search._search import (
    EARLY_TERMINATION_PATIENCE,
    ENSEMBLE_GAIN,
    _Progress,
    _stop_reason,
)

PATIENCE = EARLY_TERMINATION_PATIENCE


def _records(n):
    return [TrialRecord(i, "LightGBM", {}, "Completed", score=0.9) for i in range(n)]


def _limits(ensemble_score=None):
    return SearchLimits(
        deadline=float("inf"), max_trials=1000, trial_timeout=None, exit_score=None,
        early_termination=True, workers=1, ensemble_score=ensemble_score,
    )  # fmt: skip


def test_without_ensembles_the_search_stops_after_the_patience():
    records = _records(PATIENCE + 5)
    progress = _Progress(best=0.9, last_gain=5)
    assert _stop_reason(_limits(), records, 0, progress, lambda: False) == "early_termination"
    young = _Progress(best=0.9, last_gain=6)  # one trial short of the patience
    assert _stop_reason(_limits(), records, 0, young, lambda: False) == ""


def test_a_rising_ensemble_restarts_the_patience():
    records = _records(PATIENCE + 5)
    asked = []

    def rising(recs):  # each new trial adds to the blend, as diverse models do
        asked.append(len(recs))
        return 0.9 + len(recs) * 10 * ENSEMBLE_GAIN

    progress = _Progress(best=0.9, last_gain=5)
    assert _stop_reason(_limits(rising), records, 0, progress, lambda: False) == ""
    assert asked == [5, len(records)]  # the ensemble at the last gain, and now
    assert progress.last_gain == len(records)  # patience starts again from here
    records += _records(PATIENCE)
    flat = _limits(lambda recs: progress.ensemble)  # the ensemble stopped improving
    assert _stop_reason(flat, records, 0, progress, lambda: False) == "early_termination"


def test_a_flat_ensemble_does_not_delay_the_stop():
    records = _records(PATIENCE + 5)
    flat = _limits(lambda recs: 0.95)
    progress = _Progress(best=0.9, last_gain=5)
    assert _stop_reason(flat, records, 0, progress, lambda: False) == "early_termination"
