"""Azure's naming and traffic rules, shared by the endpoint and deployment operations.

Azure's own rules are applied here, with Azure's wording, because the local
backend must refuse what Azure would refuse: a spec that deploys locally has
to deploy on Azure too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from automl_local.exceptions import ConfigError

__all__ = ["NAME_PATTERN", "validate_name", "validate_traffic"]

# azure.ai.ml.constants._endpoint.EndpointConfigurations (same rule for deployments).
NAME_PATTERN = r"^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$"
_NAME_RE = re.compile(NAME_PATTERN)
NAME_RULE = (
    "Azure requires 3 to 32 characters: a letter first, then letters, digits or '-', "
    f"ending with a letter or digit (regex {NAME_PATTERN})"
)


def validate_name(name: Any, what: str) -> str:
    """Return ``name`` if Azure accepts it for an endpoint/deployment, else ConfigError."""
    if not isinstance(name, str) or not name:
        raise ConfigError(f"the {what} needs a name. {NAME_RULE}; for example 'bank-endpoint'.")
    if not 3 <= len(name) <= 32 or not _NAME_RE.match(name):
        suggestion = re.sub(r"[^-a-zA-Z0-9]", "-", name).strip("-")[:32] or "my-endpoint"
        if not suggestion[0].isalpha():
            suggestion = f"e-{suggestion}"[:32]
        raise ConfigError(
            f"{what} name {name!r} is not valid: {NAME_RULE}. Try {suggestion!r}."
        )
    return name


def validate_traffic(
    traffic: Mapping[str, Any] | None,
    deployments: set[str],
    endpoint_name: str,
    what: str = "traffic",
) -> dict[str, int]:
    """Azure's traffic rules: known deployments, integer percents, a sum of 0 or 100.

    ``mirror_traffic`` (``what="mirror_traffic"``) takes one deployment at 50 % at most.
    """
    clean: dict[str, int] = {}
    for name, value in (traffic or {}).items():
        try:
            percent = int(value)
        except (TypeError, ValueError):
            raise ConfigError(
                f"{what} of deployment {name!r} must be an integer percent, got {value!r}."
            ) from None
        if not 0 <= percent <= 100:
            raise ConfigError(f"{what} of deployment {name!r} must be 0..100, got {percent}.")
        if name not in deployments:
            known = ", ".join(sorted(deployments)) or "none yet"
            raise ConfigError(
                f"{what} names deployment {name!r}, which does not exist in endpoint "
                f"{endpoint_name!r} (deployments: {known}). Create it first with "
                f"`automl-local online-deployment create --file deployment.yml`, then set traffic."
            )
        if percent:
            clean[name] = percent
    total = sum(clean.values())
    if what == "mirror_traffic":
        if len(clean) > 1 or total > 50:
            raise ConfigError(
                f"mirror_traffic of endpoint {endpoint_name!r} takes one deployment at 50 % at "
                f"most, got {dict(traffic or {})}."
            )
        return clean
    if total not in (0, 100):
        raise ConfigError(
            f"traffic of endpoint {endpoint_name!r} must add up to 0 or 100 %, got {total} % "
            f"({dict(traffic or {})}). Example: --traffic \"blue=90 green=10\"."
        )
    return clean
