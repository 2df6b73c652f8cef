"""Which workspace, and as whom: arguments, environment, config.json; no network."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from automl_local.backends import get_client
from automl_local.backends.azure._config import find_config, resolve_workspace
from automl_local.backends.azure.testing import FakeAzureTransport, FakeCredential

from automl_local.exceptions import BackendConfigError


def _config(folder: Path, **values: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.json"
    path.write_text(json.dumps(values))
    return path


def test_arguments_win_over_environment_over_config(clean_env: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    _config(clean_env, subscription_id="sub-file", resource_group="rg-file",
            workspace_name="ws-file")
    monkeypatch.setenv("AZURE_RESOURCE_GROUP", "rg-env")
    monkeypatch.setenv("AZUREML_WORKSPACE_NAME", "ws-env")
    ref = resolve_workspace(workspace_name="ws-arg")
    assert (ref.subscription_id, ref.resource_group_name, ref.workspace_name) == (
        "sub-file", "rg-env", "ws-arg")
    assert ref.sources[0].endswith("config.json")
    assert ref.sources[1:] == ("$AZURE_RESOURCE_GROUP", "argument workspace_name=")


def test_config_json_is_found_as_from_config_finds_it(clean_env: Path) -> None:
    _config(clean_env / ".azureml", subscription_id="s", resource_group="r", workspace_name="w")
    nested = clean_env / "project" / "notebooks"
    nested.mkdir(parents=True)
    assert find_config(nested) == clean_env / ".azureml" / "config.json"
    ref = resolve_workspace(config_path=nested)
    assert (ref.subscription_id, ref.resource_group_name, ref.workspace_name) == ("s", "r", "w")


def test_config_json_scope_form(clean_env: Path) -> None:
    scope = ("/subscriptions/s1/resourceGroups/r1/providers/"
             "Microsoft.MachineLearningServices/workspaces/w1")
    _config(clean_env, Scope=scope)
    ref = resolve_workspace()
    assert (ref.subscription_id, ref.resource_group_name, ref.workspace_name) == ("s1", "r1", "w1")


def test_missing_everything_names_each_setting_and_the_fixes(clean_env: Path) -> None:
    with pytest.raises(BackendConfigError) as caught:
        get_client("azure")
    message = str(caught.value)
    for needed in ("AZURE_SUBSCRIPTION_ID", "AZURE_RESOURCE_GROUP", "AZUREML_WORKSPACE_NAME",
                   "config.json", "az login", "AZURE_CLIENT_ID", "AZURE_TENANT_ID",
                   "AZURE_CLIENT_SECRET"):
        assert needed in message
    assert "\n" not in message


def test_missing_one_setting_names_only_that_one(clean_env: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_SUBSCRIPTION_ID", "s")
    monkeypatch.setenv("AZURE_RESOURCE_GROUP", "r")
    with pytest.raises(BackendConfigError, match=r"missing: AZUREML_WORKSPACE_NAME \("
                                                  r"workspace_name=\); no config\.json"):
        get_client("azure", credential=FakeCredential())


def test_config_json_that_lacks_a_field_is_named(clean_env: Path) -> None:
    path = _config(clean_env, subscription_id="s", resource_group="r")
    with pytest.raises(BackendConfigError, match=rf"{path} does not have them either"):
        resolve_workspace()


def test_broken_config_json_is_named(clean_env: Path) -> None:
    (clean_env / "config.json").write_text("{not json")
    with pytest.raises(BackendConfigError, match=r"config\.json is not a readable workspace"):
        resolve_workspace()


def test_explicit_config_path_that_does_not_exist(clean_env: Path) -> None:
    with pytest.raises(BackendConfigError, match=r"config file 'nowhere\.json' was not found"):
        resolve_workspace(config_path="nowhere.json")


class _NoTokenCredential:
    """Fails the test if anything asks for a token."""

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        raise AssertionError(f"a token was requested at construction: {scopes}")


def test_construction_makes_no_network_call_and_asks_no_token(clean_env: Path) -> None:
    transport = FakeAzureTransport()
    client = get_client("azure", subscription_id="s", resource_group_name="r",
                        workspace_name="w", credential=_NoTokenCredential(),
                        transport=transport)
    assert client.backend == "azure"
    for group in ("jobs", "data", "models", "online_endpoints", "online_deployments",
                  "schedules"):
        assert getattr(client, group) is not None
    assert transport.requests == []
    assert repr(client) == ("AzureClient(subscription_id='s', resource_group_name='r', "
                            "workspace_name='w')")


def test_default_credential_is_default_azure_credential(clean_env: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from azure.identity import DefaultAzureCredential

    monkeypatch.setenv("AZURE_SUBSCRIPTION_ID", "s")
    monkeypatch.setenv("AZURE_RESOURCE_GROUP", "r")
    monkeypatch.setenv("AZUREML_WORKSPACE_NAME", "w")
    transport = FakeAzureTransport()
    client = get_client("azure", transport=transport)
    assert isinstance(client.credential, DefaultAzureCredential)
    assert client.ml_client.workspace_name == "w"
    assert transport.requests == []


def test_backend_chosen_by_environment_variable(clean_env: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOML_BACKEND", "azure")
    with pytest.raises(BackendConfigError, match="--backend azure needs to know"):
        get_client()
