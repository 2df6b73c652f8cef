"""What every command shares: backend/workspace options, output, error handling."""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NoReturn

import click

from automl_local.exceptions import AutoMLError

#: The workspace name for commands that give no ``-w`` (as ``az configure --defaults``).
ENV_WORKSPACE_NAME = "AUTOML_LOCAL_WORKSPACE_NAME"

__all__ = [
    "backend_options",
    "echo_entity",
    "echo_json",
    "echo_table",
    "fail",
    "get_ml_client",
    "output_option",
    "run_cli",
    "to_jsonable",
]


def run_cli(group: click.Group, argv: list[str] | None) -> int:
    """Run the click group; user mistakes become one line on stderr and exit 2."""
    try:
        group.main(args=argv, prog_name="automl-local", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return 2
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except AutoMLError as exc:
        click.echo(f"error: {exc}", err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        return 130
    return 0


def fail(message: str) -> NoReturn:
    """Raise a user error from inside a command (exit 2, no traceback)."""
    raise AutoMLError(message)


def backend_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The workspace options every command takes, named as ``az ml`` names them.

    ``-w/--workspace-name``, ``-g/--resource-group`` and ``--subscription`` select the
    workspace as on Azure (locally the name picks ``<root>/workspaces/<name>``; the group and
    subscription are recorded and mean nothing else). ``--workspace-dir`` names the local
    folder itself (``--workspace`` is kept as its older spelling).
    """

    @click.option(
        "--backend",
        type=click.Choice(["local", "azure"]),
        default=lambda: os.environ.get("AUTOML_BACKEND", "local"),
        show_default="$AUTOML_BACKEND or local",
        help="Where to run: this machine, or the Azure ML workspace.",
    )
    @click.option(
        "--workspace-dir",
        "--workspace",
        "workspace",
        type=click.Path(file_okay=False),
        default=None,
        help="Local workspace folder (default $AUTOML_LOCAL_WORKSPACE or ./.automl).",
    )
    @click.option(
        "--workspace-name",
        "-w",
        default=lambda: os.environ.get(ENV_WORKSPACE_NAME) or None,
        help=f"Workspace name, as az ml -w (default ${ENV_WORKSPACE_NAME}). Locally it selects "
        "the named workspace under the workspace root.",
    )
    @click.option("--resource-group", "-g", default=None, help="Resource group, as az ml -g.")
    @click.option("--subscription", default=None, help="Subscription id, as az --subscription.")
    @click.option(
        "--compute",
        default=None,
        help="Azure: compute for jobs that name none (default $AZUREML_COMPUTE, else serverless).",
    )
    @functools.wraps(fn)
    def wrapper(
        *args: Any,
        backend: str,
        workspace: str | None,
        workspace_name: str | None,
        resource_group: str | None,
        subscription: str | None,
        compute: str | None,
        **kwargs: Any,
    ) -> Any:
        ctx = click.get_current_context()
        ctx.meta.update(
            backend=backend,
            workspace=workspace,
            workspace_name=workspace_name,
            resource_group=resource_group,
            subscription=subscription,
            compute=compute,
        )
        return fn(*args, **kwargs)

    return wrapper


#: ``-o`` values, as ``az`` takes them. Commands see "table" or "json"; :func:`echo_json`
#: renders the structured ones (json, jsonc, yaml, yamlc, tsv, none) after ``--query``.
OUTPUT_FORMATS = ("json", "jsonc", "yaml", "yamlc", "table", "tsv", "none")


def output_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``-o/--output`` and ``--query`` (JMESPath), as ``az`` takes them; JSON by default."""

    @click.option(
        "--output",
        "-o",
        type=click.Choice(OUTPUT_FORMATS),
        default=lambda: os.environ.get("AZURE_CORE_OUTPUT") or "json",
        show_default="json",
        help="Output format, as az -o: JSON for scripts (default), or a table for people.",
    )
    @click.option("--query", default=None, help="JMESPath query over the output, as az --query.")
    @functools.wraps(fn)
    def wrapper(*args: Any, output: str, query: str | None, **kwargs: Any) -> Any:
        if query is not None and output == "table":
            raise AutoMLError(
                "--query applies to structured output; use it with -o json|yaml|tsv (the "
                "default is json), not -o table."
            )
        ctx = click.get_current_context()
        ctx.meta["output_format"] = output
        source = ctx.get_parameter_source("output")
        ctx.meta["output_explicit"] = source not in (None, click.core.ParameterSource.DEFAULT)
        ctx.meta["query"] = query
        return fn(*args, output="table" if output == "table" else "json", **kwargs)

    return wrapper


def get_ml_client() -> Any:
    """The client for the current command's ``--backend`` and workspace options."""
    from automl_local.backends import get_client

    meta = click.get_current_context().meta
    backend = meta.get("backend", "local")
    coordinates = {
        "workspace_name": meta.get("workspace_name"),
        "resource_group_name": meta.get("resource_group"),
        "subscription_id": meta.get("subscription"),
    }
    if backend == "local":
        if meta.get("compute"):
            click.echo("warning: --compute is Azure-only and ignored locally.", err=True)
        return get_client("local", workspace=meta.get("workspace"), **coordinates)
    # The Azure client refuses a --workspace-dir folder with a message naming what to use.
    options = {k: meta.get(k) for k in ("workspace", "compute") if meta.get(k)}
    return get_client(backend, **options, **{k: v for k, v in coordinates.items() if v})


def to_jsonable(entity: Any) -> Any:
    """An azure-ai-ml entity (or anything) as plain JSON data."""
    if entity is None or isinstance(entity, str | int | float | bool):
        return entity
    if hasattr(entity, "_to_job") and hasattr(entity, "status"):
        # a Command node (what azure-ai-ml returns for a command job; a dict subclass):
        # `az ml job show` prints its job form (name, status, services...), not the node form
        try:
            return to_jsonable(entity._to_job())
        except Exception:
            pass
    if isinstance(entity, dict):
        return {str(k): to_jsonable(v) for k, v in entity.items()}
    if isinstance(entity, list | tuple):
        return [to_jsonable(v) for v in entity]
    if hasattr(entity, "_to_dict"):
        try:
            return entity._to_dict()
        except Exception:  # some entities cannot dump without a workspace
            pass
    if hasattr(entity, "__dict__"):
        return {k: to_jsonable(v) for k, v in vars(entity).items() if not k.startswith("_")}
    return str(entity)


def echo_json(data: Any) -> None:
    """Structured output in the ``-o`` format, after ``--query`` (JSON outside a command)."""
    try:
        meta = click.get_current_context().meta
    except RuntimeError:
        meta = {}
    value = to_jsonable(data)
    if meta.get("query"):
        import jmespath
        from jmespath.exceptions import JMESPathError

        try:
            value = jmespath.search(meta["query"], value)
        except JMESPathError as exc:
            raise AutoMLError(f"--query {meta['query']!r} is not valid JMESPath: {exc}") from None
    fmt = meta.get("output_format", "json")
    if fmt == "none":
        return
    if fmt in ("yaml", "yamlc"):
        import yaml

        click.echo(
            yaml.safe_dump(json.loads(json.dumps(value, default=str)), sort_keys=False), nl=False
        )
    elif fmt == "tsv":
        for line in _tsv_lines(value):
            click.echo(line)
    else:
        click.echo(json.dumps(value, indent=2, default=str))


def _tsv_lines(value: Any) -> list[str]:
    """az's ``-o tsv``: one line per item of a list; an object's (or inner list's) scalar
    values tab-separated on its line (nested objects and lists are left out, as az does)."""
    items = value if isinstance(value, list) else [value]
    return [_tsv_row(item) for item in items]


def _tsv_row(item: Any) -> str:
    values = (
        item.values() if isinstance(item, dict) else item if isinstance(item, list) else [item]
    )
    return "\t".join(_tsv_cell(v) for v in values if not isinstance(v, dict | list))


def _tsv_cell(value: Any) -> str:
    return "" if value is None else str(value)


def stderr_is_tty() -> bool:
    return sys.stderr.isatty()


def parse_set_options(values: tuple[str, ...]) -> dict[str, Any]:
    """``--set limits.timeout_minutes=1`` pairs, values parsed as YAML scalars (az ml's --set)."""
    import yaml

    out: dict[str, Any] = {}
    for item in values:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise AutoMLError(f"--set {item!r} is not key=value (e.g. --set limits.max_trials=5).")
        try:
            out[key.strip()] = yaml.safe_load(raw)
        except yaml.YAMLError:
            out[key.strip()] = raw
    return out


def load_yaml_entity(
    loader: Callable[..., Any], file: str, overrides: dict[str, Any] | None = None
) -> Any:
    """Parse an ``az ml`` YAML file with azure-ai-ml's own loader; its errors become one line."""
    import re
    from pathlib import Path

    from automl_local.exceptions import ConfigError

    path = Path(file)
    if not path.is_file():
        raise ConfigError(f"--file {file!r} does not exist. Give the path of a YAML spec.")
    try:
        return loader(
            source=str(path), params_override=[{k: v} for k, v in (overrides or {}).items()]
        )
    except Exception as exc:  # marshmallow, azure ValidationException, YAML errors
        text = str(exc)
        # a broken file the spec points at (a conda file): its own error, naming the line
        broken = re.search(r"Error while parsing yaml file: (?P<path>[^\s\\]+)", text)
        if broken:
            rest = re.sub(r"(?:\\+n|\\+\"|\\+'|\s)+", " ", text[broken.end():])
            why = re.match(r"\s*(?P<why>.*?line \d+, column \d+)", rest)
            detail = why["why"].replace('"', "") if why else "see the file"
            raise ConfigError(f"{file}: {broken['path']} is not valid YAML: {detail}") from None
        message = re.split(r"\n\s*Visit this link", text)[0]
        message = " ".join(message.split())
        raise ConfigError(f"{file}: {message}") from None


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        return " ".join(f"{k}={v}" for k, v in value.items())
    return str(value)


def echo_table(rows: Iterable[Any], columns: Sequence[str]) -> None:
    """Entities (or dicts) as an aligned text table with the given attribute columns."""
    cells = [
        [_cell(r.get(c) if isinstance(r, dict) else getattr(r, c, None)) for c in columns]
        for r in rows
    ]
    if not cells:
        click.echo("(none)")
        return
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    click.echo("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)))
    for row in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


def echo_entity(entity: Any, output: str, fields: Sequence[str]) -> None:
    """One entity: full JSON with ``-o json``, else ``field: value`` lines."""
    if output == "json":
        echo_json(entity)
        return
    width = max(len(f) for f in fields)
    for field in fields:
        value = getattr(entity, field, None)
        if value not in (None, {}, ""):
            click.echo(f"{field.ljust(width)}  {_cell(value)}")
