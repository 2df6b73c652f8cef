"""fetch(): known data sets, the download cache and checksum verification.

There is no internet here, so a real http.server on 127.0.0.1 stands in for
the blob store; the known-data-set table is patched to point at it.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from automl_local.data import (
    BANKMARKETING_URL,
    KNOWN_DATASETS,
    KnownDataset,
    bankmarketing_path,
    fetch,
    read_table,
    sha256_file,
)
from automl_local.exceptions import DataError

CSV = b"x,y\n1,no\n2,yes\n3,no\n"


@dataclass
class Server:
    root: Path
    base: str
    requests: list[str] = field(default_factory=list)

    def url(self, name: str) -> str:
        return f"{self.base}/{name}"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    root = tmp_path / "www"
    root.mkdir()
    (root / "small.csv").write_bytes(CSV)
    requests: list[str] = []

    class Handler(SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            requests.append(self.path)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield Server(root, f"http://127.0.0.1:{httpd.server_address[1]}", requests)
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache of our own, no data dir, and a cwd whose ../shared/data does not exist."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("AUTOML_LOCAL_CACHE", str(cache))
    monkeypatch.delenv("AUTOML_LOCAL_DATA_DIR", raising=False)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return cache


def known(server: Server, monkeypatch: pytest.MonkeyPatch, sha: str) -> str:
    url = server.url("small.csv")
    monkeypatch.setitem(KNOWN_DATASETS, url, KnownDataset("automl-local-test-small.csv", sha))
    return url


def test_unknown_url_is_downloaded_once_and_cached(server: Server, isolated: Path) -> None:
    url = server.url("small.csv")
    first = fetch(url)
    assert first.read_bytes() == CSV and isolated in first.parents
    assert fetch(url) == first
    assert read_table(url)["y"].tolist() == ["no", "yes", "no"]
    assert server.requests == ["/small.csv"]


def test_known_url_downloads_into_cache_after_checksum(
    server: Server, isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = known(server, monkeypatch, hashlib.sha256(CSV).hexdigest())
    path = fetch(url)
    assert path == isolated / "automl-local-test-small.csv"
    assert fetch(url) == path
    assert server.requests == ["/small.csv"]


def test_known_url_with_wrong_content_is_discarded(
    server: Server, isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = known(server, monkeypatch, "0" * 64)
    got = hashlib.sha256(CSV).hexdigest()
    with pytest.raises(
        DataError,
        match=rf"does not match the pinned checksum .*expected sha256 0{{64}}, got {got}",
    ):
        fetch(url)
    assert not [p for p in isolated.rglob("*") if p.is_file()]  # no partial or bad file kept


def test_local_copy_is_preferred_and_verified(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = known(server, monkeypatch, hashlib.sha256(CSV).hexdigest())
    data_dir = tmp_path / "data-dir"
    data_dir.mkdir()
    monkeypatch.setenv("AUTOML_LOCAL_DATA_DIR", str(data_dir))
    (data_dir / "automl-local-test-small.csv").write_bytes(CSV)
    assert fetch(url) == data_dir / "automl-local-test-small.csv"
    assert server.requests == []

    (data_dir / "automl-local-test-small.csv").write_bytes(CSV + b"4,no\n")
    with pytest.raises(DataError, match=r"data-dir/automl-local-test-small.csv does not match"):
        fetch(url)
    assert server.requests == []


def test_shared_data_beside_the_current_directory_is_found(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = known(server, monkeypatch, hashlib.sha256(CSV).hexdigest())
    shared = tmp_path / "shared" / "data"
    shared.mkdir(parents=True)
    (shared / "automl-local-test-small.csv").write_bytes(CSV)
    assert fetch(url) == (shared / "automl-local-test-small.csv").resolve()


def test_download_failure_says_what_to_do(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(DataError, match=r"could not download .*missing.csv: HTTP 404"):
        fetch(server.url("missing.csv"))
    url = server.url("missing.csv")
    monkeypatch.setitem(KNOWN_DATASETS, url, KnownDataset("automl-local-x.csv", "0" * 64))
    with pytest.raises(DataError, match=r"Without network access, copy automl-local-x.csv into"):
        fetch(url)


def test_fetch_rejects_local_paths() -> None:
    with pytest.raises(DataError, match=r"fetch\(\) takes an http\(s\) URL"):
        fetch("/tmp/x.csv")


def test_mltable_with_url_path_reads_through_the_cache(server: Server, tmp_path: Path) -> None:
    folder = tmp_path / "t"
    folder.mkdir()
    (folder / "MLTable").write_text(
        f"paths:\n  - file: {server.url('small.csv')}\ntransformations:\n"
        "  - read_delimited:\n      include_path_column: true\n"
    )
    df = read_table(folder)
    assert df["x"].tolist() == [1, 2, 3]
    assert set(df["Path"]) == {server.url("small.csv")}


def test_bankmarketing_file_is_found_and_verified(monkeypatch: pytest.MonkeyPatch) -> None:
    repo = Path(__file__).resolve().parents[2]
    monkeypatch.chdir(repo)
    shared = repo.parent / "shared" / "data" / "bankmarketing_train.csv"
    if not shared.is_file():
        pytest.skip(f"{shared} is absent and there is no network to download the file")
    path = bankmarketing_path()
    assert path.resolve() == shared.resolve()
    assert sha256_file(path) == KNOWN_DATASETS[BANKMARKETING_URL].sha256
