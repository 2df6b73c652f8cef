"""Options that only mean something to the local backend, refused on Azure.

The local backend adds a few knobs Azure has no equivalent for (a workspace
*folder*, the search's random seed, how long to wait for a local server, a
server restart). Passing one with ``--backend azure`` is a mistake the user
should hear about, with what to do instead, rather than have it dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from automl_local.exceptions import ConfigError

__all__ = ["LOCAL_ONLY_METHODS", "LOCAL_ONLY_OPTIONS", "refuse_local_method", "refuse_local_only"]

# keyword -> (what it is locally, what to do on Azure)
LOCAL_ONLY_OPTIONS: dict[str, tuple[str, str]] = {
    "workspace": (
        "the local workspace folder (--workspace / AUTOML_LOCAL_WORKSPACE)",
        "name the Azure ML workspace with workspace_name= / AZUREML_WORKSPACE_NAME / config.json",
    ),
    "seed": (
        "the random seed of the local search",
        "Azure AutoML takes no seed; drop the option",
    ),
    "startup_timeout": (
        "how long to wait for the local scoring server to start",
        "wait on the returned poller instead: .result(timeout=SECONDS)",
    ),
}

# group.method -> (what it does locally, what to do on Azure)
LOCAL_ONLY_METHODS: dict[str, tuple[str, str]] = {
    "jobs.resume": (
        "continues a killed local job from its finished trials",
        "submit the job again with jobs.create_or_update (Azure retries failed nodes itself)",
    ),
    "jobs.events": (
        "reads the local job's structured event log",
        "follow the job with jobs.stream, or open its studio_url",
    ),
    "jobs.result": (
        "reads the local job's result.json (leaderboard, best score)",
        "read the parent run's metrics and tags with MLflow at the workspace's tracking URI",
    ),
    "jobs.output_path": (
        "is the folder of a local job's output",
        "download it with jobs.download(name, output_name=...)",
    ),
    "schedules.history": (
        "reads the local schedule's run history (scheduled time, job, reason)",
        "list the jobs the schedule created in the studio (Jobs, filtered by the schedule), "
        "or with jobs.list()",
    ),
    "online_endpoints.begin_restart": (
        "restarts the local scoring server process",
        "Azure manages the containers of a managed endpoint; to roll them, update the "
        "deployment with online_deployments.begin_create_or_update",
    ),
}


def refuse_local_only(where: str, kwargs: Mapping[str, Any]) -> None:
    """Raise ConfigError if ``kwargs`` holds a local-only option (given a value)."""
    for key, value in kwargs.items():
        if key in LOCAL_ONLY_OPTIONS and value is not None:
            meaning, instead = LOCAL_ONLY_OPTIONS[key]
            raise ConfigError(
                f"{where}: {key}={value!r} is local-only ({meaning}) and has no meaning with "
                f"--backend azure; {instead}."
            )


def refuse_local_method(group: str, method: str) -> ConfigError:
    """The error for calling a local-only method under ``--backend azure``."""
    meaning, instead = LOCAL_ONLY_METHODS[f"{group}.{method}"]
    return ConfigError(
        f"{group}.{method} is local-only ({meaning}) and has no meaning with --backend azure; "
        f"{instead}."
    )
