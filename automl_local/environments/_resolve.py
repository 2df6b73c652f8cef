"""Any way a job can name an environment -> an :class:`EnvironmentSpec` -> a Python.

Accepted: an azure-ai-ml ``Environment`` (or anything with ``conda_file`` /
``image`` / ``build``), an inline dict as in YAML (``image``, ``conda_file``,
``pip_requirements``), a path to a conda YAML or a requirements file, a
registered reference (``azureml:name:version``, ``name@latest``), a curated
name (``AzureML-sklearn-1.5:1``, ``azureml://registries/azureml/...``), or
None. Curated names, and images alone, run in automl-local's own environment.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from automl_local.environments._build import PythonEnv, build_environment, own_environment
from automl_local.environments._spec import (
    CURATED_IMAGE_PREFIX,
    EnvironmentSpec,
    is_curated_name,
    parse_conda_text,
    read_conda_file,
    read_requirements_file,
)
from automl_local.environments._store import get_environment_record
from automl_local.exceptions import ConfigError
from automl_local.workspace import Workspace

__all__ = ["ENV_CACHE", "environment_spec", "environments_dir", "resolve_environment"]

ENV_CACHE = "AUTOML_LOCAL_ENV_CACHE"
_REF = re.compile(
    r"^(?:azureml:)?(?P<name>[A-Za-z0-9_.\-]+)(?::(?P<version>[^:@/]+)|@(?P<label>\w+))?$"
)


def environments_dir(workspace: Workspace) -> Path:
    """Where built environments live: ``<workspace>/environments`` or ``$AUTOML_LOCAL_ENV_CACHE``.

    Under the workspace by default, so deleting the workspace is still the whole reset.
    """
    return Path(os.environ.get(ENV_CACHE) or workspace.root / "environments")


def _as_log(log: Callable[[str], None] | TextIO | None) -> Callable[[str], None]:
    if log is None:
        return lambda _line: None
    if callable(log):
        return log
    stream = log

    def write(line: str) -> None:
        stream.write(line + "\n")
        stream.flush()

    return write


def _from_file(path: Path) -> EnvironmentSpec:
    if not path.is_file():
        raise ConfigError(f"environment file {path} does not exist.")
    if path.suffix.lower() in (".yml", ".yaml"):
        return read_conda_file(path)
    return EnvironmentSpec(
        source=str(path),
        pip_requirements=tuple(read_requirements_file(path)),
        base_dir=path.parent,
    )


def _with(spec: EnvironmentSpec, **changes: Any) -> EnvironmentSpec:
    from dataclasses import replace

    return replace(spec, **{k: v for k, v in changes.items() if v is not None})


def _from_parts(
    *,
    conda_file: Any,
    pip_requirements: Any,
    image: str | None,
    name: str | None,
    version: str | None,
    base_dir: Path | None,
    source: str,
) -> EnvironmentSpec:
    if conda_file is None and pip_requirements is None:
        curated = is_curated_name(name) or bool(image and image.startswith(CURATED_IMAGE_PREFIX))
        notes: tuple[str, ...] = (
            ()
            if curated or not image
            else (
                f"image {image} is not pulled locally (no Docker) and its packages are not "
                "installed; add a conda_file to have them built",
            )
        )
        return EnvironmentSpec(
            source=source, image=image, name=name, version=version, curated=True, notes=notes
        )
    spec = EnvironmentSpec(source=source)
    if isinstance(conda_file, dict):
        spec = parse_conda_text(conda_file, source=f"{source} (conda_file)", base_dir=base_dir)
    elif conda_file is not None:
        spec = read_conda_file((base_dir or Path.cwd()) / str(conda_file))
    if pip_requirements is not None:
        extra = (
            [str(r) for r in pip_requirements]
            if isinstance(pip_requirements, list | tuple)
            else read_requirements_file((base_dir or Path.cwd()) / str(pip_requirements))
        )
        spec = _with(spec, pip_requirements=(*spec.pip_requirements, *extra))
    notes = spec.notes
    if image:
        notes = (*notes, f"image {image} is not pulled locally; its conda file is built instead")
    return _with(spec, image=image, name=name, version=version, notes=notes)


def environment_spec(
    env: Any, *, workspace: Workspace | None = None, base_dir: Path | None = None
) -> EnvironmentSpec:
    """What ``env`` asks for; registered references are read from ``workspace``."""
    if env is None:
        return EnvironmentSpec(source="(no environment)", curated=True)
    if isinstance(env, EnvironmentSpec):
        return env
    if isinstance(env, os.PathLike):
        return _from_file(Path(base_dir or Path.cwd()) / env)
    if isinstance(env, str):
        text = env.strip()
        if is_curated_name(text):
            return EnvironmentSpec(source=text, name=text, curated=True)
        candidate = (base_dir or Path.cwd()) / text
        if text.lower().endswith((".yml", ".yaml", ".txt")) or candidate.is_file():
            return _from_file(candidate)
        match = _REF.match(text)
        if match is None:
            raise ConfigError(
                f"environment {text!r} is neither a registered environment (azureml:name:version,"
                " name@latest), a curated name (AzureML-...), nor a conda/requirements file."
            )
        if workspace is None:
            raise ConfigError(
                f"environment {text!r} names a registered environment: give a workspace."
            )
        record = get_environment_record(
            workspace,
            match["name"],
            match["version"],
            match["label"] or (None if match["version"] else "latest"),
        )
        return environment_spec(record, workspace=workspace, base_dir=base_dir)
    if isinstance(env, dict):
        return _from_parts(
            conda_file=env.get("conda_file"),
            pip_requirements=env.get("pip_requirements"),
            image=env.get("image"),
            name=env.get("name"),
            version=None if env.get("version") is None else str(env.get("version")),
            base_dir=base_dir,
            source=f"environment {env.get('name') or '(inline)'}",
        )
    if getattr(env, "build", None) is not None:
        raise ConfigError(
            f"environment {getattr(env, 'name', None) or '(inline)'} is a Docker build context; "
            "automl-local builds environments from a conda file (with an optional image) or "
            "pip requirements, without Docker. Give conda_file instead, or run with "
            "--backend azure."
        )
    if hasattr(env, "conda_file") or hasattr(env, "image"):
        name = getattr(env, "name", None)
        version = getattr(env, "version", None)
        entity_base = getattr(env, "base_path", None)
        conda = getattr(env, "conda_file", None)
        if (
            conda is None
            and getattr(env, "image", None) is None
            and name
            and workspace is not None
        ):
            return environment_spec(
                f"{name}:{version}" if version else f"{name}@latest", workspace=workspace
            )
        return _from_parts(
            conda_file=conda,
            pip_requirements=None,
            image=getattr(env, "image", None),
            name=name,
            version=None if version is None else str(version),
            base_dir=base_dir or (Path(entity_base) if entity_base else None),
            source=f"environment {name or '(inline)'}",
        )
    raise ConfigError(
        f"environment of type {type(env).__name__} is not understood; give an Environment, a "
        "conda file, a requirements file or azureml:name:version."
    )


def resolve_environment(
    env: Any,
    workspace: Workspace,
    log: Callable[[str], None] | TextIO | None = None,
    *,
    base_dir: Path | None = None,
) -> PythonEnv:
    """The Python to run ``env``'s code with: built (or reused) now, progress in ``log``.

    ``log`` is a callable taking one line, or a text stream (the job's log).
    Raises ConfigError for a bad spec, EnvironmentBuildError when the
    installer fails (its message included), NotFoundError for an unknown
    registered environment.
    """
    write = _as_log(log)
    spec = environment_spec(env, workspace=workspace, base_dir=base_dir)
    if spec.curated:
        reason = "curated Azure environment" if spec.name or spec.image else "no environment given"
        for note in spec.notes:
            write(f"[environment] warning: {note}")
        return own_environment(spec, write, reason)
    return build_environment(spec, environments_dir(workspace), write)
