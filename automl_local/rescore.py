"""Re-scoring the best trials by cross-validation over every row, before the final choice.

With one holdout (Azure's rule above 20,000 rows: 10 %), every trial, the
ensemble weights and the choice between a single model and an ensemble are
decided on the same few thousand rows, and the pick overfits them (measured
on bank marketing: the VotingEnsemble scored 0.9533 on its 2,636-row holdout
and 0.9508 on rows the job never saw, and 300 s did worse than 60 s). So,
when the job drew that holdout itself and the budget allows, the best few
distinct trials (:func:`rescore_library`) are fitted again by
``RESCORE_FOLDS``-fold cross-validation over every row (train + holdout),
as ``rescore`` tasks on the search's executor (local worker processes or
Ray, like the trials). The VotingEnsemble, the StackEnsemble and the choice
then use those out-of-fold predictions: ten times the rows. The final models
are still refit on all rows, as before, except that a booster's round count is
the one early stopping found in the folds (``search.rescore_trial``), scaled
for the refit's larger training set; ``Rescored.rounds`` and the job's note
record each change.

The time comes out of the end-of-budget reserve: while searching, the job
keeps what :func:`plan` needs for the best ``RESCORE_MODELS`` trials (their
fold fits and their final refit), at most ``RESCORE_SHARE`` of the budget;
at the end the stage gets all the time left before the rest of the reserve
(ensembles, saving) and takes up to ``RESCORE_MAX_MODELS`` trials if they
fit, so a search that ended early is not time lost. With too little time (a
60 s job) it shrinks to fewer models or is skipped, and the holdout choice
stands.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from automl_local import metrics
from automl_local.ensemble import VOTE_MAX_MEMBERS, Candidate, library
from automl_local.search import (
    ESTIMATORS,
    ROUNDS_CAP,
    Dispatcher,
    PreparedData,
    Resources,
    SharedData,
    TrialExecutor,
    TrialRecord,
    TrialTask,
    member_key,
    stratified_splits,
)

__all__ = [
    "RESCORE_FOLDS",
    "RESCORE_MAX_MODELS",
    "RESCORE_MODELS",
    "RESCORE_SHARE",
    "RescoreStage",
    "Rescored",
    "plan",
    "rescore",
    "rescore_library",
    "rescore_seconds",
]

# Three folds: every row gets an out-of-fold prediction at 2.2 trial fits per model (five
# folds cost 4.4, measured too slow for a 300 s bank job's random forests on 2 cores).
RESCORE_FOLDS = 3
# The search keeps time to re-score this many distinct trials; the stage takes up to
# RESCORE_MAX_MODELS (what a VotingEnsemble may hold) when the time left allows. Best
# first, at most RESCORE_PER_ALGORITHM of one algorithm while others remain: the ensembles
# gain from different models, and each costs RESCORE_FOLDS fits. (Each algorithm's best
# first, tried too, filled a short job's two or three places with weak models: 60 s bank
# jobs lost 0.001-0.002 AUC on all three seeds.)
RESCORE_MODELS = 5
RESCORE_MAX_MODELS = VOTE_MAX_MEMBERS
RESCORE_PER_ALGORITHM = 2
# While searching, the reserve keeps at most this share of the budget for the re-scoring.
RESCORE_SHARE = 0.3
# A fold's fit against the trial's: measured trial times undercount a loaded machine.
RESCORE_MARGIN = 1.2


def rescore_library(records: list[TrialRecord], size: int = RESCORE_MODELS) -> list[TrialRecord]:
    """The trials to re-score: the best finished ones (by the holdout score), one per
    distinct configuration, at most ``RESCORE_PER_ALGORITHM`` per algorithm while others
    remain."""
    seen: set[str] = set()
    ranked: list[TrialRecord] = []
    for r in sorted((r for r in records if r.ok), key=lambda r: -r.score):
        key = member_key((r.algorithm, r.params))
        if key not in seen:
            seen.add(key)
            ranked.append(r)
    return library(ranked, [r.algorithm for r in ranked], size, RESCORE_PER_ALGORITHM)


def rescore_seconds(records: list[TrialRecord], rows_ratio: float, slots: int) -> float:
    """Wall seconds to re-score ``records`` on ``slots`` side by side.

    A trial fitted once on the training rows; its re-scoring fits ``RESCORE_FOLDS``
    times on ``rows_ratio`` times as many rows (each fold's training part of every row),
    and a booster's folds may grow to ``ROUNDS_CAP`` times its rounds before early stopping
    ends them. (Counting a booster at its own rounds, a seed-1 bank job planned about 24 s
    for GradientBoosting and two RandomForests; the stage ran 43 s, fewer than two of them
    finished, and the re-scoring was lost.)
    """
    each = [
        RESCORE_MARGIN * RESCORE_FOLDS * rows_ratio * r.seconds
        * (ROUNDS_CAP if ESTIMATORS[r.algorithm].rounds_param in r.params else 1)
        for r in records
    ]  # fmt: skip
    return max(sum(each) / max(1, slots), max(each, default=0.0))


def _no_refit(records: list[TrialRecord]) -> float:
    return 0.0


def plan(
    records: list[TrialRecord],
    seconds: float,
    rows_ratio: float,
    slots: int,
    *,
    size: int = RESCORE_MODELS,
    refit_seconds: Callable[[list[TrialRecord]], float] = _no_refit,
) -> list[TrialRecord]:
    """The best (up to ``size``) trials whose re-scoring, and the refit of them all on every
    row (``refit_seconds``), fit in ``seconds``, best first: a trial too slow for the time
    left is passed over for the next one; none at all below two, or when the best trial is
    too slow.

    The ensembles and the choice then see only the re-scored trials, so a stage without the
    best one would drop the job's strongest model for weaker ones: in 60 s bank jobs the stage
    re-scored a RandomForest and an SGD when the best LightGBMs did not fit, and the job
    scored 0.9494 on new rows, against 0.9512 for the same seed choosing on the holdout.
    """
    chosen: list[TrialRecord] = []
    library = rescore_library(records, size)
    for r in library:
        with_r = [*chosen, r]
        if rescore_seconds(with_r, rows_ratio, slots) + refit_seconds(with_r) <= seconds:
            chosen.append(r)
    return chosen if len(chosen) >= 2 and chosen[0] is library[0] else []


@dataclass
class Rescored:
    """The re-scored trials: candidates with their cross-validated score and predictions."""

    candidates: list[Candidate]  # number, algorithm, members as the trial; score: CV score
    rows: np.ndarray  # the rows the out-of-fold predictions cover, in their order (every row)
    y: np.ndarray
    w: np.ndarray | None
    seconds: float
    missed: list[str] = field(default_factory=list)  # trials not re-scored, and why
    # trial number -> (its rounds, the refit's): boosters whose rounds early stopping set
    rounds: dict[int, tuple[int, int]] = field(default_factory=dict)

    def summary(self, job: str, holdout: dict[int, float], chosen: Candidate) -> dict[str, Any]:
        """What the job's result and properties record about the re-scoring."""
        return {
            "folds": RESCORE_FOLDS,
            "rows": len(self.rows),
            "seconds": round(self.seconds, 2),
            "cv_scores": {f"{job}_{c.number}": round(c.score, 6) for c in self.candidates},
            "holdout_scores": {
                f"{job}_{c.number}": round(holdout[c.number], 6)
                for c in self.candidates
                if c.number in holdout
            },
            "chosen": f"{job}_{chosen.number}",
            "chosen_cv_score": round(chosen.score, 6),
            "missed": self.missed,
            "refit_rounds": {
                f"{job}_{n}": {"trial": trial, "refit": refit}
                for n, (trial, refit) in self.rounds.items()
            },
        }

    def note(
        self, holdout: dict[int, float], ensembles: list[Candidate], chosen: Candidate
    ) -> str:
        """The job's note: what was re-scored, every CV score, what was chosen."""

        def rounds(n: int) -> str:
            if n not in self.rounds:
                return ""
            trial, refit = self.rounds[n]
            return f"; refit with {refit} rounds, early-stopped, not {trial}"

        scores = ", ".join(
            [f"{c.algorithm} {c.number}: {c.score:.4f} (holdout {holdout[c.number]:.4f}"
             f"{rounds(c.number)})" for c in self.candidates if c.number in holdout]
            + [f"{c.algorithm} {c.number}: {c.score:.4f}" for c in ensembles]
        )  # fmt: skip
        return (
            f"Holdout validation: the best {len(self.candidates)} distinct trials were "
            f"re-scored by {RESCORE_FOLDS}-fold cross-validation over all {len(self.y):,} rows; "
            f"the ensembles and the choice used those scores ({scores}); chosen: "
            f"{chosen.algorithm} {chosen.number} ({chosen.score:.4f})."
        )


def rescore(
    executor: TrialExecutor,
    records: list[TrialRecord],
    shared: SharedData,
    *,
    deadline: float,
    slots: int,
    resources: Resources,
    backlog: list[TrialRecord] | None = None,
    room: Callable[[list[TrialRecord]], float | None] | None = None,
) -> Rescored | None:
    """Re-score ``records`` (best first) by cross-validation over every row, on ``executor``,
    before ``deadline`` (``time.monotonic()``); None when fewer than two finished.

    Once they are all under way, trials of ``backlog`` follow, best first, each when
    ``room(taken)`` (every trial taken so far, it last) gives a deadline for them all
    (None: it would not fit): plans count a booster at its capped rounds, and most stop
    well before them, so time is left more often than not.
    """
    if shared.rescore_splits is None:
        raise ValueError("rescore needs SharedData.rescore_splits")
    t0 = time.monotonic()
    queue, backlog = list(records), list(backlog or [])
    taken = list(records)
    by_number = {r.number: r for r in [*records, *backlog]}
    oofs: dict[int, np.ndarray] = {}
    refit_params: dict[int, dict[str, Any]] = {}
    missed: list[str] = []

    def next_task() -> TrialTask | None:
        if not queue and room is not None:  # the best of the backlog that still fits
            for i, r in enumerate(backlog):
                later = room([*taken, r])
                if later is not None:
                    taken.append(backlog.pop(i))
                    queue.append(r)
                    dispatcher.deadline = min(deadline, later)
                    break
        if not queue or time.monotonic() >= (dispatcher.deadline or deadline):
            return None
        r = queue.pop(0)
        return TrialTask("rescore", r.algorithm, r.params, key=r.number, number=r.number)

    dispatcher = Dispatcher(
        executor, slots=min(slots, len(records) + len(backlog)), resources=resources,
        deadline=deadline,
    )
    try:
        while True:
            dispatcher.fill(next_task)
            if not dispatcher.running:  # nothing left, or no time for it
                break
            for event in dispatcher.step(0.25):
                number = event.handle.task.key
                if event.kind == "done" and event.oof is not None:
                    oofs[number] = event.oof
                    refit_params[number] = event.params or by_number[number].params
                else:
                    missed.append(f"{number}: {event.error or event.kind}")
    finally:
        dispatcher.cancel_all("re-scoring over")
    missed += [f"{r.number}: no time left" for r in queue]
    if len(oofs) < 2:
        return None
    rows = np.concatenate([ev for _, ev in shared.rescore_splits])
    y = shared.y[rows]
    w = None if shared.w is None else shared.w[rows]
    candidates = []
    rounds: dict[int, tuple[int, int]] = {}
    for number in (r.number for r in taken if r.number in oofs):
        r, oof, params = by_number[number], oofs[number], refit_params[number]
        name = ESTIMATORS[r.algorithm].rounds_param  # set by early stopping (rescore_trial)
        if name is not None and params.get(name) != r.params.get(name):
            rounds[number] = (int(r.params[name]), int(params[name]))
        candidates.append(
            Candidate(
                number,
                r.algorithm,
                metrics.score(shared.metric, y, oof, w),
                seconds=r.seconds,
                members=[(r.algorithm, params)],
                oof=oof,
                node=r.node,
                eval_rows=rows,
            )
        )
    return Rescored(candidates, rows, y, w, time.monotonic() - t0, missed, rounds)


SKIPPED_NOTE = (
    f"Holdout validation: too little time was left to re-score the best trials by "
    f"{RESCORE_FOLDS}-fold cross-validation, so the holdout alone chose the model (see "
    "README). Raise limits.timeout_minutes to get the re-scoring."
)


class RescoreStage:
    """A job's re-scoring stage: its folds, its share of the reserve, its run.

    ``folds`` is None (nothing to re-score) unless the job drew its holdout itself
    (``PreparedData.random_holdout``); then ``RESCORE_FOLDS`` stratified folds over every
    row, which go to the executor with the rest of the shared data.
    """

    def __init__(
        self,
        data: PreparedData,
        seed: int,
        budget: float,
        slots: int,
        refit_seconds: Callable[[list[TrialRecord]], float] = _no_refit,
    ) -> None:
        holdout = data.random_holdout
        self.folds = stratified_splits(RESCORE_FOLDS, data.y, seed) if holdout else None
        # Each fold trains on (k-1)/k of every row; a trial trained on the holdout's train part.
        self.rows_ratio = len(data.y) * (1 - 1 / RESCORE_FOLDS) / max(1, len(data.splits[0][0]))
        self.budget = budget
        self.slots = slots
        self.refit_seconds = refit_seconds  # the final refit of these trials' models
        self.summary: dict[str, Any] = {}  # what the job records (result, properties)

    def plan(
        self, records: list[TrialRecord], seconds: float, size: int = RESCORE_MODELS
    ) -> list[TrialRecord]:
        if self.folds is None:
            return []
        return plan(records, seconds, self.rows_ratio, self.slots, size=size,
                    refit_seconds=self.refit_seconds)  # fmt: skip

    def reserve(self, records: list[TrialRecord]) -> float:
        """Seconds the search keeps for this stage and the refit of its models (at most
        ``RESCORE_SHARE`` of the budget); 0 when it would not fit (then the job's
        end reserve plans the refit of the holdout's pick instead)."""
        planned = self.plan(records, RESCORE_SHARE * self.budget)
        if not planned:
            return 0.0
        return rescore_seconds(planned, self.rows_ratio, self.slots) + self.refit_seconds(planned)

    def run(
        self,
        executor: TrialExecutor,
        records: list[TrialRecord],
        shared: SharedData,
        *,
        deadline: float,
        resources: Resources,
        emit: Callable[[dict[str, Any]], None],
        notes: list[str],
    ) -> Rescored | None:
        """Re-score what fits, with its refit, before ``deadline``; None (and a note why)
        when skipped."""
        if self.folds is None:
            return None
        if len(rescore_library(records)) < 2:  # nothing to compare: the one trial stands
            self.summary = {"skipped": "fewer than two distinct finished trials"}
            return None
        planned = self.plan(records, deadline - time.monotonic(), RESCORE_MAX_MODELS)
        rescored = None
        if planned:
            numbers = [r.number for r in planned]
            emit({"event": "phase", "phase": "re-scoring", "trials": numbers})
            backlog = [r for r in rescore_library(records, RESCORE_MAX_MODELS)
                       if r.number not in numbers]  # fmt: skip

            def room(taken: list[TrialRecord]) -> float | None:
                """The re-scoring's deadline with ``taken[-1]`` too, if it fits."""
                end = deadline - self.refit_seconds(taken)
                need = rescore_seconds(taken[-1:], self.rows_ratio, 1)
                return end if time.monotonic() + need <= end else None

            rescored = rescore(executor, planned, shared, slots=self.slots, resources=resources,
                               deadline=deadline - self.refit_seconds(planned),
                               backlog=backlog, room=room)  # fmt: skip
        if rescored is None:
            self.summary = {"skipped": "too little time left in limits.timeout_minutes"}
            notes.append(SKIPPED_NOTE)
        return rescored
