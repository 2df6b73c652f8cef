"""AzureClient's surface: MLClient's groups, the generic entry points, MLflow lookups."""

from __future__ import annotations

from typing import Any

import pytest
from automl_local.backends.azure._mlflow import ARM_SCOPE, MlflowRunReader, tracking_base_url
from automl_local.backends.azure.testing import FakeCredential, FakeResponse

from automl_local.exceptions import NotFoundError


def test_begin_create_or_update_dispatches_to_the_groups(client: Any, fake: Any) -> None:
    from azure.ai.ml.entities import ManagedOnlineEndpoint

    endpoint = client.begin_create_or_update(ManagedOnlineEndpoint(name="ep-3")).result()
    assert endpoint.provisioning_state == "Succeeded"
    assert fake.transport.one("PUT", r"/onlineEndpoints/ep-3$").json()[
        "properties"]["authMode"] == "Key"


def test_create_or_update_of_a_model_goes_through_the_models_group(client: Any,
                                                                   fake: Any) -> None:
    from azure.ai.ml.entities import Model

    path = "azureml://jobs/r1/outputs/artifacts/outputs/mlflow-model/"
    model = client.create_or_update(Model(name="m", version="3", type="mlflow_model", path=path))
    assert (model.name, model.version) == ("m", "3")


def test_other_mlclient_groups_pass_through_with_error_translation(client: Any,
                                                                   fake: Any) -> None:
    from azure.ai.ml.operations import ComputeOperations

    assert isinstance(client.compute._ops, ComputeOperations)  # MLClient's group, not shadowed
    workspace = client.workspaces.get(fake.ws)
    assert workspace.mlflow_tracking_uri.startswith("azureml://eastus.api.azureml.ms/mlflow/")
    with pytest.raises(NotFoundError, match=r"environments\.get\('nope'"):
        client.environments.get("nope", version="1")


def test_tracking_uri_scheme_becomes_https() -> None:
    uri = "azureml://westeurope.api.azureml.ms/mlflow/v1.0/subscriptions/s/resourceGroups/r/x"
    assert tracking_base_url(uri) == (
        "https://westeurope.api.azureml.ms/mlflow/v1.0/subscriptions/s/resourceGroups/r/x")
    assert tracking_base_url("https://host/mlflow/") == "https://host/mlflow"


def test_mlflow_reader_sends_the_bearer_token_and_names_a_missing_run(fake: Any) -> None:
    uri = fake.fixture("workspace")["properties"]["mlFlowTrackingUri"]
    credential = FakeCredential("tok")
    reader = MlflowRunReader(uri, credential, fake.transport)
    assert reader.tags("parent_job")["automl_best_child_run_id"] == "parent_job_3"
    sent = fake.transport.one("GET", r"/runs/get$")
    assert sent.headers["Authorization"] == f"Bearer {credential.token_for(ARM_SCOPE)}"
    assert FakeCredential.claims(sent.headers["Authorization"])["name"] == "tok"
    fake.transport.add("GET", r"/runs/get$", FakeResponse(404, {
        "error_code": "RESOURCE_DOES_NOT_EXIST", "message": "Run 'x' not found"}))
    with pytest.raises(NotFoundError, match=r"MLflow run 'x' was not found in the workspace's "
                                            r"tracking store"):
        reader.get_run("x")
