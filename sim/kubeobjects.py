"""What a simulated cluster holds besides nodes: namespaces, workloads, RBAC and policy objects.

A cluster's ``KubeObjects`` (``SimCluster.kube``) declares what the customer put there:

* ``namespaces``: names (with labels, e.g. Pod Security ``enforce``); ``default``, ``kube-system``,
  ``kube-public`` and ``kube-node-lease`` always exist;
* ``workloads``: Deployments, DaemonSets, StatefulSets, Jobs, CronJobs and bare Pods, each with a
  PodSpec (a plain dict, as in a manifest) and a replica count; their pods, ReplicaSets and Jobs
  are generated **lazily** when a page is served (see ``sim.kubelists``), so a cluster of
  100,000 pods costs the server a few objects per page, not 100,000 dicts;
* ``objects``: any other object as a manifest dict with ``apiVersion``/``kind`` (ClusterRoles,
  bindings, Services, Ingresses, NetworkPolicies, ConfigMaps, service accounts, webhook
  configurations, Calico and Cilium policies);
* ``crds``: which optional API groups the cluster serves (``calico``, ``cilium``); the others
  answer 404 and are absent from ``/apis``;
* ``denied``: lists the scanner identity may not read (qualified resource: ``pods``,
  ``deployments.apps``): they answer the RBAC 403.

Every cluster also has what a real one has without anyone asking: the Kubernetes bootstrap RBAC
objects (``BOOTSTRAP_RBAC``), the objects AKS installs (``AKS_OBJECTS``) and AKS's kube-system
workloads (``AKS_SYSTEM_WORKLOADS``), plus the scanner's own ClusterRole and binding from
``infra/k8s/`` on clusters that use Kubernetes RBAC.

Bootstrap rules come from kubernetes/kubernetes
``plugin/pkg/auth/authorizer/rbac/bootstrappolicy/testdata/cluster-roles.yaml`` (commit
025f2834a128798cef30018a5e6a6ae82b5ad885), ``cluster-role-bindings.yaml`` (c60df8997f62),
``controller-roles.yaml`` (008b3652959c) and ``controller-role-bindings.yaml`` (d5ff3e621ce2),
trimmed to the roles section 4 is about (a subset of the controller roles). ``admin``, ``edit``
and ``view`` are aggregated: the testdata has ``rules: null``, and the server fills them in as
the aggregation controller does (``aggregate``). AKS object names are from
henrywhitaker3/argo-zombies ``internal/exclusions/bundles/aks.go`` (commit f5ce479362a5) and
their rules are **invented** (unverified): AKS does not publish them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

RBAC_V1 = "rbac.authorization.k8s.io/v1"
RBAC_GROUP = "rbac.authorization.k8s.io"
BOOTSTRAP_LABELS: Mapping[str, str] = {"kubernetes.io/bootstrapping": "rbac-defaults"}
AKS_LABELS: Mapping[str, str] = {
    "addonmanager.kubernetes.io/mode": "Reconcile",
    "kubernetes.io/cluster-service": "true",
}
AUTOUPDATE = {"rbac.authorization.kubernetes.io/autoupdate": "true"}
ALWAYS_NAMESPACES = ("default", "kube-node-lease", "kube-public", "kube-system")
CRD_GROUPS = {"calico": "crd.projectcalico.org", "cilium": "cilium.io"}


@dataclass(frozen=True, slots=True)
class Namespace:
    """A namespace and its labels (``kubernetes.io/metadata.name`` is added by the server)."""

    name: str
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Workload:
    """A controller (or a bare ``Pod``) and the PodSpec of its pods.

    ``kind``: Deployment, DaemonSet (one pod per node; ``replicas`` ignored), StatefulSet, Job,
    CronJob (``replicas`` Jobs, one pod each) or Pod (one bare pod named ``name``).
    """

    kind: str
    namespace: str
    name: str
    spec: Mapping[str, Any]
    replicas: int = 1
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class KubeObjects:
    """Everything a cluster holds beyond its nodes; see the module docstring."""

    namespaces: tuple[Namespace, ...] = ()
    workloads: tuple[Workload, ...] = ()
    objects: tuple[Mapping[str, Any], ...] = ()
    crds: frozenset[str] = frozenset()
    denied: frozenset[str] = frozenset()
    default_automount: Mapping[str, bool] = field(default_factory=dict)  # ns -> default SA value


# -- builders ---------------------------------------------------------------------------------


def container(
    name: str = "app", image: str = "contosoacr.azurecr.io/app:1.4.2", **fields: Any
) -> dict[str, Any]:
    """A container as written in a manifest."""
    return {"name": name, "image": image, **fields}


def pod_spec(*containers: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A PodSpec as written in a manifest."""
    return {"containers": list(containers) or [container()], **fields}


def rule(
    verbs: Sequence[str], resources: Sequence[str] = (), groups: Sequence[str] = ("",), **extra: Any
) -> dict[str, Any]:
    """A PolicyRule."""
    out: dict[str, Any] = {"verbs": list(verbs)}
    if resources:
        out = {"apiGroups": list(groups), "resources": list(resources), **out}
    for key, value in extra.items():
        out[key] = list(value)
    return out


def _meta(
    name: str,
    namespace: str = "",
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name}
    if namespace:
        out["namespace"] = namespace
    if labels:
        out["labels"] = dict(labels)
    if annotations:
        out["annotations"] = dict(annotations)
    return out


def cluster_role(
    name: str,
    *rules: dict[str, Any],
    labels: Mapping[str, str] | None = None,
    aggregate_from: str = "",
) -> dict[str, Any]:
    """A ClusterRole manifest; ``aggregate_from`` makes it aggregated on that label."""
    out: dict[str, Any] = {"apiVersion": RBAC_V1, "kind": "ClusterRole"}
    if aggregate_from:
        out["aggregationRule"] = {
            "clusterRoleSelectors": [{"matchLabels": {aggregate_from: "true"}}]
        }
    out["metadata"] = _meta(
        name,
        labels=labels,
        annotations=AUTOUPDATE
        if labels == BOOTSTRAP_LABELS or (labels and "kubernetes.io/bootstrapping" in labels)
        else None,
    )
    out["rules"] = list(rules)
    return out


def role(
    namespace: str, name: str, *rules: dict[str, Any], labels: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """A Role manifest."""
    return {
        "apiVersion": RBAC_V1,
        "kind": "Role",
        "metadata": _meta(name, namespace, labels),
        "rules": list(rules),
    }


def subject(kind: str, name: str, namespace: str = "") -> dict[str, Any]:
    """A binding subject (User/Group carry apiGroup; a ServiceAccount its namespace)."""
    if kind == "ServiceAccount":
        return {"kind": kind, "name": name, "namespace": namespace}
    return {"apiGroup": RBAC_GROUP, "kind": kind, "name": name}


def cluster_role_binding(
    name: str, role_name: str, *subjects: dict[str, Any], labels: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """A ClusterRoleBinding manifest."""
    return {
        "apiVersion": RBAC_V1,
        "kind": "ClusterRoleBinding",
        "metadata": _meta(
            name, labels=labels, annotations=AUTOUPDATE if labels == BOOTSTRAP_LABELS else None
        ),
        "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": role_name},
        "subjects": list(subjects),
    }


def role_binding(
    namespace: str,
    name: str,
    role_kind: str,
    role_name: str,
    *subjects: dict[str, Any],
    labels: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A RoleBinding manifest."""
    return {
        "apiVersion": RBAC_V1,
        "kind": "RoleBinding",
        "metadata": _meta(name, namespace, labels),
        "roleRef": {"apiGroup": RBAC_GROUP, "kind": role_kind, "name": role_name},
        "subjects": list(subjects),
    }


def service(namespace: str, name: str, kind: str = "ClusterIP", *ports: int) -> dict[str, Any]:
    """A Service manifest with TCP ``ports``."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(name, namespace),
        "spec": {
            "type": kind,
            "ports": [
                {"name": f"p{p}", "protocol": "TCP", "port": p, "targetPort": p}
                for p in ports or (80,)
            ],
            "selector": {"app": name},
        },
    }


def ingress(namespace: str, name: str, host: str, *, tls: bool) -> dict[str, Any]:
    """An Ingress manifest, with or without ``spec.tls``."""
    spec: dict[str, Any] = {
        "ingressClassName": "webapprouting.kubernetes.azure.com",
        "rules": [
            {
                "host": host,
                "http": {
                    "paths": [
                        {
                            "path": "/",
                            "pathType": "Prefix",
                            "backend": {"service": {"name": name, "port": {"number": 80}}},
                        }
                    ]
                },
            }
        ],
    }
    if tls:
        spec["tls"] = [{"hosts": [host], "secretName": f"{name}-tls"}]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": _meta(name, namespace),
        "spec": spec,
    }


def network_policy(namespace: str, name: str = "default-deny") -> dict[str, Any]:
    """A default-deny NetworkPolicy manifest."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _meta(name, namespace),
        "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
    }


def cilium_policy(namespace: str, name: str) -> dict[str, Any]:
    """A CiliumNetworkPolicy manifest (cilium.io/v2)."""
    return {
        "apiVersion": "cilium.io/v2",
        "kind": "CiliumNetworkPolicy",
        "metadata": _meta(name, namespace),
        "spec": {"endpointSelector": {}, "ingress": [{"fromEndpoints": [{}]}]},
    }


def calico_policy(namespace: str, name: str) -> dict[str, Any]:
    """A Calico NetworkPolicy manifest (crd.projectcalico.org/v1)."""
    return {
        "apiVersion": "crd.projectcalico.org/v1",
        "kind": "NetworkPolicy",
        "metadata": _meta(name, namespace),
        "spec": {"selector": "all()", "types": ["Ingress"]},
    }


def config_map(namespace: str, name: str, **data: str) -> dict[str, Any]:
    """A ConfigMap manifest."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _meta(name, namespace),
        "data": dict(data),
    }


def service_account(namespace: str, name: str, automount: bool | None = None) -> dict[str, Any]:
    """A ServiceAccount manifest."""
    out: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": _meta(name, namespace),
    }
    if automount is not None:
        out["automountServiceAccountToken"] = automount
    return out


def webhook_configuration(
    kind: str, name: str, service_namespace: str, labels: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """A Validating- or MutatingWebhookConfiguration manifest with one webhook."""
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": kind,
        "metadata": _meta(name, labels=labels),
        "webhooks": [
            {
                "name": f"{name}.{service_namespace}.svc",
                "admissionReviewVersions": ["v1"],
                "sideEffects": "None",
                "failurePolicy": "Ignore",
                "timeoutSeconds": 3,
                "clientConfig": {
                    "service": {"namespace": service_namespace, "name": name, "port": 443}
                },
                "rules": [
                    {
                        "apiGroups": [""],
                        "apiVersions": ["v1"],
                        "operations": ["CREATE", "UPDATE"],
                        "resources": ["pods"],
                        "scope": "*",
                    }
                ],
            }
        ],
    }


#: The rules of infra/k8s/kubelet-config-reader.yaml's ClusterRole (tests/infra/test_k8s.py keeps
#: them equal): nodes and nodes/proxy for configz, get/list of what section 4 reads.
SCANNER_RULES: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("", ("nodes",), ("get", "list")),
    ("", ("nodes/proxy",), ("get",)),
    (RBAC_GROUP, ("clusterroles", "clusterrolebindings", "roles", "rolebindings"), ("get", "list")),
    ("", ("namespaces", "pods", "serviceaccounts", "services"), ("get", "list")),
    ("networking.k8s.io", ("ingresses", "networkpolicies"), ("get", "list")),
    ("apps", ("daemonsets", "deployments", "replicasets", "statefulsets"), ("get", "list")),
    ("batch", ("cronjobs", "jobs"), ("get", "list")),
    (
        "admissionregistration.k8s.io",
        ("mutatingwebhookconfigurations", "validatingwebhookconfigurations"),
        ("get", "list"),
    ),
    ("crd.projectcalico.org", ("networkpolicies",), ("get", "list")),
    ("cilium.io", ("ciliumclusterwidenetworkpolicies", "ciliumnetworkpolicies"), ("get", "list")),
)


def scanner_rbac(principal_id: str) -> tuple[dict[str, Any], ...]:
    """The objects of ``infra/k8s/kubelet-config-reader.yaml`` bound to the scanner identity (what a
    cluster admin applies on Kubernetes-RBAC clusters): its ClusterRole and binding, and the Role
    for ConfigMaps in ``default`` with its RoleBinding."""
    labels = {"app.kubernetes.io/name": "aks-kubelet-cis-scanner"}
    reader = cluster_role(
        "aks-kubelet-config-reader",
        *(rule(list(verbs), list(resources), [group]) for group, resources, verbs in SCANNER_RULES),
        labels=labels,
    )
    scanner = subject("User", principal_id)
    default_reader = role(
        "default",
        "aks-cis-default-namespace-reader",
        rule(["get", "list"], ["configmaps"]),
        labels=labels,
    )
    return (
        reader,
        cluster_role_binding(
            "aks-kubelet-config-reader", "aks-kubelet-config-reader", scanner, labels=labels
        ),
        default_reader,
        role_binding(
            "default",
            "aks-cis-default-namespace-reader",
            "Role",
            "aks-cis-default-namespace-reader",
            scanner,
            labels=labels,
        ),
    )


# -- what every cluster has -------------------------------------------------------------------

_CRUD = ["create", "delete", "deletecollection", "patch", "update"]
_READ = ["get", "list", "watch"]


def _bootstrap_roles() -> tuple[dict[str, Any], ...]:
    b = BOOTSTRAP_LABELS
    return (
        cluster_role(
            "admin", labels=b, aggregate_from="rbac.authorization.k8s.io/aggregate-to-admin"
        ),
        cluster_role(
            "cluster-admin", rule(["*"], ["*"], ["*"]), rule(["*"], nonResourceURLs=["*"]), labels=b
        ),
        cluster_role(
            "edit",
            labels={**b, "rbac.authorization.k8s.io/aggregate-to-admin": "true"},
            aggregate_from="rbac.authorization.k8s.io/aggregate-to-edit",
        ),
        cluster_role(
            "system:aggregate-to-admin",
            rule(["create"], ["localsubjectaccessreviews"], ["authorization.k8s.io"]),
            rule([*_CRUD, *_READ], ["rolebindings", "roles"], [RBAC_GROUP]),
            labels={**b, "rbac.authorization.k8s.io/aggregate-to-admin": "true"},
        ),
        cluster_role(
            "system:aggregate-to-edit",
            rule(
                _READ,
                [
                    "pods/attach",
                    "pods/exec",
                    "pods/portforward",
                    "pods/proxy",
                    "secrets",
                    "services/proxy",
                ],
            ),
            rule(["impersonate"], ["serviceaccounts"]),
            rule(_CRUD, ["pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy"]),
            rule(["create"], ["pods/eviction"]),
            rule(
                _CRUD,
                [
                    "configmaps",
                    "events",
                    "persistentvolumeclaims",
                    "replicationcontrollers",
                    "replicationcontrollers/scale",
                    "secrets",
                    "serviceaccounts",
                    "services",
                    "services/proxy",
                ],
            ),
            rule(["create"], ["serviceaccounts/token"]),
            rule(
                _CRUD,
                [
                    "daemonsets",
                    "deployments",
                    "deployments/rollback",
                    "deployments/scale",
                    "replicasets",
                    "replicasets/scale",
                    "statefulsets",
                    "statefulsets/scale",
                ],
                ["apps"],
            ),
            rule(_CRUD, ["cronjobs", "jobs"], ["batch"]),
            rule(_CRUD, ["ingresses", "networkpolicies"], ["networking.k8s.io"]),
            labels={**b, "rbac.authorization.k8s.io/aggregate-to-edit": "true"},
        ),
        cluster_role(
            "system:aggregate-to-view",
            rule(
                _READ,
                [
                    "configmaps",
                    "endpoints",
                    "persistentvolumeclaims",
                    "persistentvolumeclaims/status",
                    "pods",
                    "replicationcontrollers",
                    "replicationcontrollers/scale",
                    "serviceaccounts",
                    "services",
                    "services/status",
                ],
            ),
            rule(
                _READ,
                [
                    "bindings",
                    "events",
                    "limitranges",
                    "namespaces/status",
                    "pods/log",
                    "pods/status",
                    "replicationcontrollers/status",
                    "resourcequotas",
                    "resourcequotas/status",
                ],
            ),
            rule(_READ, ["namespaces"]),
            rule(
                _READ,
                [
                    "controllerrevisions",
                    "daemonsets",
                    "daemonsets/status",
                    "deployments",
                    "deployments/scale",
                    "deployments/status",
                    "replicasets",
                    "replicasets/scale",
                    "replicasets/status",
                    "statefulsets",
                    "statefulsets/scale",
                    "statefulsets/status",
                ],
                ["apps"],
            ),
            rule(_READ, ["cronjobs", "cronjobs/status", "jobs", "jobs/status"], ["batch"]),
            rule(
                _READ, ["ingresses", "ingresses/status", "networkpolicies"], ["networking.k8s.io"]
            ),
            labels={**b, "rbac.authorization.k8s.io/aggregate-to-view": "true"},
        ),
        cluster_role(
            "system:auth-delegator",
            rule(["create"], ["tokenreviews"], ["authentication.k8s.io"]),
            rule(["create"], ["subjectaccessreviews"], ["authorization.k8s.io"]),
            labels=b,
        ),
        cluster_role(
            "system:basic-user",
            rule(
                ["create"],
                ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
                ["authorization.k8s.io"],
            ),
            rule(["create"], ["selfsubjectreviews"], ["authentication.k8s.io"]),
            labels=b,
        ),
        cluster_role(
            "system:discovery",
            rule(
                ["get"],
                nonResourceURLs=[
                    "/api",
                    "/api/*",
                    "/apis",
                    "/apis/*",
                    "/healthz",
                    "/livez",
                    "/openapi",
                    "/openapi/*",
                    "/readyz",
                    "/version",
                    "/version/",
                ],
            ),
            labels=b,
        ),
        cluster_role(
            "system:kube-controller-manager",
            rule(["create"], ["secrets", "serviceaccounts"]),
            rule(["delete"], ["secrets"]),
            rule(["get"], ["configmaps", "namespaces", "secrets", "serviceaccounts"]),
            rule(["update"], ["secrets", "serviceaccounts"]),
            rule(["list", "watch"], ["*"], ["*"]),
            rule(["create"], ["serviceaccounts/token"]),
            labels=b,
        ),
        cluster_role(
            "system:kubelet-api-admin",
            rule(_READ, ["nodes"]),
            rule(["proxy"], ["nodes"]),
            rule(["*"], ["nodes/log", "nodes/metrics", "nodes/proxy", "nodes/stats"]),
            labels=b,
        ),
        cluster_role(
            "system:node",
            rule(_READ, ["pods"]),
            rule(["create", "delete"], ["pods"]),
            rule(["get", "list", "watch"], ["configmaps", "secrets"]),
            rule(
                ["create", "get", "list", "watch"],
                ["certificatesigningrequests"],
                ["certificates.k8s.io"],
            ),
            rule(["create"], ["serviceaccounts/token"]),
            labels=b,
        ),
        cluster_role(
            "system:node-proxier",
            rule(["list", "watch"], ["endpoints", "services"]),
            rule(_READ, ["nodes"]),
            labels=b,
        ),
        cluster_role(
            "system:public-info-viewer",
            rule(
                ["get"], nonResourceURLs=["/healthz", "/livez", "/readyz", "/version", "/version/"]
            ),
            labels=b,
        ),
        cluster_role(
            "system:controller:clusterrole-aggregation-controller",
            rule(
                ["escalate", "get", "list", "patch", "update", "watch"],
                ["clusterroles"],
                [RBAC_GROUP],
            ),
            labels=b,
        ),
        cluster_role(
            "system:controller:generic-garbage-collector",
            rule(["delete", "get", "list", "patch", "update", "watch"], ["*"], ["*"]),
            labels=b,
        ),
        cluster_role(
            "system:controller:namespace-controller",
            rule(["delete", "get", "list", "watch"], ["namespaces"]),
            rule(["delete", "deletecollection", "get", "list", "watch"], ["*"], ["*"]),
            labels=b,
        ),
        cluster_role(
            "system:controller:certificate-controller",
            rule(
                ["update"],
                ["certificatesigningrequests/approval", "certificatesigningrequests/status"],
                ["certificates.k8s.io"],
            ),
            labels=b,
        ),
        cluster_role(
            "system:controller:disruption-controller", rule(["get"], ["*/scale"], ["*"]), labels=b
        ),
        cluster_role(
            "view",
            labels={**b, "rbac.authorization.k8s.io/aggregate-to-edit": "true"},
            aggregate_from="rbac.authorization.k8s.io/aggregate-to-view",
        ),
    )


def _bootstrap_bindings() -> tuple[dict[str, Any], ...]:
    b = BOOTSTRAP_LABELS
    out = [
        cluster_role_binding(
            "cluster-admin", "cluster-admin", subject("Group", "system:masters"), labels=b
        ),
        cluster_role_binding(
            "system:basic-user",
            "system:basic-user",
            subject("Group", "system:authenticated"),
            labels=b,
        ),
        cluster_role_binding(
            "system:discovery",
            "system:discovery",
            subject("Group", "system:authenticated"),
            labels=b,
        ),
        cluster_role_binding(
            "system:kube-controller-manager",
            "system:kube-controller-manager",
            subject("User", "system:kube-controller-manager"),
            labels=b,
        ),
        cluster_role_binding(
            "system:node-proxier",
            "system:node-proxier",
            subject("User", "system:kube-proxy"),
            labels=b,
        ),
        cluster_role_binding(
            "system:public-info-viewer",
            "system:public-info-viewer",
            subject("Group", "system:authenticated"),
            subject("Group", "system:unauthenticated"),
            labels=b,
        ),
    ]
    for controller in (
        "clusterrole-aggregation-controller",
        "generic-garbage-collector",
        "namespace-controller",
        "certificate-controller",
        "disruption-controller",
    ):
        out.append(
            cluster_role_binding(
                f"system:controller:{controller}",
                f"system:controller:{controller}",
                subject("ServiceAccount", controller, "kube-system"),
                labels=b,
            )
        )
    return tuple(out)


def _aks_objects() -> tuple[dict[str, Any], ...]:
    a = AKS_LABELS
    return (
        cluster_role("aks-service", rule(["*"], ["*"], ["*"]), labels=a),
        cluster_role_binding(
            "aks-service-rolebinding", "aks-service", subject("User", "aks-support"), labels=a
        ),
        cluster_role_binding(
            "aks-cluster-admin-binding",
            "cluster-admin",
            subject("User", "clusterAdmin"),
            subject("User", "clusterUser"),
            labels=a,
        ),
        cluster_role(
            "system:azure-cloud-provider-secret-getter", rule(["get"], ["secrets"]), labels=a
        ),
        cluster_role_binding(
            "system:azure-cloud-provider-secret-getter",
            "system:azure-cloud-provider-secret-getter",
            subject("ServiceAccount", "azure-cloud-provider", "kube-system"),
            labels=a,
        ),
        cluster_role(
            "system:metrics-server",
            rule(["get", "list", "watch"], ["pods", "nodes", "namespaces", "configmaps"]),
            labels=a,
        ),
        cluster_role_binding(
            "system:metrics-server",
            "system:metrics-server",
            subject("ServiceAccount", "metrics-server", "kube-system"),
            labels=a,
        ),
        service_account("kube-system", "metrics-server"),
        service_account("kube-system", "coredns"),
        service_account("kube-system", "kube-proxy"),
        service_account("kube-system", "azure-cloud-provider"),
        service("kube-system", "kube-dns", "ClusterIP", 53),
        service("kube-system", "metrics-server", "ClusterIP", 443),
        network_policy("kube-system", "konnectivity-agent"),
        webhook_configuration(
            "MutatingWebhookConfiguration", "aks-node-mutating-webhook", "kube-system", a
        ),
        webhook_configuration(
            "ValidatingWebhookConfiguration", "aks-node-validating-webhook", "kube-system", a
        ),
    )


BOOTSTRAP_RBAC: tuple[dict[str, Any], ...] = _bootstrap_roles() + _bootstrap_bindings()
AKS_OBJECTS: tuple[dict[str, Any], ...] = _aks_objects()

_SYSTEM = "mcr.microsoft.com/oss/kubernetes"
AKS_SYSTEM_WORKLOADS: tuple[Workload, ...] = (
    Workload(
        "Deployment",
        "kube-system",
        "coredns",
        pod_spec(
            container("coredns", "mcr.microsoft.com/oss/v2/kubernetes/coredns:v1.11.3-8"),
            serviceAccountName="coredns",
            priorityClassName="system-node-critical",
        ),
        replicas=2,
        labels={"k8s-app": "kube-dns"},
    ),
    Workload(
        "Deployment",
        "kube-system",
        "metrics-server",
        pod_spec(
            container(
                "metrics-server", "mcr.microsoft.com/oss/v2/kubernetes/metrics-server:v0.7.2-2"
            ),
            serviceAccountName="metrics-server",
        ),
        replicas=2,
        labels={"k8s-app": "metrics-server"},
    ),
    Workload(
        "DaemonSet",
        "kube-system",
        "kube-proxy",
        pod_spec(
            container(
                "kube-proxy", f"{_SYSTEM}/kube-proxy:v1.30.6", securityContext={"privileged": True}
            ),
            hostNetwork=True,
            serviceAccountName="kube-proxy",
        ),
        labels={"component": "kube-proxy"},
    ),
)


def aggregate(roles: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """ClusterRoles with ``aggregationRule`` get the rules of the ClusterRoles their selectors
    match, as kube-controller-manager's clusterrole-aggregation controller writes them (to a
    fixed point: ``admin`` takes ``edit``'s rules after ``edit`` took ``view``'s)."""
    by_name = {r["metadata"]["name"]: dict(r) for r in roles}
    for _ in range(len(by_name)):
        changed = False
        for current in by_name.values():
            selectors = (current.get("aggregationRule") or {}).get("clusterRoleSelectors") or []
            if not selectors:
                continue
            rules: list[Any] = []
            for other in sorted(by_name.values(), key=lambda r: r["metadata"]["name"]):
                if other is current:
                    continue
                labels = other["metadata"].get("labels") or {}
                if any(
                    all(labels.get(k) == v for k, v in s.get("matchLabels", {}).items())
                    for s in selectors
                ):
                    rules.extend(r for r in other.get("rules") or [] if r not in rules)
            if rules != current.get("rules"):
                current["rules"] = rules
                changed = True
        if not changed:
            break
    return [by_name[r["metadata"]["name"]] for r in roles]
