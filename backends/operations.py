"""The operation groups every backend implements, as Protocols.

They name the methods of ``azure.ai.ml.MLClient``'s groups that both backends serve, with
Azure's parameter names, so code written against one runs against the other. The local
groups are checked against them by mypy (``LocalClient``'s properties return the concrete
classes where :class:`~automl_local.backends.base.BaseClient` declares these types); the
Azure groups pass most calls through to ``MLClient`` at run time, so the contract suite
(``tests/contract/test_contract_groups.py``) checks both clients' groups against the same
lists. Methods only one backend has (``jobs.resume`` is local-only; Azure's wider surface)
are not part of the contract.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any, Protocol, TypeVar, runtime_checkable

__all__ = [
    "BatchDeploymentOperations",
    "BatchEndpointOperations",
    "DataOperations",
    "JobOperations",
    "ModelOperations",
    "OnlineDeploymentOperations",
    "OnlineEndpointOperations",
    "Poller",
    "ScheduleOperations",
    "entity_summary",
]

T_co = TypeVar("T_co", covariant=True)


@runtime_checkable
class Poller(Protocol[T_co]):
    """What ``begin_*`` returns: ``azure.core.polling.LROPoller`` or ``LocalPoller``."""

    def result(self, timeout: float | None = None) -> T_co: ...

    def wait(self, timeout: float | None = None) -> None: ...

    def done(self) -> bool: ...

    def status(self) -> str: ...


@runtime_checkable
class JobOperations(Protocol):
    def create_or_update(self, job: Any, **kwargs: Any) -> Any: ...

    def validate(self, job: Any, *, raise_on_failure: bool = False, **kwargs: Any) -> Any: ...

    def get(self, name: str) -> Any: ...

    def list(self, **kwargs: Any) -> Iterable[Any]: ...

    def stream(self, name: str) -> None: ...

    def download(
        self,
        name: str,
        *,
        download_path: str | os.PathLike[str] = ".",
        output_name: str | None = None,
        all: bool = False,
    ) -> None: ...

    def begin_cancel(self, name: str, **kwargs: Any) -> Poller[None]: ...

    def summary(self, name: str) -> dict[str, Any]:
        """What ``job show`` prints (built on :func:`entity_summary`); not an MLClient method."""
        ...


def entity_summary(job: Any) -> dict[str, Any]:
    """The fields of a job entity that every backend reports the same way."""
    out: dict[str, Any] = {
        "name": job.name,
        "type": getattr(job, "type", ""),
        "status": job.status,
        "experiment_name": getattr(job, "experiment_name", None),
        "display_name": getattr(job, "display_name", None),
    }
    metric = getattr(job, "primary_metric", None)
    if metric is not None:
        out["primary_metric"] = str(getattr(metric, "value", metric))
    return out


@runtime_checkable
class DataOperations(Protocol):
    def create_or_update(self, data: Any) -> Any: ...

    def get(self, name: str, version: str | None = None, label: str | None = None) -> Any: ...

    def list(self, name: str | None = None) -> Iterable[Any]: ...

    def archive(self, name: str, version: str | None = None, label: str | None = None) -> None: ...

    def restore(self, name: str, version: str | None = None, label: str | None = None) -> None: ...


@runtime_checkable
class ModelOperations(Protocol):
    def create_or_update(self, model: Any) -> Any: ...

    def get(self, name: str, version: str | None = None, label: str | None = None) -> Any: ...

    def list(self, name: str | None = None) -> Iterable[Any]: ...

    def download(
        self, name: str, version: str, download_path: str | os.PathLike[str] = "."
    ) -> None: ...

    def archive(self, name: str, version: str | None = None, label: str | None = None) -> None: ...

    def restore(self, name: str, version: str | None = None, label: str | None = None) -> None: ...


@runtime_checkable
class OnlineEndpointOperations(Protocol):
    def begin_create_or_update(self, endpoint: Any, **kwargs: Any) -> Poller[Any]: ...

    def get(self, name: str, **kwargs: Any) -> Any: ...

    def list(self, **kwargs: Any) -> Iterable[Any]: ...

    def get_keys(self, name: str) -> Any: ...

    def begin_regenerate_keys(
        self, name: str, *, key_type: str = "primary", **kwargs: Any
    ) -> Poller[None]: ...

    def invoke(self, endpoint_name: str, **kwargs: Any) -> Any: ...

    def begin_delete(self, name: str, **kwargs: Any) -> Poller[None]: ...


@runtime_checkable
class OnlineDeploymentOperations(Protocol):
    def begin_create_or_update(self, deployment: Any, **kwargs: Any) -> Poller[Any]: ...

    def get(self, name: str, endpoint_name: str, **kwargs: Any) -> Any: ...

    def list(self, endpoint_name: str, **kwargs: Any) -> Iterable[Any]: ...

    def get_logs(self, name: str, endpoint_name: str, lines: int, **kwargs: Any) -> str: ...

    def begin_delete(self, name: str, endpoint_name: str, **kwargs: Any) -> Poller[None]: ...


@runtime_checkable
class BatchEndpointOperations(Protocol):
    def begin_create_or_update(self, endpoint: Any, **kwargs: Any) -> Poller[Any]: ...

    def get(self, name: str, **kwargs: Any) -> Any: ...

    def list(self, **kwargs: Any) -> Iterable[Any]: ...

    def invoke(self, endpoint_name: str, **kwargs: Any) -> Any: ...

    def list_jobs(self, endpoint_name: str) -> Iterable[Any]: ...

    def begin_delete(self, name: str, **kwargs: Any) -> Poller[None]: ...


@runtime_checkable
class BatchDeploymentOperations(Protocol):
    def begin_create_or_update(self, deployment: Any, **kwargs: Any) -> Poller[Any]: ...

    def get(self, name: str, endpoint_name: str, **kwargs: Any) -> Any: ...

    def list(self, endpoint_name: str, **kwargs: Any) -> Iterable[Any]: ...

    def list_jobs(self, endpoint_name: str) -> Iterable[Any]: ...

    def begin_delete(self, name: str, endpoint_name: str, **kwargs: Any) -> Poller[None]: ...


@runtime_checkable
class ScheduleOperations(Protocol):
    def begin_create_or_update(self, schedule: Any, **kwargs: Any) -> Poller[Any]: ...

    def get(self, name: str, **kwargs: Any) -> Any: ...

    def list(self, **kwargs: Any) -> Iterable[Any]: ...

    def begin_enable(self, name: str, **kwargs: Any) -> Poller[Any]: ...

    def begin_disable(self, name: str, **kwargs: Any) -> Poller[Any]: ...

    def begin_delete(self, name: str, **kwargs: Any) -> Poller[None]: ...
