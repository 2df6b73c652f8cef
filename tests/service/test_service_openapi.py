"""The OpenAPI document tells the truth: a property-based tester holds /score to it.

schemathesis (the same tool and version that found the mismatches of issue
11) generates requests from ``/swagger.json?version=3`` of a live bank-shaped
endpoint and checks, among others, that every request the schema allows is
answered 2xx and every request it forbids 4xx, and that no request is a 5xx.
Bounded: 100 examples per operation, seeded, well under a minute.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _live import Server, run_server
from _schemathesis import run_schemathesis

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, make_endpoint: Any) -> Iterator[Server]:
    folder = make_endpoint(tmp_path_factory.mktemp("openapi") / "bank-ep", {"blue": 100})
    with run_server(folder) as server:
        yield server


def test_the_two_mismatches_of_issue_11_are_gone(server: Server, row: dict) -> None:
    spec = server.http.get("/swagger.json", params={"version": "3"}).json()
    schemas = spec["components"]["schemas"]
    rows = schemas["ServiceInput"]["properties"]["input_data"]["properties"]["data"]
    assert rows["minItems"] == 1  # an empty table is refused, and the schema says so
    empty = server.score({"input_data": {"columns": [], "data": []}})
    assert empty.status_code == 400 and "no rows" in empty.json()["message"]
    assert schemas["ServiceInput"]["properties"]["params"]["nullable"] is True
    null_params = server.score({"input_data": {"data": [row]}, "params": None})
    assert null_params.status_code == 200 and null_params.json() == ["yes"]


def test_schemathesis_finds_nothing(server: Server, tmp_path: Path) -> None:
    headers = {"Authorization": f"Bearer {server.endpoint.primary_key}"}
    code, generated, report = run_schemathesis(
        f"{server.url}/swagger.json?version=3", server.url, headers, tmp_path)
    assert code == 0, report[-8000:]
    assert generated >= 100, report[-4000:]  # /score was exercised
