"""Fixtures for the Azure adapter's tests: a fake workspace and a client on it.

The canned Azure responses are the contract suite's JSON fixtures
(``tests/contract/fixtures/azure``), so the adapter's unit tests and the
contract scenario answer from the same Azure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

AZURE_FIXTURES = Path(__file__).resolve().parents[2] / "contract" / "fixtures" / "azure"
AZURE_ENV = ("AZURE_SUBSCRIPTION_ID", "AZURE_RESOURCE_GROUP", "AZUREML_WORKSPACE_NAME",
             "AZUREML_COMPUTE", "AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET")


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No Azure settings in the environment, and a working folder with no config.json."""
    for var in AZURE_ENV:
        monkeypatch.delenv(var, raising=False)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


@pytest.fixture
def best_model_dir(tmp_path: Path) -> Path:
    """The files of an MLflow model folder (content is not loaded by these tests)."""
    folder = tmp_path / "trained" / "mlflow-model"
    folder.mkdir(parents=True)
    (folder / "MLmodel").write_text("flavors:\n  python_function: {loader_module: x}\n")
    (folder / "model.pkl").write_bytes(b"\x80\x04fake-pickle")
    (folder / "conda.yaml").write_text("dependencies: [python=3.11]\n")
    return folder


@pytest.fixture
def fake(best_model_dir: Path) -> Iterator[Any]:
    from automl_local.backends.azure.testing import FakeAzureML, intercept_storage

    workspace = FakeAzureML(AZURE_FIXTURES)
    workspace.best_model_dir = best_model_dir
    with intercept_storage(workspace.transport):
        yield workspace


@pytest.fixture
def client(fake: Any, clean_env: Path) -> Any:
    from automl_local.backends import get_client
    from automl_local.backends.azure.testing import FakeCredential

    return get_client("azure", subscription_id=fake.sub, resource_group_name=fake.rg,
                      workspace_name=fake.ws, credential=FakeCredential(),
                      transport=fake.transport, show_progress=False)


@pytest.fixture
def automl_job() -> Callable[..., Any]:
    """Build a small AutoML classification job in Python: ``automl_job(data_path, **kw)``."""
    from azure.ai.ml import Input, automl

    def build(data_path: str, **overrides: Any) -> Any:
        job = automl.classification(
            training_data=Input(type="mltable", path=data_path), target_column_name="y",
            primary_metric="AUC_weighted", experiment_name="adapter-tests", **overrides,
        )
        job.set_limits(max_trials=2, timeout_minutes=15)
        return job

    return build


@pytest.fixture
def csv_file(tmp_path: Path) -> Path:
    path = tmp_path / "data" / "bank.csv"
    path.parent.mkdir(parents=True)
    path.write_text("age,job,y\n30,admin.,no\n45,retired,yes\n52,services,no\n")
    return path
