"""One kube-apiserver per running cluster: node list, node get and the node proxy to configz.

Wire behaviour reproduced (kube-apiserver + AKS):

* ``GET /api/v1/nodes?limit=N&continue=T`` answers a ``NodeList`` whose ``metadata`` carries
  ``resourceVersion``, and ``continue`` + ``remainingItemCount`` while items remain. Continue
  tokens are the apiserver's own format (base64url JSON ``{"v":"meta.k8s.io/v1","rv":..,
  "start":..}``); a malformed one is a 400 ``invalid continue token: ...``.
* ``GET /api/v1/nodes/{name}/proxy/configz`` answers the kubelet's body
  (``{"kubeletconfig":{...}}``, ``application/json``). A kubelet the apiserver cannot dial gives
  503 ``ServiceUnavailable`` with ``error trying to reach service: dial tcp <ip>:10250: connect:
  connection refused`` (apimachinery ``pkg/util/proxy/transport.go`` wraps every round-trip
  error in ``errors.NewServiceUnavailable``; the node proxy uses that transport). An unknown node is 404 ``nodes "x" not found``.
* AuthN: an Entra token (audience ``6dae42f8-...``, the AKS AAD server app) makes the user its
  ``oid``, as AKS's guard does for tokens without ``upn``; a client certificate from the
  cluster CA (``CN=masterclient, O=system:masters``) or the kubeconfig's static token are the
  local account and work only while local accounts are enabled; a cluster without Entra
  integration rejects Entra tokens. Failure is the 401 ``Unauthorized`` Status.
* AuthZ before existence, as the filter chain does: 403 ``nodes "x" is forbidden: User "..."
  cannot get resource "nodes/proxy" in API group "" at the cluster scope`` (Azure RBAC
  clusters append guard's ": User does not have access to the resource in Azure...").
* Faults (sim.faults): configz and node-list errors are Status bodies with the reason
  and message of their code (a 403 on configz is the ``nodes/proxy`` denial, on the node list
  the ``list`` denial; a 404 on configz the ``not found`` of the node); SLOW_BODY and TRUNCATE reshape the normal configz answer;
  ENDLESS_CONTINUE makes the last node-list page carry a token back to the first.

Bodies are built once per node at start (NodeList items, configz per pool), so a request costs
a dictionary lookup, a token check (cached) and a write.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import bisect
import json
import uuid
from dataclasses import dataclass
from typing import Any

from sim.estate import AKS_SERVER_APP_ID, Identity, Latency, SimCluster, SimNode, stable_guid
from sim.faults import Action, Endpoint, Fault, FaultRegistry, resolve
from sim.http import Reply, Request, Response
from sim.identity import TokenAuthority, TokenError, bearer_token
from sim.kubeletconfig import configz_body, go_json
from sim.kubelists import TYPES, ClusterLists, ResourceType
from sim.pki import LOCAL_ACCOUNT_GROUP, ClusterPki, subject_fields
from sim.stats import Counters

AZURE_RBAC_DENIAL = (
    ": User does not have access to the resource in Azure. Update role assignment to allow access."
)
UNAUTHORIZED = (
    b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
    b'"message":"Unauthorized","reason":"Unauthorized","code":401}\n'
)
#: What etcd3's store answers for a continue token older than the compacted revision
#: (``inconsistentContinue`` in k8s.io/apiserver ``pkg/storage/errors`` / etcd3 store,
#: ``handleCompactedErrorForPaging``): 410 ``Expired``, with a fresh token (resourceVersion -1)
#: in ``metadata.continue`` that would continue inconsistently.
EXPIRED_CONTINUE = (
    "The provided continue parameter is too old to display a consistent list result. You can "
    "start a new list without the continue parameter, or use the continue token in this "
    "response to retrieve the remainder of the results. Continuing with the provided token "
    "results in an inconsistent list - objects that were created, modified, or deleted between "
    "the time the first chunk was returned and now may show up in the list."
)
_REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    410: "Expired",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}
_MESSAGES = {
    429: "Too many requests, please try again later.",
    500: "Internal error occurred: simulated failure",
    502: "error trying to reach service: EOF",
    503: "the server is currently unable to handle the request",
    504: "the server was unable to return a response in the time allotted, but may still be processing the request",
}
CREATED = "2025-03-10T08:15:42Z"
HEARTBEAT = "2025-06-02T09:41:07Z"


@dataclass(frozen=True, slots=True)
class ApiServerSpec:
    """Everything one API server needs; picklable so a worker process can serve it."""

    cluster: SimCluster
    subscription_id: str
    identity: Identity
    pki: ClusterPki
    latency: Latency
    resource_version: int = 48213


@dataclass(frozen=True, slots=True)
class _User:
    name: str
    groups: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _NodeEntry:
    node: SimNode
    item: bytes
    configz: bytes | None


def status_body(
    code: int,
    message: str,
    *,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> bytes:
    """A ``metav1.Status`` failure as kube-apiserver writes it (Go field order, newline)."""
    status: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
    }
    if reason:
        status["reason"] = reason
    if details:
        status["details"] = details
    status["code"] = code
    return go_json(status) + b"\n"


def encode_continue(resource_version: int, last_key: str) -> str:
    """A continue token in kube-apiserver's format: the next start key is the last returned
    key plus a NUL byte (etcd3 store ``encodeContinue``)."""
    raw = json.dumps(
        {"v": "meta.k8s.io/v1", "rv": resource_version, "start": last_key + "\x00"},
        separators=(",", ":"),
    )
    return base64.urlsafe_b64encode(raw.encode()).rstrip(b"=").decode("ascii")


class ContinueError(ValueError):
    """A continue token the apiserver cannot decode."""


def decode_continue(token: str) -> tuple[int, str]:
    """(resourceVersion, start key, NUL included) of a continue token; ContinueError with the apiserver's
    wording when it is malformed."""
    try:
        data = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        parsed = json.loads(data)
    except (binascii.Error, ValueError) as exc:
        raise ContinueError(f"continue key is not valid: {exc}") from None
    if not isinstance(parsed, dict) or parsed.get("v") != "meta.k8s.io/v1":
        raise ContinueError("continue key is not valid: server does not recognize this encoded key")
    rv = parsed.get("rv")
    if not isinstance(rv, int) or rv == 0 or rv < -1:  # -1: "continue at the latest version"
        raise ContinueError(
            "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)"
        )
    start = parsed.get("start")
    if not isinstance(start, str) or not start:
        raise ContinueError(
            "continue key is not valid: encoded start key empty (version meta.k8s.io/v1)"
        )
    return rv, start


def node_object(spec: ApiServerSpec, node: SimNode) -> dict[str, Any]:
    """A Node as it appears in a NodeList (no kind/apiVersion on items), Go field order."""
    return node_json(spec.cluster, spec.subscription_id, node, spec.resource_version)


def node_json(
    cluster: SimCluster, subscription_id: str, node: SimNode, resource_version: int = 48213
) -> dict[str, Any]:
    """``node_object`` without an API server (the run command simulation lists nodes too)."""
    pool = node.pool
    mc_group = f"MC_{cluster.resource_group}_{cluster.name}_{cluster.location}"
    max_pods = pool.configz.get("maxPods")
    pods = str(max_pods) if isinstance(max_pods, int) else "110"
    vmss = f"aks-{pool.name}-{cluster.vmss_suffix(pool)}-vmss"
    labels = {
        "agentpool": pool.name,
        "beta.kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/instance-type": pool.vm_size,
        "beta.kubernetes.io/os": "linux",
        "failure-domain.beta.kubernetes.io/region": cluster.location,
        "failure-domain.beta.kubernetes.io/zone": "0",
        "kubernetes.azure.com/agentpool": pool.name,
        "kubernetes.azure.com/cluster": mc_group,
        "kubernetes.azure.com/consolidated-additional-properties": stable_guid(
            cluster.name, "props"
        ),
        "kubernetes.azure.com/kubelet-identity-client-id": stable_guid(cluster.name, "kubelet"),
        "kubernetes.azure.com/mode": pool.mode.lower(),
        "kubernetes.azure.com/node-image-version": pool.node_image_version,
        "kubernetes.azure.com/nodepool-type": "VirtualMachineScaleSets",
        "kubernetes.azure.com/os-sku": pool.os_sku,
        "kubernetes.azure.com/role": "agent",
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": node.name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/role": "agent",
        "node-role.kubernetes.io/agent": "",
        "node.kubernetes.io/instance-type": pool.vm_size,
        "storageprofile": "managed",
        "storagetier": "Premium_LRS",
        "topology.disk.csi.azure.com/zone": "",
        "topology.kubernetes.io/region": cluster.location,
        "topology.kubernetes.io/zone": "0",
    }
    ready = node.override.ready
    condition_status = "False" if ready else "Unknown"

    def condition(kind: str, reason: str, message: str) -> dict[str, str]:
        return {
            "type": kind,
            "status": condition_status if kind != "Ready" else ("True" if ready else "Unknown"),
            "lastHeartbeatTime": HEARTBEAT,
            "lastTransitionTime": CREATED,
            "reason": reason if ready else "NodeStatusUnknown",
            "message": message if ready else "Kubelet stopped posting node status.",
        }

    serial = int(node.internal_ip.split(".")[2]) * 250 + int(node.internal_ip.split(".")[3]) - 4
    return {
        "metadata": {
            "name": node.name,
            "uid": stable_guid(cluster.name, node.name),
            "resourceVersion": str(resource_version - 100 + serial % 100),
            "creationTimestamp": CREATED,
            "labels": labels,
            "annotations": {
                "csi.volume.kubernetes.io/nodeid": json.dumps(
                    {"disk.csi.azure.com": node.name, "file.csi.azure.com": node.name},
                    separators=(",", ":"),
                ),
                "node.alpha.kubernetes.io/ttl": "0",
                "volumes.kubernetes.io/controller-managed-attach-detach": "true",
            },
        },
        "spec": {
            "podCIDR": f"10.244.{serial % 256}.0/24",
            "podCIDRs": [f"10.244.{serial % 256}.0/24"],
            "providerID": (
                f"azure:///subscriptions/{subscription_id}/resourceGroups/{mc_group.lower()}"
                f"/providers/Microsoft.Compute/virtualMachineScaleSets/{vmss}/virtualMachines/{node.index}"
            ),
        },
        "status": {
            "capacity": {
                "cpu": "4",
                "ephemeral-storage": "129886128Ki",
                "hugepages-1Gi": "0",
                "hugepages-2Mi": "0",
                "memory": "16365628Ki",
                "pods": pods,
            },
            "allocatable": {
                "cpu": "3860m",
                "ephemeral-storage": "119703055367",
                "hugepages-1Gi": "0",
                "hugepages-2Mi": "0",
                "memory": "12880956Ki",
                "pods": pods,
            },
            "conditions": [
                condition(
                    "MemoryPressure",
                    "KubeletHasSufficientMemory",
                    "kubelet has sufficient memory available",
                ),
                condition(
                    "DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"
                ),
                condition(
                    "PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"
                ),
                condition("Ready", "KubeletReady", "kubelet is posting ready status"),
            ],
            "addresses": [
                {"type": "InternalIP", "address": node.internal_ip},
                {"type": "Hostname", "address": node.name},
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "machineID": uuid.UUID(stable_guid(cluster.name, node.name, "machine")).hex,
                "systemUUID": stable_guid(cluster.name, node.name, "system"),
                "bootID": stable_guid(cluster.name, node.name, "boot"),
                "kernelVersion": pool.kernel_version,
                "osImage": pool.os_image,
                "containerRuntimeVersion": pool.container_runtime_version,
                "kubeletVersion": pool.kubelet_version,
                "kubeProxyVersion": pool.kubelet_version,
                "operatingSystem": "linux",
                "architecture": "amd64",
            },
        },
    }


class ApiServer:
    """The request handler of one cluster's API server."""

    def __init__(
        self,
        spec: ApiServerSpec,
        authority: TokenAuthority,
        faults: FaultRegistry,
        counters: Counters,
    ) -> None:
        self.spec = spec
        self.name = spec.cluster.name
        self._authority = authority
        self._faults = faults
        self._counters = counters
        self._aud = (AKS_SERVER_APP_ID,)
        bodies: dict[int, bytes] = {}
        entries: list[_NodeEntry] = []
        for node in sorted(spec.cluster.nodes(), key=lambda n: n.name):
            if node.override.unreachable:
                body = None
            elif node.override.body is not None:
                body = node.override.body
            else:
                config = node.configz
                key = id(config)
                if key not in bodies:
                    bodies[key] = configz_body(config)
                body = bodies[key]
            entries.append(_NodeEntry(node, go_json(node_object(spec, node)), body))
        self._entries = entries
        self._names = [e.node.name for e in entries]
        self._by_name = {e.node.name: e for e in entries}
        self._version = spec.cluster.kubernetes_version
        self.lists = ClusterLists(
            spec.cluster.name,
            spec.cluster.kube,
            self._names,
            scanner_principal=spec.identity.principal_id,
            kubernetes_rbac=not spec.cluster.azure_rbac,
            resource_version=spec.resource_version,
            kubernetes_version=spec.cluster.kubernetes_version,
        )

    async def handle(self, request: Request) -> Response:
        """Answer one request (counted, and its concurrency with others of its kind recorded)."""
        endpoint = _endpoint_of(request.path)
        self._counters.enter(endpoint, self.name)
        try:
            response = await self._route(request)
        except Reply as reply:
            response = reply.response
        finally:
            self._counters.leave(endpoint, self.name)
        self._counters.add(endpoint, self.name, response.status)
        return response

    async def _route(self, request: Request) -> Response:
        path = request.path
        if path in ("/healthz", "/livez", "/readyz"):
            return self._respond(200, b"ok", "text/plain; charset=utf-8")
        user = self._authenticate(request)
        if path == "/version":
            return self._version_response()
        if path == "/api/v1/nodes":
            if request.method != "GET":
                raise Reply(
                    self._status(
                        405,
                        "the server does not allow this method on the requested resource",
                        reason="MethodNotAllowed",
                    )
                )
            return await self._list(request, user)
        if path.startswith("/api/v1/nodes/"):
            parts = path[len("/api/v1/nodes/") :].split("/")
            if len(parts) == 1 and parts[0]:
                return self._get_node(parts[0], user)
            if len(parts) >= 2 and parts[0] and parts[1] == "proxy":
                return await self._proxy(request, parts[0], "/".join(parts[2:]), user)
        answer = await self._kube_route(request, user, path)
        if answer is not None:
            return answer
        raise Reply(
            self._status(
                404,
                "the server could not find the requested resource",
                reason="NotFound",
                details={
                    "causes": [
                        {"reason": "UnexpectedServerResponse", "message": "404 page not found"}
                    ]
                },
            )
        )

    # -- authentication and authorization ---------------------------------------------------

    def _authenticate(self, request: Request) -> _User:
        cluster = self.spec.cluster
        local_ok = not cluster.local_accounts_disabled
        common_name, organizations = subject_fields(request.peer_cert)
        if common_name and local_ok:
            return _User(common_name, organizations)
        token = bearer_token(request)
        if token is not None:
            if local_ok and token == self.spec.pki.static_token:
                return _User("clusterUser", (LOCAL_ACCOUNT_GROUP,))
            if cluster.aad_managed:
                try:
                    claims = self._authority.verify(token, self._aud)
                except TokenError:
                    raise Reply(self._unauthorized()) from None
                return _User(claims.object_id)
        raise Reply(self._unauthorized())

    def _authorized(self, user: _User, *, proxy: bool) -> bool:
        if LOCAL_ACCOUNT_GROUP in user.groups:
            return True
        return self.spec.cluster.allowed(user.name, self.spec.identity, proxy=proxy)

    def _forbidden(self, user: _User, verb: str, resource: str, name: str | None) -> Response:
        subject = f'nodes "{name}"' if name is not None else "nodes"
        message = (
            f'{subject} is forbidden: User "{user.name}" cannot {verb} resource "{resource}" '
            'in API group "" at the cluster scope'
        )
        if self.spec.cluster.azure_rbac:
            message += AZURE_RBAC_DENIAL
        details: dict[str, Any] = (
            {"kind": "nodes"} if name is None else {"name": name, "kind": "nodes"}
        )
        return self._status(403, message, reason="Forbidden", details=details)

    # -- handlers -------------------------------------------------------------------------

    async def _list(self, request: Request, user: _User) -> Response:
        if not self._authorized(user, proxy=False):
            return self._forbidden(user, "list", "nodes", None)
        await _sleep_ms(self.spec.latency.list_ms)
        fault = self._faults.take(Endpoint.NODE_LIST, cluster=self.name)
        endless = fault is not None and fault.action is Action.ENDLESS_CONTINUE
        if fault is not None and not endless:
            outcome = await resolve(fault, self._fault_status)
            if outcome is not None:
                return outcome
        limit_text = request.param("limit") or "0"
        try:
            limit = int(limit_text)
        except ValueError:
            return self._status(400, f'invalid value "{limit_text}" for limit', reason="BadRequest")
        start = 0
        token = request.param("continue")
        rv = self.spec.resource_version
        if token:
            try:
                rv, start_key = decode_continue(token)
            except ContinueError as exc:
                return self._status(400, f"invalid continue token: {exc}", reason="BadRequest")
            start = bisect.bisect_left(self._names, start_key)
        end = len(self._entries) if limit <= 0 else min(start + limit, len(self._entries))
        items = b",".join(e.item for e in self._entries[start:end])
        metadata: dict[str, Any] = {"resourceVersion": str(rv)}
        if end < len(self._entries):
            metadata["continue"] = encode_continue(rv, self._names[end - 1])
            metadata["remainingItemCount"] = len(self._entries) - end
        elif endless:  # the fault: the last page leads back to the first
            metadata["continue"] = encode_continue(rv, "")
            metadata["remainingItemCount"] = len(self._entries)
        body = (
            b'{"kind":"NodeList","apiVersion":"v1","metadata":'
            + go_json(metadata)
            + b',"items":['
            + items
            + b"]}\n"
        )
        return self._respond(200, body)

    async def _kube_route(self, request: Request, user: _User, path: str) -> Response | None:
        """Discovery (``/api``, ``/apis``) and the section 4 lists; None for other paths."""
        if path == "/api":
            versions = {
                "kind": "APIVersions",
                "versions": ["v1"],
                "serverAddressByClientCIDRs": [
                    {"clientCIDR": "0.0.0.0/0", "serverAddress": request.host}
                ],
            }
            return self._respond(200, go_json(versions))
        if path == "/apis":
            groups = {"kind": "APIGroupList", "apiVersion": "v1", "groups": self.lists.groups()}
            return self._respond(200, go_json(groups))
        target = parse_list_path(path)
        if target is None or not self.lists.served(target[0]):
            return None  # a CRD that is not installed: the server's 404, like any unknown path
        if request.method != "GET":
            raise Reply(
                self._status(
                    405,
                    "the server does not allow this method on the requested resource",
                    reason="MethodNotAllowed",
                )
            )
        refused = await self._list_refused(request, user, *target)
        if isinstance(refused, Response):
            return refused
        return self._kube_list(request, *target, page_cap=refused)

    async def _list_refused(
        self, request: Request, user: _User, rtype: ResourceType, namespace: str
    ) -> Response | int:
        """The denial or fault answer of a list request, or the most items a page of it may
        hold (0: what ``limit`` asks) to serve it."""
        denied = rtype.qualified in self.spec.cluster.kube.denied
        if LOCAL_ACCOUNT_GROUP not in user.groups and (
            denied or not self._authorized(user, proxy=False)
        ):
            return self._list_forbidden(user.name, rtype, namespace)
        await _sleep_ms(self.spec.latency.list_ms)
        token = request.param("continue") or ""
        fault = self._faults.take(rtype.endpoint, cluster=self.name, continued=bool(token))
        if fault is None:
            return 0
        if fault.action is Action.SHORT_PAGES:
            return max(1, fault.chunk)
        if fault.action is Action.ERROR and fault.status == 410 and not fault.message:
            return self._expired(token)
        if fault.action is Action.ERROR and fault.status == 403 and not fault.message:
            return self._list_forbidden(self.spec.identity.principal_id, rtype, namespace)
        answer = await resolve(fault, self._fault_status)
        return answer if answer is not None else 0

    def _kube_list(
        self, request: Request, rtype: ResourceType, namespace: str, *, page_cap: int = 0
    ) -> Response:
        """One page of a section 4 list (sim.kubelists): limit, continue, metadata-only;
        ``page_cap`` items at most when set (a SHORT_PAGES fault)."""
        token = request.param("continue") or ""
        for selector in ("labelSelector", "fieldSelector"):
            if request.param(selector):
                return self._status(
                    400, f"the simulator does not implement {selector}", reason="BadRequest"
                )
        limit_text = request.param("limit") or "0"
        try:
            limit = int(limit_text)
        except ValueError:
            return self._status(400, f'invalid value "{limit_text}" for limit', reason="BadRequest")
        if page_cap and (limit <= 0 or limit > page_cap):
            limit = page_cap
        rv = self.spec.resource_version
        start = ""
        if token:
            try:
                rv, start = decode_continue(token)
            except ContinueError as exc:
                return self._status(400, f"invalid continue token: {exc}", reason="BadRequest")
            if rv == -1:
                rv = self.spec.resource_version
        metadata_only = "as=PartialObjectMetadataList" in request.headers.get("accept", "")
        items, last, remaining = self.lists.page(
            rtype, start, limit, namespace=namespace, metadata_only=metadata_only
        )
        metadata: dict[str, Any] = {"resourceVersion": str(rv)}
        if remaining > 0:
            metadata["continue"] = encode_continue(rv, last)
            metadata["remainingItemCount"] = remaining
        if metadata_only:
            head = b'{"kind":"PartialObjectMetadataList","apiVersion":"meta.k8s.io/v1","metadata":'
        else:
            head = (
                b'{"kind":"'
                + rtype.kind.encode()
                + b'List","apiVersion":"'
                + rtype.api_version.encode()
                + b'","metadata":'
            )
        body = head + go_json(metadata) + b',"items":[' + b",".join(items) + b"]}\n"
        return self._respond(200, body)

    def _expired(self, token: str) -> Response:
        """410 Expired as etcd3's store answers a compacted continue token."""
        status: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {}}
        if token:
            try:
                _, start = decode_continue(token)
            except ContinueError:
                start = "\x00"
            status["metadata"] = {"continue": encode_continue(-1, start[:-1])}
        status.update(
            {"status": "Failure", "message": EXPIRED_CONTINUE, "reason": "Expired", "code": 410}
        )
        return self._respond(410, go_json(status) + b"\n")

    def _list_forbidden(self, user: str, rtype: ResourceType, namespace: str) -> Response:
        """The RBAC denial of a list, as kube-apiserver words it."""
        scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
        message = (
            f'{rtype.qualified} is forbidden: User "{user}" cannot list resource '
            f'"{rtype.resource}" in API group "{rtype.group}" {scope}'
        )
        if self.spec.cluster.azure_rbac:
            message += AZURE_RBAC_DENIAL
        details: dict[str, Any] = (
            {"group": rtype.group, "kind": rtype.resource}
            if rtype.group
            else {"kind": rtype.resource}
        )
        return self._status(403, message, reason="Forbidden", details=details)

    def _get_node(self, name: str, user: _User) -> Response:
        if not self._authorized(user, proxy=False):
            return self._forbidden(user, "get", "nodes", name)
        entry = self._entry(name)
        return self._respond(200, b'{"kind":"Node","apiVersion":"v1",' + entry.item[1:] + b"\n")

    async def _proxy(self, request: Request, name: str, sub: str, user: _User) -> Response:
        if not self._authorized(user, proxy=True):
            verb = "get" if request.method in ("GET", "HEAD") else "create"
            raise Reply(self._forbidden(user, verb, "nodes/proxy", name))
        entry = self._entry(name)
        await _sleep_ms(self.spec.latency.configz_ms)
        if sub == "configz":
            fault = self._faults.take(Endpoint.CONFIGZ, cluster=self.name, node=name)
            if fault is not None:
                outcome = await resolve(
                    fault,
                    lambda f: self._fault_status(f, entry),
                    lambda: (
                        self._respond(200, entry.configz, extra_audit=False)
                        if entry.configz is not None
                        else self._unreachable(entry)
                    ),
                )
                if outcome is not None:
                    raise Reply(outcome)
        if entry.configz is None:
            raise Reply(self._unreachable(entry))
        if sub == "configz":
            return self._respond(200, entry.configz, extra_audit=False)
        if sub == "healthz":
            return self._respond(200, b"ok", "text/plain; charset=utf-8")
        return self._respond(404, b"404 page not found\n", "text/plain; charset=utf-8")

    def _entry(self, name: str) -> _NodeEntry:
        entry = self._by_name.get(name)
        if entry is None:
            raise Reply(
                self._status(
                    404,
                    f'nodes "{name}" not found',
                    reason="NotFound",
                    details={"name": name, "kind": "nodes"},
                )
            )
        return entry

    def _version_response(self) -> Response:
        major, minor, *_ = [*self._version.split("."), "0", "0"]
        body = json.dumps(
            {
                "major": major,
                "minor": minor,
                "gitVersion": f"v{self._version}",
                "gitCommit": "0000000000000000000000000000000000000000",
                "gitTreeState": "clean",
                "buildDate": "2025-02-12T21:24:09Z",
                "goVersion": "go1.22.8",
                "compiler": "gc",
                "platform": "linux/amd64",
            },
            indent=2,
        ).encode()
        return self._respond(200, body)

    # -- answers --------------------------------------------------------------------------

    def _fault_status(self, fault: Fault, entry: _NodeEntry | None = None) -> Response:
        if fault.action is Action.UNREACHABLE and entry is not None:
            return self._unreachable(entry, fault.message)
        code = fault.status
        if entry is not None and not fault.message and code == 403:
            # as if the identity lacked get on nodes/proxy (the RBAC denial's own wording)
            principal = _User(self.spec.identity.principal_id)
            return self._forbidden(principal, "get", "nodes/proxy", entry.node.name)
        if entry is None and not fault.message and code == 403:
            # the node list: as if the identity lacked list on nodes
            return self._forbidden(_User(self.spec.identity.principal_id), "list", "nodes", None)
        if entry is not None and not fault.message and code == 404:
            return self._status(
                404,
                f'nodes "{entry.node.name}" not found',
                reason="NotFound",
                details={"name": entry.node.name, "kind": "nodes"},
            )
        message = fault.message or _MESSAGES.get(code, f"simulated failure {code}")
        details = (
            {"retryAfterSeconds": fault.retry_after} if fault.retry_after is not None else None
        )
        response = self._status(code, message, reason=_REASONS.get(code), details=details)
        response.headers.extend(fault.retry_after_headers())
        return response

    def _unreachable(self, entry: _NodeEntry, message: str = "") -> Response:
        text = message or (
            f"error trying to reach service: dial tcp {entry.node.internal_ip}:10250: "
            "connect: connection refused"
        )
        return self._status(503, text, reason="ServiceUnavailable")

    def _unauthorized(self) -> Response:
        return self._respond(401, UNAUTHORIZED)

    def _status(
        self,
        code: int,
        message: str,
        *,
        reason: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> Response:
        return self._respond(code, status_body(code, message, reason=reason, details=details))

    @staticmethod
    def _respond(
        status: int,
        body: bytes,
        content_type: str = "application/json",
        *,
        extra_audit: bool = True,
    ) -> Response:
        headers = [("Audit-Id", str(uuid.uuid4())), ("Cache-Control", "no-cache, private")]
        if extra_audit:
            headers.append(
                ("X-Kubernetes-Pf-Flowschema-Uid", "4ea0b3f8-6a0a-4c0d-9a5e-bb2a1c7a0e59")
            )
            headers.append(
                ("X-Kubernetes-Pf-Prioritylevel-Uid", "2bd3c1a4-5d1f-4e4b-8bd2-1e6c2a9d7f10")
            )
        return Response(status, body, content_type, headers)


def parse_list_path(path: str) -> tuple[ResourceType, str] | None:
    """(resource type, namespace) of a list path the simulator serves, else None."""
    parts = path.strip("/").split("/")
    if parts[:2] == ["api", "v1"]:
        group, version, rest = "", "v1", parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    namespace = ""
    if len(rest) == 3 and rest[0] == "namespaces":
        namespace, rest = rest[1], rest[2:]
    if len(rest) != 1:
        return None
    rtype = TYPES.get((group, version, rest[0]))
    if rtype is None or (namespace and not rtype.namespaced):
        return None
    return rtype, namespace


def _endpoint_of(path: str) -> str:
    """The counter name of a request path."""
    if path == "/api/v1/nodes":
        return str(Endpoint.NODE_LIST)
    target = parse_list_path(path)
    if target is not None:
        return str(target[0].endpoint)
    if path.startswith("/api/v1/nodes/"):
        if path.endswith("/proxy/configz"):
            return str(Endpoint.CONFIGZ)
        return "node-proxy" if "/proxy" in path else "node-get"
    return "kube-other"


async def _sleep_ms(ms: float) -> None:
    if ms > 0:
        await asyncio.sleep(ms / 1000.0)
