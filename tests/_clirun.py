"""Running the ``automl-local`` CLI in-process from a test (importable from any test folder)."""

from __future__ import annotations

from pathlib import Path

import pytest

__all__ = ["run_cli"]


def run_cli(
    workspace: Path, capsys: pytest.CaptureFixture[str], *argv: str
) -> tuple[int, str, str]:
    """``automl-local <argv> --workspace <workspace>``: (exit code, stdout, stderr)."""
    from automl_local.cli import main

    code = 0
    try:
        main([*argv, "--workspace", str(workspace)])
    except SystemExit as exit_info:
        code = int(exit_info.code or 0)
    out, err = capsys.readouterr()
    return code, out, err
