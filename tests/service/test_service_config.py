"""endpoint.json / key_hashes.json parsing and the change-watching reader."""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import pytest
from automl_local.service._config import (
    WatchedFile,
    hash_key,
    parse_endpoint_config,
    parse_key_hashes,
    read_endpoint_config,
)

from automl_local.exceptions import ConfigError

VALID = {
    "name": "bank-ep",
    "auth_mode": "key",
    "traffic": {"blue": 90, "green": 10},
    "mirror_traffic": {},
    "max_body_bytes": 1024,
    "deployments": {
        "blue": {
            "model_dir": "/m",
            "model_name": "bankmodel",
            "model_version": "1",
            "app_insights_enabled": True,
            "request_timeout_ms": 3000,
            "max_concurrent_requests_per_instance": 2,
            "environment_variables": {"AUTOML_LOG_PAYLOADS": "1"},
            "instance_count": 2,
        },
        "green": {"model_dir": "/m2"},
    },
}


def test_parses_the_interface_example() -> None:
    config = parse_endpoint_config(json.dumps(VALID))
    assert config.name == "bank-ep"
    assert dict(config.traffic) == {"blue": 90, "green": 10}
    assert config.max_body_bytes == 1024
    blue = config.deployments["blue"]
    assert blue.model_label == "bankmodel:1"
    assert blue.request_timeout_ms == 3000
    assert blue.max_concurrent_requests_per_instance == 2
    assert blue.environment_variables == {"AUTOML_LOG_PAYLOADS": "1"}
    green = config.deployments["green"]  # Azure's defaults for what is left out
    assert (green.request_timeout_ms, green.app_insights_enabled) == (5000, False)
    assert green.model_label == "m2"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": None}, r"field 'name' must be a string, got NoneType"),
        ({"traffic": {"blue": 120}}, r"field 'traffic.blue' must be an integer 0..100, got 120"),
        ({"traffic": {"blue": True}}, r"traffic.blue' must be an integer 0..100, got True"),
        ({"max_body_bytes": 0}, r"'max_body_bytes' must be > 0"),
        ({"deployments": {"blue": {}}}, r"\(deployments.blue\): field 'model_dir' is required"),
        (
            {"deployments": {"blue": {"model_dir": "/m", "request_timeout_ms": "5s"}}},
            r"'request_timeout_ms' must be an integer, got str",
        ),
        (
            {"deployments": {"blue": {"model_dir": "/m", "app_insights_enabled": 1}}},
            r"'app_insights_enabled' must be true/false, got int",
        ),
    ],
)
def test_invalid_endpoint_json_names_the_field(change: dict, message: str) -> None:
    data = {**VALID, **change}
    with pytest.raises(ConfigError, match=message):
        parse_endpoint_config(json.dumps(data), "E/endpoint.json")


def test_missing_name_and_bad_json() -> None:
    with pytest.raises(ConfigError, match=r"field 'name' is required"):
        parse_endpoint_config("{}")
    with pytest.raises(ConfigError, match=r"endpoint.json is not valid JSON"):
        parse_endpoint_config("{nope")


def test_read_endpoint_config_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"endpoint.json does not exist"):
        read_endpoint_config(tmp_path)


def test_key_hashes() -> None:
    assert hash_key("abc") == hashlib.sha256(b"abc").hexdigest()
    keys = parse_key_hashes(json.dumps({"primary": hash_key("a"), "secondary": hash_key("b")}))
    assert keys.digests() == (hash_key("a").encode(), hash_key("b").encode())
    with pytest.raises(ConfigError, match=r"field 'primary' must be a sha256 hex digest"):
        parse_key_hashes(json.dumps({"primary": "plaintext-key"}))


def test_watched_file_rereads_on_change_and_keeps_last_good(tmp_path: Path) -> None:
    path = tmp_path / "f.json"
    path.write_text('{"v": 1}')
    calls = []

    def parse(raw: bytes) -> int:
        calls.append(raw)
        try:
            return int(json.loads(raw)["v"])
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc

    watched = WatchedFile(path, parse, settle_seconds=0.0)
    assert watched.get() == 1
    assert watched.get() == 1
    assert len(calls) == 1  # unchanged file: stat only
    path.write_text('{"v": 22}')  # same instant is fine: size differs
    assert watched.get() == 22
    path.write_text("{broken")  # a writer caught mid-write
    assert watched.get() == 22
    path.write_text('{"v": 3}')
    assert watched.get() == 3
    path.unlink()
    with pytest.raises(FileNotFoundError):
        watched.get()


def test_watched_file_sees_same_size_rewrite_within_one_tick(tmp_path: Path) -> None:
    """Two same-size writes with an identical mtime: the settle window still catches it."""
    path = tmp_path / "k.json"
    path.write_text('{"v": 1}')
    watched = WatchedFile(path, lambda raw: json.loads(raw)["v"], settle_seconds=2.0)
    assert watched.get() == 1
    stat = path.stat()
    path.write_text('{"v": 2}')
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # force the old mtime back
    assert watched.get() == 2
    os.utime(path, ns=(time.time_ns() - 10**10, time.time_ns() - 10**10))
    assert watched.get() == 2
