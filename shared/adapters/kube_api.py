"""The Kubernetes edge: list nodes and read configz through one cluster's API server.

Node lists use the official kubernetes client with ``_preload_content=False`` and parse the
bytes here: ``list_node`` would otherwise build thousands of model objects the scanner does not
need. configz reads go through ``shared.adapters.configz_reader`` (aiohttp on one event loop,
with the same ``Configuration``: the same credential and CA); the error classification both use
is the set of small functions at the end of this module. TLS is always verified against the
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
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar, cast

import urllib3
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from shared.adapters.kubeconfig import KubeEndpoint
from shared.core.errors import (
    ApiServerError,
    ApiServerUnreachableError,
    ConfigzFetchError,
    ScannerError,
)
from shared.core.model import Node

if TYPE_CHECKING:
    from shared.adapters.configz_reader import ConfigzReader, LoopThread

log = logging.getLogger(__name__)

AGENTPOOL_LABELS = ("kubernetes.azure.com/agentpool", "agentpool")
NODE_PAGE_SIZE = 500
NODE_LIST_MAX_BYTES = 64 * 1024 * 1024
MAX_RETRY_AFTER_SECONDS = 30.0
_clock = time.monotonic  # the configz body's time bound (a unit test slows it down)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RequestPolicy:
    """Per-request limits shared by every call of a session."""

    timeout: float = 10.0
    max_retries: int = 3
    max_body_bytes: int = 1024 * 1024
    pool_size: int = 8
    page_size: int = NODE_PAGE_SIZE
    backoff: float = 0.5


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


# -- how an answer or a failure is classified; shared with shared.adapters.configz_reader ------


def retry_limit(status: int, detail: str, max_retries: int) -> int:
    """How many retries an error answer allows: 429 and 5xx ``max_retries``, others none.

    "error trying to reach service" (the API server could not dial the kubelet) is retried
    once, not ``max_retries`` times.
    """
    if status != 429 and status < 500:
        return 0
    if "error trying to reach service" in detail:
        return min(1, max_retries)
    return max_retries


def retry_wait(retry_after: object, attempt: int, backoff: float) -> float:
    """Seconds before retry ``attempt``: Retry-After when it is a number, else exponential."""
    if retry_after is not None:
        try:
            return min(max(float(str(retry_after)), 0.0), MAX_RETRY_AFTER_SECONDS)
        except ValueError:
            pass
    backoff_seconds: float = backoff * (2 ** (attempt - 1))
    return min(backoff_seconds, MAX_RETRY_AFTER_SECONDS)


def body_cap_message(limit: int, error: type[ScannerError] = ConfigzFetchError) -> str:
    """A body went over its cap (CONFIGZ_MAX_BYTES for configz) and was not read further."""
    setting = " (CONFIGZ_MAX_BYTES)" if error is ConfigzFetchError else ""
    return f"response body exceeds {limit} bytes{setting}; not read further"


def tls_message(server: str, exc: BaseException) -> str:
    """TLS verification against the cluster CA failed (named as such)."""
    return (
        f"TLS verification of the API server {server} failed against the "
        f"cluster CA from its kubeconfig ({_first_line(exc)})"
    )


def timeout_message(timeout: float, doing: str, server: str) -> str:
    """A request did not finish within SCAN_REQUEST_TIMEOUT."""
    return f"timed out after {timeout:g}s while {doing} (SCAN_REQUEST_TIMEOUT) at {server}"


def broken_message(server: str, doing: str, exc: BaseException) -> str:
    """The connection broke mid-request (reset, closed, truncated body)."""
    return f"connection to the API server {server} broke while {doing} ({_first_line(exc)})"


def unreachable_message(server: str, doing: str, exc: BaseException) -> str:
    """No connection to the API server at all."""
    return (
        f"API server {server} unreachable while {doing} ({_first_line(exc)}); "
        "a private cluster or a firewall (authorized IP ranges) can cause this"
    )


def status_message(status: int, detail: str, doing: str, retries: int) -> str:
    """An error answer: its status, what it means for the scanner, and the Status message."""
    after = f" after {retries} {'retry' if retries == 1 else 'retries'}" if retries else ""
    if status == 401:
        hint = "the API server rejected the scanner's credential"
    elif status == 403 and doing == "reading configz":
        hint = nodes_proxy_denied_hint()
    elif status == 403:
        hint = (
            "the scanner's identity is not authorized (it needs get/list on nodes and get on "
            "nodes/proxy; see infra/k8s and the README's Permissions section)"
        )
    elif status == 404 and doing == "reading configz":
        hint = node_gone_hint()
    elif status == 404:
        hint = "not found"
    elif "error trying to reach service" in detail and _KUBELET_TLS in detail:
        hint = kubelet_tls_hint()
    elif "error trying to reach service" in detail:
        hint = "the API server could not reach the node's kubelet (node down, NotReady or network)"
    elif status in (500, 502, 503, 504):
        hint = "the API server could not complete the request"
    elif status == 429:
        hint = "the API server kept throttling the scanner"
    else:
        hint = "unexpected answer"
    return f"HTTP {status} while {doing}{after}: {hint}" + (f": {detail}" if detail else "")


# -- reasons an operator acts on (one function each, so other callers word them alike) -----

_KUBELET_TLS = "tls: failed to verify certificate"


def nodes_proxy_denied_hint() -> str:
    """A 403 on a node's configz: the identity lacks ``get`` on ``nodes/proxy``."""
    return (
        "the scanner's identity may not get nodes/proxy on this cluster: grant it get on "
        "nodes/proxy (Kubernetes RBAC: the ClusterRole in infra/k8s; Azure RBAC clusters: the "
        "data action Microsoft.ContainerService/managedClusters/nodes/read; see the README's "
        "Permissions section)"
    )


def node_gone_hint() -> str:
    """A 404 on a node's configz: the node left between the node list and this read."""
    return (
        "the node no longer exists (deleted or scaled in after the node list was read); "
        "the next run will not list it"
    )


def kubelet_tls_hint() -> str:
    """kube-apiserver could not verify the kubelet's serving certificate.

    The node proxy answers ServiceUnavailable "error trying to reach service: <Go error>"
    (kubernetes staging/src/k8s.io/apimachinery/pkg/util/proxy/transport.go), and Go words the
    failed verification "tls: failed to verify certificate: x509: ..." (crypto/tls common.go).
    """
    return (
        "the API server could not verify the kubelet's serving certificate (an expired, "
        "self-signed or not yet approved kubelet certificate; check serverTLSBootstrap and the "
        "node's kubelet-serving CSR)"
    )


def refused_reason(server: str, doing: str) -> str:
    """Connecting to the API server was refused: nothing listens at its address."""
    return (
        f"the API server {server} refused the connection while {doing} (nothing listens there: "
        "the cluster may be stopping, starting or upgrading, or its API server is down)"
    )


def endless_list_reason(where: str) -> str:
    """The node list's ``continue`` tokens do not lead to an end."""
    return (
        f"node list did not end: the API server's continue token loops {where}; no node of "
        "this cluster is scanned rather than some twice (an API server or proxy defect)"
    )


def slow_body_reason(timeout: float, what: str = "configz body") -> str:
    """A body still incomplete when its time was up (headers came, bytes trickled)."""
    sender = "the API server or the kubelet" if what == "configz body" else "the API server"
    return (
        f"{what} not received in full within {timeout:g}s (SCAN_REQUEST_TIMEOUT): "
        f"{sender} sent it too slowly"
    )


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


def status_detail(body: object) -> str:
    """The ``message`` of a Kubernetes Status body, cut short; never the raw body."""
    if isinstance(body, bytes):
        body = body[:4096].decode("utf-8", "replace")
    if not isinstance(body, str) or not body:
        return ""
    try:
        document = json.loads(body)
    except ValueError:
        return ""
    message = document.get("message") if isinstance(document, dict) else None
    return str(message)[:300] if message else ""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]


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
