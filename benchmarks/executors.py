"""Executors: trials per minute, local worker processes vs a Ray cluster, on the same cores.

Three numbers:

1. trials per minute of the search phase (from the job's "searching" event to
   its "ensembling" event) for the same job (a seeded sample of the
   bank-marketing rows, ``max_trials``, ``max_concurrent_trials`` = the cores): local
   processes vs a one-node Ray cluster started here with the same cores;
2. the dispatch loop and executor alone, in no-op trials per second: tasks
   that fit nothing (no folds), so what is measured is submit, transfer of
   the task and its result, and bookkeeping;
3. the whole coordinator, in near-no-op trials per second: a real job whose
   trials fit a LogisticRegression on 200 rows, so each trial
   costs what the coordinator spends on it (Optuna ask and tell on the
   journal, dispatch, the out-of-fold file, the MLflow child run).

The coordinator becomes the bottleneck when the cluster finishes trials
faster than it can dispatch and record them: cores ~ capacity x seconds per
trial on one core (printed).

    python benchmarks/executors.py                    # 2 cores, 24 trials, 5000 bank rows
    python benchmarks/executors.py --cores 2 --trials 24 --rows 5000 --noop 400


Needs the ray extra (``pip install -e '.[ray]'``).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

RESULTS = Path(__file__).parent / "results"


def bank_sample(n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` rows of the bank-marketing file (../shared or its verified cache), seeded."""
    from automl_local.data import bankmarketing_path

    frame = pd.read_csv(bankmarketing_path())
    return frame.sample(n=min(n, len(frame)), random_state=seed).reset_index(drop=True)


def search_rate(
    address: str | None,
    cores: int,
    trials: int,
    rows: int,
    tmp: Path,
    algorithms: tuple[str, ...] = ("LightGBM", "LogisticRegression", "RandomForest"),
) -> dict:
    """Trials per minute of one job's search phase on local processes or on Ray."""
    from automl_local.engine import run_job
    from automl_local.settings import JobSettings, LimitSettings, TrainingSettings
    from automl_local.workspace import Workspace

    path = tmp / f"bank-{rows}.csv"
    if not path.exists():
        bank_sample(rows).to_csv(path, index=False)
    name = f"bench_{'ray' if address else 'local'}_{rows}"
    s = JobSettings(
        name=name,
        target_column_name="y",
        training_data=str(path),
        compute="bench" if address else None,
        ray_address=address,
        limits=LimitSettings(
            max_trials=trials + 2,
            max_concurrent_trials=cores,
            timeout_minutes=30,
            enable_early_termination=False,
        ),
        training=TrainingSettings(
            allowed_training_algorithms=list(algorithms),
            enable_model_explainability=False,
        ),
    )
    marks: dict[str, float] = {}
    seconds: list[float] = []

    def emit(event: dict[str, Any]) -> None:
        if event.get("event") == "phase":
            marks.setdefault(event["phase"], time.monotonic())
        if event.get("event") == "trial" and not event["algorithm"].endswith("Ensemble"):
            seconds.append(event["seconds"])

    result = run_job(s, Workspace(tmp / f"ws-{name}"), emit=emit)
    search = marks["ensembling"] - marks["searching"]
    return {
        "executor": "ray" if address else "local",
        "trials": len(seconds),
        "search_seconds": round(search, 2),
        "trials_per_minute": round(60 * len(seconds) / search, 1),
        "mean_trial_seconds": round(float(np.mean(seconds)), 3),
        "best_score": round(result["best_score"], 4),
    }


def noop_rate(address: str | None, cores: int, n: int) -> float:
    """No-op trials per second through the dispatch loop and the executor."""
    from automl_local.search import (
        Dispatcher,
        LocalProcessExecutor,
        RayExecutor,
        Resources,
        SharedData,
        TrialTask,
    )

    shared = SharedData(
        matrices={"linear": np.zeros((1000, 10))}, categorical={"linear": []},
        y=np.zeros(1000, dtype=int), w=None, splits=[], n_classes=2, metric="AUC_weighted",
        n_jobs=1, seed=0,
    )  # fmt: skip
    executor = RayExecutor(address) if address else LocalProcessExecutor(cores)
    executor.share(shared)
    dispatcher = Dispatcher(executor, slots=cores, resources=Resources(cpus=1))
    sent = done = 0

    def source() -> TrialTask | None:
        nonlocal sent
        if sent >= n:
            return None
        sent += 1
        return TrialTask("trial", "LogisticRegression", {}, number=sent)

    try:
        for _ in range(cores):  # warm: workers started, code imported
            dispatcher.submit(TrialTask("trial", "LogisticRegression", {}, number=-1))
        while dispatcher.running:
            dispatcher.step(1.0)
        t0 = time.perf_counter()
        while done < n:
            dispatcher.fill(source)
            done += len(dispatcher.step(1.0))
        return n / (time.perf_counter() - t0)
    finally:
        executor.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--trials", type=int, default=24)
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--noop", type=int, default=400)
    args = parser.parse_args(argv)
    try:
        from ray.cluster_utils import Cluster
    except ImportError:
        print("needs the ray extra: pip install -e '.[ray]'", file=sys.stderr)
        return 2
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        cluster = Cluster(
            initialize_head=True,
            head_node_args={"num_cpus": args.cores, "object_store_memory": 200 * 2**20},
        )
        try:
            for address in (None, cluster.address):
                row = search_rate(address, args.cores, args.trials, args.rows, tmp)
                row["noop_trials_per_second"] = round(noop_rate(address, args.cores, args.noop), 1)
                tiny = search_rate(
                    address, args.cores, args.noop // 4, 200, tmp, ("LogisticRegression",)
                )
                row["coordinator_trials_per_second"] = round(tiny["trials_per_minute"] / 60, 1)
                rows.append(row)
        finally:
            cluster.shutdown()
    print(f"\nExecutors on {args.cores} cores, {args.rows} bank-marketing rows, "
          f"{args.trials} trials ({platform.processor() or platform.machine()}):\n")  # fmt: skip
    head = ["executor", "trials_per_minute", "search_seconds", "mean_trial_seconds",
            "best_score", "noop_trials_per_second", "coordinator_trials_per_second"]  # fmt: skip
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for row in rows:
        print("| " + " | ".join(str(row[k]) for k in head) + " |")
    for row in rows:
        capacity = row["coordinator_trials_per_second"]
        cores = capacity * row["mean_trial_seconds"]
        print(f"{row['executor']}: the coordinator records ~{capacity:.1f} trials/s; trials of "
              f"{row['mean_trial_seconds']:.2f} s keep ~{cores:.0f} cores busy; beyond that "
              "it is the bottleneck")  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    out = {"cores": args.cores, "rows": args.rows, "trials": args.trials, "results": rows}
    (RESULTS / "executors.json").write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
