"""``automl-local compute create|show|list|delete``, as ``az ml compute``."""

from __future__ import annotations

import click

from automl_local.cli._common import (
    backend_options,
    echo_entity,
    echo_json,
    echo_table,
    get_ml_client,
    load_yaml_entity,
    output_option,
)

__all__ = ["compute"]

_FIELDS = ("name", "type", "size", "min_instances", "max_instances", "provisioning_state")


@click.group("compute")
def compute() -> None:
    """Compute targets: records that jobs name (``compute: azureml:cpu-cluster``)."""


@compute.command("create")
@click.option("--name", "-n", help="Compute name (overrides the YAML's).")
@click.option("--type", "-t", "type_", type=click.Choice(["amlcompute", "computeinstance"],
              case_sensitive=False), default="amlcompute", show_default=True)  # fmt: skip
@click.option("--size", default=None, help="VM size (recorded; trials use this machine).")
@click.option("--min-instances", type=int, default=0, show_default=True)
@click.option("--max-instances", type=int, default=None,
              help="AmlCompute: bounds a job's concurrent trials.")  # fmt: skip
@click.option("--file", "-f", "file", type=click.Path(dir_okay=False), default=None)
@backend_options
@output_option
def create(name: str | None, type_: str, size: str | None, min_instances: int,
           max_instances: int | None, file: str | None, output: str) -> None:  # fmt: skip
    """Create or update a compute target."""
    from azure.ai.ml import load_compute
    from azure.ai.ml.entities import AmlCompute, ComputeInstance

    if file:
        entity = load_yaml_entity(load_compute, file, {"name": name} if name else None)
    elif not name:
        raise click.UsageError("compute create needs --name (or --file compute.yml).")
    elif type_.lower() == "computeinstance":
        entity = ComputeInstance(name=name, size=size or "local")
    else:
        entity = AmlCompute(name=name, size=size, min_instances=min_instances,
                            max_instances=max_instances or 1)  # fmt: skip
    created = get_ml_client().compute.begin_create_or_update(entity).result()
    echo_entity(created, output, _FIELDS)


@compute.command("show")
@click.option("--name", "-n", required=True)
@backend_options
@output_option
def show(name: str, output: str) -> None:
    """One compute target."""
    echo_entity(get_ml_client().compute.get(name), output, _FIELDS)


@compute.command("list")
@backend_options
@output_option
def list_cmd(output: str) -> None:
    """The workspace's compute targets."""
    rows = list(get_ml_client().compute.list())
    if output == "json":
        echo_json(rows)
    else:
        echo_table(rows, _FIELDS[:5])


@compute.command("delete")
@click.option("--name", "-n", required=True)
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@backend_options
def delete(name: str, yes: bool) -> None:
    """Delete a compute target."""
    if not yes:
        click.confirm(f"Delete compute {name!r}?", abort=True)
    get_ml_client().compute.begin_delete(name).result()
    click.echo(f"Deleted compute {name}.")
