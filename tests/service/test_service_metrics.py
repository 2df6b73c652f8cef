"""Prometheus text output and the summing of several workers' snapshots (no HTTP)."""

from __future__ import annotations

import json
from pathlib import Path

from automl_local.service._logging import DeploymentLog, payload_logging_enabled
from automl_local.service._metrics import Metrics


def test_counts_and_histogram(tmp_path: Path) -> None:
    metrics = Metrics("ep", tmp_path)
    metrics.set_model("blue", "bankmodel:1")
    metrics.observe("blue", 200, 0.003)
    metrics.observe("blue", 200, 0.02)
    metrics.observe("blue", 400, 0.001)
    metrics.observe("", 401, 0.0001)
    text = metrics.render()
    bucket = 'automl_endpoint_request_duration_seconds_bucket{endpoint="ep",deployment="blue",le='
    assert (
        'automl_endpoint_requests_total{endpoint="ep",deployment="blue",status_code="200"} 2'
        in text
    )
    assert (
        'automl_endpoint_requests_total{endpoint="ep",deployment="",status_code="401"} 1' in text
    )
    assert bucket + '"0.001"} 1' in text
    assert bucket + '"0.005"} 2' in text
    assert bucket + '"+Inf"} 3' in text
    assert (
        'automl_endpoint_request_duration_seconds_count{endpoint="ep",deployment="blue"} 3' in text
    )
    assert (
        'automl_endpoint_model_info{endpoint="ep",deployment="blue",model="bankmodel:1"} 1' in text
    )
    assert "# TYPE automl_endpoint_request_duration_seconds histogram" in text


def test_snapshots_of_all_workers_are_summed(tmp_path: Path) -> None:
    one, two = Metrics("ep", tmp_path), Metrics("ep", tmp_path)
    one.observe("blue", 200, 0.01)
    two.observe("blue", 200, 0.01)
    two.observe("green", 500, 0.2)
    two.publish()
    text = one.render()  # publishes its own, reads both
    assert 'deployment="blue",status_code="200"} 2' in text
    assert 'deployment="green",status_code="500"} 1' in text
    assert len(list(tmp_path.glob("*.json"))) == 2


def test_deployment_log_lines_and_records(tmp_path: Path) -> None:
    log = DeploymentLog(tmp_path / "d" / "deployment.log")
    log.line("loading model\nwith a second line")
    log.request({"request_id": "r1", "status": 200}, payload={"data": [1]}, output=["yes"])
    log.request({"request_id": "r2", "status": 200}, payload={"data": "x" * 70000})
    log.close()
    log.line("after close is a no-op")
    lines = (tmp_path / "d" / "deployment.log").read_text().splitlines()
    assert lines[0].endswith("loading model") and " INFO [pid " in lines[0]
    assert lines[1] == "    with a second line"
    first, second = json.loads(lines[2]), json.loads(lines[3])
    assert first["input"] == {"data": [1]} and first["output"] == ["yes"]
    assert first["time"].endswith("Z")
    assert second["input"] == {"truncated": True, "json_bytes": 70011}
    assert len(lines) == 4


def test_payload_logging_switch() -> None:
    assert payload_logging_enabled({"AUTOML_LOG_PAYLOADS": "1"})
    assert payload_logging_enabled({"AUTOML_LOG_PAYLOADS": "true"})
    assert not payload_logging_enabled({"AUTOML_LOG_PAYLOADS": "0"})
