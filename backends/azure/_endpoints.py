"""``online_endpoints`` and ``online_deployments`` on Azure.

Managed online endpoints behave on Azure as the local ones imitate, so these
groups are ``MLClient``'s own (keys, invoke with ``Authorization: Bearer``
and ``azureml-model-deployment``, ``get_logs``...), with user mistakes
translated and the local-only knobs refused by name.

One azure-ai-ml bug is worked around for every ``invoke`` (online and
batch, see :func:`fresh_invoke_headers`): both write the call's headers
into one shared module-level dict, so a deployment name or endpoint key
given to one call is sent again by the next.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from automl_local.backends.azure._errors import GuardedGroup, guarded
from automl_local.backends.azure._local_only import refuse_local_method, refuse_local_only

if TYPE_CHECKING:
    from automl_local.backends.azure._client import AzureClient
    from azure.ai.ml.entities import OnlineDeployment, OnlineEndpoint

__all__ = [
    "AzureOnlineDeploymentOperations",
    "AzureOnlineEndpointOperations",
    "fresh_invoke_headers",
]

_INVOKE_LOCK = threading.Lock()


def _drop_call_headers(headers: dict[str, str]) -> None:
    from azure.ai.ml.constants._endpoint import EndpointInvokeFields

    for key in (EndpointInvokeFields.AUTHORIZATION, EndpointInvokeFields.MODEL_DEPLOYMENT,
                EndpointInvokeFields.REPEATABILITY_REQUEST_ID):
        headers.pop(key, None)


@contextlib.contextmanager
def fresh_invoke_headers() -> Iterator[None]:
    """Run one ``invoke`` with azure-ai-ml's shared default headers as shipped.

    azure-ai-ml 1.35's ``online_endpoints.invoke`` and
    ``batch_endpoints.invoke`` take ``EndpointInvokeFields.DEFAULT_HEADER``
    (a module-level dict) and add the call's ``Authorization``,
    ``azureml-model-deployment`` and ``repeatability-request-id`` to it in
    place. Without this, invoking one endpoint with ``deployment_name="blue"``
    makes every later invocation (of any endpoint) ask for ``blue`` too, and
    the endpoint key stays in process memory. The per-call headers are
    removed before and after the call; the lock keeps two threads from
    sharing the dict mid-call (invocations through one process are
    serialised, which is what makes each one correct).
    """
    from azure.ai.ml.constants._endpoint import EndpointInvokeFields

    with _INVOKE_LOCK:
        _drop_call_headers(EndpointInvokeFields.DEFAULT_HEADER)
        try:
            yield
        finally:
            _drop_call_headers(EndpointInvokeFields.DEFAULT_HEADER)


class AzureOnlineEndpointOperations(GuardedGroup):
    """``MLClient.online_endpoints``."""

    _group = "online_endpoints"

    def __init__(self, client: AzureClient) -> None:
        super().__init__(client.ml_client.online_endpoints)

    @guarded("online_endpoints.begin_create_or_update")
    def begin_create_or_update(self, endpoint: OnlineEndpoint, **kwargs: Any) -> Any:
        refuse_local_only("online_endpoints.begin_create_or_update", kwargs)
        return self._ops.begin_create_or_update(endpoint, **kwargs)

    @guarded("online_endpoints.invoke")
    def invoke(self, endpoint_name: str, *, request_file: str | None = None,
               deployment_name: str | None = None, **kwargs: Any) -> Any:
        """``OnlineEndpointOperations.invoke``; headers of earlier calls are not resent."""
        with fresh_invoke_headers():
            return self._ops.invoke(endpoint_name, request_file=request_file,
                                    deployment_name=deployment_name, **kwargs)

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
