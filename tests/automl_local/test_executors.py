"""The executor contract: one suite, run against local worker processes and a Ray cluster.

Every test takes ``executor_kind`` ("local" or "ray"). The Ray side runs on a
real two-node cluster started on this machine (``ray.cluster_utils.Cluster``,
one CPU per node), shared by the module. Data is small and generated.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import pytest
from _testdata import TINY_JOB_YAML, make_frame

from automl_local.engine import run_job
from automl_local.exceptions import ConfigError
from automl_local.featurize import Featurizer
from automl_local.search import (
    ESTIMATORS,
    Dispatcher,
    LocalProcessExecutor,
    RayExecutor,
    Resources,
    SharedData,
    TrialExecutor,
    TrialTask,
)
from automl_local.settings import JobSettings, LimitSettings, TrainingSettings
from automl_local.workspace import Workspace

KINDS = ["local", "ray"]


@pytest.fixture(scope="module")
def ray_cluster() -> Any:
    pytest.importorskip("ray", reason="the ray extra: pip install -e '.[ray]'")
    from ray.cluster_utils import Cluster

    cluster = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 1, "object_store_memory": 100 * 2**20},
    )
    cluster.add_node(num_cpus=1, object_store_memory=100 * 2**20)
    cluster.wait_for_nodes()
    yield cluster
    cluster.shutdown()


@pytest.fixture(params=KINDS)
def executor_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def ray_address(executor_kind: str, request: pytest.FixtureRequest) -> str | None:
    """The cluster's address for the Ray side, None for local processes."""
    if executor_kind == "local":
        return None
    return str(request.getfixturevalue("ray_cluster").address)


def _executor(ray_address: str | None, workers: int = 1) -> TrialExecutor:
    return RayExecutor(ray_address) if ray_address else LocalProcessExecutor(workers)


def _shared(n: int = 300) -> SharedData:
    frame = make_frame(n)
    X = frame.drop(columns="y")
    y = (frame["y"] == "yes").to_numpy(int)
    idx = np.arange(n)
    folds = [(idx[idx % 3 != k], idx[idx % 3 == k]) for k in range(3)]
    return SharedData(
        matrices={"linear": Featurizer(family="linear").fit(X).transform(X),
                  "tree": Featurizer(family="tree").fit(X).transform(X)},
        categorical={"linear": [], "tree": []}, y=y, w=None, splits=folds, n_classes=2,
        metric="AUC_weighted", n_jobs=1, seed=0,
    )  # fmt: skip


def _settings(tmp_path: Path, name: str, ray_address: str | None, **kw: Any) -> JobSettings:
    path = tmp_path / f"{name}.csv"
    make_frame(kw.pop("rows", 400)).to_csv(path, index=False)
    kw.setdefault(
        "training",
        TrainingSettings(allowed_training_algorithms=["LightGBM", "LogisticRegression"]),
    )
    compute = "cpu-cluster" if ray_address else None
    return JobSettings(name=name, target_column_name="y", training_data=str(path),
                       compute=compute, ray_address=ray_address, **kw)  # fmt: skip


def _until_ended(dispatcher: Dispatcher, seconds: float = 60) -> list[Any]:
    deadline = time.monotonic() + seconds
    ended: list[Any] = []
    while dispatcher.running and time.monotonic() < deadline:
        ended += dispatcher.step(0.2)
    return ended


def test_a_job_completes_with_ensembles_from_out_of_fold_predictions(
    tmp_path: Path, ray_address: str | None
) -> None:
    s = _settings(tmp_path, "done", ray_address,
                  limits=LimitSettings(max_trials=5, max_concurrent_trials=2, timeout_minutes=3))
    result = run_job(s, Workspace(tmp_path / "ws"), emit=lambda e: None)  # fmt: skip
    assert result["status"] == "Completed"
    rows = {r["run_id"].rsplit("_", 1)[1]: r for r in result["leaderboard"]}
    trials = [r for r in rows.values() if not r["algorithm"].endswith("Ensemble")]
    assert len(trials) == 3 and all(r["status"] == "Completed" for r in trials)
    expected = {"local"} if ray_address is None else None
    nodes = {r["node"] for r in trials}
    assert nodes == expected if expected else all(len(n) == 56 for n in nodes)  # Ray node ids
    vote = next(r for r in rows.values() if r["algorithm"] == "VotingEnsemble")
    assert vote["score"] >= max(r["score"] for r in trials) - 1e-9
    members = result.get("ensembled_iterations") or []
    assert set(members) <= {int(k) for k, r in rows.items() if r in trials}


def test_a_holdout_job_rescores_its_best_trials_by_cv_on_the_executor(
    tmp_path: Path, ray_address: str | None
) -> None:
    s = _settings(tmp_path, "rescored", ray_address, rows=600, validation_data_size=0.2,
                  limits=LimitSettings(max_trials=6, max_concurrent_trials=2, timeout_minutes=3))
    events: list[dict[str, Any]] = []
    result = run_job(s, Workspace(tmp_path / "ws"), emit=events.append)  # fmt: skip
    cv = result["cv_rescoring"]
    assert cv["rows"] == 600 and len(cv["cv_scores"]) >= 2 and not cv["missed"]
    phase = next(e for e in events if e.get("phase") == "re-scoring")
    assert [f"rescored_{n}" for n in phase["trials"]] == list(cv["cv_scores"])
    assert result["best_child_run_id"] == cv["chosen"]


def test_a_rescored_booster_gets_its_rounds_from_early_stopping(ray_address: str | None) -> None:
    shared = _shared(600)
    shared.rescore_splits = shared.splits
    executor = _executor(ray_address)
    executor.share(shared)
    dispatcher = Dispatcher(executor, slots=1, resources=Resources())
    # Far too many rounds at a high learning rate: each fold stops long before 400.
    tasks = {
        "LightGBM": {"n_estimators": 400, "learning_rate": 0.3, "num_leaves": 31},
        "XGBoostClassifier": {"n_estimators": 400, "learning_rate": 0.3, "max_depth": 6},
        "GradientBoosting": {"max_iter": 400, "learning_rate": 0.3, "max_leaf_nodes": 31},
        "RandomForest": {"n_estimators": 20, "max_features": 0.5, "min_samples_leaf": 3,
                         "criterion": "gini"},
    }  # fmt: skip
    try:
        for algorithm, params in tasks.items():
            dispatcher.submit(TrialTask("rescore", algorithm, params, key=algorithm))
            (event,) = _until_ended(dispatcher)
            assert event.kind == "done" and event.oof.shape == (600, 2), event.error
            assert min(event.fold_scores) > 0.8
            refit = event.params
            assert refit is not None
            if algorithm == "RandomForest":
                assert refit == params  # no rounds to set
            else:  # the folds' mean best round, times k/(k-1) = 1.5 for three folds
                rounds = ESTIMATORS[algorithm].rounds_param
                assert {k: v for k, v in refit.items() if k != rounds} == {
                    k: v for k, v in params.items() if k != rounds}
                assert 1 <= refit[rounds] < 200, (algorithm, refit)
    finally:
        executor.close()


def test_a_failing_trial_fails_alone(ray_address: str | None) -> None:
    executor = _executor(ray_address)
    executor.share(_shared())
    dispatcher = Dispatcher(executor, slots=1, resources=Resources())
    try:
        dispatcher.submit(TrialTask("trial", "LogisticRegression", {"C": -1.0}, number=0))
        (bad,) = _until_ended(dispatcher)
        assert bad.kind == "error" and "C" in bad.error and not bad.lost
        dispatcher.submit(TrialTask("trial", "LogisticRegression", {"C": 1.0}, number=1))
        (good,) = _until_ended(dispatcher)
        assert good.kind == "done" and good.oof.shape == (300, 2)
        assert len(good.fold_scores) == 3 and min(good.fold_scores) > 0.8
    finally:
        executor.close()


def test_a_trial_past_its_timeout_is_killed(ray_address: str | None) -> None:
    executor = _executor(ray_address)
    executor.share(_shared(3000))
    dispatcher = Dispatcher(executor, slots=1, resources=Resources(), task_timeout=1.0)
    slow = {"n_estimators": 5000, "max_features": 1.0, "min_samples_leaf": 1, "criterion": "gini"}
    try:
        handle = dispatcher.submit(TrialTask("trial", "RandomForest", slow, number=0))
        t0 = time.monotonic()
        (event,) = _until_ended(dispatcher)
        assert event.kind == "timeout" and event.error == "trial_timeout"
        assert time.monotonic() - t0 < 15
        pid = handle.where.pid
        assert pid
        deadline = time.monotonic() + 10  # the process that ran the trial is gone
        while psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
            assert time.monotonic() < deadline, f"trial process {pid} still alive"
            time.sleep(0.2)
    finally:
        executor.close()


def test_a_queued_trial_is_timed_from_its_start_not_its_submission(
    ray_address: str | None,
) -> None:
    """Three slow trials, two CPUs on the Ray cluster: the third waits for a free one, and
    its timeout starts only then (it used to be killed while queued, before it had a pid)."""
    executor = _executor(ray_address, workers=3)
    executor.share(_shared(3000))
    dispatcher = Dispatcher(executor, slots=3, resources=Resources(), task_timeout=2.0)
    slow = {"n_estimators": 5000, "max_features": 1.0, "min_samples_leaf": 1, "criterion": "gini"}
    try:
        for n in range(3):
            dispatcher.submit(TrialTask("trial", "RandomForest", slow, number=n))
        events = _until_ended(dispatcher, 90)
        assert len(events) == 3 and all(e.kind == "timeout" for e in events)
        assert all(e.handle.where.pid for e in events), [e.handle.where for e in events]
    finally:
        executor.close()


def test_the_wall_budget_holds(tmp_path: Path, ray_address: str | None) -> None:
    budget_minutes = 0.25
    s = _settings(tmp_path, "budget", ray_address, rows=3000,
                  limits=LimitSettings(max_trials=500, timeout_minutes=budget_minutes,
                                       max_concurrent_trials=2, enable_early_termination=False),
                  training=TrainingSettings(allowed_training_algorithms=["RandomForest",
                                                                         "LightGBM"],
                                            enable_model_explainability=False))  # fmt: skip
    t0 = time.monotonic()
    result = run_job(s, Workspace(tmp_path / "ws"), emit=lambda e: None, started=t0)
    took = time.monotonic() - t0
    assert result["status"] == "Completed" and result["stop_reason"] == "timeout"
    assert took <= 60 * budget_minutes + 3, took


def test_resume_after_sigkill_of_the_coordinator(
    tmp_path: Path, ray_address: str | None, tiny_mltable: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from automl_local.backends import get_client
    from azure.ai.ml import load_job

    text = TINY_JOB_YAML.format(data=tiny_mltable, max_trials=6)
    ml = get_client("local", workspace=tmp_path / "ws")
    if ray_address:
        monkeypatch.setenv("AUTOML_LOCAL_RAY_ADDRESS_CPU_CLUSTER", ray_address)
        text = text.replace(
            "experiment_name: tiny", "experiment_name: tiny\ncompute: azureml:cpu-cluster"
        )
        _create_compute(ml)
    (tmp_path / "job.yml").write_text(text)
    name = ml.jobs.create_or_update(load_job(tmp_path / "job.yml")).name
    trials = ml.workspace.job_dir(name) / "trials"
    deadline = time.monotonic() + 180
    while not (trials.exists() and len(list(trials.glob("*.npy"))) >= 2):
        assert time.monotonic() < deadline, ml.jobs.get(name).status
        time.sleep(0.2)
    os.killpg(ml.workspace.catalogue.get("job", name)["pid"], signal.SIGKILL)
    while ml.jobs.get(name).status != "Failed":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert "resume" in ml.workspace.catalogue.get("job", name)["error"]  # says what to do
    done_before = len(list(trials.glob("*.npy")))
    ml.jobs.resume(name)
    ml.jobs.stream(name, printer=lambda e: None)
    result = ml.jobs.result(name)
    assert result["status"] == "Completed" and len(result["leaderboard"]) == 6
    numbers = sorted(int(r["run_id"].rsplit("_", 1)[1]) for r in result["leaderboard"])
    assert numbers[:done_before] == list(range(done_before))
    if ray_address:
        finished = [r for r in result["leaderboard"] if r["status"] == "Completed"
                    and not r["algorithm"].endswith("Ensemble")]  # fmt: skip
        assert finished and all(len(r["node"]) == 56 for r in finished)  # ran on the cluster


# -- bad bindings: one message before the job starts, nothing left behind -----------------


def _create_compute(ml: Any) -> None:
    """A job names its compute as on Azure, and the compute must exist (ml.compute)."""
    from azure.ai.ml.entities import AmlCompute

    ml.compute.begin_create_or_update(AmlCompute(name="cpu-cluster", max_instances=2)).result()


def _submit_bound(tmp_path: Path, tiny_mltable: Path) -> tuple[Any, Path]:
    from automl_local.backends import get_client

    text = TINY_JOB_YAML.format(data=tiny_mltable, max_trials=2).replace(
        "experiment_name: tiny", "experiment_name: tiny\ncompute: azureml:cpu-cluster"
    )
    (tmp_path / "job.yml").write_text(text)
    ml = get_client("local", workspace=tmp_path / "ws")
    _create_compute(ml)
    return ml, tmp_path / "job.yml"


def test_an_unreachable_ray_address_is_refused_before_the_job_starts(
    tmp_path: Path, tiny_mltable: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from automl_local.cli import main

    pytest.importorskip("ray")
    monkeypatch.setenv("AUTOML_LOCAL_RAY_ADDRESS", "127.0.0.1:9")  # discard port: nothing there
    ml, spec = _submit_bound(tmp_path, tiny_mltable)
    with pytest.raises(SystemExit) as exit_info:
        main(["job", "create", "--file", str(spec), "--workspace-dir", str(tmp_path / "ws")])
    assert exit_info.value.code == 2
    assert list(ml.jobs.list()) == []
    jobs = tmp_path / "ws" / "jobs"
    assert not jobs.exists() or not any(jobs.iterdir())


def test_a_ray_binding_without_the_extra_is_refused(
    tmp_path: Path, tiny_mltable: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from azure.ai.ml import load_job

    monkeypatch.setenv("AUTOML_LOCAL_RAY_ADDRESS_CPU_CLUSTER", "127.0.0.1:6379")
    monkeypatch.setitem(sys.modules, "ray", None)  # as if the extra were not installed
    ml, spec = _submit_bound(tmp_path, tiny_mltable)
    with pytest.raises(ConfigError, match=r"Ray is not installed here.*automl-local\[ray\]"):
        ml.jobs.create_or_update(load_job(spec))
    assert list(ml.jobs.list()) == []


def test_an_unbound_compute_runs_locally_and_says_how_to_bind_it(
    tmp_path: Path, tiny_mltable: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from automl_local.backends.local._convert import settings_from_job
    from azure.ai.ml import load_job

    from automl_local.search import bound_ray_address

    monkeypatch.delenv("AUTOML_LOCAL_RAY_ADDRESS", raising=False)
    _, spec = _submit_bound(tmp_path, tiny_mltable)
    warnings: list[str] = []
    s = settings_from_job(load_job(spec), name="j", base_dir=tmp_path,
                          resolve_path=lambda p, b: p, warnings=warnings)  # fmt: skip
    assert s.compute == "cpu-cluster" and s.ray_address is None
    assert any("AUTOML_LOCAL_RAY_ADDRESS_CPU_CLUSTER=host:port" in w for w in warnings)
    env = {"AUTOML_LOCAL_RAY_ADDRESS": "h:1", "AUTOML_LOCAL_RAY_ADDRESS_GPU": "local"}
    assert bound_ray_address("cpu-cluster", env) == "h:1"
    assert bound_ray_address("gpu", env) is None  # "local" unbinds one compute
    assert bound_ray_address(None, env) is None  # a job without compute runs here
