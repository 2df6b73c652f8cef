"""``automl-local data``: register and inspect data assets, as ``az ml data`` does.

    automl-local data create --file data.yml
    automl-local data create --name bank --path data/bankmarketing --type mltable
    automl-local data list
    automl-local data show --name bank --version 1 -o json

YAML files are parsed with azure-ai-ml's own ``load_data`` (imported when a
command runs, so the CLI starts fast and the engine stays free of it).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click

from automl_local.cli._common import backend_options, echo_json, get_ml_client, output_option
from automl_local.exceptions import ConfigError

__all__ = ["data"]

_TYPES = ["uri_file", "uri_folder", "mltable"]


@click.group("data")
def data() -> None:
    """Register and inspect data assets (az ml data)."""


def _load_yaml(file: str, overrides: dict[str, Any]) -> Any:
    from azure.ai.ml import load_data

    try:
        return load_data(source=file, params_override=[{k: v} for k, v in overrides.items()])
    except Exception as exc:  # marshmallow, azure ValidationException, OSError, YAML errors
        message = re.split(r"\n\s*Visit this link", str(exc))[0]
        message = " ".join(message.split())
        raise ConfigError(f"{file}: not a valid data asset YAML: {message}") from exc


def _row(entity: Any) -> dict[str, str]:
    version = getattr(entity, "version", None) or getattr(entity, "latest_version", None)
    return {
        "NAME": str(entity.name),
        "VERSION": str(version or ""),
        "TYPE": str(getattr(entity, "type", "") or ""),
        "PATH": str(getattr(entity, "path", "") or ""),
    }


def _echo_table(rows: list[dict[str, str]]) -> None:
    if not rows:
        click.echo("No data assets.")
        return
    headers = list(rows[0])
    widths = {h: max(len(h), *(len(r[h]) for r in rows)) for h in headers}
    click.echo("  ".join(h.ljust(widths[h]) for h in headers).rstrip())
    for row in rows:
        click.echo("  ".join(row[h].ljust(widths[h]) for h in headers).rstrip())


def _echo_entity(entity: Any, output: str) -> None:
    if output == "json":
        echo_json(entity)
        return
    fields = _row(entity)
    fields["DESCRIPTION"] = str(getattr(entity, "description", "") or "")
    properties = getattr(entity, "properties", None) or {}
    if "automl_local.content_sha256" in properties:
        fields["SHA256"] = str(properties["automl_local.content_sha256"])
    for key, value in fields.items():
        if value:
            click.echo(f"{key.lower() + ':':<13}{value}")


@data.command("create")
@click.option("--file", "-f", "file", type=click.Path(dir_okay=False), help="Data asset YAML.")
@click.option("--name", "-n", help="Asset name (overrides the YAML).")
@click.option("--version", "-v", help="Asset version (default: the next integer).")
@click.option("--path", "-p", help="File, folder or https URL to register.")
@click.option("--type", "-t", "type_", type=click.Choice(_TYPES), help="Default: uri_folder.")
@click.option("--description", "-d", help="Free-text description.")
@output_option
@backend_options
def create(
    file: str | None,
    name: str | None,
    version: str | None,
    path: str | None,
    type_: str | None,
    description: str | None,
    output: str,
) -> None:
    """Register a data asset from --file, or from --name/--path/--type."""
    if path and not path.lower().startswith(("http://", "https://", "azureml:")):
        path = str(Path(path).expanduser().resolve())  # relative to the shell, not the YAML
    overrides = {
        k: v
        for k, v in {
            "name": name,
            "version": version,
            "path": path,
            "type": type_,
            "description": description,
        }.items()
        if v is not None
    }
    if file:
        entity = _load_yaml(file, overrides)
    else:
        if not name or not path:
            raise ConfigError(
                "data create needs --file, or both --name and --path "
                "(e.g. --name bank --path data/bankmarketing --type mltable)."
            )
        from azure.ai.ml.entities import Data

        overrides.setdefault("type", "uri_folder")
        entity = Data(**overrides)  # type: ignore[arg-type]
    created = get_ml_client().data.create_or_update(entity)
    _echo_entity(created, output)


@data.command("list")
@click.option("--name", "-n", help="List the versions of this asset.")
@click.option(
    "--archived-only", is_flag=True, help="Show archived assets instead of active ones."
)
@output_option
@backend_options
def list_(name: str | None, archived_only: bool, output: str) -> None:
    """List data assets (one row per name), or the versions of --name."""
    view = "ArchivedOnly" if archived_only else "ActiveOnly"
    entities = list(get_ml_client().data.list(name=name, list_view_type=view))
    if output == "json":
        echo_json(entities)
    else:
        _echo_table([_row(e) for e in entities])


@data.command("show")
@click.option("--name", "-n", required=True, help="Asset name.")
@click.option("--version", "-v", help="Asset version.")
@click.option("--label", "-l", help="Asset label ('latest'); the default without --version.")
@output_option
@backend_options
def show(name: str, version: str | None, label: str | None, output: str) -> None:
    """Show one version of a data asset (the latest unless --version is given)."""
    if not version and not label:
        label = "latest"
    entity = get_ml_client().data.get(name=name, version=version, label=label)
    _echo_entity(entity, output)


@data.command("archive")
@click.option("--name", "-n", required=True, help="Asset name.")
@click.option("--version", "-v", help="Only this version (default: all versions).")
@backend_options
def archive(name: str, version: str | None) -> None:
    """Hide a data asset (or one version) from listings; it stays readable by version."""
    get_ml_client().data.archive(name=name, version=version)
    click.echo(f"Archived data asset {name}" + (f":{version}" if version else "") + ".")


@data.command("restore")
@click.option("--name", "-n", required=True, help="Asset name.")
@click.option("--version", "-v", help="Only this version (default: all versions).")
@backend_options
def restore(name: str, version: str | None) -> None:
    """Undo archive."""
    get_ml_client().data.restore(name=name, version=version)
    click.echo(f"Restored data asset {name}" + (f":{version}" if version else "") + ".")
