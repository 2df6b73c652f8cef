"""``schedules`` on Azure: ``MLClient.schedules`` with the job prepared as a submitted one.

A ``JobSchedule``'s ``create_job`` is prepared as ``jobs.create_or_update``
prepares a job (a private copy, the client's default compute, MLTable
folders for local CSV / Parquet data): azure-ai-ml resolves and uploads it
with its raw ``JobOperations``, which would skip all three, and the
schedule would then fail at its first trigger rather than at creation.
``begin_enable`` / ``begin_disable`` (a GET, then a PUT with ``isEnabled``),
``trigger`` (``POST .../schedules/<name>/trigger``) and ``begin_delete`` are
azure-ai-ml's own, with user mistakes translated.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from automl_local.backends.azure._errors import GuardedGroup, guarded
from automl_local.backends.azure._local_only import refuse_local_method, refuse_local_only
from automl_local.backends.azure._prepare import copy_entity, prepare_job

from automl_local.exceptions import ConfigError

if TYPE_CHECKING:
    from automl_local.backends.azure._client import AzureClient

__all__ = ["AzureScheduleOperations"]

# azure-ai-ml serialises a scheduled command job only with this set (JobSchedule._to_rest_object)
PRIVATE_FEATURES = "AZURE_ML_CLI_PRIVATE_FEATURES_ENABLED"


class AzureScheduleOperations(GuardedGroup):
    """``MLClient.schedules``; a ``JobSchedule``'s job is prepared like a submitted job."""

    _group = "schedules"

    def __init__(self, client: AzureClient) -> None:
        super().__init__(client.ml_client.schedules)
        self._client = client

    @guarded("schedules.begin_create_or_update")
    def begin_create_or_update(self, schedule: Any, **kwargs: Any) -> Any:
        """``ScheduleOperations.begin_create_or_update``, the caller's schedule left unchanged."""
        from azure.ai.ml.entities import Command, CommandJob, Job, JobSchedule, PipelineJob

        refuse_local_only("schedules.begin_create_or_update", kwargs)
        if not (isinstance(schedule, JobSchedule) and isinstance(schedule.create_job, Job)):
            return self._ops.begin_create_or_update(schedule, **kwargs)
        command = isinstance(schedule.create_job, CommandJob | Command)
        if command and os.environ.get(PRIVATE_FEATURES) not in ("True", "true"):
            raise ConfigError(
                f"schedule {schedule.name!r}: create_job is a command job, which azure-ai-ml "
                f"sends to Azure only with its preview features on. Set {PRIVATE_FEATURES}=true, "
                "or make the command the one node of a pipeline (type: pipeline, jobs: {train: "
                "<the command job>}) and schedule that."
            )
        if not (command or isinstance(schedule.create_job, PipelineJob)):
            kind = type(schedule.create_job).__name__
            raise ConfigError(
                f"schedule {schedule.name!r}: create_job is a {kind}, and Azure schedules create "
                "pipeline and command jobs (the local backend also runs AutoML jobs on a "
                "schedule). Make the job the one node of a pipeline (type: pipeline, jobs: "
                "{train: <the AutoML job>}) and schedule that."
            )
        schedule = copy_entity(schedule)
        # the job is uploaded before the poller is returned, so the scratch folder may go then
        with tempfile.TemporaryDirectory(prefix="automl-azure-") as scratch:
            # a command job comes back as the Command node azure-ai-ml 1.35 can send
            schedule.create_job = prepare_job(
                schedule.create_job, default_compute=self._client.default_compute,
                scratch=Path(scratch))
            return self._ops.begin_create_or_update(schedule, **kwargs)

    def history(self, name: str, **kwargs: Any) -> Any:
        """Local only; refused with what to do on Azure."""
        raise refuse_local_method("schedules", "history")

