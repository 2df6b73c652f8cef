"""The house rules, checked: one import name, arrows pointing down, no private imports across
packages, small modules.

The layers (DESIGN.md section 2): the CLI (``automl_local.cli``) on top; ``backends`` and
``service`` below it; the engine (every other ``automl_local`` module) at the bottom.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# repository folder -> its one import name (setup.py maps them).
FOLDERS = {"automl_local": "automl_local", "backends": "automl_local.backends",
           "service": "automl_local.service"}
MAX_LINES = 600
# The distribution's front door re-exports MLClient and get_client lazily (module __getattr__),
# so importing the engine never loads the backends; it is the one module allowed to name them.
FRONT_DOOR = "automl_local"


def _modules() -> list[tuple[Path, str]]:
    found = []
    for folder, package in FOLDERS.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = list(path.relative_to(ROOT / folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found.append((path, ".".join([package, *parts])))
    return found


def _layer(module: str) -> int:
    """2 = CLI, 1 = backends and service, 0 = the engine."""
    if module == "automl_local.cli" or module.startswith("automl_local.cli."):
        return 2
    for upper in ("automl_local.backends", "automl_local.service"):
        if module == upper or module.startswith(upper + "."):
            return 1
    return 0


def _imports(path: Path, module: str) -> list[tuple[int, str]]:
    """(line, absolute module) of every import statement, relative ones resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                name = f"{base}.{node.module}" if node.module else base
            else:
                name = node.module or ""
            out.append((node.lineno, name))
            # ``from pkg import _private`` imports a private module too
            out += [(node.lineno, f"{name}.{alias.name}") for alias in node.names
                    if alias.name.startswith("_") and not alias.name.startswith("__")]
    return out


def _private_owner(target: str) -> str | None:
    """The package that owns the first private part of ``target``, if it has one."""
    parts = target.split(".")
    for i, part in enumerate(parts):
        if part.startswith("_") and not part.startswith("__"):
            return ".".join(parts[:i])
    return None


def house_violations() -> list[str]:
    bad: list[str] = []
    for path, module in _modules():
        where = path.relative_to(ROOT)
        for line, target in _imports(path, module):
            if target.split(".")[0] in ("backends", "service"):
                bad.append(f"{where}:{line} imports {target} by its bare name")
                continue
            if not target.startswith("automl_local"):
                continue
            if _layer(target) > _layer(module) and module != FRONT_DOOR:
                bad.append(f"{where}:{line} ({module}) imports the upper layer {target}")
            owner = _private_owner(target)
            if owner is not None and not (module == owner or module.startswith(owner + ".")):
                bad.append(f"{where}:{line} ({module}) imports the private {target}")
    return bad


def test_imports_point_down_and_stay_out_of_other_packages_privates() -> None:
    assert house_violations() == []


def test_the_walker_sees_an_upward_and_a_private_import(tmp_path: Path) -> None:
    """The rule above is only worth something if it can fail."""
    bad = tmp_path / "x.py"
    bad.write_text("from automl_local.backends.local import LocalClient\n"
                   "from automl_local.service._app import create_app\n"
                   "from automl_local.backends.local import _jobs\n")
    found = _imports(bad, "automl_local.engine_like")
    assert [t for _, t in found if _layer(t) > 0] == [
        "automl_local.backends.local", "automl_local.service._app",
        "automl_local.backends.local", "automl_local.backends.local._jobs"]
    assert _private_owner("automl_local.service._app") == "automl_local.service"
    assert _private_owner("automl_local.backends.local._jobs") == "automl_local.backends.local"


def test_no_module_over_600_lines() -> None:
    big = [f"{p.relative_to(ROOT)}: {n}" for p, _ in _modules()
           if (n := p.read_text(encoding="utf-8").count("\n")) > MAX_LINES]
    assert big == []


@pytest.mark.parametrize("bare", ["backends", "service"])
def test_bare_names_from_the_repository_root_are_refused(bare: str) -> None:
    """From the repository root ``import backends`` would load a second copy of every module."""
    done = subprocess.run([sys.executable, "-c", f"import {bare}"], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 1
    assert f"import this package as automl_local.{bare}, not '{bare}'" in done.stderr


def test_the_wheel_installs_one_top_level_name(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path), str(ROOT)],
        capture_output=True, text=True, env={**os.environ, "PIP_NO_INDEX": "1"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    (wheel,) = tmp_path.glob("automl_local-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        top_level = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
        info = next(n for n in names if n.endswith(".dist-info/top_level.txt"))
        declared = zf.read(info).decode().split()
    assert top_level == {"automl_local"}
    assert declared == ["automl_local"]
    for module in ("automl_local/backends/local/__init__.py", "automl_local/service/_app.py",
                   "automl_local/backends/azure/testing/__init__.py",
                   "automl_local/service/control_plane/__init__.py"):
        assert module in names


def test_a_users_own_service_and_backends_folders_do_not_shadow_ours(tmp_path: Path) -> None:
    """A project with its own ``service/`` and ``backends/`` packages (common names) still gets
    automl-local's client and CLI, and keeps its own packages."""
    for name in ("service", "backends"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text(f"WHO = 'user {name}'\n")
    code = (
        "import service, backends\n"
        "from automl_local import MLClient\n"
        "ml = MLClient(workspace_dir='ws')\n"
        "print(service.WHO, backends.WHO, type(ml).__module__, ml.workspace.root.name)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["user", "service", "user", "backends",
                                   "automl_local.backends.local", "ws"]
    cli = Path(sys.executable).with_name("automl-local")
    listed = subprocess.run([str(cli), "job", "list", "--workspace", "ws", "-o", "json"],
                            cwd=tmp_path, capture_output=True, text=True, env=env)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.strip() == "[]"
