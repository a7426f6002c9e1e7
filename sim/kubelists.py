"""The section 4 lists of one simulated API server, rendered as kube-apiserver serves them.

``ClusterLists`` turns a cluster's ``KubeObjects`` (plus what every cluster has: bootstrap RBAC,
AKS objects and kube-system workloads) into one ``Listing`` per resource, in etcd key order
(``namespace/name``, or ``name`` for cluster-scoped kinds), so ``limit``/``continue`` paging
works on it as on the apiserver (see ``sim.apiserver``).

Shapes follow the Kubernetes API reference: a list is ``{"kind": "<Kind>List", "apiVersion",
"metadata": {"resourceVersion", "continue", "remainingItemCount"}, "items"}``; items of built-in
lists carry no ``kind``/``apiVersion``, items of custom resources (Calico, Cilium) do; every
object has ``uid``, ``resourceVersion`` and ``creationTimestamp``; pods carry the defaults the
apiserver fills in (``serviceAccountName``, an empty ``securityContext``, ``restartPolicy``...)
and ``ownerReferences`` to their controller; a Deployment's ReplicaSet is
``<deployment>-<pod-template-hash>``.

Pods are **lazy**: a ``PodListing`` keeps one rendered template per workload and computes the
n-th pod's name (a suffix that sorts like its index), uid, node and IP when a page asks for it,
so 100,000 pods cost a few kilobytes per workload, not 100,000 dicts.
"""

from __future__ import annotations

import bisect
import itertools
import json
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sim.estate import stable_guid
from sim.faults import Endpoint
from sim.kubeletconfig import go_json
from sim.kubeobjects import (
    AKS_OBJECTS,
    AKS_SYSTEM_WORKLOADS,
    ALWAYS_NAMESPACES,
    BOOTSTRAP_RBAC,
    KubeObjects,
    Workload,
    aggregate,
    scanner_rbac,
)

CREATED = "2025-03-10T08:15:42Z"
#: k8s.io/apimachinery pkg/util/rand: the alphabet of generated name suffixes, sorted here so a
#: suffix computed from an index sorts like the index.
SUFFIX_ALPHABET = "".join(sorted("bcdfghjklmnpqrstvwxz2456789"))


@dataclass(frozen=True, slots=True)
class ResourceType:
    """One listable resource."""

    group: str
    version: str
    resource: str
    kind: str
    namespaced: bool
    endpoint: Endpoint
    crd: str = ""  # "calico" / "cilium": served only when the cluster has that CRD

    @property
    def api_version(self) -> str:
        """``v1``, ``apps/v1``..."""
        return self.version if not self.group else f"{self.group}/{self.version}"

    @property
    def qualified(self) -> str:
        """``pods``, ``deployments.apps`` (the name in RBAC denials)."""
        return self.resource if not self.group else f"{self.resource}.{self.group}"


_TYPES = (
    ResourceType("", "v1", "namespaces", "Namespace", False, Endpoint.NAMESPACE_LIST),
    ResourceType("", "v1", "pods", "Pod", True, Endpoint.POD_LIST),
    ResourceType("", "v1", "serviceaccounts", "ServiceAccount", True, Endpoint.SERVICEACCOUNT_LIST),
    ResourceType("", "v1", "services", "Service", True, Endpoint.SERVICE_LIST),
    ResourceType("", "v1", "configmaps", "ConfigMap", True, Endpoint.CONFIGMAP_LIST),
    ResourceType("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False, Endpoint.CLUSTERROLE_LIST),
    ResourceType("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False, Endpoint.CLUSTERROLEBINDING_LIST),
    ResourceType("rbac.authorization.k8s.io", "v1", "roles", "Role", True, Endpoint.ROLE_LIST),
    ResourceType("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", True, Endpoint.ROLEBINDING_LIST),
    ResourceType("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", True, Endpoint.NETWORKPOLICY_LIST),
    ResourceType("networking.k8s.io", "v1", "ingresses", "Ingress", True, Endpoint.INGRESS_LIST),
    ResourceType("apps", "v1", "deployments", "Deployment", True, Endpoint.DEPLOYMENT_LIST),
    ResourceType("apps", "v1", "daemonsets", "DaemonSet", True, Endpoint.DAEMONSET_LIST),
    ResourceType("apps", "v1", "statefulsets", "StatefulSet", True, Endpoint.STATEFULSET_LIST),
    ResourceType("apps", "v1", "replicasets", "ReplicaSet", True, Endpoint.REPLICASET_LIST),
    ResourceType("batch", "v1", "jobs", "Job", True, Endpoint.JOB_LIST),
    ResourceType("batch", "v1", "cronjobs", "CronJob", True, Endpoint.CRONJOB_LIST),
    ResourceType("admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations", "ValidatingWebhookConfiguration", False, Endpoint.VALIDATINGWEBHOOK_LIST),
    ResourceType("admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations", "MutatingWebhookConfiguration", False, Endpoint.MUTATINGWEBHOOK_LIST),
    ResourceType("crd.projectcalico.org", "v1", "networkpolicies", "NetworkPolicy", True, Endpoint.CALICO_POLICY_LIST, "calico"),
    ResourceType("cilium.io", "v2", "ciliumnetworkpolicies", "CiliumNetworkPolicy", True, Endpoint.CILIUM_POLICY_LIST, "cilium"),
    ResourceType("cilium.io", "v2", "ciliumclusterwidenetworkpolicies", "CiliumClusterwideNetworkPolicy", False, Endpoint.CILIUM_CLUSTERWIDE_POLICY_LIST, "cilium"),
)  # fmt: skip
TYPES: Mapping[tuple[str, str, str], ResourceType] = {
    (t.group, t.version, t.resource): t for t in _TYPES
}
_BY_KIND: Mapping[tuple[str, str], ResourceType] = {(t.api_version, t.kind): t for t in _TYPES}


def suffix(index: int, width: int = 5) -> str:
    """A generated-name suffix that sorts like ``index`` (base 27 in the sorted alphabet)."""
    digits = ""
    for _ in range(width):
        index, rest = divmod(index, len(SUFFIX_ALPHABET))
        digits = SUFFIX_ALPHABET[rest] + digits
    if index:
        raise ValueError("index too large for the suffix width")
    return digits


def template_hash(*parts: str) -> str:
    """A stable 10-character pod-template-hash in the apiserver's alphabet."""
    number = zlib.crc32("/".join(parts).encode()) * 2654435761
    return "".join(SUFFIX_ALPHABET[(number >> (5 * i)) % len(SUFFIX_ALPHABET)] for i in range(10))


class Listing:
    """Items of one resource in key order: ``len``, ``key(i)`` and ``item(i)`` (bytes)."""

    def __len__(self) -> int:
        raise NotImplementedError

    def key(self, index: int) -> str:
        """The etcd-order key of item ``index``."""
        raise NotImplementedError

    def item(self, index: int) -> bytes:
        """Item ``index`` as served (JSON)."""
        raise NotImplementedError

    def keys(self) -> _Keys:
        """A sequence view of the keys, for ``bisect``."""
        return _Keys(self)


@dataclass(frozen=True, slots=True)
class _Keys:
    listing: Listing

    def __len__(self) -> int:
        return len(self.listing)

    def __getitem__(self, index: int) -> str:
        return self.listing.key(index)


class StaticListing(Listing):
    """Items rendered once (everything but pods)."""

    def __init__(self, entries: Sequence[tuple[str, bytes]]) -> None:
        ordered = sorted(entries)
        self._keys = [k for k, _ in ordered]
        self._items = [v for _, v in ordered]

    def __len__(self) -> int:
        return len(self._keys)

    def key(self, index: int) -> str:
        return self._keys[index]

    def item(self, index: int) -> bytes:
        return self._items[index]


@dataclass(frozen=True, slots=True)
class _Segment:
    """The pods of one workload: ``count`` pods whose names sort like their index."""

    start: int
    count: int
    namespace: str
    name_of: Callable[[int], str]
    template: bytes
    node_of: Callable[[int, int], str]  # (global index, index in workload) -> node name


class PodListing(Listing):
    """Pods computed on demand from one template per workload."""

    def __init__(self, cluster: str, segments: Sequence[_Segment]) -> None:
        ordered = sorted(segments, key=lambda s: f"{s.namespace}/{s.name_of(0)}")
        placed, start = [], 0
        for segment in ordered:
            placed.append(
                _Segment(
                    start,
                    segment.count,
                    segment.namespace,
                    segment.name_of,
                    segment.template,
                    segment.node_of,
                )
            )
            start += segment.count
        for before, after in itertools.pairwise(placed):
            last = f"{before.namespace}/{before.name_of(before.count - 1)}"
            if last >= f"{after.namespace}/{after.name_of(0)}":
                raise ValueError(f"pods of two workloads interleave in key order near {last}")
        self._cluster = cluster
        self._segments = placed
        self._starts = [s.start for s in placed]
        self._total = start

    def __len__(self) -> int:
        return self._total

    def _locate(self, index: int) -> tuple[_Segment, int]:
        segment = self._segments[bisect.bisect_right(self._starts, index) - 1]
        return segment, index - segment.start

    def key(self, index: int) -> str:
        segment, offset = self._locate(index)
        return f"{segment.namespace}/{segment.name_of(offset)}"

    def item(self, index: int) -> bytes:
        segment, offset = self._locate(index)
        name = segment.name_of(offset)
        uid = stable_guid(self._cluster, segment.namespace, name)
        ip = f"10.244.{(index // 250) % 250}.{4 + index % 250}"
        return (
            segment.template.replace(b"@@NAME@@", name.encode())
            .replace(b"@@UID@@", uid.encode())
            .replace(b"@@NODE@@", segment.node_of(index, offset).encode())
            .replace(b"@@IP@@", ip.encode())
        )


def _meta(cluster: str, kind: str, manifest_meta: Mapping[str, Any], rv: int) -> dict[str, Any]:
    """Served metadata: the manifest's plus uid, resourceVersion, creationTimestamp (Go order)."""
    name = manifest_meta["name"]
    namespace = manifest_meta.get("namespace", "")
    out: dict[str, Any] = {"name": name}
    for key in ("generateName", "namespace"):
        if manifest_meta.get(key):
            out[key] = manifest_meta[key]
    out["uid"] = stable_guid(cluster, kind, namespace, name)
    out["resourceVersion"] = str(
        rv - 1000 + zlib.crc32(f"{kind}/{namespace}/{name}".encode()) % 900
    )
    if "generation" in manifest_meta:
        out["generation"] = manifest_meta["generation"]
    out["creationTimestamp"] = CREATED
    for key in ("labels", "annotations", "ownerReferences"):
        if manifest_meta.get(key):
            out[key] = manifest_meta[key]
    return out


def _owner(cluster: str, api_version: str, kind: str, namespace: str, name: str) -> dict[str, Any]:
    return {
        "apiVersion": api_version,
        "kind": kind,
        "name": name,
        "uid": stable_guid(cluster, kind, namespace, name),
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _served_containers(spec: Mapping[str, Any]) -> dict[str, Any]:
    """A PodSpec with the defaults the apiserver fills in (containers, pod fields)."""
    out = dict(spec)
    for field_name in ("containers", "initContainers"):
        if field_name in out:
            out[field_name] = [
                {
                    **c,
                    "resources": c.get("resources", {}),
                    "terminationMessagePath": "/dev/termination-log",
                    "terminationMessagePolicy": "File",
                    "imagePullPolicy": c.get("imagePullPolicy", "IfNotPresent"),
                }
                for c in out[field_name]
            ]
    if "ephemeralContainers" in out:
        out["ephemeralContainers"] = [
            {
                **c,
                "terminationMessagePath": "/dev/termination-log",
                "terminationMessagePolicy": "File",
                "imagePullPolicy": "IfNotPresent",
            }
            for c in out["ephemeralContainers"]
        ]
    out.setdefault("restartPolicy", "Always")
    out.setdefault("terminationGracePeriodSeconds", 30)
    out.setdefault("dnsPolicy", "ClusterFirst")
    account = out.get("serviceAccountName") or out.get("serviceAccount") or "default"
    out["serviceAccountName"] = account
    out["serviceAccount"] = account
    out.setdefault("securityContext", {})
    out.setdefault("schedulerName", "default-scheduler")
    out.setdefault("enableServiceLinks", True)
    out.setdefault("preemptionPolicy", "PreemptLowerPriority")
    out.setdefault("priority", 0)
    return out


class ClusterLists:
    """Every section 4 listing of one cluster."""

    def __init__(
        self,
        cluster: str,
        kube: KubeObjects,
        nodes: Sequence[str],
        *,
        scanner_principal: str = "",
        kubernetes_rbac: bool = False,
        resource_version: int = 48213,
        kubernetes_version: str = "1.30.6",
    ) -> None:
        self.cluster = cluster
        self.kube = kube
        self.resource_version = resource_version
        self._nodes = list(nodes) or ["aks-none-00000000-vmss000000"]
        self._version = kubernetes_version
        entries: dict[ResourceType, list[tuple[str, bytes]]] = {t: [] for t in _TYPES}
        namespaces: dict[str, dict[str, str]] = {n: {} for n in ALWAYS_NAMESPACES}
        for declared in kube.namespaces:
            namespaces[declared.name] = dict(declared.labels)
        for workload in (*AKS_SYSTEM_WORKLOADS, *kube.workloads):
            namespaces.setdefault(workload.namespace, {})
        self.namespaces = sorted(namespaces)
        for name, labels in sorted(namespaces.items()):
            self._add(entries, {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name, **labels}},
                "spec": {"finalizers": ["kubernetes"]},
                "status": {"phase": "Active"},
            })  # fmt: skip
            account: dict[str, Any] = {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {"name": "default", "namespace": name},
            }
            if name in kube.default_automount:
                account["automountServiceAccountToken"] = kube.default_automount[name]
            self._add(entries, account)
            self._add(
                entries,
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": "kube-root-ca.crt", "namespace": name},
                    "data": {
                        "ca.crt": "-----BEGIN CERTIFICATE-----\n(simulated cluster CA)\n-----END CERTIFICATE-----\n"
                    },
                },
            )
        self._add(entries, {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "kubernetes", "namespace": "default", "labels": {"component": "apiserver", "provider": "kubernetes"}},
            "spec": {"type": "ClusterIP", "clusterIP": "10.0.0.1", "ports": [{"name": "https", "protocol": "TCP", "port": 443, "targetPort": 443}]},
        })  # fmt: skip
        objects: list[Mapping[str, Any]] = [*BOOTSTRAP_RBAC, *AKS_OBJECTS, *kube.objects]
        if kubernetes_rbac and scanner_principal:
            objects.extend(scanner_rbac(scanner_principal))
        roles = aggregate([dict(o) for o in objects if o.get("kind") == "ClusterRole"])
        objects = [*(o for o in objects if o.get("kind") != "ClusterRole"), *roles]
        for manifest in objects:
            self._add(entries, manifest)
        segments = []
        for workload in (*AKS_SYSTEM_WORKLOADS, *kube.workloads):
            segments.extend(self._workload(entries, workload))
        self.listings: dict[ResourceType, Listing] = {
            t: StaticListing(e) for t, e in entries.items() if t.resource != "pods" or t.group
        }
        self.listings[TYPES[("", "v1", "pods")]] = PodListing(cluster, segments)

    # -- building -------------------------------------------------------------------------

    def _add(
        self, entries: dict[ResourceType, list[tuple[str, bytes]]], manifest: Mapping[str, Any]
    ) -> None:
        kind = manifest["kind"]
        api_version = manifest["apiVersion"]
        rtype = _BY_KIND.get((api_version, kind))
        if rtype is None:
            raise ValueError(f"the simulator does not serve {api_version} {kind}")
        meta = manifest["metadata"]
        served: dict[str, Any] = {}
        if rtype.crd:
            served = {"apiVersion": api_version, "kind": kind}
        if kind in ("ClusterRole",) and "aggregationRule" in manifest:
            served["aggregationRule"] = manifest["aggregationRule"]
        served["metadata"] = _meta(self.cluster, kind, meta, self.resource_version)
        for key, value in manifest.items():
            if key not in ("apiVersion", "kind", "metadata", "aggregationRule"):
                served[key] = value
        if kind == "ClusterRole" and served.get("rules") is None:
            served["rules"] = []
        if kind == "Service":
            served["spec"] = {
                "clusterIP": f"10.0.{zlib.crc32(meta['name'].encode()) % 250}.{zlib.crc32(meta.get('namespace', '').encode()) % 250}",
                **served["spec"],
            }
            served["status"] = {
                "loadBalancer": {"ingress": [{"ip": "20.31.5.17"}]}
                if served["spec"].get("type") == "LoadBalancer"
                else {}
            }
        key = f"{meta['namespace']}/{meta['name']}" if rtype.namespaced else meta["name"]
        entries[rtype].append((key, go_json(served)))

    def _workload(
        self, entries: dict[ResourceType, list[tuple[str, bytes]]], w: Workload
    ) -> list[_Segment]:
        labels = {"app": w.name, **w.labels}
        template = {"metadata": {"labels": labels}, "spec": dict(w.spec)}
        selector = {"matchLabels": labels}
        nodes = self._nodes
        if w.kind == "Pod":
            return [self._segment(w, 1, lambda _: w.name, None, labels)]
        if w.kind == "Deployment":
            rs_hash = template_hash(self.cluster, w.namespace, w.name)
            rs_name = f"{w.name}-{rs_hash}"
            self._add(entries, {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": w.name, "namespace": w.namespace, "generation": 1, "labels": labels, "annotations": {"deployment.kubernetes.io/revision": "1"}}, "spec": {"replicas": w.replicas, "selector": selector, "template": template, "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}, "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600}, "status": {"observedGeneration": 1, "replicas": w.replicas, "updatedReplicas": w.replicas, "readyReplicas": w.replicas, "availableReplicas": w.replicas}})  # fmt: skip
            rs_labels = {**labels, "pod-template-hash": rs_hash}
            self._add(entries, {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": rs_name, "namespace": w.namespace, "generation": 1, "labels": rs_labels, "ownerReferences": [_owner(self.cluster, "apps/v1", "Deployment", w.namespace, w.name)]}, "spec": {"replicas": w.replicas, "selector": {"matchLabels": rs_labels}, "template": {"metadata": {"labels": rs_labels}, "spec": dict(w.spec)}}, "status": {"replicas": w.replicas, "fullyLabeledReplicas": w.replicas, "readyReplicas": w.replicas, "availableReplicas": w.replicas, "observedGeneration": 1}})  # fmt: skip
            owner = ("apps/v1", "ReplicaSet", rs_name)
            return [
                self._segment(w, w.replicas, lambda j: f"{rs_name}-{suffix(j)}", owner, rs_labels)
            ]
        if w.kind == "DaemonSet":
            count = len(nodes)
            self._add(entries, {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": w.name, "namespace": w.namespace, "generation": 1, "labels": labels}, "spec": {"selector": selector, "template": template, "updateStrategy": {"type": "RollingUpdate"}}, "status": {"currentNumberScheduled": count, "desiredNumberScheduled": count, "numberMisscheduled": 0, "numberReady": count, "observedGeneration": 1}})  # fmt: skip
            return [
                self._segment(
                    w,
                    count,
                    lambda j: f"{w.name}-{suffix(j)}",
                    ("apps/v1", "DaemonSet", w.name),
                    labels,
                    per_node=True,
                )
            ]
        if w.kind == "StatefulSet":
            self._add(entries, {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": w.name, "namespace": w.namespace, "generation": 1, "labels": labels}, "spec": {"replicas": w.replicas, "selector": selector, "serviceName": w.name, "template": template, "podManagementPolicy": "OrderedReady"}, "status": {"replicas": w.replicas, "readyReplicas": w.replicas, "observedGeneration": 1}})  # fmt: skip
            ordinals = sorted(range(w.replicas), key=str)
            return [
                self._segment(
                    w,
                    w.replicas,
                    lambda j: f"{w.name}-{ordinals[j]}",
                    ("apps/v1", "StatefulSet", w.name),
                    labels,
                )
            ]
        if w.kind in ("Job", "CronJob"):
            job_spec = {"backoffLimit": 6, "completions": 1, "parallelism": 1, "template": {"metadata": {"labels": labels}, "spec": {**w.spec, "restartPolicy": w.spec.get("restartPolicy", "Never")}}}  # fmt: skip
            if w.kind == "Job":
                self._add(entries, {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": w.name, "namespace": w.namespace, "labels": labels}, "spec": job_spec, "status": {"succeeded": 1}})  # fmt: skip
                return [
                    self._segment(
                        w,
                        1,
                        lambda _: f"{w.name}-{suffix(0)}",
                        ("batch/v1", "Job", w.name),
                        labels,
                        restart="Never",
                    )
                ]
            self._add(entries, {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": w.name, "namespace": w.namespace, "labels": labels}, "spec": {"schedule": "*/15 * * * *", "concurrencyPolicy": "Forbid", "jobTemplate": {"spec": job_spec}}, "status": {}})  # fmt: skip
            segments = []
            for number in range(w.replicas):
                job = f"{w.name}-{29_104_560 + 15 * number}"
                self._add(entries, {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": job, "namespace": w.namespace, "labels": labels, "ownerReferences": [_owner(self.cluster, "batch/v1", "CronJob", w.namespace, w.name)]}, "spec": job_spec, "status": {"succeeded": 1}})  # fmt: skip
                segments.append(
                    self._segment(
                        w,
                        1,
                        _constant(f"{job}-{suffix(0)}"),
                        ("batch/v1", "Job", job),
                        labels,
                        restart="Never",
                    )
                )
            return segments
        raise ValueError(f"unknown workload kind {w.kind}")

    def _segment(
        self,
        w: Workload,
        count: int,
        name_of: Callable[[int], str],
        owner: tuple[str, str, str] | None,
        labels: Mapping[str, str],
        *,
        per_node: bool = False,
        restart: str = "",
    ) -> _Segment:
        spec = _served_containers({**w.spec, **({"restartPolicy": restart} if restart else {})})
        spec["nodeName"] = "@@NODE@@"
        metadata: dict[str, Any] = {"name": "@@NAME@@"}
        if owner is not None:
            metadata["generateName"] = name_of(0).rsplit("-", 1)[0] + "-"
        metadata["namespace"] = w.namespace
        metadata["uid"] = "@@UID@@"
        metadata["resourceVersion"] = str(self.resource_version - 50)
        metadata["creationTimestamp"] = CREATED
        metadata["labels"] = dict(labels)
        if owner is not None:
            metadata["ownerReferences"] = [
                _owner(self.cluster, owner[0], owner[1], w.namespace, owner[2])
            ]
        pod = {
            "metadata": metadata,
            "spec": spec,
            "status": {
                "phase": "Running" if not restart else "Succeeded",
                "hostIP": "10.224.0.4",
                "podIP": "@@IP@@",
                "podIPs": [{"ip": "@@IP@@"}],
                "startTime": CREATED,
                "qosClass": "BestEffort",
            },
        }
        nodes = self._nodes
        node_of: Callable[[int, int], str] = (
            (lambda _i, j: nodes[j % len(nodes)])
            if per_node
            else (lambda i, _j: nodes[i % len(nodes)])
        )
        return _Segment(0, count, w.namespace, name_of, go_json(pod), node_of)

    # -- serving --------------------------------------------------------------------------

    def served(self, rtype: ResourceType) -> bool:
        """True when this cluster serves ``rtype`` (a CRD kind only when its CRD is installed)."""
        return not rtype.crd or rtype.crd in self.kube.crds

    def groups(self) -> list[dict[str, Any]]:
        """The APIGroupList ``groups`` of ``/apis``."""
        seen: dict[str, str] = {}
        for rtype in _TYPES:
            if rtype.group and self.served(rtype):
                seen.setdefault(rtype.group, rtype.version)
        for group, version in (
            ("apiextensions.k8s.io", "v1"),
            ("authorization.k8s.io", "v1"),
            ("certificates.k8s.io", "v1"),
            ("coordination.k8s.io", "v1"),
            ("policy", "v1"),
            ("storage.k8s.io", "v1"),
        ):
            seen.setdefault(group, version)
        return [
            {
                "name": group,
                "versions": [{"groupVersion": f"{group}/{version}", "version": version}],
                "preferredVersion": {"groupVersion": f"{group}/{version}", "version": version},
            }
            for group, version in seen.items()
        ]

    def page(
        self,
        rtype: ResourceType,
        start_key: str,
        limit: int,
        *,
        namespace: str = "",
        metadata_only: bool = False,
    ) -> tuple[list[bytes], str, int]:
        """Items from ``start_key`` (inclusive), at most ``limit`` (0: all), within ``namespace``;
        the last key returned and how many remain after the page."""
        listing = self.listings[rtype]
        keys = listing.keys()
        low, high = 0, len(listing)
        if namespace:
            low = bisect.bisect_left(keys, namespace + "/")
            high = bisect.bisect_left(keys, namespace + "0")  # "0" follows "/"
        start = max(low, bisect.bisect_left(keys, start_key)) if start_key else low
        end = high if limit <= 0 else min(start + limit, high)
        items = [listing.item(i) for i in range(start, end)]
        if metadata_only:
            items = [
                b'{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":'
                + go_json(json.loads(item)["metadata"])
                + b"}"
                for item in items
            ]
        last = listing.key(end - 1) if end > start else ""
        return items, last, high - end


def _constant(name: str) -> Callable[[int], str]:
    """A name function for a segment of one pod."""

    def name_of(_: int) -> str:
        return name

    return name_of
