"""What every request to a Kubernetes API server shares: its limits, its retry policy, and the
words its failures are reported in.

The lean client (shared.adapters.kube_client) uses it for node-list pages and configz reads
alike, so a 429 is retried the same way and a 403 names the same grant
whichever path met it. Every message is written for an operator to act on, and none contains a
token, a key or a body beyond the Status message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from shared.core.errors import ConfigzFetchError, ScannerError

NODE_PAGE_SIZE = 500
MAX_RETRY_AFTER_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class RequestPolicy:
    """Per-request limits shared by every call of a session."""

    timeout: float = 10.0
    max_retries: int = 3
    max_body_bytes: int = 1024 * 1024
    pool_size: int = 8
    page_size: int = NODE_PAGE_SIZE
    backoff: float = 0.5


# -- how an answer or a failure is classified --------------------------------------------


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
        f"cluster CA from its kubeconfig ({first_line(exc)})"
    )


def timeout_message(timeout: float, doing: str, server: str) -> str:
    """A request did not finish within SCAN_REQUEST_TIMEOUT."""
    return f"timed out after {timeout:g}s while {doing} (SCAN_REQUEST_TIMEOUT) at {server}"


def broken_message(server: str, doing: str, exc: BaseException) -> str:
    """The connection broke mid-request (reset, closed, truncated body)."""
    return f"connection to the API server {server} broke while {doing} ({first_line(exc)})"


def unreachable_message(server: str, doing: str, exc: BaseException) -> str:
    """No connection to the API server at all."""
    return (
        f"API server {server} unreachable while {doing} ({first_line(exc)}); "
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


def endless_list_reason(where: str, doing: str = "listing nodes") -> str:
    """A list's ``continue`` tokens do not lead to an end (the node list, or a section 4 list)."""
    if doing == "listing nodes":
        return (
            f"node list did not end: the API server's continue token loops {where}; no node of "
            "this cluster is scanned rather than some twice (an API server or proxy defect)"
        )
    what = doing.removeprefix("listing ")
    return (
        f"{what} list did not end: the API server's continue token loops {where}; the controls "
        "that need it are not judged rather than judged from part of it (an API server or "
        "proxy defect)"
    )


def expired_list_reason(doing: str, restarts: int, detail: str) -> str:
    """A list's continue token expired (HTTP 410 Gone) again after the list was started over.

    A continue token is valid "for a limited amount of time (by default 5 minutes)"; after that
    the API server answers 410 Gone and the client must start the list again (kubernetes/website
    ``content/en/docs/reference/using-api/api-concepts.md``, "Retrieving large results sets in
    chunks").
    """
    tail = f": {detail}" if detail else ""
    again = "once" if restarts == 1 else f"{restarts} times"
    return (
        f"HTTP 410 while {doing}: the list's continue token expired before its last page, "
        f"again after the list was started over {again} (the cluster changes faster than it "
        f"can be listed){tail}"
    )


def not_a_list_reason(doing: str, exc: BaseException) -> str:
    """A list page that is not a Kubernetes list document."""
    return f"the API server's answer while {doing} is not a Kubernetes list ({first_line(exc)})"


def slow_body_reason(timeout: float, what: str = "configz body") -> str:
    """A body still incomplete when its time was up (headers came, bytes trickled)."""
    sender = "the API server or the kubelet" if what == "configz body" else "the API server"
    return (
        f"{what} not received in full within {timeout:g}s (SCAN_REQUEST_TIMEOUT): "
        f"{sender} sent it too slowly"
    )


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


def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]
