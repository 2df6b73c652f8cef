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
    """``--backend`` and ``--workspace``, as every command takes them."""

    @click.option(
        "--backend",
        type=click.Choice(["local", "azure"]),
        default=lambda: os.environ.get("AUTOML_BACKEND", "local"),
        show_default="$AUTOML_BACKEND or local",
        help="Where to run: this machine, or the Azure ML workspace.",
    )
    @click.option(
        "--workspace",
        "-w",
        type=click.Path(file_okay=False),
        default=None,
        help="Local workspace folder (default $AUTOML_LOCAL_WORKSPACE or ./.automl).",
    )
    @click.option(
        "--compute",
        default=None,
        help="Azure: compute for jobs that name none (default $AZUREML_COMPUTE, else serverless).",
    )
    @functools.wraps(fn)
    def wrapper(
        *args: Any, backend: str, workspace: str | None, compute: str | None, **kwargs: Any
    ) -> Any:
        ctx = click.get_current_context()
        ctx.meta["backend"] = backend
        ctx.meta["workspace"] = workspace
        ctx.meta["compute"] = compute
        return fn(*args, **kwargs)

    return wrapper


def output_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--output",
        "-o",
        type=click.Choice(["table", "json"]),
        default="table",
        show_default=True,
        help="Human-readable table, or JSON for scripts.",
    )(fn)


def get_ml_client() -> Any:
    """The client for the current command's ``--backend`` / ``--workspace``."""
    from automl_local.backends import get_client

    ctx = click.get_current_context()
    backend = ctx.meta.get("backend", "local")
    if backend == "local":
        if ctx.meta.get("compute"):
            click.echo("warning: --compute is Azure-only and ignored locally.", err=True)
        return get_client("local", workspace=ctx.meta.get("workspace"))
    # The Azure client refuses a --workspace folder with a message naming what to use instead.
    options = {k: ctx.meta.get(k) for k in ("workspace", "compute") if ctx.meta.get(k)}
    return get_client(backend, **options)


def to_jsonable(entity: Any) -> Any:
    """An azure-ai-ml entity (or anything) as plain JSON data."""
    if entity is None or isinstance(entity, str | int | float | bool):
        return entity
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
    click.echo(json.dumps(to_jsonable(data), indent=2, default=str))


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
        message = re.split(r"\n\s*Visit this link", str(exc))[0]
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
