"""The package front (lazy ``__all__``), the ``python -m service`` checks, and telemetry wiring."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from service._telemetry import make_tracer

ROOT = Path(__file__).resolve().parents[2]


def python(code: str) -> str:
    """Run ``code`` in a fresh interpreter from the project root, as a user would import."""
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_all_names_resolve() -> None:
    # A fresh interpreter: inside pytest, `tests/service` can shadow the `service` package.
    code = (
        "import json, service\n"
        "missing = [n for n in service.__all__ if getattr(service, n, None) is None]\n"
        "try:\n    service.nope\nexcept AttributeError as exc:\n    error = str(exc)\n"
        "print(json.dumps([missing, sorted(dir(service)) == sorted(service.__all__), error]))"
    )
    missing, dir_matches, error = json.loads(python(code))
    assert missing == [] and dir_matches
    assert error == "module 'service' has no attribute 'nope'"


def test_supervisor_import_stays_light() -> None:
    """`python -m service` must not import pandas/FastAPI/MLflow in the supervisor process."""
    heavy = "('pandas', 'fastapi', 'mlflow', 'sklearn')"
    code = f"import sys, service.__main__; print(sorted(m for m in {heavy} if m in sys.modules))"
    assert python(code) == "[]"


def run_main(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service", *args], cwd=ROOT, capture_output=True, text=True
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


def test_workers_with_a_pickled_sklearn_model_do_not_import_mlflow(endpoint: Any) -> None:
    """Start-up cost: the fast loader reads MLmodel files itself (MLflow import is ~2-3 s)."""
    code = (
        "import sys\nfrom service._app import create_app\n"
        f"create_app({str(endpoint.path)!r})\nprint('mlflow' in sys.modules)"
    )
    assert python(code) == "False"
