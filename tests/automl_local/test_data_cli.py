"""`automl-local data ...` against a local workspace: output and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pandas as pd
import pytest

from automl_local.cli._common import run_cli
from automl_local.cli._data import data
from automl_local.data import write_mltable


@pytest.fixture
def run(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    """Run `automl-local data <args>` on a fresh workspace; return (exit code, stdout, stderr)."""
    root = click.Group("automl-local")
    root.add_command(data)
    workspace = str(tmp_path / "ws")

    def invoke(*args: str) -> tuple[int, str, str]:
        # The table assertions below ask for az's -o table (the default is JSON, as az).
        table = (
            ["-o", "table"] if args[0] in ("create", "list", "show") and "-o" not in args else []
        )
        code = run_cli(root, ["data", *args, *table, "--workspace-dir", workspace])
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


@pytest.fixture
def table(tmp_path: Path) -> Path:
    frame = pd.DataFrame({"x": [1, 2], "y": ["no", "yes"]})
    return write_mltable(frame, tmp_path / "train")


def test_create_list_show(run, table: Path) -> None:
    code, out, _ = run("create", "--name", "bank", "--path", str(table), "--type", "mltable")
    assert code == 0
    assert "name:        bank\nversion:     1\ntype:        mltable" in out
    assert run("create", "-n", "bank", "-p", str(table), "-t", "mltable", "-o", "json")[0] == 0

    code, out, _ = run("list")
    assert code == 0
    assert out.splitlines()[0].split() == ["NAME", "VERSION", "TYPE", "PATH"]
    assert out.splitlines()[1].split()[:3] == ["bank", "2", "mltable"]

    code, out, _ = run("list", "--name", "bank", "-o", "json")
    assert [d["version"] for d in json.loads(out)] == ["1", "2"]

    code, out, _ = run("show", "--name", "bank", "--version", "1", "-o", "json")
    shown = json.loads(out)
    assert (shown["name"], shown["version"], shown["type"]) == ("bank", "1", "mltable")
    assert Path(shown["path"]).name == "1"
    code, out, _ = run("show", "--name", "bank")
    assert "version:     2" in out


def test_create_from_yaml_with_override(run, table: Path) -> None:
    spec = table.parent / "data.yml"
    spec.write_text(
        "$schema: https://azuremlschemas.azureedge.net/latest/data.schema.json\n"
        "name: from-yaml\nversion: 3\ntype: mltable\npath: ./train\ndescription: hello\n"
    )
    code, out, _ = run("create", "--file", str(spec), "--version", "5")
    assert code == 0, out
    assert "name:        from-yaml\nversion:     5" in out and "description: hello" in out


def test_user_mistakes_exit_2_with_one_line(run, table: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("name: x\ntype: table\npath: ./train\n")
    code, out, err = run("create", "--file", str(bad))
    assert code == 2 and out == ""
    assert err.startswith("error: ") and "Must be one of: uri_file, uri_folder, mltable" in err
    assert "Traceback" not in err

    code, _, err = run("create", "--name", "x")
    assert code == 2 and "needs --file, or both --name and --path" in err

    code, _, err = run("show", "--name", "nope")
    assert code == 2 and "error: data asset 'nope' has no active version" in err

    code, _, err = run("create", "-n", "x", "-p", str(table / "data.csv"), "-t", "mltable")
    assert code == 2 and "does not match asset type mltable" in err


def test_archive_and_restore(run, table: Path) -> None:
    run("create", "-n", "a", "-p", str(table), "-t", "mltable")
    code, out, _ = run("archive", "-n", "a")
    assert code == 0 and out.strip() == "Archived data asset a."
    assert run("list")[1].strip() == "No data assets."
    assert "a " in run("list", "--archived-only")[1]
    code, out, _ = run("restore", "-n", "a", "-v", "1")
    assert code == 0 and out.strip() == "Restored data asset a:1."


def test_root_cli_registers_the_data_group() -> None:
    from automl_local.cli import cli

    assert "data" in cli.commands
