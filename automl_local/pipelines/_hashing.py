"""Content digests: what step reuse and code snapshots are keyed on.

A node is reused when its *reuse key* is one seen before: the sha256 of its
definition (command, environment, declared inputs/outputs, or the AutoML
settings), its code snapshot, and a fingerprint of every input. Data given
from outside the pipeline is fingerprinted by content; an input produced by
another node by the run that produced it, so a node whose upstream ran
again runs again too (as on Azure), even if the bytes came out the same.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["IGNORED_NAMES", "content_digest", "reuse_key", "snapshot_folder"]

#: Never part of a code snapshot or its digest (caches, VCS metadata).
IGNORED_NAMES = frozenset(
    {"__pycache__", ".git", ".ipynb_checkpoints", ".pytest_cache", ".automl"}
)
_CHUNK = 1 << 20


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _files(folder: Path) -> list[Path]:
    out: list[Path] = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d not in IGNORED_NAMES)
        out.extend(Path(root) / f for f in sorted(files) if not f.endswith(".pyc"))
    return out


def content_digest(path: str | os.PathLike[str]) -> str:
    """sha256 of a file, or of a folder's (relative path, file digest) list."""
    path = Path(path)
    if path.is_file():
        return _file_digest(path)
    digest = hashlib.sha256()
    for file in _files(path):
        digest.update(f"{file.relative_to(path).as_posix()}\0{_file_digest(file)}\n".encode())
    return digest.hexdigest()


def reuse_key(definition: dict[str, Any], fingerprints: dict[str, str]) -> str:
    """The key under which a node's outputs are recorded and looked up."""
    blob = json.dumps(
        {"definition": definition, "inputs": fingerprints}, sort_keys=True, default=str
    )
    return hashlib.sha256(blob.encode()).hexdigest()


def snapshot_folder(source: str | os.PathLike[str], store: Path) -> tuple[Path, str]:
    """Copy ``source`` into ``store/<digest>`` once; return that folder and the digest.

    Azure uploads a component's code as a content-addressed snapshot when the
    job is submitted, so later edits do not change a queued, published or
    scheduled run; this is the same promise on disk. The copy is made in a
    temporary folder and renamed, so a half-written snapshot is never used.
    """
    source = Path(source)
    digest = content_digest(source)
    target = store / digest
    if target.is_dir():
        return target, digest
    store.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=store))
    try:
        if source.is_file():
            shutil.copy2(source, staging / source.name)
        else:
            shutil.copytree(
                source,
                staging,
                dirs_exist_ok=True,
                ignore=shutil.ignore_patterns(*IGNORED_NAMES, "*.pyc"),
            )
        try:
            staging.rename(target)
        except OSError:  # another process made the same snapshot first
            if not target.is_dir():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target, digest
