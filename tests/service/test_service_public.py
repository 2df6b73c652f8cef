"""The package front (lazy ``__all__``), ``python -m automl_local.service`` checks, telemetry."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from automl_local.service._telemetry import make_tracer

ROOT = Path(__file__).resolve().parents[2]


def python(code: str) -> str:
    """Run ``code`` in a fresh interpreter from the project root, as a user would import."""
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_public_names_and_a_worker_without_mlflow(endpoint: Any) -> None:
    """In a fresh interpreter (inside pytest, `tests/service` can shadow the package):
    every name in ``__all__`` resolves, and building the app for a pickled sklearn
    model does not import MLflow (its import is ~2-3 s of every worker's start-up)."""
    code = (
        "import json, sys\n"
        "import automl_local.service as service\n"
        "missing = [n for n in service.__all__ if getattr(service, n, None) is None]\n"
        "try:\n    service.nope\nexcept AttributeError as exc:\n    error = str(exc)\n"
        f"service.create_app({str(endpoint.path)!r})\n"
        "print(json.dumps([missing, sorted(dir(service)) == sorted(service.__all__), error,\n"
        "                  'mlflow' in sys.modules]))"
    )
    missing, dir_matches, error, mlflow_imported = json.loads(python(code).splitlines()[-1])
    assert missing == [] and dir_matches
    assert error == "module 'automl_local.service' has no attribute 'nope'"
    assert mlflow_imported is False


def test_supervisor_stays_light(endpoint: Any) -> None:
    """`python -m automl_local.service` up to uvicorn.run imports no pandas/FastAPI/MLflow (with K
    workers the supervisor never scores), and writes the start line to each deployment log."""
    heavy = "('pandas', 'fastapi', 'mlflow', 'sklearn', 'numpy')"
    code = (
        "import sys, uvicorn\n"
        "uvicorn.run = lambda *args, **kwargs: print(kwargs['workers'], kwargs['factory'])\n"
        "from automl_local.service.__main__ import main\n"
        f"main(['--endpoint-dir', {str(endpoint.path)!r}, '--port', '8123', '--workers', '3'])\n"
        f"print(sorted(m for m in {heavy} if m in sys.modules))"
    )
    assert python(code).splitlines() == ["3 True", "[]"]
    assert "server starting on http://127.0.0.1:8123 with 3 worker(s)" in endpoint.log("green")


def run_main(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "automl_local.service", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )


def test_cli_rejects_a_bad_endpoint_folder_with_exit_2(tmp_path: Path) -> None:
    missing = run_main("--endpoint-dir", str(tmp_path), "--port", "8123")
    assert missing.returncode == 2
    assert (
        missing.stderr.startswith("error: ") and "endpoint.json does not exist" in missing.stderr
    )
    assert "Traceback" not in missing.stderr
    (tmp_path / "endpoint.json").write_text(json.dumps({"name": "e", "traffic": {"b": 200}}))
    invalid = run_main("--endpoint-dir", str(tmp_path), "--port", "8123")
    assert invalid.returncode == 2 and "traffic.b' must be an integer 0..100" in invalid.stderr


def test_console_exporter(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.delenv("APPLICATIONINSIGHTS_CONNECTION_STRING", raising=False)
    monkeypatch.setenv("AUTOML_OTEL_CONSOLE", "1")
    tracer, exporter = make_tracer("bank-ep")
    assert exporter == "console"
    tracer.start_span("/score").end()
    assert '"name": "/score"' in capsys.readouterr().out
    monkeypatch.delenv("AUTOML_OTEL_CONSOLE")
    assert make_tracer("bank-ep")[1] == "none"


def test_azure_monitor_is_configured_lazily(monkeypatch: pytest.MonkeyPatch) -> None:
    """The one fake: Azure Monitor itself (no network). The wiring to it is real."""
    pytest.importorskip("azure.monitor.opentelemetry")
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(
        "azure.monitor.opentelemetry.configure_azure_monitor", lambda **kw: calls.append(kw)
    )
    monkeypatch.setenv("APPLICATIONINSIGHTS_CONNECTION_STRING", "InstrumentationKey=00000000")
    _, exporter = make_tracer("bank-ep")
    assert exporter == "azure-monitor"
    assert calls[0]["connection_string"] == "InstrumentationKey=00000000"
    assert calls[0]["resource"].attributes["service.name"] == "bank-ep"
