"""Holding a live endpoint to its own OpenAPI document with schemathesis (any test folder).

schemathesis 4.32 is the tool and version that found issue 11's mismatches. It
generates requests from the document, valid and invalid (``--mode all``), and
checks among others that what the schema allows is answered 2xx, what it forbids
4xx, and that nothing is a 5xx. Bounded: ``examples`` per operation, seeded.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

__all__ = ["run_schemathesis"]


def run_schemathesis(
    document: str, base_url: str, headers: dict[str, str], workdir: Path, examples: int = 100
) -> tuple[int, int, str]:
    """Run schemathesis against ``document``: (exit code, requests generated, report)."""
    cli = Path(sys.executable).with_name("schemathesis")
    args = [str(cli), "run", document, "--url", base_url, "--max-examples", str(examples),
            "--seed", "11", "--mode", "all", "--request-timeout", "10", "--no-color"]  # fmt: skip
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    # cwd: its .schemathesis cache stays out of the repository
    result = subprocess.run(args, capture_output=True, text=True, timeout=180, cwd=workdir)
    report = result.stdout + result.stderr
    generated = re.search(r"(\d+) generated", report)
    return result.returncode, int(generated.group(1)) if generated else 0, report
