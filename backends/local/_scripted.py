"""Deployments with a scoring script (``code_configuration``): checked, built and laid out.

What Azure does for such a deployment, done locally:

* the code folder is snapshotted (``deployments/<d>/code/<content hash>/``), so
  editing ``score.py`` afterwards changes nothing until the deployment is
  updated, and an update with changed code restarts the server;
* the model is laid out as Azure mounts it: ``AZUREML_MODEL_DIR`` is
  ``deployments/<d>/azureml-models/<model name>/<version>/`` with the
  registered file or folder inside (a link to the registry's version folder),
  so ``os.path.join(os.getenv("AZUREML_MODEL_DIR"), "model/sklearn_regression_model.pkl")``
  works unchanged;
* the environment is built as command jobs build theirs
  (:func:`automl_local.environments.build_environment`): an inline
  ``Environment`` (conda file, with an image that is recorded, not pulled), a
  registered ``azureml:name:version``, or a file. Azure's inference images
  carry ``azureml-inference-server-http``; an environment that does not list
  it gets it added (and the log says so). A curated name (``AzureML-...``) or
  no environment at all gets a stand-in: the server plus this machine's
  scikit-learn, pandas, NumPy, SciPy and joblib (what Azure's curated sklearn
  images hold), never automl-local's own environment, whose OpenTelemetry the
  server's pins conflict with.

Everything a user can get wrong (no code folder, a scoring script outside
it, a conda file that cannot be read, an unknown environment) is refused by
:func:`plan_script` before anything is written or started.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from dataclasses import dataclass, replace
from importlib import metadata
from pathlib import Path
from typing import Any

from automl_local.environments import (
    EnvironmentSpec,
    build_environment,
    environment_spec,
    environments_dir,
)
from automl_local.exceptions import ConfigError
from automl_local.workspace import Workspace

__all__ = ["SERVER_REQUIREMENT", "ScriptPlan", "plan_script", "prepare_script"]

#: Azure's inference server, as its current inference images carry it.
SERVER_REQUIREMENT = "azureml-inference-server-http~=1.5.1"
_SERVER_NAME = "azureml-inference-server-http"
#: What Azure's curated sklearn inference images hold besides the server.
_STAND_IN = ("scikit-learn", "numpy", "pandas", "scipy", "joblib")


@dataclass(frozen=True)
class ScriptPlan:
    """A checked ``code_configuration`` + environment, not built yet."""

    code_dir: Path
    scoring_script: str  # relative to code_dir, as in the YAML
    spec: EnvironmentSpec
    notes: tuple[str, ...] = ()

    @property
    def environment_label(self) -> str:
        return self.spec.label


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _lists_server(spec: EnvironmentSpec) -> bool:
    names = [*spec.pip_requirements, *spec.conda_packages]
    return any(
        _normal(re.split(r"[\s=<>!~;\[@]", n.strip(), maxsplit=1)[0]) == _SERVER_NAME
        for n in names
    )


def _stand_in(spec: EnvironmentSpec, name: str) -> EnvironmentSpec:
    pins = []
    for dist in _STAND_IN:
        try:
            pins.append(f"{dist}=={metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            pins.append(dist)
    asked = spec.label if spec.name or spec.image else "no environment"
    return EnvironmentSpec(
        source=f"{asked} (deployment {name}: local stand-in for Azure's curated inference image)",
        pip_requirements=(SERVER_REQUIREMENT, *pins),
        name=spec.name,
        version=spec.version,
    )


def _code_path(code: Any, name: str) -> str:
    path = getattr(code, "path", code)
    text = str(path or "")
    if not text:
        raise ConfigError(
            f"deployment {name!r}: code_configuration.code is empty; give the folder that "
            "holds the scoring script, e.g. code: ./onlinescoring."
        )
    if text.startswith("azureml:") or "://" in text:
        raise ConfigError(
            f"deployment {name!r}: code_configuration.code {text!r} is a registered code asset; "
            "locally give the code folder itself (code: ./onlinescoring)."
        )
    return text


def plan_script(deployment: Any, name: str, ws: Workspace) -> ScriptPlan | None:
    """The deployment's scoring-script plan, or None for a no-code deployment.

    Raises ConfigError (missing code folder or script, unreadable conda file)
    or NotFoundError (unknown registered environment).
    """
    config = getattr(deployment, "code_configuration", None)
    if config is None:
        return None
    base = Path(getattr(deployment, "base_path", None) or os.getcwd())
    code = Path(_code_path(config.code, name)).expanduser()
    code_dir = (code if code.is_absolute() else base / code).resolve()
    if not code_dir.is_dir():
        raise ConfigError(
            f"deployment {name!r}: code_configuration.code {str(config.code)!r} is not a "
            f"folder (resolved to {str(code_dir)!r}). Point it at the folder holding the "
            "scoring script."
        )
    script = str(config.scoring_script or "")
    target = (code_dir / script).resolve()
    if not script or code_dir not in target.parents or not target.is_file():
        found = sorted(p.name for p in code_dir.glob("*.py"))[:10]
        raise ConfigError(
            f"deployment {name!r}: scoring_script {script!r} is not a file in the code folder "
            f"{str(code_dir)!r} (Python files there: {', '.join(found) or 'none'}). Set "
            "code_configuration.scoring_script to its path relative to that folder."
        )
    spec = environment_spec(deployment.environment, workspace=ws, base_dir=base)
    notes: list[str] = []
    if spec.curated:
        spec = _stand_in(spec, name)
        notes.append(
            f"environment {spec.label} is a curated Azure image (or none was given): a local "
            f"stand-in is built with {SERVER_REQUIREMENT} and this machine's scikit-learn, "
            "pandas, NumPy, SciPy and joblib"
        )
    elif not _lists_server(spec):
        spec = replace(spec, pip_requirements=(*spec.pip_requirements, SERVER_REQUIREMENT))
        notes.append(
            f"environment {spec.label} does not list {_SERVER_NAME}; adding {SERVER_REQUIREMENT}"
            " (Azure's inference images carry it)"
        )
    return ScriptPlan(code_dir=code_dir, scoring_script=script, spec=spec, notes=tuple(notes))


def _code_hash(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if "__pycache__" in path.parts or not path.is_file():
            continue
        digest.update(str(path.relative_to(folder)).encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _layout_model(folder: Path, model: Any) -> Path:
    """``<folder>/azureml-models/<name>/<version>`` -> the registry's version folder."""
    model_dir = folder / "azureml-models" / str(model.name) / str(model.version)
    version_folder = Path(str(model.path)).resolve().parent
    if model_dir.is_symlink() or model_dir.exists():
        if model_dir.resolve() == version_folder:
            return model_dir
        if model_dir.is_symlink():
            model_dir.unlink()
        else:
            shutil.rmtree(model_dir)
    model_dir.parent.mkdir(parents=True, exist_ok=True)
    model_dir.symlink_to(version_folder, target_is_directory=True)
    return model_dir


def prepare_script(
    plan: ScriptPlan, ws: Workspace, folder: Path, model: Any, log: Any
) -> dict[str, Any]:
    """Build the environment, snapshot the code, lay out the model: the server's entry.

    ``folder`` is the deployment's folder; ``log`` takes one line. Raises
    EnvironmentBuildError when the environment cannot be installed.
    """
    for note in plan.notes:
        log(f"[environment] {note}")
    env = build_environment(plan.spec, environments_dir(ws), log)
    code_hash = _code_hash(plan.code_dir)
    snapshot = folder / "code" / code_hash
    if not snapshot.is_dir():
        tmp = folder / "code" / f".{code_hash}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(plan.code_dir, tmp, ignore=shutil.ignore_patterns("__pycache__"))
        os.replace(tmp, snapshot)
    model_dir = _layout_model(folder, model)
    log(
        f"scoring script {plan.scoring_script} (code {plan.code_dir}, snapshot {code_hash}); "
        f"AZUREML_MODEL_DIR={model_dir}; environment {env.key or 'own'}"
    )
    return {
        "python": str(env.python),
        "entry_script": str(snapshot / plan.scoring_script),
        "model_dir": str(model_dir),
        "environ": dict(env.variables),
        "code_hash": code_hash,
        "environment": env.key,
    }
