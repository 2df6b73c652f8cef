"""``automl-local online-deployment``: the ``az ml online-deployment`` commands."""

from __future__ import annotations

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

__all__ = ["online_deployment"]

_DEPLOYMENT_FIELDS = ("name", "endpoint_name", "provisioning_state", "model", "instance_type",
                      "instance_count", "app_insights_enabled", "description")


@click.group("online-deployment")
def online_deployment() -> None:
    """Online deployments: serve a registered MLflow model behind an endpoint."""


def _deploy(file: str, name: str | None, endpoint_name: str | None, all_traffic: bool,
            set_: tuple[str, ...], output: str, must_exist: bool) -> None:
    from azure.ai.ml import load_online_deployment

    overrides = parse_set_options(set_)
    if name:
        overrides["name"] = name
    if endpoint_name:
        overrides["endpoint_name"] = endpoint_name
    deployment = load_yaml_entity(load_online_deployment, file, overrides)
    ml = get_ml_client()
    if must_exist:
        ml.online_deployments.get(deployment.name, deployment.endpoint_name)
    result = ml.online_deployments.begin_create_or_update(deployment).result()
    if all_traffic:
        endpoint = ml.online_endpoints.get(result.endpoint_name)
        endpoint.traffic = {result.name: 100}
        ml.online_endpoints.begin_create_or_update(endpoint).result()
    echo_entity(result, output, _DEPLOYMENT_FIELDS)


@online_deployment.command("create")
@click.option("--file", "-f", "file", required=True, type=click.Path(exists=True, dir_okay=False),
              help="Deployment YAML (az ml managedOnlineDeployment schema).")
@click.option("--name", "-n", help="Deployment name (overrides the YAML's).")
@click.option("--endpoint-name", "--endpoint", "-e", help="Endpoint name (overrides the YAML's).")
@click.option("--all-traffic", is_flag=True, help="Then send 100 % of the traffic to it.")
@click.option("--set", "set_", multiple=True, metavar="KEY=VALUE", help="Override a YAML field.")
@backend_options
@output_option
def create(file: str, name: str | None, endpoint_name: str | None, all_traffic: bool,
           set_: tuple[str, ...], output: str) -> None:
    """Deploy a model; returns once the endpoint answers (GET / is Healthy)."""
    _deploy(file, name, endpoint_name, all_traffic, set_, output, must_exist=False)


@online_deployment.command("update")
@click.option("--file", "-f", "file", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--name", "-n")
@click.option("--endpoint-name", "--endpoint", "-e")
@click.option("--set", "set_", multiple=True, metavar="KEY=VALUE")
@backend_options
@output_option
def update(file: str, name: str | None, endpoint_name: str | None, set_: tuple[str, ...],
           output: str) -> None:
    """Change an existing deployment (model, instance_count, request settings)."""
    _deploy(file, name, endpoint_name, False, set_, output, must_exist=True)


@online_deployment.command("show")
@click.option("--name", "-n", required=True)
@click.option("--endpoint-name", "--endpoint", "-e", required=True)
@backend_options
@output_option
def show(name: str, endpoint_name: str, output: str) -> None:
    """Show a deployment and its state."""
    deployment = get_ml_client().online_deployments.get(name, endpoint_name)
    echo_entity(deployment, output, _DEPLOYMENT_FIELDS)
    if deployment.provisioning_state == "Failed":
        click.echo(f"hint: see why with `automl-local online-deployment get-logs --name {name} "
                   f"--endpoint-name {endpoint_name}`.", err=True)


@online_deployment.command("list")
@click.option("--endpoint-name", "--endpoint", "-e", required=True)
@backend_options
@output_option
def list_(endpoint_name: str, output: str) -> None:
    """List the deployments of an endpoint."""
    deployments = list(get_ml_client().online_deployments.list(endpoint_name))
    if output == "json":
        echo_json(deployments)
    else:
        echo_table(deployments, ("name", "provisioning_state", "model", "instance_count"))


@online_deployment.command("get-logs")
@click.option("--name", "-n", required=True)
@click.option("--endpoint-name", "--endpoint", "-e", required=True)
@click.option("--lines", "-l", type=click.IntRange(min=0), default=5000, show_default=True)
@click.option("--container", "-c", type=click.Choice(["inference-server", "storage-initializer"]),
              default=None, help="Which log (default inference-server).")
@backend_options
def get_logs(name: str, endpoint_name: str, lines: int, container: str | None) -> None:
    """Print the deployment's log: start-up lines and one JSON line per request."""
    logs = get_ml_client().online_deployments.get_logs(
        name, endpoint_name, lines, container_type=container)
    click.echo(logs, nl=not logs.endswith("\n"))


@online_deployment.command("delete")
@click.option("--name", "-n", required=True)
@click.option("--endpoint-name", "--endpoint", "-e", required=True)
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@backend_options
def delete(name: str, endpoint_name: str, yes: bool) -> None:
    """Delete a deployment (its traffic must be 0 first)."""
    if not yes:
        click.confirm(f"Delete deployment {name!r} of endpoint {endpoint_name!r}?", abort=True)
    if not name:
        fail("--name is required.")
    get_ml_client().online_deployments.begin_delete(name, endpoint_name).result()
    click.echo(f"Deleted deployment {name!r} of endpoint {endpoint_name!r}.")
