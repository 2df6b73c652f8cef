"""Local CSV / Parquet inputs as MLTable folders, which Azure AutoML requires.

Locally a job's ``training_data`` may point straight at a CSV or Parquet
file (or a folder of them); Azure AutoML accepts only MLTable inputs, i.e. a
folder holding an ``MLTable`` file. Rather than make users write one before
flipping ``--backend azure``, the adapter copies the data into a temporary
folder next to a generated ``MLTable`` (``read_delimited`` or
``read_parquet``) and lets azure-ai-ml upload that folder as usual. A folder
that already has an ``MLTable`` file, and anything remote, is left alone.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import yaml

from automl_local.exceptions import DataError

__all__ = ["MLTABLE_FILE", "is_local_path", "to_mltable_folder"]

MLTABLE_FILE = "MLTable"
_SCHEMA = "https://azuremlschemas.azureedge.net/latest/MLTable.schema.json"
_DELIMITED = {".csv": ",", ".tsv": "\t", ".txt": ","}
_PARQUET = {".parquet", ".pq"}
_JSONL = {".jsonl"}
_REMOTE_PREFIXES = ("azureml:", "http://", "https://", "wasbs://", "wasb://", "abfss://",
                    "abfs://", "adl://", "runs:/", "models:/")


def is_local_path(path: str) -> bool:
    """True unless ``path`` names a data asset or a remote location."""
    return not str(path).startswith(_REMOTE_PREFIXES)


def _read_step(suffix: str) -> dict[str, Any]:
    if suffix in _DELIMITED:
        return {"read_delimited": {"delimiter": _DELIMITED[suffix], "encoding": "utf8",
                                   "header": "all_files_same_headers"}}
    if suffix in _PARQUET:
        return {"read_parquet": {"include_path_column": False}}
    return {"read_json_lines": {"encoding": "utf8", "include_path_column": False}}


def _data_files(folder: Path) -> tuple[list[Path], str]:
    files = sorted(p for p in folder.iterdir()
                   if p.is_file() and not p.name.startswith("."))
    suffixes = {p.suffix.lower() for p in files} & (set(_DELIMITED) | _PARQUET | _JSONL)
    if len(suffixes) != 1:
        found = ", ".join(sorted({p.suffix or p.name for p in files})) or "no files"
        raise DataError(
            f"data folder {str(folder)!r} has no MLTable file and is not a folder of one kind of "
            f"CSV, TSV, Parquet or JSON Lines files (found: {found}). Add an MLTable file "
            "(see automl_local.data.write_mltable) or point the input at one data file."
        )
    suffix = suffixes.pop()
    return [p for p in files if p.suffix.lower() == suffix], suffix


def to_mltable_folder(path: str | os.PathLike[str], into: str | os.PathLike[str]) -> Path | None:
    """Write an MLTable folder for local data at ``path`` into ``into``, or return ``None``.

    ``None`` means there is nothing to do: ``path`` is already an MLTable
    folder. A missing path raises :class:`DataError` naming it.
    """
    source = Path(path).expanduser()
    if source.is_dir() and (source / MLTABLE_FILE).is_file():
        return None
    if not source.exists():
        raise DataError(
            f"data path {str(source)!r} does not exist. Point the input at an MLTable folder, a "
            "CSV/Parquet file, or a registered data asset (azureml:<name>:<version>)."
        )
    target = Path(into)
    target.mkdir(parents=True, exist_ok=True)
    if source.is_file():
        suffix = source.suffix.lower()
        if suffix not in set(_DELIMITED) | _PARQUET | _JSONL:
            raise DataError(
                f"data file {str(source)!r} is not CSV, TSV, Parquet or JSON Lines; Azure AutoML "
                "reads those through an MLTable. Convert it, or write an MLTable folder for it."
            )
        shutil.copy2(source, target / source.name)
        paths: list[dict[str, str]] = [{"file": f"./{source.name}"}]
    else:
        files, suffix = _data_files(source)
        for file in files:
            shutil.copy2(file, target / file.name)
        paths = [{"pattern": f"./*{suffix}"}] if len(files) > 1 else [
            {"file": f"./{files[0].name}"}]
    spec = {"$schema": _SCHEMA, "type": "mltable", "paths": paths,
            "transformations": [_read_step(suffix)]}
    (target / MLTABLE_FILE).write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return target
