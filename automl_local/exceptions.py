"""One exception tree for every user-facing failure.

Each message names the thing, what was given, and how to fix it. The CLI turns
any :class:`AutoMLError` into one line on stderr and exit code 2 (a user
mistake); anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

__all__ = [
    "AlreadyExistsError",
    "AutoMLError",
    "BackendConfigError",
    "BudgetError",
    "ConfigError",
    "DataError",
    "EnvironmentBuildError",
    "JobFailedError",
    "NotFoundError",
    "ServiceError",
]


class AutoMLError(Exception):
    """Root of every error automl-local raises on purpose."""

    exit_code: int = 2


class ConfigError(AutoMLError, ValueError):
    """A spec (YAML, entity, CLI flag) is invalid: unknown field, wrong value, bad name."""


class DataError(AutoMLError, ValueError):
    """The data cannot be used: missing file or column, single-class target, bad types."""


class BudgetError(ConfigError):
    """The limits leave no room to finish even one trial."""


class NotFoundError(AutoMLError, LookupError):
    """A named job, model, data asset, endpoint, deployment or schedule does not exist."""


class AlreadyExistsError(AutoMLError):
    """Creating something whose name is taken, where Azure would refuse too."""


class EnvironmentBuildError(AutoMLError):
    """An environment (conda file, pip requirements) could not be built; says the installer."""


class JobFailedError(AutoMLError):
    """A job ended in Failed or Canceled when the caller waited for it to complete."""


class ServiceError(AutoMLError):
    """A local server (endpoint, control plane) did not start, or did not answer."""


class BackendConfigError(AutoMLError):
    """The chosen backend cannot be used as configured (e.g. Azure credentials missing)."""
