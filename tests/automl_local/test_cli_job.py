"""``automl-local job ...`` as a user types it: exit codes, messages, output."""

import json
import subprocess
import sys

import pytest

from automl_local.cli import cli
from automl_local.cli._common import run_cli


def run(args, capsys):
    code = run_cli(cli, args)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_create_stream_show_list_download(tmp_path, tiny_job_yaml):
    ws = str(tmp_path / "ws")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "automl_local.cli",
            "job",
            "create",
            "--file",
            str(tiny_job_yaml),
            "--set",
            "limits.max_trials=3",
            "--name",
            "cli_job",
            "--stream",
            "--workspace-dir",
            ws,
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Leaderboard (AUC_weighted" in proc.stdout
    assert "Registered model: azureml_cli_job_output_mlflow_log_model:1" in proc.stdout
    assert "Data guardrails" in proc.stdout
    show = subprocess.run(
        [
            sys.executable,
            "-m",
            "automl_local.cli",
            "job",
            "show",
            "-n",
            "cli_job",
            "--workspace-dir",
            ws,
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    shown = json.loads(show.stdout)  # the job entity, as az ml job show prints it
    assert (shown["name"], shown["type"], shown["status"]) == ("cli_job", "automl", "Completed")
    assert shown["properties"]["automl_best_child_run_id"].startswith("cli_job_")
    assert shown["outputs"]["best_model"]["type"] == "mlflow_model"
    listed = subprocess.run(
        [sys.executable, "-m", "automl_local.cli", "job", "list", "--workspace-dir", ws],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "cli_job" in listed.stdout and "Completed" in listed.stdout
    dl = subprocess.run(
        [
            sys.executable,
            "-m",
            "automl_local.cli",
            "job",
            "download",
            "-n",
            "cli_job",
            "--output-name",
            "best_model",
            "-p",
            str(tmp_path / "dl"),
            "--workspace-dir",
            ws,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert dl.returncode == 0 and (tmp_path / "dl/named-outputs/best_model/MLmodel").exists()


def test_missing_file_exits_2(tmp_path, capsys):
    code, _, err = run(
        ["job", "create", "--file", str(tmp_path / "nope.yml"), "--workspace-dir", str(tmp_path)],
        capsys,
    )
    assert code == 2
    assert "does not exist" in err and "Traceback" not in err


def test_unknown_yaml_field_exits_2(tmp_path, tiny_job_yaml, capsys):
    bad = tmp_path / "bad.yml"
    bad.write_text(tiny_job_yaml.read_text().replace("limits:", "max_trials: 3\nlimits:"))
    code, _, err = run(
        ["job", "create", "--file", str(bad), "--workspace-dir", str(tmp_path / "ws")], capsys
    )
    assert code == 2 and "max_trials" in err and "Unknown field" in err


@pytest.mark.parametrize(
    ("override", "match"),
    [
        ("primary_metric=f1_score", "f1_score"),
        ("training.allowed_training_algorithms=[lightgbm]", "lightgbm"),
    ],
)
def test_bad_metric_or_algorithm_exits_2(tmp_path, tiny_job_yaml, capsys, override, match):
    code, _, err = run(
        [
            "job",
            "create",
            "--file",
            str(tiny_job_yaml),
            "--set",
            override,
            "--workspace-dir",
            str(tmp_path / "ws"),
        ],
        capsys,
    )
    assert code == 2 and match in err


def test_bad_set_syntax(tmp_path, tiny_job_yaml, capsys):
    code, _, err = run(
        [
            "job",
            "create",
            "--file",
            str(tiny_job_yaml),
            "--set",
            "nokey",
            "--workspace-dir",
            str(tmp_path),
        ],
        capsys,
    )
    assert code == 2 and "is not key=value" in err


def test_unknown_job_exits_2(tmp_path, capsys):
    code, _, err = run(
        ["job", "show", "--name", "ghost", "--workspace-dir", str(tmp_path)], capsys
    )
    assert code == 2 and "job 'ghost' was not found" in err
