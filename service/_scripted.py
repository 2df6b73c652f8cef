"""A worker's side of a scripted deployment: requests forwarded to its ``azmlinfsrv`` child.

The endpoint's front (``_app``) still does everything an endpoint does: key
auth, traffic split and the ``azureml-model-deployment`` header, 429 beyond
the in-flight limit, 413, mirror traffic, request logs, metrics. Only the
scoring itself is forwarded, over loopback with an async ``httpx`` client
(keep-alive where the child allows it), to the child that runs the user's
``init()``/``run()`` (see ``_script_children``). The child's answer goes back
as it is: status, body (a ``run()`` exception is Azure's own 500 body) and
Azure's ``x-ms-run-function-failed`` / ``x-ms-run-fn-exec-ms`` headers.

Before a body is forwarded it is checked against the script's own document
(``_script_contract``): what the document forbids is a 400 here, so the
script runs only on bodies its document allows. ``/swagger.json`` is that
document made true for this endpoint (``true_document``).

Failures of the child itself: no answer within ``request_timeout_ms`` is a
TimeoutError, answered 408 by ``_app`` as for any deployment; a child that
is gone is a 503 naming the deployment and pointing at its logs, and the
deployment stays marked down for this worker, so later requests fail at
once instead of hanging.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

import httpx
from automl_local.service._errors import ScoringError
from automl_local.service._predict import ScoreOutcome
from automl_local.service._script_contract import InputContract, true_document

__all__ = ["ScriptServer"]

HOST = "127.0.0.1"
_PASSED_BACK = ("x-ms-run-function-failed", "x-ms-run-fn-exec-ms")


class ScriptServer:
    """The child of one scripted deployment, as one worker reaches it."""

    def __init__(self, deployment: str, port: int, pid: int) -> None:
        self.deployment = deployment
        self.port = port
        self.pid = pid
        self.base = f"http://{HOST}:{port}"
        self.gone = ""  # why the child is known to be unreachable ('' while it answers)
        self._client: httpx.AsyncClient | None = None
        self._documents: dict[str, bytes] = {}  # version -> the true document, as served
        self._contract: InputContract | None = None
        self._contract_read = False  # the child's document was read (it may have no contract)

    def _http(self) -> httpx.AsyncClient:
        # Created on first use, inside the worker's event loop, and kept for keep-alive.
        if self._client is None:
            self._client = httpx.AsyncClient(
                base_url=self.base, trust_env=False,
                limits=httpx.Limits(max_connections=64, max_keepalive_connections=16),
            )  # fmt: skip
        return self._client

    def _down(self, exc: Exception) -> ScoringError:
        import psutil

        try:
            alive = psutil.Process(self.pid).status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            alive = False
        if not alive:
            self.gone = f"its azmlinfsrv process (pid {self.pid}) has exited"
        reason = self.gone or f"its azmlinfsrv on port {self.port} did not answer ({exc})"
        return ScoringError(503, self.unavailable(reason))

    def unavailable(self, reason: str | None = None) -> str:
        return (
            f"Deployment '{self.deployment}' cannot score: {reason or self.gone}. See its logs "
            "(online-deployment get-logs) and restart the endpoint or update the deployment."
        )

    async def score(self, body: bytes, headers: Mapping[str, str], timeout_ms: int,
                    request_id: str) -> ScoreOutcome:
        """POST the body to the child's ``/score``; its answer, or a ScoringError carrying it."""
        if self.gone:
            raise ScoringError(503, self.unavailable())
        content_type = headers.get("content-type", "application/json")
        contract = await self.contract()
        if contract is not None:
            contract.check(body, content_type)
        forward = {"content-type": content_type,
                   "x-ms-request-id": request_id, "x-request-id": request_id}  # fmt: skip
        if headers.get("x-ms-client-request-id"):
            forward["x-ms-client-request-id"] = headers["x-ms-client-request-id"]
        started = time.perf_counter()
        try:
            response = await self._http().post(
                "/score", content=body, headers=forward, timeout=timeout_ms / 1000.0
            )
        except httpx.TimeoutException:
            raise TimeoutError(f"no answer within {timeout_ms} ms") from None  # 408 in _app
        except httpx.TransportError as exc:
            raise self._down(exc) from None
        elapsed = (time.perf_counter() - started) * 1000.0
        extra = {k: response.headers[k] for k in _PASSED_BACK if k in response.headers}
        if response.status_code >= 400:
            raise ScoringError(
                response.status_code, _message(response.content), headers=extra,
                body=response.content,
                media_type=response.headers.get("content-type", "application/json"),
            )  # fmt: skip
        try:
            exec_ms = float(extra.get("x-ms-run-fn-exec-ms", elapsed))
        except ValueError:
            exec_ms = elapsed
        return ScoreOutcome(body=response.content, request=None, payload=None, response=None,
                            exec_ms=exec_ms)  # fmt: skip

    async def swagger(self, version: str) -> tuple[int, bytes]:
        """The child's ``/swagger.json`` (from the script's inference-schema), made true.

        Read once per version (the script's decorators do not change while its
        server runs); an error answer of the child is passed on, unread.
        """
        if version in self._documents:
            return 200, self._documents[version]
        if self.gone:
            raise ScoringError(503, self.unavailable())
        try:
            response = await self._http().get(
                "/swagger.json", params={"version": version}, timeout=10.0
            )
        except httpx.TransportError as exc:
            raise self._down(exc) from None
        try:
            document = response.json() if response.status_code == 200 else None
        except ValueError:
            document = None
        if not isinstance(document, dict):
            return response.status_code, response.content
        self._documents[version] = json.dumps(true_document(document)).encode()
        return 200, self._documents[version]

    async def contract(self) -> InputContract | None:
        """What ``/score`` bodies must be: the ``ServiceInput`` of the OpenAPI 3 document."""
        if not self._contract_read:
            status, body = await self.swagger("3")
            if status == 200:
                self._contract = InputContract.from_document(json.loads(body))
            self._contract_read = True  # a script without a v3 document has no contract
        return self._contract

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()


def _message(body: bytes) -> str:
    """The ``message`` of the child's error body (for the request log), else its text."""
    try:
        data: Any = json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace")[:500]
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        return data["message"]
    return body.decode("utf-8", "replace")[:500]
