"""request_settings and probes through a real server: 429, 408, 413 and readiness over HTTP.

One server per module with three deployments: ``slow`` and ``quick`` run the
trap model (it sleeps 1.5 s for job "__sleep__"), ``blue`` the plain model.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from _live import Server, run_server, wait_until
from automl_local.backends.local._probes import probe_deployment, wait_ready

from automl_local.exceptions import ServiceError

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, make_endpoint: Any, trap_model_dir: Path
) -> Iterator[Server]:
    folder = make_endpoint(tmp_path_factory.mktemp("settings") / "bank-ep", {"blue": 100})
    folder.set_deployment("slow", trap_model_dir, max_concurrent_requests_per_instance=1)
    folder.set_deployment("quick", trap_model_dir, request_timeout_ms=300)
    folder.set_deployment("broken", Path("/nonexistent/model"))
    with run_server(folder) as server:
        yield server


def _sleepy(row: dict[str, Any]) -> dict[str, Any]:
    return {"data": [{**row, "job": "__sleep__"}]}


def test_429_beyond_twice_max_concurrent_requests(server: Server, row: dict) -> None:
    """max_concurrent_requests_per_instance=1: one runs, one waits, the third is refused."""
    answers: list[httpx.Response] = []
    start = threading.Barrier(3)

    def call() -> None:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            start.wait()
            answers.append(
                client.post(
                    "/score",
                    json=_sleepy(row),
                    headers=server.endpoint.headers(**{"azureml-model-deployment": "slow"}),
                )
            )

    threads = [threading.Thread(target=call) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(a.status_code for a in answers)
    assert codes == [200, 200, 429], [a.text for a in answers]
    refused = next(a for a in answers if a.status_code == 429)
    assert set(refused.json()) == {"message", "request_id"}
    assert refused.json()["message"].startswith("Too many pending requests: deployment 'slow'")
    assert "max_concurrent_requests_per_instance=1" in refused.json()["message"]
    assert refused.headers["azureml-model-deployment"] == "slow"
    after = server.score({"data": [row]}, **{"azureml-model-deployment": "slow"})
    assert after.status_code == 200  # the slots are given back


def test_408_after_request_timeout_ms_and_the_deployment_recovers(
    server: Server, row: dict
) -> None:
    started = time.perf_counter()
    slow = server.score(_sleepy(row), **{"azureml-model-deployment": "quick"})
    took = time.perf_counter() - started
    assert slow.status_code == 408, slow.text
    assert "request_timeout_ms=300" in slow.json()["message"] and took < 1.4
    ok = server.score({"data": [row]}, **{"azureml-model-deployment": "quick"})
    assert ok.status_code == 200


def _raw_post(port: int, size: int, chunked: bool, pause: float) -> bytes:
    """Send a body of ``size`` bytes (declared or chunked), pausing after the first MB."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}"
        head = (
            "POST /score HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Authorization: Bearer primary-key-0123456789\r\n{framing}\r\n\r\n"
        )
        sock.sendall(head.encode())
        piece = b" " * 65536
        sent = 0
        try:
            while sent < size:
                sock.sendall(b"10000\r\n" + piece + b"\r\n" if chunked else piece)
                sent += len(piece)
                if sent == 1 << 20:
                    time.sleep(pause)  # the server has answered by now
            if chunked:
                sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the answer below is what matters
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
        return answer


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_24_mb_body_gets_a_413_the_client_can_read(server: Server, chunked: bool) -> None:
    port = int(server.url.rsplit(":", 1)[1])
    answer = _raw_post(port, 24 * 1024 * 1024, chunked, pause=0.3)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413"), answer[:300]
    assert "larger than this endpoint's limit of 10485760 bytes" in json.loads(body)["message"]
    assert server.healthy()


def test_readiness_is_per_deployment_and_needs_the_model(server: Server) -> None:
    port = int(server.url.rsplit(":", 1)[1])
    assert server.http.get("/").text == "Healthy"  # liveness: the process answers
    assert probe_deployment(port, "blue", 2.0)
    broken = server.http.get("/", headers={"azureml-model-deployment": "broken"})
    assert broken.status_code == 503 and "failed to load its model" in broken.json()["message"]
    assert not probe_deployment(port, "broken", 2.0)
    settings = {"initial_delay": 0, "period": 1, "timeout": 1, "failure_threshold": 2}
    assert wait_ready(port, "blue", settings) == 1
    started = time.monotonic()
    with pytest.raises(ServiceError, match=r"'broken' failed its readiness probe 2 times"):
        wait_ready(port, "broken", settings)
    assert 0.9 < time.monotonic() - started < 5  # one period between the two probes


def _hang_model(path: Path) -> Path:
    """A pipeline that sleeps 6 s for job "__hang__", and otherwise scores a row in well
    under ``INLINE_MS`` (a one-hot encoder took it past 5 ms on a slower machine, and every
    request then went to the threads, where a hang cannot block the event loop)."""
    from _testdata import save_sklearn_model
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    def hang(frame: Any) -> Any:  # pickled by value by cloudpickle
        import time

        if "__hang__" in set(frame["job"].astype(str)):
            time.sleep(6)
        return frame[["age"]].to_numpy(dtype=float)

    frame = pd.DataFrame({"age": [30, 40, 50, 60] * 10, "job": ["a", "b", "c", "d"] * 10})
    pipe = make_pipeline(FunctionTransformer(hang), LogisticRegression()).fit(
        frame, ["no", "yes"] * 20
    )
    return save_sklearn_model(pipe, frame, path)


def test_liveness_probe_replaces_a_worker_whose_event_loop_hangs(
    tmp_path: Path, make_endpoint: Any
) -> None:
    folder = make_endpoint(tmp_path / "bank-ep", {"blue": 100})
    probe = {"initial_delay": 0, "period": 1, "timeout": 1, "failure_threshold": 2}
    folder.set_deployment("hang", _hang_model(tmp_path / "hang"), liveness_probe=probe)
    with run_server(folder) as server:
        pinned = {"azureml-model-deployment": "hang"}
        for _attempt in range(6):
            # Quick answers first: then requests to "hang" are scored on the event loop (on a
            # very busy machine they may not be, and the hang only holds a thread: try again).
            # 60 of them: the moving average keeps 0.8**60 of a previous attempt's 5 s timeout.
            for _ in range(60):
                ok = server.score({"data": [{"age": 30, "job": "a"}]}, **pinned)
                assert ok.status_code == 200
            try:
                server.http.post(
                    "/score",
                    json={"data": [{"age": 30, "job": "__hang__"}]},
                    headers=server.endpoint.headers(**pinned),
                    timeout=20,
                )
            except httpx.HTTPError:  # the worker exited under this request
                break
        else:
            pytest.fail("the event loop never hung long enough for the liveness probe")
        log = server.endpoint.log("hang")
        assert "liveness probe failed 2 times in a row" in log
        wait_until(server.healthy, 60, "the replacement worker")
        assert server.score({"data": [{"age": 30, "job": "a"}]}, **pinned).status_code == 200
        assert server.process.poll() is None  # the supervisor stayed up
