"""Local CSV / Parquet / JSON Lines data as MLTable folders Azure AutoML can read."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml
from automl_local.backends.azure._mltable import is_local_path, to_mltable_folder

from automl_local.data import read_mltable
from automl_local.exceptions import DataError

FRAME = pd.DataFrame({"age": [30, 45, 52], "job": ["admin.", "retired", "services"],
                      "y": ["no", "yes", "no"]})


def _spec(folder: Path) -> dict:
    return yaml.safe_load((folder / "MLTable").read_text())


def test_csv_file_becomes_read_delimited(tmp_path: Path) -> None:
    FRAME.to_csv(tmp_path / "bank.csv", index=False)
    folder = to_mltable_folder(tmp_path / "bank.csv", tmp_path / "out")
    assert folder is not None
    spec = _spec(folder)
    assert spec["paths"] == [{"file": "./bank.csv"}]
    assert spec["transformations"] == [{"read_delimited": {
        "delimiter": ",", "encoding": "utf8", "header": "all_files_same_headers"}}]
    pd.testing.assert_frame_equal(read_mltable(folder), FRAME)  # the local reader agrees


def test_tsv_file_uses_a_tab(tmp_path: Path) -> None:
    FRAME.to_csv(tmp_path / "bank.tsv", index=False, sep="\t")
    folder = to_mltable_folder(tmp_path / "bank.tsv", tmp_path / "out")
    assert folder is not None
    assert _spec(folder)["transformations"][0]["read_delimited"]["delimiter"] == "\t"
    pd.testing.assert_frame_equal(read_mltable(folder), FRAME)


def test_parquet_file_becomes_read_parquet(tmp_path: Path) -> None:
    FRAME.to_parquet(tmp_path / "bank.parquet", index=False)
    folder = to_mltable_folder(tmp_path / "bank.parquet", tmp_path / "out")
    assert folder is not None
    assert _spec(folder)["transformations"] == [{"read_parquet": {"include_path_column": False}}]
    pd.testing.assert_frame_equal(read_mltable(folder), FRAME)


def test_jsonl_file_becomes_read_json_lines(tmp_path: Path) -> None:
    FRAME.to_json(tmp_path / "bank.jsonl", orient="records", lines=True)
    folder = to_mltable_folder(tmp_path / "bank.jsonl", tmp_path / "out")
    assert folder is not None
    assert "read_json_lines" in _spec(folder)["transformations"][0]


def test_folder_of_csv_files_becomes_a_pattern(tmp_path: Path) -> None:
    parts = tmp_path / "parts"
    parts.mkdir()
    FRAME.head(2).to_csv(parts / "a.csv", index=False)
    FRAME.tail(1).to_csv(parts / "b.csv", index=False)
    folder = to_mltable_folder(parts, tmp_path / "out")
    assert folder is not None
    assert _spec(folder)["paths"] == [{"pattern": "./*.csv"}]
    assert sorted(p.name for p in folder.iterdir()) == ["MLTable", "a.csv", "b.csv"]
    assert len(read_mltable(folder)) == 3


def test_an_mltable_folder_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / "MLTable").write_text("paths: [{file: ./x.csv}]\n")
    assert to_mltable_folder(tmp_path, tmp_path / "out") is None
    assert not (tmp_path / "out").exists()


def test_missing_path_is_named(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"data path '.*nowhere\.csv' does not exist\. Point"):
        to_mltable_folder(tmp_path / "nowhere.csv", tmp_path / "out")


def test_unsupported_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "bank.xlsx").write_bytes(b"PK")
    with pytest.raises(DataError, match=r"'.*bank\.xlsx' is not CSV, TSV, Parquet or JSON Lines"):
        to_mltable_folder(tmp_path / "bank.xlsx", tmp_path / "out")


def test_mixed_folder_is_refused_with_the_fix(tmp_path: Path) -> None:
    FRAME.to_csv(tmp_path / "a.csv", index=False)
    FRAME.to_parquet(tmp_path / "b.parquet", index=False)
    with pytest.raises(DataError, match=r"has no MLTable file and is not a folder of one kind"
                                        r".*found: \.csv, \.parquet.*Add an MLTable file"):
        to_mltable_folder(tmp_path, tmp_path / "out")


@pytest.mark.parametrize(("path", "local"), [
    ("./data/bank.csv", True), ("/abs/bank.parquet", True), ("azureml:bank:1", False),
    ("azureml://datastores/workspaceblobstore/paths/x", False),
    ("https://example.org/bank.csv", False), ("wasbs://c@a.blob.core.windows.net/x", False),
])
def test_is_local_path(path: str, local: bool) -> None:
    assert is_local_path(path) is local
