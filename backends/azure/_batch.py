"""``batch_endpoints`` and ``batch_deployments`` on Azure: publishing a pipeline.

Azure's v2 way to put a pipeline behind a REST trigger is a batch endpoint
with a ``PipelineComponentBatchDeployment``. These are ``MLClient``'s own
groups, with user mistakes translated, plus:

* plain values given to ``invoke(inputs=...)`` (pipeline parameters, as
  the local backend takes them) are sent as Azure's literal inputs;
* a ``job_definition`` that is a pipeline job never submitted is refused
  with what to do: Azure builds the deployment's component from an
  existing job, and azure-ai-ml would only say it cannot find a job named
  ``None``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from automl_local.backends.azure._endpoints import fresh_invoke_headers
from automl_local.backends.azure._errors import GuardedGroup, guarded
from automl_local.backends.azure._local_only import refuse_local_only
from automl_local.backends.azure._prepare import copy_entity

from automl_local.exceptions import ConfigError

if TYPE_CHECKING:
    from automl_local.backends.azure._client import AzureClient

__all__ = ["AzureBatchDeploymentOperations", "AzureBatchEndpointOperations", "literal_inputs"]


def literal_inputs(inputs: dict[str, Any] | None) -> dict[str, Any] | None:
    """Plain values given as pipeline parameters, as the literal ``Input`` Azure expects.

    Locally ``invoke(inputs={"drop_columns": "balance"})`` sets a pipeline
    input; azure-ai-ml would put the bare value in the request, which Azure
    does not read as a literal (``{"jobInputType": "Literal", "value": ...}``
    is what it takes). ``Input`` objects pass unchanged, so data parameters
    are given as ``Input(type="mltable", path="azureml:<asset>:<version>")``:
    a plain string is always a literal here (Azure does not say which
    parameters are data).
    """
    if not inputs:
        return inputs
    from azure.ai.ml import Input

    converted: dict[str, Any] = {}
    for name, value in inputs.items():
        if isinstance(value, bool):
            converted[name] = Input(type="boolean", default=value)
        elif isinstance(value, int):
            converted[name] = Input(type="integer", default=value)
        elif isinstance(value, float):
            converted[name] = Input(type="number", default=value)
        elif isinstance(value, str):
            converted[name] = Input(type="string", default=value)
        else:
            converted[name] = value
    return converted


class AzureBatchEndpointOperations(GuardedGroup):
    """``MLClient.batch_endpoints`` (``invoke`` posts a job with the client's Entra ID token)."""

    _group = "batch_endpoints"

    def __init__(self, client: AzureClient) -> None:
        super().__init__(client.ml_client.batch_endpoints)

    @guarded("batch_endpoints.begin_create_or_update")
    def begin_create_or_update(self, endpoint: Any, **kwargs: Any) -> Any:
        refuse_local_only("batch_endpoints.begin_create_or_update", kwargs)
        return self._ops.begin_create_or_update(endpoint, **kwargs)

    @guarded("batch_endpoints.invoke")
    def invoke(self, endpoint_name: str, *, deployment_name: str | None = None,
               inputs: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """``BatchEndpointOperations.invoke``: ``POST <scoring uri>`` with an Entra ID token.

        Plain parameter values in ``inputs`` are sent as literal inputs
        (see :func:`literal_inputs`); the returned ``BatchJob``'s name is a
        job that ``jobs.stream`` / ``jobs.get`` follow.
        """
        refuse_local_only("batch_endpoints.invoke", kwargs)
        with fresh_invoke_headers():
            return self._ops.invoke(endpoint_name, deployment_name=deployment_name,
                                    inputs=literal_inputs(inputs), **kwargs)


class AzureBatchDeploymentOperations(GuardedGroup):
    """``MLClient.batch_deployments``; an unsubmitted ``job_definition`` gets a clear error."""

    _group = "batch_deployments"

    def __init__(self, client: AzureClient) -> None:
        super().__init__(client.ml_client.batch_deployments)

    @guarded("batch_deployments.begin_create_or_update")
    def begin_create_or_update(self, deployment: Any, **kwargs: Any) -> Any:
        """``BatchDeploymentOperations.begin_create_or_update``, caller's entity unchanged.

        For a pipeline deployment built from ``job_definition``, azure-ai-ml
        first registers a pipeline component made from that job
        (``PUT .../components/<name>/versions/<version>``), then puts the
        deployment pointing at it.
        """
        from azure.ai.ml.entities import PipelineComponentBatchDeployment, PipelineJob

        refuse_local_only("batch_deployments.begin_create_or_update", kwargs)
        if isinstance(deployment, PipelineComponentBatchDeployment):
            definition = deployment.job_definition
            if isinstance(definition, PipelineJob) and not definition.name:
                raise ConfigError(
                    f"batch deployment {deployment.name!r}: job_definition is a pipeline job that "
                    "was never submitted, and Azure builds a pipeline deployment from an existing "
                    "job. Submit it first (job = ml_client.jobs.create_or_update(pipeline_job)) "
                    "and pass job_definition=job.name, or give component= instead."
                )
            deployment = copy_entity(deployment)
        return self._ops.begin_create_or_update(deployment, **kwargs)
