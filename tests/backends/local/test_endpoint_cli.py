"""The ``model``/``online-endpoint``/``online-deployment`` commands, as a user types them.

Commands run in-process through ``automl_local.cli.main`` (the console
script's own entry point: exit codes and stderr as the shell sees them); one
test runs the installed ``automl-local`` script in a subprocess. The
deployment is created from the example YAML files in examples/bankmarketing.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from _clirun import run_cli
from automl_local.backends import get_client

from automl_local.exceptions import NotFoundError

pytestmark = pytest.mark.e2e

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "bankmarketing"
ENDPOINT = "cli-ep"


@pytest.fixture(scope="module")
def cli_ws(ep_workspace: Any, ep_rows: list[dict[str, Any]]) -> Any:
    """A fresh workspace and a request file; the endpoint is deleted after the module."""
    root = ep_workspace("ws-cli")
    columns = list(ep_rows[0])
    request = root / "request.json"
    request.write_text(
        json.dumps(
            {
                "input_data": {
                    "columns": columns,
                    "index": [0, 1],
                    "data": [[r[c] for c in columns] for r in ep_rows],
                }
            }
        )
    )
    yield SimpleNamespace(workspace=root, root=root, request=request)
    with contextlib.suppress(NotFoundError):
        get_client("local", workspace=root).online_endpoints.begin_delete(ENDPOINT).result()


@pytest.fixture
def cli(cli_ws: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Any:
    """``cli.run(*argv) -> (exit code, stdout, stderr)`` in the module's workspace.

    The tests read the human tables, so they ask for them as az users do (AZURE_CORE_OUTPUT;
    the default is JSON)."""
    monkeypatch.setenv("AZURE_CORE_OUTPUT", "table")

    def run(*argv: str) -> tuple[int, str, str]:
        return run_cli(cli_ws.workspace, capsys, *argv)

    return SimpleNamespace(
        run=run, root=cli_ws.root, request=cli_ws.request, workspace=cli_ws.workspace
    )


def test_user_mistakes_exit_2_with_a_message(cli) -> None:
    code, _, err = cli.run("online-endpoint", "create", "--name", "bad_name")
    assert code == 2
    assert "online endpoint name 'bad_name' is not valid: Azure requires 3 to 32" in err
    code, _, err = cli.run("online-endpoint", "create", "--file", str(cli.root / "missing.yml"))
    assert code == 2 and "missing.yml' does not exist" in err
    code, _, err = cli.run("online-deployment", "create", "--file", str(cli.root / "nope.yml"))
    assert code == 2 and "does not exist" in err
    bad = cli.root / "bad-endpoint.yml"
    bad.write_text("name: bad_name\nauth_mode: keyz\ncolour: blue\n")
    code, _, err = cli.run("online-endpoint", "create", "--file", str(bad))
    assert code == 2
    assert "String does not match expected pattern" in err and "Unknown field" in err
    code, _, err = cli.run("online-endpoint", "show", "--name", "nowhere")
    assert code == 2 and "online endpoint 'nowhere' was not found" in err
    assert "Traceback" not in err


def test_console_script_exit_code(tmp_path) -> None:
    script = Path(sys.executable).with_name("automl-local")
    done = subprocess.run(
        [
            str(script),
            "online-endpoint",
            "create",
            "--name",
            "x",
            "--workspace-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "online endpoint name 'x' is not valid" in done.stderr
    assert "Traceback" not in done.stderr


def test_deploy_invoke_and_manage_from_the_cli(cli, ep_model_dirs, caplog) -> None:
    run = cli.run
    code, out, err = run(
        "model",
        "create",
        "--name",
        "bankmodel",
        "--type",
        "mlflow_model",
        "--path",
        str(ep_model_dirs["blue"]),
    )
    assert code == 0, err
    code, out, err = run(
        "online-endpoint", "create", "--file", str(EXAMPLES / "endpoint.yml"), "--name", ENDPOINT
    )
    assert code == 0, err
    assert "scoring_uri         http://127.0.0.1:" in out
    code, out, err = run(
        "online-deployment",
        "create",
        "--file",
        str(EXAMPLES / "deployment.yml"),
        "--endpoint-name",
        ENDPOINT,
        "--set",
        "model=azureml:bankmodel:1",
        "--all-traffic",
    )
    assert code == 0, err
    assert "provisioning_state    Succeeded" in out
    assert "instance_type Standard_DS3_v2 is ignored locally" in caplog.text  # a warning

    code, out, _ = run("online-endpoint", "show", "--name", ENDPOINT, "-o", "json")
    shown = json.loads(out)
    assert shown["traffic"] == {"blue": 100} and shown["provisioning_state"] == "Succeeded"
    code, out, err = run(
        "online-endpoint", "invoke", "--name", ENDPOINT, "--request-file", str(cli.request)
    )
    assert code == 0, err
    assert json.loads(out) == ["yes", "no"]

    code, out, _ = run("online-endpoint", "get-credentials", "--name", ENDPOINT)
    before = json.loads(out)
    assert set(before) == {"primaryKey", "secondaryKey"}
    code, out, _ = run(
        "online-endpoint", "regenerate-keys", "--name", ENDPOINT, "--key-type", "secondary"
    )
    assert code == 0 and "Regenerated the secondary key" in out
    after = json.loads(run("online-endpoint", "get-credentials", "--name", ENDPOINT)[1])
    assert after["primaryKey"] == before["primaryKey"]
    assert after["secondaryKey"] != before["secondaryKey"]

    code, out, _ = run("online-deployment", "list", "--endpoint-name", ENDPOINT)
    assert code == 0 and "blue" in out and "Succeeded" in out
    code, out, _ = run(
        "online-deployment",
        "get-logs",
        "--name",
        "blue",
        "--endpoint-name",
        ENDPOINT,
        "--lines",
        "3",
    )
    assert code == 0 and len(out.splitlines()) == 3 and out.splitlines()[-1].startswith("{")
    code, out, _ = run("online-endpoint", "list")
    assert code == 0 and ENDPOINT in out

    code, _, err = run("online-endpoint", "update", "--name", ENDPOINT, "--traffic", "blue=ab")
    assert code == 2 and "traffic 'blue=ab' is not valid" in err
    code, _, err = run(
        "online-deployment", "delete", "--name", "blue", "--endpoint-name", ENDPOINT, "--yes"
    )
    assert code == 2 and "still takes 100 %" in err
    code, out, _ = run("online-endpoint", "update", "--name", ENDPOINT, "--traffic", "blue=0")
    assert code == 0 and "traffic             blue=0" in out
    pid = get_client("local", workspace=cli.workspace).workspace.catalogue.get(
        "online_endpoint", ENDPOINT
    )["pid"]
    os.kill(pid, signal.SIGKILL)  # the server dies...
    deadline = time.monotonic() + 10
    while "provisioning_state  Failed" not in run("online-endpoint", "show", "-n", ENDPOINT)[1]:
        assert time.monotonic() < deadline, "the dead server was not noticed"
        time.sleep(0.1)
    code, _, err = run(
        "online-endpoint", "invoke", "--name", ENDPOINT, "--request-file", str(cli.request)
    )
    assert code == 2 and "is not running" in err and "online-endpoint restart" in err
    code, out, _ = run("online-endpoint", "restart", "--name", ENDPOINT)  # ...and comes back
    assert code == 0 and "provisioning_state  Succeeded" in out
    assert (
        run(
            "online-endpoint",
            "invoke",
            "--name",
            ENDPOINT,
            "--request-file",
            str(cli.request),
            "--deployment-name",
            "blue",
        )[0]
        == 0
    )
    code, out, err = run(
        "online-deployment", "delete", "--name", "blue", "--endpoint-name", ENDPOINT, "--yes"
    )
    assert code == 0, err
    code, out, err = run("online-endpoint", "delete", "--name", ENDPOINT, "--yes")
    assert code == 0 and "Deleted endpoint 'cli-ep'" in out
    assert run("online-endpoint", "list")[1].strip() == "(none)"
