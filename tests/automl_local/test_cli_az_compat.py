"""Scripts written for ``az ml`` run with ``az ml`` replaced by ``automl-local``.

The script below is shaped as Azure's CLI samples are: the workspace named with ``-g`` and
``-w`` (and ``--subscription``), values pulled out with ``--query ... -o tsv``, JSON as the
default output.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from automl_local.cli import cli
from automl_local.cli._common import run_cli

CLI = Path(sys.executable).with_name("automl-local")

AZ_STYLE_SCRIPT = r"""
set -euo pipefail
GROUP=rg-bank
WORKSPACE=ws-bank
SUB=00000000-0000-0000-0000-000000000000

az() { "$AUTOML_LOCAL_CLI" "$@"; }   # the one line that differs from the Azure sample

az data create --name bank-tiny --path "$DATA" --type mltable -g $GROUP -w $WORKSPACE \
  --subscription $SUB > /dev/null
VERSION=$(az data show --name bank-tiny -g $GROUP -w $WORKSPACE --query version -o tsv)
echo "data version=$VERSION"

JOB=$(az job create --file "$JOB_YAML" -g $GROUP -w $WORKSPACE --query name -o tsv)
echo "job=$JOB"
az job stream --name "$JOB" -g $GROUP -w $WORKSPACE > stream.log
STATUS=$(az job show --name "$JOB" -g $GROUP -w $WORKSPACE --query status -o tsv)
echo "status=$STATUS"
BEST=$(az job show --name "$JOB" -g $GROUP -w $WORKSPACE \
  --query properties.automl_best_child_run_id -o tsv)
echo "best=$BEST"
az model list -g $GROUP -w $WORKSPACE --query "[].name" -o tsv
az job list -g $GROUP -w $WORKSPACE -o none
"""


def test_an_az_ml_style_script_runs_against_the_cli(
    tmp_path: Path, tiny_job_yaml: Path, tiny_mltable: Path
) -> None:
    root = tmp_path / "root"
    env = {**os.environ, "AUTOML_LOCAL_WORKSPACE": str(root), "AUTOML_LOCAL_CLI": str(CLI),
           "JOB_YAML": str(tiny_job_yaml), "DATA": str(tiny_mltable)}
    done = subprocess.run(["bash", "-c", AZ_STYLE_SCRIPT], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    assert lines["data version"] == "1"
    assert lines["status"] == "Completed"
    assert lines["best"].startswith(f"{lines['job']}_")
    models = [line for line in done.stdout.splitlines() if "=" not in line]
    assert f"azureml_{lines['job']}_output_mlflow_log_model" in models
    # -w named the workspace: it lives under the root, as workspaces share a subscription.
    assert (root / "workspaces" / "ws-bank" / "catalogue.db").is_file()
    assert not (root / "catalogue.db").exists()


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = run_cli(cli, list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def data_in_ws(tmp_path: Path, tiny_mltable: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    ws = tmp_path / "ws"
    code, _, err = _run(capsys, "data", "create", "--name", "bank", "--path", str(tiny_mltable),
                        "--type", "mltable", "--workspace-dir", str(ws))
    assert code == 0, err
    return ws


def test_output_formats(data_in_ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ws = ["--workspace-dir", str(data_in_ws)]
    code, out, _ = _run(capsys, "data", "show", "--name", "bank", *ws)
    assert code == 0 and json.loads(out)["name"] == "bank"  # JSON by default, as az
    _, out, _ = _run(capsys, "data", "show", "--name", "bank", "-o", "yaml", *ws)
    assert "name: bank\n" in out and "version: '1'\n" in out
    _, out, _ = _run(capsys, "data", "show", "--name", "bank", "-o", "jsonc", *ws)
    assert json.loads(out)["version"] == "1"
    _, out, _ = _run(capsys, "data", "list", "--query", "[].[name, version]", "-o", "tsv", *ws)
    assert out == "bank\t1\n"  # lists inside a list: one row each, as az's tsv
    _, out, _ = _run(capsys, "data", "list", "-o", "none", *ws)
    assert out == ""
    _, out, _ = _run(capsys, "data", "list", "-o", "table", *ws)
    assert out.splitlines()[0].split()[:2] == ["NAME", "VERSION"]


def test_query_mistakes_exit_2(data_in_ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ws = ["--workspace-dir", str(data_in_ws)]
    code, _, err = _run(capsys, "data", "list", "--query", "[?name==", *ws)
    assert code == 2 and "--query '[?name==' is not valid JMESPath" in err
    code, _, err = _run(capsys, "data", "list", "--query", "[].name", "-o", "table", *ws)
    assert code == 2 and "--query applies to structured output" in err


def test_a_workspace_name_that_cannot_be_a_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(capsys, "data", "list", "-w", "../elsewhere")
    assert code == 2 and "workspace name '../elsewhere' cannot name a folder" in err


def test_compute_verbs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ws = ["--workspace-dir", str(tmp_path / "ws")]
    code, out, err = _run(capsys, "compute", "create", "--name", "cpu-cluster",
                          "--max-instances", "3", *ws)
    assert code == 0, err
    assert json.loads(out)["max_instances"] == 3
    _, out, _ = _run(capsys, "compute", "list", "--query", "[].name", "-o", "tsv", *ws)
    assert out == "cpu-cluster\n"
    code, _, err = _run(capsys, "compute", "show", "--name", "gpu-cluster", *ws)
    assert code == 2
    assert "compute 'gpu-cluster' was not found in the workspace" in err
    assert "(computes here: cpu-cluster)" in err
    code, out, _ = _run(capsys, "compute", "delete", "--name", "cpu-cluster", "--yes", *ws)
    assert code == 0 and "Deleted compute cpu-cluster." in out
