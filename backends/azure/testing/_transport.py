"""The fake azure-core transport: answers requests from routes, records them all."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
from azure.core.credentials import AccessToken, AccessTokenInfo
from azure.core.pipeline.transport import RequestsTransport
from requests.adapters import BaseAdapter

__all__ = [
    "FakeAzureTransport",
    "FakeCredential",
    "FakeResponse",
    "RecordedRequest",
    "Responder",
    "intercept_storage",
]


@dataclass
class RecordedRequest:
    """One HTTP request as it left azure-core (after every pipeline policy)."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes

    @property
    def host(self) -> str:
        return urlsplit(self.url).netloc

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @property
    def query(self) -> dict[str, str]:
        return dict(parse_qsl(urlsplit(self.url).query, keep_blank_values=True))

    def json(self) -> Any:
        """The body parsed as JSON (``None`` for an empty body)."""
        return json.loads(self.body) if self.body else None

    def __repr__(self) -> str:
        return f"<{self.method} {self.url}>"


@dataclass
class FakeResponse:
    """What a responder returns; ``body`` may be JSON data, text or bytes."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def content(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body).encode()


Responder = Callable[[RecordedRequest, re.Match[str]], FakeResponse]


class _Route:
    def __init__(self, method: str, pattern: str, responder: Responder, host: str | None) -> None:
        self.method = method.upper()
        self.regex = re.compile(pattern)
        self.responder = responder
        self.host = host

    def match(self, request: RecordedRequest) -> re.Match[str] | None:
        if self.method not in ("*", request.method):
            return None
        if self.host is not None and not re.fullmatch(self.host, request.host):
            return None
        return self.regex.search(request.path)


class _Adapter(BaseAdapter):
    """The requests adapter under our transport: it never opens a socket."""

    def __init__(self, transport: FakeAzureTransport) -> None:
        super().__init__()
        self._transport = transport

    def send(  # type: ignore[override]
        self, request: requests.PreparedRequest, **_: Any
    ) -> requests.Response:
        body: Any = request.body or b""
        if hasattr(body, "read"):  # streamed upload bodies (blob PUT of a file)
            body = body.read()
        if isinstance(body, str):
            body = body.encode()
        recorded = RecordedRequest(
            method=str(request.method).upper(),
            url=str(request.url),
            headers={str(k): str(v) for k, v in request.headers.items()},
            body=bytes(body),
        )
        answer = self._transport._answer(recorded)
        response = requests.Response()
        response.status_code = answer.status
        content = answer.content()
        response.headers.update({"Content-Length": str(len(content)), **answer.headers})
        if "Content-Type" not in answer.headers and answer.body is not None:
            is_json = not isinstance(answer.body, bytes | str)
            response.headers["Content-Type"] = (
                "application/json" if is_json else "application/octet-stream"
            )
        response.headers.setdefault("x-ms-request-id", f"fake-{len(self._transport.requests)}")
        response.raw = io.BytesIO(content)
        response.url = recorded.url
        response.request = request
        response.reason = "OK" if answer.status < 400 else "Error"
        return response

    def close(self) -> None:
        return None


class FakeAzureTransport(RequestsTransport):
    """A ``RequestsTransport`` whose session answers from registered routes.

    Being a real :class:`~azure.core.pipeline.transport.RequestsTransport`,
    everything above the socket (response objects, streaming downloads,
    error mapping) is azure-core's own code. Routes are tried newest first;
    an unrouted request gets a 404 in Azure's error shape and is listed in
    :attr:`unrouted`, so a test sees exactly which call it did not expect.
    """

    def __init__(self) -> None:
        session = requests.Session()
        self._adapter = _Adapter(self)
        session.mount("https://", self._adapter)
        session.mount("http://", self._adapter)
        super().__init__(session=session, session_owner=False)
        self.requests: list[RecordedRequest] = []
        self.unrouted: list[RecordedRequest] = []
        self._routes: list[_Route] = []
        self._lock = threading.Lock()

    def add(
        self, method: str, pattern: str, responder: Responder | FakeResponse | Any,
        *, host: str | None = None,
    ) -> None:
        """Answer ``method`` requests whose URL path matches ``pattern`` (``re.search``).

        ``responder`` is a callable ``(request, match) -> FakeResponse``, a
        fixed :class:`FakeResponse`, or JSON data sent with status 200.
        ``host`` (a regex) restricts the route to one host.
        """
        if isinstance(responder, FakeResponse):
            fixed = responder
            responder = lambda _req, _m: fixed  # noqa: E731
        elif not callable(responder):
            data = responder
            responder = lambda _req, _m: FakeResponse(200, data)  # noqa: E731
        self._routes.insert(0, _Route(method, pattern, responder, host))

    def _answer(self, request: RecordedRequest) -> FakeResponse:
        with self._lock:
            self.requests.append(request)
        for route in self._routes:
            match = route.match(request)
            if match is not None:
                return route.responder(request, match)
        self.unrouted.append(request)
        return FakeResponse(
            404,
            {"error": {"code": "NotFound", "message": f"no fake route for {request.method} "
                                                     f"{request.path}"}},
        )

    def find(self, method: str, pattern: str) -> list[RecordedRequest]:
        """Recorded requests with this method whose path matches ``pattern``."""
        regex = re.compile(pattern)
        return [r for r in self.requests if r.method == method.upper() and regex.search(r.path)]

    def one(self, method: str, pattern: str) -> RecordedRequest:
        """The last matching request; fails listing what was sent if none matched."""
        found = self.find(method, pattern)
        if not found:
            sent = "\n  ".join(f"{r.method} {r.path}" for r in self.requests)
            raise AssertionError(f"no {method} request matching {pattern!r}; sent:\n  {sent}")
        return found[-1]

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()
            self.unrouted.clear()


class FakeCredential:
    """A ``TokenCredential`` handing out fixed tokens (no identity service).

    Tokens are unsigned JWTs whose ``aud`` is the scope asked for, as Entra
    ID's are: azure-ai-ml decodes the ``https://ml.azure.com`` token before
    submitting a pipeline job and refuses one for another audience. The
    ``label`` travels in the ``name`` claim, so tests can tell credentials
    apart; :meth:`token_for` gives the exact token sent for a scope.
    """

    tenant_id = "22222222-2222-2222-2222-222222222222"

    def __init__(self, label: str = "fake-aad-token") -> None:
        self.label = label
        self.scopes: list[tuple[str, ...]] = []

    def token_for(self, *scopes: str) -> str:
        """The token this credential returns for ``scopes`` (stable across calls)."""
        audience = scopes[0].removesuffix("/.default") if scopes else ""
        claims = {"aud": audience, "tid": self.tenant_id, "name": self.label,
                  "oid": "99999999-9999-9999-9999-999999999999", "exp": 4102444800}
        parts = [{"alg": "none", "typ": "JWT"}, claims]
        return ".".join(_b64url(json.dumps(part).encode()) for part in parts) + "."

    @staticmethod
    def claims(token: str) -> dict[str, Any]:
        """The claims of a token this class made (``aud``, ``name``...)."""
        payload = token.removeprefix("Bearer ").split(".")[1]
        return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))

    def get_token(self, *scopes: str, **_: Any) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken(self.token_for(*scopes), int(time.time()) + 3600)

    def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:
        self.scopes.append(scopes)
        return AccessTokenInfo(self.token_for(*scopes), int(time.time()) + 3600)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@contextlib.contextmanager
def intercept_storage(transport: FakeAzureTransport) -> Iterator[None]:
    """Send azure-storage-blob traffic built without a ``transport=`` to ``transport``.

    azure-ai-ml creates ``BlobServiceClient`` itself for uploads and
    downloads and gives it no transport, so azure-storage-blob falls back to
    a new ``RequestsTransport``; within this block that fallback is ours.
    """
    from azure.storage.blob._shared import base_client

    original = base_client.RequestsTransport
    base_client.RequestsTransport = lambda **_: transport  # type: ignore[assignment,misc]
    try:
        yield
    finally:
        base_client.RequestsTransport = original  # type: ignore[misc]
