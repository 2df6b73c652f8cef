"""The scoring app through FastAPI's TestClient: routes, auth, routing, errors, logs, spans."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from automl_local.service._app import create_app
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from automl_local.exceptions import ConfigError


@pytest.fixture
def client(endpoint: Any) -> Iterator[TestClient]:
    with TestClient(create_app(endpoint.path)) as test_client:
        yield test_client


def score(client: TestClient, endpoint: Any, body: Any, **headers: str) -> Any:
    return client.post("/score", json=body, headers=endpoint.headers(**headers))


def test_health_needs_no_key(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.text == "Healthy"


def test_score_with_azure_headers(client: TestClient, endpoint: Any, row: dict) -> None:
    response = client.post(
        "/score",
        json={"input_data": {"columns": list(row), "index": [0], "data": [list(row.values())]}},
        headers=endpoint.headers(**{"x-ms-client-request-id": "my-call-1"}),
    )
    assert response.status_code == 200
    assert response.json() == ["yes"]
    request_id = response.headers["x-request-id"]
    assert uuid.UUID(request_id) and response.headers["x-ms-request-id"] == request_id
    assert response.headers["x-ms-client-request-id"] == "my-call-1"
    assert response.headers["azureml-model-deployment"] in ("blue", "green")
    assert float(response.headers["x-ms-run-fn-exec-ms"]) > 0


def test_each_format_over_http(client: TestClient, endpoint: Any, row: dict) -> None:
    proba = {"Inputs": {"data": [row]}, "GlobalParameters": {"method": "predict_proba"}}
    results = score(client, endpoint, proba).json()["Results"]
    assert len(results[0]) == 2 and results[0][1] > 0.5
    assert score(client, endpoint, {"data": [row]}).json() == {"result": ["yes"]}
    assert score(client, endpoint, {"dataframe_records": [row]}).json() == {"predictions": ["yes"]}


def test_secondary_key_works_and_bad_keys_are_401(
    client: TestClient, endpoint: Any, row: dict
) -> None:
    assert score(client, endpoint, {"data": [row]}, key=endpoint.secondary_key).status_code == 200
    for key in (None, "not-a-key"):
        response = score(client, endpoint, {"data": [row]}, key=key)
        assert response.status_code == 401
        body = response.json()
        assert body["request_id"] == response.headers["x-request-id"]
        assert "Bearer" in body["message"]
    raw = client.post("/score", json={"data": [row]}, headers={"Authorization": "Basic abc"})
    assert raw.status_code == 401


def test_key_regeneration_takes_effect_at_once(
    client: TestClient, endpoint: Any, row: dict
) -> None:
    assert score(client, endpoint, {"data": [row]}).status_code == 200
    endpoint.set_keys("rotated-primary", endpoint.secondary_key)
    old = score(client, endpoint, {"data": [row]})
    assert old.status_code == 401 and "Invalid key" in old.json()["message"]
    assert score(client, endpoint, {"data": [row]}, key="rotated-primary").status_code == 200
    assert score(client, endpoint, {"data": [row]}, key=endpoint.secondary_key).status_code == 200


def test_traffic_change_and_pinning_without_restart(
    client: TestClient, endpoint: Any, row: dict
) -> None:
    endpoint.set_traffic({"blue": 0, "green": 100})
    served = {
        score(client, endpoint, {"data": [row]}).headers["azureml-model-deployment"]
        for _ in range(15)
    }
    assert served == {"green"}
    pinned = score(client, endpoint, {"data": [row]}, **{"azureml-model-deployment": "blue"})
    assert pinned.status_code == 200 and pinned.headers["azureml-model-deployment"] == "blue"
    unknown = score(client, endpoint, {"data": [row]}, **{"azureml-model-deployment": "red"})
    assert unknown.status_code == 404
    assert "Existing deployments: blue, green" in unknown.json()["message"]
    endpoint.set_traffic({"blue": 0, "green": 0})
    none = score(client, endpoint, {"data": [row]})
    assert none.status_code == 503
    assert "No valid deployments to route to" in none.json()["message"]


def test_content_type_and_json_errors(client: TestClient, endpoint: Any) -> None:
    headers = endpoint.headers()
    form = client.post("/score", content=b"a=1", headers={**headers, "Content-Type": "text/plain"})
    assert form.status_code == 415
    assert "Expects Content-Type to be application/json" in form.json()["message"]
    bad = client.post("/score", content=b"{not json", headers=headers)
    assert bad.status_code == 400 and "not valid JSON" in bad.json()["message"]
    empty = client.post("/score", content=b"", headers=headers)
    assert empty.status_code == 400 and "body is empty" in empty.json()["message"]
    charset = {**headers, "Content-Type": "application/json; charset=utf-8"}
    unknown = client.post("/score", content=b'{"rows": []}', headers=charset)
    assert unknown.status_code == 400 and "Unrecognized request format" in unknown.text


def test_bad_columns_are_400(client: TestClient, endpoint: Any, row: dict) -> None:
    wrong = score(client, endpoint, {"data": [{**row, "age": "old"}]})
    assert wrong.status_code == 400
    assert "Column 'age' expects a number" in wrong.json()["message"]
    missing = score(client, endpoint, {"data": [{"age": 30}]})
    assert "Missing required column(s) ['job', 'housing']" in missing.json()["message"]
    nan = score(client, endpoint, {"data": [{**row, "age": None}]})
    assert nan.status_code == 400 and "cannot take missing values" in nan.json()["message"]
    extra = score(client, endpoint, {"data": [{**row, "campaign": 2}]})
    assert extra.status_code == 200
    assert extra.headers["x-automl-ignored-columns"] == "campaign"


def test_body_over_the_limit_is_413(endpoint: Any, row: dict) -> None:
    endpoint.write(max_body_bytes=300)
    big = {"data": [row] * 10}
    with TestClient(create_app(endpoint.path)) as client:
        declared = score(client, endpoint, big)
        assert declared.status_code == 413
        assert "limit of 300 bytes" in declared.json()["message"]

        def chunks() -> Iterator[bytes]:  # no Content-Length: caught while reading
            data = json.dumps(big).encode()
            for i in range(0, len(data), 64):
                yield data[i : i + 64]

        streamed = client.post("/score", content=chunks(), headers=endpoint.headers())
        assert streamed.status_code == 413
        assert score(client, endpoint, {"data": [row]}).status_code == 200


def test_model_failure_is_500_and_logged(endpoint: Any, trap_model_dir: Path, row: dict) -> None:
    endpoint.set_deployment("trap", trap_model_dir)
    pin = {"azureml-model-deployment": "trap"}
    with TestClient(create_app(endpoint.path)) as client:
        failed = score(client, endpoint, {"data": [{**row, "job": "__boom__"}]}, **pin)
        assert failed.status_code == 500
        assert failed.headers["x-ms-run-function-failed"] == "True"
        request_id = failed.json()["request_id"]
        assert request_id == failed.headers["x-request-id"]
        assert score(client, endpoint, {"data": [row]}, **pin).status_code == 200
    log = endpoint.log("trap")
    assert "ERROR [pid" in log and f"request {request_id}: scoring failed" in log
    assert "RuntimeError: boom" in log


def test_request_timeout_is_408_and_the_deployment_recovers(
    endpoint: Any, trap_model_dir: Path, row: dict
) -> None:
    endpoint.set_deployment("trap", trap_model_dir, request_timeout_ms=300)
    pin = {"azureml-model-deployment": "trap"}
    with TestClient(create_app(endpoint.path)) as client:
        started = time.perf_counter()
        slow = score(client, endpoint, {"data": [{**row, "job": "__sleep__"}]}, **pin)
        assert slow.status_code == 408
        assert time.perf_counter() - started < 1.2  # the model sleeps 1.5 s
        assert "request_timeout_ms=300" in slow.json()["message"]
        started = time.perf_counter()
        assert score(client, endpoint, {"data": [row]}, **pin).status_code == 200
        assert time.perf_counter() - started < 1.0  # not queued behind the stuck call
        assert client.get("/").status_code == 200


def test_request_log_lines(endpoint: Any, row: dict) -> None:
    endpoint.set_deployment(
        "blue", app_insights_enabled=True, environment_variables={"AUTOML_LOG_PAYLOADS": "1"}
    )
    endpoint.set_deployment("green", app_insights_enabled=False)
    with TestClient(create_app(endpoint.path)) as client:
        pin = {"azureml-model-deployment": "blue", "x-ms-client-request-id": "c-1"}
        ok = score(client, endpoint, {"data": [row]}, **pin)
        bad = score(client, endpoint, {"data": [{"age": 1}]}, **pin)
        score(client, endpoint, {"data": [row]}, **{"azureml-model-deployment": "green"})
    records = endpoint.log_records("blue")
    assert [r["request_id"] for r in records] == [
        ok.headers["x-request-id"],
        bad.headers["x-request-id"],
    ]
    first = records[0]
    assert {k: first[k] for k in ("endpoint", "deployment", "route", "method", "status")} == {
        "endpoint": "bank-ep",
        "deployment": "blue",
        "route": "/score",
        "method": "POST",
        "status": 200,
    }
    assert first["client_request_id"] == "c-1" and first["duration_ms"] > 0
    assert first["model"] == "bankmodel:1" and first["format"] == "data" and first["rows"] == 1
    assert first["input"] == {"data": [row]} and first["output"] == {"result": ["yes"]}
    assert records[1]["status"] == 400 and "Missing required" in records[1]["message"]
    assert endpoint.log_records("green") == []  # app_insights_enabled false
    text = endpoint.log("blue") + endpoint.log("green")
    assert "loading model bankmodel:1" in text and "ready: worker serving" in text
    assert endpoint.primary_key not in text and "Authorization" not in text


def test_mirror_traffic_gets_a_shadow_copy(endpoint: Any, row: dict) -> None:
    endpoint.write(traffic={"blue": 100}, mirror_traffic={"green": 100})
    with TestClient(create_app(endpoint.path)) as client:
        answer = score(client, endpoint, {"data": [row]})
        assert answer.headers["azureml-model-deployment"] == "blue"
        score(client, endpoint, {"data": [row]}, **{"azureml-model-deployment": "blue"})
    mirrored = endpoint.log_records("green")
    assert len(mirrored) == 1 and mirrored[0]["mirrored"] is True  # pinned calls not mirrored
    assert mirrored[0]["status"] == 200


def test_swagger_docs_metrics_routes(client: TestClient, endpoint: Any, row: dict) -> None:
    spec = client.get("/swagger.json").json()
    assert spec["swagger"] == "2.0" and spec["info"]["title"] == "bank-ep"
    assert list(spec["definitions"]["ServiceInput"]["example"]["input_data"]["data"][0]) == [
        "age",
        "job",
        "balance",
        "housing",
    ]
    assert client.get("/swagger.json?version=3").json()["openapi"] == "3.0.1"
    unsupported = client.get("/swagger.json?version=7")
    assert unsupported.status_code == 404 and "not supported" in unsupported.json()["message"]
    docs = client.get("/docs")
    assert docs.status_code == 200 and "swagger-ui" in docs.text and "/swagger.json" in docs.text
    assert "cdn" not in docs.text.lower()  # every asset from this server (offline)
    css = client.get("/docs/assets/swagger-ui.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert client.get("/docs/assets/../_app.py").status_code == 404
    score(client, endpoint, {"data": [row]}, **{"azureml-model-deployment": "green"})
    metrics = client.get("/metrics")
    assert metrics.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert 'deployment="green",status_code="200"} 1' in metrics.text


def test_unknown_routes_answer_in_the_same_json_style(client: TestClient) -> None:
    missing = client.get("/nope")
    assert missing.status_code == 404 and set(missing.json()) == {"message", "request_id"}
    wrong_method = client.get("/score")
    assert wrong_method.status_code == 405 and "message" in wrong_method.json()


def test_a_model_that_fails_to_load_does_not_stop_the_app(endpoint: Any, row: dict) -> None:
    endpoint.set_deployment("broken", Path("/nonexistent/model"))
    with TestClient(create_app(endpoint.path)) as client:
        assert score(client, endpoint, {"data": [row]}).status_code == 200
        broken = score(client, endpoint, {"data": [row]}, **{"azureml-model-deployment": "broken"})
        assert broken.status_code == 503
        assert "failed to load its model" in broken.json()["message"]
    assert "ERROR" in endpoint.log("broken") and "not an MLflow model folder" in endpoint.log(
        "broken"
    )


def test_spans_per_request(endpoint: Any, row: dict) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with TestClient(create_app(endpoint.path, tracer_provider=provider)) as client:
        ok = score(client, endpoint, {"data": [row]}, **{"azureml-model-deployment": "blue"})
        score(client, endpoint, {"data": [row]}, key="wrong")
    spans = exporter.get_finished_spans()
    assert [s.name for s in spans] == ["/score", "/score"]
    attributes = spans[0].attributes or {}
    assert attributes["Request Id"] == ok.headers["x-request-id"]
    assert attributes["azureml.deployment"] == "blue"
    assert attributes["http.response.status_code"] == 200
    assert (spans[1].attributes or {})["http.response.status_code"] == 401


def test_missing_endpoint_json_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"endpoint.json does not exist"):
        create_app(tmp_path)
