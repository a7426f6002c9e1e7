"""The lean Kubernetes API client: authenticated GETs on the scan's event loop, nothing generated.

A scan is one small authenticated GET per node (``/api/v1/nodes/{name}/proxy/configz``) plus a
few paged lists, so this client is only that: HTTP/1.1 GETs over a small pool of kept-alive TLS
connections per API server (shared.adapters.http1: llhttp through httptools parses, the event
loop's transports carry TLS) on whatever event loop runs the scan, with the request policy
every API server call shares (``shared.adapters.kube_policy``: limits, retries,
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
import ssl
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from shared.adapters.http1 import (
    Answer,
    BrokenBody,
    NoAnswer,
    NotHttp,
    OverCap,
    Pool,
    Target,
    request_bytes,
)
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
#: A list whose continue token expired (HTTP 410) is started again this many times (once: the
#: list contract of shared.core.k8s_lists).
LIST_RESTARTS = 1
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
        self._pool: Pool | None = None
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

    async def _fetch(  # noqa: PLR0917 - the request's parts, private to get and pages
        self, path: str, doing: str, errors: Errors, query: str, cap: int | None, accept: str = ""
    ) -> tuple[int, bytes, int]:
        """(status, body, retries made): a 2xx, or the error answer that retries did not cure."""
        limit = self._policy.max_body_bytes if cap is None else cap
        target = f"{path}?{query}" if query else path
        attempt = 0
        while True:
            pool, headers = self._connections(errors), await self._request_headers(errors)
            if accept:
                headers["Accept"] = accept
            try:
                request = request_bytes(pool.target, target, headers)
            except ValueError as exc:
                raise errors.answer(f"cannot send the request to {self.server}: {exc}") from None
            answered: list[bool] = []  # set once the answer's headers are in
            try:
                async with asyncio.timeout(self._policy.timeout):
                    answer = await self._attempt(pool, request, limit, answered)
            except OverCap:
                raise errors.answer(body_cap_message(limit, errors.answer)) from None
            except ssl.SSLError as exc:  # verification failed, or TLS broke
                raise errors.answer(tls_message(self.server, exc)) from None
            except TimeoutError:
                # Headers came but the body trickled: say so, the fix is not the same.
                if answered:
                    reason = slow_body_reason(self._policy.timeout, errors.body)
                    raise errors.answer(reason) from None
                reason = timeout_message(self._policy.timeout, doing, self.server)
                raise errors.silence(reason) from None
            except (NoAnswer, BrokenBody) as broken:
                # Reset, closed or truncated before or during the answer: retried once.
                if attempt < min(1, self._policy.max_retries):
                    attempt += 1
                    continue
                raise errors.silence(broken_message(self.server, doing, broken)) from None
            except NotHttp as exc:
                reason = broken_message(self.server, doing, NotHttp(f"not HTTP/1.1: {exc}"))
                raise errors.silence(reason) from None
            except ConnectionRefusedError:
                raise errors.silence(refused_reason(self.server, doing)) from None
            except OSError as exc:  # DNS, no route, the proxy's refusal
                raise errors.silence(unreachable_message(self.server, doing, exc)) from None
            if 200 <= answer.status <= 299:
                return answer.status, answer.body, attempt
            if attempt < retry_limit(
                answer.status, status_detail(answer.body), self._policy.max_retries
            ):
                attempt += 1
                wait = retry_wait(answer.retry_after, attempt, self._policy.backoff)
                await asyncio.sleep(wait)
                continue
            return answer.status, answer.body, attempt

    async def _attempt(
        self, pool: Pool, request: bytes, limit: int, answered: list[bool]
    ) -> Answer:
        """One request; an error answer's body is read only as far as its Status message."""
        answer, _ = await pool.get(request, limit, answered)
        return answer

    async def pages(
        self,
        path: str,
        doing: str,
        errors: Errors = LISTING,
        *,
        cap: int,
        accept: str = "",
        refuse: Callable[[int, str], Exception | None] | None = None,
    ) -> AsyncIterator[tuple[list[dict[str, Any]], bool]]:
        """Each page of a Kubernetes list as it arrives: its items, and whether it starts a
        restarted pass (the contract of shared.core.k8s_lists).

        ``GET path?limit=N``, then ``&continue=`` with each page's token until it is empty. A
        token that expired (410 Gone) starts the list again from the first page, LIST_RESTARTS
        times (its first page then says ``restarted``: drop what the expired pass gave); a
        token that comes back, or more than MAX_PAGES pages, is an endless list. ``accept``
        replaces the Accept header (``application/json;as=PartialObjectMetadataList;...``).
        ``refuse(status, detail)`` (``detail``: the Status message) may turn an error answer
        into the caller's own exception (a 403 or 404 of a section 4 list); None keeps
        ``errors.answer``.
        """
        restarts = 0
        restarted = False
        token = ""
        seen: set[str] = set()
        number = 0
        while True:
            number += 1
            if number > MAX_PAGES:
                raise errors.answer(endless_list_reason(f"after {MAX_PAGES:,} pages", doing))
            query = f"limit={self._policy.page_size}"
            if token:
                query += f"&continue={_quote(token)}"
            status, body, attempt = await self._fetch(path, doing, errors, query, cap, accept)
            if not 200 <= status <= 299:
                detail = status_detail(body)
                if status == 410 and token and restarts < LIST_RESTARTS:
                    restarts += 1
                    restarted, token, number = True, "", 0
                    seen.clear()
                    continue
                if status == 410 and token:
                    raise errors.answer(expired_list_reason(doing, restarts, detail))
                own = refuse(status, detail) if refuse is not None else None
                if own is not None:
                    raise own
                raise errors.answer(status_message(status, detail, doing, attempt))
            items, token = _page(body, doing, errors)
            yield items, restarted
            restarted = False
            if not token:
                return
            # A consistent list never hands out the same token twice: it would loop forever.
            if token in seen:
                raise errors.answer(
                    endless_list_reason(f"on page {number} (a continue token came back)", doing)
                )
            seen.add(token)

    # -- connections -----------------------------------------------------------------------

    def _connections(self, errors: Errors) -> Pool:
        if self._pool is not None:
            return self._pool
        if self._closed:
            raise errors.answer(f"the session to the API server {self.server} is closed")
        try:
            context = self._tls.context()
        except (ssl.SSLError, OSError) as exc:  # the CA or client certificate is unusable
            raise errors.answer(tls_message(self.server, exc)) from None
        try:
            target = Target.of(
                self.server,
                context,
                server_hostname=self._server_hostname,
                proxy=self._proxy,
                proxy_headers=self._proxy_headers,
            )
        except ValueError as exc:
            raise errors.answer(f"cannot reach the API server {self.server}: {exc}") from None
        self._pool = Pool(target, self._policy.pool_size, ERROR_BODY_BYTES)
        return self._pool

    async def _request_headers(self, errors: Errors) -> dict[str, str]:
        try:
            credential = await self._auth.headers()
        except CredentialsError as exc:
            raise errors.answer(str(exc)) from None
        return {**self._headers, **credential}

    async def close(self) -> None:
        """Drop the connections (no TLS shutdown to wait for: nothing outlives the loop)."""
        self._closed = True
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()

    @property
    def connections(self) -> int:
        """Connections open now (for tests)."""
        return len(self._pool.connections) if self._pool is not None else 0


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
