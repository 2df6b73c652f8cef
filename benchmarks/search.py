"""Search quality at equal wall budgets: automl-local vs AutoGluon, FLAML and a default LightGBM.

For each data set and seed, a fixed stratified 80/20 split; each tool gets the
training part and the same wall budget on this machine, optimises ROC AUC
(automl-local: AUC_weighted; AutoGluon: roc_auc / roc_auc_ovr; FLAML:
roc_auc / roc_auc_ovr), and is scored on the held-out 20 % it never saw, with
one scorer for all: ROC AUC for a binary label, AUC_weighted (one-vs-rest,
weighted by class frequency) for more than two classes. Also reported:
seconds from the start to the first finished model, and the wall time each
tool really took (AutoGluon and FLAML may overrun their time limit a little).

Data sets (none is downloaded):

- ``bank``: bank marketing (/work/shared/data or its verified cache; 32,950 rows, binary);
- ``breast_cancer``: Breast Cancer Wisconsin (Diagnostic), 569 rows, binary, from
  the UCI repository (CC BY 4.0), shipped in scikit-learn (BSD-3-Clause);
- ``digits``: Optical Recognition of Handwritten Digits, 1,797 rows, 10 classes, from
  the UCI repository (CC BY 4.0), shipped in scikit-learn (BSD-3-Clause);
- ``synthetic``: scikit-learn's ``make_classification`` (20,000 rows).

Tools: ``automl-local`` (as a user runs it: the defaults, early termination on),
``automl-local-no-et`` (early termination off), ``AutoGluon-best`` /
``AutoGluon-medium`` (``best_quality`` / ``medium_quality`` presets, CatBoost
installed), ``FLAML``, ``LightGBM default``.

    python benchmarks/search.py                       # bank, 60 s and 300 s, 3 seeds, every tool
    python benchmarks/search.py --budgets 60 --seeds 0 --datasets bank breast_cancer digits
    python benchmarks/search.py --tools automl-local FLAML --seeds 0 1 2
    python benchmarks/search.py --cv5                 # the 5-fold, 5-minute job on the whole file

Needs the bench extra (``pip install -e '.[bench]'``: FLAML, AutoGluon with
CatBoost; no torch). Results: a markdown table on stdout and JSON (every row,
the machine and its load average) in benchmarks/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from collections.abc import Callable
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
    if name == "digits":
        from sklearn.datasets import load_digits

        frame = load_digits(as_frame=True).frame
        frame["target"] = "d" + frame["target"].astype(str)
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


def test_auc(y: pd.Series, proba: np.ndarray, classes: list[Any], train_y: pd.Series) -> float:
    """One scorer for every tool: ROC AUC (binary) or one-vs-rest AUC weighted by class."""
    classes = [str(c) for c in classes]
    if len(classes) == 2:
        pos = classes.index(str(positive(train_y)))
        return float(roc_auc_score(y.astype(str) == str(positive(train_y)), proba[:, pos]))
    labels = sorted(classes)
    order = [classes.index(c) for c in labels]
    return float(
        roc_auc_score(
            y.astype(str), proba[:, order], multi_class="ovr", average="weighted", labels=labels
        )
    )


Run = dict[str, Any]


def run_automl_local(
    train: pd.DataFrame,
    test: pd.DataFrame,
    target: str,
    budget: float,
    seed: int,
    n_cv: int | None = None,
    early_termination: bool = True,
) -> Run:
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
        job.set_limits(timeout_minutes=budget / 60.0, enable_early_termination=early_termination)
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
        proba = model.predict_proba(test.drop(columns=[target]))
    return {
        "test_auc": test_auc(test[target], proba, list(model.classes_), train[target]),
        "first_model_s": first[0] if first else None,
        "wall_s": wall,
        "best": result["best_algorithm"],
        "trials": result["trials"],
        "valid_score": result["best_score"],
        "stop_reason": result.get("stop_reason"),
        "validation": result["validation"],
        "notes": result.get("notes", []),
    }


def run_automl_local_no_et(
    train: pd.DataFrame, test: pd.DataFrame, target: str, budget: float, seed: int
) -> Run:
    return run_automl_local(train, test, target, budget, seed, early_termination=False)


def run_autogluon(
    train: pd.DataFrame,
    test: pd.DataFrame,
    target: str,
    budget: float,
    seed: int,
    preset: str = "best_quality",
) -> Run:
    """AutoGluon's TabularPredictor with a preset, ``time_limit`` = the budget.

    AutoGluon has no global seed; the seed varies the 80/20 split (as for every tool).
    """
    from autogluon.tabular import TabularPredictor

    multiclass = train[target].nunique() > 2
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.monotonic()
        predictor = TabularPredictor(
            label=target,
            eval_metric="roc_auc_ovr" if multiclass else "roc_auc",
            path=tmp,
            verbosity=0,
        ).fit(train, presets=preset, time_limit=budget)
        wall = time.monotonic() - t0
        proba = predictor.predict_proba(test.drop(columns=[target]))
        board = predictor.leaderboard(silent=True)
    return {
        "test_auc": test_auc(test[target], proba.to_numpy(), list(proba.columns), train[target]),
        "first_model_s": None,
        "wall_s": wall,
        "best": predictor.model_best,
        "trials": len(board),
    }


def run_autogluon_medium(
    train: pd.DataFrame, test: pd.DataFrame, target: str, budget: float, seed: int
) -> Run:
    return run_autogluon(train, test, target, budget, seed, preset="medium_quality")


def run_flaml(
    train: pd.DataFrame, test: pd.DataFrame, target: str, budget: float, seed: int
) -> Run:
    from flaml import AutoML

    multiclass = train[target].nunique() > 2
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "flaml.log"
        automl = AutoML()
        X, y = _categorical(train.drop(columns=[target])), train[target]
        t0 = time.monotonic()
        automl.fit(
            X,
            y,
            task="classification",
            metric="roc_auc_ovr" if multiclass else "roc_auc",
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
        proba = automl.predict_proba(_categorical(test.drop(columns=[target]), like=X))
    return {
        "test_auc": test_auc(test[target], proba, list(automl.classes_), y),
        "first_model_s": first,
        "wall_s": wall,
        "best": automl.best_estimator,
        "trials": len(records),
    }


def run_lightgbm(
    train: pd.DataFrame, test: pd.DataFrame, target: str, budget: float, seed: int
) -> Run:
    from lightgbm import LGBMClassifier

    X, y = _categorical(train.drop(columns=[target])), train[target]
    t0 = time.monotonic()
    model = LGBMClassifier(random_state=seed, verbose=-1).fit(X, y)
    wall = time.monotonic() - t0
    proba = model.predict_proba(_categorical(test.drop(columns=[target]), like=X))
    return {
        "test_auc": test_auc(test[target], proba, list(model.classes_), y),
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


TOOLS: dict[str, Callable[[pd.DataFrame, pd.DataFrame, str, float, int], Run]] = {
    "automl-local": run_automl_local,
    "automl-local-no-et": run_automl_local_no_et,
    "AutoGluon-best": run_autogluon,
    "AutoGluon-medium": run_autogluon_medium,
    "FLAML": run_flaml,
    "LightGBM default": run_lightgbm,
}


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--datasets", nargs="+", default=["bank"])
    parser.add_argument("--budgets", nargs="+", type=float, default=[60, 300])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--tools", nargs="+", default=list(TOOLS))
    parser.add_argument("--cv5", action="store_true", help="5-fold CV job on the whole bank file")
    parser.add_argument("--summarize", nargs="+", help="print the table of saved result files")
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
    if args.summarize:
        rows = [row for f in args.summarize for row in json.loads(Path(f).read_text())["rows"]]
        print(summary_table(rows))
        return
    rows: list[Run] = []
    path = RESULTS / f"search-{stamp}.json"
    for name in args.datasets:
        frame, target = load(name)
        for seed in args.seeds:  # seeds outermost within a data set: a cut run has whole seeds
            train, test = train_test_split(
                frame, test_size=0.2, stratify=frame[target], random_state=seed
            )
            for budget in args.budgets:
                for tool in args.tools:
                    load_before = os.getloadavg()[0]
                    out = TOOLS[tool](train, test, target, budget, seed)
                    rows.append(
                        {
                            "dataset": name,
                            "budget_s": budget,
                            "seed": seed,
                            "tool": tool,
                            **out,
                            "load_avg_1m": [load_before, os.getloadavg()[0]],
                        }
                    )
                    print(json.dumps(rows[-1], default=str), flush=True)
                    path.write_text(  # after every run: a run cut short keeps what it measured
                        json.dumps({"machine": machine(), "rows": rows}, indent=2, default=str)
                    )
    print(summary_table(rows))


def summary_table(rows: list[Run]) -> str:
    """The README's table: mean (and min) held-out AUC per data set, budget and tool."""
    table = pd.DataFrame(rows)
    summary = table.groupby(["dataset", "budget_s", "tool"]).agg(
        test_auc_mean=("test_auc", "mean"),
        test_auc_min=("test_auc", "min"),
        first_model_s=("first_model_s", "mean"),
        wall_s=("wall_s", "mean"),
        runs=("seed", "count"),
    )
    return f"\nMachine: {machine()}\n\n{summary.round(4).to_markdown()}"

if __name__ == "__main__":
    main()
