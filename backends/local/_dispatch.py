"""``ml_client.create_or_update`` / ``begin_create_or_update``: entity type -> group.

As ``MLClient`` dispatches: ``create_or_update`` takes jobs, models, data,
environments, components and datastores; ``begin_create_or_update`` takes
computes, endpoints, deployments and schedules (and, as before, jobs, models
and data wrapped in a finished poller).
"""

from __future__ import annotations

from typing import Any

from automl_local.backends.base import LocalPoller

from automl_local.exceptions import ConfigError

__all__ = ["begin_create_or_update", "create_or_update"]


def create_or_update(client: Any, entity: Any, **kwargs: Any) -> Any:
    from azure.ai.ml.entities import Component, Data, Datastore, Environment, Job, Model

    groups = (
        (Job, "jobs"),
        (Model, "models"),
        (Data, "data"),
        (Environment, "environments"),
        (Component, "components"),
        (Datastore, "datastores"),
    )
    for kind, group in groups:
        if isinstance(entity, kind):
            return getattr(client, group).create_or_update(entity, **kwargs)
    raise ConfigError(
        f"create_or_update got a {type(entity).__name__}; it takes a job, model, data asset, "
        "environment, component or datastore (use begin_create_or_update for computes, "
        "endpoints, deployments and schedules)."
    )


def begin_create_or_update(client: Any, entity: Any, **kwargs: Any) -> Any:
    from azure.ai.ml.entities import Component, Compute, Datastore, Environment, Workspace

    if isinstance(entity, Compute):
        return client.compute.begin_create_or_update(entity, **kwargs)
    if isinstance(entity, Environment | Component | Datastore):
        return LocalPoller(lambda: create_or_update(client, entity, **kwargs))
    if isinstance(entity, Workspace):
        raise ConfigError(
            "a local workspace is a folder: choose it with --workspace-dir or "
            "AUTOML_LOCAL_WORKSPACE (it is created on first use); it is not created from a "
            "Workspace entity."
        )
    return None
