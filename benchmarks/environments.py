"""Environment build time: automl-local (uv, pip) vs a hand-made venv, first build vs reuse.

For two conda files (small: two pure-Python packages; medium: pandas and
scikit-learn) it times:

* ``resolve_environment`` with uv (the default) and with pip
  (``AUTOML_LOCAL_INSTALLER=pip``), each into a fresh workspace, with the
  installer's download cache as it is (warm) and disabled (cold: every
  wheel downloaded);
* the second ``resolve_environment`` of the same file (reuse: nothing installed);
* the peer: what a user does by hand, ``python -m venv`` then ``pip install``
  of the same packages (pip cache warm).

Prints a markdown table (and writes it under benchmarks/results/).

    python benchmarks/environments.py
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from automl_local.environments import resolve_environment
from automl_local.workspace import Workspace

SPECS = {
    "small (humanize, inflection)": ["humanize", "inflection"],
    "medium (pandas, scikit-learn)": ["pandas", "scikit-learn"],
}


def _conda(folder: Path, packages: list[str]) -> Path:
    path = folder / "conda.yml"
    lines = "".join(f"      - {p}\n" for p in packages)
    path.write_text(f"dependencies:\n  - pip\n  - pip:\n{lines}")
    return path


def _ours(packages: list[str], installer: str, cold: bool) -> tuple[float, float]:
    env = {"AUTOML_LOCAL_INSTALLER": installer}
    if cold:
        env.update(UV_NO_CACHE="1", PIP_NO_CACHE_DIR="1")
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            ws = Workspace(Path(tmp) / "ws")
            conda = _conda(Path(tmp), packages)
            start = time.perf_counter()
            first = resolve_environment(conda, ws)
            built = time.perf_counter() - start
            start = time.perf_counter()
            again = resolve_environment(conda, ws)
            reused = time.perf_counter() - start
            assert not first.reused and again.reused
            return built, reused
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _by_hand(packages: list[str]) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "venv", f"{tmp}/v"], check=True)
        subprocess.run(
            [f"{tmp}/v/bin/python", "-m", "pip", "install", "-q", *packages],
            check=True,
            capture_output=True,
        )
        return time.perf_counter() - start


def main() -> None:
    rows = []
    for label, packages in SPECS.items():
        uv_warm, uv_reuse = _ours(packages, "uv", cold=False)
        uv_cold, _ = _ours(packages, "uv", cold=True)
        pip_warm, pip_reuse = _ours(packages, "pip", cold=False)
        pip_cold, _ = _ours(packages, "pip", cold=True)
        hand = _by_hand(packages)
        rows.append(
            f"| {label} | {uv_warm:.1f} | {uv_cold:.1f} | {pip_warm:.1f} | {pip_cold:.1f} | "
            f"{min(uv_reuse, pip_reuse) * 1000:.0f} | {hand:.1f} |"
        )
    load = os.getloadavg()[0]
    table = "\n".join(
        [
            f"{platform.machine()}, {os.cpu_count()} cores, load average {load:.1f}, "
            f"Python {platform.python_version()}; seconds unless said",
            "",
            "| environment | uv first build (warm cache) | uv first build (no cache) "
            "| pip first build (warm cache) | pip first build (no cache) | reuse (ms) "
            "| peer: python -m venv + pip install (warm cache) |",
            "|---|---:|---:|---:|---:|---:|---:|",
            *rows,
        ]
    )
    print(table)
    out = Path(__file__).parent / "results" / f"environments-{time.strftime('%Y%m%d-%H%M')}.md"
    out.write_text(table + "\n")


if __name__ == "__main__":
    main()
