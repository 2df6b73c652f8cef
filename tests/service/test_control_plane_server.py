"""The control-plane server for real: uvicorn on 127.0.0.1, HTTP triggers, keys, restarts."""

from __future__ import annotations

import datetime as dt
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

KIT = Path(__file__).parents[1] / "backends" / "local"
if str(KIT) not in sys.path:  # the pipeline test kit lives beside the backend tests
    sys.path.insert(0, str(KIT))

from automl_local.backends.local.pipelines import (  # noqa: E402
    get_keys,
    regenerate_key,
    server_state,
    start_server,
    stop_server,
)
from pipeline_testkit import load, wait_terminal, write_two_node_pipeline  # noqa: E402

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A workspace with a pipeline published as ``kit-pipeline``, an hourly schedule created
    three hours before the server first starts (so its fire times were missed), and the
    server running with the ``run_once`` missed-run policy."""
    from automl_local.backends import get_client
    from automl_local.backends.local.pipelines import publish_job
    from azure.ai.ml.entities import JobSchedule, RecurrenceTrigger

    root = tmp_path_factory.mktemp("cp")
    ml = get_client("local", workspace=root / "ws")
    path = write_two_node_pipeline(root / "p")
    job = ml.jobs.create_or_update(load(path))
    wait_terminal(ml, job.name)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AUTOML_LOCAL_SERVER_AUTOSTART", "0")
        publish_job(ml, job.name, "kit-pipeline")
        # Fire times at half past "now" (UTC): the last missed one was 30 min ago and the next
        # is 30 min away, so no on-time run can race the missed-run check below.
        start = dt.datetime.now(dt.UTC) - dt.timedelta(hours=3, minutes=30)
        schedule = JobSchedule(
            name="hourly", create_job=load(path),
            trigger=RecurrenceTrigger(frequency="hour", interval=1,
                                      start_time=start.strftime("%Y-%m-%dT%H:%M:%S")),
        )  # fmt: skip
        ml.schedules.begin_create_or_update(schedule).result()
    ml.workspace.catalogue.update("schedule", "hourly", {"anchor": time.time() - 3 * 3600})
    state = start_server(ml.workspace, missed_runs="run_once", tick_seconds=0.2)
    try:
        yield {"ml": ml, "url": state["url"], "job": job.name}
    finally:
        stop_server(ml.workspace)


# Generous: on a busy 2-core machine a run's submission can take a few seconds.
httpx = httpx.Client(timeout=60.0, trust_env=False)  # type: ignore[assignment]


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_trigger_requires_a_key(published: dict[str, Any]) -> None:
    url = f"{published['url']}/pipelines/kit-pipeline"
    body = {"ExperimentName": "rest", "ParameterAssignments": {}}
    missing = httpx.post(url, json=body)
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert "Missing bearer key" in missing.json()["error"]["message"]
    wrong = httpx.post(url, json=body, headers=_auth("not-the-key"))
    assert wrong.status_code == 401 and "Invalid key" in wrong.json()["error"]["message"]
    assert httpx.get(f"{published['url']}/jobs").status_code == 401
    assert httpx.get(f"{published['url']}/").text == "Healthy"  # the probe needs no key
    log = (published["ml"].workspace.root / "control_plane" / "server.log").read_text()
    assert "not-the-key" not in log


def test_classic_trigger_runs_the_pipeline(published: dict[str, Any]) -> None:
    ml, base = published["ml"], published["url"]
    key = get_keys(ml.workspace)["primary"]
    response = httpx.post(
        f"{base}/pipelines/kit-pipeline", headers=_auth(key),
        json={"ExperimentName": "rest-exp", "ParameterAssignments": {"tag": "from-rest"}},
    )  # fmt: skip
    assert response.status_code == 200, response.text
    run_id = response.json()["Id"]
    assert response.json()["ExperimentName"] == "rest-exp"
    assert wait_terminal(ml, run_id)["status"] == "Completed"
    shown = httpx.get(f"{base}/jobs/{run_id}", headers=_auth(key)).json()
    assert shown["status"] == "Completed" and shown["endpoint"] == "kit-pipeline"
    assert [n["name"] for n in shown["nodes"]] == ["prep", "report"]
    assert shown["nodes"][0]["reused"] is False  # the tag changed prep's input
    runs = httpx.get(f"{base}/pipelines/kit-pipeline/runs", headers=_auth(key)).json()
    assert run_id in [r["id"] for r in runs["value"]]


def test_bad_parameters_get_400_naming_them(published: dict[str, Any]) -> None:
    base, key = published["url"], get_keys(published["ml"].workspace)["secondary"]
    url = f"{base}/pipelines/kit-pipeline"
    for body, message in (
        ({"ParameterAssignments": {"tga": "x"}}, "unknown parameter 'tga'"),
        ({"ParameterAssignments": {"raw": ["a"]}}, "parameter 'raw' is a uri_file input"),
        ({"ParameterAssignments": {"raw": "/no/such/file.txt"}}, "not found"),
        ({"ParameterAssignments": "oops"}, "ParameterAssignments"),
        ({"DataPathAssignments": {}}, "DataPathAssignments is not supported locally"),
    ):
        response = httpx.post(url, json=body, headers=_auth(key))
        assert response.status_code == 400, (body, response.text)
        assert message in response.json()["error"]["message"], response.text
    missing = httpx.post(f"{base}/pipelines/nope", json={}, headers=_auth(key))
    assert missing.status_code == 404


def test_batch_endpoint_form(published: dict[str, Any]) -> None:
    ml, base = published["ml"], published["url"]
    key = get_keys(ml.workspace)["primary"]
    body = {"properties": {"InputData": {"tag": {"JobInputType": "Literal", "Value": "first"}},
                           "properties": {"experimentName": "batch-exp"}}}  # fmt: skip
    response = httpx.post(
        f"{base}/endpoints/kit-pipeline/jobs", json=body,
        headers={**_auth(key), "azureml-model-deployment": "default"},
    )  # fmt: skip
    assert response.status_code == 200, response.text
    got = response.json()
    assert got["properties"]["deploymentName"] == "default"
    assert got["properties"]["experimentName"] == "batch-exp"
    final = wait_terminal(ml, got["name"])
    assert final["status"] == "Completed"
    assert all(n["reused"] for n in final["nodes"].values())  # published defaults: all reused
    bad = {"properties": {"InputData": {"tag": {"JobInputType": "Table", "Value": 1}}}}
    response = httpx.post(f"{base}/endpoints/kit-pipeline/jobs", json=bad, headers=_auth(key))
    assert response.status_code == 400 and "JobInputType 'Table'" in response.text
    outputs = {"properties": {"OutputData": {"x": {"JobOutputType": "UriFile", "Uri": "/x"}}}}
    response = httpx.post(f"{base}/endpoints/kit-pipeline/jobs", json=outputs, headers=_auth(key))
    assert response.status_code == 400 and "OutputData is not supported" in response.text
    listed = httpx.get(f"{base}/endpoints/kit-pipeline/jobs", headers=_auth(key)).json()
    assert got["name"] in [r["id"] for r in listed["value"]]


def test_swagger_and_key_rotation(published: dict[str, Any]) -> None:
    ml, base = published["ml"], published["url"]
    page = httpx.get(f"{base}/docs").text
    assert "/docs/assets/swagger-ui-bundle.js" in page and "cdn" not in page.lower()  # offline
    bundle = httpx.get(f"{base}/docs/assets/swagger-ui-bundle.js")
    assert bundle.status_code == 200 and "SwaggerUIBundle" in bundle.text
    schema = httpx.get(f"{base}/openapi.json").json()
    assert "/pipelines/{name}" in schema["paths"] and "/endpoints/{name}/jobs" in schema["paths"]
    assert "HTTPBearer" in schema["components"]["securitySchemes"]
    old = get_keys(ml.workspace)["secondary"]
    new = regenerate_key(ml.workspace, "secondary")["secondary"]
    assert httpx.get(f"{base}/pipelines", headers=_auth(old)).status_code == 401
    listed = httpx.get(f"{base}/pipelines", headers=_auth(new))
    assert listed.status_code == 200 and listed.json()["value"][0]["name"] == "kit-pipeline"
    key_file = ml.workspace.root / "control_plane" / "keys.json"
    assert key_file.stat().st_mode & 0o077 == 0  # owner-only
    assert new not in str(ml.workspace.catalogue.get("control_plane", "keys"))  # only digests


def test_schedules_survive_a_restart_and_missed_runs_fire_once(
    published: dict[str, Any],
) -> None:
    ml = published["ml"]
    entry = _wait_for_history(ml, "hourly", 1)[0]  # fired once at start-up for 3+ missed
    assert entry["reason"] == "missed" and entry["missed"] >= 3 and entry["job_name"]
    assert wait_terminal(ml, entry["job_name"])["status"] == "Completed"

    from automl_local.cli import cli
    from automl_local.cli._common import run_cli

    port = server_state(ml.workspace)["port"]
    workspace = str(ml.workspace.root)
    assert run_cli(cli, ["server", "stop", "--workspace", workspace]) == 0
    assert server_state(ml.workspace) is None
    assert (
        run_cli(cli, ["server", "start", "--workspace", workspace]) == 0
    )  # through the CLI this time
    state = server_state(ml.workspace)
    assert state is not None and state["port"] == port  # the same URL again (port was free)
    key = get_keys(ml.workspace)["primary"]
    listed = httpx.get(f"{state['url']}/schedules", headers=_auth(key)).json()["value"]
    assert [(s["name"], s["isEnabled"], s["runs"]) for s in listed] == [("hourly", True, 1)]
    assert listed[0]["nextRunTime"]
    time.sleep(1.0)  # several ticks: nothing is due, nothing fires twice
    assert len(ml.schedules.history("hourly")) == 1
    fired = httpx.post(f"{state['url']}/schedules/hourly/trigger", headers=_auth(key))
    assert fired.status_code == 200 and fired.json()["schedule_action_type"] == "CreateJob"
    assert wait_terminal(ml, fired.json()["job_name"])["status"] == "Completed"
    assert [h["reason"] for h in ml.schedules.history("hourly")] == ["missed", "trigger"]


def _wait_for_history(ml: Any, name: str, count: int, timeout: float = 60) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        history = ml.schedules.history(name)
        if len(history) >= count:
            return history
        time.sleep(0.2)
    log = (ml.workspace.root / "control_plane" / "server.log").read_text()
    raise AssertionError(f"schedule {name} did not fire within {timeout} s:\n{log[-3000:]}")
