"""Build an :class:`EnvironmentSpec` into a cached virtual environment.

The cache folder holds one virtual environment per content hash. A build
takes a file lock on ``<key>.lock`` (so two jobs never build the same
environment at once; the second waits, then reuses), installs, and only then
writes ``<key>/automl-env.json``: that marker is what "complete" means, so a
build killed halfway leaves a folder the next build wipes and redoes.

The installer is uv when it is installed (measured about 9x faster than pip
here: see benchmarks/README.md), else pip, run from automl-local's own
environment against the new interpreter (``pip --python``), so the new
environment needs no pip of its own. ``AUTOML_LOCAL_INSTALLER=pip|uv`` picks
one. Packages come from the package index (uv reads ``UV_INDEX_URL``; pip its
own configuration).
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from automl_local.environments._spec import EnvironmentSpec, conda_to_pip
from automl_local.exceptions import ConfigError, EnvironmentBuildError

__all__ = ["ENV_INSTALLER", "MARKER", "PythonEnv", "build_environment", "own_environment"]

ENV_INSTALLER = "AUTOML_LOCAL_INSTALLER"
MARKER = "automl-env.json"
Log = Callable[[str], None]


@dataclass(frozen=True)
class PythonEnv:
    """An interpreter to run user code with, and what building it said.

    ``root`` is None for automl-local's own environment (curated names, or
    no environment at all).
    """

    python: Path
    root: Path | None = None
    key: str | None = None
    reused: bool = False
    warnings: tuple[str, ...] = ()
    variables: dict[str, str] = field(default_factory=dict)

    @property
    def bin_dir(self) -> Path:
        return self.python.parent

    def environ(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """Process variables for a command in this environment: its ``bin`` first on PATH."""
        env = dict(os.environ if base is None else base)
        env.update(self.variables)
        env["PATH"] = os.pathsep.join([str(self.bin_dir), env.get("PATH", "")])
        if self.root is not None:
            env["VIRTUAL_ENV"] = str(self.root)
        env.pop("PYTHONHOME", None)
        return env


def own_environment(spec: EnvironmentSpec | None, log: Log, reason: str) -> PythonEnv:
    """automl-local's own interpreter, with a note saying why."""
    log(
        f"[environment] {spec.label if spec else '(none)'}: {reason}; runs in automl-local's "
        f"own environment ({sys.executable})"
    )
    return PythonEnv(
        python=Path(sys.executable),
        warnings=(spec.notes if spec else ()),
        variables=dict(spec.variables) if spec else {},
    )


def _installer() -> tuple[str, list[str]]:
    """``("uv", [uv])`` or ``("pip", [python, -m, pip])``."""
    choice = os.environ.get(ENV_INSTALLER, "").strip().lower()
    if choice not in ("", "uv", "pip"):
        raise ConfigError(f"{ENV_INSTALLER}={choice!r}: use uv or pip.")
    uv: str | None = None
    if choice != "pip":
        with contextlib.suppress(ImportError, FileNotFoundError):
            from uv import find_uv_bin

            uv = find_uv_bin()
        uv = uv or shutil.which("uv")
    if uv:
        return "uv", [uv]
    if choice == "uv":
        raise ConfigError(f"{ENV_INSTALLER}=uv but uv is not installed: pip install uv.")
    return "pip", [sys.executable, "-m", "pip"]


@functools.lru_cache(maxsize=32)
def _python_version(python: str) -> str | None:
    """The interpreter's version, or None when it does not run (a pyenv shim with no build)."""
    try:
        out = subprocess.run(
            [python, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
            capture_output=True, text=True, check=True, timeout=30,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def _pick_python(pin: str | None) -> tuple[str, str, str | None]:
    """An interpreter meeting the conda ``python`` pin: (path, version, warning if unmet)."""
    here = ".".join(map(str, sys.version_info[:3]))
    if not pin:
        return sys.executable, here, None
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    wanted = conda_to_pip(f"python{pin if pin[0] in '=<>!~' else '=' + pin}")[0][len("python") :]
    try:
        spec = SpecifierSet(wanted)
    except InvalidSpecifier as exc:
        raise ConfigError(f"python pin {pin!r} is not a version specifier.") from exc
    if here in spec:
        return sys.executable, here, None
    for minor in range(8, 16):
        found = shutil.which(f"python3.{minor}")
        if found:
            version = _python_version(found)
            if version is not None and version in spec:
                return found, version, None
    warning = (
        f"python{pin if pin[0] in '=<>!~' else '=' + pin} cannot be met on this machine "
        "(no such interpreter on PATH); "
        f"building with Python {here}"
    )
    return sys.executable, here, warning


def _run(
    cmd: list[str], log: Log, *, lock_fd: int, cwd: Path | None = None
) -> tuple[int, list[str]]:
    """Run an installer step, streaming its lines to the log; Ctrl-C stops it at once.

    The step inherits the build lock's descriptor: if this process is killed,
    the lock stays held until the orphaned installer exits too, so the next
    build never wipes a folder an installer is still writing.
    """
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "PIP_PROGRESS_BAR": "off"}
    env.setdefault("UV_NO_PROGRESS", "1")
    lines: list[str] = []
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=cwd, env=env,
        stdin=subprocess.DEVNULL, pass_fds=(lock_fd,),
    )  # fmt: skip
    assert proc.stdout is not None
    try:
        with proc.stdout:
            for raw in proc.stdout:
                line = raw.rstrip()
                if line:
                    lines.append(line)
                    log(f"[environment]   {line}")
        return proc.wait(), lines
    except BaseException:
        proc.kill()
        proc.wait()
        raise


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(req: str) -> str:
    match = re.match(r"^\s*([A-Za-z0-9][A-Za-z0-9._\-]*)", req)
    return _normal(match.group(1)) if match else ""


def _failed_names(lines: list[str], candidates: list[str]) -> list[str]:
    """Which conda-sourced requirements the installer's error names."""
    text = _normal(" ".join(lines))
    return [
        c for c in candidates
        if re.search(rf"(?<![a-z0-9-]){re.escape(_requirement_name(c))}(?![a-z0-9])", text)
    ]  # fmt: skip


def _error_text(lines: list[str]) -> str:
    marks = ("ERROR", "error:", "cause:", "hint:", "Because")
    keep = [ln for ln in lines if ln.lstrip().startswith(marks)]
    return "\n".join((keep or lines)[-20:])


@contextlib.contextmanager
def _locked(path: Path, log: Log, label: str) -> Iterator[int]:
    with open(path, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log(f"[environment] {label}: another process holds the build lock; waiting for it")
            fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield fh.fileno()
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _reuse(root: Path, log: Log, label: str) -> PythonEnv | None:
    marker = root / MARKER
    if not marker.exists():
        return None
    info = json.loads(marker.read_text())
    log(
        f"[environment] {label}: reusing {root.name} (built {info.get('built', '?')}); "
        "nothing to install"
    )
    for w in info.get("warnings", []):
        log(f"[environment] warning: {w}")
    return PythonEnv(
        python=root / "bin" / "python",
        root=root,
        key=root.name,
        reused=True,
        warnings=tuple(info.get("warnings", [])),
        variables=dict(info.get("variables", {})),
    )


def build_environment(spec: EnvironmentSpec, cache_dir: Path, log: Log) -> PythonEnv:
    """The cached environment for ``spec``: reused if complete, else built under a lock."""
    python, version, py_warning = _pick_python(spec.python_pin)
    key = spec.content_hash(".".join(version.split(".")[:2]))
    cache_dir.mkdir(parents=True, exist_ok=True)
    root = cache_dir / key
    found = _reuse(root, log, spec.label)
    if found is not None:
        return found
    with _locked(cache_dir / f"{key}.lock", log, spec.label) as lock_fd:
        found = _reuse(root, log, spec.label)  # built by the process we waited for
        if found is not None:
            return found
        warnings = [w for w in [py_warning] if w]
        return _build(spec, root, python, version, warnings, log, lock_fd)


def _build(
    spec: EnvironmentSpec,
    root: Path,
    python: str,
    version: str,
    warnings: list[str],
    log: Log,
    lock_fd: int,
) -> PythonEnv:
    started = time.monotonic()
    if root.exists():
        log(f"[environment] {spec.label}: removing an unfinished build in {root}")
        shutil.rmtree(root)
    warnings.extend(spec.notes)
    conda: list[str] = []
    for pkg in spec.conda_packages:
        pip_spec, note = conda_to_pip(pkg)
        if note and not pip_spec:
            warnings.append(f"skipped {note}")
        elif note:
            warnings.append(note)
        if pip_spec:
            conda.append(pip_spec)
    for w in warnings:
        log(f"[environment] warning: {w}")
    tool, base = _installer()
    log(
        f"[environment] {spec.label}: building {root.name} with {tool}, Python {version}, "
        f"{len(conda) + len(spec.pip_requirements)} requirement(s)"
    )
    venv_cmd = (
        [*base, "venv", "--quiet", "--python", python, str(root)]
        if tool == "uv"
        else [python, "-m", "venv", "--without-pip", str(root)]
    )
    code, lines = _run(venv_cmd, log, lock_fd=lock_fd)
    if code != 0:
        raise EnvironmentBuildError(
            f"environment {spec.label}: creating the virtual environment failed:\n"
            + _error_text(lines)
        )
    target = root / "bin" / "python"
    while conda or spec.pip_requirements:
        reqs = root / "requirements.automl.txt"
        reqs.write_text("\n".join([*conda, *spec.pip_requirements]) + "\n")
        cmd = (
            [*base, "pip", "install", "--python", str(target), "-r", str(reqs)]
            if tool == "uv"
            else [*base, "--python", str(target), "install", "--progress-bar", "off", "-r",
                  str(reqs)]
        )  # fmt: skip
        code, lines = _run(cmd, log, lock_fd=lock_fd, cwd=spec.base_dir)
        if code == 0:
            break
        skipped = _failed_names(lines, conda)
        if not skipped:
            where = spec.label if spec.label == spec.source else f"{spec.label} ({spec.source})"
            raise EnvironmentBuildError(
                f"environment {where}: {tool} could not install its "
                f"packages:\n{_error_text(lines)}\nFix or remove the package named above."
            )
        for s in skipped:
            w = f"skipped conda package {s}: {tool} cannot install it from the package index"
            warnings.append(w)
            log(f"[environment] warning: {w}")
        conda = [c for c in conda if c not in skipped]
    seconds = time.monotonic() - started
    info = {
        "key": root.name,
        "source": spec.source,
        "python": version,
        "installer": tool,
        "requirements": [*conda, *spec.pip_requirements],
        "warnings": warnings,
        "variables": spec.variables,
        "built": time.strftime("%Y-%m-%d %H:%M:%S"),
        "seconds": round(seconds, 2),
    }
    tmp = root / f".{MARKER}.tmp"
    tmp.write_text(json.dumps(info, indent=2))
    os.replace(tmp, root / MARKER)  # the build is complete only from here on
    log(f"[environment] {spec.label}: built {root.name} in {seconds:.1f} s")
    return PythonEnv(
        python=target,
        root=root,
        key=root.name,
        reused=False,
        warnings=tuple(warnings),
        variables=dict(spec.variables),
    )
