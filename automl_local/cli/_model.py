"""``automl-local model``: the ``az ml model`` commands (register, list, show, download)."""

from __future__ import annotations

import os

import click

from automl_local.cli._common import (
    backend_options,
    echo_entity,
    echo_json,
    echo_table,
    fail,
    get_ml_client,
    load_yaml_entity,
    output_option,
    parse_set_options,
)

__all__ = ["model"]

_MODEL_FIELDS = ("name", "version", "type", "path", "job_name", "description", "tags")


@click.group("model")
def model() -> None:
    """Registered models: the MLflow models that deployments serve."""


@model.command("create")
@click.option("--name", "-n", help="Model name.")
@click.option("--version", "-v", help="Version (default: the next integer).")
@click.option("--path", "-p",
              help="Local folder or file, azureml://jobs/<job>/outputs/best_model, runs:/...")
@click.option("--type", "type_",
              type=click.Choice(["mlflow_model", "custom_model", "triton_model"]),
              help="Default: mlflow_model if the folder holds an MLmodel file, else custom_model.")
@click.option("--description", "-d")
@click.option("--file", "-f", "file", type=click.Path(exists=True, dir_okay=False),
              help="Model YAML (az ml model schema).")
@click.option("--set", "set_", multiple=True, metavar="KEY=VALUE")
@backend_options
@output_option
def create(name: str | None, version: str | None, path: str | None, type_: str | None,
           description: str | None, file: str | None, set_: tuple[str, ...],
           output: str) -> None:
    """Register a model version."""
    from azure.ai.ml.entities import Model

    if file:
        from azure.ai.ml import load_model

        overrides = parse_set_options(set_)
        for key, value in (("name", name), ("version", version), ("path", path),
                           ("type", type_), ("description", description)):
            if value:
                overrides[key] = value
        entity = load_yaml_entity(load_model, file, overrides)
    else:
        if not name or not path:
            fail("model create needs --name and --path (or --file model.yml).")
        if type_ is None:
            is_mlflow = os.path.isfile(os.path.join(os.path.expanduser(path), "MLmodel"))
            type_ = "mlflow_model" if is_mlflow or "://" in path else "custom_model"
        entity = Model(name=name, version=version, path=path, type=type_,
                       description=description)
    registered = get_ml_client().models.create_or_update(entity)
    echo_entity(registered, output, _MODEL_FIELDS)


@model.command("list")
@click.option("--name", "-n", help="Every version of this model (default: latest of each).")
@backend_options
@output_option
def list_(name: str | None, output: str) -> None:
    """List registered models."""
    models = list(get_ml_client().models.list(name=name))
    if output == "json":
        echo_json(models)
    else:
        echo_table(models, ("name", "version", "type", "job_name", "path"))


@model.command("show")
@click.option("--name", "-n", required=True)
@click.option("--version", "-v")
@click.option("--label", "-l", help="'latest' (default when no version is given).")
@backend_options
@output_option
def show(name: str, version: str | None, label: str | None, output: str) -> None:
    """Show one model version."""
    entity = get_ml_client().models.get(name, version=version,
                                        label=label or (None if version else "latest"))
    echo_entity(entity, output, _MODEL_FIELDS)


@model.command("download")
@click.option("--name", "-n", required=True)
@click.option("--version", "-v", required=True)
@click.option("--download-path", "-p", default=".", show_default=True,
              type=click.Path(file_okay=False))
@backend_options
def download(name: str, version: str, download_path: str) -> None:
    """Copy the model's files to DOWNLOAD_PATH/<name>/."""
    get_ml_client().models.download(name=name, version=version, download_path=download_path)
    click.echo(f"Downloaded model {name}:{version} to {os.path.join(download_path, name)}")


@model.command("archive")
@click.option("--name", "-n", required=True)
@click.option("--version", "-v", help="One version (default: every version).")
@backend_options
def archive(name: str, version: str | None) -> None:
    """Hide a model (version) from list; it stays deployable by version."""
    get_ml_client().models.archive(name=name, version=version)
    click.echo(f"Archived model {name}{':' + version if version else ''}.")
