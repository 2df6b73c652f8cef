"""The fake Azure itself: unexpected requests are visible, blobs behave like blobs."""

from __future__ import annotations

from typing import Any

import pytest
from automl_local.backends.azure.testing import FakeAzureTransport, FakeResponse
from azure.core.pipeline import Pipeline
from azure.core.rest import HttpRequest


def _send(transport: FakeAzureTransport, method: str, url: str, **kw: Any) -> Any:
    with Pipeline(transport) as pipeline:  # type: ignore[var-annotated]
        return pipeline.run(HttpRequest(method, url, **kw)).http_response


def test_unrouted_requests_get_a_404_and_are_listed() -> None:
    transport = FakeAzureTransport()
    response = _send(transport, "GET", "https://management.azure.com/nothing/here")
    assert response.status_code == 404
    assert [r.path for r in transport.unrouted] == ["/nothing/here"]
    with pytest.raises(AssertionError, match=r"no POST request matching .*\n  GET /nothing"):
        transport.one("POST", r"/x")


def test_newest_route_wins_and_bodies_are_recorded() -> None:
    transport = FakeAzureTransport()
    transport.add("POST", r"^/echo$", {"first": True})
    transport.add("POST", r"^/echo$", lambda req, m: FakeResponse(201, req.json()))
    response = _send(transport, "POST", "https://h.example/echo", json={"a": 1})
    assert (response.status_code, response.json()) == (201, {"a": 1})
    assert transport.one("POST", r"^/echo$").json() == {"a": 1}


def test_blob_storage_round_trip_and_ranges(fake: Any) -> None:
    url = "https://acct.blob.core.windows.net/cont/dir/file.bin"
    assert _send(fake.transport, "HEAD", url).status_code == 404
    assert _send(fake.transport, "PUT", url, content=b"0123456789",
                 headers={"x-ms-meta-hash": "h1"}).status_code == 201
    head = _send(fake.transport, "HEAD", url)
    assert head.headers["Content-Length"] == "10" and head.headers["x-ms-meta-hash"] == "h1"
    part = _send(fake.transport, "GET", url, headers={"x-ms-range": "bytes=2-5"})
    assert (part.status_code, part.content) == (206, b"2345")
    listing = _send(fake.transport, "GET", "https://acct.blob.core.windows.net/cont",
                    params={"restype": "container", "comp": "list", "prefix": "dir/"})
    assert b"<Name>dir/file.bin</Name>" in listing.content


def test_fake_credential_tokens_are_jwts_for_the_asked_audience() -> None:
    """azure-ai-ml decodes the ML token before it submits a pipeline; the fake's must decode."""
    import jwt
    from automl_local.backends.azure.testing import FakeCredential

    credential = FakeCredential("tester")
    token = credential.get_token("https://ml.azure.com/.default").token
    claims = jwt.decode(token, options={"verify_signature": False, "verify_aud": False})
    assert claims["aud"] == "https://ml.azure.com"
    assert claims["name"] == "tester"
    assert token == credential.token_for("https://ml.azure.com/.default")  # stable
    arm = credential.get_token_info("https://management.azure.com/.default").token
    assert FakeCredential.claims(f"Bearer {arm}")["aud"] == "https://management.azure.com"
    assert credential.scopes == [("https://ml.azure.com/.default",),
                                 ("https://management.azure.com/.default",)]
