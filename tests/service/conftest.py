"""Shared fixtures of the scoring-service tests: real MLflow models and endpoint folders.

Two models are fitted once per session on generated bank-marketing-like
data: ``model_dir`` (ColumnTransformer[scaled age, median-imputed scaled
balance, one-hot job/housing] + LogisticRegression, labels "yes"/"no") and
``trap_model_dir``, the same pipeline behind a step that sleeps for
job == "__sleep__" and raises for job == "__boom__", to test timeouts and
model failures through the real server. Both are saved the way the AutoML
engine saves its best model (sklearn + pyfunc flavours, cloudpickle,
signature of the raw columns, one input-example row).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from _testdata import save_sklearn_model
from automl_local.service._config import hash_key

PRIMARY_KEY = "primary-key-0123456789"
SECONDARY_KEY = "secondary-key-9876543210"


def make_frame(n: int = 400, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 90, n),
            "job": rng.choice(["admin.", "technician", "services", "retired"], n),
            "balance": rng.normal(1000, 800, n).round(2),
            "housing": rng.choice(["yes", "no"], n),
        }
    )
    frame.loc[frame.index[5::20], "balance"] = np.nan  # makes 'balance' optional in the signature
    label = np.where(
        (frame["age"] > 55) | ((frame["job"] == "retired") & (frame["balance"] > 500)), "yes", "no"
    )
    return frame, label


def _pipeline(trap: Any = None) -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

    balance = Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())])
    features = ColumnTransformer(
        [
            ("age", StandardScaler(), ["age"]),
            ("balance", balance, ["balance"]),
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["job", "housing"]),
        ]
    )
    steps: list[tuple[str, Any]] = [("features", features), ("model", LogisticRegression())]
    if trap is not None:
        steps.insert(0, ("trap", FunctionTransformer(trap)))
    return Pipeline(steps)


def _save(pipe: Any, path: Path) -> Path:
    frame, label = make_frame()
    pipe.fit(frame, label)
    return save_sklearn_model(pipe, frame, path)


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _save(_pipeline(), tmp_path_factory.mktemp("models") / "bankmodel")


@pytest.fixture(scope="session")
def trap_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    def trap(frame: pd.DataFrame) -> pd.DataFrame:  # pickled by value by cloudpickle
        import time

        jobs = set(frame["job"].astype(str))
        if "__sleep__" in jobs:
            time.sleep(1.5)
        if "__boom__" in jobs:
            raise RuntimeError("boom: the trap model was asked to fail")
        return frame

    return _save(_pipeline(trap), tmp_path_factory.mktemp("models") / "trapmodel")


class EndpointFolder:
    """Writes ``endpoint.json`` and ``key_hashes.json`` the way the process manager does.

    Tests reach every helper through this object (the ``endpoint`` fixture),
    so no test module imports from conftest.
    """

    primary_key = PRIMARY_KEY
    secondary_key = SECONDARY_KEY

    def __init__(self, path: Path, model_dir: Path) -> None:
        self.path = path
        self.model_dir = model_dir
        self.config: dict[str, Any] = {}

    @staticmethod
    def headers(key: str | None = PRIMARY_KEY, **extra: str) -> dict[str, str]:
        """Request headers: JSON content type, the Bearer key (unless None), extras."""
        headers = {"Content-Type": "application/json", **extra}
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        return headers

    @staticmethod
    def deployment_entry(model: Path, **settings: Any) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "model_dir": str(model),
            "model_name": "bankmodel",
            "model_version": "1",
            "app_insights_enabled": True,
            "request_timeout_ms": 5000,
            "max_concurrent_requests_per_instance": 1,
            "environment_variables": {},
        }
        entry.update(settings)
        return entry

    def set_deployment(self, name: str, model: Path | None = None, **settings: Any) -> None:
        deployments = dict(self.config.get("deployments", {}))
        deployments[name] = self.deployment_entry(model or self.model_dir, **settings)
        self.write(deployments=deployments)

    def write(self, **changes: Any) -> EndpointFolder:
        self.config.update(changes)
        _atomic_write(self.path / "endpoint.json", json.dumps(self.config))
        return self

    def set_traffic(self, traffic: dict[str, int]) -> None:
        self.write(traffic=traffic)

    def set_keys(self, primary: str, secondary: str) -> None:
        _atomic_write(
            self.path / "key_hashes.json",
            json.dumps({"primary": hash_key(primary), "secondary": hash_key(secondary)}),
        )
        os.chmod(self.path / "key_hashes.json", 0o600)

    def log(self, deployment: str) -> str:
        path = self.path / "deployments" / deployment / "deployment.log"
        return path.read_text() if path.exists() else ""

    def log_records(self, deployment: str) -> list[dict[str, Any]]:
        lines = self.log(deployment).splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


@pytest.fixture(scope="session")
def make_endpoint(model_dir: Path) -> Callable[..., EndpointFolder]:
    """Factory: ``make_endpoint(path, traffic=...)`` -> an endpoint 'bank-ep' with two
    deployments (blue, green) of the same model, keys set."""

    def make(path: Path, traffic: dict[str, int] | None = None) -> EndpointFolder:
        folder = EndpointFolder(path, model_dir)
        folder.path.mkdir(parents=True)
        folder.write(
            name="bank-ep",
            auth_mode="key",
            traffic=traffic if traffic is not None else {"blue": 90, "green": 10},
            mirror_traffic={},
            max_body_bytes=10 * 1024 * 1024,
            deployments={
                "blue": folder.deployment_entry(model_dir),
                "green": folder.deployment_entry(model_dir, model_version="2"),
            },
        )
        folder.set_keys(PRIMARY_KEY, SECONDARY_KEY)
        return folder

    return make


@pytest.fixture
def endpoint(tmp_path: Path, make_endpoint: Callable[..., EndpointFolder]) -> EndpointFolder:
    """An endpoint 'bank-ep' with deployments blue (90 %) and green (10 %) of the same model."""
    return make_endpoint(tmp_path / "endpoints" / "bank-ep")


@pytest.fixture
def row() -> dict[str, Any]:
    """One valid input row (a fresh copy per test)."""
    return {"age": 61, "job": "retired", "balance": 1500.0, "housing": "no"}


@pytest.fixture(scope="session")
def loaded_model(model_dir: Path) -> Any:
    from automl_local.service._model import load_model

    return load_model(model_dir, "bankmodel", "1")
