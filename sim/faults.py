"""Faults that tests switch on and off while the estate runs.

A ``Fault`` names an endpoint (token, ARM, Resource Graph and its ``securityresources`` /
``authorizationresources`` tables, listClusterUserCredential, diagnostic settings, role
definitions, node list, configz, the section 4 lists, ingestion, run command, the Entra
tenant's OpenID metadata and keys), an optional target (cluster, node, stream, subscription; ``None``
matches any), an action and how many times it fires (``times=None``: until removed). Servers
call ``FaultRegistry.take`` once per request; the first matching fault wins and is consumed.

Actions:

* ``ERROR``: answer ``status`` with the error body the real service sends for it (a
  Kubernetes ``Status``, an ARM ``{"error": ...}``...), plus ``Retry-After`` when set.
* ``UNREACHABLE``: configz only; kube-apiserver cannot dial the kubelet.
* ``DELAY``: wait ``delay`` seconds, then answer normally.
* ``DROP``: close the connection without answering (a reset mid-request).
* ``BODY``: answer ``status`` with the raw ``body`` and ``content_type``.
* ``SLOW_BODY``: the normal answer's head at once, then its body a few bytes (``chunk``) every
  ``delay`` seconds: a peer that keeps each socket read alive but never finishes in time.
* ``TRUNCATE``: the normal answer with its full ``Content-Length``, but only the first
  ``chunk`` bytes of the body, then the connection closes.
* ``WRONG_CA``: credentials only; the kubeconfig carries a CA that did not sign the cluster's
  API server certificate (a rotated or foreign CA).
* ``REFUSED``: credentials only; the kubeconfig names an address where nothing listens, so
  connecting is refused (an API server that is down; not a private cluster).
* ``ENDLESS_CONTINUE``: node list only; the last page's ``continue`` token leads back to the
  first page, so a client that follows tokens blindly never stops.
* ``SHORT_PAGES``: section 4 lists only; every page holds at most ``chunk`` items (with a
  ``continue`` token while more remain), whatever ``limit`` the client asked for. A server may
  do that: "Setting a limit may return fewer than the requested amount of items ... clients
  should only use the presence of the continue field to determine whether more results are
  available" (``ListOptions.Limit``, kubernetes/apimachinery ``pkg/apis/meta/v1/types.go``,
  commit 048d783371697f65e816d3d923481c476cc85e06). It makes the demo's small lists paged, so
  a fault on a continue request (a 410) can fire there.

On the section 4 lists (``POD_LIST`` ...), ``continued=True`` makes a fault catch only pages
requested with a continue token: ``Fault(Endpoint.POD_LIST, status=410, continued=True)`` is an
expired continue token (the apiserver's ``Expired`` Status with an "inconsistent" token). The
first matching fault wins, so a 410 meant for continue requests is added before the
``SHORT_PAGES`` fault that makes them happen.

New kinds of fault are new ``Action`` members handled where they make sense; the registry and
the matching stay as they are.
"""

from __future__ import annotations

import asyncio
import enum
import itertools
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sim.http import Response

#: What kube-apiserver answers when its dial to the kubelet fails TLS verification: the proxy
#: transport wraps every round-trip error as ServiceUnavailable "error trying to reach service:
#: %v" (kubernetes staging/src/k8s.io/apimachinery/pkg/util/proxy/transport.go,
#: Transport.RoundTrip), and Go's crypto/tls words a failed verification "tls: failed to verify
#: certificate: %s" (CertificateVerificationError, common.go) around crypto/x509's
#: UnknownAuthorityError ("x509: certificate signed by unknown authority", verify.go).
KUBELET_TLS_MESSAGE = (
    "error trying to reach service: tls: failed to verify certificate: "
    "x509: certificate signed by unknown authority"
)


class Endpoint(enum.StrEnum):
    """The kinds of call a fault can target."""

    TOKEN = "token"
    ARM = "arm"
    RESOURCE_GRAPH = "resource-graph"
    CREDENTIALS = "credentials"
    NODE_LIST = "node-list"
    CONFIGZ = "configz"
    INGESTION = "ingestion"
    RUN_COMMAND = "run-command"
    COMMAND_RESULT = "command-result"
    # the section 4 lists (sim.kubelists), one per resource
    NAMESPACE_LIST = "namespace-list"
    POD_LIST = "pod-list"
    SERVICEACCOUNT_LIST = "serviceaccount-list"
    SERVICE_LIST = "service-list"
    CONFIGMAP_LIST = "configmap-list"
    CLUSTERROLE_LIST = "clusterrole-list"
    CLUSTERROLEBINDING_LIST = "clusterrolebinding-list"
    ROLE_LIST = "role-list"
    ROLEBINDING_LIST = "rolebinding-list"
    NETWORKPOLICY_LIST = "networkpolicy-list"
    INGRESS_LIST = "ingress-list"
    DEPLOYMENT_LIST = "deployment-list"
    DAEMONSET_LIST = "daemonset-list"
    STATEFULSET_LIST = "statefulset-list"
    REPLICASET_LIST = "replicaset-list"
    JOB_LIST = "job-list"
    CRONJOB_LIST = "cronjob-list"
    VALIDATINGWEBHOOK_LIST = "validatingwebhook-list"
    MUTATINGWEBHOOK_LIST = "mutatingwebhook-list"
    CALICO_POLICY_LIST = "calico-policy-list"
    CILIUM_POLICY_LIST = "cilium-policy-list"
    CILIUM_CLUSTERWIDE_POLICY_LIST = "cilium-clusterwide-policy-list"
    OPENID = "openid-metadata"
    JWKS = "jwks"
    DIAGNOSTIC_SETTINGS = "diagnostic-settings"  # GET {cluster}/providers/Microsoft.Insights/...
    ROLE_DEFINITION = (
        "role-definition"  # GET .../providers/Microsoft.Authorization/roleDefinitions/{id}
    )
    SECURITY_RESOURCES = "security-resources"  # Resource Graph queries of securityresources
    AUTHORIZATION_RESOURCES = "authorization-resources"  # ... of authorizationresources


class Action(enum.StrEnum):
    """What a fault does to the request it catches."""

    ERROR = "error"
    UNREACHABLE = "unreachable"
    DELAY = "delay"
    DROP = "drop"
    BODY = "body"
    SLOW_BODY = "slow-body"
    TRUNCATE = "truncate"
    WRONG_CA = "wrong-ca"
    REFUSED = "refused"
    ENDLESS_CONTINUE = "endless-continue"
    SHORT_PAGES = "short-pages"


#: Actions a server answers by changing its normal answer, not by replacing it.
SHAPING = frozenset({Action.SLOW_BODY, Action.TRUNCATE})


@dataclass(frozen=True, slots=True)
class Fault:
    """One fault rule. ``None`` targets match anything."""

    endpoint: Endpoint
    action: Action = Action.ERROR
    status: int = 503
    retry_after: int | None = None
    cluster: str | None = None
    node: str | None = None
    stream: str | None = None
    subscription: str | None = None
    times: int | None = None
    delay: float = 0.0
    body: bytes = b""
    content_type: str = "application/json"
    message: str = ""
    chunk: int = 16
    continued: bool | None = None  # lists: True only pages that carry a continue token

    def matches(
        self,
        endpoint: Endpoint,
        *,
        cluster: str | None,
        node: str | None,
        stream: str | None,
        subscription: str | None,
        continued: bool | None = None,
    ) -> bool:
        """True when this fault applies to a call with these coordinates."""
        return (
            self.endpoint == endpoint
            and (self.continued is None or self.continued == continued)
            and (self.cluster is None or self.cluster == cluster)
            and (self.node is None or self.node == node)
            and (self.stream is None or self.stream == stream)
            and (
                self.subscription is None
                or (subscription is not None and self.subscription.lower() == subscription.lower())
            )
        )

    def retry_after_headers(self) -> list[tuple[str, str]]:
        """``[("Retry-After", n)]`` when the fault sets one."""
        return [] if self.retry_after is None else [("Retry-After", str(self.retry_after))]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Fault:
        """A fault from JSON (serve mode's ``--faults`` file); ``body`` may be a string."""
        values = dict(data)
        values["endpoint"] = Endpoint(values["endpoint"])
        if "action" in values:
            values["action"] = Action(values["action"])
        if isinstance(values.get("body"), str):
            values["body"] = values["body"].encode()
        return cls(**values)


async def resolve(
    fault: Fault,
    render_error: Callable[[Fault], Response],
    normal: Callable[[], Response] | None = None,
) -> Response | None:
    """What the server answers under ``fault``: a Response, or None to answer normally.

    ``render_error`` builds the service's own error answer for ERROR (and for UNREACHABLE,
    which only the API server gives a meaning of its own). ``normal`` builds the answer the
    server would give without the fault; SLOW_BODY and TRUNCATE reshape it (a server that
    cannot build it shapes its error answer instead).
    """
    if fault.action is Action.DELAY:
        await asyncio.sleep(fault.delay)
        return None
    if fault.action is Action.DROP:
        return Response(0, drop=True)
    if fault.action is Action.BODY:
        return Response(fault.status, fault.body, fault.content_type, fault.retry_after_headers())
    if fault.action in SHAPING:
        response = normal() if normal is not None else render_error(fault)
        if fault.action is Action.SLOW_BODY:
            response.trickle = max(fault.delay, 0.001)
            response.trickle_bytes = max(1, fault.chunk)
        else:
            response.truncate = max(0, min(fault.chunk, len(response.body) - 1))
        return response
    return render_error(fault)


@dataclass
class _Entry:
    fault: Fault
    remaining: int | None
    hits: int = 0


@dataclass
class FaultRegistry:
    """Thread-safe, ordered set of active faults; tests change it while servers read it."""

    _entries: dict[int, _Entry] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _caught: dict[int, int] = field(default_factory=dict)

    def add(self, fault: Fault) -> int:
        """Activate ``fault``; returns its id (for ``remove`` and ``hits``)."""
        if fault.times is not None and fault.times < 1:
            raise ValueError("times must be >= 1 (or None for 'until removed')")
        with self._lock:
            fault_id = next(self._ids)
            self._entries[fault_id] = _Entry(fault, fault.times)
            return fault_id

    def remove(self, fault_id: int) -> None:
        """Deactivate one fault (no error if it is already gone)."""
        with self._lock:
            self._entries.pop(fault_id, None)

    def clear(self) -> None:
        """Deactivate every fault."""
        with self._lock:
            self._entries.clear()
            self._caught.clear()

    def active(self) -> list[Fault]:
        """The faults still armed, in the order they were added."""
        with self._lock:
            return [e.fault for e in self._entries.values()]

    def hits(self, fault_id: int) -> int:
        """How many requests ``fault_id`` caught so far (0 once it is removed)."""
        with self._lock:
            entry = self._entries.get(fault_id)
            return entry.hits if entry is not None else 0

    def caught(self, fault_id: int) -> int:
        """How many requests ``fault_id`` caught, also after its ``times`` ran out (until
        ``clear``): the figure a retry bound is checked against."""
        with self._lock:
            return self._caught.get(fault_id, 0)

    def take(
        self,
        endpoint: Endpoint,
        *,
        cluster: str | None = None,
        node: str | None = None,
        stream: str | None = None,
        subscription: str | None = None,
        continued: bool | None = None,
    ) -> Fault | None:
        """The first matching fault, consuming one of its ``times``; None if none applies."""
        if not self._entries:  # the common case: no lock on the hot path
            return None
        with self._lock:
            for fault_id, entry in list(self._entries.items()):
                if not entry.fault.matches(
                    endpoint,
                    cluster=cluster,
                    node=node,
                    stream=stream,
                    subscription=subscription,
                    continued=continued,
                ):
                    continue
                entry.hits += 1
                self._caught[fault_id] = self._caught.get(fault_id, 0) + 1
                if entry.remaining is not None:
                    entry.remaining -= 1
                    if entry.remaining <= 0:
                        del self._entries[fault_id]
                return entry.fault
        return None

    # -- the usual faults, by name ----------------------------------------------------------

    def node_unreachable(self, cluster: str, node: str, *, times: int | None = None) -> int:
        """kube-apiserver cannot reach ``node``'s kubelet (500, dial tcp ... refused)."""
        return self.add(
            Fault(
                Endpoint.CONFIGZ, Action.UNREACHABLE, 500, cluster=cluster, node=node, times=times
            )
        )

    def configz_error(
        self,
        cluster: str,
        node: str | None = None,
        *,
        status: int = 503,
        retry_after: int | None = None,
        times: int | None = None,
    ) -> int:
        """configz answers ``status`` (500/503...) with a Status body and optional Retry-After."""
        return self.add(
            Fault(
                Endpoint.CONFIGZ,
                Action.ERROR,
                status,
                retry_after,
                cluster=cluster,
                node=node,
                times=times,
            )
        )

    def configz_throttle(
        self, cluster: str, node: str | None = None, *, retry_after: int = 1, times: int = 1
    ) -> int:
        """configz answers 429 with Retry-After ``times`` times, then succeeds again."""
        return self.configz_error(cluster, node, status=429, retry_after=retry_after, times=times)

    def ingestion_outage(
        self, on: bool = True, *, status: int = 503, retry_after: int | None = None
    ) -> int | None:
        """Logs Ingestion answers ``status`` to every upload (on) or works again (off)."""
        with self._lock:
            for fault_id, entry in list(self._entries.items()):
                if entry.fault.endpoint is Endpoint.INGESTION and entry.fault.stream is None:
                    del self._entries[fault_id]
        if not on:
            return None
        return self.add(Fault(Endpoint.INGESTION, Action.ERROR, status, retry_after))

    def arm_throttle(
        self,
        *,
        endpoint: Endpoint = Endpoint.ARM,
        retry_after: int = 1,
        times: int = 1,
        subscription: str | None = None,
    ) -> int:
        """ARM (or Resource Graph) answers 429 with Retry-After ``times`` times."""
        return self.add(
            Fault(endpoint, Action.ERROR, 429, retry_after, subscription=subscription, times=times)
        )

    def kubelet_tls_error(self, cluster: str, node: str | None = None) -> int:
        """kube-apiserver cannot verify ``node``'s kubelet serving certificate (503 Status)."""
        return self.add(
            Fault(
                Endpoint.CONFIGZ,
                Action.ERROR,
                503,
                cluster=cluster,
                node=node,
                message=KUBELET_TLS_MESSAGE,
            )
        )

    def slow_body(
        self, cluster: str, node: str | None = None, *, every: float = 0.5, chunk: int = 16
    ) -> int:
        """configz sends its head, then ``chunk`` bytes every ``every`` seconds."""
        return self.add(
            Fault(
                Endpoint.CONFIGZ,
                Action.SLOW_BODY,
                cluster=cluster,
                node=node,
                delay=every,
                chunk=chunk,
            )
        )

    def truncated_body(self, cluster: str, node: str | None = None, *, keep: int = 100) -> int:
        """configz announces its full length, sends ``keep`` bytes and closes."""
        return self.add(
            Fault(Endpoint.CONFIGZ, Action.TRUNCATE, cluster=cluster, node=node, chunk=keep)
        )

    def wrong_ca(self, cluster: str) -> int:
        """``cluster``'s kubeconfig carries a CA that did not sign its API server certificate."""
        return self.add(Fault(Endpoint.CREDENTIALS, Action.WRONG_CA, cluster=cluster))

    def api_server_refused(self, cluster: str) -> int:
        """``cluster``'s kubeconfig names an address that refuses connections."""
        return self.add(Fault(Endpoint.CREDENTIALS, Action.REFUSED, cluster=cluster))

    def endless_continue(self, cluster: str) -> int:
        """``cluster``'s node list never ends: its last page leads back to the first."""
        return self.add(Fault(Endpoint.NODE_LIST, Action.ENDLESS_CONTINUE, cluster=cluster))

    def delay(
        self,
        endpoint: Endpoint,
        seconds: float,
        *,
        times: int | None = None,
        cluster: str | None = None,
        node: str | None = None,
        stream: str | None = None,
    ) -> int:
        """Calls to ``endpoint`` (optionally one cluster/node/stream) wait ``seconds`` more."""
        return self.add(
            Fault(
                endpoint,
                Action.DELAY,
                delay=seconds,
                times=times,
                cluster=cluster,
                node=node,
                stream=stream,
            )
        )

    def list_expired(self, cluster: str, endpoint: Endpoint, *, times: int = 1) -> int:
        """The next ``times`` continue requests of that list answer 410 Expired."""
        return self.add(
            Fault(endpoint, Action.ERROR, 410, cluster=cluster, times=times, continued=True)
        )

    def short_pages(self, cluster: str, endpoint: Endpoint, *, per_page: int = 4) -> int:
        """That list answers at most ``per_page`` items per page, following ``continue``."""
        return self.add(Fault(endpoint, Action.SHORT_PAGES, cluster=cluster, chunk=per_page))

    def list_denied(self, cluster: str, endpoint: Endpoint, *, times: int | None = None) -> int:
        """That list answers the RBAC 403, as if the scanner's role lacked ``list`` on it."""
        return self.add(Fault(endpoint, Action.ERROR, 403, cluster=cluster, times=times))
