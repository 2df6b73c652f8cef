"""Everything a finished job writes for its children, once the best model is saved.

Called by the engine after the best model is registered and before the tracker closes.
Per child, bounded so a long job does not fill the disk:

* every completed child: Azure's ``confusion_matrix`` and ``accuracy_table`` artifacts
  (a few kB, from the out-of-fold predictions its metrics come from);
* the children **with outputs**: the best child, every member of the best ensemble,
  and the ``TOP_SINGLES`` best single children: ``outputs/`` in Azure's layout
  (:data:`CHILD_OUTPUT_FILES`) and the charts (:data:`CHART_FILES`). Members of the
  best ensemble come fitted with it (no extra fitting); another top child is refitted
  on all rows only if ``REFIT_MARGIN`` times its trial's seconds still fit in the job's
  budget (a job that used its budget skips them, and its notes say so);
* the best child also gets ``outputs/generated_code/`` and, with
  ``enable_onnx_compatible_models``, ``outputs/model.onnx``;
* the job (parent run): ``trials_chart.png``; with test data, the best child's
  ``outputs/predictions/predictions.csv``.

Files are staged in a temporary folder and logged to the child runs' MLflow
artifacts (the one copy, as Azure keeps them in the run's artifact store), so the
job folder does not hold them twice.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["TOP_SINGLES", "JobOutputs", "write_job_outputs"]

TOP_SINGLES = 3
REFIT_MARGIN = 4.0


@dataclass
class JobOutputs:
    """What the engine hands over: the job's state at the end, plus where to log."""

    settings: Any
    data: Any
    featurizers: dict[str, Any]
    shared: Any  # the search's SharedData: featurized matrices, categorical indices, n_jobs
    candidates: list[Any]  # engine Candidates (failed ones too): number, algorithm, score, ...
    best: Any
    model: Any  # the best child's fitted AutoMLModel
    tracker: Any
    deadline: float
    emit: Callable[[dict[str, Any]], None] = lambda e: None
    notes: list[str] = field(default_factory=list)

    def rows(self) -> list[dict[str, Any]]:
        """Every trial and ensemble, for the trials chart."""
        return [
            {"iteration": c.number, "algorithm": c.algorithm, "score": c.score,
             "status": c.status}
            for c in self.candidates
        ]  # fmt: skip


def _key(member: tuple[str, dict[str, Any]]) -> str:
    return json.dumps([member[0], member[1]], sort_keys=True, default=str)


def _single(ctx: JobOutputs, family: str, fitted: Any, algorithm: str) -> Any:
    from automl_local.model import AutoMLModel

    return AutoMLModel(
        featurizers={family: ctx.featurizers[family]},
        members=[(family, fitted)],
        weights=[1.0],
        classes=list(ctx.data.classes),
        columns=list(ctx.data.X.columns),
        algorithm=algorithm,
    )


def _refit(ctx: JobOutputs, algorithm: str, params: dict[str, Any]) -> Any:
    """One single child on all rows, in this process (the workers are gone by now)."""
    import warnings

    from automl_local.search import ESTIMATORS

    est = ESTIMATORS[algorithm]
    shared = ctx.shared
    X, y, w = shared.matrices[est.family], ctx.data.y, ctx.data.w
    model = est.build(
        params, n_jobs=shared.n_jobs, seed=ctx.settings.seed, n_classes=len(ctx.data.classes)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = est.fit(model, X, y, w, shared.categorical[est.family])
    return est.family, est.for_inference(model)


def children_with_models(ctx: JobOutputs) -> dict[int, Any]:
    """Child number -> fitted model, for the bounded set (see the module docstring)."""
    best = ctx.best
    chosen: dict[int, Any] = {best.number: ctx.model}
    fitted = {_key(m): pair for m, pair in zip(best.members, ctx.model.members, strict=True)}
    singles = [c for c in ctx.candidates if not c.ensembled_iterations and c.oof is not None]
    by_number = {c.number: c for c in singles}
    # A member as the ensemble holds it: after re-scoring, a booster's rounds may differ
    # from its trial's (automl_local.rescore); its outputs are the model the ensemble uses.
    member_of = dict(zip(best.ensembled_iterations, best.members, strict=False))
    for number in best.ensembled_iterations:
        c = by_number[number]
        family, model = fitted[_key(member_of[number])]
        chosen[number] = _single(ctx, family, model, c.algorithm)
    for c in sorted(singles, key=lambda c: -c.score)[:TOP_SINGLES]:
        if c.number in chosen:
            continue
        key = _key(c.members[0])
        if key not in fitted:
            # The trial's time is a poor guide to one fit on every row in this process
            # (measured: 3 s trials took 20 s here); keep a wide margin to the budget.
            if time.monotonic() + REFIT_MARGIN * c.seconds + 5.0 > ctx.deadline:
                ctx.notes.append(
                    f"child {c.number} ({c.algorithm}) has no outputs/ model: refitting it on "
                    "all rows would pass limits.timeout_minutes."
                )
                continue
            fitted[key] = _refit(ctx, *c.members[0])
        family, model = fitted[key]
        chosen[c.number] = _single(ctx, family, model, c.algorithm)
    return chosen


def _code_candidate(ctx: JobOutputs) -> tuple[Any, str]:
    """The best child, or for a StackEnsemble the best child the script can rebuild."""
    if ctx.best.meta is None:
        return ctx.best, ""
    others = [c for c in ctx.candidates if c.meta is None and c.oof is not None]
    pick = max(others, key=lambda c: c.score)
    return pick, (
        f"The best child, {ctx.best.algorithm} {ctx.best.number}, stacks a meta-learner "
        "fitted on the job's out-of-fold predictions, which this script does not rebuild; "
        f"this is the code of child {pick.number} ({pick.algorithm}, score {pick.score:.4f})."
    )


def write_job_outputs(ctx: JobOutputs) -> dict[str, Any]:
    """Write and log every output; return a summary for ``result.json`` (seconds, counts)."""
    from automl_local.outputs._child import write_child_outputs
    from automl_local.outputs._codegen import build_code_spec, write_generated_code
    from automl_local.outputs._evaluation import trials_chart, write_evaluation
    from automl_local.packaging import model_requirements

    t0 = time.monotonic()
    ctx.emit({"event": "phase", "phase": "writing outputs"})
    s, d, tracker = ctx.settings, ctx.data, ctx.tracker
    job = s.name
    y_eval = d.y[d.eval_index]
    with_models = children_with_models(ctx)
    timings = {"refit": time.monotonic() - t0}
    sample = d.X.head(20)
    summary: dict[str, Any] = {"children_with_outputs": sorted(with_models)}
    # Kept until the tracker has written every artifact (its writes are queued).
    staging = tempfile.TemporaryDirectory(prefix="automl-outputs-")
    root = Path(staging.name)
    t = time.monotonic()
    tracker.flush()  # every child run this process created now has its id
    timings["earlier_mlflow_writes"] = time.monotonic() - t
    t = time.monotonic()
    for c in ctx.candidates:
        run = f"{job}_{c.number}"
        if c.oof is None or tracker.resolve(run) is None:
            if c.number in with_models:
                ctx.notes.append(f"child {c.number} has no MLflow run (resumed job): no outputs.")
            continue
        folder = root / run
        charts = c.number in with_models
        y_c = y_eval if c.eval_rows is None else d.y[c.eval_rows]  # a re-scored ensemble
        write_evaluation(y_c, c.oof, list(d.classes), folder / "evaluation", charts=charts)
        tracker.log_artifacts(run, folder / "evaluation", "")
        if charts:
            meta = {"azureml.engine": "automl", "automl_local.algorithm": c.algorithm,
                    "automl_local.job": job, "classes": [str(k) for k in d.classes]}  # fmt: skip
            out = folder / "outputs"
            write_child_outputs(with_models[c.number], out, sample=sample,
                                classes=list(d.classes), run_id=run, metadata=meta,
                                mlflow_model=c is not ctx.best)  # fmt: skip
            if c is ctx.best:
                _best_extras(ctx, out, build_code_spec, write_generated_code, model_requirements)
            tracker.log_artifacts(run, out, "outputs")
    trials_chart(ctx.rows(), s.primary_metric, root / "trials_chart.png")
    tracker.log_artifact_file(job, root / "trials_chart.png", "")
    timings["write"] = time.monotonic() - t
    t = time.monotonic()
    tracker.flush()
    timings["mlflow_logging"] = time.monotonic() - t
    staging.cleanup()
    summary["seconds"] = round(time.monotonic() - t0, 2)
    summary["timings"] = {k: round(v, 2) for k, v in timings.items()}
    d.notes.extend(ctx.notes)
    return summary


def _best_extras(
    ctx: JobOutputs, out: Path, build_code_spec: Any, write_code: Any, requirements: Any
) -> None:
    """The best child's generated code, ONNX model and test predictions, in ``out``."""
    s, d = ctx.settings, ctx.data
    pick, note = _code_candidate(ctx)
    spec = build_code_spec(
        run_id=f"{s.name}_{pick.number}", algorithm=pick.algorithm, members=pick.members,
        weights=pick.weights, settings=s, data=d, featurizers=ctx.featurizers,
        n_jobs=ctx.shared.n_jobs, requirements=requirements(ctx.model), note=note,
    )  # fmt: skip
    write_code(spec, out / "generated_code")
    if getattr(s.training, "enable_onnx_compatible_models", False):
        from automl_local.outputs._onnx import to_onnx

        (out / "model.onnx").write_bytes(to_onnx(ctx.model, name=s.name).SerializeToString())
    if d.X_test is not None:
        import pandas as pd

        proba = ctx.model.predict_proba(d.X_test)
        frame = pd.DataFrame(proba, columns=[f"proba_{c}" for c in d.classes])
        frame.insert(0, "predicted", ctx.model.classes_[proba.argmax(axis=1)])
        frame.insert(0, "actual", np.asarray(d.classes, dtype=object)[d.y_test])
        (out / "predictions").mkdir()
        frame.to_csv(out / "predictions" / "predictions.csv", index=False)
