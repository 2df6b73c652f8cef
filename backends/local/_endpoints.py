"""``ml_client.online_endpoints`` for the local workspace.

An endpoint is a name, an auth mode, two keys, a traffic split and a port on
127.0.0.1. Its scoring server starts with its first deployment (see
``_deployments``); until then the endpoint exists but nothing listens.

Auth modes: ``key`` works as on Azure. ``aml_token`` is accepted so Azure
specs load unchanged, but locally the "token" is a static bearer secret that
does not expire: ``get_keys`` returns it as an ``EndpointAuthToken`` and, as
on Azure, ``begin_regenerate_keys`` refuses token endpoints. ``aad_token``
needs Microsoft Entra ID, which is not emulated: it is refused with the fix.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from automl_local.backends.base import LocalPoller
from automl_local.backends.local import _servers
from automl_local.backends.local._endpoint_files import (
    folder_lock,
    read_keys,
    write_endpoint_config,
    write_keys,
)
from automl_local.backends.local._endpoint_specs import validate_name, validate_traffic
from automl_local.backends.local._serving import (
    DEPLOYMENT_KIND,
    ENDPOINT_KIND,
    converge,
    deployment_key,
    deployment_records,
    endpoint_config,
    free_port,
    is_running,
    now,
    require_endpoint,
)

from automl_local.exceptions import ConfigError, NotFoundError, ServiceError
from automl_local.keys import new_key

if TYPE_CHECKING:
    from azure.ai.ml.entities import (
        EndpointAuthKeys,
        EndpointAuthToken,
        ManagedOnlineEndpoint,
        OnlineEndpoint,
    )

__all__ = ["LocalOnlineEndpointOperations"]

logger = logging.getLogger(__name__)

AUTH_MODES = ("key", "aml_token")


class LocalOnlineEndpointOperations:
    """Online endpoints of a local workspace, with ``OnlineEndpointOperations``' methods."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._ws = client.workspace

    # ------------------------------------------------------------ create/read

    def begin_create_or_update(
        self, endpoint: OnlineEndpoint, *, local: bool = False, **kwargs: Any
    ) -> LocalPoller[ManagedOnlineEndpoint]:
        """Create the endpoint (keys, port) or update it (auth mode, traffic, tags).

        A traffic change applies to the running server at once, without a
        restart. The spec is checked before the poller is returned, so a bad
        name or traffic raises here, as azure-ai-ml's validation does.
        """
        from azure.ai.ml.entities import OnlineEndpoint

        if not isinstance(endpoint, OnlineEndpoint):
            raise ConfigError(
                "online_endpoints.begin_create_or_update takes a ManagedOnlineEndpoint "
                f"(or load_online_endpoint('endpoint.yml')), got {type(endpoint).__name__}."
            )
        name = validate_name(endpoint.name, "online endpoint")
        auth_mode = _auth_mode(endpoint.auth_mode, name)
        existing = self._ws.catalogue.get(ENDPOINT_KIND, name)
        served = set(existing.get("served", {})) if existing else set()
        traffic = validate_traffic(endpoint.traffic, served, name)
        mirror = validate_traffic(endpoint.mirror_traffic, served, name, "mirror_traffic")
        if set(mirror) & set(traffic):
            raise ConfigError(
                f"deployment {next(iter(mirror))!r} cannot take both live and mirrored traffic."
            )
        fields = {
            "auth_mode": auth_mode,
            "description": endpoint.description,
            "tags": dict(endpoint.tags or {}),
            "properties": {str(k): str(v) for k, v in (endpoint.properties or {}).items()},
            "traffic": traffic,
            "mirror_traffic": mirror,
        }

        def run() -> ManagedOnlineEndpoint:
            if existing is None:
                self._create(name, fields)
            else:
                converge(self._ws, name, fields)
            return self.get(name)

        return LocalPoller(run)

    def _create(self, name: str, fields: dict[str, Any]) -> None:
        endpoint_dir = self._ws.endpoint_dir(name)
        with folder_lock(endpoint_dir):
            endpoint_dir.chmod(0o700)  # keys live here
            write_keys(endpoint_dir, new_key(), new_key())
            record = {
                "name": name,
                **fields,
                "port": free_port(self._ws, name),
                "pid": None,
                "workers": 0,
                "served": {},
                "provisioning_state": "Succeeded",
                "created_at": now(),
                "updated_at": now(),
            }
            write_endpoint_config(endpoint_dir, endpoint_config(record))
            self._ws.catalogue.put(ENDPOINT_KIND, name, record)
        logger.info("created online endpoint %s on port %s", name, record["port"])

    def get(self, name: str, *, local: bool = False, **kwargs: Any) -> ManagedOnlineEndpoint:
        """The endpoint with its scoring/openapi URIs; ``Failed`` if its server died."""
        return self._entity(require_endpoint(self._ws, name))

    def list(self, *, local: bool = False, **kwargs: Any) -> list[ManagedOnlineEndpoint]:
        return [self._entity(r) for r in self._ws.catalogue.list(ENDPOINT_KIND)]

    # ------------------------------------------------------------------ keys

    def get_keys(self, name: str) -> EndpointAuthKeys | EndpointAuthToken:
        """``EndpointAuthKeys`` for key endpoints, ``EndpointAuthToken`` for aml_token ones."""
        from azure.ai.ml.entities import EndpointAuthKeys, EndpointAuthToken

        record = require_endpoint(self._ws, name)
        keys = read_keys(self._ws.endpoint_dir(name))
        if record["auth_mode"] == "aml_token":
            return EndpointAuthToken(access_token=keys["primary"], token_type="Bearer")
        return EndpointAuthKeys(primary_key=keys["primary"], secondary_key=keys["secondary"])

    def begin_regenerate_keys(self, name: str, *, key_type: str = "primary",
                              **kwargs: Any) -> LocalPoller[None]:
        """Replace one key; the server rejects the old one from the next request on."""
        record = require_endpoint(self._ws, name)
        if record["auth_mode"] != "key":
            raise ConfigError(f"Endpoint '{name}' does not use keys for authentication.")
        slot = str(key_type).lower()
        if slot not in ("primary", "secondary"):
            raise ConfigError(f"Key type must be 'primary' or 'secondary', got {key_type!r}.")

        def run() -> None:
            endpoint_dir = self._ws.endpoint_dir(name)
            with folder_lock(endpoint_dir):
                keys = read_keys(endpoint_dir)
                keys[slot] = new_key()
                write_keys(endpoint_dir, keys["primary"], keys["secondary"])
            logger.info("regenerated the %s key of endpoint %s", slot, name)

        return LocalPoller(run)

    # ---------------------------------------------------------------- invoke

    def invoke(
        self,
        endpoint_name: str,
        *,
        request_file: str | None = None,
        deployment_name: str | None = None,
        input_data: Any = None,
        params_override: Any = None,
        local: bool = False,
        **kwargs: Any,
    ) -> str:
        """POST ``request_file`` to the scoring URI as azure-ai-ml does; return the body text.

        Headers: ``Content-Type: application/json``, ``Authorization: Bearer
        <primary key>`` and, with ``deployment_name``, ``azureml-model-deployment``.
        A non-2xx answer raises ServiceError carrying ``status_code``.
        """
        import httpx

        record = require_endpoint(self._ws, endpoint_name)
        if request_file is None:
            raise ConfigError(
                "invoke needs request_file= (a JSON file such as sample-request.json)."
            )
        try:
            payload = json.loads(Path(request_file).read_bytes())
        except FileNotFoundError:
            raise ConfigError(f"request file {request_file!r} does not exist.") from None
        except json.JSONDecodeError as exc:
            raise ConfigError(f"request file {request_file!r} is not valid JSON: {exc}.") from None
        served = record.get("served", {})
        if deployment_name is not None and deployment_name not in served:
            raise NotFoundError(
                f"Deployment name {deployment_name} not found for endpoint {endpoint_name!r} "
                f"(deployments: {', '.join(sorted(served)) or 'none'})."
            )
        if not served:
            raise ServiceError(
                f"endpoint {endpoint_name!r} has no deployment to answer: create one with "
                "`automl-local online-deployment create --file deployment.yml --all-traffic`."
            )
        if not is_running(self._ws, record):
            raise ServiceError(_not_running(endpoint_name))
        keys = self.get_keys(endpoint_name)
        key = getattr(keys, "primary_key", None) or getattr(keys, "access_token", "")
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
        if deployment_name:
            headers["azureml-model-deployment"] = deployment_name
        timeout = max(s["request_timeout_ms"] for s in served.values()) / 1000 + 30
        try:
            response = httpx.post(
                _scoring_uri(record), content=json.dumps(payload), headers=headers,
                timeout=timeout, trust_env=False,
            )
        except httpx.HTTPError as exc:
            raise ServiceError(
                f"endpoint {endpoint_name!r} did not answer at {_scoring_uri(record)}: {exc}. "
                f"Check it with `automl-local online-endpoint show --name {endpoint_name}`."
            ) from None
        if not response.is_success:
            error = ServiceError(
                f"endpoint {endpoint_name!r} answered {response.status_code} "
                f"{response.reason_phrase}: {response.text.strip()[:2000]}"
            )
            error.status_code = response.status_code  # type: ignore[attr-defined]
            raise error
        return response.text

    # ------------------------------------------------------- restart/delete

    def begin_restart(self, name: str, **kwargs: Any) -> LocalPoller[ManagedOnlineEndpoint]:
        """Local only: restart the endpoint's server (after it died, or after a reboot)."""
        record = require_endpoint(self._ws, name)
        if not record.get("served"):
            raise ConfigError(
                f"endpoint {name!r} has no deployment to run: create one with "
                "`automl-local online-deployment create --file deployment.yml`."
            )

        def run() -> ManagedOnlineEndpoint:
            converge(self._ws, name, {}, force_restart=True)
            return self.get(name)

        return LocalPoller(run)

    def begin_delete(self, name: str | None = None, *, local: bool = False,
                     **kwargs: Any) -> LocalPoller[None]:
        """Stop the server, free the port, forget the endpoint, its deployments and keys."""
        record = require_endpoint(self._ws, str(name))

        def run() -> None:
            endpoint_dir = self._ws.endpoint_dir(record["name"])
            with folder_lock(endpoint_dir):
                current = self._ws.catalogue.get(ENDPOINT_KIND, record["name"]) or record
                _servers.stop_server(current.get("pid"), endpoint_dir)
                for dep in deployment_records(self._ws, record["name"]):
                    self._ws.catalogue.delete(
                        DEPLOYMENT_KIND, deployment_key(record["name"], dep["name"])
                    )
                self._ws.catalogue.delete(ENDPOINT_KIND, record["name"])
            shutil.rmtree(endpoint_dir, ignore_errors=True)
            logger.info("deleted online endpoint %s", record["name"])

        return LocalPoller(run)

    # --------------------------------------------------------------- helpers

    def _entity(self, record: dict[str, Any]) -> ManagedOnlineEndpoint:
        from azure.ai.ml.entities import ManagedOnlineEndpoint

        state = record.get("provisioning_state", "Succeeded")
        if record.get("served") and not is_running(self._ws, record):
            state = "Failed"
        traffic = {name: 0 for name in record.get("served", {})}  # Azure lists zeroes too
        traffic.update(record.get("traffic", {}))
        port = record["port"]
        return ManagedOnlineEndpoint(
            name=record["name"],
            auth_mode=record["auth_mode"],
            description=record.get("description"),
            tags=record.get("tags") or {},
            properties=record.get("properties") or {},
            traffic=traffic,
            mirror_traffic=record.get("mirror_traffic") or {},
            scoring_uri=f"http://{_servers.HOST}:{port}/score",
            openapi_uri=f"http://{_servers.HOST}:{port}/swagger.json",
            provisioning_state=state,
            location="local",
        )


def _auth_mode(value: Any, name: str) -> str:
    mode = str(value or "key").lower()
    if mode == "aad_token":
        raise ConfigError(
            f"endpoint {name!r}: auth_mode aad_token needs Microsoft Entra ID, which the local "
            "backend does not emulate. Use auth_mode: key (or aml_token) locally."
        )
    if mode not in AUTH_MODES:
        raise ConfigError(f"endpoint {name!r}: auth_mode must be key or aml_token, got {value!r}.")
    if mode == "aml_token":
        logger.warning(
            "endpoint %s: aml_token is served locally as a static bearer token that does not "
            "expire (Azure's tokens expire); get it with get-credentials.", name,
        )
    return mode


def _scoring_uri(record: dict[str, Any]) -> str:
    return f"http://{_servers.HOST}:{record['port']}/score"


def _not_running(name: str) -> str:
    return (
        f"endpoint {name!r} is not running (its server process exited; see "
        f"`automl-local online-deployment get-logs`). Start it again with "
        f"`automl-local online-endpoint restart --name {name}`."
    )
