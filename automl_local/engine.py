"""One AutoML classification job, start to finish, inside its wall budget.

prepare data -> guardrails -> featurize -> search (trials on an executor:
worker processes on this machine by default) -> VotingEnsemble /
StackEnsemble -> refit the winner on all rows (on the same executor) -> test
metrics -> explanation -> MLflow model, logged and registered.

This module only orchestrates: the checks live with what they check
(``settings``, ``featurize``, ``search``), the dispatch loop and the executors
in ``search``, the ensembles in ``ensemble``, the MLflow packaging in
``packaging``.

Everything a person or a later process needs lands in the job's folder:
``events.jsonl`` (what ``job stream`` shows), ``guardrails.json``,
``featurization_summary.json``, ``leaderboard.json``, ``result.json`` and
``outputs/best_model/`` (the MLflow model, Azure's ``best_model`` output).
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from automl_local import metrics
from automl_local.budget import SAVE_SECONDS, EndOfBudget
from automl_local.ensemble import (
    Candidate,
    bagged_selection,
    build_ensembles,
    choose,
    leaderboard_candidates,
    refit_candidate,
    trial_candidates,
    trial_library,
)
from automl_local.explain import permutation_importance
from automl_local.featurize import (
    ColumnPlan,
    check_featurization,
    featurize_families,
    infer_column_plan,
)
from automl_local.model import AutoMLModel
from automl_local.outputs import JobOutputs, restrict_to_onnx, write_job_outputs
from automl_local.packaging import registered_model_name, save_mlflow_model
from automl_local.rescore import RESCORE_FOLDS, RescoreStage
from automl_local.search import (
    ESTIMATORS,
    PreparedData,
    Resources,
    SearchLimits,
    SharedData,
    TrialExecutor,
    TrialRecord,
    check_ray_address,
    make_executor,
    prepare,
    resolve_algorithms,
    run_search,
)
from automl_local.settings import JobSettings
from automl_local.tracking import Tracker
from automl_local.workspace import Workspace

__all__ = ["Emit", "run_job", "validate_settings"]

Emit = Callable[[dict[str, Any]], None]

DEFAULT_TIMEOUT_MINUTES = 8640.0  # Azure's service default: 6 days
DEFAULT_MAX_TRIALS = 1000  # Azure's service default
# The ensembles choose among this many trials: the best, at most LIBRARY_PER_ALGORITHM
# of each algorithm (the search piles up near-copies of one model; diversity is what
# an ensemble gains from).
MAX_ENSEMBLE_CANDIDATES = 20
SMALL_DATA_CELLS = 200_000  # below this many matrix cells a trial fits on one thread


def matrices_cells(matrices: dict[str, np.ndarray]) -> int:
    return max(m.size for m in matrices.values())


def _json_dump(path: Path, data: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str))
    os.replace(tmp, path)


def validate_settings(
    s: JobSettings,
) -> tuple[PreparedData, list[str], dict[str, str], ColumnPlan]:
    """Every check that needs no training: limits, Ray binding, data, algorithms, featurization.

    ``job create`` calls it before anything is written, so a bad spec fails at
    once with a clear message; the job process calls it again as its first step.
    """
    s.limits.check()
    if s.ray_address:
        check_ray_address(s.ray_address, s.compute)
    data = prepare(s)
    algorithms, skipped = resolve_algorithms(
        s.training.allowed_training_algorithms,
        s.training.blocked_training_algorithms,
        n_rows=len(data.X),
        weighted=data.w is not None,
    )
    plan = infer_column_plan(data.X, s.featurization.column_name_and_types)
    check_featurization(data.X, s.featurization, plan)
    if s.training.enable_onnx_compatible_models:
        algorithms, skipped = restrict_to_onnx(algorithms, skipped, plan.text + plan.datetime)
    return data, algorithms, skipped, plan


def run_job(
    settings: JobSettings,
    workspace: Workspace,
    *,
    emit: Emit,
    should_stop: Callable[[], bool] = lambda: False,
    started: float | None = None,
    executor: TrialExecutor | None = None,
) -> dict[str, Any]:
    """Run the job; return its summary (also written to ``result.json``).

    ``executor`` runs the trials and the refit (the job closes it); by default
    the one the settings bind (``ray_address``) or local worker processes.
    """
    return _JobRun(settings, workspace, emit, should_stop, started).run(executor)


class _JobRun:
    """The state one job carries through its phases."""

    def __init__(
        self,
        s: JobSettings,
        workspace: Workspace,
        emit: Emit,
        should_stop: Callable[[], bool],
        started: float | None,
    ) -> None:
        self.s = s
        self.workspace = workspace
        self.emit = emit
        self.should_stop = should_stop
        self.t_start = time.monotonic() if started is None else started
        self.budget = 60.0 * (s.limits.timeout_minutes or DEFAULT_TIMEOUT_MINUTES)
        self.deadline = self.t_start + self.budget
        self.job_dir = workspace.job_dir(s.name)
        self.job_dir.mkdir(parents=True, exist_ok=True)
        self.n_workers = max(1, int(s.limits.max_concurrent_trials or 1))
        max_trials = int(s.limits.max_trials or DEFAULT_MAX_TRIALS)
        ensembles = int(s.training.enable_vote_ensemble) + int(s.training.enable_stack_ensemble)
        self.n_ensembles = ensembles if max_trials >= 3 else 0
        self.max_trials = max_trials
        self.refit_slots = max(self.n_workers, os.cpu_count() or 1)
        self.tracker = Tracker(workspace.tracking_uri, workspace.artifact_root, s.experiment_name)

    # -- phases -------------------------------------------------------------
    def run(self, executor: TrialExecutor | None) -> dict[str, Any]:
        s = self.s
        self.emit({"event": "phase", "phase": "preparing data"})
        # Local worker processes boot (their imports take seconds) while the data is prepared.
        executor = executor or make_executor(s.ray_address, self.n_workers)
        try:
            self._prepare(executor)
            self._start_tracking()
            records, reason = self._search(executor)
            if reason != "canceled":
                return self._finish(records, reason, executor)
        except BaseException:
            self.tracker.end(s.name, "Failed", quiet=True)
            self.tracker.close(quiet=True)
            raise
        finally:
            executor.close()  # _finish closes it after the refit; this covers the rest
        self.tracker.end(s.name, "Canceled")
        self.tracker.close()
        return {"status": "Canceled", "stop_reason": reason}

    def _prepare(self, executor: TrialExecutor) -> None:
        s = self.s
        self.data, self.algorithms, self.skipped, plan = validate_settings(s)
        # Guardrails only inform (they change nothing in training), so they run beside
        # the first trials instead of delaying them; their report lands when ready.
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="guardrails")
        self.guardrails: Future[None] = pool.submit(self._guardrails)
        pool.shutdown(wait=False)
        families = sorted({ESTIMATORS[a].family for a in self.algorithms})
        self.featurizers, matrices, categorical = featurize_families(
            self.data.X, s.featurization, plan, families
        )
        summary = self.featurizers[families[0]].summary()
        _json_dump(self.job_dir / "featurization_summary.json", summary)
        self.emit(
            {
                "event": "featurization",
                "summary": summary,
                "algorithms": self.algorithms,
                "skipped_algorithms": self.skipped,
                "validation": self.data.validation,
            }
        )
        per_trial = s.limits.max_cores_per_trial
        cores = max(1, (os.cpu_count() or 1) // self.n_workers)
        if per_trial not in (None, -1):
            n_jobs = int(per_trial)
        else:  # threads cost more than they give on small tables
            n_jobs = 1 if matrices_cells(matrices) < SMALL_DATA_CELLS else cores
        d = self.data
        # Refits and re-scoring run side by side as far as the cores allow.
        side_slots = max(1, min(self.refit_slots, (os.cpu_count() or 1) // n_jobs))
        self.y_eval = d.y[d.eval_index]
        self.w_eval = None if d.w is None else d.w[d.eval_index]
        self.end = EndOfBudget(
            self.budget, self.deadline, len(d.y) / max(1, sum(len(tr) for tr, _ in d.splits)),
            side_slots, self.n_ensembles, s.training.enable_model_explainability,
            s.primary_metric, self.y_eval, self.w_eval,
        )  # fmt: skip
        # With a holdout the job drew itself, the best trials are re-scored at the end by
        # k-fold cross-validation over every row (automl_local.rescore): the folds go out now.
        self.cv = RescoreStage(d, s.seed, self.budget, side_slots, self.end.refit_seconds)
        self.end.rescoring = self.cv
        self.shared = SharedData(
            matrices=matrices,
            categorical=categorical,
            y=d.y,
            w=d.w,
            splits=d.splits,
            n_classes=len(d.classes),
            metric=s.primary_metric,
            n_jobs=n_jobs,
            seed=s.seed,
            rescore_splits=self.cv.folds,
        )
        self.resources = Resources(cpus=n_jobs)
        executor.share(self.shared)  # the matrices go to the workers once

    def _guardrails(self) -> None:
        import pandas as pd

        from automl_local.guardrails import run_guardrails

        d, s = self.data, self.s
        labels = pd.Series(np.asarray(d.classes, dtype=object)[d.y])
        checks = run_guardrails(
            d.X,
            labels,
            validation=d.validation,
            sample_weight=d.w,
            imputation=s.featurization.imputer or None,
        )
        guardrails = [g.to_dict() for g in checks]
        _json_dump(self.job_dir / "guardrails.json", guardrails)
        self.emit({"event": "guardrails", "guardrails": guardrails})

    def _start_tracking(self) -> None:
        s = self.s
        self.tracker.start_parent(
            s.name,
            tags={
                "mlflow.runName": s.display_name or s.name,
                "runTemplate": "AutoML",
                "azureml.runsource": "automl",
                "task_type": "classification",
                **s.tags,
            },
            params={
                "primary_metric": s.primary_metric,
                "target_column_name": s.target_column_name,
                "validation": self.data.validation,
                "algorithms": ",".join(self.algorithms),
            },
        )

    def _ensemble_score(self, records: list[TrialRecord]) -> float:
        """What the VotingEnsemble over these trials scores (early termination asks)."""
        oofs = [np.load(r.oof_path) for r in trial_library(records, MAX_ENSEMBLE_CANDIDATES)]
        if len(oofs) < 2:
            return max((r.score for r in records if r.ok), default=-math.inf)
        s = self.s
        vote = bagged_selection(oofs, self.y_eval, s.primary_metric, self.w_eval, seed=s.seed)
        return vote.score

    def _search(self, executor: TrialExecutor) -> tuple[list[TrialRecord], str]:
        s, lim = self.s, self.s.limits
        trial_timeout = (
            None if lim.trial_timeout_minutes is None else 60.0 * lim.trial_timeout_minutes
        )
        limits = SearchLimits(
            deadline=self.deadline,
            max_trials=max(1, self.max_trials - self.n_ensembles),
            trial_timeout=trial_timeout,
            exit_score=lim.exit_score,
            early_termination=bool(lim.enable_early_termination),
            workers=self.n_workers,
            refit_reserve=self.end.reserve,
            ensemble_score=self._ensemble_score if self.n_ensembles else None,
        )
        self.emit(
            {
                "event": "phase",
                "phase": "searching",
                "max_trials": self.max_trials,
                "budget": self.budget,
                "executor": executor.name,
                "address": s.ray_address,
            }
        )
        return run_search(
            shared=self.shared,
            algorithms=self.algorithms,
            limits=limits,
            journal=self.workspace.optuna_journal,
            study_name=s.name,
            trial_dir=self.job_dir / "trials",
            n_rows=len(self.data.X),
            seed=s.seed,
            on_trial=self._on_trial,
            executor=executor,
            resources=self.resources,
            should_stop=self.should_stop,
        )

    def _on_trial(self, rec: TrialRecord, records: list[TrialRecord]) -> None:
        child_metrics = {"trial_seconds": rec.seconds, "fit_seconds": rec.fit_seconds}
        if rec.ok and rec.oof_path:
            child_metrics |= metrics.classification_metrics(
                self.y_eval, np.load(rec.oof_path), self.w_eval
            )
        self._log_child(rec.number, rec.algorithm, rec.status, rec.score, child_metrics,
                        params=rec.params,
                        tags={"error": rec.error[:500], "node": rec.node, "host": rec.host})
        best = max((r.score for r in records if r.ok), default=float("nan"))
        self._emit_trial(rec.number, rec.algorithm, rec.status, rec.score, rec.seconds, best,
                         rec.error, node=rec.node)  # fmt: skip

    def _log_child(self, number: int, algorithm: str, status: str, score: float,
                   child_metrics: dict[str, float], *, params: dict[str, Any],
                   tags: dict[str, str]) -> None:  # fmt: skip
        s = self.s
        self.tracker.log_child(
            s.name,
            f"{s.name}_{number}",
            params={"algorithm": algorithm, **params},
            metrics=child_metrics,
            status=status,
            tags={
                "run_algorithm": algorithm,
                "status": status,
                "score": str(score),
                "iteration": str(number),
                **tags,
            },
        )

    def _emit_trial(self, number: int, algorithm: str, status: str, score: float,
                    seconds: float, best: float, error: str = "", node: str = "") -> None:
        self.emit({"event": "trial", "trial": number, "algorithm": algorithm, "status": status,
                   "score": score, "seconds": round(seconds, 3), "best": best, "error": error,
                   "node": node, "elapsed": time.monotonic() - self.t_start,
                   "budget": self.budget})  # fmt: skip

    def _ensembles(
        self, pool: list[Candidate], y: np.ndarray, w: np.ndarray | None, first_number: int
    ) -> list[Candidate]:
        """The ensembles over ``pool`` (out-of-fold predictions against ``y``), numbered
        from ``first_number``; each is logged as a child run."""
        s = self.s
        by_number = {c.number: c for c in pool}
        ensembles: list[Candidate] = []
        if not self.n_ensembles or len(pool) < 2:
            return ensembles
        built = build_ensembles(pool, y, s.primary_metric, w, vote=s.training.enable_vote_ensemble,
                                stacked=s.training.enable_stack_ensemble,
                                meta_learner=s.training.stack_meta_learner_type, seed=s.seed,
                                meta_kwargs=s.training.stack_meta_learner_kwargs,
                                first_number=first_number)  # fmt: skip
        for cand in built:
            assert cand.oof is not None
            cand.eval_rows = pool[0].eval_rows  # the rows its predictions cover
            self._log_child(
                cand.number,
                cand.algorithm,
                "Completed",
                cand.score,
                self._metrics_of(cand),
                params={"ensembled_iterations": cand.ensembled_iterations,
                        "ensemble_weights": cand.weights},
                tags={"ensembled_algorithms": ",".join(
                    by_number[n].algorithm for n in cand.ensembled_iterations),
                    "scored_on": "validation" if cand.eval_rows is None else
                    f"{RESCORE_FOLDS}-fold cross-validation over all rows"},
            )  # fmt: skip
            best = max(c.score for c in [*pool, *ensembles, cand])
            self._emit_trial(
                cand.number, cand.algorithm, "Completed", cand.score, cand.seconds, best
            )
            ensembles.append(cand)
        return ensembles

    def _metrics_of(self, c: Candidate) -> dict[str, float]:
        """A candidate's metrics on the rows its out-of-fold predictions cover."""
        assert c.oof is not None
        if c.eval_rows is None:
            return metrics.classification_metrics(self.y_eval, c.oof, self.w_eval)
        w = self.data.w
        return metrics.classification_metrics(
            self.data.y[c.eval_rows], c.oof, None if w is None else w[c.eval_rows]
        )

    def _finish(
        self, records: list[TrialRecord], reason: str, executor: TrialExecutor
    ) -> dict[str, Any]:
        s, d = self.s, self.data
        self.emit({"event": "phase", "phase": "ensembling", "stop_reason": reason})
        singles, self.failed_rows = trial_candidates(records, MAX_ENSEMBLE_CANDIDATES)
        rescored = self.cv.run(executor, records, self.shared, resources=self.resources,
                               deadline=self.deadline - self.end.rest(records),
                               emit=self.emit, notes=d.notes)  # fmt: skip
        pool, y, w = (rescored.candidates, rescored.y, rescored.w) if rescored else (
            singles, self.y_eval, self.w_eval)  # fmt: skip
        fallback = max(pool, key=lambda c: c.score)
        skip = self.end.ensembles_note([r for r in records if r.number == fallback.number])
        d.notes += [skip] if skip else []
        ensembles = [] if skip else self._ensembles(pool, y, w, max(r.number for r in records) + 1)
        preferred = choose([*pool, *ensembles], y, s.primary_metric, w, seed=s.seed)
        top = max([*pool, *ensembles], key=lambda c: c.score)
        if preferred is not top:
            d.notes.append(
                f"{preferred.algorithm} ({preferred.score:.4f}) chosen over {top.algorithm} "
                f"({top.score:.4f}): within the validation score's standard error (see README)."
            )
        by_number = {c.number: c for c in singles}
        candidates, self.failed_rows = leaderboard_candidates(
            singles, pool, ensembles, self.failed_rows)  # fmt: skip
        self.candidates = candidates
        if rescored:
            holdout = {r.number: r.score for r in records}
            self.cv.summary = rescored.summary(s.name, holdout, preferred)
            d.notes.append(rescored.note(holdout, ensembles, preferred))
        self.emit({"event": "phase", "phase": "refitting", "best": preferred.algorithm})
        model, best = refit_candidate(
            executor,
            preferred,
            fallback,
            self.featurizers,
            list(d.classes),
            soft_deadline=self.deadline - SAVE_SECONDS,
            deadline=self.deadline,
            slots=self.refit_slots,
            resources=self.resources,
        )
        executor.close()  # the workers' memory is free for the explanation and the saving
        model.columns = list(d.X.columns)
        if not best.ensembled_iterations:  # the trial's own child run, as the search scored it
            # ... with the parameters of the model refit (re-scoring may set a booster's rounds)
            by_number.get(best.number, best).members = best.members
            best = by_number.get(best.number, best)
        if best.number != preferred.number:
            d.notes.append(
                f"{preferred.algorithm} (score {preferred.score:.4f}) could not be refit on all "
                f"rows within limits.timeout_minutes; the best single model, {best.algorithm}, "
                "was used. Raise the timeout to get the ensemble."
            )
        best_run = f"{s.name}_{best.number}"
        assert best.oof is not None  # every candidate that can win has out-of-fold predictions
        result: dict[str, Any] = {
            "status": "Completed",
            "stop_reason": reason,
            "primary_metric": s.primary_metric,
            "best_child_run_id": best_run,
            "best_algorithm": best.algorithm,
            "best_score": best.score,
            "validation": d.validation,
            "classes": [str(c) for c in d.classes],
            "trials": len(records) + sum(1 for c in candidates if c.ensembled_iterations),
            "skipped_algorithms": self.skipped,
            "notes": d.notes,
            "best_metrics": self._metrics_of(best),
        }
        if self.cv.summary:
            result["cv_rescoring"] = self.cv.summary
        if best.ensembled_iterations:
            result["ensembled_iterations"] = best.ensembled_iterations
            result["ensemble_weights"] = best.weights
        if d.X_test is not None and d.y_test is not None:
            proba = model.predict_proba(d.X_test)
            result["test_metrics"] = metrics.classification_metrics(d.y_test, proba, d.w_test)
        self.guardrails.result()
        if s.training.enable_model_explainability:
            self.emit({"event": "phase", "phase": "explaining"})
            X_eval = d.X.iloc[d.eval_index].reset_index(drop=True)
            result["feature_importance"] = permutation_importance(
                model,
                X_eval,
                self.y_eval,
                self.w_eval,
                metric=s.primary_metric,
                deadline=self.deadline - SAVE_SECONDS,
                seed=s.seed,
            )
        self.emit({"event": "phase", "phase": "saving model"})
        self._save(model, best, result)
        rows = sorted(
            [c.row(s.name) for c in [*candidates, *self.failed_rows]],
            key=lambda r: (-(r["score"] if math.isfinite(r["score"]) else -1e9), r["run_id"]),
        )
        result["leaderboard"] = [{"rank": i + 1, **r} for i, r in enumerate(rows)]
        result["duration_seconds"] = round(time.monotonic() - self.t_start, 2)
        _json_dump(self.job_dir / "leaderboard.json", result["leaderboard"])
        _json_dump(self.job_dir / "result.json", result)
        self.emit(
            {"event": "result", "result": {k: v for k, v in result.items() if k != "leaderboard"}}
        )
        return result

    def _save(self, model: AutoMLModel, best: Candidate, result: dict[str, Any]) -> None:
        """The MLflow model in the job folder, logged under the best child run, registered."""
        s, tracker, job_dir = self.s, self.tracker, self.job_dir
        out = job_dir / "outputs" / "best_model"
        save_mlflow_model(
            model,
            self.data.X,
            out,
            metadata={
                "azureml.engine": "automl",
                "automl_local.algorithm": best.algorithm,
                "automl_local.job": s.name,
                "classes": [str(c) for c in self.data.classes],
            },
        )
        best_run = result["best_child_run_id"]
        tracker.log_artifacts(best_run, out, "outputs/mlflow-model")
        files = {
            "featurization_summary.json": (best_run, "outputs"),
            "guardrails.json": (s.name, "outputs"),
        }
        if result.get("feature_importance"):
            _json_dump(job_dir / "feature_importance.json", result["feature_importance"])
            files["feature_importance.json"] = (best_run, "outputs/explanation")
        for name, (run, artifact_path) in files.items():
            tracker.log_artifact_file(run, job_dir / name, artifact_path)
        version = tracker.register_model(
            registered_model_name(s.name), best_run, "outputs/mlflow-model"
        )
        result["outputs"] = write_job_outputs(JobOutputs(  # per-child outputs, charts
            s, self.data, self.featurizers, self.shared, [*self.candidates, *self.failed_rows],
            best, model, tracker, self.deadline, self.emit))  # fmt: skip
        test = {f"test_{k}": v for k, v in result.get("test_metrics", {}).items()}
        tags = {"automl_best_child_run_id": best_run, "stop_reason": result["stop_reason"]}
        if result.get("cv_rescoring"):
            tags["cv_rescoring"] = json.dumps(result["cv_rescoring"])
        if s.training.enable_model_explainability:
            tags["model_explain_run"] = "best_run"
        tracker.log_to(s.name, metrics=result["best_metrics"] | test, tags=tags)
        tracker.end(s.name, "Completed")
        tracker.close()
        result["registered_model"] = {
            "name": registered_model_name(s.name),
            "version": version.result(),
        }
