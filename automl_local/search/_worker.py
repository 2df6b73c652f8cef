"""Trial worker processes.

Each worker is a child process that holds the featurized matrices, so a
trial costs only its fits. The parent talks to it over a pipe:

- ``("trial", number, algorithm, params)`` -> per fold ``("fold", k, score)``,
  answered ``"go"`` or ``"prune"``; then ``("done", oof, fit_seconds, scores)``
  or ``("pruned",)``;
- ``("rescore", number, algorithm, params)`` -> ``("done", oof, fit_seconds, scores,
  refit_params)`` over the folds of ``SharedData.rescore_splits``, never pruned;
- ``("refit", algorithm, params)`` -> ``("model", fitted_estimator, seconds)``;
- any failure -> ``("error", message)``; the worker survives it.

Killing a worker is how a runaway trial is stopped (``trial_timeout_minutes``,
or the job's wall budget): the parent starts a fresh one.

Workers come from a ``forkserver`` with the learners preloaded, not from a
plain ``fork`` of the job process: LightGBM, XGBoost and scikit-learn use
OpenMP, and GNU OpenMP hangs in a child forked from a parent that has used it.
The forkserver never trains anything, so its children are safe, and still
start in a fraction of a second.
"""

from __future__ import annotations

import importlib
import multiprocessing as mp
import os
import signal
import time
import traceback
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

from automl_local import metrics
from automl_local.search._estimators import ESTIMATORS

__all__ = [
    "SharedData",
    "Worker",
    "allow_fork",
    "cv_trial",
    "error_detail",
    "refit",
    "rescore_trial",
    "rounds_patience",
    "warm_up",
]

# Re-scoring a booster (``rescore_trial``): each fold may grow to this many times the
# trial's rounds, and stops once its held-out rows have not improved for this many.
ROUNDS_CAP = 2
ROUNDS_PATIENCE = 50


def rounds_patience(params: dict[str, Any]) -> int:
    """Rounds without a better held-out score before a booster stops: ``ROUNDS_PATIENCE``
    at a learning rate of 0.1, more for a slower learner, which needs more rounds to move
    as far (at most 10 times as many). With 50 rounds at a learning rate of 0.015, one of
    three bank-marketing folds stopped at 62 rounds while the others ran to 762 and 521:
    its predictions dragged the trial's cross-validated AUC to 0.9409 (0.9476 refit)."""
    rate = params.get("learning_rate")
    if not isinstance(rate, (int, float)) or rate <= 0:
        return ROUNDS_PATIENCE
    return max(ROUNDS_PATIENCE, min(10 * ROUNDS_PATIENCE, round(ROUNDS_PATIENCE * 0.1 / rate)))


@dataclass
class SharedData:
    """What every worker receives when it starts."""

    matrices: dict[str, np.ndarray]  # family -> featurized rows
    categorical: dict[str, list[int]]  # family -> categorical column indices
    y: np.ndarray
    w: np.ndarray | None
    splits: list[tuple[np.ndarray, np.ndarray]]
    n_classes: int
    metric: str
    n_jobs: int
    seed: int
    # k folds over every row, for re-scoring the best trials when ``splits`` is one
    # holdout (see ``automl_local.rescore``); None when the job does not re-score.
    rescore_splits: list[tuple[np.ndarray, np.ndarray]] | None = None


@contextmanager
def _fitting(shared: SharedData, algorithm: str) -> Iterator[None]:
    """Quiet, and on ``shared.n_jobs`` threads (fewer if the estimator says so): OpenMP and
    BLAS (scikit-learn's HistGradientBoosting, NumPy) otherwise take every core in each of
    the workers side by side, and spin against each other (measured: a GradientBoosting fit
    took 5.2 s in each of two workers, against 1.8 s on one thread each)."""
    from threadpoolctl import threadpool_limits

    cap = ESTIMATORS[algorithm].max_threads
    threads = max(1, min(shared.n_jobs, cap) if cap else shared.n_jobs)
    with warnings.catch_warnings(), threadpool_limits(limits=threads):
        warnings.simplefilter("ignore")
        yield


def _fit(shared: SharedData, algorithm: str, params: dict[str, Any], rows: np.ndarray) -> Any:
    est = ESTIMATORS[algorithm]
    X = shared.matrices[est.family][rows]
    w = None if shared.w is None else shared.w[rows]
    model = est.build(params, n_jobs=shared.n_jobs, seed=shared.seed, n_classes=shared.n_classes)
    return est.fit(model, X, shared.y[rows], w, shared.categorical[est.family])


def _rows(shared: SharedData, family: str, rows: np.ndarray) -> tuple[Any, ...]:
    return (shared.matrices[family][rows], shared.y[rows],
            None if shared.w is None else shared.w[rows])  # fmt: skip


def _fit_stopped(
    shared: SharedData, algorithm: str, params: dict[str, Any], rows: np.ndarray,
    held_out: np.ndarray,
) -> tuple[Any, int]:  # fmt: skip
    """A booster fitted on ``rows`` with up to ``ROUNDS_CAP`` times its rounds, stopped early
    on ``held_out``; and its best round count."""
    est = ESTIMATORS[algorithm]
    assert est.rounds_param is not None
    capped = {**params, est.rounds_param: ROUNDS_CAP * int(params[est.rounds_param])}
    model = est.build(capped, n_jobs=shared.n_jobs, seed=shared.seed, n_classes=shared.n_classes)
    auc = shared.n_classes == 2 and shared.metric.startswith("AUC")
    rounds = est.fit_early_stopped(
        model, _rows(shared, est.family, rows), _rows(shared, est.family, held_out),
        shared.categorical[est.family], patience=rounds_patience(params), auc=auc,
    )  # fmt: skip
    return model, rounds


def _proba(model: Any, X: np.ndarray, n_classes: int) -> np.ndarray:
    p = model.predict_proba(X)
    if p.shape[1] != n_classes:  # a fold missed a class: widen to all classes
        full = np.zeros((len(X), n_classes))
        full[:, np.asarray(model.classes_, dtype=int)] = p
        p = full
    return p


def cv_trial(
    shared: SharedData,
    algorithm: str,
    params: dict[str, Any],
    report: Callable[[int, float], bool],
    splits: list[tuple[np.ndarray, np.ndarray]] | None = None,
    rounds: list[int] | None = None,
) -> tuple[np.ndarray | None, float, list[float]]:
    """Fit one trial fold by fold (``splits``, by default the search's own);
    ``report(fold, score)`` answers whether to prune. With a ``rounds`` list, each
    fold's booster stops early on that fold's held-out rows, and its best round count is
    appended (see :func:`rescore_trial`).

    Returns the out-of-fold probabilities (``None`` when pruned), the seconds
    spent fitting and each fold's score. Every executor runs trials through
    this one function, so a trial gives the same numbers wherever it runs.
    """
    est = ESTIMATORS[algorithm]
    splits = shared.splits if splits is None else splits
    n_eval = sum(len(ev) for _, ev in splits)
    oof = np.zeros((n_eval, shared.n_classes))
    offset, fit_seconds = 0, 0.0
    scores: list[float] = []
    for k, (tr, ev) in enumerate(splits):
        t0 = time.perf_counter()
        with _fitting(shared, algorithm):
            if rounds is None:
                model = _fit(shared, algorithm, params, tr)
            else:
                model, best = _fit_stopped(shared, algorithm, params, tr, ev)
                rounds.append(best)
            fit_seconds += time.perf_counter() - t0
            p = _proba(model, shared.matrices[est.family][ev], shared.n_classes)
        oof[offset : offset + len(ev)] = p
        offset += len(ev)
        w = None if shared.w is None else shared.w[ev]
        scores.append(metrics.score(shared.metric, shared.y[ev], p, w))
        if report(k, scores[-1]):
            return None, fit_seconds, scores
    return oof, fit_seconds, scores


def rescore_trial(
    shared: SharedData, algorithm: str, params: dict[str, Any]
) -> tuple[np.ndarray | None, float, list[float], dict[str, Any]]:
    """A trial cross-validated over every row (``shared.rescore_splits``), never pruned;
    with the parameters its final refit should use.

    A booster (LightGBM, XGBoost, GradientBoosting) stops early on each fold's held-out
    rows, and the refit gets the folds' mean best round count, scaled by k/(k-1) for its
    k/(k-1) times as many rows. Why: the trial's own round count was tuned on one small
    holdout, and boosters rated on AUC peak well before it (measured on bank marketing: the
    portfolio's LightGBM and XGBoost settings stopped at 20-65 % of their rounds, and a
    VotingEnsemble over stopped members scored 0.0004-0.0007 higher on held-out rows, on
    every seed; see the README's "Boosting rounds" section).
    The out-of-fold predictions come from the stopped boosters, as in AutoGluon's bagging.
    """
    if shared.rescore_splits is None:
        raise RuntimeError("a rescore task, but the shared data has no rescore_splits")
    name = ESTIMATORS[algorithm].rounds_param
    rounds: list[int] | None = [] if name is not None and name in params else None
    oof, seconds, scores = cv_trial(
        shared, algorithm, params, lambda k, v: False, shared.rescore_splits, rounds
    )
    if not rounds or name is None:  # not a booster: the refit takes the trial's own parameters
        return oof, seconds, scores, params
    k = len(shared.rescore_splits)
    refit_rounds = max(1, round(float(np.mean(rounds)) * k / max(1, k - 1)))
    return oof, seconds, scores, {**params, name: refit_rounds}


def refit(shared: SharedData, algorithm: str, params: dict[str, Any]) -> tuple[Any, float]:
    """Fit one model on every row; return it ready for inference, and the seconds it took."""
    t0 = time.perf_counter()
    with _fitting(shared, algorithm):
        model = _fit(shared, algorithm, params, np.arange(len(shared.y)))
    return ESTIMATORS[algorithm].for_inference(model), time.perf_counter() - t0


def error_detail(exc: BaseException) -> str:
    """The one-line reason a trial failed, as the trial record shows it."""
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()


def _serve(conn: Connection) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    for module in _PRELOAD:  # a forked worker imports the learners while the parent prepares data
        importlib.import_module(module)
    shared: SharedData | None = None

    def report(k: int, score: float) -> bool:
        conn.send(("fold", k, score))
        return bool(conn.recv() == "prune")

    while True:
        try:
            msg = conn.recv()
        except EOFError:
            return
        try:
            if msg[0] == "data":
                shared = msg[1]
            elif shared is None:
                raise RuntimeError("worker got a task before its data")
            elif msg[0] == "trial":
                _, _number, algorithm, params = msg
                oof, fit_seconds, scores = cv_trial(shared, algorithm, params, report)
                conn.send(("pruned",) if oof is None else ("done", oof, fit_seconds, scores))
            elif msg[0] == "rescore":
                _, _number, algorithm, params = msg
                conn.send(("done", *rescore_trial(shared, algorithm, params)))
            elif msg[0] == "refit":
                _, algorithm, params = msg
                conn.send(("model", *refit(shared, algorithm, params)))
        except Exception as exc:
            conn.send(("error", error_detail(exc), traceback.format_exc()))


# LightGBM and XGBoost each bring an OpenMP runtime; with both loaded, spinning threads
# starve each other (measured: a 0.2 s fit took 2.4 s with 2 threads). Set before any
# worker starts, forked or from the forkserver: OpenMP reads it when it first runs.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

_PRELOAD = ["automl_local.search._worker", "lightgbm"]  # xgboost: ~1 s more; loaded on demand


def _context() -> Any:
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(_PRELOAD)
    return ctx


_FORK_SAFE = False


def allow_fork() -> None:
    """Declare that this process has not run OpenMP code yet (a fresh job process)."""
    global _FORK_SAFE
    _FORK_SAFE = True


def warm_up() -> None:
    """Start the forkserver now, so its imports overlap with data preparation."""
    _context()
    from multiprocessing import forkserver

    forkserver.ensure_running()


class Worker:
    """A worker process and the task it is running.

    Started before the data is ready (its imports overlap with data
    preparation); :meth:`load` hands it the featurized matrices.
    """

    def __init__(self, shared: SharedData | None = None, *, fork: bool = False) -> None:
        # ``fork`` is instant but only safe before this process has used OpenMP (see the
        # module docstring): only a job process that declared it (``allow_fork``) forks
        # its first workers; everything else, and every replacement, uses the forkserver.
        ctx = mp.get_context("fork") if fork and _FORK_SAFE else _context()
        conn, child = ctx.Pipe()
        self.conn: Connection = conn
        # Not a daemon: scikit-learn's joblib refuses to parallelise inside daemons. A worker
        # whose parent dies gets EOF on its pipe and exits by itself.
        self.process = ctx.Process(target=_serve, args=(child,), daemon=False)
        self.process.start()
        child.close()
        self.task: Any = None
        self.started = 0.0
        if shared is not None:
            self.load(shared)

    def load(self, shared: SharedData) -> Worker:
        self.conn.send(("data", shared))
        return self

    def send(self, task: Any, message: tuple) -> None:
        self.task = task
        self.started = time.monotonic()
        self.conn.send(message)

    @property
    def busy(self) -> bool:
        return self.task is not None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        pid = self.process.pid
        if pid is not None and self.process.is_alive():
            os.kill(pid, sig)
        self.process.join(timeout=5)
        self.conn.close()
