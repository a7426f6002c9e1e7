"""The Kubernetes edge: list nodes and read configz through one cluster's API server.

Node lists use the official kubernetes client with ``_preload_content=False`` and parse the
bytes here: ``list_node`` would otherwise build thousands of model objects the scanner does not
need. configz reads go through ``shared.adapters.configz_reader`` (aiohttp on one event loop,
with the same ``Configuration``: the same credential and CA); the error classification both use
is shared.adapters.kube_policy. TLS is always verified against the
cluster CA; there is no setting that turns it off.

Retries: 429 and 5xx answers are retried up to ``max_retries`` times, waiting for the
``Retry-After`` header when there is one (capped) and an exponential backoff otherwise.
"""

from __future__ import annotations

import json
import logging
import os
import ssl
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar, cast

import urllib3
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from shared.adapters.kube_policy import (
    RequestPolicy,
    body_cap_message,
    broken_message,
    endless_list_reason,
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
from shared.adapters.kubeconfig import KubeEndpoint
from shared.core.errors import (
    ApiServerError,
    ApiServerUnreachableError,
    ConfigzFetchError,
)
from shared.core.model import Node

if TYPE_CHECKING:
    from shared.adapters.configz_reader import ConfigzReader, LoopThread

log = logging.getLogger(__name__)

AGENTPOOL_LABELS = ("kubernetes.azure.com/agentpool", "agentpool")
NODE_LIST_MAX_BYTES = 64 * 1024 * 1024
_clock = time.monotonic  # the configz body's time bound (a unit test slows it down)
T = TypeVar("T")


class KubeSession:
    """A connection pool to one API server, authenticated by a bearer token or client cert."""

    def __init__(
        self,
        endpoint: KubeEndpoint,
        policy: RequestPolicy,
        token_provider: Callable[[], str] | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        configuration: k8s.Configuration | None = None,
        loop: LoopThread | None = None,
    ) -> None:
        self._endpoint = endpoint
        self._policy = policy
        self._sleep = sleep
        # ``loop``: the scan's shared configz loop (closed by its owner); without one the
        # session starts and closes its own.
        self._loop = loop
        self._own_loop: LoopThread | None = None
        self._reader: ConfigzReader | None = None
        self._reader_lock = threading.Lock()
        self._tempdir: tempfile.TemporaryDirectory[str] | None = None
        # ``configuration``: one the kubernetes config loader filled from a user's kubeconfig
        # (``scan --kubeconfig``); TLS verification is forced on either way.
        config = configuration or k8s.Configuration(host=endpoint.server)
        if configuration is None:
            config.ca_cert_data = endpoint.ca_pem
        config.verify_ssl = True
        config.retries = 0  # our loop retries; urllib3's own retries would double the waits
        config.connection_pool_maxsize = policy.pool_size
        if configuration is not None:
            pass
        elif token_provider is not None:
            config.api_key = {"BearerToken": token_provider()}
            config.api_key_prefix = {"BearerToken": "Bearer"}
            lock = threading.Lock()

            def refresh(cfg: Any) -> None:
                # The credential caches tokens and renews them before expiry.
                with lock:
                    cfg.api_key["BearerToken"] = token_provider()

            config.refresh_api_key_hook = refresh  # type: ignore[assignment]  # typed as None upstream
        elif endpoint.client_cert_pem and endpoint.client_key_pem:
            self._tempdir = tempfile.TemporaryDirectory(prefix="kubecred-")
            config.cert_file = _private_file(
                self._tempdir.name, "client.crt", endpoint.client_cert_pem
            )
            config.key_file = _private_file(
                self._tempdir.name, "client.key", endpoint.client_key_pem
            )
        elif endpoint.token:
            config.api_key = {"BearerToken": endpoint.token}
            config.api_key_prefix = {"BearerToken": "Bearer"}
        self._api_client = k8s.ApiClient(config)
        self._api = k8s.CoreV1Api(self._api_client)

    # -- nodes -----------------------------------------------------------------------------

    def list_nodes(self) -> list[Node]:
        """Every node, following ``continue`` tokens; ApiServerError on failure."""
        nodes: list[Node] = []
        token: str | None = None
        seen_tokens: set[str] = set()
        pages = 0
        while True:
            pages += 1
            if pages > 10_000:
                raise ApiServerError(endless_list_reason("after 10,000 pages"))
            kwargs: dict[str, Any] = {"limit": self._policy.page_size}
            if token:
                kwargs["_continue"] = token
            body = self._call(partial(self._list_page, kwargs), "listing nodes")
            try:
                document = json.loads(body)
                items = document.get("items") or []
                token = (document.get("metadata") or {}).get("continue") or None
                nodes.extend(_node(item) for item in items)
            except (ValueError, AttributeError, TypeError) as exc:
                raise ApiServerError(
                    f"the API server's node list is not a NodeList document ({exc})"
                ) from exc
            if not token:
                return nodes
            # A consistent list never hands out the same token twice: it would loop forever.
            if token in seen_tokens:
                raise ApiServerError(
                    endless_list_reason(f"on page {pages} (a continue token came back)")
                )
            seen_tokens.add(token)

    def _list_page(self, kwargs: dict[str, Any]) -> bytes:
        deadline = _clock() + self._policy.timeout
        response = self._api.list_node(
            _preload_content=False, _request_timeout=self._timeout(), **kwargs
        )
        return self._read_page(cast(urllib3.BaseHTTPResponse, response), deadline)

    # -- configz ---------------------------------------------------------------------------

    def read_configz(self, node_name: str) -> bytes:
        """The raw configz body of ``node_name``; ConfigzFetchError on failure."""
        return self.start_configz(node_name).result()

    def start_configz(self, node_name: str) -> Future[bytes]:
        """Begin reading ``node_name``'s configz; the future raises ConfigzFetchError on failure."""
        try:
            reader = self._configz_reader()
        except ConfigzFetchError as exc:
            failed: Future[bytes] = Future()
            failed.set_exception(exc)
            return failed
        return reader.start(node_name)

    def close(self) -> None:
        """Close pooled connections and remove any credential files."""
        with self._reader_lock:
            reader, self._reader = self._reader, None
            own_loop, self._own_loop = self._own_loop, None
        if reader is not None:
            reader.close()
        if own_loop is not None:
            own_loop.close()
        self._api_client.close()  # type: ignore[no-untyped-call]  # untyped in kubernetes 37
        if self._tempdir is not None:
            self._tempdir.cleanup()
            self._tempdir = None

    def _configz_reader(self) -> ConfigzReader:
        from shared.adapters.configz_reader import ConfigzReader, LoopThread  # noqa: PLC0415

        with self._reader_lock:
            if self._reader is None:
                loop = self._loop
                if loop is None:
                    loop = self._own_loop = self._own_loop or LoopThread()
                try:
                    self._reader = ConfigzReader(
                        self._api_client.configuration,
                        self._policy,
                        loop,
                        user_agent=str(self._api_client.user_agent or ""),
                    )
                except (ssl.SSLError, OSError) as exc:  # the CA or client certificate is unusable
                    raise ConfigzFetchError(tls_message(self._endpoint.server, exc)) from None
                except ValueError as exc:  # a proxy the reader cannot use
                    raise ConfigzFetchError(
                        f"cannot reach the API server {self._endpoint.server}: {exc}"
                    ) from None
            return self._reader

    # -- internals -------------------------------------------------------------------------

    def _timeout(self) -> tuple[float, float]:
        return (self._policy.timeout, self._policy.timeout)

    def _read_page(self, response: urllib3.BaseHTTPResponse, deadline: float) -> bytes:
        """A node-list page's body, whole by ``deadline`` (SCAN_REQUEST_TIMEOUT from the
        request's start, however its bytes trickle in) and under NODE_LIST_MAX_BYTES: a page of
        NODE_PAGE_SIZE full Node objects is far larger than a configz body, and an over-size
        page is the cluster's error, not one node's. configz bodies have their own reader
        (shared.adapters.configz_reader)."""
        try:
            chunks: list[bytes] = []
            size = 0
            for chunk in _until(response, deadline, self._policy.timeout):
                size += len(chunk)
                if size > NODE_LIST_MAX_BYTES:
                    raise ApiServerError(body_cap_message(NODE_LIST_MAX_BYTES, ApiServerError))
                chunks.append(chunk)
            return b"".join(chunks)
        finally:
            response.release_conn()

    def _call(self, fetch: Callable[[], T], doing: str) -> T:
        """``fetch`` (a node-list call) with bounded retries; ApiServerError naming the cause.

        No HTTP answer at all is ApiServerUnreachableError (a private cluster's fallback keys
        on it); a TLS failure or an error answer is an ApiServerError.
        """
        error = ApiServerError
        silent = ApiServerUnreachableError
        attempt = 0
        while True:
            try:
                return fetch()
            except ApiException as exc:
                status = exc.status or 0
                if status == 0:  # the client reports TLS failures as status 0
                    raise error(self._tls_message(exc)) from None
                limit = retry_limit(status, status_detail(exc.body), self._policy.max_retries)
                if attempt < limit:
                    attempt += 1
                    self._sleep(self._wait(exc, attempt))
                    continue
                raise error(self._status_message(exc, doing, attempt)) from None
            except (urllib3.exceptions.HTTPError, TimeoutError) as raised:
                # urllib3 wraps connect/read failures in MaxRetryError (retries=0): name the cause.
                # A TLS failure is an answer; everything else here is no answer at all (silent).
                cause = _cause(raised)
                if isinstance(cause, urllib3.exceptions.ProtocolError):
                    if attempt < min(1, self._policy.max_retries):
                        attempt += 1
                        continue
                    raise silent(broken_message(self._endpoint.server, doing, cause)) from None
                if isinstance(cause, urllib3.exceptions.SSLError):
                    raise error(self._tls_message(cause)) from None
                if _refused(cause):
                    raise silent(refused_reason(self._endpoint.server, doing)) from None
                if isinstance(
                    cause, urllib3.exceptions.TimeoutError | TimeoutError
                ) and not isinstance(cause, urllib3.exceptions.NewConnectionError):
                    raise silent(
                        timeout_message(self._policy.timeout, doing, self._endpoint.server)
                    ) from None
                raise silent(unreachable_message(self._endpoint.server, doing, cause)) from None

    def _wait(self, exc: ApiException, attempt: int) -> float:
        headers = exc.headers or {}
        retry_after: object = headers.get("Retry-After") if hasattr(headers, "get") else None
        return retry_wait(retry_after, attempt, self._policy.backoff)

    def _tls_message(self, exc: Exception) -> str:
        return tls_message(self._endpoint.server, exc)

    def _status_message(self, exc: ApiException, doing: str, retries: int) -> str:
        return status_message(exc.status or 0, status_detail(exc.body), doing, retries)


def _until(response: urllib3.BaseHTTPResponse, deadline: float, timeout: float) -> Iterator[bytes]:
    """A node-list page's pieces as they arrive, each socket wait capped by what is left until
    ``deadline``; ApiServerError (slow_body_reason) once it passes. urllib3's read timeout
    alone bounds each socket read, not the whole body."""
    sock = getattr(getattr(response, "connection", None), "sock", None)
    while True:
        remaining = deadline - _clock()
        if remaining <= 0:
            raise ApiServerError(slow_body_reason(timeout, "node-list page"))
        if sock is not None:
            sock.settimeout(remaining)
        try:
            piece = response.read1(64 * 1024)
        except urllib3.exceptions.ReadTimeoutError:
            if _clock() >= deadline:
                raise ApiServerError(slow_body_reason(timeout, "node-list page")) from None
            raise
        if not piece:
            return
        yield piece


def _cause(exc: Exception) -> Exception:
    """The error behind urllib3's MaxRetryError (or ``exc`` itself)."""
    if isinstance(exc, urllib3.exceptions.MaxRetryError) and isinstance(exc.reason, Exception):
        return exc.reason
    return exc


def _refused(exc: Exception) -> bool:
    """True for a connection the peer refused (nothing listening at the address)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ConnectionRefusedError):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return "Connection refused" in str(exc)


def _private_file(directory: str, name: str, content: str) -> str:
    path = os.path.join(directory, name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(content)
    return path


def _node(item: dict[str, Any]) -> Node:
    metadata = item.get("metadata") or {}
    labels = metadata.get("labels") or {}
    status = item.get("status") or {}
    info = status.get("nodeInfo") or {}
    pool = next((labels[k] for k in AGENTPOOL_LABELS if labels.get(k)), "")
    ready = any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in status.get("conditions") or []
    )
    return Node(
        name=str(metadata.get("name", "")),
        node_pool=str(pool),
        kubelet_version=str(info.get("kubeletVersion", "")),
        os_image=str(info.get("osImage", "")),
        ready=ready,
    )
