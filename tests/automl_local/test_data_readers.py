"""read_table over CSV, Parquet, folders and MLTable folders, and its error messages."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from automl_local.data import (
    BANKMARKETING_URL,
    load_mltable_spec,
    read_mltable,
    read_table,
    write_mltable,
)
from automl_local.exceptions import DataError

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOML_LOCAL_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "age": [30, 41, 52, 23],
            "job": ["admin.", "services", None, "admin."],
            "balance": [1.5, None, 3.25, 4.0],
            "y": ["no", "yes", "no", "yes"],
        }
    )


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding=encoding)
    return path


def mltable(folder: Path, body: str) -> Path:
    write(folder / "MLTable", body)
    return folder


def test_csv_file_keeps_types_and_missing_values(tmp_path: Path, frame: pd.DataFrame) -> None:
    frame.to_csv(tmp_path / "train.csv", index=False)
    df = read_table(tmp_path / "train.csv")
    pd.testing.assert_frame_equal(df, frame, check_dtype=False)
    assert pd.api.types.is_integer_dtype(df["age"])
    assert df["job"].isna().sum() == 1


def test_tsv_and_parquet_files(tmp_path: Path, frame: pd.DataFrame) -> None:
    frame.to_csv(tmp_path / "train.tsv", sep="\t", index=False)
    frame.to_parquet(tmp_path / "train.parquet", index=False)
    pd.testing.assert_frame_equal(read_table(tmp_path / "train.tsv"), frame, check_dtype=False)
    pd.testing.assert_frame_equal(read_table(tmp_path / "train.parquet"), frame, check_dtype=False)


def test_relative_path_resolves_against_base_dir(tmp_path: Path, frame: pd.DataFrame) -> None:
    frame.to_csv(tmp_path / "train.csv", index=False)
    assert len(read_table("train.csv", base_dir=tmp_path)) == 4
    with pytest.raises(DataError, match=r"'train.csv' was not found .*current directory"):
        read_table("train.csv")


def test_folder_of_csv_files_is_concatenated_in_name_order(
    tmp_path: Path, frame: pd.DataFrame
) -> None:
    frame.iloc[:2].to_csv(tmp_path / "part-1.csv", index=False)
    frame.iloc[2:].to_csv(tmp_path / "part-2.csv", index=False)
    write(tmp_path / ".hidden" / "ignored.csv", "x\n1\n")
    df = read_table(tmp_path)
    assert df["age"].tolist() == [30, 41, 52, 23]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_write_mltable_round_trips(tmp_path: Path, frame: pd.DataFrame, fmt: str) -> None:
    folder = write_mltable(frame, tmp_path / "table", fmt=fmt)
    assert (folder / "MLTable").is_file() and (folder / f"data.{fmt}").is_file()
    pd.testing.assert_frame_equal(read_table(folder), frame, check_dtype=False)
    # The MLTable file alone names the same table.
    pd.testing.assert_frame_equal(read_table(folder / "MLTable"), frame, check_dtype=False)


def test_mltable_files_load_with_azure_ai_ml(tmp_path: Path, frame: pd.DataFrame) -> None:
    """What we write (and the committed bank folder) passes azure-ai-ml's MLTable schema."""
    from azure.ai.ml._utils._data_utils import read_local_mltable_metadata_contents
    from azure.ai.ml.entities._data.mltable_metadata import MLTableMetadata

    for folder in (write_mltable(frame, tmp_path / "t"), REPO / "data" / "bankmarketing"):
        contents = read_local_mltable_metadata_contents(path=str(folder))
        metadata = MLTableMetadata._load(contents, folder / "MLTable")
        assert metadata.paths


def test_committed_bankmarketing_mltable_names_the_known_url() -> None:
    spec = load_mltable_spec(REPO / "data" / "bankmarketing")
    assert spec.paths == [("file", BANKMARKETING_URL)]
    assert spec.read[0] == "read_delimited"


def test_read_delimited_steps(tmp_path: Path) -> None:
    write(
        tmp_path / "t" / "train.csv", "a;b;c;when\n1;x;2.5;2024-01-31\n2;y;3;2024-02-01\n3;z;4;\n"
    )
    folder = mltable(
        tmp_path / "t",
        """
paths:
  - file: ./train.csv
transformations:
  - read_delimited:
      delimiter: ";"
      header: all_files_same_headers
      encoding: utf8
  - drop_columns: b
  - convert_column_types:
      - columns: [a]
        column_type: float
      - columns: when
        column_type:
          datetime:
            formats: ["%Y-%m-%d"]
  - skip: 1
  - take: 1
""",
    )
    df = read_table(folder)
    assert list(df.columns) == ["a", "c", "when"]
    assert df["a"].tolist() == [2.0]
    assert df["when"].iloc[0] == pd.Timestamp("2024-02-01")


def test_folder_and_pattern_paths_with_headers_and_path_column(tmp_path: Path) -> None:
    root = tmp_path / "t"
    write(root / "parts" / "p1.csv", "a,b\n1,2\n")
    write(root / "parts" / "p2.csv", "a,b\n3,4\n")
    write(root / "raw" / "r1.txt", "5,6\n")
    write(root / "raw" / "r2.txt", "7,8\n")
    mltable(
        root,
        "paths:\n  - folder: ./parts\ntransformations:\n  - read_delimited:\n"
        "      include_path_column: true\n",
    )
    df = read_table(root)
    assert df[["a", "b"]].values.tolist() == [[1, 2], [3, 4]]
    assert df["Path"].str.endswith("p1.csv").tolist() == [True, False]

    mltable(
        root,
        "paths:\n  - pattern: ./raw/*.txt\ntransformations:\n  - read_delimited:\n"
        "      header: no_header\n",
    )
    df = read_table(root)
    assert list(df.columns) == ["Column1", "Column2"]
    assert df.values.tolist() == [[5, 6], [7, 8]]

    write(root / "ff" / "1.csv", "a,b\n1,2\n")
    write(root / "ff" / "2.csv", "3,4\n")
    mltable(
        root,
        "paths:\n  - pattern: ff/*.csv\ntransformations:\n  - read_delimited:\n"
        "      header: from_first_file\n",
    )
    assert read_table(root).values.tolist() == [[1, 2], [3, 4]]


def test_encoding_and_empty_as_string(tmp_path: Path) -> None:
    root = tmp_path / "t"
    write(root / "d.csv", "name,score,city\ncafé,1,\n,2,Köln\n", encoding="latin-1")
    mltable(
        root,
        "paths:\n  - file: d.csv\ntransformations:\n  - read_delimited:\n"
        "      encoding: latin1\n      empty_as_string: true\n",
    )
    df = read_table(root)
    assert df["name"].tolist() == ["café", ""]
    assert df["city"].tolist() == ["", "Köln"]
    assert pd.api.types.is_numeric_dtype(df["score"])

    mltable(
        root,
        "paths:\n  - file: d.csv\ntransformations:\n  - read_delimited:\n      encoding: utf8\n",
    )
    with pytest.raises(DataError, match=r"not valid utf-8 text .*set the right `encoding:`"):
        read_table(root)


def test_infer_column_types_false_keeps_strings(tmp_path: Path) -> None:
    root = tmp_path / "t"
    write(root / "d.csv", "zip,n\n01234,1\n")
    mltable(
        root,
        "paths:\n  - file: d.csv\ntransformations:\n  - read_delimited:\n"
        "      infer_column_types: false\n",
    )
    assert read_table(root).iloc[0].tolist() == ["01234", "1"]


def test_json_lines(tmp_path: Path) -> None:
    root = tmp_path / "t"
    write(root / "d.jsonl", '{"a": 1, "y": "no"}\nnot json\n{"a": 2, "y": "yes"}\n')
    mltable(
        root,
        "paths:\n  - file: d.jsonl\ntransformations:\n  - read_json_lines:\n"
        "      invalid_lines: drop\n",
    )
    assert read_table(root)["a"].tolist() == [1, 2]
    mltable(root, "paths:\n  - file: d.jsonl\ntransformations:\n  - read_json_lines:\n")
    with pytest.raises(DataError, match=r"d.jsonl:2 is not a JSON object"):
        read_table(root)


# ------------------------------------------------------------------ errors


def test_missing_empty_and_unsupported_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nope.csv' was not found \(looked at .*nope.csv\)"):
        read_table(tmp_path / "nope.csv")
    write(tmp_path / "empty.csv", "")
    with pytest.raises(DataError, match=r"empty.csv is an empty file"):
        read_table(tmp_path / "empty.csv")
    write(tmp_path / "data.xlsx", "x")
    with pytest.raises(DataError, match=r"unsupported file type '.xlsx'"):
        read_table(tmp_path / "data.xlsx")
    write(tmp_path / "bad.parquet", "not parquet")
    with pytest.raises(DataError, match=r"bad.parquet could not be read as Parquet"):
        read_table(tmp_path / "bad.parquet")
    (tmp_path / "nothing").mkdir()
    with pytest.raises(DataError, match=r"has no MLTable file and no .csv/.tsv/.parquet files"):
        read_table(tmp_path / "nothing")


def test_asset_reference_is_not_a_path() -> None:
    with pytest.raises(DataError, match=r"'azureml:bank:1' is a data asset reference"):
        read_table("azureml:bank:1")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("paths: [\n", r"MLTable is not readable YAML"),
        ("- just a list\n", r"must be a YAML mapping"),
        ("paths:\n  - file: d.csv\nquery_source: x\n", r"key 'query_source' is not supported"),
        ("paths: []\n", r"'paths' must be a non-empty list"),
        ("paths:\n  - url: d.csv\n", r"path kind 'url' is not supported"),
        ("paths:\n  - file: d.csv\n", r"has no read transformation.*read_delimited"),
        (
            "paths:\n  - file: d.csv\ntransformations:\n  - read_delimited:\n      skip_rows: 1\n",
            r"option 'skip_rows' of read_delimited is not supported",
        ),
        (
            "paths:\n  - file: d.csv\ntransformations:\n  - read_delimited:\n"
            "  - filter: 'col(\"a\") > 1'\n",
            r"transformation 'filter' is not supported locally",
        ),
        (
            "paths:\n  - file: d.csv\ntransformations:\n  - read_delimited:\n"
            "      header: first_row\n",
            r"header 'first_row' is not one of",
        ),
        (
            "paths:\n  - file: d.csv\ntransformations:\n  - read_delimited:\n"
            "  - keep_columns: [a, zzz]\n",
            r"keep_columns names column 'zzz', which the table does not have",
        ),
        (
            "paths:\n  - file: d.csv\ntransformations:\n  - read_delimited:\n"
            "  - convert_column_types:\n      - columns: b\n        column_type: int\n",
            r"column 'b' cannot be converted to float: bad values \['x'\]",
        ),
        (
            "paths:\n  - file: other.csv\ntransformations:\n  - read_parquet:\n",
            r"file 'other.csv' was not found",
        ),
        (
            "paths:\n  - pattern: ./*.parquet\ntransformations:\n  - read_parquet:\n",
            r"pattern './\*.parquet' matched no files",
        ),
        (
            "paths:\n  - folder: azureml://datastores/workspaceblobstore/paths/x/\n"
            "transformations:\n  - read_parquet:\n",
            r"can only be read on Azure",
        ),
    ],
)
def test_bad_mltable_names_the_problem(tmp_path: Path, body: str, message: str) -> None:
    root = tmp_path / "t"
    write(root / "d.csv", "a,b\n1,x\n")
    mltable(root, body)
    with pytest.raises(DataError, match=message):
        read_mltable(root)


def test_bankmarketing_mltable_reads_the_shared_file() -> None:
    from automl_local.data import KNOWN_DATASETS, cache_dir

    name = KNOWN_DATASETS[BANKMARKETING_URL].filename
    shared = [REPO.parent / "shared" / "data" / name, cache_dir() / name]
    if not any(p.is_file() for p in shared):
        pytest.skip(f"{name} is not in ../shared/data and there is no network to download it")
    df = read_table(REPO / "data" / "bankmarketing")
    assert df.shape == (32950, 21)
    assert df["y"].value_counts().to_dict() == {"no": 29258, "yes": 3692}


def test_public_names_are_exported() -> None:
    import automl_local.data as package

    public = {n for n in vars(package) if not n.startswith("_")} - {"annotations"}
    assert set(package.__all__) == public
