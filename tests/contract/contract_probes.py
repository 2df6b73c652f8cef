"""Backend-specific checks the shared scenario calls after each step.

``AzureProbe`` asserts the HTTP requests azure-ai-ml sent through the fake
transport: method, path and the body fields that carry the spec, which is
what Azure would have received. ``LocalProbe`` checks the local side from
the outside (real HTTP against the scoring server, workspace files).
"""

from __future__ import annotations

import datetime as dt
import json
import re
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
    def enabled_delete_refused(self, schedule_name: str) -> None: ...
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

    @staticmethod
    def _all(requests: list[Any], method: str, pattern: str) -> list[Any]:
        """Requests with ``method`` whose path matches ``pattern`` (a regex), in order."""
        return [r for r in requests if r.method == method and re.search(pattern, r.path)]

    @staticmethod
    def _claims(request: Any, header: str = "Authorization") -> dict[str, Any]:
        """The claims of the Entra ID token a request carried (the fake's unsigned JWT)."""
        from automl_local.backends.azure.testing import FakeCredential

        return FakeCredential.claims(request.headers[header])

    def _blob_puts(self, requests: list[Any]) -> list[Any]:
        return [r for r in requests if r.method == "PUT" and r.host.endswith(
            ".blob.core.windows.net") and not r.query.get("comp")]

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

    # -- the pipeline flow ------------------------------------------------------
    def pipeline_submitted(self, submitted: Any, spec: Any) -> None:
        sent = self._step()
        put = self._one(sent, "PUT", f"{self.ws}/jobs/{submitted.name}")
        # azure-ai-ml sends the user's Entra ID token for the pipeline's steps to run as
        assert self._claims(put, "x-azureml-token")["aud"] == "https://ml.azure.com"
        props = put.json()["properties"]
        assert props["jobType"] == "Pipeline"
        assert props["experimentName"] == spec.experiment_name
        settings = props["settings"]
        assert settings["default_compute"] == f"{self.ws}/computes/cpu-cluster"  # --compute
        assert settings["continue_on_step_failure"] is False
        raw = props["inputs"]["raw_data"]
        assert raw["jobInputType"] == "mltable"
        assert raw["uri"].startswith("azureml://datastores/workspaceblobstore/paths/LocalUpload/")
        assert raw["uri"].endswith("/raw-mltable")
        assert props["inputs"]["drop_columns"] == {"jobInputType": "literal", "value": "balance"}
        assert props["outputs"]["trained_model"] == {"jobOutputType": "mlflow_model"}
        uploaded = {r.path.rsplit("/", 1)[-1] for r in self._blob_puts(sent)}
        assert {"MLTable", "train.csv", "preprocess.py"} <= uploaded, uploaded

        prep = props["jobs"]["prep_node"]
        assert prep["type"] == "command"
        assert prep["inputs"]["raw_data"] == {"value": "${{parent.inputs.raw_data}}",
                                              "job_input_type": "literal"}
        assert prep["outputs"]["clean_data"] == {"job_output_type": "mltable"}
        # the command component was registered (anonymous), its code uploaded first
        component = self._one(sent, "PUT", prep["componentId"])
        component_spec = component.json()["properties"]["componentSpec"]
        assert component_spec["type"] == "command"
        assert "python preprocess.py" in component_spec["command"]
        code_id = component_spec["code"].removeprefix("azureml:")
        code = self._one(sent, "PUT", code_id).json()["properties"]
        assert code["codeUri"].endswith("/src")
        assert self._all(sent, "POST", re.escape(code_id) + "/startPendingUpload$")

        train = props["jobs"]["train_node"]
        assert train["type"] == "automl"
        assert train["task"] == "classification"
        assert train["primary_metric"] == "accuracy"
        assert train["target_column_name"] == "y"
        assert train["training_data"] == "${{parent.jobs.prep_node.outputs.clean_data}}"
        assert train["limits"] == {"max_concurrent_trials": 1, "max_trials": 2,
                                   "timeout_minutes": 5}
        assert train["training"]["allowed_training_algorithms"] == ["logistic_regression"]
        assert train["training"]["enable_vote_ensemble"] is False
        assert train["training"]["enable_stack_ensemble"] is False
        assert train["outputs"]["best_model"] == {"value": "${{parent.outputs.trained_model}}",
                                                  "type": "literal"}

    def pipeline_finished(self, job: Any) -> None:
        sent = self._step()
        history = f"/history/v1.0{self.ws}/runs/{job.name}/details"
        self._one(sent, "GET", history, host=f"{self.fake.location}.api.azureml.ms")
        self._one(sent, "GET", f"{self.ws}/jobs/{job.name}")

    def children_listed(self, job_name: str, children: list[Any]) -> None:
        sent = self._step()
        self._one(sent, "GET", f"/history/v1.0{self.ws}/runs/{job_name}/children",
                  host=f"{self.fake.location}.api.azureml.ms")
        assert {c.properties["azureml.nodeid"] for c in children} == {"prep_node", "train_node"}

    def schedules_created(self, cron: Any, recurrence: Any) -> None:
        sent = self._step()
        nightly = self._one(sent, "PUT", f"{self.ws}/schedules/{cron.name}").json()["properties"]
        assert nightly["displayName"] == cron.display_name
        assert nightly["trigger"] == {"triggerType": "Cron", "expression": "0 2 * * *",
                                      "timeZone": "UTC"}
        assert nightly["action"]["actionType"] == "CreateJob"
        job = nightly["action"]["jobDefinition"]
        assert job["jobType"] == "Pipeline"
        assert job["settings"]["default_compute"] == f"{self.ws}/computes/cpu-cluster"
        assert job["jobs"]["train_node"]["task"] == "classification"
        assert job["jobs"]["prep_node"]["componentId"].startswith(
            f"{self.ws}/components/azureml_anonymous/versions/")
        # the code and the data were found by content hash: nothing is uploaded twice
        assert not self._blob_puts(sent), self._blob_puts(sent)
        assert not self._all(sent, "POST", r"/startPendingUpload$")

        weekly = self._one(sent, "PUT", f"{self.ws}/schedules/{recurrence.name}").json()
        weekly = weekly["properties"]
        assert weekly["trigger"] == {
            "triggerType": "Recurrence", "frequency": "week", "interval": 1, "timeZone": "UTC",
            "schedule": {"hours": [2, 14], "minutes": [0], "weekDays": ["monday"]}}
        definition = weekly["action"]["jobDefinition"]
        assert definition["jobType"] == "Pipeline"
        assert definition["sourceJobId"] == recurrence.create_job  # azureml:<pipeline job>
        for name in (cron.name, recurrence.name):  # each creation is a polled LRO
            assert self._all(sent, "GET", rf"/mfeOperationsStatus/put-schedules-{name}$")

    def schedule_triggered(self, schedule_name: str, job_name: str) -> None:
        sent = self._step()
        post = self._one(sent, "POST", f"{self.ws}/schedules/{schedule_name}/trigger")
        assert post.query["api-version"] == "2024-01-01-preview"
        scheduled = dt.datetime.fromisoformat(post.json()["scheduleTime"])
        assert abs((dt.datetime.now(dt.UTC) - scheduled).total_seconds()) < 120
        assert job_name.startswith(f"{schedule_name}-")

    def run_finished(self, job_name: str) -> None:
        sent = self._step()
        self._one(sent, "GET", f"{self.ws}/jobs/{job_name}")
        self._one(sent, "GET", f"/history/v1.0{self.ws}/runs/{job_name}/details",
                  host=f"{self.fake.location}.api.azureml.ms")

    def enabled_delete_refused(self, schedule_name: str) -> None:
        """The DELETE was sent and refused by Azure (400), not by the adapter."""
        sent = self._step()
        self._one(sent, "DELETE", f"{self.ws}/schedules/{schedule_name}")
        assert not self._all(sent, "GET", r"/mfeOperationsStatus/delete-schedules-")

    def schedules_disabled(self, names: tuple[str, ...]) -> None:
        sent = self._step()
        for name in names:  # azure-ai-ml reads the schedule and puts it back, disabled
            self._one(sent, "GET", f"{self.ws}/schedules/{name}")
            put = self._one(sent, "PUT", f"{self.ws}/schedules/{name}").json()["properties"]
            assert put["isEnabled"] is False
            assert put["action"]["actionType"] == "CreateJob"

    def schedules_deleted(self, names: tuple[str, ...]) -> None:
        sent = self._step()
        for name in names:
            self._one(sent, "DELETE", f"{self.ws}/schedules/{name}")

    def pipeline_published(self, endpoint: Any, deployment: Any, job_name: str) -> None:
        sent = self._step()
        path = f"{self.ws}/batchEndpoints/{endpoint.name}"
        puts = self._all(sent, "PUT", "^" + re.escape(path) + "$")
        assert len(puts) == 2, puts  # created, then updated with its default deployment
        assert puts[0].json()["properties"]["authMode"] == "aadToken"
        assert "defaults" not in puts[0].json()["properties"]
        assert puts[1].json()["properties"]["defaults"] == {"deploymentName": deployment.name}
        # from a job: azure-ai-ml registers a pipeline component made from it first
        component = self._one(sent, "PUT", f"{self.ws}/components/azureml_anonymous/versions/1")
        assert component.json()["properties"]["componentSpec"]["sourceJobId"] == job_name
        assert component.json()["properties"]["componentSpec"]["type"] == "pipeline"
        body = self._one(sent, "PUT", f"{path}/deployments/{deployment.name}").json()
        config = body["properties"]["deploymentConfiguration"]
        assert config["deploymentConfigurationType"] == "PipelineComponent"
        assert config["componentId"] == {
            "assetId": f"{self.ws}/components/azureml_anonymous/versions/1",
            "referenceType": "Id"}
        assert endpoint.scoring_uri == (
            f"https://{endpoint.name}.{self.fake.location}.inference.ml.azure.com/jobs")

    def batch_invoked(self, endpoint_name: str, run: Any) -> None:
        sent = self._step()
        host = f"{endpoint_name}.{self.fake.location}.inference.ml.azure.com"
        post = self._one(sent, "POST", "/jobs", host=host)
        assert self._claims(post)["aud"] == "https://ml.azure.com"  # Entra ID, not a key
        assert post.json() == {"properties": {"inputData": {
            "drop_columns": {"jobInputType": "Literal", "value": "balance"}}}}
        assert "azureml-model-deployment" not in post.headers  # the endpoint's default
        assert str(run.name).startswith("batchjob-")

    def batch_endpoint_deleted(self, endpoint_name: str) -> None:
        sent = self._step()
        self._one(sent, "DELETE", f"{self.ws}/batchEndpoints/{endpoint_name}")
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

    # -- the pipeline flow ------------------------------------------------------
    def _record(self, job_name: str) -> dict[str, Any]:
        return dict(self.client.workspace.catalogue.require("job", job_name))

    def pipeline_finished(self, job: Any) -> None:
        """The AutoML node's model is the pipeline's output, as an MLflow model folder."""
        model = self.client.jobs.output_path(job.name, "trained_model")
        assert (model / "MLmodel").is_file(), sorted(p.name for p in model.iterdir())
        nodes = self._record(job.name)["nodes"]
        assert not any(n.get("reused") for n in nodes.values())  # a first run computes
        assert nodes["train_node"]["child_job"] == f"{job.name}_train_node"

    def schedules_created(self, cron: Any, recurrence: Any) -> None:
        """Stored with their next fire times; no server was started (the suite turns it off)."""
        from automl_local.backends.local.pipelines import server_state

        for name in (cron.name, recurrence.name):
            upcoming = self.client.schedules.get(name).properties["automl_local.next_run_time"]
            assert dt.datetime.fromisoformat(upcoming) > dt.datetime.now(dt.UTC)
        assert server_state(self.client.workspace) is None

    def schedule_triggered(self, schedule_name: str, job_name: str) -> None:
        last = self.client.schedules.history(schedule_name)[-1]
        assert (last["reason"], last["job_name"], last["error"]) == ("trigger", job_name, None)
        assert self._record(job_name)["origin"]["schedule"] == schedule_name

    def run_finished(self, job_name: str) -> None:
        """A re-run of the same pipeline on the same data reuses every step."""
        nodes = self._record(job_name)["nodes"]
        assert set(nodes) == {"prep_node", "train_node"}
        assert all(n.get("reused") for n in nodes.values()), nodes

    def pipeline_published(self, endpoint: Any, deployment: Any, job_name: str) -> None:
        stored = self.client.batch_deployments.get(deployment.name, endpoint.name)
        assert stored.job_definition == job_name

    def batch_invoked(self, endpoint_name: str, run: Any) -> None:
        origin = self._record(run.name)["origin"]
        assert origin == {"endpoint": endpoint_name, "deployment": "pipeline-v1",
                          "via": "python"}
