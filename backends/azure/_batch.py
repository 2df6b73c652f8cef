"""``batch_endpoints`` and ``batch_deployments`` on Azure: publishing a pipeline.

Azure's v2 way to put a pipeline behind a REST trigger is a batch endpoint
with a ``PipelineComponentBatchDeployment``. These are ``MLClient``'s own
groups, with user mistakes translated, plus a clear refusal of a
``job_definition`` that is a pipeline job never submitted: Azure builds the
deployment's component from an existing job, and azure-ai-ml would only
say it cannot find a job named ``None``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from automl_local.exceptions import ConfigError
from backends.azure._errors import GuardedGroup, guarded
from backends.azure._local_only import refuse_local_only
from backends.azure._prepare import copy_entity

if TYPE_CHECKING:
    from backends.azure._client import AzureClient

__all__ = ["AzureBatchDeploymentOperations", "AzureBatchEndpointOperations"]


class AzureBatchEndpointOperations(GuardedGroup):
    """``MLClient.batch_endpoints`` (``invoke`` posts a job with the client's Entra ID token)."""

    _group = "batch_endpoints"

    def __init__(self, client: AzureClient) -> None:
        super().__init__(client.ml_client.batch_endpoints)

    @guarded("batch_endpoints.begin_create_or_update")
    def begin_create_or_update(self, endpoint: Any, **kwargs: Any) -> Any:
        refuse_local_only("batch_endpoints.begin_create_or_update", kwargs)
        return self._ops.begin_create_or_update(endpoint, **kwargs)


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
