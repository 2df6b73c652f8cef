"""Backend-specific checks the shared scenario calls after each step.

``AzureProbe`` asserts the HTTP requests azure-ai-ml sent through the fake
transport: method, path and the body fields that carry the spec, which is
what Azure would have received. ``LocalProbe`` checks the local side from
the outside (real HTTP against the scoring server, workspace files).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from automl_local.exceptions import NotFoundError

ARM = "https://management.azure.com"


class ContractProbe:
    """No-op hooks; each backend's probe overrides what it can check."""

    def data_registered(self, data: Any) -> None: ...
    def job_submitted(self, submitted: Any, spec: Any) -> None: ...
    def job_finished(self, job: Any) -> None: ...
    def model_downloaded(self, job_name: str, folder: Path) -> None: ...
    def model_registered(self, model: Any, job_name: str) -> None: ...
    def endpoint_created(self, endpoint: Any) -> None: ...
    def deployment_created(self, deployment: Any) -> None: ...
    def traffic_set(self, endpoint: Any) -> None: ...
    def keys_listed(self, endpoint_name: str, keys: Any) -> None: ...
    def invoked(self, endpoint_name: str, deployment_name: str, request_file: Path,
                key: str) -> None: ...
    def logs_read(self, endpoint_name: str, deployment_name: str, logs: str) -> None: ...
    def keys_regenerated(self, endpoint_name: str, old: Any, new: Any) -> None: ...
    def endpoint_deleted(self, endpoint_name: str) -> None: ...
    # the pipeline flow
    def pipeline_submitted(self, submitted: Any, spec: Any) -> None: ...
    def pipeline_finished(self, job: Any) -> None: ...
    def children_listed(self, job_name: str, children: list[Any]) -> None: ...
    def schedules_created(self, cron: Any, recurrence: Any) -> None: ...
    def schedule_triggered(self, schedule_name: str, job_name: str) -> None: ...
    def run_finished(self, job_name: str) -> None: ...
    def schedules_disabled(self, names: tuple[str, ...]) -> None: ...
    def schedules_deleted(self, names: tuple[str, ...]) -> None: ...
    def pipeline_published(self, endpoint: Any, deployment: Any, job_name: str) -> None: ...
    def batch_invoked(self, endpoint_name: str, run: Any) -> None: ...
    def batch_endpoint_deleted(self, endpoint_name: str) -> None: ...


class AzureProbe(ContractProbe):
    """Asserts, step by step, the requests that reached the fake Azure."""

    def __init__(self, client: Any, fake: Any, workdir: Path) -> None:
        self.client = client
        self.fake = fake
        self.transport = fake.transport
        self.ws = fake.workspace_path
        self._seen = 0

    # -- helpers --------------------------------------------------------------
    def _step(self) -> list[Any]:
        """Requests sent since the previous step; none of them unanswered."""
        new = self.transport.requests[self._seen:]
        self._seen = len(self.transport.requests)
        unrouted = [r for r in self.transport.unrouted if r in new]
        assert not unrouted, f"requests the fake Azure did not expect: {unrouted}"
        return new

    @staticmethod
    def _one(requests: list[Any], method: str, path: str, host: str = "management.azure.com"
             ) -> Any:
        found = [r for r in requests if r.method == method and r.host == host and r.path == path]
        sent = "\n  ".join(f"{r.method} {r.host}{r.path}" for r in requests)
        assert found, f"expected {method} {host}{path}; sent:\n  {sent}"
        return found[-1]

    # -- steps -----------------------------------------------------------------
    def data_registered(self, data: Any) -> None:
        sent = self._step()
        put = self._one(sent, "PUT", f"{self.ws}/data/{data.name}/versions/1")
        props = put.json()["properties"]
        assert props["dataType"] == "mltable"
        assert props["dataUri"].startswith("azureml://datastores/workspaceblobstore/paths/")
        uploaded = {r.path.rsplit("/", 1)[-1] for r in sent
                    if r.method == "PUT" and r.host.endswith(".blob.core.windows.net")}
        assert {"MLTable", "train.csv"} <= uploaded, uploaded
        blobs = self.fake.storage.names()
        assert any(b.endswith("/MLTable") for b in blobs)
        assert any(b.endswith("/train.csv") for b in blobs)

    def job_submitted(self, submitted: Any, spec: Any) -> None:
        put = self._one(self._step(), "PUT", f"{self.ws}/jobs/{submitted.name}")
        props = put.json()["properties"]
        task = props["taskDetails"]
        assert props["jobType"] == "AutoML"
        assert props["experimentName"] == spec.experiment_name
        assert props["computeId"] == f"{self.ws}/computes/cpu-cluster"  # the client's --compute
        assert task["taskType"] == "Classification"
        assert task["primaryMetric"] == "AUCWeighted"
        assert task["targetColumnName"] == "y"
        assert task["positiveLabel"] == "yes"
        assert task["trainingData"] == {
            "jobInputType": "mltable", "uri": f"{self.ws}/data/bankmarketing-train/versions/1"}
        assert task["nCrossValidations"] == {"mode": "Custom", "value": 3}
        limits = task["limitSettings"]
        assert limits["maxTrials"] == 3
        assert limits["timeout"] == "PT15M"
        assert limits["trialTimeout"] == "PT5M"
        assert limits["maxConcurrentTrials"] == 1
        assert limits["enableEarlyTermination"] is True
        assert limits["exitScore"] == 0.97
        training = task["trainingSettings"]
        assert training["allowedTrainingAlgorithms"] == [
            "LightGBM", "LogisticRegression", "XGBoostClassifier", "RandomForest"]
        assert training["enableVoteEnsemble"] is True
        assert training["enableStackEnsemble"] is False
        assert training["enableModelExplainability"] is False
        feat = task["featurizationSettings"]
        assert feat["mode"] == "custom"
        assert feat["blockedTransformers"] == ["WordEmbedding"]
        assert feat["transformerParams"]["Imputer"][0] == {
            "fields": ["age", "duration"], "parameters": {"strategy": "median"}}

    def job_finished(self, job: Any) -> None:
        sent = self._step()
        history = f"/history/v1.0{self.ws}/runs/{job.name}/details"
        self._one(sent, "GET", history, host=f"{self.fake.location}.api.azureml.ms")
        self._one(sent, "GET", f"{self.ws}/jobs/{job.name}")

    def model_downloaded(self, job_name: str, folder: Path) -> None:
        sent = self._step()
        self._one(sent, "GET", self.ws)  # the workspace: its MLflow tracking URI
        mlflow = self._one(sent, "GET", f"/mlflow/v1.0{self.ws}/api/2.0/mlflow/runs/get",
                           host=f"{self.fake.location}.api.azureml.ms")
        assert mlflow.query == {"run_id": job_name}
        assert self._claims(mlflow)["aud"] == "https://management.azure.com"
        best = self.fake.best_child(job_name)
        listing = [r for r in sent if r.query.get("comp") == "list"]
        assert listing and listing[0].query["prefix"] == (
            f"ExperimentRun/dcid.{best}/outputs/mlflow-model"), listing
        assert sorted(p.name for p in folder.iterdir()) == sorted(
            p.name for p in self.fake.best_model_dir.iterdir())

    def model_registered(self, model: Any, job_name: str) -> None:
        put = self._one(self._step(), "PUT", f"{self.ws}/models/{model.name}/versions/1")
        props = put.json()["properties"]
        best = self.fake.best_child(job_name)
        assert props["modelType"] == "mlflow_model"
        assert props["modelUri"] == f"azureml://jobs/{best}/outputs/artifacts/outputs/mlflow-model/"

    def endpoint_created(self, endpoint: Any) -> None:
        sent = self._step()
        put = self._one(sent, "PUT", f"{self.ws}/onlineEndpoints/{endpoint.name}")
        body = put.json()
        assert body["properties"]["authMode"] == "Key"
        assert body["location"] == self.fake.location
        assert any("/mfeOperationsStatus/" in r.path for r in sent)  # the LRO was polled
        assert endpoint.scoring_uri == (
            f"https://{endpoint.name}.{self.fake.location}.inference.ml.azure.com/score")

    def deployment_created(self, deployment: Any) -> None:
        endpoint = f"{self.ws}/onlineEndpoints/{deployment.endpoint_name}"
        path = f"{endpoint}/deployments/{deployment.name}"
        body = self._one(self._step(), "PUT", path).json()
        props = body["properties"]
        assert props["appInsightsEnabled"] is True
        assert props["endpointComputeType"] == "Managed"
        assert props["instanceType"] == "Standard_DS3_v2"
        assert props["model"] == f"{self.ws}/models/bankmarketing-best/versions/1"
        assert body["sku"]["capacity"] == 1

    def traffic_set(self, endpoint: Any) -> None:
        put = self._one(self._step(), "PUT", f"{self.ws}/onlineEndpoints/{endpoint.name}")
        assert put.json()["properties"]["traffic"] == {"blue": 100}

    def keys_listed(self, endpoint_name: str, keys: Any) -> None:
        self._one(self._step(), "POST", f"{self.ws}/onlineEndpoints/{endpoint_name}/listKeys")

    def invoked(self, endpoint_name: str, deployment_name: str, request_file: Path,
                key: str) -> None:
        host = f"{endpoint_name}.{self.fake.location}.inference.ml.azure.com"
        score = self._one(self._step(), "POST", "/score", host=host)
        assert score.headers["Authorization"] == f"Bearer {key}"
        assert score.headers["azureml-model-deployment"] == deployment_name
        assert score.headers["Content-Type"] == "application/json"
        assert score.json() == json.loads(request_file.read_text())

    def logs_read(self, endpoint_name: str, deployment_name: str, logs: str) -> None:
        path = f"{self.ws}/onlineEndpoints/{endpoint_name}/deployments/{deployment_name}/getLogs"
        assert self._one(self._step(), "POST", path).json() == {"tail": 50}
        assert "POST /score 200" in logs

    def keys_regenerated(self, endpoint_name: str, old: Any, new: Any) -> None:
        path = f"{self.ws}/onlineEndpoints/{endpoint_name}/regenerateKeys"
        body = self._one(self._step(), "POST", path).json()
        assert body == {"keyType": "Primary", "keyValue": old.primary_key}

    def endpoint_deleted(self, endpoint_name: str) -> None:
        sent = self._step()
        self._one(sent, "DELETE", f"{self.ws}/onlineEndpoints/{endpoint_name}")
        assert not self.transport.unrouted, self.transport.unrouted


class LocalProbe(ContractProbe):
    """Checks the local backend from the outside: real HTTP, workspace state."""

    def __init__(self, client: Any, workdir: Path) -> None:
        self.client = client
        self.workdir = workdir

    def job_finished(self, job: Any) -> None:
        best = self.client.workspace.job_dir(job.name) / "outputs" / "best_model" / "MLmodel"
        assert best.is_file(), f"no best model at {best}"

    def endpoint_created(self, endpoint: Any) -> None:
        assert endpoint.scoring_uri.startswith(("http://127.0.0.1:", "http://localhost:"))

    def keys_regenerated(self, endpoint_name: str, old: Any, new: Any) -> None:
        """The old primary key is refused at once, with no restart; the new one works."""
        import httpx

        uri = self.client.online_endpoints.get(endpoint_name).scoring_uri
        body = {"input_data": {"columns": ["age"], "index": [0], "data": [[1]]}}
        refused = httpx.post(uri, json=body, timeout=30, trust_env=False,
                             headers={"Authorization": f"Bearer {old.primary_key}"})
        assert refused.status_code == 401, refused.text

    def endpoint_deleted(self, endpoint_name: str) -> None:
        try:
            self.client.online_endpoints.get(endpoint_name)
        except NotFoundError:
            return
        raise AssertionError(f"endpoint {endpoint_name} still exists after delete")
