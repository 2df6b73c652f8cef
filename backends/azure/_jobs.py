"""``jobs`` on Azure: ``JobOperations`` plus what a local user should not have to redo.

Differences from the local backend absorbed here:

* **submission** (AutoML and pipeline jobs): a private copy of the job gets
  a default compute and MLTable folders for local CSV / Parquet data before
  azure-ai-ml sends it (see :mod:`backends.azure._prepare`);
* **best model**: ``download(name, output_name="best_model")`` finds the
  best trial through the workspace's MLflow tracking server (parent tag
  ``automl_best_child_run_id``) and downloads its ``outputs/mlflow-model/``
  from the workspace artifact store into ``named-outputs/best_model/``,
  the layout azure-ai-ml uses for named outputs. (azure-ai-ml's own
  model-output download fails in 1.35: its model-URI request is built with
  a keyword the regenerated client no longer takes.)

Everything else is ``JobOperations`` itself, with user mistakes translated:
``list(parent_job_name=...)`` gives a pipeline's child runs (display name =
node name), ``stream`` follows a pipeline as it follows any job.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from automl_local.backends.azure._errors import GuardedGroup, guarded
from automl_local.backends.azure._local_only import refuse_local_method, refuse_local_only
from automl_local.backends.azure._prepare import apply_default_compute, copy_entity, prepare_job
from automl_local.backends.operations import entity_summary

from automl_local.exceptions import ConfigError, JobFailedError, NotFoundError

if TYPE_CHECKING:
    from automl_local.backends.azure._client import AzureClient
    from azure.ai.ml.entities import Job

__all__ = ["BEST_MODEL_OUTPUT", "AzureJobOperations", "best_model_artifact_uri"]

BEST_MODEL_OUTPUT = "best_model"
ARTIFACT_DATASTORE = "workspaceartifactstore"
_TERMINAL = ("Completed", "Failed", "Canceled", "NotResponding")


def best_model_artifact_uri(best_child: str) -> str:
    """Where Azure keeps a trial's MLflow model: its run artifacts in the artifact store."""
    return (f"azureml://datastores/{ARTIFACT_DATASTORE}/paths/ExperimentRun/dcid.{best_child}"
            "/outputs/mlflow-model")


class AzureJobOperations(GuardedGroup):
    """``MLClient.jobs`` with local data conversion, default compute and best-model download."""

    _group = "jobs"

    def __init__(self, client: AzureClient) -> None:
        super().__init__(client.ml_client.jobs)
        self._client = client

    @guarded("jobs.create_or_update")
    def create_or_update(self, job: Job, *, description: str | None = None,
                         compute: str | None = None, tags: dict[str, str] | None = None,
                         experiment_name: str | None = None, skip_validation: bool = False,
                         **kwargs: Any) -> Job:
        """Submit ``job`` (``JobOperations.create_or_update``), uploading local data as MLTable.

        AutoML, command and pipeline jobs alike: the caller's entity is not changed.
        """
        refuse_local_only("jobs.create_or_update", kwargs)
        job = copy_entity(job)
        with tempfile.TemporaryDirectory(prefix="automl-azure-") as scratch:
            job = prepare_job(job, default_compute=self._client.default_compute,
                              scratch=Path(scratch), fill_compute=compute is None)
            return self._ops.create_or_update(
                job, description=description, compute=compute, tags=tags,
                experiment_name=experiment_name, skip_validation=skip_validation, **kwargs,
            )

    @guarded("jobs.validate")
    def validate(self, job: Job, *, raise_on_failure: bool = False, **kwargs: Any) -> Any:
        """``JobOperations.validate`` of the job as ``create_or_update`` would send it.

        That is, with the default compute filled in: a pipeline without one
        would otherwise fail with "Compute not set" although it submits
        fine. The caller's entity is not changed (azure-ai-ml's own
        validation writes compute ids into it).
        """
        refuse_local_only("jobs.validate", kwargs)
        job = copy_entity(job)
        apply_default_compute(job, self._client.default_compute)
        return self._ops.validate(job, raise_on_failure=raise_on_failure, **kwargs)

    @guarded("jobs.stream")
    def stream(
        self, name: str, *, printer: Callable[[dict[str, Any]], None] | None = None,
        **kwargs: Any,
    ) -> None:
        """``JobOperations.stream``: print the job's log until it ends; raise if it failed.

        Azure streams the job's own log; ``printer`` (the CLI's progress view) then gets the
        one structured event Azure has for it, the final status.
        """
        refuse_local_only("jobs.stream", kwargs)
        self._ops.stream(name)
        if printer is not None:
            printer({"event": "status", "status": self.get(name).status})

    def resume(self, name: str, **kwargs: Any) -> Any:
        """Local only; refused with what to do on Azure."""
        raise refuse_local_method("jobs", "resume")

    def events(self, name: str, **kwargs: Any) -> Any:
        """Local only; refused with what to do on Azure."""
        raise refuse_local_method("jobs", "events")

    def result(self, name: str) -> Any:
        """Local only; refused with what to do on Azure."""
        raise refuse_local_method("jobs", "result")

    def output_path(self, name: str, output_name: str = BEST_MODEL_OUTPUT) -> Any:
        """Local only; refused with what to do on Azure."""
        raise refuse_local_method("jobs", "output_path")

    @guarded("jobs.download")
    def download(self, name: str, *, download_path: str | os.PathLike[str] = ".",
                 output_name: str | None = None, all: bool = False, **kwargs: Any) -> None:
        """``JobOperations.download``; ``best_model`` of an AutoML job is fetched here."""
        refuse_local_only("jobs.download", kwargs)
        if output_name != BEST_MODEL_OUTPUT and not all:
            self._ops.download(name, download_path=download_path, output_name=output_name)
            return
        job = self._ops.get(name)
        if getattr(job, "type", None) != "automl":
            self._ops.download(name, download_path=download_path, output_name=output_name,
                               all=all)
            return
        if all:  # logs and default artifacts; the model output is fetched below
            self._ops.download(name, download_path=download_path)
        self._download_best_model(job, Path(download_path))

    def _download_best_model(self, job: Job, download_path: Path) -> Path:
        from azure.ai.ml._artifacts._artifact_utilities import download_artifact_from_aml_uri

        status = str(getattr(job.status, "value", job.status))
        if status not in _TERMINAL:
            raise ConfigError(
                f"job {job.name!r} is {status}; its best model can be downloaded once it has "
                f"finished (wait with `automl-local job stream --name {job.name} "
                "--backend azure`)."
            )
        if status != "Completed":
            raise JobFailedError(
                f"job {job.name!r} ended {status}, so it has no best model to download. See "
                f"its logs in the studio: {getattr(job, 'studio_url', None) or 'ml.azure.com'}."
            )
        best_child = self.best_child_run_id(str(job.name))
        destination = download_path / "named-outputs" / BEST_MODEL_OUTPUT
        download_artifact_from_aml_uri(
            uri=best_model_artifact_uri(best_child), destination=str(destination),
            datastore_operation=self._client.ml_client.datastores,
        )
        if not (destination / "MLmodel").is_file():
            raise NotFoundError(
                f"the best trial {best_child!r} of job {job.name!r} has no MLflow model under "
                f"outputs/mlflow-model in the workspace artifact store. Check the trial's outputs "
                "in the studio."
            )
        return destination

    def summary(self, name: str) -> dict[str, Any]:
        """What ``job show`` reports, from the job entity and (AutoML) its MLflow parent run."""
        job = self.get(name)
        out = entity_summary(job)
        out["error"], out["warnings"] = None, []
        if out["type"] == "automl" and out["status"] == "Completed":
            out["best_child_run_id"] = self.best_child_run_id(name)
            out["outputs"] = {"best_model": f"azureml://jobs/{name}/outputs/best_model"}
        return out

    def best_child_run_id(self, name: str) -> str:
        """The best trial of AutoML job ``name``, from its MLflow parent run's tag."""
        return self._client.mlflow_runs().best_child_run_id(name)
