"""Azure's exceptions for user mistakes, as automl-local's typed errors.

A user who flips ``--backend azure`` should meet the same error contract as
locally: one :class:`~automl_local.exceptions.AutoMLError` with a message
that names the problem and the fix (the CLI prints it, exit code 2), not an
azure-core traceback. Only failures that are the user's to fix are
translated (sign-in, permissions, unknown names, invalid specs, a workspace
that cannot be reached); anything else is a bug or an outage and propagates
unchanged.

A missing resource becomes :class:`AzureResourceNotFoundError`, which is
both automl-local's ``NotFoundError`` and azure-core's
``ResourceNotFoundError``, so code written against either backend catches it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from automl_local.backends.azure._config import SIGN_IN_HINT
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
    ServiceRequestError,
)
from azure.core.polling import LROPoller

from automl_local.exceptions import (
    AlreadyExistsError,
    AutoMLError,
    BackendConfigError,
    ConfigError,
    JobFailedError,
    NotFoundError,
)

__all__ = ["AzureResourceNotFoundError", "GuardedPoller", "guarded", "translate"]

T = TypeVar("T")

# ARM error codes that mean the workspace coordinates themselves are wrong.
_SCOPE_CODES = {
    "SubscriptionNotFound": "subscription",
    "InvalidSubscriptionId": "subscription",
    "ResourceGroupNotFound": "resource group",
    "WorkspaceNotFound": "workspace",
}


class AzureResourceNotFoundError(NotFoundError, ResourceNotFoundError):
    """A named job, asset, endpoint... does not exist in the Azure workspace."""

    def __init__(self, message: str, original: ResourceNotFoundError) -> None:
        NotFoundError.__init__(self, message)
        self.message = message
        self.response = original.response
        self.status_code = original.status_code
        self.reason = original.reason
        self.error = getattr(original, "error", None)
        self.exc_type, self.exc_value, self.exc_traceback = None, None, None
        self.inner_exception = original

    def __str__(self) -> str:
        return self.message


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "message", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _error_code(exc: HttpResponseError) -> str:
    error = getattr(exc, "error", None)
    return str(getattr(error, "code", "") or "")


def translate(exc: BaseException, action: str) -> AutoMLError | None:
    """The automl-local error for ``exc`` raised while doing ``action``, if it is the user's."""
    if isinstance(exc, AutoMLError):
        return None
    if isinstance(exc, ClientAuthenticationError):
        return BackendConfigError(
            f"could not sign in to Azure to {action}: {_first_line(exc)}. {SIGN_IN_HINT}"
        )
    if isinstance(exc, ServiceRequestError):
        return BackendConfigError(
            f"could not reach Azure to {action}: {_first_line(exc)}. Check the network "
            "connection and any HTTPS_PROXY setting, or use --backend local offline."
        )
    if isinstance(exc, HttpResponseError):
        code = _error_code(exc)
        if code in _SCOPE_CODES:
            return BackendConfigError(
                f"Azure does not know the {_SCOPE_CODES[code]} given to {action}: "
                f"{_first_line(exc)}. Check AZURE_SUBSCRIPTION_ID, AZURE_RESOURCE_GROUP and "
                "AZUREML_WORKSPACE_NAME (or config.json)."
            )
        if exc.status_code == 401:
            return BackendConfigError(
                f"Azure refused the sign-in to {action} (401): {_first_line(exc)}. {SIGN_IN_HINT}"
            )
        if exc.status_code == 403:
            return BackendConfigError(
                f"Azure denied permission to {action} (403): {_first_line(exc)}. The signed-in "
                "identity needs a role such as 'AzureML Data Scientist' on the workspace."
            )
        if isinstance(exc, ResourceNotFoundError):
            return AzureResourceNotFoundError(f"{action}: {_first_line(exc)}", exc)
        if isinstance(exc, ResourceExistsError):
            return AlreadyExistsError(f"{action}: {_first_line(exc)}")
        if exc.status_code == 400:
            return ConfigError(f"Azure rejected the request to {action}: {_first_line(exc)}")
        return None
    from azure.ai.ml.exceptions import ErrorCategory, JobException, MlException

    if isinstance(exc, JobException) and ".stream(" in action:
        detail = " ".join(str(getattr(exc, "message", None) or exc).split())
        detail = detail.removeprefix("Exception : ").strip()
        return JobFailedError(f"{action}: the job failed: {detail[:2000]}")
    if isinstance(exc, MlException) and exc.error_category == ErrorCategory.USER_ERROR:
        return ConfigError(f"{action}: {_first_line(exc)}")
    if type(exc).__name__ == "ValidationError" and type(exc).__module__.startswith("marshmallow"):
        return ConfigError(f"{action}: {exc}")
    return None


def _call(action: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    try:
        return fn(*args, **kwargs)
    except Exception as exc:
        translated = translate(exc, action)
        if translated is None:
            raise
        raise translated from exc


class GuardedPoller:
    """An ``LROPoller`` whose ``result``/``wait`` raise translated errors."""

    def __init__(self, poller: LROPoller[Any], action: str) -> None:
        self._poller = poller
        self._action = action

    def result(self, timeout: float | None = None) -> Any:
        return _call(self._action, self._poller.result, timeout)

    def wait(self, timeout: float | None = None) -> None:
        _call(self._action, self._poller.wait, timeout)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._poller, name)


class _GuardedIterable:
    """A paged listing whose iteration raises translated errors."""

    def __init__(self, items: Any, action: str) -> None:
        self._items = items
        self._action = action

    def __iter__(self) -> Iterator[Any]:
        iterator = _call(self._action, iter, self._items)
        while True:
            try:
                yield _call(self._action, next, iterator)
            except StopIteration:
                return

    def __getattr__(self, name: str) -> Any:
        return getattr(self._items, name)


def wrap_result(value: Any, action: str) -> Any:
    """Keep translating errors that surface after the call returned (pollers, pages)."""
    from azure.core.paging import ItemPaged

    if isinstance(value, LROPoller):
        return GuardedPoller(value, action)
    if isinstance(value, ItemPaged):
        return _GuardedIterable(value, action)
    return value


def _describe(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """The name the call is about, for messages: ``'bank-ep'`` or ``Model 'bank'``."""
    if args and isinstance(args[0], GuardedGroup):
        args = args[1:]  # a method of a group class: skip ``self``
    subject = args[0] if args else kwargs.get("name", kwargs.get("endpoint_name"))
    if subject is None:
        return ""
    if isinstance(subject, str):
        return repr(subject)
    name = getattr(subject, "name", None)
    return f"{type(subject).__name__} {name!r}" if name else type(subject).__name__


def guarded(action: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Decorate an operation so user mistakes come out as automl-local errors."""

    def decorate(fn: Callable[..., T]) -> Callable[..., T]:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> T:
            what = f"{action}({_describe(args, kwargs)})"
            return wrap_result(_call(what, fn, *args, **kwargs), what)

        return wrapper

    return decorate


class GuardedGroup:
    """An MLClient operation group whose every method translates errors.

    Subclasses override the methods whose behaviour differs from Azure's
    own; everything else is passed through to ``self._ops``.
    """

    _group = ""

    def __init__(self, ops: Any) -> None:
        self._ops = ops

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._ops, name)
        if name.startswith("_") or not callable(attr):
            return attr
        return guarded(f"{self._group}.{name}")(attr)

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(dir(self._ops)))
