"""Environments that are really built: conda files and pip requirements -> cached venvs.

Azure builds a Docker image per environment; here an environment becomes a
virtual environment under ``<workspace>/environments/<content hash>``,
installed from the package index, built once and reused after (the log says
``reusing ... nothing to install``). Curated Azure names (``AzureML-...``)
run in automl-local's own environment. What callers use::

    from automl_local.environments import resolve_environment
    env = resolve_environment(node.environment, workspace, log=job_log, base_dir=yaml_dir)
    subprocess.run([env.python, "train.py"], env=env.environ())

Registered environments (``ml_client.environments``) are stored with
:func:`save_environment` and read back by name, version or ``@latest``.
"""

from __future__ import annotations

from automl_local.environments._build import (
    ENV_INSTALLER,
    PythonEnv,
    build_environment,
)
from automl_local.environments._resolve import (
    ENV_CACHE,
    environment_spec,
    environments_dir,
    resolve_environment,
)
from automl_local.environments._spec import (
    EnvironmentSpec,
    is_curated_name,
    parse_conda_text,
)
from automl_local.environments._store import (
    archive_environment,
    get_environment_record,
    list_environment_records,
    next_version,
    save_environment,
)

__all__ = [
    "ENV_CACHE",
    "ENV_INSTALLER",
    "EnvironmentSpec",
    "PythonEnv",
    "archive_environment",
    "build_environment",
    "environment_spec",
    "environments_dir",
    "get_environment_record",
    "is_curated_name",
    "list_environment_records",
    "next_version",
    "parse_conda_text",
    "resolve_environment",
    "save_environment",
]
