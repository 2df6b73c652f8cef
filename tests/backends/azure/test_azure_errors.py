"""User mistakes on Azure come out as automl-local's errors: one message, exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from automl_local.backends.azure import AzureResourceNotFoundError
from automl_local.backends.azure.testing import FakeResponse
from azure.core.exceptions import ClientAuthenticationError, ResourceNotFoundError

from automl_local.cli import cli
from automl_local.cli._common import run_cli
from automl_local.exceptions import (
    BackendConfigError,
    ConfigError,
    JobFailedError,
    NotFoundError,
)


class _SignedOutCredential:
    """What DefaultAzureCredential does when nobody is signed in."""

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        raise ClientAuthenticationError(
            "DefaultAzureCredential failed to retrieve a token from the included credentials.\n"
            "Attempted credentials:\n\tEnvironmentCredential: not configured")


def test_missing_config_on_the_cli_is_one_line_and_exit_2(clean_env: Path) -> None:
    """A real process: no traceback, the fix in the message."""
    done = subprocess.run(
        [sys.executable, "-c", "from automl_local.cli import main; main()",
         "online-endpoint", "list", "--backend", "azure"],
        capture_output=True, text=True, timeout=120, cwd=clean_env,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: --backend azure needs to know")
    assert "AZURE_SUBSCRIPTION_ID" in lines[0] and "config.json" in lines[0]


def test_signed_out_user_gets_az_login_hint_exit_2(
        clean_env: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("AZURE_SUBSCRIPTION_ID", "s")
    monkeypatch.setenv("AZURE_RESOURCE_GROUP", "r")
    monkeypatch.setenv("AZUREML_WORKSPACE_NAME", "w")
    monkeypatch.setattr(
        "automl_local.backends.azure._client.default_credential", _SignedOutCredential
    )
    code = run_cli(cli, ["online-endpoint", "show", "--name", "bank-ep", "--backend", "azure"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: could not sign in to Azure to online_endpoints.get('bank-ep')")
    assert "az login" in err and "AZURE_CLIENT_SECRET" in err
    assert "Traceback" not in err


def test_sign_in_failure_in_python(fake: Any, clean_env: Path) -> None:
    from automl_local.backends import get_client

    client = get_client("azure", subscription_id=fake.sub, resource_group_name=fake.rg,
                        workspace_name=fake.ws, credential=_SignedOutCredential(),
                        transport=fake.transport)
    with pytest.raises(BackendConfigError, match=r"could not sign in to Azure .*`az login`"):
        client.jobs.get("some_job")
    assert fake.transport.requests == []  # refused before anything was sent


def test_not_found_is_both_automl_and_azure_not_found(client: Any) -> None:
    with pytest.raises(NotFoundError, match=r"online_endpoints\.get\('nope'\): .*'nope'") as err:
        client.online_endpoints.get("nope")
    assert isinstance(err.value, ResourceNotFoundError)
    assert isinstance(err.value, AzureResourceNotFoundError)
    assert err.value.status_code == 404


def test_permission_denied_names_the_role(client: Any, fake: Any) -> None:
    fake.transport.add("GET", r"/onlineEndpoints$", FakeResponse(403, {"error": {
        "code": "AuthorizationFailed",
        "message": "The client 'me' does not have authorization to perform action."}}))
    with pytest.raises(BackendConfigError, match=r"denied permission .* 'AzureML Data Scientist'"):
        list(client.online_endpoints.list())


def test_unknown_resource_group_points_at_the_settings(client: Any, fake: Any) -> None:
    fake.transport.add("GET", r"/jobs/[^/]+$", FakeResponse(404, {"error": {
        "code": "ResourceGroupNotFound", "message": "Resource group 'rg-automl' could not be "
                                                    "found."}}))
    with pytest.raises(BackendConfigError,
                       match=r"does not know the resource group .* AZURE_RESOURCE_GROUP"):
        client.jobs.get("j")


def test_errors_surfacing_in_a_poller_are_translated(client: Any, fake: Any) -> None:
    from azure.ai.ml.entities import ManagedOnlineEndpoint

    fake.transport.add("GET", r"/mfeOperationsStatus/", FakeResponse(200, {
        "status": "Failed", "error": {"code": "BadArgument", "message": "quota exceeded"}}))
    fake.transport.add("GET", r"/mfeOperationsStatus/", lambda req, m: FakeResponse(401, {
        "error": {"code": "InvalidAuthenticationToken", "message": "token expired"}}))
    poller = client.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name="ep-1"))
    with pytest.raises(BackendConfigError, match=r"refused the sign-in .* \(401\)"):
        poller.result()


def test_sdk_validation_error_becomes_config_error(client: Any, tmp_path: Path) -> None:
    from azure.ai.ml.entities import ManagedOnlineEndpoint

    client.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name="ep-2")).result()
    request = tmp_path / "request.json"
    request.write_text('{"input_data": {"columns": ["a"], "index": [0], "data": [[1]]}}')
    with pytest.raises(ConfigError, match=r"Deployment name green not found"):
        client.online_endpoints.invoke("ep-2", request_file=str(request),
                                       deployment_name="green")


def test_failed_job_stream_raises_job_failed(client: Any, fake: Any, automl_job: Any) -> None:
    job = client.jobs.create_or_update(automl_job("azureml:bank:1"))
    fake.transport.add("GET", rf"/runs/{job.name}/details$", FakeResponse(200, {
        "runId": job.name, "status": "Failed", "logFiles": {}, "warnings": [],
        "error": {"error": {"code": "UserError", "message": "no trial could fit the data"}}}))
    with pytest.raises(JobFailedError, match=r"jobs\.stream\(.*no trial could fit the data"):
        client.jobs.stream(job.name)


def test_listing_errors_surface_while_iterating(client: Any, fake: Any) -> None:
    fake.transport.add("GET", r"/onlineEndpoints$", FakeResponse(404, {"error": {
        "code": "WorkspaceNotFound", "message": "Workspace ws-automl not found."}}))
    listing = client.online_endpoints.list()
    with pytest.raises(BackendConfigError, match=r"does not know the workspace"):
        list(listing)
