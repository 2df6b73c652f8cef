"""``automl-local``: the ``az ml`` command set, run against a backend.

Each command group lives in its own module and is registered in
``_COMMAND_MODULES``; the root group only carries the shared options.
"""

from __future__ import annotations

import importlib
import logging
import sys

import click

from automl_local.cli._common import run_cli

__all__ = ["cli", "main"]

# (module, attribute) of each command group, in the order `--help` shows them.
_COMMAND_MODULES: list[tuple[str, str]] = [
    ("automl_local.cli._job", "job"),
    ("automl_local.cli._data", "data"),
    ("automl_local.cli._compute", "compute"),
    ("automl_local.cli._model", "model"),
    ("automl_local.cli._endpoint", "online_endpoint"),
    ("automl_local.cli._deployment", "online_deployment"),
    ("automl_local.cli._pipeline", "pipeline"),
    ("automl_local.cli._schedule", "schedule"),
    ("automl_local.cli._server", "server"),
]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="automl-local")
def cli() -> None:
    """Azure ML AutoML, models, endpoints and pipelines, run locally (or on Azure)."""


for _module, _attr in _COMMAND_MODULES:
    try:
        cli.add_command(getattr(importlib.import_module(_module), _attr))
    except ModuleNotFoundError as _exc:  # a group still being written is simply absent
        if _exc.name != _module:
            raise


def main(argv: list[str] | None = None) -> None:
    # azure-ai-ml logs an "experimental class" notice for every preview entity it loads.
    logging.getLogger("azure.ai.ml._utils._experimental").setLevel(logging.ERROR)
    sys.exit(run_cli(cli, argv))
