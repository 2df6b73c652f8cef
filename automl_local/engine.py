"""One AutoML classification job, start to finish, inside its wall budget.

prepare data -> guardrails -> featurize -> search (trials in worker
processes) -> VotingEnsemble / StackEnsemble -> refit the winner on all rows
-> test metrics -> explanation -> MLflow model, logged and registered.

Everything a person or a later process needs lands in the job's folder:
``events.jsonl`` (what ``job stream`` shows), ``guardrails.json``,
``featurization_summary.json``, ``leaderboard.json``, ``result.json`` and
``outputs/best_model/`` (the MLflow model, Azure's ``best_model`` output).
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from automl_local import metrics
from automl_local.ensemble import greedy_selection, stack
from automl_local.exceptions import BudgetError, ConfigError
from automl_local.featurize import IMPUTER_STRATEGIES, Featurizer, infer_column_plan
from automl_local.model import AutoMLModel
from automl_local.search import (
    ESTIMATORS,
    PreparedData,
    SearchLimits,
    SharedData,
    TrialRecord,
    Worker,
    prepare,
    resolve_algorithms,
    run_search,
)
from automl_local.settings import JobSettings
from automl_local.tracking import Tracker
from automl_local.workspace import Workspace

__all__ = ["Emit", "registered_model_name", "run_job", "validate_settings"]

log = logging.getLogger(__name__)
Emit = Callable[[dict[str, Any]], None]

DEFAULT_TIMEOUT_MINUTES = 8640.0  # Azure's service default: 6 days
DEFAULT_MAX_TRIALS = 1000
MAX_ENSEMBLE_CANDIDATES = 15
# Seconds kept at the end of the budget for the explanation and for saving and
# registering the MLflow model (measured: 2-4 s each on 2 cores, bank marketing).
EXPLAIN_SECONDS = 4.0
SAVE_SECONDS = 5.0
REGISTERED_MODEL_SUFFIX = "_output_mlflow_log_model"


def registered_model_name(job_name: str) -> str:
    """Azure names a job's best-model asset ``azureml_<job>_output_mlflow_log_model``."""
    return f"azureml_{job_name}{REGISTERED_MODEL_SUFFIX}"


def _json_dump(path: Path, data: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str))
    os.replace(tmp, path)


def _validate_limits(s: JobSettings) -> None:
    lim = s.limits
    checks = [
        ("timeout_minutes", lim.timeout_minutes, lambda v: v > 0, "a positive number of minutes"),
        ("max_trials", lim.max_trials, lambda v: int(v) == v and v >= 1, "an integer >= 1"),
        ("trial_timeout_minutes", lim.trial_timeout_minutes, lambda v: v > 0, "a positive number"),
        ("max_concurrent_trials", lim.max_concurrent_trials, lambda v: int(v) == v and v >= 1,
         "an integer >= 1"),
        ("max_cores_per_trial", lim.max_cores_per_trial, lambda v: v == -1 or v >= 1,
         "-1 (all cores) or an integer >= 1"),
    ]  # fmt: skip
    for name, value, ok, expected in checks:
        if value is not None and not ok(value):
            raise ConfigError(f"limits.{name} must be {expected}; got {value!r}.")


def validate_settings(s: JobSettings) -> tuple[PreparedData, list[str], dict[str, str], Any]:
    """Every check that needs no training: limits, data, algorithms, featurization.

    ``job create`` calls it before anything is written, so a bad spec fails at
    once with a clear message; the job process calls it again as its first step.
    """
    _validate_limits(s)
    data = prepare(s)
    algorithms, skipped = resolve_algorithms(
        s.training.allowed_training_algorithms, s.training.blocked_training_algorithms,
        n_rows=len(data.X), weighted=data.w is not None,
    )  # fmt: skip
    plan = infer_column_plan(data.X, s.featurization.column_name_and_types)
    _check_featurization(data, s, plan)
    return data, algorithms, skipped, plan


def run_job(
    settings: JobSettings,
    workspace: Workspace,
    *,
    emit: Emit,
    should_stop: Callable[[], bool] = lambda: False,
    started: float | None = None,
) -> dict[str, Any]:
    """Run the job; return its summary (also written to ``result.json``)."""
    t_start = time.monotonic() if started is None else started
    s = settings
    lim = s.limits
    budget = 60.0 * (lim.timeout_minutes or DEFAULT_TIMEOUT_MINUTES)
    deadline = t_start + budget
    job_dir = workspace.job_dir(s.name)
    job_dir.mkdir(parents=True, exist_ok=True)

    emit({"event": "phase", "phase": "preparing data"})
    # Worker processes boot (their imports take seconds) while the data is prepared.
    n_workers = max(1, int(lim.max_concurrent_trials or 1))
    early_workers = [Worker() for _ in range(n_workers)]
    try:
        data, algorithms, skipped, plan = validate_settings(s)
        # Guardrails only inform (they change nothing in training), so they run beside
        # the first trials instead of delaying them; their report lands when ready.
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="guardrails")
        guardrails_done = pool.submit(_guardrails, data, s, job_dir, emit)
        pool.shutdown(wait=False)

        families = sorted({ESTIMATORS[a].family for a in algorithms})
        featurizers, matrices, categorical = _featurize(data, s, plan, families)
        summary = featurizers[families[0]].summary()
        _json_dump(job_dir / "featurization_summary.json", summary)
        emit({"event": "featurization", "summary": summary, "algorithms": algorithms,
              "skipped_algorithms": skipped, "validation": data.validation})  # fmt: skip

        cores = os.cpu_count() or 1
        workers = n_workers
        per_trial = lim.max_cores_per_trial
        n_jobs = max(1, cores // workers) if per_trial in (None, -1) else int(per_trial)
        shared = SharedData(
            matrices=matrices, categorical=categorical, y=data.y, w=data.w, splits=data.splits,
            n_classes=len(data.classes), metric=s.primary_metric, n_jobs=n_jobs, seed=s.seed,
        )  # fmt: skip
        max_trials = int(lim.max_trials or DEFAULT_MAX_TRIALS)
        n_ensembles = (
            int(s.training.enable_vote_ensemble) + int(s.training.enable_stack_ensemble)
            if max_trials >= 3
            else 0
        )
        search_trials = max(1, max_trials - n_ensembles)
        refit_factor = _refit_factor(data)

        def reserve(records: list[TrialRecord]) -> float:
            """Time to keep for the end: refit of the likely winners, explanation, saving."""
            ok = sorted((r for r in records if r.ok), key=lambda r: -r.score)[:3]
            refit = sum(r.fit_seconds * refit_factor for r in ok) / max(1, min(workers, len(ok)))
            explain = EXPLAIN_SECONDS if s.training.enable_model_explainability else 0.0
            return min(0.4 * budget, 1.3 * refit + explain + SAVE_SECONDS)

        limits = SearchLimits(
            deadline=deadline, max_trials=search_trials,
            trial_timeout=None if lim.trial_timeout_minutes is None else 60.0 * lim.trial_timeout_minutes,
            exit_score=lim.exit_score, early_termination=bool(lim.enable_early_termination),
            workers=workers, refit_reserve=reserve,
        )  # fmt: skip

        tracker = Tracker(workspace.tracking_uri, workspace.artifact_root, s.experiment_name)
        tracker.start_parent(
            s.name,
            tags={"mlflow.runName": s.display_name or s.name, "runTemplate": "AutoML",
                  "azureml.runsource": "automl", "task_type": "classification", **s.tags},
            params={"primary_metric": s.primary_metric, "target_column_name": s.target_column_name,
                    "validation": data.validation, "algorithms": ",".join(algorithms)},
        )  # fmt: skip
        y_eval = data.y[data.eval_index]
        w_eval = None if data.w is None else data.w[data.eval_index]

        def on_trial(rec: TrialRecord, records: list[TrialRecord]) -> None:
            _log_trial(tracker, s, rec, y_eval, w_eval)
            best = max((r.score for r in records if r.ok), default=float("nan"))
            emit({"event": "trial", "trial": rec.number, "algorithm": rec.algorithm,
                  "status": rec.status, "score": rec.score, "seconds": round(rec.seconds, 3),
                  "best": best, "error": rec.error,
                  "elapsed": time.monotonic() - t_start, "budget": budget})  # fmt: skip

        emit({"event": "phase", "phase": "searching", "max_trials": max_trials, "budget": budget})
        records, reason = run_search(
            shared=shared, algorithms=algorithms, limits=limits, journal=workspace.optuna_journal,
            study_name=s.name, trial_dir=job_dir / "trials", n_rows=len(data.X), seed=s.seed,
            on_trial=on_trial, should_stop=should_stop, workers=early_workers,
        )  # fmt: skip
    finally:
        for w in early_workers:  # run_search stops them; this covers errors before it
            w.kill()
    if reason == "canceled":
        tracker.end(s.name, "Canceled")
        tracker.close()
        return {"status": "Canceled", "stop_reason": reason}

    emit({"event": "phase", "phase": "ensembling", "stop_reason": reason})
    candidates = _ensembles(s, data, records, y_eval, w_eval, n_ensembles, tracker, emit, t_start, budget)  # fmt: skip
    best = max(candidates, key=lambda c: c["score"])

    emit({"event": "phase", "phase": "refitting", "best": best["name"]})
    model = _refit(best, shared, featurizers, data, deadline, s)
    model.columns = list(data.X.columns)

    result: dict[str, Any] = {
        "status": "Completed",
        "stop_reason": reason,
        "primary_metric": s.primary_metric,
        "best_child_run_id": f"{s.name}_{best['number']}",
        "best_algorithm": best["algorithm"],
        "best_score": best["score"],
        "validation": data.validation,
        "classes": [str(c) for c in data.classes],
        "trials": len(candidates),
        "skipped_algorithms": skipped,
        "notes": data.notes,
    }
    best_metrics = metrics.classification_metrics(y_eval, best["oof"], w_eval)
    result["best_metrics"] = best_metrics
    if data.X_test is not None:
        proba = model.predict_proba(data.X_test)
        result["test_metrics"] = metrics.classification_metrics(data.y_test, proba, data.w_test)
    guardrails_done.result()
    if s.training.enable_model_explainability:
        emit({"event": "phase", "phase": "explaining"})
        result["feature_importance"] = _explain(model, data, s, deadline - SAVE_SECONDS)

    emit({"event": "phase", "phase": "saving model"})
    out = job_dir / "outputs" / "best_model"
    _save_mlflow_model(model, data, out, best, s)
    best_run = result["best_child_run_id"]
    tracker.log_artifacts(best_run, out, "outputs/mlflow-model")
    if result.get("feature_importance"):
        _json_dump(job_dir / "feature_importance.json", result["feature_importance"])
        tracker.log_artifacts(
            best_run, _single(job_dir / "feature_importance.json"), "outputs/explanation"
        )
    tracker.log_artifacts(best_run, _single(job_dir / "featurization_summary.json"), "outputs")
    tracker.log_artifacts(s.name, _single(job_dir / "guardrails.json"), "outputs")
    version = tracker.register_model(
        registered_model_name(s.name), best_run, "outputs/mlflow-model"
    )
    parent_tags = {"automl_best_child_run_id": best_run, "stop_reason": reason,
                   "model_explain_run": "best_run" if s.training.enable_model_explainability else ""}  # fmt: skip
    tracker.log_to(s.name, metrics=best_metrics | {f"test_{k}": v for k, v in result.get("test_metrics", {}).items()}, tags=parent_tags)  # fmt: skip
    tracker.end(s.name, "Completed")
    tracker.close()
    result["registered_model"] = {
        "name": registered_model_name(s.name),
        "version": version.result(),
    }
    result["leaderboard"] = _leaderboard(candidates, s.name)
    result["duration_seconds"] = round(time.monotonic() - t_start, 2)
    _json_dump(job_dir / "leaderboard.json", result["leaderboard"])
    _json_dump(job_dir / "result.json", result)
    emit({"event": "result", "result": {k: v for k, v in result.items() if k != "leaderboard"}})
    return result


def _guardrails(data: PreparedData, s: JobSettings, job_dir: Path, emit: Emit) -> None:
    from automl_local.guardrails import run_guardrails

    checks = run_guardrails(
        data.X, _labels(data), validation=data.validation, sample_weight=data.w,
        imputation=s.featurization.imputer or None,
    )  # fmt: skip
    guardrails = [g.to_dict() for g in checks]
    _json_dump(job_dir / "guardrails.json", guardrails)
    emit({"event": "guardrails", "guardrails": guardrails})


def _single(path: Path) -> Path:
    """MLflow logs folders; stage one file in its own folder."""
    folder = path.parent / f".artifact_{path.stem}"
    folder.mkdir(exist_ok=True)
    target = folder / path.name
    target.write_bytes(path.read_bytes())
    return folder


def _labels(data: PreparedData) -> Any:
    import pandas as pd

    return pd.Series(np.asarray(data.classes, dtype=object)[data.y])


def _refit_factor(data: PreparedData) -> float:
    """How much longer a fit on all rows takes than the trial's summed fold fits."""
    train_rows = sum(len(tr) for tr, _ in data.splits)
    return len(data.y) / max(1, train_rows)


def _check_featurization(data: PreparedData, s: JobSettings, plan: Any) -> None:
    from automl_local.featurize import check_numeric

    for col in plan.numeric:
        check_numeric(data.X[col], col)
    mode = (s.featurization.mode or "auto").lower()
    if mode not in ("auto", "off", "custom"):
        raise ConfigError(f"featurization.mode must be auto, off or custom; got {mode!r}.")
    if mode == "off":
        non_numeric = plan.categorical + plan.text + plan.datetime
        if non_numeric:
            raise ConfigError(
                f"featurization.mode is off, but column(s) {', '.join(map(repr, non_numeric))} "
                "are not numeric. Encode them yourself, or set featurization.mode: auto."
            )
    for col, strategy in s.featurization.imputer.items():
        if col not in data.X.columns:
            raise ConfigError(
                f"featurization.transformer_params.imputer names column {col!r}, which is not a "
                f"feature column (columns: {', '.join(map(str, data.X.columns))})."
            )
        if strategy not in IMPUTER_STRATEGIES:
            raise ConfigError(
                f"featurization.transformer_params.imputer strategy {strategy!r} for column "
                f"{col!r} is not supported. Use one of: {', '.join(IMPUTER_STRATEGIES)}."
            )


def _featurize(data: PreparedData, s: JobSettings, plan: Any, families: list[str]) -> tuple:
    mode = (s.featurization.mode or "auto").lower()
    blocked = {str(b).replace("_", "").lower() for b in s.featurization.blocked_transformers}
    imputers = dict(s.featurization.imputer) if mode == "custom" else {}
    featurizers, matrices, categorical = {}, {}, {}
    for family in families:
        onehot = None
        if family == "linear" and "onehotencoder" in blocked:
            onehot = False
        if family == "tree" and "labelencoder" in blocked:
            onehot = True
        f = Featurizer(family=family, plan=plan, imputers=imputers, onehot=onehot)
        f.max_text_features = 0 if "tfidf" in blocked else 200
        matrices[family] = f.fit(data.X).transform(data.X)
        featurizers[family] = f
        categorical[family] = f.categorical_indices_
    return featurizers, matrices, categorical


def _log_trial(tracker: Tracker, s: JobSettings, rec: TrialRecord, y: np.ndarray, w: Any) -> None:
    child_metrics: dict[str, float] = {
        "trial_seconds": rec.seconds,
        "fit_seconds": rec.fit_seconds,
    }
    if rec.ok and rec.oof_path:
        child_metrics |= metrics.classification_metrics(y, np.load(rec.oof_path), w)
    tracker.log_child(
        s.name, f"{s.name}_{rec.number}",
        params={"algorithm": rec.algorithm, **rec.params},
        metrics=child_metrics,
        tags={"run_algorithm": rec.algorithm, "status": rec.status, "score": str(rec.score),
              "iteration": str(rec.number), "error": rec.error[:500]},
        status=rec.status,
    )  # fmt: skip


def _ensembles(
    s, data, records, y_eval, w_eval, n_ensembles, tracker, emit, t_start, budget
) -> list[dict]:  # noqa: ANN001
    ok = sorted((r for r in records if r.ok and r.oof_path), key=lambda r: -r.score)
    candidates = [
        {"name": r.algorithm, "number": r.number, "algorithm": r.algorithm, "score": r.score,
         "members": [(r.algorithm, r.params)], "weights": [1.0], "meta": None,
         "oof": np.load(r.oof_path), "seconds": r.seconds}
        for r in ok[:MAX_ENSEMBLE_CANDIDATES]
    ]  # fmt: skip
    all_rows = [
        {"name": r.algorithm, "number": r.number, "algorithm": r.algorithm, "score": r.score,
         "status": r.status, "seconds": r.seconds}
        for r in records
    ]  # fmt: skip
    next_number = max(r.number for r in records) + 1
    if n_ensembles and len(candidates) >= 2:
        oofs = [c["oof"] for c in candidates]
        plans = []
        if s.training.enable_vote_ensemble:
            plans.append(
                (
                    "VotingEnsemble",
                    lambda: greedy_selection(oofs, y_eval, s.primary_metric, w_eval),
                )
            )
        if s.training.enable_stack_ensemble:
            plans.append(("StackEnsemble", lambda: stack(
                oofs, y_eval, s.primary_metric, w_eval,
                meta_learner=s.training.stack_meta_learner_type, seed=s.seed)))  # fmt: skip
        for name, build in plans:
            t0 = time.monotonic()
            result = build()
            members = [candidates[i] for i in result.members]
            entry = {
                "name": name, "number": next_number, "algorithm": name, "score": result.score,
                "members": [m["members"][0] for m in members], "weights": result.weights,
                "meta": result.meta, "oof": result.oof, "seconds": time.monotonic() - t0,
                "ensembled_iterations": [m["number"] for m in members],
            }  # fmt: skip
            child_metrics = metrics.classification_metrics(y_eval, result.oof, w_eval)
            tracker.log_child(
                s.name, f"{s.name}_{next_number}",
                params={"algorithm": name, "ensembled_iterations": entry["ensembled_iterations"],
                        "ensemble_weights": result.weights},
                metrics=child_metrics,
                tags={"run_algorithm": name, "status": "Completed", "score": str(result.score),
                      "ensembled_algorithms": ",".join(m["algorithm"] for m in members)},
                status="Completed",
            )  # fmt: skip
            emit({"event": "trial", "trial": next_number, "algorithm": name, "status": "Completed",
                  "score": result.score, "seconds": round(entry["seconds"], 3),
                  "best": max(result.score, max(c["score"] for c in candidates)),
                  "elapsed": time.monotonic() - t_start, "budget": budget})  # fmt: skip
            candidates.append(entry)
            all_rows.append({k: entry[k] for k in ("name", "number", "algorithm", "score", "seconds")} | {"status": "Completed"})  # fmt: skip
            next_number += 1
    for c in candidates:
        c["all_rows"] = all_rows
    return candidates


def _refit(best: dict, shared: SharedData, featurizers: dict, data: PreparedData,
           deadline: float, s: JobSettings) -> AutoMLModel:  # fmt: skip
    """Fit the winner's members on every row, in parallel workers, before the deadline."""
    members = best["members"]
    pool = [
        Worker(shared) for _ in range(min(len(members), max(1, s.limits.max_concurrent_trials)))
    ]
    fitted: list[Any] = [None] * len(members)
    pending = list(range(len(members)))
    from multiprocessing.connection import wait

    try:
        while pending or any(w.busy for w in pool):
            for w in pool:
                if not w.busy and pending:
                    i = pending.pop(0)
                    algo, params = members[i]
                    w.send(i, ("refit", algo, params))
            busy = [w for w in pool if w.busy]
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BudgetError(
                    "limits.timeout_minutes ran out while refitting the best model on all rows. "
                    "Raise limits.timeout_minutes."
                )
            for conn in wait([w.conn for w in busy], timeout=min(remaining, 1.0)):
                w = next(w for w in busy if w.conn is conn)
                msg = conn.recv()
                if msg[0] != "model":
                    raise BudgetError(
                        f"refitting {members[w.task][0]} on all rows failed: {msg[1]}"
                    )
                fitted[w.task] = msg[1]
                w.task = None
    finally:
        for w in pool:
            w.kill()
    used = [(ESTIMATORS[a].family, m) for (a, _), m in zip(members, fitted, strict=True)]
    return AutoMLModel(
        featurizers={fam: featurizers[fam] for fam, _ in used},
        members=used,
        weights=list(best["weights"]),
        meta=best["meta"],
        classes=list(data.classes),
        algorithm=best["algorithm"],
    )


def _explain(
    model: AutoMLModel, data: PreparedData, s: JobSettings, deadline: float
) -> list[dict]:
    """Permutation importance of each raw column on (a sample of) the validation rows."""
    if deadline - time.monotonic() < 1:
        return []
    rng = np.random.default_rng(s.seed)
    rows = data.eval_index
    rows = rng.choice(rows, size=min(len(rows), 1000), replace=False)
    X = data.X.iloc[rows].reset_index(drop=True)
    y = data.y[rows]
    w = None if data.w is None else data.w[rows]
    base = metrics.score(s.primary_metric, y, model.predict_proba(X), w)
    out = []
    for col in X.columns:
        if time.monotonic() > deadline:
            break
        drops = []
        for _ in range(2 if len(X.columns) <= 30 else 1):
            shuffled = X.copy()
            shuffled[col] = rng.permutation(shuffled[col].to_numpy())
            drops.append(
                base - metrics.score(s.primary_metric, y, model.predict_proba(shuffled), w)
            )
        out.append({"feature": col, "importance": float(np.mean(drops))})
    out.sort(key=lambda r: -r["importance"])
    return out


def _save_mlflow_model(model: AutoMLModel, data: PreparedData, out: Path, best: dict, s: JobSettings) -> None:  # fmt: skip
    """The best model as Azure's ``best_model`` output: MLflow sklearn + pyfunc flavours.

    Serialized with cloudpickle, knowingly: MLflow 3's default (skops) refuses
    LightGBM/XGBoost types and our own model class. The model loads wherever
    automl-local and its learners are installed (the deployment's environment).
    """
    import shutil

    import mlflow.sklearn
    from mlflow.models import infer_signature

    if out.exists():
        shutil.rmtree(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    example = data.X.head(1)
    # Integer columns are declared as doubles: a missing value at scoring time is a
    # float NaN, which an integer schema would refuse.
    sample = data.X.head(100)
    sample = sample.astype({c: "float64" for c in sample.columns if sample[c].dtype.kind in "iu"})
    signature = infer_signature(sample, model.predict(data.X.head(100)))
    mlflow.sklearn.save_model(
        model, str(out), serialization_format="cloudpickle", signature=signature,
        input_example=example, pyfunc_predict_fn="predict",
        pip_requirements=_requirements(),
        metadata={"azureml.engine": "automl", "automl_local.algorithm": best["algorithm"],
                  "automl_local.job": s.name, "classes": [str(c) for c in data.classes]},
    )  # fmt: skip


def _requirements() -> list[str]:
    """Pinned requirements of the model's environment (MLflow's own inference of them
    loads the model in a subprocess: seconds we would take from the job's budget)."""
    from importlib import metadata

    pins = []
    for dist in ("automl-local", "scikit-learn", "lightgbm", "xgboost-cpu", "xgboost", "pandas",
                 "numpy", "cloudpickle", "mlflow"):  # fmt: skip
        try:
            pins.append(f"{dist}=={metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            continue
    return pins


def _leaderboard(candidates: list[dict], job: str) -> list[dict]:
    rows = candidates[0]["all_rows"] if candidates else []
    rows = sorted(
        rows, key=lambda r: (-(r["score"] if math.isfinite(r["score"]) else -1e9), r["number"])
    )
    return [
        {"rank": i + 1, "run_id": f"{job}_{r['number']}", "algorithm": r["algorithm"],
         "score": r["score"], "status": r["status"], "seconds": round(r["seconds"], 2)}
        for i, r in enumerate(rows)
    ]  # fmt: skip
