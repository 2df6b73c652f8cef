"""The operation-group protocol every backend implements.

It mirrors ``azure.ai.ml.MLClient``: the same group names (``jobs``, ``data``,
``models``, ``online_endpoints``, ``online_deployments``, ``schedules``), the
same method names, the same azure-ai-ml entity types in and out. User code
written against one backend runs against the other by changing only the
``get_client(...)`` line. The Azure backend gets most of this for free from
MLClient; the local backend implements it over the workspace.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from automl_local.backends.operations import (
    BatchDeploymentOperations,
    BatchEndpointOperations,
    DataOperations,
    JobOperations,
    ModelOperations,
    OnlineDeploymentOperations,
    OnlineEndpointOperations,
    ScheduleOperations,
)

__all__ = ["BaseClient", "LocalPoller"]

T = TypeVar("T")


class LocalPoller(Generic[T]):
    """The ``LROPoller`` face of an operation that already finished locally.

    Azure's ``begin_*`` methods return pollers; callers write
    ``ml.online_endpoints.begin_create_or_update(e).result()``. Locally the
    work is done (or failed) by the time the poller exists, so ``result``
    returns at once, or re-raises the operation's error.
    """

    def __init__(self, fn: Callable[[], T]) -> None:
        self._error: BaseException | None = None
        self._value: T | None = None
        try:
            self._value = fn()
        except BaseException as exc:  # re-raised from result(), as LROPoller does
            self._error = exc

    def result(self, timeout: float | None = None) -> T:
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]

    def wait(self, timeout: float | None = None) -> None:
        return None

    def done(self) -> bool:
        return True

    def status(self) -> str:
        return "Failed" if self._error is not None else "Succeeded"


class BaseClient(abc.ABC):
    """A workspace client: the operation groups of ``MLClient``.

    Subclasses set the groups as attributes in ``__init__``. ``backend`` says
    which one this is (``"local"`` or ``"azure"``).
    """

    backend: str

    # The groups every backend serves (see automl_local.backends.operations). Subclasses
    # implement them as cached properties, so a group's imports happen on first use.
    @property
    @abc.abstractmethod
    def jobs(self) -> JobOperations: ...

    @property
    @abc.abstractmethod
    def data(self) -> DataOperations: ...

    @property
    @abc.abstractmethod
    def models(self) -> ModelOperations: ...

    @property
    @abc.abstractmethod
    def online_endpoints(self) -> OnlineEndpointOperations: ...

    @property
    @abc.abstractmethod
    def online_deployments(self) -> OnlineDeploymentOperations: ...

    @property
    @abc.abstractmethod
    def batch_endpoints(self) -> BatchEndpointOperations: ...

    @property
    @abc.abstractmethod
    def batch_deployments(self) -> BatchDeploymentOperations: ...

    @property
    @abc.abstractmethod
    def schedules(self) -> ScheduleOperations: ...

    def begin_create_or_update(self, entity: Any, **kwargs: Any) -> Any:
        """``MLClient.begin_create_or_update``: dispatch an entity to its group."""
        from azure.ai.ml.entities import (
            BatchDeployment,
            BatchEndpoint,
            Data,
            Job,
            JobSchedule,
            Model,
            OnlineDeployment,
            OnlineEndpoint,
        )

        if isinstance(entity, JobSchedule):
            return self.schedules.begin_create_or_update(entity, **kwargs)
        if isinstance(entity, BatchEndpoint):
            return self.batch_endpoints.begin_create_or_update(entity, **kwargs)
        if isinstance(entity, BatchDeployment):
            return self.batch_deployments.begin_create_or_update(entity, **kwargs)
        if isinstance(entity, OnlineEndpoint):
            return self.online_endpoints.begin_create_or_update(entity, **kwargs)
        if isinstance(entity, OnlineDeployment):
            return self.online_deployments.begin_create_or_update(entity, **kwargs)
        if isinstance(entity, Job):
            return LocalPoller(lambda: self.jobs.create_or_update(entity, **kwargs))
        if isinstance(entity, Model):
            return LocalPoller(lambda: self.models.create_or_update(entity, **kwargs))
        if isinstance(entity, Data):
            return LocalPoller(lambda: self.data.create_or_update(entity, **kwargs))
        from automl_local.exceptions import ConfigError

        raise ConfigError(
            f"begin_create_or_update got a {type(entity).__name__}; expected a job, model, "
            "data asset, online endpoint/deployment, batch endpoint/deployment or schedule entity."
        )
