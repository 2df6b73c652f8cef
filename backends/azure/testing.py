"""An in-memory Azure for tests: a fake azure-core transport and credential.

azure-ai-ml talks to Azure only through azure-core pipelines, so a transport
that answers requests from memory lets the *real* ``MLClient`` code run
offline: entity serialisation, URL building, LRO polling, blob uploads and
``invoke`` all happen exactly as against Azure, and every request is recorded
for assertions. Nothing here is used outside tests; it is shipped so any
feature's tests (and users' own tests) can exercise ``--backend azure``.

    transport = FakeAzureTransport()
    transport.add("GET", r"/onlineEndpoints/(?P<name>[^/?]+)$", lambda req, m: ...)
    client = AzureClient(subscription_id="s", resource_group_name="rg",
                         workspace_name="ws", credential=FakeCredential(),
                         transport=transport)

Uploads and downloads use azure-storage-blob, which azure-ai-ml builds
without passing our transport along; :func:`intercept_storage` routes those
clients to the same fake transport for the duration of a ``with`` block.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
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

    def send(self, request: requests.PreparedRequest, **_: Any) -> requests.Response:
        body = request.body or b""
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
    """A ``TokenCredential`` handing out a fixed token (no identity service)."""

    def __init__(self, token: str = "fake-aad-token") -> None:
        self.token = token
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **_: Any) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken(self.token, int(time.time()) + 3600)

    def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:
        self.scopes.append(scopes)
        return AccessTokenInfo(self.token, int(time.time()) + 3600)


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


_BLOB_HOST = r"[a-z0-9]+\.blob\.core\.windows\.net"


class FakeBlobStorage:
    """Blob containers in memory, served in the Blob service's REST shapes.

    Enough of the API for azure-ai-ml's uploads (HEAD, single-shot PUT,
    metadata) and downloads (list, ranged GET) of small test artifacts.
    """

    def __init__(self) -> None:
        # (account, container, blob) -> (content, metadata)
        self.blobs: dict[tuple[str, str, str], tuple[bytes, dict[str, str]]] = {}

    def install(self, transport: FakeAzureTransport) -> None:
        transport.add("*", r"^/(?P<container>[^/]+)/(?P<blob>.+)$", self._blob, host=_BLOB_HOST)
        transport.add("GET", r"^/(?P<container>[^/]+)/?$", self._container, host=_BLOB_HOST)

    def put(self, account: str, container: str, blob: str, content: bytes) -> None:
        """Seed a blob (as a job's output would be) for a download test."""
        self.blobs[(account, container, blob)] = (content, {})

    def names(self, container: str | None = None) -> list[str]:
        return sorted(b for (_, c, b) in self.blobs if container in (None, c))

    @staticmethod
    def _account(request: RecordedRequest) -> str:
        return request.host.split(".", 1)[0]

    def _headers(self, content: bytes, metadata: dict[str, str]) -> dict[str, str]:
        headers = {
            "ETag": f'"0x{abs(hash(content)) % (1 << 48):012X}"',
            "Last-Modified": "Mon, 02 Nov 2026 10:00:00 GMT",
            "x-ms-blob-type": "BlockBlob",
            "Content-Type": "application/octet-stream",
            "x-ms-creation-time": "Mon, 02 Nov 2026 10:00:00 GMT",
        }
        headers.update({f"x-ms-meta-{k}": v for k, v in metadata.items()})
        return headers

    def _blob(self, request: RecordedRequest, match: re.Match[str]) -> FakeResponse:
        from urllib.parse import unquote

        key = (self._account(request), match["container"], unquote(match["blob"]))
        comp = request.query.get("comp")
        if request.method == "PUT" and comp in (None, "metadata"):
            metadata = {
                k[len("x-ms-meta-"):]: v
                for k, v in request.headers.items() if k.lower().startswith("x-ms-meta-")
            }
            if comp == "metadata":
                if key not in self.blobs:
                    return self._not_found()
                self.blobs[key] = (self.blobs[key][0], metadata)
                return FakeResponse(200, None, self._headers(self.blobs[key][0], metadata))
            self.blobs[key] = (request.body, metadata)
            headers = self._headers(request.body, metadata)
            headers["x-ms-request-server-encrypted"] = "true"
            return FakeResponse(201, None, headers)
        if key not in self.blobs:
            return self._not_found()
        content, metadata = self.blobs[key]
        if request.method == "HEAD":
            headers = self._headers(content, metadata)
            return FakeResponse(200, None, {**headers, "Content-Length": str(len(content))})
        if request.method == "DELETE":
            del self.blobs[key]
            return FakeResponse(202)
        if request.method == "GET":
            headers = self._headers(content, metadata)
            ranged = request.headers.get("x-ms-range") or request.headers.get("Range")
            if ranged:
                start, _, end = ranged.split("=", 1)[1].partition("-")
                first, last = int(start), min(int(end or len(content) - 1), len(content) - 1)
                part = content[first:last + 1]
                headers["Content-Range"] = f"bytes {first}-{last}/{len(content)}"
                return FakeResponse(206, part, headers)
            return FakeResponse(200, content, headers)
        return FakeResponse(400, {"error": f"fake blob storage: {request.method} not served"})

    def _container(self, request: RecordedRequest, match: re.Match[str]) -> FakeResponse:
        from xml.sax.saxutils import escape

        if request.query.get("comp") != "list":
            return FakeResponse(200, None, {"ETag": '"0x1"'})
        account, container = self._account(request), match["container"]
        prefix = request.query.get("prefix", "")
        items = [
            (name, content) for (acc, cont, name), (content, _) in sorted(self.blobs.items())
            if acc == account and cont == container and name.startswith(prefix)
        ]
        blobs = "".join(
            f"<Blob><Name>{escape(name)}</Name><Properties>"
            f"<Last-Modified>Mon, 02 Nov 2026 10:00:00 GMT</Last-Modified>"
            f"<Etag>0x1</Etag><Content-Length>{len(content)}</Content-Length>"
            f"<Content-Type>application/octet-stream</Content-Type>"
            f"<BlobType>BlockBlob</BlobType></Properties><Metadata /></Blob>"
            for name, content in items
        )
        xml = (
            '<?xml version="1.0" encoding="utf-8"?>'
            f'<EnumerationResults ServiceEndpoint="https://{account}.blob.core.windows.net/" '
            f'ContainerName="{escape(container)}"><Prefix>{escape(prefix)}</Prefix>'
            f"<Blobs>{blobs}</Blobs><NextMarker /></EnumerationResults>"
        )
        return FakeResponse(200, xml.encode(), {"Content-Type": "application/xml"})

    @staticmethod
    def _not_found() -> FakeResponse:
        body = (
            b'<?xml version="1.0" encoding="utf-8"?><Error><Code>BlobNotFound</Code>'
            b"<Message>The specified blob does not exist.</Message></Error>"
        )
        return FakeResponse(
            404, body, {"x-ms-error-code": "BlobNotFound", "Content-Type": "application/xml"}
        )


_ARM_HOST = r"management\.azure\.com"
_WS = (
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)"
    r"/providers/Microsoft\.MachineLearningServices/workspaces/(?P<ws>[^/]+)"
)
# ARM collections whose items the fake keeps: URL segment -> fixture file stem.
_COLLECTIONS = {
    "jobs": "job",
    "data": "data_version",
    "models": "model_version",
    "onlineEndpoints": "online_endpoint",
    "deployments": "online_deployment",
    "schedules": "schedule",
    "codes": "code_version",
    "environments": "environment_version",
}
_LRO_COLLECTIONS = {"onlineEndpoints", "deployments", "schedules"}


def _deep_merge(base: Any, overlay: Any) -> Any:
    if isinstance(base, dict) and isinstance(overlay, dict):
        merged = dict(base)
        for key, value in overlay.items():
            merged[key] = _deep_merge(base.get(key), value)
        return merged
    return overlay


def _fill(template: Any, values: dict[str, str]) -> Any:
    """Replace ``${key}`` in every string of a JSON template."""
    if isinstance(template, dict):
        return {_fill(k, values): _fill(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [_fill(v, values) for v in template]
    if isinstance(template, str):
        return re.sub(r"\$\{(\w+)\}", lambda m: values.get(m[1], m[0]), template)
    return template


class FakeAzureML:
    """One Azure ML workspace behind a :class:`FakeAzureTransport`.

    It keeps what clients PUT (jobs, data and model versions, endpoints,
    deployments, schedules) and answers GET / list / DELETE from that store,
    with the fields Azure adds server-side (``provisioningState``, ``status``,
    ``scoringUri``, ...) taken from JSON fixtures in ``fixtures_dir``. The
    other calls of the AutoML flow (workspace, discovery, datastores and
    secrets, run history, model URIs, MLflow, endpoint keys, logs, scoring)
    are answered from fixtures too. Fixture strings may use ``${name}``,
    ``${sub}``, ``${rg}``, ``${ws}``, ``${endpoint}``, ``${location}``.
    """

    location = "eastus"

    def __init__(self, fixtures_dir: str | Path, transport: FakeAzureTransport | None = None,
                 *, subscription_id: str = "00000000-0000-0000-0000-000000000000",
                 resource_group: str = "rg-automl", workspace: str = "ws-automl") -> None:
        self.fixtures = Path(fixtures_dir)
        self.transport = transport or FakeAzureTransport()
        self.storage = FakeBlobStorage()
        self.sub, self.rg, self.ws = subscription_id, resource_group, workspace
        self.resources: dict[str, dict[str, Any]] = {}  # ARM path (lower case) -> body
        self.keys: dict[str, dict[str, str]] = {}  # endpoint -> {"primaryKey", "secondaryKey"}
        self.score_response: Any = self.fixture("score_response")
        self.best_model_dir: Path | None = None
        self._install()

    # -- fixtures -----------------------------------------------------------
    def values(self, **extra: str) -> dict[str, str]:
        return {"sub": self.sub, "rg": self.rg, "ws": self.ws, "location": self.location,
                **extra}

    def fixture(self, stem: str, **extra: str) -> Any:
        path = self.fixtures / f"{stem}.json"
        return _fill(json.loads(path.read_text()), self.values(**extra))

    @property
    def workspace_path(self) -> str:
        return (f"/subscriptions/{self.sub}/resourceGroups/{self.rg}/providers/"
                f"Microsoft.MachineLearningServices/workspaces/{self.ws}")

    # -- routes -------------------------------------------------------------
    def _install(self) -> None:
        t = self.transport  # routes added later take precedence
        t.add("*", _WS + r"/(?P<kind>[A-Za-z]+)(?:/(?P<name>[^/]+)"
              r"(?:/versions(?:/(?P<version>[^/]+))?)?)?$", self._resource, host=_ARM_HOST)
        t.add("*", _WS + r"/onlineEndpoints/(?P<endpoint>[^/]+)/(?P<kind>deployments)"
              r"(?:/(?P<name>[^/]+))?$", self._resource, host=_ARM_HOST)
        self.storage.install(t)
        t.add("GET", r"/MLTable\.schema\.json$", self.fixture("mltable_schema"),
              host=r"azuremlschemas\w*\.azureedge\.net")
        t.add("GET", _WS + r"$", lambda r, m: FakeResponse(200, self.fixture("workspace")),
              host=_ARM_HOST)
        t.add("GET", r"^/discovery$", lambda r, m: FakeResponse(200, self.fixture("discovery")),
              host=r"[a-z0-9]+\.api\.azureml\.ms")
        t.add("GET", _WS + r"/datastores/(?P<ds>[^/]+)$", self._datastore, host=_ARM_HOST)
        t.add("POST", _WS + r"/datastores/(?P<ds>[^/]+)/listSecrets$",
              lambda r, m: FakeResponse(200, self.fixture("datastore_secrets")), host=_ARM_HOST)
        t.add("POST", _WS + r"/onlineEndpoints/(?P<endpoint>[^/]+)/listKeys$", self._list_keys,
              host=_ARM_HOST)
        t.add("POST", _WS + r"/onlineEndpoints/(?P<endpoint>[^/]+)/regenerateKeys$",
              self._regenerate_keys, host=_ARM_HOST)
        t.add("POST", _WS + r"/onlineEndpoints/(?P<endpoint>[^/]+)/deployments/(?P<name>[^/]+)"
              r"/getLogs$", self._get_logs, host=_ARM_HOST)
        t.add("GET", r"/mfeOperationsStatus/(?P<op>[^/]+)$",
              lambda r, m: FakeResponse(200, self.fixture("async_operation", op=m["op"])),
              host=_ARM_HOST)
        t.add("GET", r"/mfeOperationResults/(?P<op>[^/]+)$", FakeResponse(200, None),
              host=_ARM_HOST)
        t.add("GET", r"/history/v1\.0" + _WS[1:] + r"/runs/(?P<run>[^/]+)/details$",
              lambda r, m: FakeResponse(200, self.fixture("run_details", name=m["run"])))
        t.add("POST", r"/history/v1\.0" + _WS[1:] + r"/rundata$",
              lambda r, m: FakeResponse(200, self.fixture("run_data", name=r.json()["runId"])))
        t.add("POST", r"/modelregistry/v1\.0" + _WS[1:] + r"/models/batchGetResolvedUris$",
              self._model_uris)
        t.add("GET", r"/mlflow/v1\.0" + _WS[1:] + r"/api/2\.0/mlflow/runs/get$",
              lambda r, m: FakeResponse(200, self.fixture("mlflow_run", name=r.query["run_id"])))
        t.add("POST", r"^/score$", self._score,
              host=r"[^.]+\.[a-z0-9]+\.inference\.ml\.azure\.com")

    def _datastore(self, request: RecordedRequest, match: re.Match[str]) -> FakeResponse:
        return FakeResponse(200, self.fixture(f"datastore_{match['ds']}"))

    def _async_headers(self, op: str) -> dict[str, str]:
        base = (f"https://management.azure.com/subscriptions/{self.sub}/providers/"
                f"Microsoft.MachineLearningServices/locations/{self.location}")
        version = "api-version=2022-02-01-preview"
        return {
            "Azure-AsyncOperation": f"{base}/mfeOperationsStatus/{op}?{version}",
            "Location": f"{base}/mfeOperationResults/{op}?{version}",
            "Retry-After": "0",
        }

    def _resource(self, request: RecordedRequest, match: re.Match[str]) -> FakeResponse:
        groups = match.groupdict()
        kind, name, version = groups["kind"], groups["name"], groups.get("version")
        if kind not in _COLLECTIONS:
            return FakeResponse(404, {"error": {"code": "NotFound",
                                                "message": f"fake Azure ML has no {kind!r}"}})
        key = request.path.lower().rstrip("/")
        if name is None or (version is None and key.endswith("/versions")):
            return self._list(request, key)
        if request.method == "PUT":
            return self._put(request, key, kind, name, version, groups.get("endpoint") or "")
        if request.method == "GET":
            if key not in self.resources:
                return self._not_found(kind, name)
            return FakeResponse(200, self.resources[key])
        if request.method == "DELETE":
            if self.resources.pop(key, None) is None:
                return FakeResponse(204)
            for path in [p for p in self.resources if p.startswith(key + "/")]:
                del self.resources[path]
            return FakeResponse(202, None, self._async_headers(f"delete-{kind}-{name}"))
        return FakeResponse(405, {"error": {"code": "MethodNotAllowed"}})

    def _list(self, request: RecordedRequest, key: str) -> FakeResponse:
        if request.method != "GET":
            return FakeResponse(405, {"error": {"code": "MethodNotAllowed"}})
        prefix = key + "/"
        items = [body for path, body in self.resources.items()
                 if path.startswith(prefix) and "/" not in path[len(prefix):]]
        return FakeResponse(200, {"value": items})

    def _put(self, request: RecordedRequest, key: str, kind: str, name: str,
             version: str | None, endpoint: str) -> FakeResponse:
        existed = key in self.resources
        server = self.fixture(_COLLECTIONS[kind], name=name, endpoint=endpoint,
                              version=version or "")
        body = _deep_merge(request.json() or {}, server.get("created", {}))
        body.update(id=request.path, name=version or name)
        body.setdefault("type", f"Microsoft.MachineLearningServices/workspaces/{kind}")
        self.resources[key] = _deep_merge(body, server.get("stored", {}))
        if kind == "jobs":
            self._train(name)
        if kind == "onlineEndpoints" and name not in self.keys:
            self.keys[name] = self.fixture("endpoint_keys", endpoint=name)
        status = 200 if existed else 201
        if kind in _LRO_COLLECTIONS:
            return FakeResponse(status, body, self._async_headers(f"put-{kind}-{name}"))
        return FakeResponse(status, body)

    def best_child(self, job_name: str) -> str:
        """The best trial the fixtures name for ``job_name`` (``<job>_3``)."""
        tags = self.fixture("mlflow_run", name=job_name)["run"]["data"]["tags"]
        return next(t["value"] for t in tags if t["key"] == "automl_best_child_run_id")

    def artifact_store(self) -> tuple[str, str]:
        """(storage account, container) of ``workspaceartifactstore``."""
        props = self.fixture("datastore_workspaceartifactstore")["properties"]
        return props["accountName"], props["containerName"]

    def _train(self, job_name: str) -> None:
        """What AutoML leaves behind: the best trial's ``outputs/mlflow-model/`` files."""
        if self.best_model_dir is None:
            return
        account, container = self.artifact_store()
        prefix = f"ExperimentRun/dcid.{self.best_child(job_name)}/outputs/mlflow-model"
        for file in sorted(self.best_model_dir.rglob("*")):
            if file.is_file():
                rel = file.relative_to(self.best_model_dir).as_posix()
                self.storage.put(account, container, f"{prefix}/{rel}", file.read_bytes())

    @staticmethod
    def _not_found(kind: str, name: str | None) -> FakeResponse:
        return FakeResponse(404, {"error": {
            "code": "UserError",
            "message": f"Could not find {kind} '{name}'.",
            "innerError": {"code": "NotFound"},
        }})

    def _endpoint(self, name: str) -> dict[str, Any] | None:
        return self.resources.get(f"{self.workspace_path}/onlineEndpoints/{name}".lower())

    def _list_keys(self, request: RecordedRequest, match: re.Match[str]) -> FakeResponse:
        if self._endpoint(match["endpoint"]) is None:
            return self._not_found("onlineEndpoints", match["endpoint"])
        return FakeResponse(200, self.keys[match["endpoint"]])

    def _regenerate_keys(self, request: RecordedRequest, match: re.Match[str]) -> FakeResponse:
        name = match["endpoint"]
        if self._endpoint(name) is None:
            return self._not_found("onlineEndpoints", name)
        which = "primaryKey" if request.json()["keyType"] == "Primary" else "secondaryKey"
        count = sum(1 for r in self.transport.find("POST", r"/regenerateKeys$"))
        self.keys[name][which] = f"regenerated-{which}-{count}"
        return FakeResponse(202, None, self._async_headers(f"regen-{name}-{count}"))

    def _get_logs(self, request: RecordedRequest, match: re.Match[str]) -> FakeResponse:
        return FakeResponse(200, self.fixture("deployment_logs", endpoint=match["endpoint"],
                                              name=match["name"]))

    def _model_uris(self, request: RecordedRequest, match: re.Match[str]) -> FakeResponse:
        answer = {}
        for asset_id in request.json()["values"]:
            found = re.search(r"/models/azureml_(?P<job>.+)_output_mlflow_log_model_", asset_id)
            answer[asset_id] = self.fixture("model_uris", job=found["job"] if found else "")
        return FakeResponse(200, {"values": answer})

    def _score(self, request: RecordedRequest, match: re.Match[str]) -> FakeResponse:
        endpoint = request.host.split(".", 1)[0]
        keys = self.keys.get(endpoint, {})
        auth = request.headers.get("Authorization", "")
        if auth not in (f"Bearer {keys.get('primaryKey')}", f"Bearer {keys.get('secondaryKey')}"):
            return FakeResponse(401, {"message": "Unauthorized"})
        return FakeResponse(200, self.score_response)
