"""The end of a job's wall budget: what the search keeps for the stages after it.

After the search come the re-scoring (``automl_local.rescore``, with a holdout),
the ensembles, the refit of the winner on every row, the explanation and the
saving. The search stops early enough to leave them the time this module plans
(its ``reserve``), at most ``RESERVE_SHARE`` of the budget so that a slow
estimate cannot starve the search. Because of that cap a stage can find less
time left than it needs; :meth:`EndOfBudget.ensembles_note` then skips the
ensembles rather than let the job pass its deadline and fail at the refit.

The ensembles' time is one blend's scoring timed on the best trial's predictions,
times the blends a selection scores. It is timed again whenever the best trial
changes and the least is kept: timed once while the workers were starting, a
digits job's estimate came out at 24 s against 5 s on a quiet machine.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from automl_local.ensemble import VOTE_MAX_MEMBERS, ensemble_seconds
from automl_local.search import TrialRecord

__all__ = ["EXPLAIN_SECONDS", "RESERVE_SHARE", "SAVE_SECONDS", "EndOfBudget"]

# Seconds kept at the end of the budget for the explanation and for saving and
# registering the MLflow model (measured: 2-4 s each on 2 cores, bank marketing).
EXPLAIN_SECONDS = 4.0
SAVE_SECONDS = 5.0
# The most of the budget the search keeps for the stages after it.
RESERVE_SHARE = 0.4


class _Rescoring(Protocol):
    def reserve(self, records: list[TrialRecord]) -> float: ...


@dataclass
class EndOfBudget:
    """The time plan of one job's last stages."""

    budget: float  # seconds
    deadline: float  # time.monotonic() by which the job must end
    rows_ratio: float  # every row against a trial's training rows (the refit fits on all)
    slots: int  # refits side by side
    n_ensembles: int
    explain: bool  # model explanation is on
    metric: str
    y_eval: np.ndarray  # the rows the trials' predictions cover
    w_eval: np.ndarray | None
    rescoring: _Rescoring | None = None  # set once the job's RescoreStage exists
    _ensemble_seconds: float | None = None
    _timed: str = ""  # the trial predictions the ensembles were last timed on
    _capped: bool = False  # the last reserve was cut to RESERVE_SHARE of the budget

    def reserve(self, records: list[TrialRecord]) -> float:
        """What the search keeps: the re-scoring and its models' refit, or without it the
        refit of the holdout's likely pick; then the rest."""
        rescoring = self.rescoring.reserve(records) if self.rescoring else 0.0
        if not rescoring:
            likely = VOTE_MAX_MEMBERS if self.n_ensembles else 3
            ok = sorted((r for r in records if r.ok), key=lambda r: -r.score)[:likely]
            rescoring = self.refit_seconds(ok)
        wanted = rescoring + self.rest(records)
        self._capped = wanted > RESERVE_SHARE * self.budget
        return min(RESERVE_SHARE * self.budget, wanted)

    def refit_seconds(self, records: list[TrialRecord]) -> float:
        """Refitting these trials' models on every row, side by side as cores allow."""
        side = max(1, min(self.slots, len(records)))
        return 1.3 * self.rows_ratio * sum(r.fit_seconds for r in records) / side

    def rest(self, records: list[TrialRecord]) -> float:
        """After the re-scoring: the ensembles (timed on the best trial), explanation, saving."""
        best = max((r for r in records if r.ok), key=lambda r: r.score, default=None)
        if best is not None and best.oof_path and best.oof_path != self._timed:
            self._time_ensembles(best.oof_path)
        ensembles = self._ensemble_seconds or 0.0
        explain = EXPLAIN_SECONDS if self.explain else 0.0
        return (ensembles if self.n_ensembles and best else 0.0) + explain + SAVE_SECONDS

    def ensembles_note(self, fallback: list[TrialRecord]) -> str:
        """'' when the ensembles, then the refit of ``fallback`` (the best single model)
        and the saving, fit in the time left; else the note that says they were skipped.

        (A 10-class digits job scored its blends at 33 ms each: the reserve, capped,
        kept 24 s, its VotingEnsemble took 34 s, and the job failed at the refit.)
        """
        if not self.n_ensembles or not self._capped or not self._timed:
            return ""  # the search kept all the time they need
        self._time_ensembles(self._timed)  # the search is over: the cores are quieter
        assert self._ensemble_seconds is not None
        left = self.deadline - time.monotonic() - self.refit_seconds(fallback) - SAVE_SECONDS
        if self._ensemble_seconds <= left:
            return ""
        return (
            f"The ensembles were not built: they would take about {self._ensemble_seconds:.0f} s "
            f"and {max(0.0, left):.0f} s of limits.timeout_minutes were left for them before the "
            "best model's refit. Raise limits.timeout_minutes to get them."
        )

    def _time_ensembles(self, oof_path: str) -> None:
        seconds = ensemble_seconds(np.load(oof_path), self.y_eval, self.metric, self.w_eval)
        self._timed = oof_path
        self._ensemble_seconds = min(seconds, self._ensemble_seconds or seconds)
