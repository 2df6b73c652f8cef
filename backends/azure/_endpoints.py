"""``online_endpoints`` and ``online_deployments`` on Azure.

Managed online endpoints behave on Azure as the local ones imitate, so these
groups are ``MLClient``'s own (keys, invoke with ``Authorization: Bearer``
and ``azureml-model-deployment``, ``get_logs``...), with user mistakes
translated and the local-only knobs refused by name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from backends.azure._errors import GuardedGroup, guarded
from backends.azure._local_only import refuse_local_method, refuse_local_only

if TYPE_CHECKING:
    from azure.ai.ml.entities import OnlineDeployment, OnlineEndpoint

    from backends.azure._client import AzureClient

__all__ = ["AzureOnlineDeploymentOperations", "AzureOnlineEndpointOperations"]


class AzureOnlineEndpointOperations(GuardedGroup):
    """``MLClient.online_endpoints``."""

    _group = "online_endpoints"

    def __init__(self, client: AzureClient) -> None:
        super().__init__(client.ml_client.online_endpoints)

    @guarded("online_endpoints.begin_create_or_update")
    def begin_create_or_update(self, endpoint: OnlineEndpoint, **kwargs: Any) -> Any:
        refuse_local_only("online_endpoints.begin_create_or_update", kwargs)
        return self._ops.begin_create_or_update(endpoint, **kwargs)

    def begin_restart(self, name: str, **kwargs: Any) -> Any:
        """Local only (restarts the local server); refused with what to do on Azure."""
        raise refuse_local_method("online_endpoints", "begin_restart")


class AzureOnlineDeploymentOperations(GuardedGroup):
    """``MLClient.online_deployments``."""

    _group = "online_deployments"

    def __init__(self, client: AzureClient) -> None:
        super().__init__(client.ml_client.online_deployments)

    @guarded("online_deployments.begin_create_or_update")
    def begin_create_or_update(self, deployment: OnlineDeployment, **kwargs: Any) -> Any:
        refuse_local_only("online_deployments.begin_create_or_update", kwargs)
        return self._ops.begin_create_or_update(deployment, **kwargs)
