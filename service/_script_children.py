"""The ``azmlinfsrv`` children of scripted deployments: start them, watch them, stop them.

A deployment with a scoring script runs it in Azure's own inference server
(``azureml-inference-server-http``), in the deployment's built environment:
that server pins its own Flask/OpenTelemetry, so it cannot share this
process. The endpoint's supervisor (``python -m automl_local.service``)
starts one child per scripted deployment before uvicorn starts, each bound
to 127.0.0.1 on a free port, and waits until ``GET /`` answers (``init()``
has returned) or the child exits (``init()`` raised: gunicorn's exit code 3).
The children stay in the server's process group, so stopping the endpoint
stops them too. Their stdout/stderr go to the deployment's
``deployment.log``: ``init()`` prints, the script's ``logging`` lines and
tracebacks are what ``get-logs`` shows.

Workers learn the children's ports from :data:`SCRIPTS_ENV` (JSON). A child
that failed to start is written to the log as a load failure (the mark the
process manager looks for), so the deployment is marked Failed. A child that
dies later is logged by a watcher thread; requests to it answer 503.

Standard library only: the supervisor never loads pandas or httpx.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from automl_local.service._config import (
    DeploymentConfig,
    EndpointConfig,
    ScriptConfig,
    deployment_dir,
)
from automl_local.service._logging import DeploymentLog

__all__ = [
    "EXITED_FILE",
    "LAUNCHER",
    "SCRIPTS_ENV",
    "ScriptChild",
    "child_environ",
    "script_error",
    "scripts_from_env",
    "start_children",
    "stop_children",
]

#: How the supervisor tells workers where each scripted deployment's child listens.
SCRIPTS_ENV = "AUTOML_SERVICE_SCRIPTS"
#: The launcher run with the deployment environment's Python (see that file).
LAUNCHER = Path(__file__).with_name("azmlinfsrv_main.py")
HOST = "127.0.0.1"
# The process manager's mark of a deployment that did not load (backends/local/_serving).
LOAD_FAILURE_MARK = "could not load model"
#: Left in the deployment folder when its child dies after start-up: the process manager
#: then reports the deployment Failed (backends/local/_deployments.py reads it).
EXITED_FILE = "script-exited.txt"
_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b(: .*)?$")


@dataclass
class ScriptChild:
    """One running ``azmlinfsrv``: its process, port and log."""

    name: str
    proc: subprocess.Popen[bytes]
    port: int
    stopping: bool = False  # set by stop_children: an exit then is not a crash


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def child_environ(settings: DeploymentConfig, script: ScriptConfig) -> dict[str, str]:
    """The child's variables: this server's, the environment's, the deployment's, Azure's.

    The environment's ``bin`` goes first on PATH and ``VIRTUAL_ENV`` names it;
    ``AZUREML_MODEL_DIR`` and ``AML_APP_ROOT`` (the code folder, put on
    ``sys.path`` by the server) are set as on Azure.
    """
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONHOME", "PYTHONPATH")}
    env.pop(SCRIPTS_ENV, None)
    env.update(script.environ)
    env.update(settings.environment_variables)
    bin_dir = str(Path(script.python).parent)
    env["PATH"] = os.pathsep.join([bin_dir, env.get("PATH", "")])
    env["VIRTUAL_ENV"] = str(Path(bin_dir).parent)
    env["AZUREML_MODEL_DIR"] = script.model_dir
    env["AML_APP_ROOT"] = str(Path(script.entry_script).parent)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://{HOST}:{port}/", timeout=1.0) as response:
            return bool(response.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def _log_offset(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def script_error(log_path: Path, offset: int) -> str:
    """The script's own exception line (``RuntimeError: ...``) in the child's output."""
    try:
        with open(log_path, encoding="utf-8", errors="replace") as fh:
            fh.seek(offset)
            lines = fh.read().splitlines()
    except FileNotFoundError:
        return ""
    found = [ln.strip() for ln in lines if _EXCEPTION_LINE.match(ln.strip())]
    own = [ln for ln in found if not ln.startswith("azureml_inference_server_http")]
    return (own or found or [""])[0][:500]


def _start_one(settings: DeploymentConfig, script: ScriptConfig, deadline: float,
               log: DeploymentLog) -> tuple[ScriptChild | None, str]:
    """Start the child and wait for ``GET /``; (child, "") or (None, why it failed)."""
    port = _free_port()
    cmd = [script.python, str(LAUNCHER), "--entry_script", script.entry_script,
           "--model_dir", script.model_dir, "--port", str(port)]  # fmt: skip
    log.line(
        f"starting azmlinfsrv for scoring script {script.entry_script} on {HOST}:{port} "
        f"(python {script.python}, AZUREML_MODEL_DIR={script.model_dir})"
    )
    offset = _log_offset(log.path)
    try:
        with open(log.path, "ab") as out:
            proc = subprocess.Popen(
                cmd, cwd=str(Path(script.entry_script).parent), stdin=subprocess.DEVNULL,
                stdout=out, stderr=subprocess.STDOUT, env=child_environ(settings, script),
            )  # fmt: skip
    except OSError as exc:
        return None, f"cannot run {script.python}: {exc.strerror}"
    while time.monotonic() < deadline:
        code = proc.poll()
        if code is not None:
            error = script_error(log.path, offset) or "no exception in its output"
            return None, f"the scoring script's server exited with code {code} ({error})"
        if _healthy(port):
            return ScriptChild(settings.name, proc, port), ""
        time.sleep(0.1)
    proc.kill()
    proc.wait()
    return None, "the scoring script's init() did not return before the start-up timeout"


def start_children(endpoint_dir: Path, config: EndpointConfig,
                   timeout: float) -> tuple[list[ScriptChild], dict[str, dict[str, object]]]:
    """Start every scripted deployment's child; their processes and the workers' map.

    The map (``{name: {"port": n, "pid": p}}`` or ``{name: {"error": why}}``)
    goes to the workers in :data:`SCRIPTS_ENV`.
    """
    children: list[ScriptChild] = []
    info: dict[str, dict[str, object]] = {}
    deadline = time.monotonic() + timeout
    for name, settings in config.deployments.items():
        if settings.script is None:
            continue
        folder = deployment_dir(endpoint_dir, name)
        (folder / EXITED_FILE).unlink(missing_ok=True)
        log = DeploymentLog(folder / "deployment.log")
        try:
            child, error = _start_one(settings, settings.script, deadline, log)
            if child is None:
                log.line(f"{LOAD_FAILURE_MARK} {settings.model_label}: {error}", level="ERROR")
                info[name] = {"error": error}
                continue
            log.line(f"azmlinfsrv of deployment '{name}' is ready (pid {child.proc.pid})")
            children.append(child)
            info[name] = {"port": child.port, "pid": child.proc.pid}
            _watch(child, log.path)
        finally:
            log.close()
    return children, info


def _watch(child: ScriptChild, log_path: Path) -> None:
    """Log the child's exit (a crash after start-up is reported, not silently lost)."""

    def wait() -> None:
        code = child.proc.wait()
        if child.stopping:
            return
        message = (
            f"azmlinfsrv of deployment '{child.name}' (pid {child.proc.pid}) exited with code "
            f"{code}; its requests answer 503 until the endpoint restarts "
            "(online-endpoint restart, or update the deployment)"
        )
        (log_path.parent / EXITED_FILE).write_text(message + "\n", encoding="utf-8")
        log = DeploymentLog(log_path)
        log.line(message, level="ERROR")
        log.close()

    threading.Thread(target=wait, name=f"watch-{child.name}", daemon=True).start()


def stop_children(children: list[ScriptChild], grace: float = 10.0) -> None:
    """SIGTERM each child (gunicorn stops its workers), SIGKILL after ``grace`` seconds."""
    for child in children:
        child.stopping = True
        if child.proc.poll() is None:
            child.proc.terminate()
    deadline = time.monotonic() + grace
    for child in children:
        try:
            child.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.proc.kill()
            child.proc.wait()


def scripts_from_env(environ: Mapping[str, str]) -> dict[str, dict[str, object]]:
    """What the supervisor wrote in :data:`SCRIPTS_ENV` (empty when nothing is scripted)."""
    raw = environ.get(SCRIPTS_ENV)
    return json.loads(raw) if raw else {}
