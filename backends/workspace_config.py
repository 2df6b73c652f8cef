"""The workspace ``config.json``, found and read the way ``MLClient.from_config`` does.

Both backends read it: the Azure client takes the subscription, resource group and
workspace name from it; the local client takes the workspace name (which selects a local
workspace folder), so a notebook that starts with ``MLClient.from_config(credential)``
runs unchanged against either.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from automl_local.exceptions import BackendConfigError

__all__ = ["CONFIG_FILE", "find_config", "read_config"]

CONFIG_FILE = "config.json"
_CONFIG_DIRS = (".azureml", "aml_config", "")
_SEARCH_LEVELS = 20


def find_config(start: str | os.PathLike[str] | None = None) -> Path | None:
    """``config.json`` as ``MLClient.from_config`` finds it, or ``None``.

    ``start`` may be the file itself or the folder to search from (default:
    the current folder); the search goes up at most 20 parent folders.
    """
    path = Path(start) if start is not None else Path.cwd()
    if path.is_file():
        return path
    for sub in _CONFIG_DIRS:
        folder = path.resolve()
        for _ in range(_SEARCH_LEVELS + 1):
            candidate = folder / sub / CONFIG_FILE if sub else folder / CONFIG_FILE
            if candidate.is_file():
                return candidate
            if folder.parent == folder:
                break
            folder = folder.parent
    return None


def read_config(path: Path) -> dict[str, str]:
    """The workspace fields of a config.json (flat keys, or an ARM ``Scope``)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise BackendConfigError(
            f"{path} is not a readable workspace config.json ({exc}). Download it again from "
            "the workspace's Overview page in the Azure portal (\"Download config.json\")."
        ) from None
    if not isinstance(data, dict):
        raise BackendConfigError(
            f"{path} must hold a JSON object with subscription_id, resource_group and "
            f"workspace_name; it holds a {type(data).__name__}."
        )
    found = {k: str(data[k]) for k in ("subscription_id", "resource_group", "workspace_name")
             if data.get(k)}
    scope = str(data.get("Scope") or data.get("scope") or "")
    parts = scope.strip("/").split("/")
    # /subscriptions/<s>/resourceGroups/<rg>/providers/<provider>/workspaces/<ws>
    if len(parts) >= 8 and parts[0].lower() == "subscriptions":
        found.setdefault("subscription_id", parts[1])
        found.setdefault("resource_group", parts[3])
        found.setdefault("workspace_name", parts[7])
    return found
