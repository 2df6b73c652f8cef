"""Which Azure ML workspace to talk to, and as whom.

``MLClient`` needs a subscription, a resource group and a workspace name.
They come, per field, from the first place that has them: the arguments,
the environment (``AZURE_SUBSCRIPTION_ID``, ``AZURE_RESOURCE_GROUP``,
``AZUREML_WORKSPACE_NAME``), or a ``config.json`` found the way
``MLClient.from_config`` finds it (this folder or a parent, also inside
``.azureml/`` or ``aml_config/``). Whatever is still missing is named in one
:class:`BackendConfigError` that also says how to provide it, so a user who
flips ``--backend azure`` gets a fix, not a traceback. Nothing here touches
the network.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from automl_local.backends.workspace_config import CONFIG_FILE, find_config, read_config

from automl_local.exceptions import BackendConfigError

__all__ = [
    "CONFIG_FILE",
    "ENV_COMPUTE",
    "ENV_RESOURCE_GROUP",
    "ENV_SUBSCRIPTION",
    "ENV_WORKSPACE",
    "SIGN_IN_HINT",
    "WorkspaceRef",
    "default_credential",
    "find_config",
    "resolve_workspace",
]

ENV_SUBSCRIPTION = "AZURE_SUBSCRIPTION_ID"
ENV_RESOURCE_GROUP = "AZURE_RESOURCE_GROUP"
ENV_WORKSPACE = "AZUREML_WORKSPACE_NAME"
ENV_COMPUTE = "AZUREML_COMPUTE"

SIGN_IN_HINT = (
    "Sign in with `az login` (Azure CLI), or set AZURE_CLIENT_ID, AZURE_TENANT_ID and "
    "AZURE_CLIENT_SECRET for a service principal (DefaultAzureCredential also uses a managed "
    "identity when running in Azure)."
)

# field -> (argument name, environment variable, config.json key)
_FIELDS = {
    "subscription_id": ("subscription_id", ENV_SUBSCRIPTION, "subscription_id"),
    "resource_group_name": ("resource_group_name", ENV_RESOURCE_GROUP, "resource_group"),
    "workspace_name": ("workspace_name", ENV_WORKSPACE, "workspace_name"),
}


@dataclass(frozen=True)
class WorkspaceRef:
    """The three coordinates of a workspace, and where each one was found."""

    subscription_id: str
    resource_group_name: str
    workspace_name: str
    sources: tuple[str, str, str]

    def describe(self) -> str:
        return (f"workspace {self.workspace_name!r} in resource group "
                f"{self.resource_group_name!r} of subscription {self.subscription_id!r}")


def resolve_workspace(
    subscription_id: str | None = None,
    resource_group_name: str | None = None,
    workspace_name: str | None = None,
    *,
    config_path: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> WorkspaceRef:
    """Arguments, then environment variables, then ``config.json``, field by field."""
    env = os.environ if environ is None else environ
    given = {"subscription_id": subscription_id, "resource_group_name": resource_group_name,
             "workspace_name": workspace_name}
    values: dict[str, str] = {}
    sources: dict[str, str] = {}
    for field, (arg, var, _) in _FIELDS.items():
        if given[field]:
            values[field], sources[field] = str(given[field]), f"argument {arg}="
        elif env.get(var):
            values[field], sources[field] = env[var], f"${var}"
    config_file: Path | None = None
    if len(values) < len(_FIELDS):
        config_file = find_config(config_path)
        if config_path is not None and config_file is None:
            raise BackendConfigError(
                f"config file {str(config_path)!r} was not found. Give the path of the "
                "workspace's config.json (or the folder holding it)."
            )
        if config_file is not None:
            data = read_config(config_file)
            for field, (_, _, key) in _FIELDS.items():
                if field not in values and data.get(key):
                    values[field], sources[field] = data[key], str(config_file)
    missing = [field for field in _FIELDS if field not in values]
    if missing:
        raise BackendConfigError(_missing_message(missing, config_file))
    return WorkspaceRef(
        values["subscription_id"], values["resource_group_name"], values["workspace_name"],
        (sources["subscription_id"], sources["resource_group_name"], sources["workspace_name"]),
    )


def _missing_message(missing: list[str], config_file: Path | None) -> str:
    names = ", ".join(f"{_FIELDS[f][1]} ({f}=)" for f in missing)
    where = (f"{config_file} does not have them either" if config_file is not None else
             f"no {CONFIG_FILE} was found in {Path.cwd()} or its parents")
    return (
        f"--backend azure needs to know which Azure ML workspace to use; missing: {names}; "
        f"{where}. Set the environment variables {ENV_SUBSCRIPTION}, {ENV_RESOURCE_GROUP} and "
        f"{ENV_WORKSPACE}, or pass subscription_id=, resource_group_name= and workspace_name= "
        "to get_client('azure', ...), or put the workspace's config.json (Azure portal > "
        "workspace > Overview > Download config.json) in this folder. " + SIGN_IN_HINT
    )


def default_credential() -> Any:
    """``DefaultAzureCredential``; building it asks nothing of the network."""
    try:
        from azure.identity import DefaultAzureCredential
    except ImportError:  # pragma: no cover - a declared dependency
        raise BackendConfigError(
            "--backend azure needs the azure-identity package: pip install azure-identity."
        ) from None
    return DefaultAzureCredential()
