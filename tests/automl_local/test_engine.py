"""Real jobs on small generated data: the search, ensembles, MLflow layout, limits."""

import json

import numpy as np
import pytest
from _testdata import make_frame

from automl_local.engine import run_job
from automl_local.exceptions import BudgetError
from automl_local.metrics import METRIC_NAMES
from automl_local.packaging import registered_model_name
from automl_local.settings import JobSettings, LimitSettings, TrainingSettings
from automl_local.workspace import Workspace


def _job(tmp_path, name, frame=None, **kw):
    path = tmp_path / f"{name}.csv"
    (make_frame() if frame is None else frame).to_csv(path, index=False)
    kw.setdefault(
        "training",
        TrainingSettings(allowed_training_algorithms=["LightGBM", "LogisticRegression"]),
    )
    return JobSettings(name=name, target_column_name="y", training_data=str(path), **kw)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """One binary job with both ensembles, shared by the layout tests below."""
    tmp_path = tmp_path_factory.mktemp("engine")
    ws = Workspace(tmp_path / "ws")
    events = []
    s = _job(
        tmp_path,
        "bin_job",
        display_name="A display name",
        limits=LimitSettings(max_trials=5, timeout_minutes=3),
    )
    result = run_job(s, ws, emit=events.append)
    return ws, s, result, events


def test_job_completes_with_trials_and_both_ensembles(finished):
    _, _, result, events = finished
    assert result["status"] == "Completed"
    algos = [row["algorithm"] for row in result["leaderboard"]]
    assert len(algos) == 5 and {"VotingEnsemble", "StackEnsemble"} <= set(algos)
    scores = [row["score"] for row in result["leaderboard"]]
    assert scores == sorted(scores, reverse=True)
    best = next(r for r in result["leaderboard"] if r["run_id"] == result["best_child_run_id"])
    assert result["best_score"] == best["score"] > 0.8  # the run reports its best child's metric
    # the top score, or an ensemble within that score's standard error (ensemble.choose)
    assert best["score"] == max(scores) or best["algorithm"].endswith("Ensemble")
    kinds = [e["event"] for e in events]
    assert kinds[:2] == ["phase", "featurization"] and kinds[-1] == "result"
    assert kinds.index("guardrails") < kinds.index("result")  # guardrails run beside the trials


def test_mlflow_layout_matches_azure(finished):
    from mlflow.tracking import MlflowClient

    ws, s, result, _ = finished
    client = MlflowClient(ws.tracking_uri)
    parent = client.get_run(s.name)  # parent run id = job name, as on Azure
    assert parent.info.run_name == "A display name"
    best = parent.data.tags["automl_best_child_run_id"]
    assert best == result["best_child_run_id"] and best.startswith(f"{s.name}_")
    for i in range(5):
        child = client.get_run(f"{s.name}_{i}")
        assert child.data.tags["mlflow.parentRunId"] == s.name
        assert set(METRIC_NAMES) <= set(child.data.metrics)
    artifacts = [a.path for a in client.list_artifacts(best, "outputs/mlflow-model")]
    assert "outputs/mlflow-model/MLmodel" in artifacts
    version = client.get_model_version(registered_model_name(s.name), "1")
    assert version.run_id == best


def test_best_model_is_an_mlflow_model_with_labels_as_trained(finished):
    import mlflow.pyfunc
    import mlflow.sklearn

    ws, s, _, _ = finished
    folder = ws.job_dir(s.name) / "outputs" / "best_model"
    frame = make_frame(10, seed=9).drop(columns="y")
    model = mlflow.sklearn.load_model(str(folder))
    assert set(model.predict(frame)) <= {"yes", "no"}
    assert model.predict_proba(frame).shape == (10, 2)
    pyfunc = mlflow.pyfunc.load_model(str(folder))
    assert [c.name for c in pyfunc.metadata.get_input_schema().inputs] == list(frame.columns)
    assert set(pyfunc.predict(frame)) <= {"yes", "no"}
    assert (folder / "input_example.json").exists()


def test_job_folder_holds_guardrails_summary_and_explanation(finished):
    ws, s, result, _ = finished
    job_dir = ws.job_dir(s.name)
    guardrails = json.loads((job_dir / "guardrails.json").read_text())
    assert {g["name"] for g in guardrails} >= {
        "Class balancing detection",
        "Missing feature values imputation",
    }
    summary = json.loads((job_dir / "featurization_summary.json").read_text())
    assert {r["RawFeatureName"] for r in summary} == {"x1", "x2", "color", "age"}
    top = [r["feature"] for r in result["feature_importance"]][:2]
    assert "x1" in top


def test_multiclass_job(tmp_path):
    ws = Workspace(tmp_path / "ws")
    s = _job(
        tmp_path,
        "multi",
        make_frame(300, classes=3),
        limits=LimitSettings(max_trials=3),
        training=TrainingSettings(
            allowed_training_algorithms=["LogisticRegression"], enable_stack_ensemble=False
        ),
    )
    result = run_job(s, ws, emit=lambda e: None)
    assert result["classes"] == ["high", "low", "mid"]
    assert len(result["leaderboard"]) == 3


def test_ensembles_that_would_pass_the_deadline_are_skipped_and_the_job_ends(
    tmp_path, monkeypatch
):
    # The reserve is capped at 40 % of the budget; a 10-class digits job's ensembles once
    # needed more than that, ran past the deadline, and the job failed at its refit.
    monkeypatch.setattr("automl_local.budget.ensemble_seconds", lambda *a, **k: 10_000.0)
    s = _job(
        tmp_path,
        "slow_blends",
        make_frame(300, classes=3),
        limits=LimitSettings(max_trials=6, timeout_minutes=1),  # 4 trials, 2 ensembles
    )
    result = run_job(s, Workspace(tmp_path / "ws"), emit=lambda e: None)
    assert result["status"] == "Completed" and len(result["leaderboard"]) == 4
    assert not any(row["algorithm"].endswith("Ensemble") for row in result["leaderboard"])
    (note,) = [n for n in result["notes"] if "ensembles" in n]
    assert note.startswith("The ensembles were not built: they would take about 10000 s and ")
    assert note.endswith("Raise limits.timeout_minutes to get them.")


def test_exit_score_stops_the_search(tmp_path):
    s = _job(
        tmp_path,
        "exit",
        limits=LimitSettings(max_trials=20, exit_score=0.5),
        training=TrainingSettings(
            allowed_training_algorithms=["LogisticRegression"],
            enable_vote_ensemble=False,
            enable_stack_ensemble=False,
        ),
    )
    result = run_job(s, Workspace(tmp_path / "ws"), emit=lambda e: None)
    assert result["stop_reason"] == "exit_score" and len(result["leaderboard"]) == 1


def test_budget_too_small_for_one_trial(tmp_path):
    s = _job(tmp_path, "tiny_budget", limits=LimitSettings(timeout_minutes=0.0005))
    with pytest.raises(BudgetError, match="left no time to finish a single trial"):
        run_job(s, Workspace(tmp_path / "ws"), emit=lambda e: None)


def test_trial_timeout_stops_runaway_trials(tmp_path):
    frame = make_frame(3000)
    s = _job(
        tmp_path,
        "runaway",
        frame,
        limits=LimitSettings(max_trials=2, trial_timeout_minutes=0.001),
        training=TrainingSettings(allowed_training_algorithms=["RandomForest"]),
    )
    with pytest.raises(BudgetError, match="stopped after trial_timeout_minutes"):
        run_job(s, Workspace(tmp_path / "ws"), emit=lambda e: None)


def test_predictions_are_reproducible_with_a_seed(tmp_path):
    scores = []
    for i in range(2):
        s = _job(
            tmp_path,
            f"seeded{i}",
            limits=LimitSettings(max_trials=3),
            training=TrainingSettings(
                allowed_training_algorithms=["LightGBM"],
                enable_vote_ensemble=False,
                enable_stack_ensemble=False,
            ),
        )
        result = run_job(s, Workspace(tmp_path / f"ws{i}"), emit=lambda e: None)
        scores.append([row["score"] for row in result["leaderboard"]])
    np.testing.assert_allclose(scores[0], scores[1])


def test_refit_falls_back_to_the_best_single_model_when_time_runs_out():
    import time

    from automl_local.ensemble import Candidate
    from automl_local.ensemble import refit_candidate as _refit
    from automl_local.featurize import Featurizer
    from automl_local.search import LocalProcessExecutor, Resources, SharedData

    frame = make_frame(200)
    X = frame.drop(columns="y")
    featurizer = Featurizer(family="linear").fit(X)
    y = (frame["y"] == "yes").to_numpy(int)
    shared = SharedData(
        matrices={"linear": featurizer.transform(X)}, categorical={"linear": []}, y=y, w=None,
        splits=[], n_classes=2, metric="AUC_weighted", n_jobs=1, seed=0,
    )  # fmt: skip
    single = Candidate(0, "LogisticRegression", 0.9, members=[("LogisticRegression", {"C": 1.0})])
    ensemble = Candidate(
        5, "VotingEnsemble", 0.95, weights=[1.0, 1.0],
        members=[
            ("LogisticRegression", {"C": 1.0}),
            ("KNN", {"n_neighbors": 5, "weights": "uniform"}),
        ],
        ensembled_iterations=[0, 1],
    )  # fmt: skip
    now = time.monotonic()
    executor = LocalProcessExecutor()
    executor.share(shared)
    try:
        model, chosen = _refit(executor, ensemble, single, {"linear": featurizer}, ["no", "yes"],
                               soft_deadline=now, deadline=now + 60, slots=1,
                               resources=Resources())  # fmt: skip
        assert chosen is single and model.algorithm == "LogisticRegression"
        model, chosen = _refit(executor, ensemble, single, {"linear": featurizer}, ["no", "yes"],
                               soft_deadline=now + 60, deadline=now + 60, slots=2,
                               resources=Resources())  # fmt: skip
        assert chosen is ensemble and len(model.members) == 2
        assert set(model.predict(X.head(3))) <= {"no", "yes"}
    finally:
        executor.close()
