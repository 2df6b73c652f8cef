"""Two Ray nodes on this machine: trials land on both, and a lost node fails only its trials."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from automl_local.engine import run_job
from automl_local.search import RayExecutor
from automl_local.settings import JobSettings, LimitSettings, TrainingSettings
from automl_local.workspace import Workspace

pytest.importorskip("ray", reason="the ray extra: pip install -e '.[ray]'")


def _bank_like(n: int, seed: int = 0) -> pd.DataFrame:
    """Generated rows shaped like the bank-marketing table (a few of its columns, label y)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 90, n),
            "job": rng.choice(["admin.", "services", "retired", "technician", "blue-collar"], n),
            "marital": rng.choice(["married", "single", "divorced"], n),
            "balance": rng.normal(1000, 600, n).round(2),
            "duration": rng.exponential(250, n).round(),
            "campaign": rng.integers(1, 8, n),
        }
    )
    signal = frame["duration"] / 250 + (frame["job"] == "retired") + rng.normal(0, 0.7, n)
    frame["y"] = np.where(signal > 1.6, "yes", "no")
    return frame


def _watch_and_kill(cluster: Any, node: Any, executor: RayExecutor, events: list[dict],
                    killed: dict[str, Any], stop: threading.Event) -> None:  # fmt: skip
    """Once a trial has finished on ``node``, kill the node while its next trial runs."""
    while not stop.is_set():
        try:
            running = [h for h in executor.in_flight if h.where.node == node.node_id]
        except RuntimeError:  # the coordinator changed the dict meanwhile
            continue
        finished_there = any(
            e.get("event") == "trial" and e.get("node") == node.node_id for e in list(events)
        )
        if finished_there and running:
            killed["trials"] = {h.task.number for h in running}
            # The node dies as a machine does: its workers first (a short trial would otherwise
            # finish and hand back its result before the raylet's death reaches it), then the
            # node itself.
            for handle in running:
                with contextlib.suppress(ProcessLookupError, TypeError):
                    os.kill(int(handle.where.pid), signal.SIGKILL)
            cluster.remove_node(node, allow_graceful=False)
            return
        time.sleep(0.05)


def test_trials_run_on_both_nodes_and_a_lost_node_fails_only_its_trials(tmp_path: Path) -> None:
    from ray.cluster_utils import Cluster

    cluster = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 1, "object_store_memory": 100 * 2**20},
    )
    doomed = cluster.add_node(num_cpus=1, object_store_memory=100 * 2**20)
    cluster.wait_for_nodes()
    try:
        path = tmp_path / "bank-like.csv"
        _bank_like(3000).to_csv(path, index=False)
        s = JobSettings(
            name="two_nodes", target_column_name="y", training_data=str(path),
            compute="cpu-cluster", ray_address=cluster.address,
            limits=LimitSettings(max_trials=10, max_concurrent_trials=2, timeout_minutes=4),
            training=TrainingSettings(allowed_training_algorithms=["RandomForest", "LightGBM"],
                                      enable_model_explainability=False),
        )  # fmt: skip
        executor = RayExecutor(cluster.address)
        head = cluster.head_node.node_id
        events: list[dict] = []
        killed: dict[str, Any] = {}
        stop = threading.Event()
        watcher = threading.Thread(
            target=_watch_and_kill, args=(cluster, doomed, executor, events, killed, stop)
        )
        watcher.start()
        try:
            result = run_job(s, Workspace(tmp_path / "ws"), emit=events.append, executor=executor)
        finally:
            stop.set()
            watcher.join()
    finally:
        cluster.shutdown()
    assert result["status"] == "Completed"
    trials = [r for r in result["leaderboard"] if not r["algorithm"].endswith("Ensemble")]
    completed_on = {r["node"] for r in trials if r["status"] == "Completed"}
    assert completed_on == {head, doomed.node_id}  # placed on both nodes
    failed = {int(r["run_id"].rsplit("_", 1)[1]): r for r in trials if r["status"] != "Completed"}
    assert failed, ("killing the node failed none of its trials", killed, [
        (r["run_id"], r["status"], r["node"][:8], r.get("error")) for r in trials])
    assert set(failed) <= killed["trials"]  # only the trials that ran on the lost node
    for row in failed.values():
        assert row["node"] == doomed.node_id
        assert "NodeDiedError" in row["error"] or "died" in row["error"], row["error"]
    assert len(trials) == 8  # the job went on to max_trials (10, less 2 ensembles) on one node
