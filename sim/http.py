"""A small HTTP/1.1 server on asyncio, shared by every simulated endpoint.

Why not ``http.server``: the benchmarks drive ~1000 configz requests per second with 50 ms of
added latency through 100 API servers on a 2-core box. One event loop per process holds every
listener and every keep-alive connection, waits out the latency with ``asyncio.sleep`` instead
of a parked thread, and parses requests with a few byte splits instead of ``email.parser``.

What it speaks: HTTP/1.1 with persistent connections (``Connection: close`` honoured, HTTP/1.0
closes), ``Content-Length`` and chunked request bodies, ``Expect: 100-continue``, optional TLS
with an optional client certificate. Handlers are ``async def handler(request) -> Response``.
A handler may ask for the connection to be dropped without an answer (``Response.drop``), which
is how faults simulate a reset; to send the body slowly (``Response.trickle``: ``trickle_bytes``
every ``trickle`` seconds after the head), or to send only the first ``truncate`` bytes of a body
whose full length the ``Content-Length`` header announces and then close (a peer that died
mid-body).
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote

log = logging.getLogger(__name__)

MAX_HEAD_BYTES = 64 * 1024
DEFAULT_MAX_BODY = 16 * 1024 * 1024

_REASONS = {
    100: "Continue",
    200: "OK",
    201: "Created",
    202: "Accepted",
    204: "No Content",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    409: "Conflict",
    410: "Gone",
    411: "Length Required",
    413: "Request Entity Too Large",
    415: "Unsupported Media Type",
    429: "Too Many Requests",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


#: The ``error.code`` Azure services (ARM, Logs Ingestion) send for server and gateway failures.
SERVER_ERROR_CODES = {
    500: "InternalServerError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}


def reason_phrase(status: int) -> str:
    """The standard reason phrase of a status code ("Unknown" for unlisted ones)."""
    return _REASONS.get(status, "Unknown")


@dataclass(slots=True)
class Request:
    """One parsed request. Header names are lower-case; ``path`` is percent-decoded."""

    method: str
    target: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    host: str
    scheme: str
    peer_cert: dict[str, Any] | None = None

    def param(self, name: str, default: str | None = None) -> str | None:
        """The first value of query parameter ``name`` (exact name), or ``default``."""
        values = self.query.get(name)
        return values[0] if values else default

    def param_ci(self, name: str) -> str | None:
        """The first value of query parameter ``name``, matched case-insensitively (ARM style)."""
        wanted = name.lower()
        for key, values in self.query.items():
            if key.lower() == wanted and values:
                return values[0]
        return None

    @property
    def base_url(self) -> str:
        """``scheme://host`` as the client addressed this server (from the Host header)."""
        return f"{self.scheme}://{self.host}"


@dataclass(slots=True)
class Response:
    """An answer. ``drop`` closes the connection without writing anything; ``trickle`` and
    ``truncate`` shape how the body goes out (see the module docstring)."""

    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    close: bool = False
    drop: bool = False
    trickle: float = 0.0
    trickle_bytes: int = 16
    truncate: int | None = None


Handler = Callable[[Request], Awaitable[Response]]


class _DateCache:
    """The RFC 7231 Date header value, formatted at most once per second."""

    def __init__(self) -> None:
        self._second = -1
        self._value = ""

    def value(self) -> str:
        now = int(time.time())
        if now != self._second:
            self._second = now
            self._value = email.utils.formatdate(now, usegmt=True)
        return self._value


_DATE = _DateCache()


class _BadRequestError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Reply(Exception):  # noqa: N818 - a control-flow signal carrying an answer, not an error
    """Raised inside a handler to answer with ``response`` at once (refusals, early errors)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


class HttpServer:
    """One listener on 127.0.0.1 serving ``handler``; start and stop inside a running loop."""

    def __init__(
        self,
        name: str,
        handler: Handler,
        *,
        ssl_context: ssl.SSLContext | None = None,
        port: int = 0,
        max_body: int = DEFAULT_MAX_BODY,
        server_header: str | None = None,
    ) -> None:
        self.name = name
        self._handler = handler
        self._ssl = ssl_context
        self._port = port
        self._max_body = max_body
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._stopping = False
        self._server_header = server_header
        self.port = 0

    @property
    def url(self) -> str:
        """``http(s)://127.0.0.1:<port>``."""
        scheme = "https" if self._ssl is not None else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    async def start(self) -> int:
        """Bind and listen; returns the port."""
        self._server = await asyncio.start_server(
            self._accept,
            host="127.0.0.1",
            port=self._port,
            ssl=self._ssl,
            limit=MAX_HEAD_BYTES,
            backlog=1024,
            ssl_handshake_timeout=10.0 if self._ssl is not None else None,
            ssl_shutdown_timeout=2.0 if self._ssl is not None else None,
        )
        sockets = self._server.sockets
        self.port = int(sockets[0].getsockname()[1])
        log.debug("%s listening on %s", self.name, self.url)
        return self.port

    async def stop(self) -> None:
        """Stop listening, drop every open connection and wait for their handlers.

        Connections are aborted, not closed: a TLS close waits for the peer's close_notify,
        which an idle keep-alive client in a pool never sends.
        """
        self._stopping = True
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        for task in list(self._connections):
            task.cancel()
        if self._connections:
            await asyncio.gather(*self._connections, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is None:  # pragma: no cover - always inside a task
            writer.close()
            return
        self._connections.add(task)
        self._writers.add(writer)
        try:
            if self._stopping:
                return
            await self._serve(reader, writer)
        except asyncio.CancelledError:
            pass
        except (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError, TimeoutError) as exc:
            log.debug("%s: connection ended: %s", self.name, exc)
        finally:
            self._connections.discard(task)
            self._writers.discard(writer)
            if self._stopping:
                writer.transport.abort()
            else:
                await _close(writer)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer_cert = writer.get_extra_info("peercert") if self._ssl is not None else None
        scheme = "https" if self._ssl is not None else "http"
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                return  # the client closed between requests
            except asyncio.LimitOverrunError:
                await self._write(
                    writer,
                    Response(
                        431, b"request header too large\n", "text/plain; charset=utf-8", close=True
                    ),
                    "HTTP/1.1",
                )
                return
            try:
                request, version, keep_alive = await self._parse(head, reader, writer, scheme)
            except _BadRequestError as exc:
                await self._write(
                    writer,
                    Response(
                        exc.status, f"{exc}\n".encode(), "text/plain; charset=utf-8", close=True
                    ),
                    "HTTP/1.1",
                )
                return
            request.peer_cert = peer_cert
            try:
                response = await self._handler(request)
            except Reply as reply:
                response = reply.response
            except Exception:  # a simulator bug must show as a 500, not a hung client
                log.exception(
                    "%s: handler failed for %s %s", self.name, request.method, request.path
                )
                response = Response(500, b"simulator handler error\n", "text/plain; charset=utf-8")
            if response.drop:
                return
            if not keep_alive:
                response.close = True
            await self._write(writer, response, version, head_only=request.method == "HEAD")
            if response.close:
                return

    async def _parse(
        self,
        head: bytes,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        scheme: str,
    ) -> tuple[Request, str, bool]:
        try:
            text = head.decode("latin-1")
        except UnicodeDecodeError as exc:  # pragma: no cover - latin-1 decodes any byte
            raise _BadRequestError(400, "bad request head") from exc
        lines = text.split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            raise _BadRequestError(400, "malformed request line")
        method, target, version = parts
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if not line:
                continue
            name, sep, value = line.partition(":")
            if not sep:
                raise _BadRequestError(400, "malformed header line")
            key = name.strip().lower()
            value = value.strip()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        connection = headers.get("connection", "").lower()
        keep_alive = (
            "close" not in connection if version == "HTTP/1.1" else "keep-alive" in connection
        )
        if headers.get("expect", "").lower() == "100-continue":
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        body = await self._body(headers, reader)
        raw_path, _, raw_query = target.partition("?")
        request = Request(
            method=method.upper(),
            target=target,
            path=unquote(raw_path),
            query=parse_qs(raw_query, keep_blank_values=True) if raw_query else {},
            headers=headers,
            body=body,
            host=headers.get("host", f"127.0.0.1:{self.port}"),
            scheme=scheme,
        )
        return request, version, keep_alive

    async def _body(self, headers: dict[str, str], reader: asyncio.StreamReader) -> bytes:
        if "chunked" in headers.get("transfer-encoding", "").lower():
            chunks: list[bytes] = []
            size = 0
            while True:
                line = await reader.readuntil(b"\r\n")
                try:
                    length = int(line.split(b";", 1)[0].strip(), 16)
                except ValueError as exc:
                    raise _BadRequestError(400, "malformed chunk size") from exc
                if length == 0:
                    # trailers end with an empty line
                    while (await reader.readuntil(b"\r\n")) != b"\r\n":
                        pass
                    return b"".join(chunks)
                size += length
                if size > self._max_body:
                    raise _BadRequestError(413, "request body too large")
                chunks.append(await reader.readexactly(length))
                await reader.readexactly(2)
        length_text = headers.get("content-length")
        if not length_text:
            return b""
        try:
            length = int(length_text)
        except ValueError as exc:
            raise _BadRequestError(400, "malformed Content-Length") from exc
        if length < 0:
            raise _BadRequestError(400, "malformed Content-Length")
        if length > self._max_body:
            raise _BadRequestError(413, "request body too large")
        return await reader.readexactly(length) if length else b""

    async def _write(
        self,
        writer: asyncio.StreamWriter,
        response: Response,
        version: str,
        *,
        head_only: bool = False,
    ) -> None:
        status = response.status
        lines = [f"{version} {status} {reason_phrase(status)}", f"Date: {_DATE.value()}"]
        if self._server_header:
            lines.append(f"Server: {self._server_header}")
        if response.content_type is not None:
            lines.append(f"Content-Type: {response.content_type}")
        lines.extend(f"{k}: {v}" for k, v in response.headers)
        if status not in (204, 304) and not 100 <= status < 200:
            lines.append(f"Content-Length: {len(response.body)}")
        if response.close:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if head_only or status in (204, 304):
            writer.write(head)
        elif response.truncate is not None:
            writer.write(head + response.body[: response.truncate])
            await writer.drain()
            raise ConnectionResetError("body truncated on purpose (fault)")
        elif response.trickle > 0:
            writer.write(head)
            step = max(1, response.trickle_bytes)
            for start in range(0, len(response.body), step):
                await writer.drain()
                await asyncio.sleep(response.trickle)
                writer.write(response.body[start : start + step])
        else:
            writer.write(head + response.body)
        await writer.drain()


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    try:
        await asyncio.wait_for(writer.wait_closed(), timeout=3.0)
    except (ConnectionError, ssl.SSLError, OSError, asyncio.CancelledError, TimeoutError):
        writer.transport.abort()


def json_response(
    status: int,
    body: bytes,
    *,
    content_type: str = "application/json",
    headers: list[tuple[str, str]] | None = None,
) -> Response:
    """A Response with a JSON body that was serialized already."""
    return Response(status, body, content_type, headers or [])
