"""The search loop: Optuna's ask/tell over worker processes, inside the job's limits.

The parent owns the Optuna study (stored in the workspace, so a killed job
resumes from its finished trials) and asks it for trials; an executor
(``_executor.TrialExecutor``: local worker processes, or a cluster) fits them.
Keeping the study in one process means no storage contention, while
``max_concurrent_trials`` workers train in parallel. Each limit is enforced
here: ``max_trials``, ``timeout_minutes`` (the wall budget, leaving room for
the final refit), ``trial_timeout_minutes`` (the task is cancelled hard),
``exit_score`` and early termination.

Early termination keeps Azure's meaning (the search ends when the score has
stopped improving) with the score the job would report: the best trial *or*
the ensemble of the finished trials. After at least
``EARLY_TERMINATION_PATIENCE`` completed trials, once that many trials in a
row have not raised the best trial's score, the search asks
``SearchLimits.ensemble_score`` what ensembling the trials finished so far
reaches; if that has risen (by more than ``ENSEMBLE_GAIN``) since the last
improvement, new trials are still paying off through the ensemble and the
patience starts again. Only when neither improved does the search stop.
Stopping ends only the search: the job then re-scores the best trials
(``automl_local.rescore``, with a holdout), builds the ensembles and chooses.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from automl_local.exceptions import BudgetError
from automl_local.search._estimators import ESTIMATORS
from automl_local.search._executor import (
    Dispatcher,
    Resources,
    TrialEvent,
    TrialExecutor,
    TrialHandle,
    TrialTask,
)
from automl_local.search._worker import SharedData

__all__ = ["SearchLimits", "TrialRecord", "run_search"]

log = logging.getLogger(__name__)

EARLY_TERMINATION_PATIENCE = 20
# An ensemble's score moves a little with every trial added to its library: only a gain
# above this counts as progress for early termination.
ENSEMBLE_GAIN = 1e-4
# Portfolio order: the fastest strong model first, so a first score comes in seconds.
_PORTFOLIO_ORDER = [
    "LightGBM",
    "LogisticRegression",
    "XGBoostClassifier",
    "RandomForest",
    "ExtremeRandomTrees",
]


@dataclass
class SearchLimits:
    deadline: float  # time.monotonic() by which the whole job must end
    max_trials: int
    trial_timeout: float | None  # seconds
    exit_score: float | None
    early_termination: bool
    workers: int
    refit_reserve: Callable[[list[TrialRecord]], float] = lambda records: 0.0
    # What ensembling these finished trials would score (None: no ensembles in this job).
    ensemble_score: Callable[[list[TrialRecord]], float] | None = None


@dataclass
class TrialRecord:
    number: int
    algorithm: str
    params: dict[str, Any]
    status: str  # Completed | Failed | Pruned | TimedOut
    score: float = float("nan")
    seconds: float = 0.0
    fit_seconds: float = 0.0
    error: str = ""
    oof_path: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    node: str = ""  # where the trial ran (executor's node id; "local" on this machine)
    host: str = ""
    pid: int | None = None

    @property
    def ok(self) -> bool:
        return self.status == "Completed" and np.isfinite(self.score)


def _strip(algorithm: str, params: dict[str, Any]) -> dict[str, Any]:
    prefix = f"{algorithm}."
    return {k[len(prefix) :]: v for k, v in params.items() if k.startswith(prefix)}


def _open_study(journal: Path, name: str, seed: int, parallel: bool) -> Any:
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    storage = JournalStorage(JournalFileBackend(str(journal)))
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # multivariate/group TPE are marked experimental
        sampler = optuna.samplers.TPESampler(
            seed=seed, multivariate=True, group=True, constant_liar=parallel, n_startup_trials=5
        )
        pruner = optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1)
        study = optuna.create_study(
            study_name=name,
            storage=storage,
            direction="maximize",
            sampler=sampler,
            pruner=pruner,
            load_if_exists=True,
        )
    # Trials a killed run left RUNNING can never finish: fail them so numbering goes on.
    from optuna.trial import TrialState

    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING, TrialState.WAITING)):
        if t.state == TrialState.RUNNING:
            study._storage.set_trial_state_values(t._trial_id, TrialState.FAIL)
    return study


def _enqueue_portfolio(study: Any, algorithms: list[str], n_rows: int) -> None:
    if study.user_attrs.get("portfolio_enqueued"):
        return
    queue: list[tuple[str, dict[str, Any]]] = []
    for rank in range(3):
        for name in _PORTFOLIO_ORDER + [a for a in algorithms if a not in _PORTFOLIO_ORDER]:
            if name in algorithms:
                entries = ESTIMATORS[name].portfolio(n_rows)
                if rank < len(entries):
                    queue.append((name, entries[rank]))
    for name, params in queue:
        est = ESTIMATORS[name]
        study.enqueue_trial(
            {"algorithm": name, **{est.p(k): v for k, v in params.items()}},
            skip_if_exists=True,
        )
    study.set_user_attr("portfolio_enqueued", True)


def _previous_records(study: Any, trial_dir: Path) -> list[TrialRecord]:
    from optuna.trial import TrialState

    records = []
    for t in study.get_trials(deepcopy=False):
        if t.state in (TrialState.WAITING, TrialState.RUNNING):
            continue
        algo = t.params.get("algorithm", "?")
        oof = trial_dir / f"{t.number}.npy"
        status = {
            TrialState.COMPLETE: "Completed",
            TrialState.PRUNED: "Pruned",
        }.get(t.state, t.user_attrs.get("status", "Failed"))
        records.append(
            TrialRecord(
                number=t.number,
                algorithm=algo,
                params=_strip(algo, t.params),
                status=status,
                score=float(t.value) if t.value is not None else float("nan"),
                seconds=float(t.user_attrs.get("seconds", 0.0)),
                fit_seconds=float(t.user_attrs.get("fit_seconds", 0.0)),
                error=t.user_attrs.get("error", ""),
                oof_path=str(oof) if oof.exists() else "",
                node=t.user_attrs.get("node", ""),
                host=t.user_attrs.get("host", ""),
                pid=t.user_attrs.get("pid"),
            )
        )
    return records


@dataclass
class _Progress:
    """The scores early termination watches, and when they last improved."""

    best: float = -np.inf  # best trial score
    last_gain: int = 0  # number of records when a score last improved
    ensemble: float | None = None  # ensemble score at the last improvement (None: not yet)

    def stalled(self, limits: SearchLimits, records: list[TrialRecord]) -> bool:
        """True when neither the best trial nor the ensemble improved for the patience."""
        patience = EARLY_TERMINATION_PATIENCE
        n_ok = sum(1 for r in records if r.ok)
        if n_ok < patience or len(records) - self.last_gain < patience:
            return False
        if limits.ensemble_score is None:
            return True
        if self.ensemble is None:  # the reference: the ensemble at the last improvement
            self.ensemble = limits.ensemble_score(records[: self.last_gain])
        now = limits.ensemble_score(records)
        if now > self.ensemble + ENSEMBLE_GAIN:
            self.ensemble, self.last_gain = now, len(records)
            return False
        return True


def _stop_reason(
    limits: SearchLimits,
    records: list[TrialRecord],
    running: int,
    progress: _Progress,
    should_stop: Callable[[], bool],
) -> str:
    """Why the search must stop asking for trials now ('' to go on)."""
    ok = [r for r in records if r.ok]
    now = time.monotonic()
    if should_stop():
        return "canceled"
    if len(records) + running >= limits.max_trials:
        return "max_trials"
    if limits.exit_score is not None and progress.best >= limits.exit_score:
        return "exit_score"
    if limits.early_termination and progress.stalled(limits, records):
        return "early_termination"
    reserve = limits.refit_reserve(records) if ok else 0.0
    if now >= limits.deadline - reserve:
        return "timeout"
    return ""


def run_search(
    *,
    shared: SharedData,
    algorithms: list[str],
    limits: SearchLimits,
    journal: Path,
    study_name: str,
    trial_dir: Path,
    n_rows: int,
    seed: int,
    on_trial: Callable[[TrialRecord, list[TrialRecord]], None],
    executor: TrialExecutor,
    resources: Resources,
    should_stop: Callable[[], bool] = lambda: False,
) -> tuple[list[TrialRecord], str]:
    """Run trials until a limit says stop; return every record and why it stopped.

    ``executor`` has been given ``shared`` (:meth:`TrialExecutor.share`); the
    caller closes it (the refit runs on it next).
    """
    from optuna.trial import TrialState

    trial_dir.mkdir(parents=True, exist_ok=True)
    study = _open_study(journal, study_name, seed, limits.workers > 1)
    _enqueue_portfolio(study, algorithms, n_rows)
    records = _previous_records(study, trial_dir)
    progress = _Progress(
        best=max((r.score for r in records if r.ok), default=-np.inf), last_gain=len(records)
    )
    may_prune = len(shared.splits) > 2
    trials: dict[int, Any] = {}  # Optuna trial number -> trial

    def on_fold(handle: TrialHandle, step: int, value: float) -> bool:
        trial = trials[handle.task.number]
        trial.report(value, step)
        return may_prune and trial.should_prune()

    dispatcher = Dispatcher(
        executor,
        slots=limits.workers,
        resources=resources,
        task_timeout=limits.trial_timeout,
        deadline=limits.deadline,
        on_fold=on_fold,
    )

    def ask() -> TrialTask | None:
        if len(records) + len(dispatcher.running) >= limits.max_trials:
            return None
        trial = study.ask()
        algo = trial.suggest_categorical("algorithm", algorithms)
        params = ESTIMATORS[algo].search_space(trial, n_rows)
        trials[trial.number] = trial
        return TrialTask("trial", algo, params, number=trial.number)

    def finish(
        event: TrialEvent, status: str, score: float | None = None, **extra: Any
    ) -> TrialRecord:
        task, where = event.handle.task, event.handle.where
        trial = trials.pop(task.number)
        rec = TrialRecord(task.number, task.algorithm, task.params, status, **extra)
        rec.seconds = time.monotonic() - event.handle.started
        rec.node, rec.host, rec.pid = where.node, where.host, where.pid
        if score is not None:
            rec.score = score
        for key in ("seconds", "fit_seconds", "node", "host", "pid"):
            trial.set_user_attr(key, getattr(rec, key))
        trial.set_user_attr("status", status)
        if rec.error:
            trial.set_user_attr("error", rec.error[:2000])
        state = {"Completed": TrialState.COMPLETE, "Pruned": TrialState.PRUNED}.get(
            status, TrialState.FAIL
        )
        study.tell(trial, score if state == TrialState.COMPLETE else None, state=state)
        records.append(rec)
        on_trial(rec, records)
        return rec

    reason = ""
    while True:
        reason = reason or _stop_reason(
            limits, records, len(dispatcher.running), progress, should_stop
        )
        if reason in ("canceled", "timeout"):  # running trials would eat the refit time
            status = "Canceled" if reason == "canceled" else "TimedOut"
            for event in dispatcher.cancel_all(f"stopped: job {reason}"):
                finish(event, status, error=event.error)
            break
        if reason and not dispatcher.running:
            break
        if not reason:
            dispatcher.fill(ask)
        for event in dispatcher.step(0.25):
            number = event.handle.task.number
            if event.kind == "timeout":
                why = (
                    f"stopped after trial_timeout_minutes ({limits.trial_timeout / 60:.2f} min)"
                    if event.error == "trial_timeout" and limits.trial_timeout is not None
                    else "stopped at the job's timeout_minutes"
                )
                finish(event, "TimedOut", error=why)
            elif event.kind == "done" and event.oof is not None:
                if not executor.interactive_pruning:  # the pruner still learns from every fold
                    for step, value in enumerate(event.fold_scores):
                        trials[number].report(value, step)
                path = trial_dir / f"{number}.npy"
                np.save(path, event.oof)
                score = _pooled_score(shared, event.oof)
                fit = event.fit_seconds
                finish(event, "Completed", score, fit_seconds=fit, oof_path=str(path))
                if score > progress.best + 1e-5:
                    progress.best, progress.last_gain = score, len(records)
                    progress.ensemble = None  # measured again from here if need be
            elif event.kind == "pruned":
                finish(event, "Pruned")
            else:
                log.warning("trial %s failed: %s", number, event.error)
                finish(event, "Failed", error=event.error)
    if not any(r.ok for r in records) and reason != "canceled":
        errors = "; ".join(
            f"#{r.number} {r.algorithm}: {r.error or r.status}" for r in records[-5:]
        )
        if reason == "timeout":
            raise BudgetError(
                "limits.timeout_minutes left no time to finish a single trial "
                f"({errors or 'none started'}). Raise limits.timeout_minutes (a first model on "
                "this data needs more time) or limits.trial_timeout_minutes."
            )
        raise BudgetError(f"every trial failed or was stopped: {errors}.")
    return records, reason


def _pooled_score(shared: SharedData, oof: np.ndarray) -> float:
    from automl_local import metrics

    ev = np.concatenate([e for _, e in shared.splits])
    w = None if shared.w is None else shared.w[ev]
    return metrics.score(shared.metric, shared.y[ev], oof, w)
