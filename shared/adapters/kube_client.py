"""The lean Kubernetes API client: authenticated GETs on the scan's event loop, nothing generated.

A scan is one small authenticated GET per node (``/api/v1/nodes/{name}/proxy/configz``) plus a
few paged lists, so this client is only that: aiohttp (HTTP parsing by a well-kept library,
connection pooling, TLS through ``ssl``) on whatever event loop runs the scan, with the
request policy every API server call shares (``shared.adapters.kube_policy``: limits, retries,
and the words failures are reported in). ``get`` is one GET with its retries; ``list`` follows
``limit``/``continue`` across pages and restarts a list whose continue token expired (410).

What every request does:

* TLS is always verified against the cluster CA (or, with none given, the system store); a
  client certificate goes in the same ``ssl.SSLContext``. Nothing here can turn it off.
* The credential is a header (``HeaderSource``): fixed, or asked again after a while in the
  loop's executor (a token refresh may block on the network; the loop must not).
* Each attempt is bounded in TOTAL time (connect, answer and the whole body) by
  SCAN_REQUEST_TIMEOUT, and the body is capped while it streams.
* 429 and 5xx are retried (Retry-After honoured, capped), "error trying to reach service" once,
  a broken connection once; an error answer's Status message is kept, never its whole body.

Failures become the caller's error classes (``Errors``): for configz every failure is the
node's ConfigzFetchError; for a list, no HTTP answer at all is ApiServerUnreachableError (a
private cluster's fallback keys on it) and everything else ApiServerError.
"""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import tempfile
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson
from yarl import URL

from shared.adapters.kube_policy import (
    RequestPolicy,
    body_cap_message,
    broken_message,
    endless_list_reason,
    expired_list_reason,
    not_a_list_reason,
    refused_reason,
    retry_limit,
    retry_wait,
    slow_body_reason,
    status_detail,
    status_message,
    timeout_message,
    tls_message,
    unreachable_message,
)
from shared.core.errors import (
    ApiServerError,
    ApiServerUnreachableError,
    ConfigzFetchError,
    CredentialsError,
    ScannerError,
)

#: How much of an error answer is read to find its Status message (status_detail reads 4 KiB).
ERROR_BODY_BYTES = 4096
#: After close, how long connections still in a graceful TLS shutdown get before their sockets
#: are closed (a read cancelled at the run's deadline leaves one; Python 3.11 would wait 30 s).
SOCKETS_SECONDS = 1.0
#: A list whose continue token expired (HTTP 410) is started again at most this many times.
LIST_RESTARTS = 3
#: A list of more pages than this is not a list (continue tokens that never repeat, never end).
MAX_PAGES = 10_000
#: How long a refreshed credential header is used before the source is asked again.
HEADER_TTL_SECONDS = 60.0
USER_AGENT = "aks-kubelet-scanner"


@dataclass(frozen=True, slots=True)
class Errors:
    """What a request's failures become: ``answer`` for an error answer, TLS or the body;
    ``silence`` for no HTTP answer at all; ``body`` names the body in a slow-body reason."""

    answer: type[ScannerError]
    silence: type[ScannerError]
    body: str


CONFIGZ = Errors(ConfigzFetchError, ConfigzFetchError, "configz body")
LISTING = Errors(ApiServerError, ApiServerUnreachableError, "node-list page")


class HeaderSource:
    """The credential headers of one session's requests.

    ``fetch`` (may block: a token from the credential, or an exec plugin's) runs in the event
    loop's executor, first when ``initial`` is not given and then once ``ttl`` seconds have
    passed, one refresh at a time; without ``fetch`` the headers are fixed. ``fetch`` raises
    CredentialsError when it cannot give a credential.
    """

    def __init__(
        self,
        initial: Mapping[str, str] | None = None,
        fetch: Callable[[], Mapping[str, str]] | None = None,
        *,
        ttl: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        ttl = HEADER_TTL_SECONDS if ttl is None else ttl
        self._value = dict(initial) if initial is not None else None
        self._fetch = fetch
        self._ttl = ttl
        self._clock = clock
        self._expires = clock() + ttl if initial is not None else 0.0
        self._lock: asyncio.Lock | None = None

    @classmethod
    def bearer(cls, token: str, refresh: Callable[[], str] | None = None) -> HeaderSource:
        """``Authorization: Bearer <token>``, renewed through ``refresh`` when given."""
        fetch = None
        if refresh is not None:
            get = refresh

            def fetch() -> Mapping[str, str]:
                return {"Authorization": f"Bearer {get()}"}

        return cls({"Authorization": f"Bearer {token}"} if token else {}, fetch)

    async def headers(self) -> Mapping[str, str]:
        """The current headers (refreshed first when they are due)."""
        value = self._value
        if value is not None and (self._fetch is None or self._clock() < self._expires):
            return value
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._value is None or self._clock() >= self._expires:
                fetch = self._fetch
                assert fetch is not None  # noqa: S101 - fixed headers never expire
                fresh = await asyncio.get_running_loop().run_in_executor(None, fetch)
                self._value, self._expires = dict(fresh), self._clock() + self._ttl
            return self._value


class Tls:
    """The ``ssl.SSLContext`` of one API server: its CA (PEM data or file) and a client cert.

    Built on first use; a CA or certificate that cannot be loaded is remembered and raised
    again (as ``ssl.SSLError`` or ``OSError``) by every use. Client certificate PEMs are written
    to a private temporary directory only while the context loads them.
    """

    def __init__(
        self,
        *,
        ca_pem: str = "",
        ca_file: str = "",
        cert_pem: str = "",
        key_pem: str = "",
        cert_file: str = "",
        key_file: str = "",
    ) -> None:
        self._ca_pem, self._ca_file = ca_pem, ca_file
        self._cert_pem, self._key_pem = cert_pem, key_pem
        self._cert_file, self._key_file = cert_file, key_file
        self._context: ssl.SSLContext | None = None
        self._failure: ssl.SSLError | OSError | None = None

    def context(self) -> ssl.SSLContext:
        """The verifying context; raises what loading it raised."""
        if self._context is not None:
            return self._context
        if self._failure is not None:
            raise self._failure
        try:
            self._context = self._build()
        except (ssl.SSLError, OSError) as exc:
            self._failure = exc
            raise
        return self._context

    def _build(self) -> ssl.SSLContext:
        # Without a CA, the system's trust store, as urllib3 does. Verification is never off.
        context = ssl.create_default_context(
            cafile=self._ca_file or None, cadata=self._ca_pem or None
        )
        if self._cert_file:
            context.load_cert_chain(self._cert_file, self._key_file or None)
        elif self._cert_pem and self._key_pem:
            with tempfile.TemporaryDirectory(prefix="kubecred-") as directory:
                cert = _private_file(directory, "client.crt", self._cert_pem)
                key = _private_file(directory, "client.key", self._key_pem)
                context.load_cert_chain(cert, key)
        return context


def _private_file(directory: str, name: str, content: str) -> str:
    path = os.path.join(directory, name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(content)
    return path


class KubeClient:
    """GETs against one API server, on the event loop that first uses it."""

    def __init__(
        self,
        server: str,
        tls: Tls,
        policy: RequestPolicy,
        auth: HeaderSource,
        *,
        proxy: str | None = None,
        proxy_headers: Mapping[str, str] | None = None,
        server_hostname: str | None = None,
        user_agent: str = USER_AGENT,
    ) -> None:
        self.server = server.rstrip("/")
        self._tls = tls
        self._policy = policy
        self._auth = auth
        self._proxy = proxy
        self._proxy_headers = dict(proxy_headers) if proxy_headers else None
        self._server_hostname = server_hostname or None
        self._headers = {"Accept": "application/json", "User-Agent": user_agent}
        self._session: aiohttp.ClientSession | None = None
        self._sockets: weakref.WeakSet[socket.socket] = weakref.WeakSet()
        self._closed = False

    # -- requests --------------------------------------------------------------------------

    async def get(
        self,
        path: str,
        doing: str,
        errors: Errors,
        *,
        query: str = "",
        cap: int | None = None,
    ) -> bytes:
        """The body of ``GET path`` (already percent-encoded) with its retries; ``errors``
        classes on failure; ``cap`` (default CONFIGZ_MAX_BYTES) bounds the body."""
        status, body, attempt = await self._fetch(path, doing, errors, query, cap)
        if 200 <= status <= 299:
            return body
        raise errors.answer(status_message(status, status_detail(body), doing, attempt))

    async def _fetch(
        self, path: str, doing: str, errors: Errors, query: str, cap: int | None
    ) -> tuple[int, bytes, int]:
        """(status, body, retries made): a 2xx, or the error answer that retries did not cure."""
        limit = self._policy.max_body_bytes if cap is None else cap
        url = URL(f"{self.server}{path}{'?' + query if query else ''}", encoded=True)
        attempt = 0
        while True:
            session, headers = self._client(errors), await self._request_headers(errors)
            answered: list[bool] = []  # set once the answer's headers are in
            try:
                async with asyncio.timeout(self._policy.timeout):
                    status, body, retry_after = await self._attempt(
                        session, url, headers, answered, limit, errors
                    )
            except ScannerError:
                raise
            except aiohttp.ClientSSLError as exc:
                raise errors.answer(tls_message(self.server, exc)) from None
            except TimeoutError:
                # Headers came but the body trickled: say so, the fix is not the same.
                if answered:
                    reason = slow_body_reason(self._policy.timeout, errors.body)
                    raise errors.answer(reason) from None
                reason = timeout_message(self._policy.timeout, doing, self.server)
                raise errors.silence(reason) from None
            except aiohttp.ClientConnectorError as exc:
                if isinstance(exc.os_error, ConnectionRefusedError):
                    raise errors.silence(refused_reason(self.server, doing)) from None
                raise errors.silence(unreachable_message(self.server, doing, exc)) from None
            except _BrokenBody as broken:
                # Reset, closed or truncated while the body came: retried once.
                if attempt < min(1, self._policy.max_retries):
                    attempt += 1
                    continue
                reason = broken_message(self.server, doing, broken.cause)
                raise errors.silence(reason) from None
            except aiohttp.ClientConnectionError as exc:
                # Reset or closed before the answer: aiohttp has already sent the (idempotent)
                # request a second time (RFC 9112 9.3.1.1), the one retry this case gets.
                raise errors.silence(broken_message(self.server, doing, exc)) from None
            except aiohttp.ClientError as exc:
                raise errors.silence(unreachable_message(self.server, doing, exc)) from None
            if 200 <= status <= 299:
                return status, body, attempt
            if attempt < retry_limit(status, status_detail(body), self._policy.max_retries):
                attempt += 1
                await asyncio.sleep(retry_wait(retry_after, attempt, self._policy.backoff))
                continue
            return status, body, attempt

    async def list_all(
        self, path: str, doing: str, errors: Errors = LISTING, *, cap: int
    ) -> list[dict[str, Any]]:
        """Every item of a Kubernetes list, following ``continue`` tokens (``limit`` per page).

        A continue token that expired (410 Gone) starts the list again, LIST_RESTARTS times at
        most; a token that comes back, or more than MAX_PAGES pages, is an endless list.
        """
        restarts = 0
        while True:
            try:
                return await self._pages(path, doing, errors, cap)
            except _ListExpired as expired:
                if restarts >= LIST_RESTARTS:
                    raise errors.answer(
                        expired_list_reason(doing, restarts, expired.detail)
                    ) from None
                restarts += 1

    async def _pages(self, path: str, doing: str, errors: Errors, cap: int) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        token = ""
        seen: set[str] = set()
        pages = 0
        while True:
            pages += 1
            if pages > MAX_PAGES:
                raise errors.answer(endless_list_reason(f"after {MAX_PAGES:,} pages"))
            query = f"limit={self._policy.page_size}"
            if token:
                query += f"&continue={_quote(token)}"
            status, body, attempt = await self._fetch(path, doing, errors, query, cap)
            if not 200 <= status <= 299:
                detail = status_detail(body)
                if status == 410 and token:
                    raise _ListExpired(detail)
                raise errors.answer(status_message(status, detail, doing, attempt))
            page, token = _page(body, doing, errors)
            items.extend(page)
            if not token:
                return items
            # A consistent list never hands out the same token twice: it would loop forever.
            if token in seen:
                raise errors.answer(
                    endless_list_reason(f"on page {pages} (a continue token came back)")
                )
            seen.add(token)

    # -- connections -----------------------------------------------------------------------

    def _client(self, errors: Errors) -> aiohttp.ClientSession:
        if self._session is not None:
            return self._session
        if self._closed:
            raise errors.answer(f"the session to the API server {self.server} is closed")
        try:
            context = self._tls.context()
        except (ssl.SSLError, OSError) as exc:  # the CA or client certificate is unusable
            raise errors.answer(tls_message(self.server, exc)) from None
        connector = aiohttp.TCPConnector(
            limit=self._policy.pool_size,
            limit_per_host=0,
            ssl=context,
            socket_factory=self._open_socket,
            # A read cancelled before its answer (SCAN_REQUEST_TIMEOUT, the run's deadline)
            # leaves its TLS connection in shutdown with a silent peer: abort those transports
            # instead of leaving them for the garbage collector (CPython < 3.12.7).
            enable_cleanup_closed=True,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=None),  # each attempt has its own bound
            skip_auto_headers=("Accept-Encoding",),  # as the kubernetes client: no gzip
            trust_env=False,  # proxies come from the kubeconfig, never the environment
        )
        return self._session

    def _open_socket(self, address: tuple[Any, ...]) -> socket.socket:
        """aiohttp's ``socket_factory``: every socket this client opens, so close() can close it."""
        family, kind, protocol = address[0], address[1], address[2]
        sock = socket.socket(family=family, type=kind, proto=protocol)
        self._sockets.add(sock)
        return sock

    async def _request_headers(self, errors: Errors) -> dict[str, str]:
        try:
            credential = await self._auth.headers()
        except CredentialsError as exc:
            raise errors.answer(str(exc)) from None
        return {**self._headers, **credential}

    async def _attempt(  # noqa: PLR0917 - one request's parts, private to _fetch
        self,
        session: aiohttp.ClientSession,
        url: URL,
        headers: Mapping[str, str],
        answered: list[bool],
        limit: int,
        errors: Errors,
    ) -> tuple[int, bytes, str | None]:
        """One request: its status, its body (capped; the start of it for an error) and
        Retry-After. ``answered`` gets an item once the headers are in."""
        async with session.get(
            url,
            headers=headers,
            proxy=self._proxy,
            proxy_headers=self._proxy_headers,
            server_hostname=self._server_hostname,
            allow_redirects=False,
        ) as response:
            status = response.status
            answered.append(True)
            try:
                if not 200 <= status <= 299:
                    body = await _read_capped(response, ERROR_BODY_BYTES, errors, truncate=True)
                    return status, body, response.headers.get("Retry-After")
                body = await _read_capped(response, limit, errors)
            except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as exc:
                _abort(response)
                raise _BrokenBody(exc) from None
            except BaseException:
                # Over the cap, timed out or cancelled mid-body: drop the connection now rather
                # than wait for a graceful TLS shutdown with a peer that is still sending.
                _abort(response)
                raise
            return status, body, None

    async def close(self) -> None:
        """Close the connections; sockets still in a TLS shutdown are closed within
        SOCKETS_SECONDS by a task of the loop's own."""
        self._closed = True
        session, self._session = self._session, None
        if session is not None:
            await session.close()
        if any(sock.fileno() != -1 for sock in list(self._sockets)):
            _REAPERS.add(asyncio.get_running_loop().create_task(_reap(list(self._sockets))))


#: Reaper tasks in flight (the loop keeps only weak references to its tasks).
_REAPERS: set[asyncio.Task[None]] = set()


async def _reap(sockets: list[socket.socket]) -> None:
    """Let the sockets' TLS shutdowns finish for SOCKETS_SECONDS, then close what is left."""
    try:
        for _ in range(int(SOCKETS_SECONDS / 0.01)):
            if all(sock.fileno() == -1 for sock in sockets):
                return
            await asyncio.sleep(0.01)
    finally:
        for sock in sockets:
            sock.close()
        task = asyncio.current_task()
        if task is not None:
            _REAPERS.discard(task)


async def _read_capped(
    response: aiohttp.ClientResponse, limit: int, errors: Errors, *, truncate: bool = False
) -> bytes:
    """The body, up to ``limit`` bytes; past it the cap error, or only its start (``truncate``)."""
    length = response.content_length
    if length is not None and length <= limit:
        return await response.read()  # Content-Length bounds it; read() checks it is complete
    if length is not None and not truncate:
        raise errors.answer(body_cap_message(limit, errors.answer))
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            if truncate:
                chunks.append(chunk[: len(chunk) - (size - limit)])
                break
            raise errors.answer(body_cap_message(limit, errors.answer))
        chunks.append(chunk)
    return b"".join(chunks)


class _BrokenBody(Exception):  # noqa: N818 - internal signal, never leaves this module
    """The connection broke after the answer's headers, while its body was read."""

    def __init__(self, cause: Exception) -> None:
        super().__init__(str(cause))
        self.cause = cause


class _ListExpired(Exception):  # noqa: N818 - internal signal, never leaves this module
    """A list page answered 410 Gone: its continue token expired."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def _abort(response: aiohttp.ClientResponse) -> None:
    connection = response.connection
    transport = connection.transport if connection is not None else None
    if transport is not None:
        transport.abort()


def _page(body: bytes, doing: str, errors: Errors) -> tuple[list[dict[str, Any]], str]:
    """A list page's items and its continue token ("" on the last page)."""
    try:
        document = _loads(body)
        items = document.get("items") or []
        token = (document.get("metadata") or {}).get("continue") or ""
    except (ValueError, AttributeError, TypeError) as exc:
        raise errors.answer(not_a_list_reason(doing, exc)) from exc
    if not isinstance(items, list) or not isinstance(token, str):
        reason = not_a_list_reason(doing, TypeError("items is not a list or continue not a string"))
        raise errors.answer(reason)
    return items, token


def _loads(body: bytes) -> Any:
    """orjson for speed; the standard library where orjson refuses (NaN, lone surrogates)."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        import json  # noqa: PLC0415 - the rare path

        return json.loads(body)


def _quote(text: str) -> str:
    from urllib.parse import quote  # noqa: PLC0415

    return quote(text, safe="")
