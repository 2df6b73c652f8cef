"""The fake workspace's pipeline side: code uploads, child runs, triggers, batch invocations.

A pipeline job brings calls the AutoML flow never makes: its command
components upload their code through a pending-upload SAS
(``codes/<name>/versions/<v>/startPendingUpload``), the submitted job gets
one child run per node in run history (``jobs.list(parent_job_name=...)``),
a schedule can be fired once (``POST schedules/<name>/trigger``), and a
batch endpoint is invoked by posting a job to its scoring URI. Each answer
is a fixture shaped like Azure's; what the answers create (a triggered
run, an invoked run) is stored as a job, so ``jobs.get`` finds it.
"""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING, Any

from automl_local.backends.azure.testing._transport import (
    FakeAzureTransport,
    FakeResponse,
    RecordedRequest,
)

if TYPE_CHECKING:
    from automl_local.backends.azure.testing._workspace import FakeAzureML

__all__ = ["PipelineServices"]

_ARM_HOST = r"management\.azure\.com"
_WS = (
    r"/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)"
    r"/providers/Microsoft\.MachineLearningServices/workspaces/(?P<ws>[^/]+)"
)
_SCORING_HOST = r"[^.]+\.[a-z0-9]+\.inference\.ml\.azure\.com"


class PipelineServices:
    """Routes of :class:`FakeAzureML` for pipeline jobs, schedules and batch endpoints."""

    def __init__(self, fake: FakeAzureML) -> None:
        self.fake = fake
        self.children: dict[str, list[dict[str, Any]]] = {}  # parent job -> child runs

    def install(self, t: FakeAzureTransport) -> None:
        t.add("POST", "^" + _WS + r"/codes/(?P<name>[^/]+)/versions/(?P<version>[^/]+)"
              r"/startPendingUpload$", self._pending_upload, host=_ARM_HOST)
        t.add("GET", r"^/history/v1\.0" + _WS + r"/runs/(?P<run>[^/]+)/children$",
              self._children)
        t.add("POST", "^" + _WS + r"/schedules/(?P<name>[^/]+)/trigger$", self._trigger,
              host=_ARM_HOST)
        t.add("POST", r"^/jobs$", self._invoke_batch, host=_SCORING_HOST)

    # -- pipeline jobs -------------------------------------------------------------
    def add_children(self, parent: str, properties: dict[str, Any]) -> None:
        """One finished child run per node of a submitted pipeline, named after the node."""
        self.children[parent] = [
            self.fake.fixture("run_child", name=f"{parent}_{node}", parent=parent, node=node,
                              step=str(spec.get("type", "")))
            for node, spec in (properties.get("jobs") or {}).items()
        ]

    def _children(self, request: RecordedRequest, match: re.Match[str]) -> FakeResponse:
        return FakeResponse(200, {"value": self.children.get(match["run"], []),
                                  "nextLink": None})

    def _store_job(self, name: str, properties: dict[str, Any]) -> dict[str, Any]:
        """A job Azure started by itself (trigger, invocation), as ``jobs.get`` will read it."""
        from automl_local.backends.azure.testing._workspace import _deep_merge

        server = self.fake.fixture("job_pipeline", name=name)
        path = f"{self.fake.workspace_path}/jobs/{name}"
        body = _deep_merge({"properties": properties}, server.get("created", {}))
        body.update(id=path, name=name, type="Microsoft.MachineLearningServices/workspaces/jobs")
        self.fake.resources[path.lower()] = _deep_merge(body, server.get("stored", {}))
        if properties.get("jobType") == "Pipeline":
            self.add_children(name, properties)
        return body

    # -- code uploads ---------------------------------------------------------------
    def _pending_upload(self, request: RecordedRequest, match: re.Match[str]) -> FakeResponse:
        """A SAS for a fresh container named after the code asset (what Azure hands out)."""
        account = self.fake.fixture("datastore_workspaceblobstore")["properties"]["accountName"]
        return FakeResponse(200, self.fake.fixture(
            "pending_upload", name=match["name"], account=account,
            container=match["name"].lower()))

    # -- schedules ---------------------------------------------------------------------
    @staticmethod
    def refuse_enabled_delete(name: str, schedule: dict[str, Any]) -> FakeResponse | None:
        """Azure deletes only disabled schedules ("Only disabled schedules can be deleted")."""
        if not (schedule.get("properties") or {}).get("isEnabled", True):
            return None
        return FakeResponse(400, {"error": {
            "code": "UserError",
            "message": f"Schedule '{name}' is enabled. Only disabled schedules can be deleted.",
        }})

    def _trigger(self, request: RecordedRequest, match: re.Match[str]) -> FakeResponse:
        """Fire a schedule once: its ``action.jobDefinition`` becomes a new job."""
        path = f"{self.fake.workspace_path}/schedules/{match['name']}".lower()
        schedule = self.fake.resources.get(path)
        if schedule is None:
            return self.fake._not_found("schedules", match["name"])
        props = schedule.get("properties") or {}
        if not props.get("isEnabled", True):
            return FakeResponse(400, {"error": {
                "code": "UserError",
                "message": f"Schedule '{match['name']}' is disabled; enable it to trigger it.",
            }})
        job_name = f"{match['name']}-{uuid.uuid4().hex[:8]}"
        definition = dict((props.get("action") or {}).get("jobDefinition") or {})
        self._store_job(job_name, definition)
        return FakeResponse(200, self.fake.fixture("schedule_trigger", name=job_name))

    # -- batch endpoints --------------------------------------------------------------
    def _invoke_batch(self, request: RecordedRequest, match: re.Match[str]) -> FakeResponse:
        """``POST <scoring uri>``: an AAD-authenticated run of the chosen deployment."""
        endpoint_name = request.host.split(".", 1)[0]
        endpoint = self.fake.resources.get(
            f"{self.fake.workspace_path}/batchEndpoints/{endpoint_name}".lower())
        if endpoint is None:
            return FakeResponse(404, {"error": {"code": "NotFound",
                                                "message": f"No endpoint {endpoint_name}."}})
        if not request.headers.get("Authorization", "").startswith("Bearer "):
            return FakeResponse(401, {"error": {"code": "Unauthorized",
                                                "message": "An AAD token is required."}})
        defaults = (endpoint.get("properties") or {}).get("defaults") or {}
        deployment = (request.headers.get("azureml-model-deployment")
                      or defaults.get("deploymentName"))
        found = self.fake.resources.get(
            f"{self.fake.workspace_path}/batchEndpoints/{endpoint_name}/deployments/"
            f"{deployment}".lower()) if deployment else None
        if found is None:
            return FakeResponse(400, {"error": {
                "code": "UserError",
                "message": f"Endpoint {endpoint_name} has no deployment {deployment!r} and no "
                           "default deployment.",
            }})
        job_name = f"batchjob-{uuid.uuid4()}"
        config = (found.get("properties") or {}).get("deploymentConfiguration") or {}
        self._store_job(job_name, {  # the run of the deployment's pipeline component
            "jobType": "Pipeline", "experimentName": endpoint_name,
            "componentId": (config.get("componentId") or {}).get("assetId"),
        })
        return FakeResponse(200, self.fake.fixture(
            "batch_job", name=job_name, endpoint=endpoint_name, deployment=str(deployment)))
