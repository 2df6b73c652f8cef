"""``ml_client.compute`` for the local backend: compute targets recorded in the catalogue.

Everything runs on this machine; a compute target is a named record (kind
``compute``) so that code and YAML naming one (``compute: azureml:cpu-cluster``,
``compute="cpu-cluster"``) run unchanged, and an unknown name fails as on
Azure. What the fields mean locally (the one place this is said):

- ``AmlCompute.max_instances`` bounds an AutoML job's concurrent trials
  (``max_concurrent_trials`` is lowered to it), as a cluster's node count does.
- ``size``, ``min_instances``, ``idle_time_before_scale_down``, ``tier``,
  network and identity settings are recorded and shown, and change nothing:
  trials use this machine's cores and memory (``list_sizes`` reports them).
- ``ComputeInstance`` is one machine: it bounds nothing.
- ``serverless`` (or no compute) needs no record and bounds nothing.
"""

from __future__ import annotations

import builtins
import os
from collections.abc import Iterator
from typing import Any

from automl_local.backends.base import LocalPoller
from automl_local.backends.local._errors import not_found

from automl_local.exceptions import ConfigError

__all__ = ["LocalComputeOperations", "compute_bound", "resolve_compute"]

KIND = "compute"
SERVERLESS = ("serverless", "local")


def _bare_name(ref: str) -> str:
    """``azureml:cpu-cluster`` and ARM ids ``.../computes/cpu-cluster`` -> ``cpu-cluster``."""
    text = ref.strip()
    if "/computes/" in text:
        text = text.rsplit("/computes/", 1)[1]
    if text.startswith("azureml:"):
        text = text[len("azureml:") :]
    return text.strip("/")


def _entity(record: dict[str, Any]) -> Any:
    from azure.ai.ml.entities import Compute

    entity = Compute._load(data={k: v for k, v in record.items() if not k.startswith("_")})
    entity._provisioning_state = "Succeeded"
    if hasattr(entity, "_state"):
        entity._state = record.get("_state", "Running")
    return entity


def resolve_compute(client: Any, ref: str) -> Any | None:
    """The compute entity a job names, None for serverless; Azure's not-found error otherwise."""
    name = _bare_name(ref)
    if name.lower() in SERVERLESS:
        return None
    record = client.workspace.catalogue.get(KIND, name)
    if record is None:
        existing = [r["name"] for r in client.workspace.catalogue.list(KIND)]
        raise not_found(
            "compute",
            name,
            existing,
            hint="Create it with ml_client.begin_create_or_update(AmlCompute(name=...)) or "
            "`automl-local compute create`, or use compute: serverless.",
        )
    return _entity(record)


def compute_bound(client: Any, ref: str) -> tuple[int | None, str]:
    """How many trials may run at once on ``ref`` (None: no bound), and a note for the job log."""
    entity = resolve_compute(client, ref)
    if entity is None:
        return None, f"compute {ref}: serverless; runs on this machine"
    nodes = getattr(entity, "max_instances", None) if entity.type == "amlcompute" else None
    if nodes:
        return int(nodes), (
            f"compute {entity.name} ({entity.type}, max_instances={nodes}): runs on this "
            f"machine, at most {nodes} concurrent trial(s)"
        )
    return None, f"compute {entity.name} ({entity.type}): runs on this machine"


class LocalComputeOperations:
    """``get / list / begin_create_or_update / begin_delete / list_sizes`` and start/stop."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._cat = client.workspace.catalogue

    def get(self, name: str) -> Any:
        entity = resolve_compute(self._client, name)
        if entity is None:
            raise ConfigError(
                f"{name!r} is serverless compute: it is not a resource to get. Name a compute "
                "target created with begin_create_or_update."
            )
        return entity

    def list(self, *, compute_type: str | None = None, **kwargs: Any) -> Iterator[Any]:
        for record in self._cat.list(KIND):
            if compute_type is None or record.get("type") == compute_type.lower():
                yield _entity(record)

    def begin_create_or_update(self, compute: Any, **kwargs: Any) -> LocalPoller[Any]:
        from azure.ai.ml.entities import AmlCompute, ComputeInstance

        if not isinstance(compute, AmlCompute | ComputeInstance):
            raise ConfigError(
                f"compute type {type(compute).__name__} cannot be created locally; create an "
                "AmlCompute or a ComputeInstance (both run on this machine)."
            )
        if not compute.name:
            raise ConfigError("a compute target needs a name.")
        name: str = compute.name
        body = dict(compute._to_dict())
        nodes = body.get("max_instances") if isinstance(compute, AmlCompute) else None
        if nodes is not None and int(nodes) < 1:
            raise ConfigError(f"compute {compute.name}: max_instances must be at least 1.")

        def create() -> Any:
            self._cat.put(KIND, name, body)
            return self.get(name)

        return LocalPoller(create)

    def begin_delete(
        self, name: str, *, action: str = "Delete", **kwargs: Any
    ) -> LocalPoller[None]:
        self.get(name)  # Azure's not-found error at once, as its first request gets a 404

        def delete() -> None:
            self._cat.delete(KIND, _bare_name(name))

        return LocalPoller(delete)

    def _set_state(self, name: str, state: str) -> LocalPoller[None]:
        entity = self.get(name)

        def change() -> None:
            self._cat.update(KIND, entity.name, {"_state": state})

        return LocalPoller(change)

    def begin_start(self, name: str) -> LocalPoller[None]:
        return self._set_state(name, "Running")

    def begin_stop(self, name: str) -> LocalPoller[None]:
        return self._set_state(name, "Stopped")

    def begin_restart(self, name: str) -> LocalPoller[None]:
        return self._set_state(name, "Running")

    def list_sizes(
        self, *, location: str | None = None, compute_type: str | None = None
    ) -> builtins.list[Any]:
        """This machine, as the one size there is: its cores and memory."""
        from azure.ai.ml.entities import VmSize

        try:
            import psutil

            memory_gb = round(psutil.virtual_memory().total / 2**30, 1)
        except ImportError:  # pragma: no cover - psutil is a dependency
            memory_gb = None
        return [
            VmSize(  # type: ignore[abstract]  # as azure-ai-ml builds it from a REST answer
                name="local",
                family="this machine",
                v_cp_us=os.cpu_count() or 1,
                gpus=0,
                memory_gb=memory_gb,
                supported_compute_types=["AmlCompute", "ComputeInstance"],
            )
        ]
