"""``data`` and ``models`` on Azure, with the local backend's conveniences.

* ``data.create_or_update`` of an ``mltable`` asset whose path is a local
  CSV / Parquet file (or a plain folder of them) uploads a generated MLTable
  folder, as the jobs group does for job inputs.
* ``models.create_or_update`` of ``azureml://jobs/<job>/outputs/best_model``
  for an AutoML job registers the best trial's MLflow model by the path
  Azure's own samples use, ``azureml://jobs/<best trial>/outputs/artifacts/
  outputs/mlflow-model/``, the trial found through the workspace's MLflow
  tracking server. The same spec registers the job's best model locally.
"""

from __future__ import annotations

import copy
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from automl_local.backends.azure._errors import GuardedGroup, guarded
from automl_local.backends.azure._local_only import refuse_local_only
from automl_local.backends.azure._mltable import is_local_path, to_mltable_folder

if TYPE_CHECKING:
    from automl_local.backends.azure._client import AzureClient
    from azure.ai.ml.entities import Data, Model

__all__ = ["AzureDataOperations", "AzureModelOperations", "best_trial_model_path"]

_JOB_BEST_MODEL = re.compile(r"^azureml://jobs/(?P<job>[^/]+)/outputs/best_model/?$")


def best_trial_model_path(best_child: str) -> str:
    """The registration path of a trial's MLflow model, as in Azure's AutoML notebooks."""
    return f"azureml://jobs/{best_child}/outputs/artifacts/outputs/mlflow-model/"


class AzureDataOperations(GuardedGroup):
    """``MLClient.data``; local CSV/Parquet for an ``mltable`` asset is wrapped in an MLTable."""

    _group = "data"

    def __init__(self, client: AzureClient) -> None:
        super().__init__(client.ml_client.data)

    @guarded("data.create_or_update")
    def create_or_update(self, data: Data, **kwargs: Any) -> Data:
        refuse_local_only("data.create_or_update", kwargs)
        path = str(data.path or "")
        if data.type != "mltable" or not path or not is_local_path(path):
            return self._ops.create_or_update(data, **kwargs)
        source = Path(path).expanduser()
        if not source.is_absolute() and getattr(data, "base_path", None):
            source = Path(data.base_path) / source
        with tempfile.TemporaryDirectory(prefix="automl-azure-") as scratch:
            folder = to_mltable_folder(source, Path(scratch) / "mltable")
            if folder is None:
                return self._ops.create_or_update(data, **kwargs)
            data = copy.deepcopy(data)
            data.path = str(folder)
            return self._ops.create_or_update(data, **kwargs)


class AzureModelOperations(GuardedGroup):
    """``MLClient.models``; an AutoML job's ``best_model`` output registers its best trial."""

    _group = "models"

    def __init__(self, client: AzureClient) -> None:
        super().__init__(client.ml_client.models)
        self._client = client

    @guarded("models.create_or_update")
    def create_or_update(self, model: Model, **kwargs: Any) -> Model:
        refuse_local_only("models.create_or_update", kwargs)
        match = _JOB_BEST_MODEL.match(str(model.path or ""))
        if match:
            job = self._client.ml_client.jobs.get(match["job"])
            if getattr(job, "type", None) == "automl":
                best_child = self._client.mlflow_runs().best_child_run_id(match["job"])
                model = copy.deepcopy(model)
                model.path = best_trial_model_path(best_child)
        return self._ops.create_or_update(model, **kwargs)
