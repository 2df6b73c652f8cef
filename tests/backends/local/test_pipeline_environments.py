"""Pipeline command steps run in their environment, and reference registered things.

The step's conda file names ``inflection``, a small pure-Python package from the
index that automl-local does not depend on: the step imports it, so the environment
was really built; a second run reuses it (the step log says so, and installs nothing).
Registered components, computes and environments resolve as on Azure, and unknown
ones fail with Azure's not-found error naming what exists.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import ResourceNotFoundError
from pipeline_testkit import load, nodes, wait_terminal

ENV_PIPELINE = """\
type: pipeline
experiment_name: env-kit
settings:
  force_rerun: true
jobs:
  words:
    type: command
    code: ./src
    command: python words.py > ${{outputs.out}}/words.txt
    environment:
      image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04
      conda_file: ./conda.yml
    outputs:
      out:
        type: uri_folder
"""
CONDA = "name: words\ndependencies:\n  - pip\n  - pip:\n    - inflection\n"
WORDS = "import inflection\nprint(inflection.camelize('device_type'))\n"


@pytest.fixture()
def ml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    from automl_local.backends import get_client

    monkeypatch.setenv("AUTOML_LOCAL_SERVER_AUTOSTART", "0")
    return get_client("local", workspace=tmp_path / "ws")


def _folder(tmp_path: Path, pipeline: str = ENV_PIPELINE, conda: str = CONDA) -> Path:
    folder = tmp_path / "p"
    (folder / "src").mkdir(parents=True, exist_ok=True)
    (folder / "src" / "words.py").write_text(WORDS)
    (folder / "conda.yml").write_text(conda)
    (folder / "pipeline.yml").write_text(pipeline)
    return folder / "pipeline.yml"


def _log(ml: Any, job: str, node: str) -> str:
    return Path(nodes(ml, job)[node]["log"]).read_text()


def test_step_runs_in_its_built_environment_and_the_second_run_reuses_it(
    ml: Any, tmp_path: Path
) -> None:
    assert importlib.util.find_spec("inflection") is None, "the test package must not be ours"
    path = _folder(tmp_path)
    first = ml.jobs.create_or_update(load(path))
    record = wait_terminal(ml, first.name, timeout=300)
    assert record["status"] == "Completed", record
    out = Path(nodes(ml, first.name)["words"]["outputs"]["out"]) / "words.txt"
    assert out.read_text().strip() == "DeviceType"
    log = _log(ml, first.name, "words")
    assert "[environment]" in log and "inflection" in log  # built here, progress in the log
    assert "not pulled locally" in log  # the image is said to be not used, not dropped silently

    second = ml.jobs.create_or_update(load(path))
    assert wait_terminal(ml, second.name, timeout=120)["status"] == "Completed"
    log = _log(ml, second.name, "words")
    assert "reusing" in log and "nothing to install" in log
    assert "Successfully installed" not in log and "Installed" not in log
    assert ml.jobs.get(second.name).services["Studio"].endpoint.endswith(f"#/runs/{second.name}")


def test_uninstallable_package_fails_the_step_with_the_installer_message(
    ml: Any, tmp_path: Path
) -> None:
    from automl_local.exceptions import JobFailedError

    conda = "dependencies:\n  - pip\n  - pip:\n    - no-such-package-automl-local-test==1.0\n"
    job = ml.jobs.create_or_update(load(_folder(tmp_path, conda=conda)))
    assert wait_terminal(ml, job.name, timeout=120)["status"] == "Failed"
    state = nodes(ml, job.name)["words"]
    assert "no-such-package-automl-local-test" in state["error"]
    with pytest.raises(JobFailedError, match="no-such-package-automl-local-test"):
        ml.jobs.stream(job.name)


COMPONENT = """\
$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json
name: shout
version: "{version}"
type: command
inputs:
  text: {{type: uri_file}}
outputs:
  loud: {{type: uri_folder}}
code: ./code
command: python shout.py ${{{{inputs.text}}}} ${{{{outputs.loud}}}}/out.txt {suffix}
environment: azureml:AzureML-sklearn-1.5:1
"""
REF_PIPELINE = """\
type: pipeline
settings:
  default_compute: {compute}
jobs:
  loud:
    type: command
    component: {component}
    inputs:
      text:
        type: uri_file
        path: ./in.txt
"""


def _register(ml: Any, tmp_path: Path, version: str, suffix: str) -> None:
    from azure.ai.ml import load_component

    folder = tmp_path / f"c{version}"
    (folder / "code").mkdir(parents=True)
    (folder / "code" / "shout.py").write_text(
        "import sys\n"
        "open(sys.argv[2], 'w').write(open(sys.argv[1]).read().upper() + sys.argv[3])\n"
    )
    (folder / "c.yml").write_text(COMPONENT.format(version=version, suffix=suffix))
    ml.components.create_or_update(load_component(str(folder / "c.yml")))


def _ref_pipeline(tmp_path: Path, component: str, compute: str = "serverless") -> Path:
    (tmp_path / "in.txt").write_text("hi")
    path = tmp_path / f"ref-{abs(hash((component, compute)))}.yml"
    path.write_text(REF_PIPELINE.format(component=component, compute=compute))
    return path


def test_registered_components_and_computes_resolve(ml: Any, tmp_path: Path) -> None:
    from azure.ai.ml.entities import AmlCompute

    _register(ml, tmp_path, "1", "one")
    _register(ml, tmp_path, "2", "two")
    ml.begin_create_or_update(AmlCompute(name="cpu-cluster", max_instances=2)).result()
    for ref, suffix in (("azureml:shout:1", "one"), ("azureml:shout@latest", "two")):
        job = ml.jobs.create_or_update(load(_ref_pipeline(tmp_path, ref, "azureml:cpu-cluster")))
        assert wait_terminal(ml, job.name)["status"] == "Completed"
        out = Path(nodes(ml, job.name)["loud"]["outputs"]["loud"]) / "out.txt"
        assert out.read_text() == f"HI{suffix}"
        warnings = ml.workspace.catalogue.get("job", job.name)["warnings"]
        assert any("cpu-cluster (amlcompute" in w for w in warnings), warnings


def test_unknown_component_compute_and_environment_are_azure_not_found(
    ml: Any, tmp_path: Path
) -> None:
    _register(ml, tmp_path, "1", "one")
    with pytest.raises(ResourceNotFoundError, match=r"component 'shout:7'.*shout:1"):
        ml.jobs.create_or_update(load(_ref_pipeline(tmp_path, "azureml:shout:7")))
    with pytest.raises(ResourceNotFoundError, match=r"component 'nope'.*components here: shout"):
        ml.jobs.create_or_update(load(_ref_pipeline(tmp_path, "azureml:nope:1")))
    with pytest.raises(ResourceNotFoundError, match=r"compute 'gpu'.*computes here: none"):
        ml.jobs.create_or_update(load(_ref_pipeline(tmp_path, "azureml:shout:1", "azureml:gpu")))
    unknown_env = ENV_PIPELINE.replace(
        "    environment:\n      image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04\n"
        "      conda_file: ./conda.yml\n", "    environment: azureml:my-env:3\n"
    )
    with pytest.raises(ResourceNotFoundError, match=r"node 'words' environment:.*my-env"):
        ml.jobs.create_or_update(load(_folder(tmp_path, unknown_env)))
