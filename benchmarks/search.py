"""Search quality at equal wall budgets: automl-local vs FLAML vs a default LightGBM.

For each data set and seed, a fixed stratified 80/20 split; each tool gets the
training part and the same wall budget on this machine, optimises ROC AUC
(automl-local: AUC_weighted, which is ROC AUC for a binary label), and is
scored on the held-out 20 %. Also reported: seconds from the start to the
first finished model, and the wall time each tool really took.

    python benchmarks/search.py                       # bank marketing, 60 s and 300 s, 3 seeds
    python benchmarks/search.py --budgets 60 --seeds 0 --datasets bank breast_cancer synthetic
    python benchmarks/search.py --cv5                 # the 5-fold, 5-minute job on the whole file

Needs FLAML (``pip install -e '.[bench]'``). Results: a markdown table on
stdout and JSON in benchmarks/results/.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

RESULTS = Path(__file__).parent / "results"


def load(name: str) -> tuple[pd.DataFrame, str]:
    """A data set that needs no download (bank marketing: ../shared or its verified cache)."""
    if name == "bank":
        from automl_local.data import bankmarketing_path

        return pd.read_csv(bankmarketing_path()), "y"
    if name == "breast_cancer":
        from sklearn.datasets import load_breast_cancer

        frame = load_breast_cancer(as_frame=True).frame
        frame["target"] = frame["target"].map({0: "malignant", 1: "benign"})
        return frame, "target"
    if name == "synthetic":
        from sklearn.datasets import make_classification

        X, y = make_classification(
            n_samples=20_000,
            n_features=20,
            n_informative=8,
            weights=[0.85],
            flip_y=0.03,
            random_state=7,
        )
        frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(20)])
        rng = np.random.default_rng(7)
        frame["segment"] = np.where(X[:, 0] + rng.normal(0, 1, len(X)) > 0, "a", "b")
        frame["label"] = np.where(y == 1, "yes", "no")
        return frame, "label"
    raise SystemExit(f"unknown data set {name!r}")


def positive(y: pd.Series) -> str:
    return "yes" if "yes" in set(y) else sorted(set(y))[-1]


def run_automl_local(
    train: pd.DataFrame,
    test: pd.DataFrame,
    target: str,
    budget: float,
    seed: int,
    n_cv: int | None = None,
) -> dict[str, Any]:
    """As a user runs it: ``ml.jobs.create_or_update`` (a detached job process), then stream.

    Times count from the ``create_or_update`` call, so they include the job's own start-up.
    """
    from automl_local.backends import get_client
    from azure.ai.ml import Input, automl

    from automl_local.data import write_mltable

    with tempfile.TemporaryDirectory() as tmp:
        folder = write_mltable(train, Path(tmp) / "train")
        ml = get_client("local", workspace=Path(tmp) / "ws")
        job = automl.classification(
            training_data=Input(type="mltable", path=str(folder)),
            target_column_name=target,
            primary_metric="AUC_weighted",
            n_cross_validations=n_cv,
        )
        job.set_limits(timeout_minutes=budget / 60.0)
        first: list[float] = []
        t0 = time.time()
        name = ml.jobs.create_or_update(job, seed=seed).name

        def printer(event: dict[str, Any]) -> None:
            if event.get("event") == "trial" and event.get("status") == "Completed" and not first:
                first.append(event["time"] - t0)

        ml.jobs.stream(name, printer=printer)
        wall = time.time() - t0
        result = ml.jobs.result(name)
        import mlflow.sklearn

        model = mlflow.sklearn.load_model(str(ml.jobs.output_path(name)))
        pos = list(model.classes_).index(positive(train[target]))
        proba = model.predict_proba(test.drop(columns=[target]))[:, pos]
    return {
        "test_auc": roc_auc_score(test[target] == positive(train[target]), proba),
        "first_model_s": first[0] if first else None,
        "wall_s": wall,
        "best": result["best_algorithm"],
        "trials": result["trials"],
        "valid_score": result["best_score"],
        "validation": result["validation"],
    }


def run_flaml(
    train: pd.DataFrame, test: pd.DataFrame, target: str, budget: float, seed: int
) -> dict[str, Any]:
    from flaml import AutoML

    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "flaml.log"
        automl = AutoML()
        X, y = _categorical(train.drop(columns=[target])), train[target]
        t0 = time.monotonic()
        automl.fit(
            X,
            y,
            task="classification",
            metric="roc_auc",
            time_budget=budget,
            seed=seed,
            log_file_name=str(log),
            verbose=0,
        )
        wall = time.monotonic() - t0
        records = [
            json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")
        ]
        first = min(
            (r["wall_clock_time"] for r in records if "wall_clock_time" in r), default=None
        )
        pos = list(automl.classes_).index(positive(y))
        proba = automl.predict_proba(_categorical(test.drop(columns=[target])))[:, pos]
    return {
        "test_auc": roc_auc_score(test[target] == positive(y), proba),
        "first_model_s": first,
        "wall_s": wall,
        "best": automl.best_estimator,
        "trials": len(records),
    }


def run_lightgbm(
    train: pd.DataFrame, test: pd.DataFrame, target: str, budget: float, seed: int
) -> dict[str, Any]:
    from lightgbm import LGBMClassifier

    X, y = _categorical(train.drop(columns=[target])), train[target]
    t0 = time.monotonic()
    model = LGBMClassifier(random_state=seed, verbose=-1).fit(X, y)
    wall = time.monotonic() - t0
    pos = list(model.classes_).index(positive(y))
    proba = model.predict_proba(_categorical(test.drop(columns=[target]), like=X))[:, pos]
    return {
        "test_auc": roc_auc_score(test[target] == positive(y), proba),
        "first_model_s": wall,
        "wall_s": wall,
        "best": "LightGBM (defaults)",
        "trials": 1,
    }


def _categorical(X: pd.DataFrame, like: pd.DataFrame | None = None) -> pd.DataFrame:
    X = X.copy()
    for col in X.columns:
        if not pd.api.types.is_numeric_dtype(X[col]):  # object or pandas 3 "str"
            cats = (
                like[col].cat.categories if like is not None else sorted(X[col].dropna().unique())
            )
            X[col] = pd.Categorical(X[col], categories=cats)
    return X


TOOLS = {"automl-local": run_automl_local, "FLAML": run_flaml, "LightGBM default": run_lightgbm}


def machine() -> str:
    import os

    cpu = platform.processor() or platform.machine()
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--datasets", nargs="+", default=["bank"])
    parser.add_argument("--budgets", nargs="+", type=float, default=[60, 300])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--tools", nargs="+", default=list(TOOLS))
    parser.add_argument("--cv5", action="store_true", help="5-fold CV job on the whole bank file")
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    if args.cv5:
        frame, target = load("bank")
        out = run_automl_local(frame, frame.head(200), target, 300.0, 0, n_cv=5)
        print(
            f"5-fold CV, 300 s, whole file: AUC_weighted {out['valid_score']:.4f} "
            f"({out['best']}, {out['trials']} trials, {out['wall_s']:.0f} s wall)"
        )
        (RESULTS / f"search-cv5-{stamp}.json").write_text(
            json.dumps({"machine": machine(), **out}, indent=2)
        )
        return
    rows = []
    for name in args.datasets:
        frame, target = load(name)
        for budget in args.budgets:
            for seed in args.seeds:
                train, test = train_test_split(
                    frame, test_size=0.2, stratify=frame[target], random_state=seed
                )
                for tool in args.tools:
                    out = TOOLS[tool](train, test, target, budget, seed)
                    rows.append(
                        {"dataset": name, "budget_s": budget, "seed": seed, "tool": tool, **out}
                    )
                    print(json.dumps(rows[-1], default=str), flush=True)
    (RESULTS / f"search-{stamp}.json").write_text(
        json.dumps({"machine": machine(), "rows": rows}, indent=2, default=str)
    )
    table = pd.DataFrame(rows)
    summary = table.groupby(["dataset", "budget_s", "tool"]).agg(
        test_auc_mean=("test_auc", "mean"),
        test_auc_min=("test_auc", "min"),
        first_model_s=("first_model_s", "mean"),
        wall_s=("wall_s", "mean"),
        runs=("seed", "count"),
    )
    print(f"\nMachine: {machine()}\n")
    print(summary.round(4).to_markdown())


if __name__ == "__main__":
    main()
