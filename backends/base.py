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
    work is done (or failed) by the time the poller exists, so ``result`` and
    ``wait`` return at once, or re-raise the operation's error, as
    ``LROPoller`` does. Only errors are kept for later: a Ctrl-C
    (KeyboardInterrupt) or SystemExit during the work propagates at once.
    """

    def __init__(self, fn: Callable[[], T]) -> None:
        self._error: Exception | None = None
        self._value: T | None = None
        try:
            self._value = fn()
        except Exception as exc:  # re-raised from result()/wait(), as LROPoller does
            self._error = exc

    def result(self, timeout: float | None = None) -> T:
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]

    def wait(self, timeout: float | None = None) -> None:
        if self._error is not None:
            raise self._error

    def done(self) -> bool:
        return True

    def status(self) -> str:
        return "Failed" if self._error is not None else "Succeeded"

    def add_done_callback(self, func: Callable[[Any], None]) -> None:
        """The operation is done already: ``func`` runs now, as LROPoller runs it when done."""
        func(self)

    def remove_done_callback(self, func: Callable[[Any], None]) -> None:
        return None

    def polling_method(self) -> None:
        return None


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


# ---------------------------------------------------------------------------------------------
# Published pipelines and the control plane (both backends; the CLI's `pipeline publish/show`
# and `server` commands use only these). Kept in one block at the end of the module.

from typing import Protocol, runtime_checkable  # noqa: E402

__all__ += ["ControlPlaneOperations", "PublishedPipelineOperations"]


@runtime_checkable
class PublishedPipelineOperations(Protocol):
    """``ml.published_pipelines``: a pipeline job behind a REST trigger, in one call.

    Publishing makes batch endpoint ``name`` with a ``PipelineComponentBatchDeployment``
    ``default`` built from pipeline job ``job_name`` (Azure's v2 form of a published
    pipeline). Both methods return the description: ``name``, ``description``,
    ``default_deployment``, ``deployments``, ``endpoint_url`` (locally also ``pipeline_url``,
    ``parameters``, ``source``, ``server``).
    """

    def publish(
        self, job_name: str, name: str, *, description: str | None = None
    ) -> dict[str, Any]: ...

    def describe(self, name: str) -> dict[str, Any]: ...


@runtime_checkable
class ControlPlaneOperations(Protocol):
    """``ml.control_plane``: the local workspace's server (published pipelines, schedules).

    On Azure the service is the control plane: every method raises ``ConfigError`` saying
    what to use there instead.
    """

    def start(self, *, port: int | None = None, missed_runs: str = "run_once") -> dict[str, Any]:
        """Start the server (or return the running one): pid, port, url, already_running."""
        ...

    def stop(self) -> bool:
        """Stop the server; True if one was running."""
        ...

    def status(self) -> dict[str, Any]:
        """running, url, pid, started_at, missed_runs, counts of what it serves, log path."""
        ...

    def logs(self, lines: int = 50) -> str | None:
        """The last lines of the server log; None if it never ran."""
        ...

    def url(self) -> str | None:
        """The running server's base URL, or None."""
        ...

    def get_keys(self) -> dict[str, str]:
        """``{"primary": ..., "secondary": ...}``."""
        ...

    def regenerate_key(self, key_type: str = "primary") -> dict[str, str]:
        """Replace one key; the old one stops working at once."""
        ...
