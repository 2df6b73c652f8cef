"""Access keys: make one, keep only its digest, check a presented key in constant time.

Scoring endpoints and the control-plane server authenticate with two keys
(primary, secondary), as Azure's key-auth endpoints do. Servers hold only
the keys' sha256 digests; a presented key is hashed and compared with
every digest by :func:`hmac.compare_digest`, always all of them, so the
time taken says nothing about which key (if any) matched. Keys are never
logged.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable

__all__ = ["key_digest", "key_matches", "new_key"]


def new_key() -> str:
    """A fresh key: 256 random bits, URL-safe text (43 characters)."""
    return secrets.token_urlsafe(32)


def key_digest(key: str) -> str:
    """The digest servers keep instead of ``key``: sha256 of its UTF-8 bytes, lowercase hex."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def key_matches(key: str, digests: Iterable[str | bytes]) -> bool:
    """True if ``key``'s digest equals one of ``digests`` (hex, text or ASCII bytes).

    Compares against every digest, in constant time each.
    """
    presented = key_digest(key).encode("ascii")
    matched = False
    for digest in digests:
        expected = digest.encode("ascii") if isinstance(digest, str) else bytes(digest)
        matched |= hmac.compare_digest(presented, expected)
    return matched
