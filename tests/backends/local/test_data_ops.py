"""LocalDataOperations (ml_client.data on the local backend) and resolve_input_path."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from automl_local.backends.local import LocalClient
from automl_local.backends.local._data import resolve_input_path
from azure.ai.ml import load_data
from azure.ai.ml.constants import ListViewType
from azure.ai.ml.entities import Data

from automl_local.data import BANKMARKETING_URL, load_mltable_spec, read_table, write_mltable
from automl_local.exceptions import AlreadyExistsError, ConfigError, DataError, NotFoundError


@pytest.fixture
def ml(tmp_path: Path) -> LocalClient:
    return LocalClient(workspace=tmp_path / "ws")


@pytest.fixture
def table(tmp_path: Path) -> Path:
    frame = pd.DataFrame({"x": [1, 2, 3, 4], "y": ["no", "yes", "no", "yes"]})
    return write_mltable(frame, tmp_path / "src" / "train")


def test_mltable_asset_is_snapshotted_and_versioned(ml: LocalClient, table: Path) -> None:
    first = ml.data.create_or_update(Data(name="bank", path=str(table), type="mltable"))
    assert isinstance(first, Data)
    assert (first.name, first.version, first.type) == ("bank", "1", "mltable")
    snapshot = Path(first.path)
    assert snapshot == ml.workspace.data_dir() / "bank" / "1"
    assert sorted(p.name for p in snapshot.iterdir()) == ["MLTable", "data.csv"]
    assert len(first.properties["automl_local.content_sha256"]) == 64

    # The registered version keeps its content when the source changes.
    (table / "data.csv").write_text("x,y\n9,no\n9,yes\n")
    second = ml.data.create_or_update(Data(name="bank", path=str(table), type="mltable"))
    assert second.version == "2"
    assert read_table(first.path)["x"].tolist() == [1, 2, 3, 4]
    assert read_table(second.path)["x"].tolist() == [9, 9]
    assert ml.data.get("bank", label="latest").version == "2"
    assert ml.data.get("bank", version="1").path == first.path


def test_uri_file_and_folder_and_url(ml: LocalClient, table: Path) -> None:
    file_asset = ml.data.create_or_update(
        Data(name="raw", version="7", path=str(table / "data.csv"), type="uri_file")
    )
    assert Path(file_asset.path) == ml.workspace.data_dir() / "raw" / "7" / "data.csv"
    folder_asset = ml.data.create_or_update(
        Data(name="folder", path=str(table), type="uri_folder", description="d", tags={"k": "v"})
    )
    assert (Path(folder_asset.path) / "MLTable").is_file()
    assert (folder_asset.description, folder_asset.tags) == ("d", {"k": "v"})
    url = "https://example.com/data/train.csv"
    remote = ml.data.create_or_update(Data(name="remote", path=url, type="uri_file"))
    assert remote.path == url


def test_relative_path_resolves_against_the_yaml_folder(ml: LocalClient, table: Path) -> None:
    spec = table.parent / "data.yml"
    spec.write_text("name: from-yaml\ntype: mltable\npath: ./train\ndescription: yaml\n")
    created = ml.data.create_or_update(load_data(source=str(spec)))
    assert (created.name, created.version, created.description) == ("from-yaml", "1", "yaml")
    assert read_table(created.path)["y"].tolist() == ["no", "yes", "no", "yes"]


def test_same_version_same_content_updates_metadata(ml: LocalClient, table: Path) -> None:
    ml.data.create_or_update(Data(name="a", version="1", path=str(table), type="mltable"))
    updated = ml.data.create_or_update(
        Data(name="a", version="1", path=str(table), type="mltable", description="new")
    )
    assert updated.description == "new"
    (table / "data.csv").write_text("x,y\n0,no\n1,yes\n")
    with pytest.raises(AlreadyExistsError, match=r"a:1 already exists with different content"):
        ml.data.create_or_update(Data(name="a", version="1", path=str(table), type="mltable"))


def test_get_follows_azure_rules(ml: LocalClient, table: Path) -> None:
    ml.data.create_or_update(Data(name="a", path=str(table), type="mltable"))
    with pytest.raises(ConfigError, match=r"Must provide either version or label"):
        ml.data.get("a")
    with pytest.raises(ConfigError, match=r"Cannot specify both version and label"):
        ml.data.get("a", version="1", label="latest")
    with pytest.raises(ConfigError, match=r"label 'prod' is not supported"):
        ml.data.get("a", label="prod")
    with pytest.raises(NotFoundError, match=r"data 'a:9' was not found.*automl-local data list"):
        ml.data.get("a", version="9")
    with pytest.raises(NotFoundError, match=r"data asset 'b' has no active version"):
        ml.data.get("b", label="latest")


def test_list_archive_and_restore(ml: LocalClient, table: Path) -> None:
    for name in ("a", "a", "b"):
        ml.data.create_or_update(Data(name=name, path=str(table), type="mltable"))
    names = {(d.name, d.latest_version) for d in ml.data.list()}
    assert names == {("a", "2"), ("b", "1")}
    assert [d.version for d in ml.data.list(name="a")] == ["1", "2"]

    ml.data.archive("a", version="2")
    assert ml.data.get("a", label="latest").version == "1"
    assert [d.version for d in ml.data.list(name="a")] == ["1"]
    archived = ml.data.list(name="a", list_view_type=ListViewType.ARCHIVED_ONLY)
    assert [d.version for d in archived] == ["2"]
    assert ml.data.get("a", version="2").version == "2"  # still readable by version
    ml.data.archive("b")
    assert {d.name for d in ml.data.list()} == {"a"}
    ml.data.restore("b")
    ml.data.restore("a", version="2")
    assert {d.name for d in ml.data.list(list_view_type="All")} == {"a", "b"}
    with pytest.raises(NotFoundError, match=r"data asset 'zzz' was not found"):
        ml.data.archive("zzz")
    with pytest.raises(ConfigError, match=r"list_view_type 'Everything' is not valid"):
        ml.data.list(list_view_type="Everything")


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"name": "a b", "type": "mltable"}, ConfigError, r"name 'a b' is not valid"),
        ({"name": "a", "type": "uri_file"}, ConfigError, r"does not match asset type uri_file"),
        ({"name": "a", "version": "1/../x", "type": "mltable"}, ConfigError, r"version '1/../x'"),
    ],
)
def test_invalid_entities(
    ml: LocalClient, table: Path, kwargs: dict, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        ml.data.create_or_update(Data(path=str(table), **kwargs))


def test_path_problems(ml: LocalClient, table: Path, tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"path '.*missing' was not found"):
        ml.data.create_or_update(Data(name="a", path=str(tmp_path / "missing"), type="uri_folder"))
    with pytest.raises(ConfigError, match=r"uri_folder: .*data.csv is a file"):
        ml.data.create_or_update(Data(name="a", path=str(table / "data.csv"), type="uri_folder"))
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(DataError, match=r"has no MLTable file, so it cannot be an mltable asset"):
        ml.data.create_or_update(Data(name="a", path=str(plain), type="mltable"))
    (plain / "MLTable").write_text(
        "paths:\n  - file: ../src/train/data.csv\ntransformations:\n  - read_delimited:\n"
    )
    with pytest.raises(DataError, match=r"outside the MLTable folder"):
        ml.data.create_or_update(Data(name="a", path=str(plain), type="mltable"))
    with pytest.raises(ConfigError, match=r"points into Azure storage"):
        ml.data.create_or_update(
            Data(name="a", path="azureml://datastores/blob/paths/x/", type="uri_folder")
        )
    assert not list(ml.data.list())
    assert not (ml.workspace.data_dir() / "a").exists() or not any(
        (ml.workspace.data_dir() / "a").iterdir()
    )


def test_committed_bankmarketing_asset_yaml(ml: LocalClient) -> None:
    repo = Path(__file__).resolve().parents[3]
    asset = ml.data.create_or_update(load_data(source=str(repo / "data" / "bankmarketing.yml")))
    assert (asset.name, asset.version, asset.type) == ("bankmarketing-train", "1", "mltable")
    assert load_mltable_spec(asset.path).paths == [("file", BANKMARKETING_URL)]


def test_begin_create_or_update_dispatches_data(ml: LocalClient, table: Path) -> None:
    poller = ml.begin_create_or_update(Data(name="p", path=str(table), type="mltable"))
    assert poller.result().version == "1"


# ------------------------------------------------------------------ job inputs


def test_resolve_asset_references(ml: LocalClient, table: Path) -> None:
    asset = ml.data.create_or_update(Data(name="bank", path=str(table), type="mltable"))
    for ref in (
        "azureml:bank:1",
        "azureml:bank@latest",
        "bank:1",
        "azureml://locations/westeurope/workspaces/abc/data/bank/versions/1",
    ):
        assert resolve_input_path(ml, ref) == asset.path, ref
    assert read_table(resolve_input_path(ml, "azureml:bank:1"))["x"].tolist() == [1, 2, 3, 4]


def test_resolve_local_paths_and_urls(ml: LocalClient, table: Path) -> None:
    base = table.parent
    assert resolve_input_path(ml, "./train", base) == str(table.resolve())
    assert resolve_input_path(ml, "azureml:./train", base) == str(table.resolve())
    assert resolve_input_path(ml, str(table)) == str(table.resolve())
    url = "https://example.com/x.csv"
    assert resolve_input_path(ml, url) == url


def test_resolve_errors(ml: LocalClient, table: Path) -> None:
    with pytest.raises(NotFoundError, match=r"data 'bank:3' was not found"):
        resolve_input_path(ml, "azureml:bank:3")
    with pytest.raises(
        ConfigError, match=r"names a data asset without a version.*azureml:bank@latest"
    ):
        resolve_input_path(ml, "azureml:bank")
    with pytest.raises(DataError, match=r"workspaceblobstore.*datastore folder.*does not exist"):
        resolve_input_path(ml, "azureml://datastores/workspaceblobstore/paths/train/")
    with pytest.raises(DataError, match=r"input path './nope' was not found .*YAML folder"):
        resolve_input_path(ml, "./nope", table.parent)
