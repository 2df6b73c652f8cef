"""Local-only options and methods are refused on Azure, saying what to do instead."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from automl_local.backends import get_client
from automl_local.backends.azure._local_only import LOCAL_ONLY_METHODS, LOCAL_ONLY_OPTIONS
from automl_local.backends.azure.testing import FakeCredential

from automl_local.exceptions import ConfigError


def test_local_workspace_folder_is_refused(clean_env: Path) -> None:
    with pytest.raises(ConfigError, match=r"workspace='\.automl' is local-only \(the local "
                                          r"workspace folder.*workspace_name="):
        get_client("azure", subscription_id="s", resource_group_name="r", workspace_name="w",
                   credential=FakeCredential(), workspace=".automl")


def test_workspace_none_is_not_an_option(clean_env: Path) -> None:
    """The CLI passes --workspace through as None when it is not given."""
    client = get_client("azure", subscription_id="s", resource_group_name="r",
                        workspace_name="w", credential=FakeCredential(), workspace=None)
    assert client.ref.workspace_name == "w"


def test_seed_is_refused_on_job_submission(client: Any, automl_job: Any, fake: Any) -> None:
    with pytest.raises(ConfigError, match=r"jobs\.create_or_update: seed=7 is local-only .* "
                                          r"Azure AutoML takes no seed"):
        client.jobs.create_or_update(automl_job("azureml:bank:1"), seed=7)
    assert fake.transport.requests == []


def test_startup_timeout_is_refused_on_deployments(client: Any) -> None:
    from azure.ai.ml.entities import ManagedOnlineDeployment

    deployment = ManagedOnlineDeployment(name="blue", endpoint_name="ep", model="azureml:m:1")
    with pytest.raises(ConfigError, match=r"startup_timeout=60 is local-only .* "
                                          r"\.result\(timeout=SECONDS\)"):
        client.online_deployments.begin_create_or_update(deployment, startup_timeout=60)


@pytest.mark.parametrize("call", [
    lambda c: c.online_endpoints.begin_restart("ep"),
    lambda c: c.jobs.resume("j"),
    lambda c: c.jobs.events("j"),
    lambda c: c.jobs.result("j"),
    lambda c: c.jobs.output_path("j"),
], ids=["begin_restart", "resume", "events", "result", "output_path"])
def test_local_only_methods_are_refused(client: Any, fake: Any, call: Any) -> None:
    with pytest.raises(ConfigError, match=r"is local-only \(.*\) and has no meaning with "
                                          r"--backend azure; "):
        call(client)
    assert fake.transport.requests == []


def test_every_refusal_says_what_to_do_instead() -> None:
    for meaning, instead in [*LOCAL_ONLY_OPTIONS.values(), *LOCAL_ONLY_METHODS.values()]:
        assert meaning and instead and not instead.endswith(".")
