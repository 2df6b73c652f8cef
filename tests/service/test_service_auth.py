"""Bearer-key checks against sha256 digests (plain function, no HTTP)."""

from __future__ import annotations

import pytest
from automl_local.service._auth import check_bearer
from automl_local.service._config import hash_key
from automl_local.service._errors import ScoringError

DIGESTS = (hash_key("k-primary").encode(), hash_key("k-secondary").encode())


@pytest.mark.parametrize(
    "header", ["Bearer k-primary", "bearer k-secondary", " Bearer  k-primary "]
)
def test_valid_keys_pass(header: str) -> None:
    check_bearer(header, DIGESTS)


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (None, r"Missing Authorization header"),
        ("", r"Missing Authorization header"),
        ("k-primary", r"must use the Bearer scheme"),
        ("Basic k-primary", r"must use the Bearer scheme"),
        ("Bearer ", r"must use the Bearer scheme"),
        ("Bearer k-wrong", r"Invalid key: it matches neither the primary nor the secondary"),
    ],
)
def test_rejected_with_401_and_a_hint(header: str | None, message: str) -> None:
    with pytest.raises(ScoringError, match=message) as info:
        check_bearer(header, DIGESTS)
    assert info.value.status == 401
    assert info.value.headers["WWW-Authenticate"].startswith("Bearer")
    assert "k-wrong" not in info.value.message  # a presented key is never echoed


def test_no_digests_means_no_key_works() -> None:
    with pytest.raises(ScoringError, match="Invalid key"):
        check_bearer("Bearer k-primary", ())
