"""Azure's not-found error for the local backend.

User code written for Azure catches ``azure.core.exceptions.ResourceNotFoundError``
(``except ResourceNotFoundError: ml_client.begin_create_or_update(AmlCompute(...))``);
the CLI catches automl-local's ``NotFoundError``. The local groups raise one
exception that is both, with a message naming the thing and what exists.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from azure.core.exceptions import ResourceNotFoundError

from automl_local.exceptions import NotFoundError

__all__ = ["LocalResourceNotFoundError", "as_resource_not_found", "not_found"]


class LocalResourceNotFoundError(NotFoundError, ResourceNotFoundError):
    """A compute, environment, component, datastore or workspace that does not exist locally."""

    def __init__(self, message: str) -> None:
        NotFoundError.__init__(self, message)
        ResourceNotFoundError.__init__(self, message=message)

    def __str__(self) -> str:
        return str(self.message)


def not_found(
    kind: str, name: str, existing: list[str], hint: str = ""
) -> LocalResourceNotFoundError:
    """``<kind> 'x' was not found in the workspace (<kind>s: a, b). <hint>``."""
    have = ", ".join(sorted(existing)) if existing else "none"
    text = f"{kind} {name!r} was not found in the workspace ({kind}s here: {have})."
    return LocalResourceNotFoundError(f"{text} {hint}".strip())


@contextmanager
def as_resource_not_found() -> Iterator[None]:
    """Re-raise the engine's NotFoundError as Azure's error, keeping its message."""
    try:
        yield
    except LocalResourceNotFoundError:
        raise
    except NotFoundError as exc:
        raise LocalResourceNotFoundError(str(exc)) from exc
