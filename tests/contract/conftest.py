"""Fixtures of the contract suite: one scenario, every backend.

``contract_backend`` is parametrised over the backends; each param gives a
client (``get_client(...)``) and a probe that knows how to check that
backend from the outside. ``local`` runs for real in a temporary workspace;
``azure`` runs ``AzureClient`` (a real ``MLClient``) against the fake Azure
of :mod:`backends.azure.testing`, whose canned responses are the JSON files
under ``fixtures/azure``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

HERE = Path(__file__).parent
if str(HERE) not in sys.path:  # the scenario and probes are modules beside this file
    sys.path.insert(0, str(HERE))

from contract_data import AZURE_FIXTURES, bank_frame  # noqa: E402

BACKENDS = ("local", "azure")


@pytest.fixture(scope="session")
def bank_data() -> pd.DataFrame:
    return bank_frame()


@pytest.fixture(scope="session")
def trained_mlflow_model(tmp_path_factory: pytest.TempPathFactory,
                         bank_data: pd.DataFrame) -> Path:
    """What the fake Azure AutoML "trains": a real MLflow sklearn model of the bank data."""
    import mlflow.sklearn
    from mlflow.models import infer_signature
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    x, y = bank_data.drop(columns="y"), bank_data["y"]
    categorical = ["job", "marital"]
    numeric = [c for c in x.columns if c not in categorical]
    prep = ColumnTransformer([
        ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                              OneHotEncoder(handle_unknown="ignore")), categorical),
        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
    ])
    pipe = Pipeline([("prep", prep), ("clf", LogisticRegression(max_iter=500))]).fit(x, y)
    folder = tmp_path_factory.mktemp("azure-best-model") / "mlflow-model"
    mlflow.sklearn.save_model(
        pipe, str(folder), serialization_format="cloudpickle",
        signature=infer_signature(x, pipe.predict(x)), input_example=x.head(1),
        pip_requirements=["mlflow", "scikit-learn", "pandas"],  # skips the slow inference
    )
    return folder


@pytest.fixture
def fake_azure(trained_mlflow_model: Path) -> Iterator[Any]:
    """A fresh fake Azure ML workspace whose AutoML "trains" ``trained_mlflow_model``."""
    from automl_local.backends.azure.testing import FakeAzureML, intercept_storage

    fake = FakeAzureML(AZURE_FIXTURES)
    fake.best_model_dir = trained_mlflow_model
    with intercept_storage(fake.transport):
        yield fake


@pytest.fixture(params=BACKENDS)
def contract_backend(request: pytest.FixtureRequest, tmp_path: Path,
                     monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Any]]:
    """``(client, probe)`` for each backend, in a clean workspace."""
    from automl_local.backends import get_client

    if request.param == "local":
        from contract_probes import LocalProbe

        monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
        # Schedules are fired with trigger() and publications run with invoke(), neither of
        # which needs the control-plane server; not starting it keeps the suite fast and tidy.
        monkeypatch.setenv("AUTOML_LOCAL_SERVER_AUTOSTART", "0")
        client = get_client("local", workspace=tmp_path / ".automl")
        yield client, LocalProbe(client, tmp_path)
        _stop_local_endpoints(client)
        _stop_local_runs(client)
    else:
        from automl_local.backends.azure.testing import FakeCredential
        from contract_probes import AzureProbe

        fake = request.getfixturevalue("fake_azure")
        for var in ("AZURE_SUBSCRIPTION_ID", "AZURE_RESOURCE_GROUP", "AZUREML_WORKSPACE_NAME",
                    "AZUREML_COMPUTE"):
            monkeypatch.delenv(var, raising=False)
        client = get_client(
            "azure", subscription_id=fake.sub, resource_group_name=fake.rg,
            workspace_name=fake.ws, credential=FakeCredential(), transport=fake.transport,
            compute="cpu-cluster", show_progress=False,
        )
        yield client, AzureProbe(client, fake, tmp_path)


def _stop_local_endpoints(client: Any) -> None:
    """Leave no scoring server behind if the scenario failed before deleting its endpoint."""
    try:
        endpoints = list(client.online_endpoints.list())
    except Exception:  # the workspace may be half-made; nothing to stop then
        return
    for endpoint in endpoints:
        try:
            client.online_endpoints.begin_delete(endpoint.name).result()
        except Exception as exc:  # report, but do not mask the test's own failure
            print(f"could not delete local endpoint {endpoint.name}: {exc}")


def _stop_local_runs(client: Any) -> None:
    """Cancel pipeline runs a failed scenario left running (their runners are detached)."""
    try:
        jobs = list(client.jobs.list())
    except Exception:  # the workspace may be half-made; nothing to stop then
        return
    for job in jobs:
        status = str(getattr(job.status, "value", job.status))
        if job.type == "pipeline" and status not in ("Completed", "Failed", "Canceled"):
            try:
                client.jobs.begin_cancel(job.name).result()
            except Exception as exc:  # report, but do not mask the test's own failure
                print(f"could not cancel local pipeline run {job.name}: {exc}")
