"""Environments are really built: real virtual environments from the package index.

``humanize`` and ``inflection`` are small pure-Python packages automl-local
does not depend on, so importing them proves the environment was built.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from automl_local.environments import (
    EnvironmentSpec,
    environment_spec,
    resolve_environment,
    save_environment,
)
from automl_local.environments._spec import conda_to_pip
from automl_local.exceptions import ConfigError, EnvironmentBuildError, NotFoundError
from automl_local.workspace import Workspace

CONDA = """\
name: step-env
channels:
  - conda-forge
dependencies:
  - python=3.{minor}
  - pip
  - humanize
  - pip:
      - inflection
"""


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path / "ws")


@pytest.fixture
def conda_file(tmp_path: Path) -> Path:
    path = tmp_path / "conda.yml"
    path.write_text(CONDA.format(minor=sys.version_info.minor))
    return path


def _imports(python: Path, *modules: str) -> bool:
    code = "; ".join(f"import {m}" for m in modules)
    return subprocess.run([str(python), "-c", code], capture_output=True).returncode == 0


def test_conda_file_builds_once_then_reuses(ws: Workspace, conda_file: Path) -> None:
    assert importlib.util.find_spec("humanize") is None, "the test package must not be ours"
    first: list[str] = []
    env = resolve_environment(str(conda_file), ws, log=first.append)
    assert not env.reused and env.root is not None
    assert env.root.parent == ws.root / "environments"
    assert _imports(env.python, "humanize", "inflection")
    assert any("building" in line for line in first)
    assert any("humanize" in line for line in first)  # the installer's own progress lines

    second: list[str] = []
    again = resolve_environment(str(conda_file), ws, log=second.append)
    assert again.reused and again.python == env.python
    assert any("reusing" in line and "nothing to install" in line for line in second)
    assert not any("building" in line or "humanize" in line for line in second)


def test_pip_installer_builds_too(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTOML_LOCAL_INSTALLER", "pip")
    reqs = tmp_path / "requirements.txt"
    (tmp_path / "more.txt").write_text("inflection  # inlined through -r\n")
    reqs.write_text("# comment\nhumanize\n-r more.txt\n")
    lines: list[str] = []
    env = resolve_environment(reqs, ws, log=lines.append)
    assert _imports(env.python, "humanize", "inflection")
    assert any("with pip" in line for line in lines)


def test_concurrent_builds_of_one_environment_build_once(ws: Workspace, conda_file: Path) -> None:
    logs: list[list[str]] = [[], []]
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            resolve_environment(str(conda_file), ws, log=logs[i].append)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    built = [log for log in logs if any("building" in line for line in log)]
    reused = [log for log in logs if any("reusing" in line for line in log)]
    assert len(built) == 1 and len(reused) == 1


def test_unfinished_build_is_redone(ws: Workspace, conda_file: Path) -> None:
    env = resolve_environment(str(conda_file), ws)
    assert env.root is not None
    (env.root / "automl-env.json").unlink()  # as if the build had been killed before the end
    lines: list[str] = []
    redone = resolve_environment(str(conda_file), ws, log=lines.append)
    assert not redone.reused
    assert any("removing an unfinished build" in line for line in lines)
    assert _imports(redone.python, "humanize")


def test_killed_build_leaves_nothing_complete_and_frees_the_lock(
    ws: Workspace, conda_file: Path, tmp_path: Path
) -> None:
    import os
    import signal
    import time

    log = tmp_path / "build.log"
    code = (
        "import sys; from automl_local.environments import resolve_environment; "
        "from automl_local.workspace import Workspace; "
        f"resolve_environment({str(conda_file)!r}, Workspace({str(ws.root)!r}), "
        f"log=open({str(log)!r}, 'a'))"
    )
    proc = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and "building" not in (
        log.read_text() if log.exists() else ""
    ):
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    roots = [p for p in (ws.root / "environments").iterdir() if p.is_dir()]
    for root in roots:  # killed before the end: no marker; after it: a working environment
        if (root / "automl-env.json").exists():
            assert _imports(root / "bin" / "python", "humanize", "inflection")
    # the lock is free again (once an orphaned installer step has ended): this returns
    env = resolve_environment(str(conda_file), ws)
    assert _imports(env.python, "humanize", "inflection")


def test_uninstallable_package_fails_with_installer_message(ws: Workspace, tmp_path: Path) -> None:
    reqs = tmp_path / "requirements.txt"
    reqs.write_text("humanize\nno-such-package-automl-local-test==1.0\n")
    with pytest.raises(EnvironmentBuildError, match="no-such-package-automl-local-test"):
        resolve_environment(reqs, ws)
    # the failed build is not taken as complete next time
    lines: list[str] = []
    with pytest.raises(EnvironmentBuildError, match="could not install"):
        resolve_environment(reqs, ws, log=lines.append)
    assert not any("reusing" in line for line in lines)


def test_conda_variables_reach_the_environment(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "conda.yml"
    path.write_text("dependencies: [pip]\nvariables:\n  MY_SETTING: fast\n")
    env = resolve_environment(path, ws)
    out = subprocess.run(
        [str(env.python), "-c", "import os, sys; print(os.environ['MY_SETTING'], sys.prefix)"],
        env=env.environ(), capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert out.stdout.split() == ["fast", str(env.root)]


def test_conda_only_packages_and_python_pin_warn_and_build_goes_on(
    ws: Workspace, tmp_path: Path
) -> None:
    path = tmp_path / "conda.yml"
    path.write_text(
        "dependencies:\n  - python=2.7\n  - mkl\n  - no-such-conda-only-thing-xyz=1.0\n"
        "  - pip:\n    - inflection\n"
    )
    lines: list[str] = []
    env = resolve_environment(path, ws, log=lines.append)
    warnings = " | ".join(env.warnings)
    assert "python=2.7 cannot be met" in warnings
    assert "mkl (conda-only" in warnings
    assert "no-such-conda-only-thing-xyz" in warnings
    assert _imports(env.python, "inflection")
    assert any("warning: skipped mkl" in line for line in lines)


def test_broken_conda_yaml_names_the_line(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "conda.yml"
    path.write_text("dependencies:\n  - numpy\n   - pip:\n  - x\n")
    with pytest.raises(ConfigError, match=r"conda\.yml line 3, column \d+"):
        resolve_environment(path, ws)


def test_unknown_conda_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "conda.yml"
    path.write_text("dependencies: [numpy]\ndependences: [x]\n")
    with pytest.raises(ConfigError, match=r"unknown keys \['dependences'\]"):
        environment_spec(path)


@pytest.mark.parametrize(
    "name",
    [
        "AzureML-sklearn-1.5:1",
        "azureml:AzureML-ai-ml-automl:7",
        "AzureML-AutoML@latest",
        "azureml://registries/azureml/environments/sklearn-1.5/labels/latest",
    ],
)
def test_curated_names_run_in_our_own_environment(ws: Workspace, name: str) -> None:
    lines: list[str] = []
    env = resolve_environment(name, ws, log=lines.append)
    assert env.python == Path(sys.executable) and env.root is None
    assert any("curated" in line and "own environment" in line for line in lines)


def test_registered_environment_resolves_by_version_and_latest(ws: Workspace) -> None:
    save_environment(ws, {"name": "step", "version": "1", "conda_file": {"dependencies": ["a"]}})
    save_environment(
        ws, {"name": "step", "version": "2", "conda_file": {"dependencies": ["inflection"]}}
    )
    assert environment_spec("azureml:step:1", workspace=ws).conda_packages == ("a",)
    assert environment_spec("step@latest", workspace=ws).conda_packages == ("inflection",)
    with pytest.raises(NotFoundError, match=r"step:9 was not found.*its versions: 1, 2"):
        environment_spec("azureml:step:9", workspace=ws)
    with pytest.raises(NotFoundError, match=r"'nope' was not found.*environments: step"):
        environment_spec("azureml:nope@latest", workspace=ws)


def test_entity_with_conda_dict_and_image(ws: Workspace) -> None:
    from azure.ai.ml.entities import Environment

    entity = Environment(
        name="e", image="mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04",
        conda_file={"dependencies": ["pip", {"pip": ["inflection"]}]},
    )  # fmt: skip
    spec = environment_spec(entity, workspace=ws)
    assert spec.pip_requirements == ("inflection",) and not spec.curated
    assert any("not pulled locally" in n for n in spec.notes)


def test_build_context_is_refused() -> None:
    from azure.ai.ml.entities import BuildContext, Environment

    with pytest.raises(ConfigError, match="Docker build context"):
        environment_spec(Environment(name="d", build=BuildContext(path=".")))


def test_spec_hash_ignores_comments_and_order_of_keys(tmp_path: Path) -> None:
    a = tmp_path / "a.yml"
    b = tmp_path / "b.yml"
    a.write_text("name: x\ndependencies:\n  - numpy  # c\n")
    b.write_text("dependencies: [numpy]\nname: y\n")
    sa, sb = environment_spec(a), environment_spec(b)
    assert isinstance(sa, EnvironmentSpec)
    assert sa.content_hash("3.11") == sb.content_hash("3.11") != sa.content_hash("3.12")


@pytest.mark.parametrize(
    ("conda", "pip"),
    [
        ("numpy", "numpy"),
        ("numpy=1.26", "numpy==1.26.*"),
        ("numpy==1.26.4", "numpy==1.26.4"),
        ("numpy>=1.2,<2", "numpy>=1.2,<2"),
        ("scikit-learn=1.0.2=py38_0", "scikit-learn==1.0.2.*"),
        ("conda-forge::pandas=2.1", "pandas==2.1.*"),
        ("pytorch=2.1", "torch==2.1.*"),
        ("mkl", ""),
    ],
)
def test_conda_specs_translate_to_pip(conda: str, pip: str) -> None:
    assert conda_to_pip(conda)[0] == pip


def test_component_yaml_inline_environment(ws: Workspace, tmp_path: Path) -> None:
    """A step's environment as azure-ai-ml loads it from YAML: image + conda file beside it."""
    from azure.ai.ml import load_component

    (tmp_path / "conda.yml").write_text("dependencies:\n  - pip:\n    - inflection\n")
    (tmp_path / "prep.yml").write_text(
        "$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json\n"
        "name: prep\ntype: command\ncommand: python -c 'import inflection'\n"
        "environment:\n  image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04\n"
        "  conda_file: ./conda.yml\n"
    )
    component = load_component(source=str(tmp_path / "prep.yml"))
    lines: list[str] = []
    env = resolve_environment(component.environment, ws, log=lines.append)
    assert _imports(env.python, "inflection")
    assert any("not pulled locally" in w for w in env.warnings)
