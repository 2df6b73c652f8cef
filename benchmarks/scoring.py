"""Scoring latency and throughput: in-process, an automl-local endpoint, mlflow models serve.

One MLflow model, one row, loopback only. For each target:

* single-row latency p50/p95/p99 at concurrency 1 (keep-alive connection);
* throughput (requests/s) at concurrency 1 and 8;
* CPU milliseconds per request at concurrency 1, summed over the server's
  processes (this process for in-process): unlike wall time, it hardly moves
  when other programs load the machine;
* ready time: ``begin_create_or_update(deployment).result()`` for the
  endpoint (it returns once GET / is healthy), first ``GET /ping`` = 200 for
  ``mlflow models serve``.

(a) ``model.predict_proba`` on a one-row DataFrame in this process (threads
for concurrency 8); (b) an automl-local online endpoint (Azure MLflow
``input_data`` request, bearer key); (c) ``mlflow models serve
--env-manager local`` on the same model folder (``dataframe_split`` request);
(d) the same endpoint with a scripted deployment of the same model
(``code_configuration``: a ``score.py`` that unpickles ``model.pkl`` in
``init()`` and predicts in ``run()``, served by ``azmlinfsrv`` in an
environment built from the model's ``requirements.txt``, one gunicorn worker;
the endpoint forwards each request to it over loopback). All servers run one
worker process, as Azure's instance_count 1.

Without ``--model-dir`` an automl-local job (1-minute budget) trains on the bank-marketing
file (or generated rows if it is absent). Every phase is bounded by a number
of requests and a number of seconds. Prints a markdown table.

    python benchmarks/scoring.py [--model-dir DIR] [--requests 2000] [--seconds 20]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

DEFAULT_DATA = Path("/work/shared/data/bankmarketing_train.csv")
HOST = "127.0.0.1"


@dataclass
class Result:
    name: str
    ready_s: float | None = None
    latencies_ms: list[float] = field(default_factory=list)
    rps: dict[int, float] = field(default_factory=dict)
    cpu_ms: float | None = None  # CPU time of the target per request at concurrency 1
    errors: int = 0
    answer: Any = None  # the predicted labels for the benchmark row, to compare targets

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.latencies_ms, q)) if self.latencies_ms else float("nan")


# --------------------------------------------------------------------- model

def train_model(data: Path, target: Path) -> pd.DataFrame:
    """The model users deploy: an automl-local job's best model (1-minute budget); returns X.

    Without the bank-marketing file, generated rows stand in.
    """
    import shutil

    from automl_local.backends import get_client
    from azure.ai.ml import Input, automl

    from automl_local.data import write_mltable

    if data.is_file():
        frame = pd.read_csv(data)
    else:
        rng = np.random.default_rng(0)
        frame = pd.DataFrame({"age": rng.integers(18, 90, 5000),
                              "job": rng.choice(["admin.", "services", "retired"], 5000),
                              "duration": rng.integers(0, 2000, 5000)})  # fmt: skip
        frame["y"] = np.where(frame["duration"] > 600, "yes", "no")
    with tempfile.TemporaryDirectory() as tmp:
        ml = get_client("local", workspace=Path(tmp) / "ws")
        job = automl.classification(
            training_data=Input(type="mltable", path=str(write_mltable(frame, Path(tmp) / "t"))),
            target_column_name="y", primary_metric="AUC_weighted",
        )  # fmt: skip
        job.set_limits(timeout_minutes=1)
        name = ml.jobs.create_or_update(job).name
        ml.jobs.stream(name, printer=lambda event: None)
        best = ml.jobs.result(name)["best_algorithm"]
        print(f"trained {best} with automl-local", file=sys.stderr)
        shutil.copytree(ml.jobs.output_path(name), target)
    return frame.drop(columns="y")


def example_row(model_dir: Path) -> pd.DataFrame:
    """The model's own input example (one row of the training columns)."""
    from mlflow.models import Model as MlflowModel

    example = MlflowModel.load(str(model_dir)).load_input_example(str(model_dir))
    if example is None:
        sys.exit(f"{model_dir} has no input example; save the model with input_example=.")
    return pd.DataFrame(example).head(1)


# ------------------------------------------------------------------- drivers

def _bounded(worker: Callable[[], float | None], concurrency: int, requests: int,
             seconds: float) -> tuple[list[float], float, int]:
    """Run ``worker`` from ``concurrency`` threads until the request or time budget is spent."""
    latencies: list[float] = []
    errors = 0
    budget = [requests]
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def loop() -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            with lock:
                if budget[0] <= 0:
                    return
                budget[0] -= 1
            took = worker()
            with lock:
                if took is None:
                    errors += 1
                else:
                    latencies.append(took)

    threads = [threading.Thread(target=loop) for _ in range(concurrency)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, time.perf_counter() - started, errors


def http_worker(port: int, path: str, body: bytes,
                headers: dict[str, str]) -> Callable[[], Callable[[], float | None]]:
    """A factory of per-thread request functions, each with its own keep-alive connection."""

    def make() -> Callable[[], float | None]:
        conn = http.client.HTTPConnection(HOST, port, timeout=30)

        def send() -> float | None:
            started = time.perf_counter()
            try:
                conn.request("POST", path, body, headers)
                response = conn.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                conn.close()
                return None
            took = (time.perf_counter() - started) * 1000
            return took if response.status == 200 else None

        return send

    return make


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU of every live process in a process group (a server and its workers).

    CPU time, unlike wall time, barely depends on what else the machine runs,
    so it compares servers fairly on a busy machine.
    """
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


def measure(name: str, factory: Callable[[], Callable[[], float | None]], requests: int,
            seconds: float, ready_s: float | None = None,
            cpu: Callable[[], float] | None = None) -> Result:
    result = Result(name, ready_s)
    warm = factory()
    for _ in range(30):
        warm()
    local = threading.local()

    def per_thread() -> float | None:
        if not hasattr(local, "send"):
            local.send = factory()
        return local.send()

    for concurrency in (1, 8):
        cpu_before = cpu() if cpu else 0.0
        latencies, elapsed, errors = _bounded(per_thread, concurrency, requests, seconds)
        if concurrency == 1:
            result.latencies_ms = latencies
            if cpu and latencies:
                result.cpu_ms = (cpu() - cpu_before) * 1000 / len(latencies)
        result.rps[concurrency] = len(latencies) / elapsed if elapsed else 0.0
        result.errors += errors
        local = threading.local()  # fresh connections for the next concurrency level
    return result


# ------------------------------------------------------------------- targets

def bench_in_process(model_dir: Path, row: pd.DataFrame, requests: int,
                     seconds: float) -> Result:
    import mlflow.sklearn

    model = mlflow.sklearn.load_model(str(model_dir))

    def factory() -> Callable[[], float | None]:
        def call() -> float:
            started = time.perf_counter()
            model.predict_proba(row)
            return (time.perf_counter() - started) * 1000

        return call

    result = measure("(a) in-process predict_proba", factory, requests, seconds,
                     cpu=time.process_time)
    result.answer = [str(v) for v in model.predict(row)]
    return result


SCORE_PY = """\
import json
import os

import cloudpickle
import pandas as pd


def init():
    global model
    folder = os.path.join(os.environ["AZUREML_MODEL_DIR"], os.environ["MODEL_FOLDER"])
    with open(os.path.join(folder, "model.pkl"), "rb") as fh:
        model = cloudpickle.load(fh)


def run(raw_data):
    frame = pd.DataFrame(**json.loads(raw_data)["input_data"])
    return [str(v) for v in model.predict(frame)]
"""


def _script_options(model_dir: Path, workspace: Path) -> dict[str, Any]:
    """``code_configuration`` + ``environment`` for (d): the model's own requirements."""
    from azure.ai.ml.entities import CodeConfiguration, Environment

    code = workspace / "bench-code"
    code.mkdir(exist_ok=True)
    (code / "score.py").write_text(SCORE_PY)
    lines = (model_dir / "requirements.txt").read_text().split()
    reqs = [r for r in lines if not r.startswith("mlflow")]  # the script needs no MLflow
    return {
        "code_configuration": CodeConfiguration(code=str(code), scoring_script="score.py"),
        "environment": Environment(conda_file={"dependencies": ["pip", {"pip": reqs}]}),
        "environment_variables": {"MODEL_FOLDER": model_dir.name},
    }


@contextlib.contextmanager
def automl_endpoint(model_dir: Path, workspace: Path, instances: int,
                    scripted: bool = False) -> Iterator[dict[str, Any]]:
    from automl_local.backends import get_client
    from azure.ai.ml.entities import (
        ManagedOnlineDeployment,
        ManagedOnlineEndpoint,
        Model,
        OnlineRequestSettings,
    )

    ml = get_client("local", workspace=workspace)
    model = ml.models.create_or_update(Model(name="bench-model", path=str(model_dir),
                                             type="mlflow_model"))
    ml.online_endpoints.begin_create_or_update(ManagedOnlineEndpoint(name="bench-ep")).result()
    try:
        extra = _script_options(model_dir, workspace) if scripted else {}
        deployment = ManagedOnlineDeployment(
            name="blue", endpoint_name="bench-ep", model=f"azureml:{model.name}:{model.version}",
            instance_count=instances, app_insights_enabled=True,
            request_settings=OnlineRequestSettings(max_concurrent_requests_per_instance=8),
            **extra,
        )
        started = time.perf_counter()
        ml.online_deployments.begin_create_or_update(deployment).result()
        ready = time.perf_counter() - started
        endpoint = ml.online_endpoints.get("bench-ep")
        endpoint.traffic = {"blue": 100}
        endpoint = ml.online_endpoints.begin_create_or_update(endpoint).result()
        port = int(endpoint.scoring_uri.split(":")[2].split("/")[0])
        key = ml.online_endpoints.get_keys("bench-ep").primary_key
        pid = ml.workspace.catalogue.get("online_endpoint", "bench-ep")["pid"]
        yield {"port": port, "key": key, "ready": ready, "pid": pid}
    finally:
        ml.online_endpoints.begin_delete("bench-ep").result()


def bench_endpoint(model_dir: Path, row: pd.DataFrame, requests: int, seconds: float,
                   instances: int, scripted: bool = False) -> Result:
    """(b), or (d) with ``scripted``: the same model behind a scoring script."""
    body = json.dumps({"input_data": json.loads(row.to_json(orient="split"))}).encode()
    with tempfile.TemporaryDirectory(prefix="bench-ws-") as tmp, \
            automl_endpoint(model_dir, Path(tmp), instances, scripted) as ep:
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {ep['key']}"}
        factory = http_worker(ep["port"], "/score", body, headers)
        name = (f"(d) automl-local scripted deployment (azmlinfsrv), {instances} worker(s)"
                if scripted else f"(b) automl-local endpoint, {instances} worker(s)")
        result = measure(name, factory, requests, seconds, ep["ready"],
                         cpu=lambda: group_cpu_seconds(ep["pid"]))
        result.answer = [str(v) for v in _post(ep["port"], "/score", body, headers)]
        return result


def _post(port: int, path: str, body: bytes, headers: dict[str, str]) -> Any:
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    conn.request("POST", path, body, headers)
    return json.loads(conn.getresponse().read())


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def bench_mlflow_serve(model_dir: Path, row: pd.DataFrame, requests: int,
                       seconds: float) -> Result:
    port = _free_port()
    bin_dir = Path(sys.executable).parent  # mlflow shells out to uvicorn: it must be on PATH
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    cmd = [str(bin_dir / "mlflow"), "models", "serve", "-m", str(model_dir), "-p", str(port),
           "-h", HOST, "-w", "1", "--env-manager", "local"]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        ready = _wait_ping(port, proc, started + 180)
        body = json.dumps({"dataframe_split": json.loads(row.to_json(orient="split"))}).encode()
        headers = {"Content-Type": "application/json"}
        factory = http_worker(port, "/invocations", body, headers)
        result = measure("(c) mlflow models serve, 1 worker", factory, requests, seconds,
                         ready - started, cpu=lambda: group_cpu_seconds(proc.pid))
        result.answer = [str(v) for v in _post(port, "/invocations", body, headers)["predictions"]]
        return result
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)  # the group we started: mlflow + its uvicorn
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _wait_ping(port: int, proc: subprocess.Popen[bytes], deadline: float) -> float:
    while time.perf_counter() < deadline:
        if proc.poll() is not None:
            sys.exit(f"mlflow models serve exited: {proc.stderr.read().decode()[-2000:]}")
        with contextlib.suppress(OSError):
            conn = http.client.HTTPConnection(HOST, port, timeout=1)
            conn.request("GET", "/ping")
            if conn.getresponse().status == 200:
                return time.perf_counter()
        time.sleep(0.05)
    sys.exit("mlflow models serve did not answer /ping in time")


# -------------------------------------------------------------------- report

def table(results: list[Result]) -> str:
    lines = [
        "| target | ready (s) | p50 ms | p95 ms | p99 ms | CPU ms/req | req/s c=1 | req/s c=8 "
        "| errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        ready = f"{r.ready_s:.1f}" if r.ready_s is not None else "-"
        cpu = f"{r.cpu_ms:.2f}" if r.cpu_ms is not None else "-"
        lines.append(
            f"| {r.name} | {ready} | {r.percentile(50):.2f} | {r.percentile(95):.2f} | "
            f"{r.percentile(99):.2f} | {cpu} | {r.rps.get(1, 0):.0f} | {r.rps.get(8, 0):.0f} | "
            f"{r.errors} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-dir", type=Path, help="An MLflow model folder (else train one).")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--requests", type=int, default=2000,
                        help="Request budget per phase (default 2000).")
    parser.add_argument("--seconds", type=float, default=20,
                        help="Time budget per phase (default 20).")
    parser.add_argument("--instances", type=int, nargs="+", default=[1],
                        help="Endpoint instance_count values to measure (default 1).")
    parser.add_argument("--skip-mlflow", action="store_true", help="Do not run (c).")
    parser.add_argument("--skip-scripted", action="store_true", help="Do not run (d).")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-model-") as tmp:
        model_dir = args.model_dir
        if model_dir is None:
            model_dir = Path(tmp) / "model"
            print(f"training an automl-local model on {args.data} (1 min) ...", file=sys.stderr)
            train_model(args.data, model_dir)
        row = example_row(model_dir)
        results = [bench_in_process(model_dir, row, args.requests, args.seconds)]
        for instances in args.instances:
            results.append(bench_endpoint(model_dir, row, args.requests, args.seconds,
                                          instances))
        if not args.skip_mlflow:
            results.append(bench_mlflow_serve(model_dir, row, args.requests, args.seconds))
        if not args.skip_scripted:
            results.append(bench_endpoint(model_dir, row, args.requests, args.seconds, 1,
                                          scripted=True))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\n{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load average {load:.1f}; one row; {args.requests} requests or {args.seconds:.0f} s "
          "per phase; latency at concurrency 1\n")
    print(table(results))
    answers = {r.name: r.answer for r in results}
    same = len({json.dumps(a) for a in answers.values()}) == 1
    print(f"\nsame answers: {'yes' if same else 'NO'} {answers}")
    endpoint = next((r for r in results if r.name.startswith("(b)")), None)
    mlflow = next((r for r in results if r.name.startswith("(c)")), None)
    if endpoint is not None and mlflow is not None and mlflow.rps.get(8):
        print(f"endpoint p50 {endpoint.percentile(50):.2f} ms (floor 2.0); throughput at "
              f"concurrency 8 {endpoint.rps[8] / mlflow.rps[8]:.1f}x mlflow models serve "
              "(floor 3x)")
    return 0 if all(r.errors == 0 for r in results) and same else 1


if __name__ == "__main__":
    sys.exit(main())
