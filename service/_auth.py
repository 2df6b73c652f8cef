"""Key authentication: ``Authorization: Bearer <primary|secondary key>``.

The server holds only sha256 digests of the keys (``key_hashes.json``). A
presented key is hashed and compared with :func:`hmac.compare_digest` against
both digests, always both, so timing says nothing about which slot matched.
Every auth mode requires the key locally: ``aml_token``/``aad_token``
endpoints are served the same way (there is no token service offline).
"""

from __future__ import annotations

from automl_local.service._errors import ScoringError

from automl_local.keys import key_matches

__all__ = ["check_bearer"]

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="automl-local"'}
_HOW_TO = (
    "Send 'Authorization: Bearer <key>' with the endpoint's primary or secondary key "
    "(online_endpoints.get_keys(name), or "
    "`automl-local online-endpoint get-credentials -n <name>`)."
)


def check_bearer(authorization: str | None, digests: tuple[bytes, ...]) -> None:
    """Pass if the header carries a key whose sha256 matches a digest; else raise 401.

    ``digests`` are lowercase hex digests as ASCII bytes. The message says what
    was wrong (missing, not Bearer, unknown key) without echoing the key.
    """
    if not authorization:
        raise ScoringError(401, f"Missing Authorization header. {_HOW_TO}", headers=_CHALLENGE)
    scheme, _, key = authorization.strip().partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        raise ScoringError(
            401,
            f"Authorization header must use the Bearer scheme with a key. {_HOW_TO}",
            headers=_CHALLENGE,
        )
    if not key_matches(key, digests):
        raise ScoringError(
            401,
            "Invalid key: it matches neither the primary nor the secondary key of this "
            f"endpoint (keys may have been regenerated). {_HOW_TO}",
            headers=_CHALLENGE,
        )
