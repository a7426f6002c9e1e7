"""The simulated estate as plain data: tenant, subscriptions, clusters, node pools, nodes.

Everything here is a frozen dataclass (configz objects are plain dicts, never mutated); the
servers in this package render it into ARM JSON, Resource Graph rows, kubeconfigs, NodeLists and
configz bodies. ``default_estate()`` is the demo estate the end-to-end tests scan;
``generated_estate()`` builds large uniform estates for benchmarks.

Node names follow AKS: ``aks-<pool>-<8 digits>-vmss<6 base36 digits>``, where the 8 digits are
fixed per cluster and pool (a hash here, a VMSS name suffix on AKS) and the tail is the VMSS
instance index in base 36 (``vmss000000``, ``vmss00000a``).
"""

from __future__ import annotations

import uuid
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from shared.core.records import FINDINGS_STREAM, RUNS_STREAM
from sim import demo_workloads
from sim.kubeletconfig import ABSENT, aks_kubelet_config, derive, insert_after
from sim.kubeobjects import KubeObjects

AKS_SERVER_APP_ID = "6dae42f8-4368-4678-94ff-3960e28e3630"
"""Application id of "Azure Kubernetes Service AAD Server": the audience of AKS Entra tokens."""

SCANNER_API_CLIENT_ID = "5e3c9a71-8f2d-4b6e-a0c4-7d1e9f2b3a58"
"""Application (client) id of the simulated scanner API's app registration: tokens' ``aud``."""

_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def base36(number: int, width: int = 6) -> str:
    """``number`` in lower-case base 36, zero-padded to ``width`` (VMSS instance suffix)."""
    if number < 0:
        raise ValueError("negative instance index")
    digits = ""
    while True:
        number, rest = divmod(number, 36)
        digits = _BASE36[rest] + digits
        if number == 0:
            break
    return digits.rjust(width, "0")


def stable_guid(*parts: str) -> str:
    """A GUID that depends only on ``parts`` (uuid5), so estates are reproducible."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "aks-kubelet-sim:" + "/".join(parts)))


@dataclass(frozen=True, slots=True)
class Identity:
    """The scanner's user-assigned managed identity."""

    client_id: str
    principal_id: str
    name: str = "id-aks-kubelet-scanner"
    resource_id: str = ""


@dataclass(frozen=True, slots=True)
class NodeOverride:
    """How one node differs from its pool.

    ``unreachable``: the API server cannot dial the kubelet (kube-apiserver answers 500 with
    ``error trying to reach service: dial tcp <ip>:10250: connect: connection refused``); the
    node still reports Ready unless ``ready`` says otherwise. ``configz`` replaces the kubelet
    configuration object; ``body`` replaces the whole configz response body with raw bytes.
    """

    unreachable: bool = False
    configz: Mapping[str, Any] | None = None
    body: bytes | None = None
    ready: bool = True


@dataclass(frozen=True, slots=True)
class NodePool:
    """A VMSS agent pool: ``count`` nodes with the same kubelet configuration.

    ``node_public_ip``: ARM's ``enableNodePublicIP`` (each node gets its own public address).
    """

    name: str
    count: int
    configz: Mapping[str, Any]
    mode: str = "User"
    kubelet_version: str = "v1.30.6"
    os_image: str = "Ubuntu 22.04.5 LTS"
    kernel_version: str = "5.15.0-1079-azure"
    container_runtime_version: str = "containerd://1.7.25-1"
    vm_size: str = "Standard_D4ds_v5"
    os_sku: str = "Ubuntu"
    node_image_version: str = "AKSUbuntu-2204gen2containerd-202503.02.0"
    overrides: Mapping[int, NodeOverride] = field(default_factory=dict)
    node_public_ip: bool = False


@dataclass(frozen=True, slots=True)
class SimNode:
    """One node as the API server knows it (derived from its pool)."""

    name: str
    pool: NodePool
    index: int
    internal_ip: str
    override: NodeOverride

    @property
    def configz(self) -> Mapping[str, Any]:
        """The kubelet configuration object this node serves."""
        return self.override.configz if self.override.configz is not None else self.pool.configz


@dataclass(frozen=True, slots=True)
class DiagnosticSetting:
    """A diagnostic setting on a cluster: which log categories (``"group:allLogs"`` for a category
    group) it enables, and whether it has a destination (a Log Analytics workspace)."""

    name: str
    logs: tuple[tuple[str, bool], ...]
    workspace: bool = True


@dataclass(frozen=True, slots=True)
class Registry:
    """An Azure Container Registry in a subscription."""

    name: str
    resource_group: str
    location: str = "westeurope"
    admin_user: bool = False
    sku: str = "Premium"


@dataclass(frozen=True, slots=True)
class RoleAssignment:
    """One Azure role assignment: a principal holds the role (GUID) at an absolute ARM scope."""

    principal_id: str
    principal_type: str  # User, Group or ServicePrincipal
    role: str
    scope: str


@dataclass(frozen=True, slots=True)
class Defender:
    """The subscription's Microsoft Defender for Containers plan (pricing ``Containers``)."""

    tier: str = "Free"
    vulnerability_assessment: bool = False


@dataclass(frozen=True, slots=True)
class SimCluster:
    """An AKS managed cluster.

    ``readers`` may list and get nodes; ``proxy_readers`` may ``get nodes/proxy`` (configz).
    ``None`` means the estate's identity only. ``credentials_allowed=False`` makes
    listClusterUserCredential answer 403 AuthorizationFailed.

    ``private_cluster``: no API server the scanner can reach (its kubeconfig points at a loopback
    port that refuses connections), ``enablePrivateCluster`` and a ``privateFQDN`` in ARM; the
    run command API still reaches it. ``run_command_disabled`` is
    ``apiServerAccessProfile.disableRunCommand``; ``run_command_allowed=False`` makes runCommand
    and commandResults answer 403 AuthorizationFailed. ``kube`` is what the cluster holds beyond
    its nodes (workloads, RBAC, policies: ``sim.kubeobjects``), served as the section 4 lists.

    ARM-only settings (the cluster-scoped controls read them): ``network_policy`` (None: the
    property is absent), ``authorized_ip_ranges``, ``public_fqdn`` (a private cluster's
    ``enablePrivateClusterPublicFQDN``), ``kms`` (``securityProfile.azureKeyVaultKms.enabled``),
    ``diagnostic_settings``, and ``diagnostics_readable=False`` (its diagnostic settings answer
    403 AuthorizationFailed: the scanner's role lacks the read).
    """

    name: str
    resource_group: str
    location: str
    pools: tuple[NodePool, ...] = ()
    power_state: str = "Running"
    aad_managed: bool = True
    azure_rbac: bool = False
    local_accounts_disabled: bool = False
    kubernetes_version: str = "1.30.6"
    private_cluster: bool = False
    readers: tuple[str, ...] | None = None
    proxy_readers: tuple[str, ...] | None = None
    credentials_allowed: bool = True
    tags: Mapping[str, str] = field(default_factory=dict)
    run_command_disabled: bool = False
    run_command_allowed: bool = True
    kube: KubeObjects = field(default_factory=KubeObjects)
    network_policy: str | None = "none"
    authorized_ip_ranges: tuple[str, ...] = ()
    public_fqdn: bool = False
    kms: bool = False
    diagnostic_settings: tuple[DiagnosticSetting, ...] = ()
    diagnostics_readable: bool = True

    @property
    def kubelet_identity(self) -> str:
        """Object id of the cluster's kubelet managed identity (``identityProfile``)."""
        return stable_guid(self.name, "kubelet-identity")

    @property
    def running(self) -> bool:
        """True unless the cluster is stopped (a stopped cluster has no API server)."""
        return self.power_state.lower() != "stopped"

    def vmss_suffix(self, pool: NodePool) -> str:
        """The 8 digits AKS puts in a pool's VMSS and node names (fixed per cluster and pool)."""
        return f"{zlib.crc32(f'{self.name}/{pool.name}'.encode()) % 100_000_000:08d}"

    def nodes(self) -> list[SimNode]:
        """Every node of every pool, in pool order then instance order."""
        nodes: list[SimNode] = []
        serial = 0
        for pool in self.pools:
            suffix = self.vmss_suffix(pool)
            for index in range(pool.count):
                ip = f"10.224.{serial // 250}.{4 + serial % 250}"
                nodes.append(
                    SimNode(
                        name=f"aks-{pool.name}-{suffix}-vmss{base36(index)}",
                        pool=pool,
                        index=index,
                        internal_ip=ip,
                        override=pool.overrides.get(index, NodeOverride()),
                    )
                )
                serial += 1
        return nodes

    def allowed(self, principal: str, identity: Identity, *, proxy: bool) -> bool:
        """True when ``principal`` may list nodes (or, with ``proxy``, get nodes/proxy)."""
        group = self.proxy_readers if proxy else self.readers
        if group is None:
            return principal == identity.principal_id
        return principal in group


@dataclass(frozen=True, slots=True)
class Subscription:
    """A subscription. ``accessible=False``: the identity holds no role there (not listed,
    ARM answers 403 AuthorizationFailed, Resource Graph leaves it out)."""

    id: str
    display_name: str
    clusters: tuple[SimCluster, ...] = ()
    state: str = "Enabled"
    accessible: bool = True
    registries: tuple[Registry, ...] = ()
    role_assignments: tuple[RoleAssignment, ...] = ()
    defender: Defender = Defender()
    #: False: the identity may not read Microsoft.Security/pricings here, so Resource Graph
    #: leaves this subscription's pricings out (it returns only what the caller may read).
    pricings_readable: bool = True


@dataclass(frozen=True, slots=True)
class Latency:
    """Milliseconds added before each answer, per kind of call."""

    token_ms: float = 0.0
    arm_ms: float = 0.0
    list_ms: float = 0.0
    configz_ms: float = 0.0
    ingestion_ms: float = 0.0
    run_command_ms: float = 200.0  # how long a run command "runs" before its result is ready


@dataclass(frozen=True, slots=True)
class Paging:
    """Page sizes. Small defaults make every client exercise its paging loop."""

    subscriptions: int = 1
    managed_clusters: int = 2
    resource_graph: int = 3


@dataclass(frozen=True, slots=True)
class Estate:
    """The whole simulated tenant."""

    tenant_id: str
    subscriptions: tuple[Subscription, ...]
    identity: Identity
    dcr_immutable_id: str
    dcr_streams: tuple[str, ...] = (FINDINGS_STREAM, RUNS_STREAM)
    latency: Latency = Latency()
    paging: Paging = Paging()

    def clusters(self) -> Iterator[tuple[Subscription, SimCluster]]:
        """Every (subscription, cluster) pair, in estate order."""
        for subscription in self.subscriptions:
            for cluster in subscription.clusters:
                yield subscription, cluster

    def cluster(self, name: str) -> SimCluster:
        """The cluster called ``name``; KeyError if there is none."""
        for _, cluster in self.clusters():
            if cluster.name == name:
                return cluster
        raise KeyError(name)

    def subscription_of(self, name: str) -> Subscription:
        """The subscription holding cluster ``name``."""
        for subscription, cluster in self.clusters():
            if cluster.name == name:
                return subscription
        raise KeyError(name)

    def with_latency(self, **ms: float) -> Estate:
        """A copy with some latencies changed (``configz_ms=50``...)."""
        return replace(self, latency=replace(self.latency, **ms))

    def with_paging(self, **sizes: int) -> Estate:
        """A copy with some page sizes changed."""
        return replace(self, paging=replace(self.paging, **sizes))


def registry_resource_id(subscription_id: str, registry: Registry) -> str:
    """The ARM id of a container registry."""
    return (
        f"/subscriptions/{subscription_id}/resourceGroups/{registry.resource_group}"
        f"/providers/Microsoft.ContainerRegistry/registries/{registry.name}"
    )


#: Built-in roles the estate assigns: GUID -> (roleName, actions, notActions). GUIDs and
#: permissions as Microsoft Learn's "Azure built-in roles" lists them.
ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
ACR_PUSH = "8311e382-0749-4cb8-b61a-304f252e45ec"
OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
#: Azure Kubernetes Service RBAC Cluster Admin: every data action of the cluster (Microsoft
#: Learn "Azure built-in roles for Containers"): Azure RBAC's cluster-admin (4.1.1).
AKS_RBAC_CLUSTER_ADMIN = "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b"
BUILT_IN_ROLES: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    ACR_PULL: ("AcrPull", ("Microsoft.ContainerRegistry/registries/pull/read",), ()),
    ACR_PUSH: (
        "AcrPush",
        (
            "Microsoft.ContainerRegistry/registries/pull/read",
            "Microsoft.ContainerRegistry/registries/push/write",
        ),
        (),
    ),
    OWNER: ("Owner", ("*",), ()),
    CONTRIBUTOR: (
        "Contributor",
        ("*",),
        (
            "Microsoft.Authorization/*/Delete",
            "Microsoft.Authorization/*/Write",
            "Microsoft.Authorization/elevateAccess/Action",
            "Microsoft.Blueprint/blueprintAssignments/write",
            "Microsoft.Blueprint/blueprintAssignments/delete",
            "Microsoft.Compute/galleries/share/action",
            "Microsoft.Purview/consents/write",
            "Microsoft.Purview/consents/delete",
            "Microsoft.Resources/deploymentStacks/manageDenySetting/action",
            "Microsoft.Subscription/cancel/action",
            "Microsoft.Subscription/enable/action",
        ),
    ),
    READER: ("Reader", ("*/read",), ()),
    AKS_RBAC_CLUSTER_ADMIN: (
        "Azure Kubernetes Service RBAC Cluster Admin",
        (
            "Microsoft.Authorization/*/read",
            "Microsoft.Resources/subscriptions/operationresults/read",
            "Microsoft.Resources/subscriptions/read",
            "Microsoft.Resources/subscriptions/resourceGroups/read",
            "Microsoft.ContainerService/managedClusters/listClusterUserCredential/action",
        ),
        (),
    ),
}
#: The data actions of the roles above that have any (GUID -> dataActions).
BUILT_IN_DATA_ACTIONS: dict[str, tuple[str, ...]] = {
    AKS_RBAC_CLUSTER_ADMIN: ("Microsoft.ContainerService/managedClusters/*",),
}


def cluster_resource_id(subscription_id: str, cluster: SimCluster) -> str:
    """The ARM id of a managed cluster, cased as the AKS resource provider returns it."""
    return (
        f"/subscriptions/{subscription_id}/resourcegroups/{cluster.resource_group}"
        f"/providers/Microsoft.ContainerService/managedClusters/{cluster.name}"
    )


# -- the demo estate ------------------------------------------------------------------------

DEMO_TENANT = "8e1c3a51-6f2d-4c1e-9b7a-2d4f6a8c0e11"
DEMO_SUB_PROD = "3c5a7e91-2b4d-4f6a-8c0e-1a2b3c4d5e6f"
DEMO_SUB_DEV = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"
DEMO_CLIENT_ID = "5f0c7d2e-9a41-4b83-a6d2-7c1e3b9f4a60"
DEMO_PRINCIPAL_ID = "0e9d8c7b-6a5f-4e3d-9c2b-1a0f9e8d7c6b"
DEMO_DCR = "dcr-7d3f9a0b1c2e4d5f8a6b0c9d1e2f3a4b"
#: A release pipeline's service principal (AcrPush on acrcontosoprod) and a platform team's
#: group (Owner of the production subscription): the principals with registry write roles.
DEMO_PIPELINE_ID = "4d3c2b1a-0f9e-4d8c-b7a6-5f4e3d2c1b0a"
DEMO_PLATFORM_GROUP = "6b5a4c3d-2e1f-4a0b-9c8d-7e6f5a4b3c2d"
#: The on-call group holding Azure Kubernetes Service RBAC Cluster Admin on aks-prod-weu (an
#: Azure-RBAC cluster): Azure's cluster-admin, which 4.1.1 counts there.
DEMO_ONCALL_GROUP = "9c8b7a6f-5e4d-4c3b-8a29-1f0e9d8c7b6a"

COMPLIANT = aks_kubelet_config()

LEGACY = derive(
    COMPLIANT,
    {
        "eventRecordQPS": 3,
        "rotateCertificates": ABSENT,
        "serverTLSBootstrap": ABSENT,
        "makeIPTablesUtilChains": False,
        "authentication.anonymous.enabled": True,
    },
)
insert_after(LEGACY, "port", "readOnlyPort", 10255)  # declaration order: port, readOnlyPort

BATCH_CPU = derive(
    COMPLIANT,
    {"eventRecordQPS": 50, "featureGates.RotateKubeletServerCertificate": False},
)

BATCH_GPU = derive(
    COMPLIANT,
    {
        "streamingConnectionIdleTimeout": "0s",
        "eventRecordQPS": "5",  # the wrong type on purpose: a string where Go has *int32
        "authorization.mode": "AlwaysAllow",
        # KubeletAuthentication.X509 has no omitempty: an unset x509 block serializes as {}.
        "authentication.x509": {},
    },
)


#: One system node of aks-prod-weu: eventRecordQPS 10 and a 1h idle timeout instead of the pool's
#: 0 and 4h. Both still pass; the node-pool view names the node as drifted.
DRIFTED_SYSTEM: Mapping[str, Any] = {
    **COMPLIANT,
    "eventRecordQPS": 10,
    "streamingConnectionIdleTimeout": "1h0m0s",
}


def default_estate() -> Estate:
    """The demo estate: two subscriptions, five clusters, compliant and non-compliant nodes.

    Subscription "Contoso Production" (``DEMO_SUB_PROD``):
      * ``aks-prod-weu`` (Entra + Azure RBAC, local accounts disabled): pool ``system`` with 3
        compliant nodes, pool ``user`` with 4 compliant nodes of which instance 2 is unreachable.
      * ``aks-legacy-eus`` (Entra, Kubernetes RBAC): pool ``legacy`` with 2 nodes failing
        3.2.1, 3.2.4, 3.2.6, 3.2.7 and 3.2.8 (see ``LEGACY``).
      * ``aks-local-only`` (no Entra, local accounts): pool ``nodes`` with 2 compliant nodes.
    Subscription "Contoso Dev" (``DEMO_SUB_DEV``):
      * ``aks-dev-stopped``: stopped; no API server.
      * ``aks-batch-neu`` (Entra): pool ``cpu`` (2 nodes, eventRecordQPS 50 and
        RotateKubeletServerCertificate false) and pool ``gpu`` (2 nodes, idle timeout "0s",
        eventRecordQPS "5" as a string, AlwaysAllow, no client CA).

    What ARM says (the cluster-scoped controls; tests/e2e/expected.py has each verdict):
      * Production has Defender for Containers with vulnerability assessment, the registries
        ``acrcontosoprod`` (admin user off; a pipeline may push, a platform group owns the
        subscription) and ``acrlegacy`` (admin user on). ``aks-prod-weu``: authorized ranges,
        Cilium network policy, KMS, audit logs to a workspace, AcrPull on acrcontosoprod.
        ``aks-legacy-eus``: no ranges, no network policy, only kube-apiserver logs, AcrPush on
        acrlegacy, a pool with node public IPs, no Azure RBAC. ``aks-local-only``: Azure network
        policy, no Entra ID, no registry role, and diagnostic settings the scanner may not read
        (403 AuthorizationFailed).
      * Dev has Defender's Free tier and ``acrbatch``. ``aks-dev-stopped``: private, with a
        public FQDN, Calico, no diagnostic setting, AcrPull on the production registry.
        ``aks-batch-neu``: ranges that include 0.0.0.0/0, network policy ``none``, allLogs to a
        workspace, AcrPull on acrbatch.
    """
    acr_prod = Registry("acrcontosoprod", "rg-registry", "westeurope")
    acr_legacy = Registry("acrlegacy", "rg-legacy-eus", "eastus", admin_user=True)
    acr_batch = Registry("acrbatch", "rg-batch-neu", "northeurope")
    audit_admin = DiagnosticSetting("send-to-law", (("kube-audit-admin", True), ("guard", True)))
    prod = Subscription(
        id=DEMO_SUB_PROD,
        display_name="Contoso Production",
        clusters=(
            SimCluster(
                name="aks-prod-weu",
                resource_group="rg-prod-weu",
                location="westeurope",
                aad_managed=True,
                azure_rbac=True,
                local_accounts_disabled=True,
                kubernetes_version="1.30.6",
                pools=(
                    # vmss000002 drifted from its pool (changed by hand, or missed a node-image
                    # upgrade): different values that still comply, so only the drift view sees it.
                    NodePool(
                        "system",
                        3,
                        COMPLIANT,
                        mode="System",
                        overrides={2: NodeOverride(configz=DRIFTED_SYSTEM)},
                    ),
                    NodePool("user", 4, COMPLIANT, overrides={2: NodeOverride(unreachable=True)}),
                ),
                tags={"environment": "production"},
                kube=demo_workloads.PROD,
                network_policy="cilium",
                authorized_ip_ranges=("203.0.113.0/24", "198.51.100.10/32"),
                kms=True,
                diagnostic_settings=(audit_admin,),
            ),
            SimCluster(
                name="aks-legacy-eus",
                resource_group="rg-legacy-eus",
                location="eastus",
                aad_managed=True,
                azure_rbac=False,
                kubernetes_version="1.29.9",
                pools=(
                    NodePool(
                        "legacy",
                        2,
                        LEGACY,
                        mode="System",
                        kubelet_version="v1.29.9",
                        os_image="Ubuntu 20.04.6 LTS",
                        kernel_version="5.4.0-1139-azure",
                        container_runtime_version="containerd://1.6.26-1",
                        node_image_version="AKSUbuntu-2004containerd-202402.12.0",
                        node_public_ip=True,
                    ),
                ),
                tags={"environment": "legacy"},
                kube=demo_workloads.LEGACY,
                network_policy=None,
                diagnostic_settings=(
                    DiagnosticSetting("apiserver-only", (("kube-apiserver", True),)),
                ),
            ),
            SimCluster(
                name="aks-local-only",
                resource_group="rg-local",
                location="westeurope",
                aad_managed=False,
                local_accounts_disabled=False,
                kubernetes_version="1.30.6",
                pools=(NodePool("nodes", 2, COMPLIANT, mode="System"),),
                kube=demo_workloads.LOCAL,
                network_policy="azure",
                diagnostics_readable=False,
            ),
        ),
        registries=(acr_prod, acr_legacy),
        defender=Defender("Standard", vulnerability_assessment=True),
    )
    dev = Subscription(
        id=DEMO_SUB_DEV,
        display_name="Contoso Dev",
        clusters=(
            SimCluster(
                name="aks-dev-stopped",
                resource_group="rg-dev",
                location="westeurope",
                power_state="Stopped",
                kubernetes_version="1.30.6",
                pools=(NodePool("system", 1, COMPLIANT, mode="System"),),
                private_cluster=True,
                public_fqdn=True,
                network_policy="calico",
            ),
            SimCluster(
                name="aks-batch-neu",
                resource_group="rg-batch-neu",
                location="northeurope",
                aad_managed=True,
                kubernetes_version="1.31.2",
                pools=(
                    NodePool("cpu", 2, BATCH_CPU, mode="System", kubelet_version="v1.31.2"),
                    NodePool(
                        "gpu",
                        2,
                        BATCH_GPU,
                        kubelet_version="v1.31.2",
                        vm_size="Standard_NC6s_v3",
                    ),
                ),
                kube=demo_workloads.BATCH,
                authorized_ip_ranges=("0.0.0.0/0",),
                diagnostic_settings=(DiagnosticSetting("everything", (("group:allLogs", True),)),),
            ),
        ),
        registries=(acr_batch,),
    )
    prod_acr_id = registry_resource_id(DEMO_SUB_PROD, acr_prod)
    kubelet = {c.name: c.kubelet_identity for s in (prod, dev) for c in s.clusters}
    prod = replace(
        prod,
        role_assignments=(
            RoleAssignment(kubelet["aks-prod-weu"], "ServicePrincipal", ACR_PULL, prod_acr_id),
            RoleAssignment(kubelet["aks-dev-stopped"], "ServicePrincipal", ACR_PULL, prod_acr_id),
            RoleAssignment(
                kubelet["aks-legacy-eus"],
                "ServicePrincipal",
                ACR_PUSH,
                registry_resource_id(DEMO_SUB_PROD, acr_legacy),
            ),
            RoleAssignment(DEMO_PIPELINE_ID, "ServicePrincipal", ACR_PUSH, prod_acr_id),
            RoleAssignment(DEMO_PLATFORM_GROUP, "Group", OWNER, f"/subscriptions/{DEMO_SUB_PROD}"),
            RoleAssignment(
                DEMO_PRINCIPAL_ID, "ServicePrincipal", READER, f"/subscriptions/{DEMO_SUB_PROD}"
            ),
            RoleAssignment(
                DEMO_ONCALL_GROUP,
                "Group",
                AKS_RBAC_CLUSTER_ADMIN,
                cluster_resource_id(
                    DEMO_SUB_PROD, next(c for c in prod.clusters if c.name == "aks-prod-weu")
                ),
            ),
        ),
    )
    dev = replace(
        dev,
        role_assignments=(
            RoleAssignment(
                kubelet["aks-batch-neu"],
                "ServicePrincipal",
                ACR_PULL,
                registry_resource_id(DEMO_SUB_DEV, acr_batch),
            ),
        ),
    )
    return Estate(
        tenant_id=DEMO_TENANT,
        subscriptions=(prod, dev),
        identity=Identity(
            client_id=DEMO_CLIENT_ID,
            principal_id=DEMO_PRINCIPAL_ID,
            resource_id=(
                f"/subscriptions/{DEMO_SUB_PROD}/resourcegroups/rg-scanner/providers/"
                "Microsoft.ManagedIdentity/userAssignedIdentities/id-aks-kubelet-scanner"
            ),
        ),
        dcr_immutable_id=DEMO_DCR,
    )


def generated_estate(
    clusters: int,
    nodes_per_cluster: int,
    *,
    subscriptions: int = 4,
    latency: Latency | None = None,
    paging: Paging | None = None,
    configz: Mapping[str, Any] | None = None,
    kube: KubeObjects | None = None,
) -> Estate:
    """A uniform estate for benchmarks: ``clusters`` Entra clusters spread round-robin over
    ``subscriptions``, each with one compliant pool of ``nodes_per_cluster`` nodes and ``kube``
    (e.g. ``demo_workloads.scaled(100_000)``) as what each runs."""
    if clusters < 0 or nodes_per_cluster < 0 or subscriptions < 1:
        raise ValueError("clusters and nodes must be >= 0, subscriptions >= 1")
    config = dict(configz) if configz is not None else COMPLIANT
    per_sub: list[list[SimCluster]] = [[] for _ in range(subscriptions)]
    for number in range(clusters):
        per_sub[number % subscriptions].append(
            SimCluster(
                name=f"aks-bench-{number:04d}",
                resource_group=f"rg-bench-{number % subscriptions:02d}",
                location=("westeurope", "northeurope", "eastus", "westus2")[number % 4],
                aad_managed=True,
                azure_rbac=True,
                local_accounts_disabled=True,
                pools=(NodePool("pool1", nodes_per_cluster, config, mode="System"),),
                kube=kube or KubeObjects(),
            )
        )
    tenant = stable_guid("bench", "tenant")
    return Estate(
        tenant_id=tenant,
        subscriptions=tuple(
            Subscription(
                id=stable_guid("bench", "subscription", str(i)),
                display_name=f"Benchmark {i}",
                clusters=tuple(per_sub[i]),
            )
            for i in range(subscriptions)
        ),
        identity=Identity(
            client_id=stable_guid("bench", "client"),
            principal_id=stable_guid("bench", "principal"),
        ),
        dcr_immutable_id="dcr-" + uuid.uuid5(uuid.NAMESPACE_URL, "bench-dcr").hex,
        latency=latency or Latency(),
        paging=paging or Paging(subscriptions=100, managed_clusters=100, resource_graph=1000),
    )
