"""The Logs Ingestion API of the estate's data collection rule.

``POST /dataCollectionRules/{immutableId}/streams/{stream}?api-version=2023-01-01`` with a bearer
token for ``https://monitor.azure.com``, a JSON array body (azure-monitor-ingestion 1.1.0 sends
it gzip-compressed with ``Content-Encoding: gzip``, chunked by the SDK to at most 1 MiB of
uncompressed JSON). Success is 204 with an empty body; accepted rows are kept per stream.

Errors, with the codes and messages seen from the real service where known:

* 413 ``ContentLengthLimitExceeded``: "Maximum allowed content length: 1048576 bytes (1 MB).
  Provided content length: N bytes." (checked on the body as sent and after gunzip).
* 404 ``NotFound``: "Data collection rule with immutable Id 'x' not found."
* 401 ``InvalidAudience`` for a token minted for another resource; 401 ``InvalidToken``
  otherwise [I: code name not confirmed].
* 400 ``InvalidStream`` / ``InvalidPayload`` / ``InvalidContentEncoding`` /
  ``InvalidApiVersion`` [I: shapes inferred, codes not confirmed].
* 403 ``OperationFailed`` (via a fault): the token's principal cannot publish to the DCR.
* 500 with an empty body for an empty request (the service's observed answer).
"""

from __future__ import annotations

import asyncio
import json
import threading
import zlib
from typing import Any

from sim.estate import Estate
from sim.faults import Endpoint, Fault, FaultRegistry, resolve
from sim.http import SERVER_ERROR_CODES, Reply, Request, Response
from sim.identity import TokenAuthority, TokenError, bearer_token
from sim.stats import Counters

MONITOR_AUDIENCE = "https://monitor.azure.com"
MAX_BYTES = 1024 * 1024
API_VERSIONS = ("2023-01-01", "2021-11-01-preview")


def _error(
    status: int, code: str, message: str, headers: list[tuple[str, str]] | None = None
) -> Response:
    body = json.dumps({"error": {"code": code, "message": message}}, separators=(",", ":"))
    return Response(status, body.encode(), "application/json; charset=utf-8", headers or [])


class IngestionService:
    """Request handler for the Logs Ingestion endpoint; keeps accepted rows in memory."""

    def __init__(
        self, estate: Estate, authority: TokenAuthority, faults: FaultRegistry, counters: Counters
    ) -> None:
        self._estate = estate
        self._authority = authority
        self._faults = faults
        self._counters = counters
        self._rows: dict[str, list[dict[str, Any]]] = {}
        self._calls: dict[str, int] = {}
        self._lock = threading.Lock()

    def accepted(self, stream: str) -> list[dict[str, Any]]:
        """A copy of the rows accepted on ``stream``, in arrival order."""
        with self._lock:
            return list(self._rows.get(stream, []))

    def calls(self, stream: str | None = None) -> int:
        """How many upload requests reached ``stream`` (any stream: None), whatever the answer."""
        with self._lock:
            if stream is None:
                return sum(self._calls.values())
            return self._calls.get(stream, 0)

    def reset(self) -> None:
        """Forget accepted rows and call counts."""
        with self._lock:
            self._rows.clear()
            self._calls.clear()

    async def handle(self, request: Request) -> Response:
        """Answer one upload."""
        stream = ""
        try:
            stream, rule_id = self._target(request)
            response = await self._process(request, stream, rule_id)
        except Reply as reply:
            response = reply.response
        self._counters.add(Endpoint.INGESTION, stream, response.status)
        return response

    async def _process(self, request: Request, stream: str, rule_id: str) -> Response:
        self._check(request)
        await _sleep_ms(self._estate.latency.ingestion_ms)
        fault = self._faults.take(Endpoint.INGESTION, stream=stream)
        if fault is not None:
            outcome = await resolve(fault, lambda f: self._fault(f, rule_id))
            if outcome is not None:
                return outcome
        rows = self._rows_of(request, rule_id, stream)
        with self._lock:
            self._rows.setdefault(stream, []).extend(rows)
        return Response(204)

    def _target(self, request: Request) -> tuple[str, str]:
        parts = [p for p in request.path.split("/") if p]
        if (
            len(parts) != 4
            or parts[0].lower() != "datacollectionrules"
            or parts[2].lower() != "streams"
        ):
            raise Reply(
                _error(404, "NotFound", f"The requested resource '{request.path}' was not found.")
            )
        with self._lock:
            self._calls[parts[3]] = self._calls.get(parts[3], 0) + 1
        return parts[3], parts[1]

    def _check(self, request: Request) -> None:
        token = bearer_token(request)
        if token is None:
            raise Reply(_error(401, "InvalidToken", "The authentication token is missing."))
        try:
            self._authority.verify(token, (MONITOR_AUDIENCE,))
        except TokenError as exc:
            if exc.reason == "audience":
                raise Reply(
                    _error(401, "InvalidAudience", "Invalid authorization token audience.")
                ) from None
            raise Reply(
                _error(401, "InvalidToken", f"The authentication token is invalid ({exc.reason}).")
            ) from None
        if request.method != "POST":
            raise Reply(
                _error(405, "MethodNotAllowed", f"The method '{request.method}' is not allowed.")
            )
        api_version = request.param("api-version")
        if api_version not in API_VERSIONS:
            raise Reply(
                _error(
                    400, "InvalidApiVersion", f"The api-version '{api_version}' is not supported."
                )
            )

    def _rows_of(self, request: Request, rule_id: str, stream: str) -> list[dict[str, Any]]:
        if rule_id.lower() != self._estate.dcr_immutable_id.lower():
            raise Reply(
                _error(
                    404,
                    "NotFound",
                    f"Data collection rule with immutable Id '{rule_id}' not found.",
                )
            )
        if stream not in self._estate.dcr_streams:
            raise Reply(
                _error(
                    400,
                    "InvalidStream",
                    f"Stream '{stream}' is not declared in data collection rule with immutable Id '{rule_id}'.",
                )
            )
        body = request.body
        if len(body) > MAX_BYTES:
            raise Reply(self._too_large(len(body)))
        if not body:
            raise Reply(Response(500, b"", None))
        encoding = request.headers.get("content-encoding", "").lower()
        if encoding == "gzip" or body[:2] == b"\x1f\x8b":
            try:
                body = _gunzip(body, MAX_BYTES + 1)
            except (OSError, EOFError, zlib.error):
                raise Reply(
                    _error(400, "InvalidContentEncoding", "The request body is not valid gzip.")
                ) from None
            if len(body) > MAX_BYTES:
                raise Reply(self._too_large(len(body)))
        elif encoding not in ("", "identity"):
            raise Reply(
                _error(
                    400,
                    "InvalidContentEncoding",
                    f"The content encoding '{encoding}' is not supported.",
                )
            )
        try:
            rows = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise Reply(
                _error(400, "InvalidPayload", "The request body is not valid JSON.")
            ) from None
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise Reply(
                _error(400, "InvalidPayload", "The request body must be a JSON array of objects.")
            )
        return rows

    def _fault(self, fault: Fault, rule_id: str) -> Response:
        headers = fault.retry_after_headers()
        if fault.status == 403:
            return _error(
                403,
                "OperationFailed",
                fault.message
                or (
                    "The authentication token provided does not have access to ingest data for the data "
                    f"collection rule with immutable Id '{rule_id}'."
                ),
                headers,
            )
        if fault.status == 429:
            return _error(
                429,
                "TooManyRequests",
                fault.message
                or (
                    "Too many requests. The data collection rule exceeded its request rate limit; retry "
                    "after the time given in Retry-After."
                ),
                headers,
            )
        if fault.status == 413:
            return self._too_large(MAX_BYTES + 1)
        return _error(
            fault.status,
            SERVER_ERROR_CODES.get(fault.status, "OperationFailed"),
            fault.message or "The service is temporarily unavailable (simulated).",
            headers,
        )

    @staticmethod
    def _too_large(size: int) -> Response:
        return _error(
            413,
            "ContentLengthLimitExceeded",
            f"Maximum allowed content length: {MAX_BYTES} bytes (1 MB). Provided content length: {size} bytes.",
        )


def _gunzip(data: bytes, limit: int) -> bytes:
    """Decompress at most ``limit`` bytes (a zip bomb stops at the limit)."""
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = decompressor.decompress(data, limit)
    if not decompressor.eof and len(out) < limit:
        raise EOFError("truncated gzip stream")
    return out


async def _sleep_ms(ms: float) -> None:
    if ms > 0:
        await asyncio.sleep(ms / 1000.0)
