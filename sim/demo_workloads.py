"""What the demo clusters run, for section 4; and a generated cluster of any size for benchmarks.

* ``PROD``  (aks-prod-weu, Azure RBAC): what a careful team runs. Restricted Pod Security, a
  default-deny policy per namespace, dedicated service accounts without tokens, TLS ingress,
  images from the team's ACR. Section 4 finds nothing there except what needs a person (4.6.1,
  5.1.4 without approved registries).
* ``LEGACY`` (aks-legacy-eus, Kubernetes RBAC): every classic mistake. cluster-admin for a group,
  a wildcard operator role bound to a service account, the default service account bound to
  ``edit``, a privileged Deployment that takes a Secret through ``envFrom`` and runs a Docker Hub
  image, a hostNetwork/hostPID DaemonSet, a bare pod and a ConfigMap in ``default``, no network
  policies, a plain-HTTP LoadBalancer and an Ingress without TLS.
* ``LOCAL`` (aks-local-only): a small tools namespace whose Deployment runs as the default
  service account (token mounted); Calico installed with a Calico policy.
* ``BATCH`` (aks-batch-neu): Cilium installed with a CiliumNetworkPolicy; a Job, a CronJob that
  takes a Secret through ``env``, a pod with a privileged ephemeral debug container; the scanner's
  role was not given ``list jobs.batch``, so what needs Jobs cannot be read there.

``scaled(pods, namespaces)`` spreads ``pods`` over Deployments of 20 replicas in ``namespaces``
namespaces: the pods are computed page by page (``sim.kubelists.PodListing``).
"""

from __future__ import annotations

from sim.kubeobjects import (
    KubeObjects,
    Namespace,
    Workload,
    calico_policy,
    cilium_policy,
    cluster_role,
    cluster_role_binding,
    config_map,
    container,
    ingress,
    network_policy,
    pod_spec,
    role,
    role_binding,
    rule,
    service,
    service_account,
    subject,
)

ACR = "contosoacr.azurecr.io"
RESTRICTED = {"pod-security.kubernetes.io/enforce": "restricted"}
_HARDENED = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "runAsNonRoot": True,
    "readOnlyRootFilesystem": True,
}
_POD_CONTEXT = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}


def _hardened(name: str, image: str, account: str) -> dict[str, object]:
    return pod_spec(
        container(name, image, securityContext=dict(_HARDENED)),
        serviceAccountName=account,
        automountServiceAccountToken=False,
        securityContext=dict(_POD_CONTEXT),
    )


PROD = KubeObjects(
    namespaces=(Namespace("shop", RESTRICTED), Namespace("payments", RESTRICTED)),
    workloads=(
        Workload("Deployment", "shop", "storefront", _hardened("web", f"{ACR}/shop/storefront:3.2.0", "storefront"), replicas=3),
        Workload("Deployment", "payments", "ledger", _hardened("api", f"{ACR}/payments/ledger:1.9.4", "ledger"), replicas=2),
    ),
    objects=(
        service_account("shop", "storefront", automount=False),
        service_account("payments", "ledger", automount=False),
        network_policy("default"),
        network_policy("shop"),
        network_policy("payments"),
        service("shop", "storefront", "ClusterIP", 8080),
        ingress("shop", "storefront", "shop.contoso.example", tls=True),
        role("shop", "config-reader", rule(["get", "list"], ["configmaps"])),
        role_binding("shop", "storefront-config", "Role", "config-reader", subject("ServiceAccount", "storefront", "shop")),
    ),
    default_automount=dict.fromkeys(("default", "kube-public", "kube-node-lease", "shop", "payments"), False),
)  # fmt: skip

LEGACY = KubeObjects(
    namespaces=(Namespace("legacy"),),
    workloads=(
        Workload(
            "Deployment",
            "legacy",
            "billing",
            pod_spec(
                container(
                    "billing",
                    "nginx:1.25",
                    securityContext={"privileged": True, "allowPrivilegeEscalation": True},
                    envFrom=[{"secretRef": {"name": "billing-db"}}],
                ),
                initContainers=[container("migrate", f"{ACR}/legacy/migrate:7")],
            ),
            replicas=2,
        ),
        Workload(
            "DaemonSet",
            "legacy",
            "log-agent",
            pod_spec(container("agent", "docker.io/fluent/fluent-bit:2.2"), hostNetwork=True, hostPID=True),
        ),
        Workload(
            "StatefulSet",
            "legacy",
            "db",
            pod_spec(
                container(
                    "postgres",
                    "postgres:15",
                    env=[{"name": "POSTGRES_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db-root", "key": "password"}}}],
                )
            ),
            replicas=1,
        ),
        Workload("Pod", "default", "debug", pod_spec(container("shell", "busybox:1.36"))),
    ),
    objects=(
        cluster_role_binding("ops-admins", "cluster-admin", subject("Group", "5b2c7e4a-0f1d-4c3b-9a8e-2d6f0b1c3a7e")),
        cluster_role("legacy-operator", rule(["*"], ["*"], ["*"])),
        cluster_role_binding("legacy-operator", "legacy-operator", subject("ServiceAccount", "operator", "legacy")),
        service_account("legacy", "operator"),
        role_binding("legacy", "default-edit", "ClusterRole", "edit", subject("ServiceAccount", "default", "legacy")),
        service("legacy", "billing", "LoadBalancer", 80),
        ingress("legacy", "billing", "billing.contoso.example", tls=False),
        config_map("default", "settings", mode="legacy"),
    ),
)  # fmt: skip

LOCAL = KubeObjects(
    namespaces=(Namespace("tools"),),
    workloads=(Workload("Deployment", "tools", "toolbox", pod_spec(container("toolbox", f"{ACR}/tools/toolbox:2"))),),
    objects=(calico_policy("tools", "tools-isolation"),),
    crds=frozenset({"calico"}),
    default_automount={"default": False},
)  # fmt: skip

BATCH = KubeObjects(
    namespaces=(Namespace("batch"),),
    workloads=(
        Workload("Job", "batch", "backfill", _hardened("backfill", f"{ACR}/batch/backfill:5", "batch-runner")),
        Workload(
            "CronJob",
            "batch",
            "nightly-export",
            pod_spec(
                container("export", f"{ACR}/batch/export:5", env=[{"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "export-token", "key": "token"}}}]),
                serviceAccountName="batch-runner",
            ),
            replicas=2,
        ),
        Workload(
            "Pod",
            "batch",
            "inspect",
            pod_spec(
                container("main", f"{ACR}/batch/inspect:1"),
                ephemeralContainers=[{"name": "debugger", "image": "busybox:1.36", "securityContext": {"privileged": True}}],
            ),
        ),
    ),
    objects=(service_account("batch", "batch-runner", automount=False), cilium_policy("batch", "batch-egress")),
    crds=frozenset({"cilium"}),
    denied=frozenset({"jobs.batch"}),
    default_automount={"default": False, "batch": False},
)  # fmt: skip


def scaled(pods: int, namespaces: int = 50, replicas: int = 20) -> KubeObjects:
    """A cluster running ``pods`` pods (Deployments of ``replicas``) in ``namespaces`` namespaces,
    each namespace with a default-deny policy; pods are generated as pages are served."""
    if pods < 0 or namespaces < 1 or replicas < 1:
        raise ValueError("pods >= 0, namespaces >= 1 and replicas >= 1")
    workloads = []
    remaining, number = pods, 0
    while remaining > 0:
        count = min(replicas, remaining)
        ns = f"team-{number % namespaces:03d}"
        spec = _hardened("app", f"{ACR}/team/app-{number % 7}:1", "default")
        workloads.append(Workload("Deployment", ns, f"svc-{number:05d}", spec, replicas=count))
        remaining -= count
        number += 1
    names = sorted({w.namespace for w in workloads})
    return KubeObjects(
        namespaces=tuple(Namespace(n, RESTRICTED) for n in names),
        workloads=tuple(workloads),
        objects=tuple(network_policy(n) for n in names),
        default_automount=dict.fromkeys(names, False),
    )
