"""Access keys: fresh keys, their digest, and the constant-time check against digests."""

from __future__ import annotations

import hashlib

from automl_local.keys import key_digest, key_matches, new_key


def test_new_keys_are_long_random_and_url_safe() -> None:
    keys = {new_key() for _ in range(20)}
    assert len(keys) == 20
    assert all(len(k) >= 43 and k.replace("-", "").replace("_", "").isalnum() for k in keys)


def test_digest_is_sha256_hex_of_the_utf8_key() -> None:
    assert key_digest("clé") == hashlib.sha256("clé".encode()).hexdigest()


def test_key_matches_any_digest_as_text_or_bytes() -> None:
    digests = [key_digest("a"), key_digest("b").encode("ascii")]
    assert key_matches("a", digests) and key_matches("b", digests)
    assert not key_matches("c", digests)
    assert not key_matches("a", [])
    assert not key_matches(key_digest("a"), digests)  # the digest itself is not a key
