"""Backends: one factory, the same MLClient-shaped client for local and Azure.

    from automl_local.backends import get_client
    ml = get_client("local", workspace=".automl")   # or get_client("azure", ...)
"""

from __future__ import annotations

# One import path per module (see setup.py): run from the repository root, ``import backends``
# would otherwise load a second copy of every module beside ``automl_local.backends``.
if __name__ != "automl_local.backends":
    raise ImportError(
        f"import this package as automl_local.backends, not {__name__!r}: the repository's "
        f"backends/ folder is installed under the automl_local name (pip install -e .)"
    )

import os
from typing import Any

from automl_local.backends.base import BaseClient, LocalPoller

from automl_local.exceptions import ConfigError

__all__ = ["BACKENDS", "BaseClient", "LocalPoller", "get_client"]

BACKENDS = ("local", "azure")
ENV_BACKEND = "AUTOML_BACKEND"


def get_client(backend: str | None = None, **kwargs: Any) -> BaseClient:
    """Return a client for ``backend`` (default ``$AUTOML_BACKEND``, else ``local``).

    ``local`` takes ``workspace=PATH``; ``azure`` takes ``subscription_id``,
    ``resource_group_name``, ``workspace_name`` and ``credential`` (or reads
    them from the environment / ``config.json`` as ``MLClient.from_config``).
    """
    name = (backend or os.environ.get(ENV_BACKEND) or "local").strip().lower()
    if name == "local":
        from automl_local.backends.local import LocalClient

        return LocalClient(**kwargs)
    if name == "azure":
        from automl_local.backends.azure import AzureClient

        return AzureClient(**kwargs)
    raise ConfigError(
        f"backend {name!r} is not known. Use one of: {', '.join(BACKENDS)} "
        f"(flag --backend or environment variable {ENV_BACKEND})."
    )
