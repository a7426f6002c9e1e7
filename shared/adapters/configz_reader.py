"""configz reads on one asyncio event loop: many reads in flight for little CPU.

Reading configz through the kubernetes client costs one thread per read in flight, and 64
threads contending for the GIL spent ~1.7 ms of CPU per read (urllib3, TLS, wake-ups); the same
reads as coroutines on one loop over aiohttp cost ~0.6 ms. ``LoopThread`` is that loop, in one
thread shared by every session of a scan; ``ConfigzReader`` reads one API server's
``/api/v1/nodes/{name}/proxy/configz`` on it and hands back a ``concurrent.futures.Future``, so
the pipeline's threads never block the loop and the loop never runs the pure core.

What a read does is what ``KubeSession`` did with the kubernetes client, and its failures are
classified by the same functions (``shared.adapters.kube_policy``), so every reason is worded the
same: the credential is the session's kubernetes ``Configuration`` (its ``auth_settings``: the
managed-identity token through its refresh hook, a kubeconfig token or exec-plugin token,
or the client certificate), TLS is always verified against the cluster CA, 429 and 5xx are
retried (Retry-After honoured, capped), "error trying to reach service" once, a broken
connection once. Each attempt is bounded in TOTAL time (connect, answer and the whole body) by
SCAN_REQUEST_TIMEOUT, and the body is capped at CONFIGZ_MAX_BYTES while it streams.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import threading
import weakref
from collections.abc import Coroutine, Mapping
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, TypeVar, cast
from urllib.parse import quote

import aiohttp
from yarl import URL

from shared.adapters import kube_policy
from shared.core.errors import ConfigzFetchError

if TYPE_CHECKING:
    from kubernetes import client as k8s


T = TypeVar("T")
DOING = "reading configz"
#: How much of an error answer is read to find its Status message (status_detail reads 4 KiB).
ERROR_BODY_BYTES = 4096
CLOSE_SECONDS = 5.0
#: How long closing the loop waits for TLS shutdowns of connections still closing.
SOCKETS_SECONDS = 1.0


class LoopThread:
    """One asyncio event loop running in its own daemon thread, started on first use."""

    def __init__(self, name: str = "configz-loop") -> None:
        self._name = name
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._closed = False
        # Readers whose connections close() closes when their own session has not (a cluster
        # worker still busy after the run's deadline).
        self._readers: weakref.WeakSet[ConfigzReader] = weakref.WeakSet()
        # Every socket a reader opened: close() lets their TLS shutdowns finish, then closes
        # what is left (a read cancelled at the deadline leaves its socket in a graceful TLS
        # shutdown that would outlive the loop).
        self._sockets: weakref.WeakSet[socket.socket] = weakref.WeakSet()

    def open_socket(self, address: tuple[Any, ...]) -> socket.socket:
        """The readers' socket factory (aiohttp ``socket_factory``): a socket close() tracks."""
        family, kind, protocol = address[0], address[1], address[2]
        sock = socket.socket(family=family, type=kind, proto=protocol)
        with self._lock:
            self._sockets.add(sock)
        return sock

    def register(self, reader: ConfigzReader) -> None:
        """Close ``reader``'s connections when the loop closes, if it has not done so itself."""
        with self._lock:
            self._readers.add(reader)

    def submit(self, coroutine: Coroutine[Any, Any, T]) -> Future[T]:
        """Schedule ``coroutine`` on the loop; cancelling the future cancels it.

        RuntimeError once the loop is closed (the coroutine is closed, never run).
        """
        try:
            loop = self._running()
        except RuntimeError:
            coroutine.close()
            raise
        return asyncio.run_coroutine_threadsafe(coroutine, loop)

    def _running(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._closed:
                raise RuntimeError("the configz loop is closed")
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name=self._name, daemon=True)
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

    def close(self) -> None:
        """Cancel what still runs, stop the loop and wait (briefly) for its thread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            loop, thread = self._loop, self._thread
            readers = list(self._readers)
        if loop is None or thread is None:
            return

        async def cancel_all() -> None:
            current = asyncio.current_task()
            tasks = [t for t in asyncio.all_tasks() if t is not current]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await asyncio.gather(*(r.close_connections() for r in readers), return_exceptions=True)
            for _ in range(int(SOCKETS_SECONDS / 0.01)):
                if all(sock.fileno() == -1 for sock in list(self._sockets)):
                    break
                await asyncio.sleep(0.01)
            for sock in list(self._sockets):
                sock.close()

        try:
            asyncio.run_coroutine_threadsafe(cancel_all(), loop).result(CLOSE_SECONDS)
        except TimeoutError:
            pass  # a task ignoring cancellation; the daemon thread ends with the process
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(CLOSE_SECONDS)
            if not thread.is_alive():
                loop.close()


class ConfigzReader:
    """Reads configz from one API server on a LoopThread, with the session's credential and CA."""

    def __init__(
        self,
        configuration: k8s.Configuration,
        policy: kube_policy.RequestPolicy,
        loop: LoopThread,
        *,
        user_agent: str = "",
    ) -> None:
        self._configuration = configuration
        self._policy = policy
        self._loop = loop
        self._server = str(configuration.host).rstrip("/")
        self._ssl = ssl_context(configuration)
        self._proxy = proxy_of(configuration)
        self._proxy_headers = dict(configuration.proxy_headers or {}) if self._proxy else None
        self._server_hostname = configuration.tls_server_name or None
        self._headers = {"Accept": "application/json"}
        if user_agent:
            self._headers["User-Agent"] = user_agent
        self._session: aiohttp.ClientSession | None = None
        loop.register(self)

    def start(self, node_name: str) -> Future[bytes]:
        """Begin reading ``node_name``'s configz; the future raises ConfigzFetchError on failure."""
        # The credential is asked here, in the caller's thread: a token refresh may block on
        # the network, and the loop must not.
        headers = dict(self._headers)
        auth = cast(Mapping[str, Mapping[str, Any]], self._configuration.auth_settings())
        for setting in auth.values():
            if setting.get("in") == "header" and setting.get("value"):
                headers[str(setting["key"])] = str(setting["value"])
        url = f"{self._server}/api/v1/nodes/{quote(node_name, safe='')}/proxy/configz"
        return self._loop.submit(self._read(URL(url, encoded=True), headers))

    def close(self) -> None:
        """Close the connections (on the loop); safe to call more than once."""
        # RuntimeError: the loop is already closed (its connections with it); TimeoutError: stuck.
        with contextlib.suppress(RuntimeError, TimeoutError):
            self._loop.submit(self.close_connections()).result(CLOSE_SECONDS)

    async def close_connections(self) -> None:
        """Close the HTTP session (on the loop)."""
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self._policy.pool_size,
                limit_per_host=0,
                ssl=self._ssl,
                socket_factory=self._loop.open_socket,
                # A read cancelled before its answer (SCAN_REQUEST_TIMEOUT, the run's deadline)
                # leaves its TLS connection in shutdown with a silent peer: abort those
                # transports instead of leaving them for the garbage collector (CPython < 3.12.7).
                enable_cleanup_closed=True,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=None),  # each attempt has its own bound
                skip_auto_headers=("Accept-Encoding",),  # as the kubernetes client: no gzip
                trust_env=False,  # proxies come from the kubeconfig, as for the client
            )
        return self._session

    async def _read(self, url: URL, headers: Mapping[str, str]) -> bytes:
        attempt = 0
        while True:
            answered: list[bool] = []  # set once the answer's headers are in
            try:
                async with asyncio.timeout(self._policy.timeout):
                    status, body, retry_after = await self._attempt(url, headers, answered)
            except ConfigzFetchError:
                raise
            except aiohttp.ClientSSLError as exc:
                raise ConfigzFetchError(kube_policy.tls_message(self._server, exc)) from None
            except TimeoutError:
                # Headers came but the body trickled: say so, the fix is not the same.
                reason = (
                    kube_policy.slow_body_reason(self._policy.timeout)
                    if answered
                    else kube_policy.timeout_message(self._policy.timeout, DOING, self._server)
                )
                raise ConfigzFetchError(reason) from None
            except aiohttp.ClientConnectorError as exc:
                if isinstance(exc.os_error, ConnectionRefusedError):
                    raise ConfigzFetchError(
                        kube_policy.refused_reason(self._server, DOING)
                    ) from None
                raise ConfigzFetchError(
                    kube_policy.unreachable_message(self._server, DOING, exc)
                ) from None
            except _BrokenBody as broken:
                # Reset, closed or truncated while the body came: retried once, as before.
                if attempt < min(1, self._policy.max_retries):
                    attempt += 1
                    continue
                raise ConfigzFetchError(
                    kube_policy.broken_message(self._server, DOING, broken.cause)
                ) from None
            except aiohttp.ClientConnectionError as exc:
                # Reset or closed before the answer: aiohttp has already sent the (idempotent)
                # request a second time (RFC 9112 9.3.1.1), the one retry this case gets.
                raise ConfigzFetchError(
                    kube_policy.broken_message(self._server, DOING, exc)
                ) from None
            except aiohttp.ClientError as exc:
                raise ConfigzFetchError(
                    kube_policy.unreachable_message(self._server, DOING, exc)
                ) from None
            if 200 <= status <= 299:
                return body
            detail = kube_policy.status_detail(body)
            if attempt < kube_policy.retry_limit(status, detail, self._policy.max_retries):
                attempt += 1
                await asyncio.sleep(
                    kube_policy.retry_wait(retry_after, attempt, self._policy.backoff)
                )
                continue
            raise ConfigzFetchError(kube_policy.status_message(status, detail, DOING, attempt))

    async def _attempt(
        self, url: URL, headers: Mapping[str, str], answered: list[bool]
    ) -> tuple[int, bytes, str | None]:
        """One request: its status, its body (capped; the start of it for an error) and
        Retry-After. ``answered`` gets an item once the headers are in."""
        async with self._client().get(
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
                    body = await _read_capped(response.content, ERROR_BODY_BYTES, truncate=True)
                    return status, body, response.headers.get("Retry-After")
                body = await _read_capped(response.content, self._policy.max_body_bytes)
            except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as exc:
                _abort(response)
                raise _BrokenBody(exc) from None
            except BaseException:
                # Over the cap, timed out or cancelled mid-body: drop the connection now rather
                # than wait for a graceful TLS shutdown with a peer that is still sending.
                _abort(response)
                raise
            return status, body, None


async def _read_capped(
    content: aiohttp.StreamReader, limit: int, *, truncate: bool = False
) -> bytes:
    """The body, up to ``limit`` bytes; past it ConfigzFetchError, or only its start (``truncate``)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            if truncate:
                chunks.append(chunk[: len(chunk) - (size - limit)])
                break
            raise ConfigzFetchError(kube_policy.body_cap_message(limit))
        chunks.append(chunk)
    return b"".join(chunks)


class _BrokenBody(Exception):  # noqa: N818 - internal signal, never leaves this module
    """The connection broke after the answer's headers, while its body was read."""

    def __init__(self, cause: Exception) -> None:
        super().__init__(str(cause))
        self.cause = cause


def _abort(response: aiohttp.ClientResponse) -> None:
    connection = response.connection
    transport = connection.transport if connection is not None else None
    if transport is not None:
        transport.abort()


def ssl_context(configuration: k8s.Configuration) -> ssl.SSLContext:
    """Verify against the configuration's CA (file or PEM data); its client certificate, if any.

    Without a CA in the configuration the system's trust store is used, as urllib3 does.
    Verification is never turned off.
    """
    context = ssl.create_default_context(
        cafile=configuration.ssl_ca_cert or None, cadata=configuration.ca_cert_data or None
    )
    if configuration.cert_file:
        context.load_cert_chain(configuration.cert_file, configuration.key_file or None)
    return context


def proxy_of(configuration: k8s.Configuration) -> str | None:
    """The kubeconfig's HTTP(S) proxy for this server, or None; a SOCKS proxy is refused."""
    from kubernetes.client.rest import is_socks_proxy_url, should_bypass_proxies  # noqa: PLC0415

    proxy = configuration.proxy
    if not proxy or should_bypass_proxies(str(configuration.host), configuration.no_proxy or ""):
        return None
    if is_socks_proxy_url(proxy):  # type: ignore[no-untyped-call]  # untyped in kubernetes 37
        raise ValueError("a SOCKS proxy (proxy-url) is not supported for configz reads")
    return str(proxy)
