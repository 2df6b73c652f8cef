"""Blob containers in memory, for azure-ai-ml's uploads and downloads."""

from __future__ import annotations

import re

from automl_local.backends.azure.testing._transport import (
    FakeAzureTransport,
    FakeResponse,
    RecordedRequest,
)

__all__ = ["FakeBlobStorage"]

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
