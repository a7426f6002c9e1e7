"""HTTP/1.1 GETs on the event loop: llhttp (httptools) parses, asyncio's transports carry TLS.

The scan's reads are small GETs on a few kept-alive TLS connections per API server, and the
measured cost of a general client's machinery was five times the read itself (docs/benchmarks.md:
0.115 ms of CPU per read through aiohttp against 0.018 ms through this protocol, both on
uvloop over one kept-alive connection). So ``Connection`` is only what such a GET needs: one
request at a time on one connection, the answer parsed by llhttp (the parser of Node.js, through
``httptools``; nothing here parses HTTP by hand), the status, ``Retry-After`` and the body
delivered as they arrive, capped while they stream. ``Pool`` keeps at most ``size``
connections to one server and reuses those whose answer allowed it.

Failures are signals the caller words (shared.adapters.kube_client): ``NoAnswer`` (the
connection closed or reset before the answer's headers), ``BrokenBody`` (after them, before
the body was whole), ``NotHttp`` (the peer does not speak HTTP/1.1), ``OverCap`` (the body is
larger than allowed). Connecting raises what the event loop raises (``ssl.SSLError`` for TLS,
``OSError`` for the rest).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import httptools


class NoAnswer(Exception):  # noqa: N818 - a signal: the caller words it
    """The connection closed or was reset before the answer's headers."""


class BrokenBody(Exception):  # noqa: N818 - a signal: the caller words it
    """The connection closed or was reset after the headers, before the body was whole."""


class NotHttp(Exception):  # noqa: N818 - a signal: the caller words it
    """What came back is not an HTTP/1.1 answer llhttp accepts."""


class OverCap(Exception):  # noqa: N818 - a signal: the caller words it
    """The body is (or is announced) larger than the caller allows."""


@dataclass(frozen=True, slots=True)
class Answer:
    """An answer: its status, its body (only its start, for a truncated error answer) and
    ``Retry-After``."""

    status: int
    body: bytes
    retry_after: str | None


@dataclass(frozen=True, slots=True)
class Target:
    """Where a pool connects: the server, TLS, and optionally an HTTP proxy to tunnel through."""

    host: str
    port: int
    context: ssl.SSLContext
    server_hostname: str
    proxy: tuple[str, int] | None = None
    proxy_headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(
        cls,
        server: str,
        context: ssl.SSLContext,
        *,
        server_hostname: str | None = None,
        proxy: str | None = None,
        proxy_headers: Mapping[str, str] | None = None,
    ) -> Target:
        """The target of an ``https://`` server URL; ValueError for what cannot be reached."""
        url = urlsplit(server)
        if url.scheme != "https" or not url.hostname:
            raise ValueError(f"not an https:// server URL: {server}")
        via = None
        if proxy:
            proxied = urlsplit(proxy)
            if proxied.scheme != "http" or not proxied.hostname:
                raise ValueError("only an http:// proxy (proxy-url) is supported")
            via = (proxied.hostname, proxied.port or 80)
        return cls(
            url.hostname,
            url.port or 443,
            context,
            server_hostname or url.hostname,
            via,
            tuple((proxy_headers or {}).items()),
        )

    @property
    def authority(self) -> str:
        """``host:port`` (the Host header, and the CONNECT target)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


class Connection(asyncio.Protocol):
    """One HTTP/1.1 connection; one request at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.reusable = False
        self._parser: httptools.HttpResponseParser | None = httptools.HttpResponseParser(self)
        self._waiter: asyncio.Future[Answer] | None = None
        self._headers_seen: asyncio.Future[int] | None = None
        self._answered: list[bool] = []
        self._limit = 0
        self._error_limit = 0
        self._truncate = False
        self._chunks: list[bytes] = []
        self._size = 0
        self._length: int | None = None
        self._chunked = False
        self._retry_after: str | None = None
        self._status = 0

    # -- asyncio.Protocol ----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a stream transport

    def data_received(self, data: bytes) -> None:
        if self._waiter is None and self._headers_seen is None:
            self._fail(NotHttp("data arrived with no request outstanding"))
            return
        if self._parser is None:
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(NotHttp(str(exc) or type(exc).__name__))

    def eof_received(self) -> bool:
        return False  # close the transport; connection_lost tells what was missing

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.reusable = False
        self.transport = None  # the transport, the parser and this protocol refer to each
        parser, self._parser = self._parser, None  # other: let them go with the connection
        cause: Exception = exc if exc is not None else ConnectionError("Server disconnected")
        if self._headers_seen is not None and not self._headers_seen.done():
            self._headers_seen.set_exception(NoAnswer(str(cause)))
        if self._waiter is None or self._waiter.done():
            return
        if not self._answered:
            self._waiter.set_exception(NoAnswer(str(cause)))
            return
        if exc is None and self._length is None and not self._chunked and parser is not None:
            self._finish(reusable=False)  # a body delimited by the connection's close: whole
            return
        if self._length is not None:
            detail = f"received {self._size} of {self._length} bytes"
        else:
            detail = f"received {self._size} bytes of a body without Content-Length"
        self._waiter.set_exception(
            BrokenBody(f"response payload is not completed ({detail}): {cause}")
        )

    # -- llhttp callbacks ----------------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        lowered = name.lower()
        if lowered == b"retry-after":
            self._retry_after = value.decode("latin-1").strip()
        elif lowered == b"content-length":
            try:
                self._length = int(value)
            except ValueError:
                self._length = None  # llhttp itself refuses a malformed length
        elif lowered == b"transfer-encoding":
            self._chunked = b"chunked" in value.lower()

    def on_headers_complete(self) -> None:
        assert self._parser is not None  # noqa: S101 - llhttp calls back while it parses
        self._status = self._parser.get_status_code()
        if self._headers_seen is not None:  # a CONNECT: the caller takes over the transport
            self._headers_seen.set_result(self._status)
            return
        self._answered.append(True)
        if not 200 <= self._status <= 299:  # only the start of an error answer is read
            self._truncate, self._limit = True, self._error_limit
        elif self._length is not None and self._length > self._limit:
            self._fail(OverCap(f"{self._length} bytes announced"))

    def on_body(self, body: bytes) -> None:
        if self._waiter is None or self._waiter.done():
            return
        self._size += len(body)
        if self._size <= self._limit:
            self._chunks.append(body)
            return
        if not self._truncate:
            self._fail(OverCap(f"more than {self._limit} bytes"))
            return
        self._chunks.append(body[: len(body) - (self._size - self._limit)])
        self._finish(reusable=False)  # only the start of an error answer is wanted

    def on_message_complete(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            keep = self._parser is not None and self._parser.should_keep_alive()
            self._finish(reusable=keep)

    # -- requests ------------------------------------------------------------------------------

    async def get(
        self, request: bytes, limit: int, answered: list[bool], error_limit: int
    ) -> Answer:
        """Send ``request`` (a whole GET); the answer once its body is in: at most ``limit``
        bytes of a 2xx body (OverCap past it), the first ``error_limit`` bytes of any other.
        ``answered`` gets an item once the headers are in."""
        if self.transport is None or self.closed:
            raise NoAnswer("the connection is closed")
        self._waiter = asyncio.get_running_loop().create_future()
        self._answered, self._limit, self._truncate = answered, limit, False
        self._error_limit = error_limit
        self._chunks, self._size, self._length, self._retry_after = [], 0, None, None
        self._chunked = False
        self.reusable = False
        self.transport.write(request)
        try:
            return await self._waiter
        finally:
            # An idle connection keeps nothing of its last answer (a node-list page is large).
            self._waiter, self._chunks = None, []

    async def tunnel(self, request: bytes) -> int:
        """Send a CONNECT and return its status once the answer's headers are in."""
        if self.transport is None or self.closed:
            raise NoAnswer("the connection is closed")
        self._headers_seen = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        try:
            return await self._headers_seen
        finally:
            self._headers_seen = None

    def restart(self, transport: asyncio.Transport) -> None:
        """Continue over ``transport`` (the TLS layer start_tls put over the tunnel)."""
        self.transport = transport
        self._parser = httptools.HttpResponseParser(self)

    def abort(self) -> None:
        """Drop the connection now (no TLS shutdown to wait for)."""
        self.closed = True
        self.reusable = False
        if self.transport is not None:
            self.transport.abort()

    def _finish(self, *, reusable: bool) -> None:
        assert self._waiter is not None  # noqa: S101 - called only with a request outstanding
        self.reusable = reusable
        body, self._chunks = b"".join(self._chunks), []
        self._waiter.set_result(Answer(self._status, body, self._retry_after))

    def _fail(self, exc: Exception) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(exc)
        self.abort()


class Pool:
    """At most ``size`` connections to one target; answers that allow it keep theirs open."""

    def __init__(self, target: Target, size: int, error_limit: int) -> None:
        self.target = target
        self._size = size
        self._error_limit = error_limit
        self._idle: list[Connection] = []
        self._open: set[Connection] = set()
        self._slots: asyncio.Semaphore | None = None
        self.closed = False

    async def get(self, request: bytes, limit: int, answered: list[bool]) -> tuple[Answer, bool]:
        """The answer to ``request`` (Connection.get) and whether it came on a reused
        connection."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(self._size)
        async with self._slots:
            connection, reused = await self._connection()
            try:
                answer = await connection.get(request, limit, answered, self._error_limit)
            except BaseException:
                # Cancelled, timed out, over the cap or broken: this connection is done.
                connection.abort()
                self._open.discard(connection)
                raise
            if connection.reusable and not self.closed:
                self._idle.append(connection)
            else:
                connection.abort()
                self._open.discard(connection)
            return answer, reused

    async def _connection(self) -> tuple[Connection, bool]:
        while self._idle:
            connection = self._idle.pop()
            if not connection.closed:
                return connection, True
            self._open.discard(connection)
        connection = await connect(self.target)
        self._open.add(connection)
        return connection, False

    def close(self) -> None:
        """Drop every connection."""
        self.closed = True
        for connection in list(self._open):
            connection.abort()
        self._open.clear()
        self._idle.clear()

    @property
    def connections(self) -> list[Connection]:
        """The connections open now (for tests)."""
        return list(self._open)


async def connect(target: Target) -> Connection:
    """A TLS connection to ``target`` (through its proxy's CONNECT tunnel when it has one)."""
    loop = asyncio.get_running_loop()
    if target.proxy is None:
        _, connection = await loop.create_connection(
            Connection,
            target.host,
            target.port,
            ssl=target.context,
            server_hostname=target.server_hostname,
        )
        return connection
    _, connection = await loop.create_connection(Connection, *target.proxy)
    try:
        secured = await _through_tunnel(loop, connection, target)
    except BaseException:
        connection.abort()
        raise
    connection.restart(secured)
    return connection


async def _through_tunnel(
    loop: asyncio.AbstractEventLoop, connection: Connection, target: Target
) -> asyncio.Transport:
    """CONNECT through the proxy, then TLS to the server over the tunnel."""
    lines = [f"CONNECT {target.authority} HTTP/1.1", f"Host: {target.authority}"]
    lines += [f"{name}: {value}" for name, value in target.proxy_headers]
    status = await connection.tunnel(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    if status != 200:
        raise OSError(f"the proxy answered {status} to CONNECT {target.authority}")
    if connection.transport is None:
        raise OSError("the proxy closed the tunnel")
    secured = await loop.start_tls(
        connection.transport, connection, target.context, server_hostname=target.server_hostname
    )
    if secured is None:
        raise OSError("the proxy tunnel closed before TLS started")
    return secured


def request_bytes(target: Target, path: str, headers: Mapping[str, str]) -> bytes:
    """A GET of ``path`` (already percent-encoded) with ``headers``; ValueError for a header
    that would not stay one header line (a line break, or a character latin-1 cannot carry)."""
    lines = [f"GET {path} HTTP/1.1", f"Host: {target.authority}"]
    for name, value in headers.items():
        if any(c in name or c in value for c in "\r\n\0"):
            raise ValueError(f"the {name} header holds a line break")
        lines.append(f"{name}: {value}")
    try:
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    except UnicodeEncodeError:
        raise ValueError("a request header holds characters HTTP/1.1 cannot carry") from None
