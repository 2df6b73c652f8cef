"""``automl-local online-endpoint``: the ``az ml online-endpoint`` commands.

Every command goes through the MLClient-shaped client, so the same command
works with ``--backend local`` and ``--backend azure``; only ``restart``
(bring a dead local server back) is local-only.
"""

from __future__ import annotations

import json

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
from automl_local.exceptions import ConfigError

__all__ = ["online_endpoint", "parse_traffic"]

_ENDPOINT_FIELDS = ("name", "auth_mode", "provisioning_state", "scoring_uri", "openapi_uri",
                    "traffic", "mirror_traffic", "description", "tags")


# ----------------------------------------------------------- output helpers
# (shared by the model and online-deployment command modules)

def parse_traffic(text: str) -> dict[str, int]:
    """``"blue=90 green=10"`` (``az ml online-endpoint update --traffic``) as a dict."""
    traffic: dict[str, int] = {}
    for item in text.replace(",", " ").split():
        name, sep, value = item.partition("=")
        if not sep or not name or not value.strip().isdigit():
            raise ConfigError(
                f"traffic {text!r} is not valid: write deployment=percent pairs separated by "
                'spaces, for example --traffic "blue=90 green=10".'
            )
        traffic[name] = int(value)
    return traffic


# ------------------------------------------------------------------ commands

@click.group("online-endpoint")
def online_endpoint() -> None:
    """Online endpoints: create, show, invoke, manage keys and traffic, delete."""


@online_endpoint.command("create")
@click.option("--file", "-f", "file", type=click.Path(exists=True, dir_okay=False),
              help="Endpoint YAML (az ml managedOnlineEndpoint schema).")
@click.option("--name", "-n", help="Endpoint name (overrides the YAML's).")
@click.option("--auth-mode", help="key (default) or aml_token.")
@click.option("--set", "set_", multiple=True, metavar="KEY=VALUE", help="Override a YAML field.")
@backend_options
@output_option
def create(file: str | None, name: str | None, auth_mode: str | None, set_: tuple[str, ...],
           output: str) -> None:
    """Create an endpoint (keys and a port on 127.0.0.1; no deployment yet)."""
    from azure.ai.ml.entities import ManagedOnlineEndpoint

    if file:
        from azure.ai.ml import load_online_endpoint

        overrides = parse_set_options(set_)
        if name:
            overrides["name"] = name
        if auth_mode:
            overrides["auth_mode"] = auth_mode
        endpoint = load_yaml_entity(load_online_endpoint, file, overrides)
    elif name:
        endpoint = ManagedOnlineEndpoint(name=name, auth_mode=auth_mode or "key")
    else:
        fail("online-endpoint create needs --file endpoint.yml or --name NAME.")
    ml = get_ml_client()
    result = ml.online_endpoints.begin_create_or_update(endpoint).result()
    echo_entity(result, output, _ENDPOINT_FIELDS)


@online_endpoint.command("show")
@click.option("--name", "-n", required=True)
@backend_options
@output_option
def show(name: str, output: str) -> None:
    """Show an endpoint: state, scoring URI, swagger URI, traffic."""
    ml = get_ml_client()
    endpoint = ml.online_endpoints.get(name)
    echo_entity(endpoint, output, _ENDPOINT_FIELDS)
    if endpoint.provisioning_state == "Failed" and hasattr(ml.online_endpoints, "begin_restart"):
        click.echo(f"hint: its server is not running; start it with `automl-local "
                   f"online-endpoint restart --name {name}`.", err=True)


@online_endpoint.command("list")
@backend_options
@output_option
def list_(output: str) -> None:
    """List the endpoints of the workspace."""
    endpoints = list(get_ml_client().online_endpoints.list())
    if output == "json":
        echo_json(endpoints)
    else:
        echo_table(endpoints, ("name", "provisioning_state", "scoring_uri", "traffic"))


@online_endpoint.command("get-credentials")
@click.option("--name", "-n", required=True)
@backend_options
def get_credentials(name: str) -> None:
    """Print the endpoint's keys (or token) as JSON, as az ml does."""
    creds = get_ml_client().online_endpoints.get_keys(name)
    if hasattr(creds, "primary_key"):
        data = {"primaryKey": creds.primary_key, "secondaryKey": creds.secondary_key}
    else:
        data = {"accessToken": creds.access_token,
                "expiryTimeUtc": getattr(creds, "expiry_time_utc", 0),
                "refreshAfterTimeUtc": getattr(creds, "refresh_after_time_utc", 0),
                "tokenType": getattr(creds, "token_type", None)}
    click.echo(json.dumps(data, indent=2))


@online_endpoint.command("regenerate-keys")
@click.option("--name", "-n", required=True)
@click.option("--key-type", type=click.Choice(["primary", "secondary"]), default="primary",
              show_default=True)
@backend_options
def regenerate_keys(name: str, key_type: str) -> None:
    """Replace one key; the old one stops working at once."""
    get_ml_client().online_endpoints.begin_regenerate_keys(name, key_type=key_type).result()
    click.echo(f"Regenerated the {key_type} key of endpoint {name!r}; read it with "
               f"`automl-local online-endpoint get-credentials --name {name}`.")


@online_endpoint.command("invoke")
@click.option("--name", "-n", required=True)
@click.option("--request-file", "-r", required=True,
              type=click.Path(exists=True, dir_okay=False), help="JSON request body.")
@click.option("--deployment-name", "-d", help="Send to this deployment (header pinning).")
@backend_options
def invoke(name: str, request_file: str, deployment_name: str | None) -> None:
    """Score a request file and print the answer."""
    ml = get_ml_client()
    click.echo(ml.online_endpoints.invoke(
        name, request_file=request_file, deployment_name=deployment_name))


@online_endpoint.command("update")
@click.option("--name", "-n", help="Endpoint name (or from --file).")
@click.option("--file", "-f", "file", type=click.Path(exists=True, dir_okay=False))
@click.option("--traffic", "-t", help='Traffic split, e.g. "blue=90 green=10".')
@click.option("--mirror-traffic", help='Mirrored share, e.g. "green=10".')
@click.option("--set", "set_", multiple=True, metavar="KEY=VALUE")
@backend_options
@output_option
def update(name: str | None, file: str | None, traffic: str | None, mirror_traffic: str | None,
           set_: tuple[str, ...], output: str) -> None:
    """Update traffic (live, no restart), auth mode, description or tags."""
    ml = get_ml_client()
    if file:
        from azure.ai.ml import load_online_endpoint

        overrides = parse_set_options(set_)
        if name:
            overrides["name"] = name
        endpoint = load_yaml_entity(load_online_endpoint, file, overrides)
    elif name:
        endpoint = ml.online_endpoints.get(name)
        for key, value in parse_set_options(set_).items():
            setattr(endpoint, key, value)
    else:
        fail("online-endpoint update needs --name NAME (or --file endpoint.yml).")
    if traffic is not None:
        endpoint.traffic = parse_traffic(traffic)
    if mirror_traffic is not None:
        endpoint.mirror_traffic = parse_traffic(mirror_traffic)
    result = ml.online_endpoints.begin_create_or_update(endpoint).result()
    echo_entity(result, output, _ENDPOINT_FIELDS)


@online_endpoint.command("restart")
@click.option("--name", "-n", required=True)
@backend_options
@output_option
def restart(name: str, output: str) -> None:
    """Local only: restart the endpoint's server (after a crash or a reboot)."""
    ops = get_ml_client().online_endpoints
    if not hasattr(ops, "begin_restart"):
        fail("online-endpoint restart exists for --backend local only; Azure restarts "
             "managed endpoints itself.")
    echo_entity(ops.begin_restart(name).result(), output, _ENDPOINT_FIELDS)


@online_endpoint.command("delete")
@click.option("--name", "-n", required=True)
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@backend_options
def delete(name: str, yes: bool) -> None:
    """Delete an endpoint and its deployments (stops the server, frees the port)."""
    if not yes:
        click.confirm(f"Delete endpoint {name!r} and all its deployments?", abort=True)
    get_ml_client().online_endpoints.begin_delete(name=name).result()
    click.echo(f"Deleted endpoint {name!r}.")
