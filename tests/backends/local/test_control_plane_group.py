"""``ml.control_plane`` and ``ml.published_pipelines``: the public groups the CLI uses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from automl_local.backends.base import ControlPlaneOperations, PublishedPipelineOperations

from automl_local.exceptions import ConfigError


def test_local_groups_implement_the_protocols(tmp_path: Path) -> None:
    from automl_local.backends import get_client

    ml: Any = get_client("local", workspace=tmp_path / "ws")
    assert isinstance(ml.control_plane, ControlPlaneOperations)
    assert isinstance(ml.published_pipelines, PublishedPipelineOperations)


def test_local_control_plane_keys_and_status_without_a_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from automl_local.backends import get_client

    monkeypatch.setenv("AUTOML_LOCAL_SERVER_AUTOSTART", "0")
    ml: Any = get_client("local", workspace=tmp_path / "ws")
    status = ml.control_plane.status()
    assert status["running"] is False and status["url"] is None and status["schedules_total"] == 0
    assert ml.control_plane.url() is None and ml.control_plane.logs() is None
    keys = ml.control_plane.get_keys()
    assert set(keys) == {"primary", "secondary"} and ml.control_plane.get_keys() == keys
    renewed = ml.control_plane.regenerate_key("secondary")
    assert renewed["primary"] == keys["primary"] and renewed["secondary"] != keys["secondary"]
    with pytest.raises(ConfigError, match="key type 'tertiary' is not valid"):
        ml.control_plane.regenerate_key("tertiary")
    with pytest.raises(ConfigError, match="missed-runs policy 'never' is not valid"):
        ml.control_plane.start(missed_runs="never")
    assert not ml.control_plane.stop()


def test_azure_groups_implement_the_protocols_and_the_control_plane_refuses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from automl_local.backends import get_client

    for var, value in (("AZURE_SUBSCRIPTION_ID", "00000000-0000-0000-0000-000000000000"),
                       ("AZURE_RESOURCE_GROUP", "rg"), ("AZUREML_WORKSPACE_NAME", "ws")):
        monkeypatch.setenv(var, value)
    ml: Any = get_client("azure")
    assert isinstance(ml.control_plane, ControlPlaneOperations)
    assert isinstance(ml.published_pipelines, PublishedPipelineOperations)
    with pytest.raises(ConfigError, match=r"control_plane.start: the control-plane server is "
                                          r"local-only.*On Azure the workspace does both"):
        ml.control_plane.start()
    with pytest.raises(ConfigError, match=r"control_plane.get_keys: .*Entra ID token"):
        ml.control_plane.get_keys()
