"""What an environment asks for, read from the forms Azure accepts.

Azure builds an environment from a conda file (optionally on a Docker image)
or a pip requirements file. Here the same inputs become one
:class:`EnvironmentSpec`: conda packages translated to pip requirement
specifiers, pip requirements with ``-r`` files inlined (so the content hash
changes when any of them changes), the Python pin, the image (recorded, never
pulled) and the conda ``variables``. Everything conda-only is said in
``notes``, never dropped silently.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from automl_local.exceptions import ConfigError

__all__ = [
    "CONDA_ONLY_PACKAGES",
    "CURATED_IMAGE_PREFIX",
    "EnvironmentSpec",
    "conda_to_pip",
    "is_curated_name",
    "parse_conda_text",
    "read_conda_file",
    "read_requirements_file",
]

CURATED_IMAGE_PREFIX = "mcr.microsoft.com/azureml/curated/"

# Conda packages that are not Python distributions on the package index (native libraries,
# conda's own plumbing). Others that pip cannot find are found at install time and skipped too.
CONDA_ONLY_PACKAGES = frozenset(
    {
        "_libgcc_mutex", "_openmp_mutex", "blas", "bzip2", "ca-certificates", "cudatoolkit",
        "cudnn", "intel-openmp", "ld_impl_linux-64", "libblas", "libcblas", "libffi", "libgcc",
        "libgcc-ng", "libgomp", "liblapack", "libstdcxx-ng", "libuuid", "libzlib", "mkl",
        "mkl-service", "mkl_fft", "mkl_random", "nccl", "ncurses", "nomkl", "openssl",
        "readline", "sqlite", "tk", "tzdata", "xz", "zlib",
    }
)  # fmt: skip

# Conda names whose package-index name differs.
_CONDA_TO_PIP = {
    "pytorch": "torch",
    "py-xgboost": "xgboost",
    "py-lightgbm": "lightgbm",
    "pytables": "tables",
    "matplotlib-base": "matplotlib",
    "msgpack-python": "msgpack",
}

_CONDA_SPEC = re.compile(r"^(?P<name>[A-Za-z0-9_.\-]+)\s*(?P<rest>.*)$")


def is_curated_name(name: str | None) -> bool:
    """Azure's curated environments: ``AzureML-...`` names and the ``azureml`` registry."""
    if not name:
        return False
    text = name.strip()
    if text.startswith("azureml:") and not text.startswith("azureml://"):
        text = text[len("azureml:") :]
    return text.lower().startswith("azureml-") or text.startswith("azureml://registries/azureml/")


@dataclass(frozen=True)
class EnvironmentSpec:
    """An environment's content: what to install, and where it came from (for messages)."""

    source: str
    pip_requirements: tuple[str, ...] = ()
    conda_packages: tuple[str, ...] = ()
    python_pin: str | None = None
    image: str | None = None
    variables: dict[str, str] = field(default_factory=dict)
    name: str | None = None
    version: str | None = None
    curated: bool = False
    notes: tuple[str, ...] = ()
    base_dir: Path | None = None

    @property
    def label(self) -> str:
        if self.name:
            return f"{self.name}:{self.version}" if self.version else self.name
        return self.source

    @property
    def empty(self) -> bool:
        return not (self.pip_requirements or self.conda_packages)

    def content_hash(self, python_version: str) -> str:
        """The cache key: what gets installed, and into which Python (``major.minor``)."""
        body = {
            "pip": list(self.pip_requirements),
            "conda": list(self.conda_packages),
            "python": python_version,
        }
        digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        return digest[:20]


def read_requirements_file(path: Path, *, _seen: frozenset[Path] = frozenset()) -> list[str]:
    """Requirement lines of a pip file, comments dropped and ``-r other.txt`` inlined."""
    path = path.resolve()
    if path in _seen:
        raise ConfigError(f"requirements file {path} includes itself (through -r).")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"requirements file {path} cannot be read: {exc.strerror}.") from exc
    return _requirement_lines(text.splitlines(), path.parent, _seen | {path})


def _requirement_lines(lines: list[str], base: Path, seen: frozenset[Path]) -> list[str]:
    out: list[str] = []
    for raw in lines:
        line = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if not line:
            continue
        match = re.match(r"^(-r|--requirement)[\s=]+(.+)$", line)
        if match:
            out.extend(read_requirements_file(base / match.group(2).strip(), _seen=seen))
        else:
            out.append(line)
    return out


def read_conda_file(path: Path) -> EnvironmentSpec:
    """Parse a conda ``environment.yml``; a YAML error names the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"conda file {path} cannot be read: {exc.strerror}.") from exc
    return parse_conda_text(text, source=str(path), base_dir=path.parent)


def parse_conda_text(
    text: str | dict[str, Any], *, source: str, base_dir: Path | None = None
) -> EnvironmentSpec:
    """A conda environment (YAML text or the dict azure-ai-ml loaded) as a spec."""
    if isinstance(text, str):
        try:
            body = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise ConfigError(
                f"conda file {source}{where}: {problem}. Fix the YAML there (conda files are "
                "YAML with `dependencies:` as a list)."
            ) from exc
    else:
        body = text
    if not isinstance(body, dict):
        raise ConfigError(
            f"conda file {source} is not a mapping; it needs `dependencies:` (a list of "
            "packages, with an optional `pip:` list)."
        )
    known = {"name", "channels", "dependencies", "variables", "prefix"}
    unknown = sorted(set(body) - known)
    if unknown:
        raise ConfigError(
            f"conda file {source} has unknown keys {unknown}; conda files take {sorted(known)}."
        )
    deps = body.get("dependencies") or []
    if not isinstance(deps, list):
        raise ConfigError(f"conda file {source}: `dependencies` must be a list.")
    notes: list[str] = []
    if body.get("channels"):
        notes.append(
            f"conda channels {list(body['channels'])} are not used: packages come from the "
            "Python package index"
        )
    if body.get("prefix"):
        notes.append(f"conda prefix {body['prefix']!r} is not used: the environment is cached")
    conda: list[str] = []
    pip: list[str] = []
    python_pin: str | None = None
    for dep in deps:
        if isinstance(dep, dict) and set(dep) == {"pip"}:
            lines = [str(p) for p in dep["pip"] or []]
            pip.extend(_requirement_lines(lines, base_dir or Path.cwd(), frozenset()))
            continue
        if not isinstance(dep, str | int | float):
            raise ConfigError(
                f"conda file {source}: dependency {dep!r} is neither a package nor a `pip:` list."
            )
        spec = str(dep).strip()
        name = _conda_name(spec)
        if name == "python":
            python_pin = _conda_version(spec) or None
        elif name == "pip":
            continue  # the installer is automl-local's choice
        else:
            conda.append(spec)
    variables = {str(k): str(v) for k, v in (body.get("variables") or {}).items()}
    return EnvironmentSpec(
        source=source,
        pip_requirements=tuple(pip),
        conda_packages=tuple(conda),
        python_pin=python_pin,
        variables=variables,
        name=body.get("name"),
        notes=tuple(notes),
        base_dir=base_dir,
    )


def _conda_name(spec: str) -> str:
    spec = spec.split("::", 1)[-1]
    match = _CONDA_SPEC.match(spec)
    return (match.group("name") if match else spec).lower()


def _conda_version(spec: str) -> str:
    spec = spec.split("::", 1)[-1]
    match = _CONDA_SPEC.match(spec)
    return match.group("rest").strip() if match else ""


def conda_to_pip(spec: str) -> tuple[str, str | None]:
    """``numpy=1.26`` -> ``numpy==1.26.*`` (conda's ``=`` is a prefix match); build strings go.

    Returns the pip specifier and a note when the name was translated, or
    ``("", note)`` for a conda-only package.
    """
    name = _conda_name(spec)
    if name in CONDA_ONLY_PACKAGES or name.startswith("r-"):
        return "", f"{spec} (conda-only: not on the Python package index)"
    rest = _conda_version(spec)
    note = None
    if name in _CONDA_TO_PIP:
        note = f"conda package {name} is {_CONDA_TO_PIP[name]} on the package index"
        name = _CONDA_TO_PIP[name]
    if not rest:
        return name, note
    if rest.startswith("=="):
        return f"{name}=={rest[2:].split('=')[0].strip()}", note
    if rest[0] in "<>!~":
        return f"{name}{rest.split()[0]}", note
    version = re.split(r"[=\s]", rest.lstrip("="))[0]
    return (f"{name}=={version}" if "*" in version else f"{name}=={version}.*"), note
