"""The CLI: ``job create`` of pipelines, and the ``pipeline``, ``schedule``, ``server`` groups."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

KIT = Path(__file__).parents[1] / "backends" / "local"
if str(KIT) not in sys.path:  # the pipeline test kit lives beside the backend tests
    sys.path.insert(0, str(KIT))

from pipeline_testkit import wait_terminal, write_two_node_pipeline  # noqa: E402

from automl_local.cli import cli  # noqa: E402
from automl_local.cli._common import run_cli  # noqa: E402


@pytest.fixture(autouse=True)
def _tables(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests read the human tables: ask for them as az users do (the default is JSON)."""
    monkeypatch.setenv("AZURE_CORE_OUTPUT", "table")


@pytest.fixture()
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("AUTOML_LOCAL_SERVER_AUTOSTART", "0")
    monkeypatch.setenv("AUTOML_LOCAL_WORKSPACE", str(tmp_path / "ws"))
    monkeypatch.delenv("AUTOML_BACKEND", raising=False)
    folder = tmp_path / "p"
    pipeline = write_two_node_pipeline(folder)
    return {"ws": tmp_path / "ws", "folder": folder, "pipeline": pipeline}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = run_cli(cli, list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_job_create_streams_a_pipeline_and_nodes_are_listed(
    env: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    from automl_local.backends import get_client

    from automl_local.cli._pipeline import pipeline_nodes

    code, out, err = run(capsys, "job", "create", "--file", str(env["pipeline"]), "--stream",
                         "--set", "inputs.tag=cli")  # fmt: skip
    assert code == 0, err
    assert "prep" in out and "report" in out and "pipeline Completed" in out
    ml = get_client("local")
    name = next(iter(ml.jobs.list())).name
    rows = pipeline_nodes(ml, name)
    assert [(r["node"], r["status"], r["reused"]) for r in rows] == [
        ("prep", "Completed", False), ("report", "Completed", False)
    ]  # fmt: skip
    assert rows[0]["duration_seconds"] is not None and rows[0]["log"].endswith("std_log.txt")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("type: pipeline", "type: [pipeline"), "error: "),  # not YAML
        (("  prep:\n    type: command", "  prep:\n    type: banana"), "error: "),
        (("raw: ${{parent.inputs.raw}}", "raw: ${{parent.jobs.report.outputs.lines}}"),
         "error: the pipeline has a cycle"),
        (("      raw: ${{parent.inputs.raw}}\n", ""),
         "error: node 'prep': the command uses ${{inputs.raw}} but the component declares no"),
        (("  prep:\n    type: command", "  prep:\n    type: sweep"), "error: "),
        (("  report:\n    type: command", "  report:\n    type: parallel"), "error: "),
    ],
)  # fmt: skip
def test_bad_pipeline_yaml_is_one_line_and_exit_2(
    env: dict[str, Any], capsys: pytest.CaptureFixture[str], edit: tuple[str, str], message: str
) -> None:
    path: Path = env["pipeline"]
    text = path.read_text()
    assert edit[0] in text
    path.write_text(text.replace(edit[0], edit[1]))
    code, _, err = run(capsys, "job", "create", "--file", str(path))
    # (azure-ai-ml may log "experimental class" notes first; the error is the last line)
    assert code == 2 and err.strip().splitlines()[-1].startswith(message), err
    assert "Traceback" not in err


def test_unbound_component_input_is_named(
    env: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    folder: Path = env["folder"]
    (folder / "component.yml").write_text(
        "name: needs_raw\ntype: command\ninputs:\n  raw:\n    type: uri_file\n"
        "command: cat ${{inputs.raw}}\nenvironment: azureml:AzureML-sklearn-1.5:1\n"
    )
    (folder / "missing.yml").write_text(
        "type: pipeline\njobs:\n  a:\n    type: command\n    component: file:./component.yml\n"
    )
    code, _, err = run(capsys, "job", "create", "--file", str(folder / "missing.yml"))
    assert code == 2
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: node 'a' input 'raw' is required but not bound. Set jobs.a.")


def test_publish_invoke_and_list_published_pipelines(
    env: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    from automl_local.backends import get_client

    code, out, err = run(capsys, "job", "create", "--file", str(env["pipeline"]), "-o", "json")
    assert code == 0, err
    job = json.loads(out)["name"]
    ml = get_client("local")
    wait_terminal(ml, job)
    code, out, err = run(capsys, "pipeline", "publish", "--job", job, "--name", "kit-pub")
    assert code == 0, err
    assert f"Published pipeline job {job} as kit-pub." in out and "tag" in out
    code, out, _ = run(capsys, "pipeline", "list")
    assert "kit-pub" in out and "default" in out
    code, out, _ = run(capsys, "pipeline", "show", "--name", "kit-pub", "-o", "json")
    assert json.loads(out)["parameters"]["tag"]["default"] == "first"
    code, out, err = run(capsys, "pipeline", "invoke", "--name", "kit-pub", "--set", "tag=cli",
                         "--stream")  # fmt: skip
    assert code == 0, err
    assert "Completed" in out, out
    code, out, _ = run(capsys, "pipeline", "runs", "--name", "kit-pub")
    assert "Completed" in out
    code, _, err = run(capsys, "pipeline", "invoke", "--name", "kit-pub", "--set", "nope=1")
    assert code == 2 and "unknown parameter 'nope'" in err
    code, out, _ = run(capsys, "pipeline", "delete", "--name", "kit-pub")
    assert code == 0 and "Deleted" in out


def test_schedule_commands(env: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    schedule = env["folder"] / "schedule.yml"
    schedule.write_text(
        "name: cli_sched\ntrigger:\n  type: cron\n  expression: '0 6 * * 1-5'\n"
        "  time_zone: W. Europe Standard Time\ncreate_job: ./pipeline.yml\n"
    )
    code, out, err = run(capsys, "schedule", "create", "--file", str(schedule))
    assert code == 0, err
    assert "Created schedule cli_sched (enabled): cron '0 6 * * 1-5' (W. Europe" in out
    assert "control plane is not running" in out
    code, out, _ = run(capsys, "schedule", "list", "-o", "json")
    assert [r["name"] for r in json.loads(out)] == ["cli_sched"]
    code, _, err = run(capsys, "schedule", "delete", "--name", "cli_sched")
    assert code == 2 and "only a disabled schedule can be deleted" in err
    code, out, err = run(capsys, "schedule", "trigger", "--name", "cli_sched")
    assert code == 0, err
    job = out.split("job ")[1].split()[0]
    from automl_local.backends import get_client

    wait_terminal(get_client("local"), job)
    code, out, _ = run(capsys, "schedule", "show", "--name", "cli_sched")
    assert "trigger" in out and job in out
    code, out, _ = run(capsys, "schedule", "disable", "--name", "cli_sched")
    assert "Disabled schedule cli_sched (disabled)" in out
    code, out, _ = run(capsys, "schedule", "list")
    assert "No schedules" in out
    code, out, _ = run(capsys, "schedule", "list", "--all")
    assert "cli_sched" in out
    code, out, _ = run(capsys, "schedule", "delete", "--name", "cli_sched")
    assert code == 0 and "Deleted schedule cli_sched." in out
    bad = env["folder"] / "bad.yml"
    bad.write_text("name: b\ntrigger:\n  type: cron\n  expression: '0 6 *'\ncreate_job: ./x.yml\n")
    code, _, err = run(capsys, "schedule", "create", "--file", str(bad))
    assert code == 2 and err.strip().splitlines()[-1].startswith("error: ")
    assert "Traceback" not in err


def test_server_commands(env: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "server", "status")
    assert code == 0 and "stopped" in out
    code, out, _ = run(capsys, "server", "get-credentials", "-o", "json")
    keys = json.loads(out)
    assert len(keys["primaryKey"]) > 30 and keys["primaryKey"] != keys["secondaryKey"]
    code, out, _ = run(capsys, "server", "regenerate-keys", "--key-type", "primary")
    assert code == 0
    _, out, _ = run(capsys, "server", "get-credentials", "-o", "json")
    assert json.loads(out)["primaryKey"] != keys["primaryKey"]
    assert json.loads(out)["secondaryKey"] == keys["secondaryKey"]
    code, out, _ = run(capsys, "server", "stop")
    assert "was not running" in out
    code, _, err = run(capsys, "server", "start", "--missed-runs", "sometimes")
    assert code == 2 and "sometimes" in err


@pytest.mark.parametrize(
    ("argv", "instead"),
    [
        (("server", "start"), "automl-local pipeline publish --backend azure"),
        (("server", "stop"), "automl-local schedule disable --backend azure"),
        (("server", "status"), "automl-local pipeline list --backend azure"),
        (("server", "logs"), "automl-local job stream --backend azure"),
        (("server", "get-credentials"), "Entra ID token, not keys"),
        (("server", "regenerate-keys"), "Entra ID token, not keys"),
    ],
)
def test_server_commands_on_azure_say_why_not_and_what_instead(
    env: dict[str, Any], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    argv: tuple[str, ...], instead: str,
) -> None:
    for var, value in (("AZURE_SUBSCRIPTION_ID", "00000000-0000-0000-0000-000000000000"),
                       ("AZURE_RESOURCE_GROUP", "rg"), ("AZUREML_WORKSPACE_NAME", "ws")):
        monkeypatch.setenv(var, value)
    code, out, err = run(capsys, *argv, "--backend", "azure")
    assert code == 2, (out, err)
    line = err.strip().splitlines()[-1]
    assert line.startswith("error: control_plane.") and "is local-only" in line, line
    assert instead in line and "Traceback" not in err
