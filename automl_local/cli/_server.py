"""``automl-local server``: the control-plane server (published pipelines, schedules).

It is local by nature (on Azure the service itself runs them), so it takes
``--workspace`` but no ``--backend``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import click

from automl_local.cli._common import echo_json, output_option
from automl_local.workspace import Workspace

__all__ = ["server"]


def _workspace() -> Workspace:
    return Workspace(click.get_current_context().meta.get("workspace"))


def _workspace_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Only ``--workspace``: the control plane is local by nature (Azure runs its own)."""

    def remember(ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
        ctx.meta["workspace"] = value
        return value

    return click.option(
        "--workspace", "-w", type=click.Path(file_okay=False), default=None, expose_value=False,
        callback=remember, is_eager=True,
        help="Local workspace folder (default $AUTOML_LOCAL_WORKSPACE or ./.automl).",
    )(fn)  # fmt: skip


@click.group("server")
def server() -> None:
    """Start, stop and inspect the control-plane server (published pipelines, schedules)."""


@server.command("start")
@click.option("--port", "-p", type=click.IntRange(1, 65535), default=None,
              help="Port on 127.0.0.1 (default: the last one used, else a free one).")  # fmt: skip
@click.option(
    "--missed-runs",
    type=click.Choice(["run_once", "skip"]),
    default="run_once",
    show_default=True,
    help="Schedule runs that fell due while no server ran: fire one now, or skip them.",
)
@_workspace_option
@output_option
def start(port: int | None, missed_runs: str, output: str) -> None:
    """Start the server in the background (does nothing if it already runs)."""
    from automl_local.backends.local._pipeline_server import server_state, start_server

    ws = _workspace()
    was_running = server_state(ws) is not None
    state = start_server(ws, port=port, missed_runs=missed_runs)
    if output == "json":
        echo_json({**state, "already_running": was_running})
        return
    verb = "already running" if was_running else "started"
    click.echo(f"Control plane {verb}: {state['url']} (pid {state['pid']})")
    click.echo(f"Swagger UI:   {state['url']}/docs")
    click.echo(f"Missed runs:  {state.get('missed_runs')}")
    click.echo("Keys:         automl-local server get-credentials")


@server.command("stop")
@_workspace_option
def stop() -> None:
    """Stop the server. Schedules keep their state and fire again after the next start."""
    from automl_local.backends.local._pipeline_server import stop_server

    stopped = stop_server(_workspace())
    click.echo("Control plane stopped." if stopped else "Control plane was not running.")


@server.command("status")
@_workspace_option
@output_option
def status(output: str) -> None:
    """Whether the server runs, where, and what it serves."""
    from automl_local.backends.local._pipeline_server import server_state

    ws = _workspace()
    state = server_state(ws)
    cat = ws.catalogue
    schedules = cat.list("schedule")
    info = {
        "running": state is not None,
        "url": state["url"] if state else None,
        "pid": state["pid"] if state else None,
        "started_at": dt.datetime.fromtimestamp(state["started_at"], dt.UTC).isoformat()
        if state
        else None,
        "missed_runs": state.get("missed_runs") if state else None,
        "published_pipelines": len(cat.list("batch_endpoint")),
        "schedules_enabled": sum(1 for s in schedules if s.get("is_enabled")),
        "schedules_total": len(schedules),
        "log": str(ws.root / "control_plane" / "server.log"),
    }
    if output == "json":
        echo_json(info)
        return
    if state:
        click.echo(f"running    {info['url']} (pid {info['pid']}, since {info['started_at']})")
        click.echo(f"missed     {info['missed_runs']}")
    else:
        click.echo("stopped    (start it: automl-local server start)")
    click.echo(f"published  {info['published_pipelines']} pipeline endpoint(s)")
    click.echo(f"schedules  {info['schedules_enabled']} enabled of {info['schedules_total']}")
    click.echo(f"log        {info['log']}")


@server.command("get-credentials")
@_workspace_option
@output_option
def get_credentials(output: str) -> None:
    """The control-plane keys (send one as 'Authorization: Bearer <key>')."""
    from automl_local.backends.local._pipeline_server import get_keys

    keys = get_keys(_workspace())
    if output == "json":
        echo_json({"primaryKey": keys["primary"], "secondaryKey": keys["secondary"]})
        return
    click.echo(f"primaryKey    {keys['primary']}")
    click.echo(f"secondaryKey  {keys['secondary']}")


@server.command("regenerate-keys")
@click.option("--key-type", type=click.Choice(["primary", "secondary"]), default="primary",
              show_default=True)  # fmt: skip
@_workspace_option
def regenerate_keys(key_type: str) -> None:
    """Replace a key; the running server accepts the new one at once, the old one no more."""
    from automl_local.backends.local._pipeline_server import regenerate_key

    regenerate_key(_workspace(), key_type)
    click.echo(f"Regenerated the {key_type} key: automl-local server get-credentials")


@server.command("logs")
@click.option("--lines", "-n", type=int, default=50, show_default=True)
@_workspace_option
def logs(lines: int) -> None:
    """The last lines of the server log (requests, schedule firings, errors)."""
    from automl_local.backends.local._pipeline_server import control_plane_dir

    path = control_plane_dir(_workspace()) / "server.log"
    if not path.exists():
        click.echo("No server log yet.")
        return
    click.echo("".join(path.read_text(errors="replace").splitlines(keepends=True)[-lines:]))
