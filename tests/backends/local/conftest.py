"""Shared fixtures of the local-backend tests.

Endpoint/deployment/model fixtures are prefixed ``ep_``. The MLflow models
are saved the way the AutoML engine saves its best model (sklearn + pyfunc
flavours, cloudpickle, signature of the raw columns, one input-example row),
fitted once per session on small generated bank-like data.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from _testdata import save_sklearn_model

EP_COLUMNS = ["age", "job", "balance"]


def _ep_frame(n: int = 300, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 90, n),
            "job": rng.choice(["admin.", "services", "retired"], n),
            "balance": rng.normal(1000, 300, n).round(2),
        }
    )
    label = np.where((frame["age"] > 55) | (frame["job"] == "retired"), "yes", "no")
    return frame, label


def _ep_save(estimator: Any, path: Path) -> Path:
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    frame, label = _ep_frame()
    features = ColumnTransformer(
        [
            ("num", StandardScaler(), ["age", "balance"]),
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["job"]),
        ]
    )
    pipe = Pipeline([("features", features), ("model", estimator)]).fit(frame, label)
    return save_sklearn_model(pipe, frame, path)


@pytest.fixture(scope="session")
def ep_model_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """MLflow model folders: ``blue`` (logistic regression), ``green`` (always "yes"),
    ``broken`` (an MLmodel whose pickle is garbage: fails to load in the server)."""
    from sklearn.dummy import DummyClassifier
    from sklearn.linear_model import LogisticRegression

    root = tmp_path_factory.mktemp("ep-models")
    blue = _ep_save(LogisticRegression(), root / "blue-model")
    green = _ep_save(DummyClassifier(strategy="constant", constant="yes"), root / "green-model")
    broken = root / "broken-model"
    shutil.copytree(blue, broken)
    (broken / "model.pkl").write_bytes(b"this is not a pickle")
    return {"blue": blue, "green": green, "broken": broken}


@pytest.fixture(scope="session")
def ep_rows() -> list[dict[str, Any]]:
    """Two valid request rows: an older retired client ("yes") and a young one ("no")."""
    return [
        {"age": 70, "job": "retired", "balance": 1500.0},
        {"age": 25, "job": "admin.", "balance": 800.0},
    ]


@pytest.fixture(scope="session")
def ep_mlflow_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An MLflow SQLite store with its schema created (a migration of several seconds)."""
    from mlflow import MlflowClient

    path = tmp_path_factory.mktemp("ep-mlflow") / "mlflow.db"
    uri = f"sqlite:///{path}"
    MlflowClient(tracking_uri=uri, registry_uri=uri).search_registered_models()
    return path


@pytest.fixture(scope="session")
def ep_workspace(tmp_path_factory: pytest.TempPathFactory,
                 ep_mlflow_db: Path) -> Callable[[str], Path]:
    """``ep_workspace(name)``: a new workspace folder whose MLflow store is a copy of
    ``ep_mlflow_db``, so each test module does not pay the schema migration again."""

    def make(name: str) -> Path:
        root = tmp_path_factory.mktemp(name)
        with sqlite3.connect(ep_mlflow_db) as source, sqlite3.connect(root / "mlflow.db") as dest:
            source.backup(dest)
        return root

    return make
