"""The one error type a scoring request can end in.

Every failure a client can see is a :class:`ScoringError` carrying its HTTP
status, so the app has a single place (``_app``) that turns errors into the
JSON body ``{"message": ..., "request_id": ...}``. Plain functions
(parsing, validation, prediction) raise it too, which keeps them testable
without HTTP.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["ModelFailure", "ScoringError"]


class ScoringError(Exception):
    """A request that cannot be answered with predictions.

    ``status`` is the HTTP status code; ``headers`` are extra response
    headers (e.g. ``WWW-Authenticate`` on 401). ``body`` (with ``media_type``),
    when set, is the response body as a scoring script's server answered it.
    The message is shown to the client as is, so it names the field, what was
    given and the fix, and never contains secrets.
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        media_type: str = "application/json",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers: dict[str, str] = dict(headers or {})
        #: The answer as another server gave it (a scoring script's), sent back unchanged.
        self.body = body
        self.media_type = media_type


class ModelFailure(ScoringError):
    """The model itself raised: 500, flagged like Azure's inference server.

    The client only sees a generic message plus the request id; the traceback
    goes to the deployment log, where the request id finds it.
    """

    def __init__(self, cause: BaseException) -> None:
        super().__init__(
            500,
            "An unexpected error occurred in the model while scoring. "
            "Check the deployment logs (online-deployment get-logs) for this request id.",
            headers={"x-ms-run-function-failed": "True"},
        )
        self.cause = cause
