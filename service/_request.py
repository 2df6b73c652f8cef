"""Reading a scoring request: its content type and its body, within the endpoint's size limit.

Split from ``_app``: both are checked before any model or script sees the
request, so a wrong content type is a 415 and an oversize body a 413 the
client can read (the body is refused as soon as it is known to be too big).
"""

from __future__ import annotations

from automl_local.service._errors import ScoringError
from starlette.requests import ClientDisconnect, Request

__all__ = ["check_content_type", "read_body"]

_JSON = "application/json"


def check_content_type(value: str | None) -> None:
    media = (value or "").split(";", 1)[0].strip().lower()
    if media != _JSON and not media.endswith("+json"):
        raise ScoringError(
            415,
            f"Expects Content-Type to be application/json, got {value or 'none'!r}. "
            "Send the JSON body with the header 'Content-Type: application/json'.",
        )


def _too_large(limit: int, size: str) -> ScoringError:
    return ScoringError(
        413,
        f"The request body ({size}) is larger than this endpoint's limit of {limit} bytes. "
        "Send fewer rows per request.",
    )


async def read_body(request: Request, declared: str | None, limit: int) -> bytes:
    """The body, refused with 413 as soon as it is known to exceed ``limit``."""
    if declared is not None:
        try:
            declared_size = int(declared)
        except ValueError:
            raise ScoringError(400, f"Invalid Content-Length header {declared!r}.") from None
        if declared_size > limit:
            raise _too_large(limit, f"{declared_size} bytes")
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _too_large(limit, f"more than {limit} bytes")
            chunks.append(chunk)
    except ClientDisconnect:
        raise ScoringError(400, "The client disconnected before sending the whole body.") from None
    return b"".join(chunks)
