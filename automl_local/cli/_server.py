"""``automl-local server``: the control-plane server (published pipelines, schedules).

It is local by nature: on Azure the service itself serves published
pipelines and fires schedules, so with ``--backend azure`` every command
exits 2 saying what to use there instead (the client's ``control_plane``
group decides; this module only prints).
"""

from __future__ import annotations

import click

from automl_local.cli._common import backend_options, echo_json, get_ml_client, output_option

__all__ = ["server"]


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
@backend_options
@output_option
def start(port: int | None, missed_runs: str, output: str) -> None:
    """Start the server in the background (does nothing if it already runs)."""
    state = get_ml_client().control_plane.start(port=port, missed_runs=missed_runs)
    if output == "json":
        echo_json(state)
        return
    verb = "already running" if state["already_running"] else "started"
    click.echo(f"Control plane {verb}: {state['url']} (pid {state['pid']})")
    click.echo(f"Swagger UI:   {state['url']}/docs")
    click.echo(f"Missed runs:  {state.get('missed_runs')}")
    click.echo("Keys:         automl-local server get-credentials")


@server.command("stop")
@backend_options
def stop() -> None:
    """Stop the server. Schedules keep their state and fire again after the next start."""
    stopped = get_ml_client().control_plane.stop()
    click.echo("Control plane stopped." if stopped else "Control plane was not running.")


@server.command("status")
@backend_options
@output_option
def status(output: str) -> None:
    """Whether the server runs, where, and what it serves."""
    info = get_ml_client().control_plane.status()
    if output == "json":
        echo_json(info)
        return
    if info["running"]:
        click.echo(f"running    {info['url']} (pid {info['pid']}, since {info['started_at']})")
        click.echo(f"missed     {info['missed_runs']}")
    else:
        click.echo("stopped    (start it: automl-local server start)")
    click.echo(f"published  {info['published_pipelines']} pipeline endpoint(s)")
    click.echo(f"schedules  {info['schedules_enabled']} enabled of {info['schedules_total']}")
    click.echo(f"log        {info['log']}")


@server.command("get-credentials")
@backend_options
@output_option
def get_credentials(output: str) -> None:
    """The control-plane keys (send one as 'Authorization: Bearer <key>')."""
    keys = get_ml_client().control_plane.get_keys()
    if output == "json":
        echo_json({"primaryKey": keys["primary"], "secondaryKey": keys["secondary"]})
        return
    click.echo(f"primaryKey    {keys['primary']}")
    click.echo(f"secondaryKey  {keys['secondary']}")


@server.command("regenerate-keys")
@click.option("--key-type", type=click.Choice(["primary", "secondary"]), default="primary",
              show_default=True)  # fmt: skip
@backend_options
def regenerate_keys(key_type: str) -> None:
    """Replace a key; the running server accepts the new one at once, the old one no more."""
    get_ml_client().control_plane.regenerate_key(key_type)
    click.echo(f"Regenerated the {key_type} key: automl-local server get-credentials")


@server.command("logs")
@click.option("--lines", "-n", type=int, default=50, show_default=True)
@backend_options
def logs(lines: int) -> None:
    """The last lines of the server log (requests, schedule firings, errors)."""
    text = get_ml_client().control_plane.logs(lines)
    click.echo("No server log yet." if text is None else text)
