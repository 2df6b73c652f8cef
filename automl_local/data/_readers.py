"""One entry point for every tabular input a job can name.

Why: a job's ``training_data`` may be an MLTable folder (what Azure requires),
or, for local convenience, a plain CSV/Parquet file, a folder of them, or an
http(s) address. The engine calls :func:`read_table` and never needs to know
which; data asset references (``azureml:name:version``) are resolved to paths
by the backend before they get here.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from automl_local.data._fetch import fetch, is_url
from automl_local.data._mltable import MLTABLE_FILE, read_mltable
from automl_local.exceptions import DataError

__all__ = ["read_table"]

_CSV_SUFFIXES = {".csv": ",", ".tsv": "\t", ".txt": ","}
_PARQUET_SUFFIXES = {".parquet", ".pq"}


def read_table(path: str | os.PathLike[str], *, base_dir: Path | None = None) -> pd.DataFrame:
    """Read a CSV/Parquet file, an MLTable folder, a folder of data files or an http(s) URL.

    A relative ``path`` is resolved against ``base_dir`` (the folder of the
    YAML file that named it) when given, else the current directory. Every
    failure is a :class:`DataError` naming the path and the fix.
    """
    text = os.fspath(path)
    if is_url(text):
        return _read_file(fetch(text), shown=text)
    if text.startswith("azureml:"):
        raise DataError(
            f"{text!r} is a data asset reference, not a path. Jobs submitted through a client "
            "(`automl-local job create`, ml_client.jobs) resolve it for you; otherwise pass the "
            "asset's path from `automl-local data show --name <name>`."
        )
    if text.startswith("file://"):
        text = text[len("file://") :]
    local = Path(text).expanduser()
    if not local.is_absolute():
        local = (base_dir if base_dir is not None else Path.cwd()) / local
    if not local.exists():
        origin = f"the YAML folder {base_dir}" if base_dir is not None else "the current directory"
        raise DataError(
            f"data path {os.fspath(path)!r} was not found (looked at {local}). Relative paths "
            f"are resolved against {origin}; check the spelling or use an absolute path."
        )
    if local.is_dir():
        if (local / MLTABLE_FILE).is_file():
            return read_mltable(local)
        return _read_folder(local)
    if local.name == MLTABLE_FILE:
        return read_mltable(local.parent)
    return _read_file(local, shown=str(local))


def _read_file(path: Path, *, shown: str) -> pd.DataFrame:
    suffix = path.suffix.lower()
    if path.stat().st_size == 0:
        raise DataError(f"{shown} is an empty file; it needs a header row and data rows.")
    if suffix in _PARQUET_SUFFIXES:
        try:
            return pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several unrelated types
            raise DataError(f"{shown} could not be read as Parquet: {exc}") from exc
    if suffix in _CSV_SUFFIXES or is_url(shown) or not suffix:
        sep = _CSV_SUFFIXES.get(suffix, ",")
        try:
            return pd.read_csv(path, sep=sep)
        except pd.errors.EmptyDataError as exc:
            raise DataError(
                f"{shown} has no columns; it needs a header row and data rows."
            ) from exc
        except UnicodeDecodeError as exc:
            raise DataError(
                f"{shown} is not UTF-8 text ({exc.reason}); re-save it as UTF-8, or wrap it in "
                "an MLTable folder with `read_delimited: {encoding: latin1}` (or its encoding)."
            ) from exc
        except (pd.errors.ParserError, ValueError) as exc:
            raise DataError(f"{shown} could not be parsed as CSV: {exc}") from exc
    raise DataError(
        f"{shown} has an unsupported file type {suffix!r}. Use .csv, .tsv or .parquet, or an "
        "MLTable folder."
    )


def _read_folder(folder: Path) -> pd.DataFrame:
    files = sorted(
        p
        for p in folder.rglob("*")
        if p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
        and p.suffix.lower() in (set(_CSV_SUFFIXES) | _PARQUET_SUFFIXES)
    )
    if not files:
        raise DataError(
            f"folder {folder} has no {MLTABLE_FILE} file and no .csv/.tsv/.parquet files to read."
        )
    kinds = {p.suffix.lower() in _PARQUET_SUFFIXES for p in files}
    if len(kinds) > 1:
        raise DataError(
            f"folder {folder} mixes CSV and Parquet files; keep one format per folder, or "
            "describe the files with an MLTable file."
        )
    frames = [_read_file(p, shown=str(p)) for p in files]
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
