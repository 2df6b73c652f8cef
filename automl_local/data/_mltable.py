"""MLTable folders: Azure's tabular data format, read with pandas.

An MLTable folder holds a YAML file named ``MLTable`` (``paths`` plus a list of
``transformations``) and usually the data files it points to. AutoML jobs on
Azure take only MLTable inputs, so reading the same folders locally is what
lets one job YAML run in both places. The subset implemented here is the one
tabular AutoML data uses; anything else raises :class:`DataError` naming the
key, rather than being skipped and giving a different table than Azure would.

Supported (see Azure's "CLI (v2) MLtable YAML schema" reference):

- ``paths``: ``file`` / ``folder`` / ``pattern`` entries; local paths are
  relative to the MLTable folder; ``file`` may be an http(s) URL (downloaded
  through :func:`automl_local.data.fetch`, cached and checksum-verified for
  known data sets).
- read transformations: ``read_delimited`` (``delimiter``, ``header``,
  ``encoding``, ``empty_as_string``, ``include_path_column``,
  ``infer_column_types``, ``support_multi_line``), ``read_parquet``
  (``include_path_column``), ``read_json_lines`` (``include_path_column``,
  ``invalid_lines``, ``encoding``).
- other transformations: ``keep_columns``, ``drop_columns``,
  ``convert_column_types``, ``skip``, ``take``, ``take_random_sample``.
"""

from __future__ import annotations

import glob
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from automl_local.data._fetch import fetch, is_url
from automl_local.data._mltable_steps import apply_step
from automl_local.exceptions import DataError

__all__ = ["MLTABLE_FILE", "MLTableSpec", "load_mltable_spec", "read_mltable", "write_mltable"]

MLTABLE_FILE = "MLTable"

_TOP_LEVEL_KEYS = {"$schema", "type", "paths", "transformations", "metadata", "traits"}
_PATH_KINDS = ("file", "folder", "pattern")
_REMOTE_SCHEMES = ("azureml://", "wasbs://", "wasb://", "abfss://", "abfs://", "adl://")

# MLTable encoding names -> Python codecs.
_ENCODINGS = {
    "utf8": "utf-8",
    "iso88591": "iso-8859-1",
    "latin1": "latin-1",
    "ascii": "ascii",
    "utf16": "utf-16",
    "utf32": "utf-32",
    "utf8bom": "utf-8-sig",
    "windows1252": "cp1252",
}
_HEADERS = (
    "all_files_same_headers",
    "from_first_file",
    "no_header",
    "all_files_different_headers",
)
_READ_OPTIONS: dict[str, set[str]] = {
    "read_delimited": {
        "delimiter",
        "header",
        "encoding",
        "empty_as_string",
        "include_path_column",
        "infer_column_types",
        "support_multi_line",
    },
    "read_parquet": {"include_path_column"},
    "read_json_lines": {"include_path_column", "invalid_lines", "encoding"},
}
_STEPS = (
    "keep_columns",
    "drop_columns",
    "convert_column_types",
    "skip",
    "take",
    "take_random_sample",
)
_PATH_COLUMN = "Path"


@dataclass
class MLTableSpec:
    """A parsed ``MLTable`` file: where the data is and how to turn it into a table."""

    folder: Path
    paths: list[tuple[str, str]]
    read: tuple[str, dict[str, Any]]
    steps: list[tuple[str, Any]] = field(default_factory=list)

    def local_paths(self) -> list[Path]:
        """The local (non-URL) paths the spec names, resolved against its folder."""
        return [
            _local(self.folder, value) for _, value in self.paths if not _is_remote(value)
        ]


def _where(folder: Path) -> str:
    return str(folder / MLTABLE_FILE)


def _is_remote(value: str) -> bool:
    return is_url(value) or value.lower().startswith(_REMOTE_SCHEMES)


def _local(folder: Path, value: str) -> Path:
    if value.startswith("file://"):
        value = value[len("file://") :]
    path = Path(value).expanduser()
    return path if path.is_absolute() else folder / path


def load_mltable_spec(folder: str | os.PathLike[str]) -> MLTableSpec:
    """Parse and validate ``<folder>/MLTable`` without reading any data."""
    folder = Path(folder)
    file = folder / MLTABLE_FILE
    if not file.is_file():
        raise DataError(
            f"{folder} has no {MLTABLE_FILE} file. An MLTable folder needs a YAML file named "
            f"'{MLTABLE_FILE}' (create one with automl_local.data.write_mltable)."
        )
    try:
        doc = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise DataError(f"{file} is not readable YAML: {exc}") from exc
    if not isinstance(doc, dict):
        raise DataError(f"{file} must be a YAML mapping with 'paths' and 'transformations'.")
    unknown = sorted(set(doc) - _TOP_LEVEL_KEYS)
    if unknown:
        raise DataError(
            f"{file}: key {unknown[0]!r} is not supported here. Supported keys: "
            f"{', '.join(sorted(_TOP_LEVEL_KEYS))}."
        )
    if doc.get("type", "mltable") != "mltable":
        raise DataError(f"{file}: type must be 'mltable', got {doc['type']!r}.")
    paths = _parse_paths(file, doc.get("paths"))
    read, steps = _parse_transformations(file, doc.get("transformations"))
    return MLTableSpec(folder=folder, paths=paths, read=read, steps=steps)


def _parse_paths(file: Path, raw: Any) -> list[tuple[str, str]]:
    if not isinstance(raw, list) or not raw:
        raise DataError(
            f"{file}: 'paths' must be a non-empty list such as `- file: ./train.csv`."
        )
    paths: list[tuple[str, str]] = []
    for entry in raw:
        if not isinstance(entry, dict) or len(entry) != 1:
            raise DataError(
                f"{file}: each entry of 'paths' needs exactly one of {', '.join(_PATH_KINDS)}; "
                f"got {entry!r}."
            )
        ((kind, value),) = entry.items()
        if kind not in _PATH_KINDS:
            raise DataError(
                f"{file}: path kind {kind!r} is not supported; use one of "
                f"{', '.join(_PATH_KINDS)}."
            )
        if not isinstance(value, str) or not value.strip():
            raise DataError(f"{file}: '{kind}' needs a path string, got {value!r}.")
        paths.append((kind, value.strip()))
    return paths


def _parse_transformations(
    file: Path, raw: Any
) -> tuple[tuple[str, dict[str, Any]], list[tuple[str, Any]]]:
    if raw is None:
        raw = []
    if not isinstance(raw, list):
        raise DataError(f"{file}: 'transformations' must be a list.")
    read: tuple[str, dict[str, Any]] | None = None
    steps: list[tuple[str, Any]] = []
    for entry in raw:
        if isinstance(entry, str):
            entry = {entry: None}
        if not isinstance(entry, dict) or len(entry) != 1:
            raise DataError(f"{file}: each transformation is a one-key mapping; got {entry!r}.")
        ((name, arg),) = entry.items()
        if name in _READ_OPTIONS:
            if read is not None or steps:
                raise DataError(
                    f"{file}: '{name}' must be the first and only read transformation."
                )
            options = arg or {}
            if not isinstance(options, dict):
                raise DataError(f"{file}: '{name}' takes a mapping of options, got {options!r}.")
            bad = sorted(set(options) - _READ_OPTIONS[name])
            if bad:
                raise DataError(
                    f"{file}: option {bad[0]!r} of {name} is not supported. Supported options: "
                    f"{', '.join(sorted(_READ_OPTIONS[name]))}."
                )
            read = (name, options)
        elif name in _STEPS:
            steps.append((name, arg))
        else:
            raise DataError(
                f"{file}: transformation {name!r} is not supported locally. Supported: "
                f"{', '.join([*_READ_OPTIONS, *_STEPS])}. Apply it to the data beforehand, "
                "or run the job with --backend azure."
            )
    if read is None:
        raise DataError(
            f"{file} has no read transformation, so Azure would load a list of file paths, "
            "not a table. Add `- read_delimited: {delimiter: ','}` (CSV) or `- read_parquet:` "
            "as the first transformation."
        )
    return read, steps


# --------------------------------------------------------------------------- reading


def read_mltable(folder: str | os.PathLike[str]) -> pd.DataFrame:
    """Materialise an MLTable folder as a DataFrame (like mltable's to_pandas_dataframe)."""
    spec = load_mltable_spec(folder)
    where = _where(spec.folder)
    files = _resolve_files(spec, where)
    name, options = spec.read
    reader = {"read_delimited": _read_delimited, "read_parquet": _read_parquet}.get(
        name, _read_json_lines
    )
    df = reader(files, options, where)
    for step, arg in spec.steps:
        df = apply_step(df, step, arg, where)
    return df.reset_index(drop=True)


def _resolve_files(spec: MLTableSpec, where: str) -> list[tuple[Path, str]]:
    """(local file, path shown in the ``Path`` column) for every data file, in order."""
    files: list[tuple[Path, str]] = []
    for kind, value in spec.paths:
        if _is_remote(value):
            if kind == "file" and is_url(value):
                files.append((fetch(value), value))
                continue
            raise DataError(
                f"{where}: path {value!r} can only be read on Azure. Use a local path "
                "(relative to the MLTable folder) or an https file URL, or run with "
                "--backend azure."
            )
        path = _local(spec.folder, value)
        if kind == "file":
            if not path.is_file():
                raise DataError(
                    f"{where}: file {value!r} was not found (looked at {path}). Paths in an "
                    "MLTable are relative to the MLTable folder."
                )
            files.append((path, str(path)))
        elif kind == "folder":
            if not path.is_dir():
                raise DataError(f"{where}: folder {value!r} was not found (looked at {path}).")
            found = [p for p in sorted(path.rglob("*")) if _is_data_file(p, path)]
            if not found:
                raise DataError(f"{where}: folder {value!r} holds no data files.")
            files.extend((p, str(p)) for p in found)
        else:
            matches = sorted(
                Path(p) for p in glob.glob(str(path), recursive=True) if Path(p).is_file()
            )
            if not matches:
                raise DataError(
                    f"{where}: pattern {value!r} matched no files (searched {path})."
                )
            files.extend((p, str(p)) for p in matches)
    return files


def _is_data_file(path: Path, root: Path) -> bool:
    rel = path.relative_to(root).parts
    return path.is_file() and path.name != MLTABLE_FILE and not any(p.startswith(".") for p in rel)


def _flag(options: dict[str, Any], key: str, default: bool, where: str) -> bool:
    value = options.get(key, default)
    if not isinstance(value, bool):
        raise DataError(f"{where}: option {key!r} must be true or false, got {value!r}.")
    return value


def _read_delimited(
    files: list[tuple[Path, str]], options: dict[str, Any], where: str
) -> pd.DataFrame:
    delimiter = options.get("delimiter", ",")
    if not isinstance(delimiter, str) or not delimiter:
        raise DataError(f"{where}: delimiter must be a non-empty string, got {delimiter!r}.")
    header = options.get("header", "all_files_same_headers")
    if header not in _HEADERS:
        raise DataError(
            f"{where}: header {header!r} is not one of {', '.join(_HEADERS)}."
        )
    encoding_name = str(options.get("encoding", "utf8"))
    if encoding_name not in _ENCODINGS:
        raise DataError(
            f"{where}: encoding {encoding_name!r} is not one of {', '.join(_ENCODINGS)}."
        )
    encoding = _ENCODINGS[encoding_name]
    empty_as_string = _flag(options, "empty_as_string", False, where)
    infer = _flag(options, "infer_column_types", True, where)
    with_path = _flag(options, "include_path_column", False, where)
    _flag(options, "support_multi_line", False, where)  # pandas always honours quoted newlines

    frames: list[pd.DataFrame] = []
    names: list[str] | None = None
    for index, (path, shown) in enumerate(files):
        kwargs: dict[str, Any] = {
            "sep": delimiter,
            "encoding": encoding,
            "keep_default_na": False,
            # Azure reads only empty fields as nulls; "NA" or "null" stay strings.
            "na_values": [] if empty_as_string else [""],
            "na_filter": not empty_as_string,
        }
        if not infer:
            kwargs["dtype"] = str
        if header == "no_header" or (header == "from_first_file" and index > 0):
            kwargs["header"] = None
        df = _read_csv(path, where, **kwargs)
        if header == "no_header":
            df.columns = [f"Column{i + 1}" for i in range(df.shape[1])]
        elif header in ("all_files_same_headers", "from_first_file"):
            if names is None:
                names = [str(c) for c in df.columns]
            elif df.shape[1] != len(names):
                raise DataError(
                    f"{where}: {path} has {df.shape[1]} columns but the first file has "
                    f"{len(names)}; with header: {header} all files must share one layout. "
                    "Use header: all_files_different_headers to combine them by name."
                )
            else:
                df.columns = names
        if with_path:
            df[_PATH_COLUMN] = shown
        frames.append(df)
    df = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    if empty_as_string and infer:
        df = _numeric_with_empty_as_null(df)
    return df


def _read_csv(path: Path, where: str, **kwargs: Any) -> pd.DataFrame:
    try:
        return pd.read_csv(path, **kwargs)
    except pd.errors.EmptyDataError as exc:
        raise DataError(
            f"{path} is empty (named in {where}); it needs a header row and data."
        ) from exc
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path} is not valid {kwargs['encoding']} text ({exc.reason} at byte {exc.start}); "
            f"set the right `encoding:` in {where}."
        ) from exc
    except (pd.errors.ParserError, ValueError) as exc:
        raise DataError(f"{path} could not be parsed as delimited text: {exc}") from exc


def _numeric_with_empty_as_null(df: pd.DataFrame) -> pd.DataFrame:
    """With ``empty_as_string``, empties stay strings only in text columns (as on Azure)."""
    for column in df.columns:
        if pd.api.types.is_numeric_dtype(df[column]):
            continue
        text = df[column].astype(str)
        non_empty = text[text != ""]
        converted = pd.to_numeric(non_empty, errors="coerce")
        if len(non_empty) and not converted.isna().any():
            df[column] = pd.to_numeric(text.replace("", np.nan))
    return df


def _read_parquet(
    files: list[tuple[Path, str]], options: dict[str, Any], where: str
) -> pd.DataFrame:
    with_path = _flag(options, "include_path_column", False, where)
    frames = []
    for path, shown in files:
        try:
            df = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several unrelated types
            raise DataError(
                f"{path} could not be read as Parquet (named in {where}): {exc}"
            ) from exc
        if with_path:
            df[_PATH_COLUMN] = shown
        frames.append(df)
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def _read_json_lines(
    files: list[tuple[Path, str]], options: dict[str, Any], where: str
) -> pd.DataFrame:
    with_path = _flag(options, "include_path_column", False, where)
    invalid = options.get("invalid_lines", "error")
    if invalid not in ("error", "drop"):
        raise DataError(f"{where}: invalid_lines must be 'error' or 'drop', got {invalid!r}.")
    encoding_name = str(options.get("encoding", "utf8"))
    if encoding_name not in _ENCODINGS:
        raise DataError(
            f"{where}: encoding {encoding_name!r} is not one of {', '.join(_ENCODINGS)}."
        )
    records: list[dict[str, Any]] = []
    for path, shown in files:
        text = path.read_text(encoding=_ENCODINGS[encoding_name])
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                if not isinstance(record, dict):
                    raise ValueError("not a JSON object")
            except ValueError as exc:
                if invalid == "drop":
                    continue
                raise DataError(
                    f"{path}:{number} is not a JSON object ({exc}); fix the line or set "
                    f"invalid_lines: drop in {where}."
                ) from exc
            if with_path:
                record[_PATH_COLUMN] = shown
            records.append(record)
    return pd.DataFrame.from_records(records)


# --------------------------------------------------------------------------- writing


def write_mltable(
    df: pd.DataFrame, folder: str | os.PathLike[str], fmt: str = "csv"
) -> Path:
    """Write ``df`` as an MLTable folder (data file plus ``MLTable``) that Azure reads too.

    Used by tests and examples to make training inputs; the folder can be
    registered with ``automl-local data create --type mltable`` or given to a
    job's ``training_data``.
    """
    if fmt not in ("csv", "parquet"):
        raise DataError(f"write_mltable fmt must be 'csv' or 'parquet', got {fmt!r}.")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    data_file = f"data.{fmt}"
    if fmt == "csv":
        df.to_csv(folder / data_file, index=False)
        read: dict[str, Any] = {
            "read_delimited": {
                "delimiter": ",",
                "encoding": "utf8",
                "header": "all_files_same_headers",
            }
        }
    else:
        df.to_parquet(folder / data_file, index=False)
        read = {"read_parquet": {"include_path_column": False}}
    spec = {
        "$schema": "https://azuremlschemas.azureedge.net/latest/MLTable.schema.json",
        "type": "mltable",
        "paths": [{"file": f"./{data_file}"}],
        "transformations": [read],
    }
    (folder / MLTABLE_FILE).write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return folder
