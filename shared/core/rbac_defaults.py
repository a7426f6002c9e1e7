"""RBAC objects that are not the customer's: the Kubernetes bootstrap policy and what AKS installs.

Data, versioned. Section 4 excludes grants that reach a subject **through** one of these objects
(a binding), and roles that are one of them from 4.1.3's wildcard review; such grants are listed
as *allowed*, with the reason, never silently dropped. A customer's own binding **to** a default
role (a RoleBinding to ``edit``) is the customer's and is evaluated like any other.

An object is excluded only when its kind, name (a glob) and namespace match an entry **and** it
carries the entry's labels, so a customer object that merely borrows a default's name, or only
its label, is still evaluated.

Sources:

* Kubernetes bootstrap policy: kubernetes/kubernetes
  ``plugin/pkg/auth/authorizer/rbac/bootstrappolicy/testdata/cluster-roles.yaml`` (commit
  025f2834a128798cef30018a5e6a6ae82b5ad885), ``cluster-role-bindings.yaml`` (c60df8997f62),
  ``controller-roles.yaml`` (008b3652959c), ``controller-role-bindings.yaml`` (d5ff3e621ce2),
  ``namespace-role-bindings.yaml`` (1fb55a567d82). Every object there carries
  ``kubernetes.io/bootstrapping: rbac-defaults``. The ``system:service-account-issuer-discovery``
  and ``system:monitoring`` bindings are newer than the stored bindings file; their presence
  with that label is taken from a live-cluster dump (unverified against a tagged release).
* AKS: which objects AKS creates is not documented per object by Microsoft. The names below are
  from henrywhitaker3/argo-zombies ``internal/exclusions/bundles/aks.go`` (commit
  f5ce479362a5641964b725be84d8e2e35b7f9aec), a third-party list of objects found on AKS
  clusters: **unverified**. The label ``addonmanager.kubernetes.io/mode`` (``Reconcile`` or
  ``EnsureExists``) is what AKS's addon manager sets; it was seen on
  ``aks-cluster-admin-binding`` and ``aks-cluster-admin-binding-aad`` in published
  ``kubectl describe`` output (unverified for the others). An AKS object without it is reported
  like a customer's: a visible false positive rather than a hidden grant.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass

BOOTSTRAP_LABEL = ("kubernetes.io/bootstrapping", "rbac-defaults")
ADDON_MANAGER_LABEL = "addonmanager.kubernetes.io/mode"
ADDON_MANAGER_MODES = frozenset({"Reconcile", "EnsureExists"})


@dataclass(frozen=True, slots=True)
class ManagedObject:
    """One entry: RBAC objects of ``kind`` whose name matches ``name`` (a glob) in ``namespace``."""

    kind: str
    name: str
    origin: str  # "Kubernetes bootstrap policy" or "AKS"
    namespace: str = ""  # Role and RoleBinding only; "*" for any

    def matches(self, kind: str, namespace: str, name: str, labels: Mapping[str, str]) -> bool:
        """True when the object is this entry and carries the entry's origin label."""
        if kind != self.kind or not fnmatch.fnmatchcase(name, self.name):
            return False
        if self.namespace and not fnmatch.fnmatchcase(namespace, self.namespace):
            return False
        if self.origin == BOOTSTRAP:
            return labels.get(BOOTSTRAP_LABEL[0]) == BOOTSTRAP_LABEL[1]
        return labels.get(ADDON_MANAGER_LABEL) in ADDON_MANAGER_MODES


BOOTSTRAP = "Kubernetes bootstrap policy"
AKS = "AKS"


@dataclass(frozen=True, slots=True)
class ExclusionList:
    """A versioned list of managed RBAC objects."""

    version: str
    objects: tuple[ManagedObject, ...]

    def managed(
        self, kind: str, namespace: str, name: str, labels: Mapping[str, str]
    ) -> ManagedObject | None:
        """The entry an object is, or None when it is the customer's."""
        for entry in self.objects:
            if entry.matches(kind, namespace, name, labels):
                return entry
        return None


_BOOTSTRAP_CLUSTER_ROLES = (
    "cluster-admin",
    "admin",
    "edit",
    "view",
    "system:aggregate-to-admin",
    "system:aggregate-to-edit",
    "system:aggregate-to-view",
    "system:auth-delegator",
    "system:basic-user",
    "system:certificates.k8s.io:*",
    "system:discovery",
    "system:heapster",
    "system:kube-aggregator",
    "system:kube-controller-manager",
    "system:kube-dns",
    "system:kube-scheduler",
    "system:kubelet-api-admin",
    "system:monitoring",
    "system:node",
    "system:node-bootstrapper",
    "system:node-problem-detector",
    "system:node-proxier",
    "system:persistent-volume-provisioner",
    "system:public-info-viewer",
    "system:service-account-issuer-discovery",
    "system:volume-scheduler",
    "system:controller:*",
)
_BOOTSTRAP_CLUSTER_ROLE_BINDINGS = (
    "cluster-admin",
    "system:basic-user",
    "system:discovery",
    "system:kube-controller-manager",
    "system:kube-dns",
    "system:kube-scheduler",
    "system:monitoring",
    "system:node",
    "system:node-proxier",
    "system:public-info-viewer",
    "system:service-account-issuer-discovery",
    "system:volume-scheduler",
    "system:controller:*",
)
_BOOTSTRAP_NAMESPACED = (
    "extension-apiserver-authentication-reader",
    "system::leader-locking-*",
    "system:controller:bootstrap-signer",
    "system:controller:cloud-provider",
    "system:controller:token-cleaner",
)
_AKS_CLUSTER_ROLES = (
    "aks-service",
    "acn-multitenancy-editor",
    "cloud-node-manager",
    "container-health-log-reader",
    "pod-reader-all-namespaces",
    "system:azure-cloud-provider",
    "system:azure-cloud-provider-secret-getter",
    "system:coredns-autoscaler",
    "system:konnectivity-agent-autoscaler",
    "system:kube-proxy",
    "system:metrics-server",
    "system:persistent-volume-secret-operator",
)
_AKS_CLUSTER_ROLE_BINDINGS = (
    "aks-cluster-admin-binding",
    "aks-cluster-admin-binding-aad",
    "aks-service-rolebinding",
    "acn-multitenancy-editor-binding",
    "appmonitoringconfig-user-global",
    "cloud-node-manager",
    "container-health-read-logs-global",
    "metrics-server:system:auth-delegator",
    "pod-reader-all-namespaces-binding",
    "system:aks-client-node-proxier",
    "system:azure-cloud-provider",
    "system:azure-cloud-provider-secret-getter",
    "system:coredns-autoscaler",
    "system:konnectivity-agent-autoscaler",
    "system:kube-proxy",
    "system:metrics-server",
    "system:persistent-volume-binding",
)
_AKS_KUBE_SYSTEM_ROLES = ("system:metrics-server", "nodeNetConfigEditorRole")
_AKS_KUBE_SYSTEM_ROLE_BINDINGS = (
    "metrics-server-auth-reader",
    "metrics-server-binding",
    "nodeNetConfigEditorRoleBinding",
)


def _entries(
    kind: str, names: tuple[str, ...], origin: str, namespace: str = ""
) -> list[ManagedObject]:
    return [ManagedObject(kind, name, origin, namespace) for name in names]


#: The list in force. Bump ``version`` when an entry changes, so rows can say which list applied.
DEFAULT_EXCLUSIONS = ExclusionList(
    version="2025-06-k8s1.33-aks",
    objects=tuple(
        _entries("ClusterRole", _BOOTSTRAP_CLUSTER_ROLES, BOOTSTRAP)
        + _entries("ClusterRoleBinding", _BOOTSTRAP_CLUSTER_ROLE_BINDINGS, BOOTSTRAP)
        + _entries("Role", _BOOTSTRAP_NAMESPACED, BOOTSTRAP, "kube-*")
        + _entries("RoleBinding", _BOOTSTRAP_NAMESPACED, BOOTSTRAP, "kube-*")
        + _entries("ClusterRole", _AKS_CLUSTER_ROLES, AKS)
        + _entries("ClusterRoleBinding", _AKS_CLUSTER_ROLE_BINDINGS, AKS)
        + _entries("Role", _AKS_KUBE_SYSTEM_ROLES, AKS, "kube-system")
        + _entries("RoleBinding", _AKS_KUBE_SYSTEM_ROLE_BINDINGS, AKS, "kube-system")
    ),
)
