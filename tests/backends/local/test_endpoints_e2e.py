"""Online endpoints end to end: real ``python -m automl_local.service`` processes on 127.0.0.1.

One endpoint with two deployments (blue: logistic regression, green: a model
that always answers "yes") is shared by the module; each test states the
traffic it needs. The finalizer deletes the endpoint, which stops every
process it started.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from automl_local.backends import get_client
from automl_local.backends.local._servers import is_port_free
from azure.ai.ml import load_online_deployment, load_online_endpoint
from azure.ai.ml.entities import (
    EndpointAuthKeys,
    ManagedOnlineDeployment,
    ManagedOnlineEndpoint,
    Model,
    OnlineRequestSettings,
    ProbeSettings,
)

from automl_local.exceptions import ConfigError, NotFoundError, ServiceError

pytestmark = pytest.mark.e2e

ENDPOINT = "bank-e2e"
GREEN_YAML = """\
$schema: https://azuremlschemas.azureedge.net/latest/managedOnlineDeployment.schema.json
name: green
endpoint_name: bank-e2e
model: azureml:constmodel@latest
instance_type: Standard_DS3_v2
instance_count: 1
request_settings:
  request_timeout_ms: 3000
  max_concurrent_requests_per_instance: 4
readiness_probe:
  initial_delay: 0
  period: 1
liveness_probe:
  period: 30
"""


@pytest.fixture(scope="module")
def ep(ep_workspace: Any, ep_model_dirs: dict[str, Path], ep_rows: list[dict[str, Any]]) -> Any:
    """The endpoint, its client, keys and an HTTP client; deleted (processes stopped) after."""
    root = ep_workspace("ws-endpoints")
    ml = get_client("local", workspace=root)
    ml.models.create_or_update(Model(name="bankmodel", path=str(ep_model_dirs["blue"]),
                                     type="mlflow_model"))
    ml.models.create_or_update(Model(name="constmodel", path=str(ep_model_dirs["green"]),
                                     type="mlflow_model"))
    (root / "endpoint.yml").write_text(f"name: {ENDPOINT}\nauth_mode: key\n")
    ml.online_endpoints.begin_create_or_update(
        load_online_endpoint(str(root / "endpoint.yml"))
    ).result()
    try:
        blue = ManagedOnlineDeployment(
            name="blue", endpoint_name=ENDPOINT, model="azureml:bankmodel:1",
            instance_type="Standard_DS3_v2", instance_count=1, app_insights_enabled=True,
            request_settings=OnlineRequestSettings(max_concurrent_requests_per_instance=4),
        )
        ml.online_deployments.begin_create_or_update(blue).result()
        (root / "green.yml").write_text(GREEN_YAML)
        ml.online_deployments.begin_create_or_update(
            load_online_deployment(str(root / "green.yml"))).result()
        endpoint = ml.online_endpoints.get(ENDPOINT)
        endpoint.traffic = {"blue": 90, "green": 10}
        ml.online_endpoints.begin_create_or_update(endpoint).result()
        request_file = root / "request.json"
        request_file.write_text(json.dumps(_split(ep_rows)))
        with httpx.Client(base_url=endpoint.scoring_uri.removesuffix("/score"),
                          trust_env=False, timeout=30) as http:
            yield SimpleNamespace(ml=ml, root=root, http=http, request_file=request_file,
                                  rows=ep_rows)
    finally:
        with contextlib.suppress(NotFoundError):
            ml.online_endpoints.begin_delete(ENDPOINT).result()


def _split(rows: list[dict[str, Any]]) -> dict[str, Any]:
    columns = list(rows[0])
    return {"input_data": {"columns": columns, "index": list(range(len(rows))),
                           "data": [[r[c] for c in columns] for r in rows]}}


def _headers(ep: Any, key: str | None = "primary", **extra: str) -> dict[str, str]:
    headers = {"Content-Type": "application/json", **extra}
    if key in ("primary", "secondary"):
        keys = ep.ml.online_endpoints.get_keys(ENDPOINT)
        key = keys.primary_key if key == "primary" else keys.secondary_key
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    return headers


def _set_traffic(ep: Any, traffic: dict[str, int]) -> ManagedOnlineEndpoint:
    endpoint = ep.ml.online_endpoints.get(ENDPOINT)
    endpoint.traffic = traffic
    return ep.ml.online_endpoints.begin_create_or_update(endpoint).result()


def _pid(ep: Any) -> int:
    return ep.ml.workspace.catalogue.get("online_endpoint", ENDPOINT)["pid"]


def test_endpoint_and_deployments_are_described_like_azure(ep) -> None:
    endpoint = ep.ml.online_endpoints.get(ENDPOINT)
    assert isinstance(endpoint, ManagedOnlineEndpoint)
    assert endpoint.provisioning_state == "Succeeded"
    assert endpoint.scoring_uri.startswith("http://127.0.0.1:")
    assert endpoint.scoring_uri.endswith("/score")
    assert endpoint.openapi_uri == endpoint.scoring_uri.replace("/score", "/swagger.json")
    assert [e.name for e in ep.ml.online_endpoints.list()] == [ENDPOINT]
    keys = ep.ml.online_endpoints.get_keys(ENDPOINT)
    assert isinstance(keys, EndpointAuthKeys) and len(keys.primary_key) >= 32
    assert keys.primary_key != keys.secondary_key
    green = ep.ml.online_deployments.get("green", ENDPOINT)
    assert green.provisioning_state == "Succeeded"
    assert green.model.startswith("azureml:") and green.model.endswith(":1")
    assert green.request_settings.request_timeout_ms == 3000
    assert green.readiness_probe.period == 1 and green.readiness_probe.initial_delay == 0
    assert green.liveness_probe.period == 30
    served = json.loads((ep.ml.workspace.endpoint_dir(ENDPOINT) / "endpoint.json").read_text())
    assert served["deployments"]["green"]["liveness_probe"] == {  # Azure's defaults filled in
        "initial_delay": 10, "period": 30, "timeout": 2, "success_threshold": 1,
        "failure_threshold": 30,
    }
    assert {d.name for d in ep.ml.online_deployments.list(ENDPOINT)} == {"blue", "green"}
    key_files = ep.ml.workspace.endpoint_dir(ENDPOINT)
    assert oct(os.stat(key_files / "keys.json").st_mode & 0o777) == "0o600"
    assert oct(os.stat(key_files / "key_hashes.json").st_mode & 0o777) == "0o600"


def test_traffic_split_changes_live_and_header_pins(ep) -> None:
    pid = _pid(ep)
    assert _set_traffic(ep, {"blue": 50, "green": 50}).traffic == {"blue": 50, "green": 50}
    body = json.dumps(_split(ep.rows[1:]))
    seen = Counter(
        ep.http.post("/score", content=body, headers=_headers(ep)).headers[
            "azureml-model-deployment"]
        for _ in range(120)
    )
    assert seen["blue"] > 25 and seen["green"] > 25, seen
    _set_traffic(ep, {"blue": 100})
    for _ in range(20):
        answer = ep.http.post("/score", content=body, headers=_headers(ep))
        assert answer.headers["azureml-model-deployment"] == "blue"
        assert answer.json() == ["no"]
    pinned = ep.http.post("/score", content=body,
                          headers=_headers(ep, **{"azureml-model-deployment": "green"}))
    assert pinned.json() == ["yes"]  # green takes 0 % but answers when pinned
    assert _pid(ep) == pid  # no restart for traffic changes


def test_invoke_like_azure_ai_ml(ep) -> None:
    _set_traffic(ep, {"blue": 100})
    assert json.loads(ep.ml.online_endpoints.invoke(
        ENDPOINT, request_file=str(ep.request_file))) == ["yes", "no"]
    assert json.loads(ep.ml.online_endpoints.invoke(
        endpoint_name=ENDPOINT, request_file=str(ep.request_file),
        deployment_name="green")) == ["yes", "yes"]
    with pytest.raises(NotFoundError, match="Deployment name red not found"):
        ep.ml.online_endpoints.invoke(ENDPOINT, request_file=str(ep.request_file),
                                      deployment_name="red")
    bad = ep.root / "bad-request.json"
    bad.write_text(json.dumps({"input_data": {"columns": ["age"], "data": [[30]]}}))
    with pytest.raises(ServiceError, match=r"answered 400 .*job") as info:
        ep.ml.online_endpoints.invoke(ENDPOINT, request_file=str(bad))
    assert info.value.status_code == 400


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("split", ["yes", "no"]),
        ("split-no-index", ["yes", "no"]),
        ("automl-predict", {"Results": ["yes", "no"]}),
        ("automl-proba", "proba"),
        ("v1", {"result": ["yes", "no"]}),
        ("dataframe_split", {"predictions": ["yes", "no"]}),
        ("dataframe_records", {"predictions": ["yes", "no"]}),
    ],
)
def test_every_request_format(ep, body: str, expected: Any) -> None:
    rows = ep.rows
    payloads = {
        "split": _split(rows),
        "split-no-index": {"input_data": {k: v for k, v in _split(rows)["input_data"].items()
                                          if k != "index"}},
        "automl-predict": {"Inputs": {"data": rows}, "GlobalParameters": {"method": "predict"}},
        "automl-proba": {"Inputs": {"data": rows},
                         "GlobalParameters": {"method": "predict_proba"}},
        "v1": {"data": rows},
        "dataframe_split": {"dataframe_split": _split(rows)["input_data"]},
        "dataframe_records": {"dataframe_records": rows},
    }
    request_file = ep.root / f"request-{body}.json"
    request_file.write_text(json.dumps(payloads[body]))
    via_invoke = json.loads(ep.ml.online_endpoints.invoke(
        ENDPOINT, request_file=str(request_file), deployment_name="blue"))
    via_http = ep.http.post("/score", json=payloads[body],
                            headers=_headers(ep, **{"azureml-model-deployment": "blue"}))
    assert via_http.status_code == 200
    for answer in (via_invoke, via_http.json()):
        if isinstance(answer, str):  # v1 scoring files answer a JSON string
            answer = json.loads(answer)
        if expected == "proba":
            probabilities = answer["Results"]
            assert len(probabilities) == 2 and all(abs(sum(p) - 1) < 1e-6 for p in probabilities)
        else:
            assert answer == expected


def test_keys_are_required_and_regenerate_without_restart(ep) -> None:
    body = _split(ep.rows)
    assert ep.http.post("/score", json=body, headers=_headers(ep, key=None)).status_code == 401
    assert ep.http.post("/score", json=body,
                        headers=_headers(ep, key="wrong-key")).status_code == 401
    assert ep.http.post("/score", json=body,
                        headers=_headers(ep, key="secondary")).status_code == 200
    pid = _pid(ep)
    old = ep.ml.online_endpoints.get_keys(ENDPOINT)
    assert ep.ml.online_endpoints.begin_regenerate_keys(ENDPOINT, key_type="primary").result() \
        is None
    new = ep.ml.online_endpoints.get_keys(ENDPOINT)
    assert new.primary_key != old.primary_key and new.secondary_key == old.secondary_key
    stale = ep.http.post("/score", json=body, headers=_headers(ep, key=old.primary_key))
    assert stale.status_code == 401  # at once, no restart
    assert ep.http.post("/score", json=body, headers=_headers(ep)).status_code == 200
    ep.ml.online_endpoints.begin_regenerate_keys(ENDPOINT, key_type="secondary").result()
    assert ep.http.post("/score", json=body,
                        headers=_headers(ep, key=old.secondary_key)).status_code == 401
    assert _pid(ep) == pid
    with pytest.raises(ConfigError, match="Key type must be 'primary' or 'secondary'"):
        ep.ml.online_endpoints.begin_regenerate_keys(ENDPOINT, key_type="tertiary")


def test_swagger_and_health(ep) -> None:
    assert ep.http.get("/").text.strip('"') == "Healthy"
    swagger = ep.http.get("/swagger.json").json()
    assert swagger["swagger"] == "2.0"
    assert "/score" in swagger["paths"]
    assert "Bearer" in swagger["securityDefinitions"]
    assert "openapi" in ep.http.get("/swagger.json", params={"version": "3"}).json()


def test_bad_requests_get_their_4xx(ep) -> None:
    headers = _headers(ep)
    missing = {"input_data": {"columns": ["age", "balance"], "data": [[30, 10.0]]}}
    answer = ep.http.post("/score", json=missing, headers=headers)
    assert answer.status_code == 400 and "job" in answer.text
    wrong_type = _split([{"age": "old", "job": "admin.", "balance": 1.0}])
    assert ep.http.post("/score", json=wrong_type, headers=headers).status_code == 400
    assert ep.http.post("/score", content=b"{not json", headers=headers).status_code == 400
    text_headers = {**headers, "Content-Type": "text/plain"}
    assert ep.http.post("/score", content=b"age=3", headers=text_headers).status_code == 415
    unknown = {**headers, "azureml-model-deployment": "red"}
    assert ep.http.post("/score", json=_split(ep.rows), headers=unknown).status_code == 404
    huge = b'{"data": "' + b"x" * (11 * 1024 * 1024) + b'"}'
    assert ep.http.post("/score", content=huge, headers=headers).status_code == 413


def test_logs_have_one_json_line_per_request(ep) -> None:
    _set_traffic(ep, {"blue": 100})
    for _ in range(3):
        ep.ml.online_endpoints.invoke(ENDPOINT, request_file=str(ep.request_file))
    logs = ep.ml.online_deployments.get_logs("blue", ENDPOINT, lines=50)
    records = [json.loads(line) for line in logs.splitlines() if line.startswith("{")]
    assert len(records) >= 3
    assert records[-1]["deployment"] == "blue" and records[-1]["status"] == 200
    assert "loading model bankmodel:1" in ep.ml.online_deployments.get_logs(
        "blue", ENDPOINT, lines=10_000)
    assert len(ep.ml.online_deployments.get_logs("blue", ENDPOINT, lines=2).splitlines()) == 2
    storage = ep.ml.online_deployments.get_logs("green", ENDPOINT, lines=5,
                                                container_type="StorageInitializer")
    assert "azureml:constmodel:1" in storage


def test_bounded_load_valid_and_invalid_mixed(ep) -> None:
    """3,000 requests at concurrency 8: every valid one 200, every invalid one its 4xx.

    8 is as many requests as each deployment takes in flight (Azure's 2 x
    max_concurrent_requests_per_instance=4 per instance); more would be 429s.
    """
    _set_traffic(ep, {"blue": 80, "green": 20})
    key = ep.ml.online_endpoints.get_keys(ENDPOINT).primary_key
    valid = json.dumps(_split(ep.rows)).encode()
    cases = [
        ("valid", valid, key, 200),
        ("missing-column", json.dumps({"input_data": {"columns": ["age"], "data": [[1]]}})
         .encode(), key, 400),
        ("no-key", valid, None, 401),
        ("bad-json", b"{oops", key, 400),
    ]
    plan = random.Random(7).choices(cases, weights=[60, 15, 15, 10], k=3000)
    url = str(ep.http.base_url).rstrip("/") + "/score"
    limits = httpx.Limits(max_connections=8, max_keepalive_connections=8)

    with httpx.Client(trust_env=False, timeout=30, limits=limits) as client:
        def send(case: tuple[str, bytes, str | None, int]) -> tuple[str, int, int]:
            name, body, bearer, want = case
            headers = {"Content-Type": "application/json"}
            if bearer:
                headers["Authorization"] = f"Bearer {bearer}"
            return name, want, client.post(url, content=body, headers=headers).status_code

        started = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(send, plan))
        elapsed = time.monotonic() - started
    wrong = Counter((name, want, got) for name, want, got in results if got != want)
    assert not wrong, f"unexpected statuses: {dict(wrong)}"
    assert elapsed < 120
    assert ep.ml.online_endpoints.get(ENDPOINT).provisioning_state == "Succeeded"


def test_failed_update_keeps_the_previous_version_serving(ep, ep_model_dirs) -> None:
    broken = ManagedOnlineDeployment(
        name="green", endpoint_name=ENDPOINT, instance_count=1,
        model=Model(path=str(ep_model_dirs["broken"]), type="mlflow_model"),
    )
    poller = ep.ml.online_deployments.begin_create_or_update(broken)
    with pytest.raises(ServiceError, match=r"deployment 'green' .* failed to start.*did not load"):
        poller.result()
    assert ep.ml.online_deployments.get("green", ENDPOINT).provisioning_state == "Failed"
    pinned = ep.http.post("/score", json=_split(ep.rows),
                          headers=_headers(ep, **{"azureml-model-deployment": "green"}))
    assert pinned.json() == ["yes", "yes"]  # the previous green model still answers
    assert ep.ml.online_endpoints.get(ENDPOINT).provisioning_state == "Succeeded"


def test_dead_server_is_reported_and_redeploying_brings_it_back(ep) -> None:
    endpoint = ep.ml.online_endpoints.get(ENDPOINT)
    os.kill(_pid(ep), signal.SIGKILL)
    deadline = time.monotonic() + 10
    while ep.ml.online_endpoints.get(ENDPOINT).provisioning_state != "Failed":
        assert time.monotonic() < deadline, "the dead server was not noticed"
        time.sleep(0.1)
    assert ep.ml.online_deployments.get("blue", ENDPOINT).provisioning_state == "Failed"
    with pytest.raises(ServiceError, match=r"is not running.*online-endpoint restart"):
        ep.ml.online_endpoints.invoke(ENDPOINT, request_file=str(ep.request_file))
    logs = ep.ml.online_deployments.get_logs("blue", ENDPOINT, lines=5)
    assert "server.log" in logs
    # Re-applying a deployment spec starts the server again (and here also clears
    # green's Failed state from the previous test); the scoring URI is unchanged.
    ep.ml.online_deployments.begin_create_or_update(
        load_online_deployment(str(ep.root / "green.yml"))).result()
    assert ep.ml.online_deployments.get("green", ENDPOINT).provisioning_state == "Succeeded"
    restarted = ep.ml.online_endpoints.get(ENDPOINT)
    assert restarted.provisioning_state == "Succeeded"
    assert restarted.scoring_uri == endpoint.scoring_uri  # same port
    assert json.loads(ep.ml.online_endpoints.invoke(
        ENDPOINT, request_file=str(ep.request_file), deployment_name="blue")) == ["yes", "no"]


def test_spec_errors_are_config_errors(ep) -> None:
    with pytest.raises(ConfigError, match="must add up to 0 or 100"):
        _set_traffic(ep, {"blue": 60, "green": 20})
    with pytest.raises(ConfigError, match="deployment 'red', which does not exist"):
        _set_traffic(ep, {"red": 100})
    with pytest.raises(ConfigError, match=r"online endpoint name 'bad_name' is not valid: "
                                          r"Azure requires 3 to 32 characters"):
        ep.ml.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name="bad_name"))
    with pytest.raises(ConfigError, match="aad_token needs Microsoft Entra ID"):
        ep.ml.online_endpoints.begin_create_or_update(
            ManagedOnlineEndpoint(name="entra-ep", auth_mode="aad_token"))
    with pytest.raises(NotFoundError, match="online endpoint 'nope-ep' was not found"):
        ep.ml.online_deployments.begin_create_or_update(ManagedOnlineDeployment(
            name="blue", endpoint_name="nope-ep", model="azureml:bankmodel:1"))
    with pytest.raises(NotFoundError, match="model 'bankmodel:42' was not found"):
        ep.ml.online_deployments.begin_create_or_update(ManagedOnlineDeployment(
            name="blue", endpoint_name=ENDPOINT, model="azureml:bankmodel:42"))
    with pytest.raises(ConfigError, match=r"readiness_probe.period must be a whole number"):
        ep.ml.online_deployments.begin_create_or_update(ManagedOnlineDeployment(
            name="blue", endpoint_name=ENDPOINT, model="azureml:bankmodel:1",
            readiness_probe=ProbeSettings(period=0)))
    with pytest.raises(ConfigError, match="instance_count must be a whole number"):
        ep.ml.online_deployments.begin_create_or_update(ManagedOnlineDeployment(
            name="blue", endpoint_name=ENDPOINT, model="azureml:bankmodel:1", instance_count=0))


def test_aml_token_endpoints_and_mirror_traffic_rules(ep, caplog) -> None:
    from azure.ai.ml.entities import EndpointAuthToken

    created = ep.ml.online_endpoints.begin_create_or_update(
        ManagedOnlineEndpoint(name="token-ep", auth_mode="aml_token")).result()
    try:
        assert created.auth_mode == "aml_token" and "static bearer token" in caplog.text
        token = ep.ml.online_endpoints.get_keys("token-ep")
        assert isinstance(token, EndpointAuthToken) and len(token.access_token) >= 32
        with pytest.raises(ConfigError, match="Endpoint 'token-ep' does not use keys"):
            ep.ml.online_endpoints.begin_regenerate_keys("token-ep")
        with pytest.raises(ServiceError, match="has no deployment to answer"):
            ep.ml.online_endpoints.invoke("token-ep", request_file=str(ep.request_file))
        ports = {e.scoring_uri for e in ep.ml.online_endpoints.list()}
        assert len(ports) == 2  # each endpoint has its own port
    finally:
        ep.ml.online_endpoints.begin_delete("token-ep").result()
    endpoint = ep.ml.online_endpoints.get(ENDPOINT)
    endpoint.traffic, endpoint.mirror_traffic = {"blue": 100}, {"green": 60}
    with pytest.raises(ConfigError, match=r"mirror_traffic .* 50 % at most"):
        ep.ml.online_endpoints.begin_create_or_update(endpoint)
    endpoint.mirror_traffic = {"blue": 10}
    with pytest.raises(ConfigError, match="cannot take both live and mirrored traffic"):
        ep.ml.online_endpoints.begin_create_or_update(endpoint)


def test_delete_deployment_then_endpoint_frees_the_port(ep) -> None:
    _set_traffic(ep, {"blue": 100})
    with pytest.raises(ConfigError, match=r"'blue' still takes 100 % .*online-endpoint update"):
        ep.ml.online_deployments.begin_delete("blue", ENDPOINT)
    pid = _pid(ep)
    ep.ml.online_deployments.begin_delete("green", ENDPOINT).result()
    assert _pid(ep) == pid  # removing a deployment needs no restart: blue keeps serving
    assert [d.name for d in ep.ml.online_deployments.list(ENDPOINT)] == ["blue"]
    gone = ep.http.post("/score", json=_split(ep.rows),
                        headers=_headers(ep, **{"azureml-model-deployment": "green"}))
    assert gone.status_code == 404
    assert ep.ml.online_endpoints.get(ENDPOINT).traffic == {"blue": 100}
    assert json.loads(ep.ml.online_endpoints.invoke(
        ENDPOINT, request_file=str(ep.request_file))) == ["yes", "no"]
    port = int(ep.ml.online_endpoints.get(ENDPOINT).scoring_uri.split(":")[2].split("/")[0])
    ep.ml.online_endpoints.begin_delete(ENDPOINT).result()
    assert is_port_free(port)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert not ep.ml.workspace.endpoint_dir(ENDPOINT).exists()
    with pytest.raises(NotFoundError, match="online endpoint 'bank-e2e' was not found"):
        ep.ml.online_endpoints.get(ENDPOINT)
    assert ep.ml.workspace.catalogue.list("online_deployment") == []
