"""Sections 2, 3.1 and 5 of every CIS AKS version: ids, titles and levels as the sources give them,
and the same check for the same recommendation whatever id it carries.

Transcribed from the files named in ``cis_aks_versions`` (kube-bench aks-1.0/1.7/1.8, castai/kvisor
aks-1.3 to aks-1.6.0, kubescape regolibrary cis-aks-t1.2.0), independently of the module's title
constants, so a typo in either shows up here. Levels: CyberStrike's v1.7.0/v1.8.0 transcription;
assumed equal for older versions (see the module docstring).
"""

from __future__ import annotations

import pytest

from shared.core.controls import Check, Scope
from shared.core.controls import kubernetes as k8s
from shared.core.controls import managed_cluster as mc
from shared.core.controls.registry import benchmark_names, get_benchmark

KIND: dict[str, Check] = {
    "audit": mc.AUDIT_LOGS.check,
    "kubeconfig-perm": mc.KUBECONFIG_PERMISSIONS.check,
    "kubeconfig-own": mc.KUBECONFIG_OWNERSHIP.check,
    "azure-json-perm": mc.AZURE_JSON_PERMISSIONS.check,
    "azure-json-own": mc.AZURE_JSON_OWNERSHIP.check,
    "kubelet-conf-perm": mc.KUBELET_CONFIG_PERMISSIONS.check,
    "kubelet-conf-own": mc.KUBELET_CONFIG_OWNERSHIP.check,
    "scanning": mc.check_image_scanning,
    "acr-users": mc.check_acr_user_access,
    "acr-read-only": mc.check_acr_read_only,
    "approved-registries": k8s.APPROVED_REGISTRIES.check,
    "service-accounts": k8s.SERVICE_ACCOUNTS.check,
    "kms": mc.check_secrets_kms,
    "endpoint": mc.check_endpoint_restricted,
    "private-endpoint": mc.check_private_endpoint,
    "private-nodes": mc.check_private_nodes,
    "network-policy": mc.check_network_policy,
    "lb-tls": k8s.LB_TLS.check,
    "entra": mc.check_entra_rbac,
    "azure-rbac": mc.check_azure_rbac,
    "untrusted": mc.UNTRUSTED_WORKLOADS.check,
    "hostile": mc.HOSTILE_TENANTS.check,
}

Table = list[tuple[str, str, int, str]]

AUDIT: Table = [("2.1.1", "Enable audit Logs", 1, "audit")]
FILES_AZURE_JSON: Table = [
    (
        "3.1.1",
        "Ensure that the kubeconfig file permissions are set to 644 or more restrictive",
        1,
        "kubeconfig-perm",
    ),
    (
        "3.1.2",
        "Ensure that the kubelet kubeconfig file ownership is set to root:root",
        1,
        "kubeconfig-own",
    ),
    (
        "3.1.3",
        "Ensure that the azure.json file has permissions set to 644 or more restrictive",
        1,
        "azure-json-perm",
    ),
    ("3.1.4", "Ensure that the azure.json file ownership is set to root:root", 1, "azure-json-own"),
]
FILES_KUBELET_CONF: Table = [
    *FILES_AZURE_JSON[:2],
    (
        "3.1.3",
        "Ensure that the kubelet configuration file has permissions set to 644 or more restrictive",
        1,
        "kubelet-conf-perm",
    ),
    (
        "3.1.4",
        "Ensure that the kubelet configuration file ownership is set to root:root",
        1,
        "kubelet-conf-own",
    ),
]
MDC = "Ensure Image Vulnerability Scanning using Microsoft Defender for Cloud (MDC) image scanning or a third party provider"
AZURE_DEFENDER = "Ensure Image Vulnerability Scanning using Azure Defender image scanning or a third party provider"
USERS = "Minimize user access to Azure Container Registry (ACR)"
READ_ONLY = "Minimize cluster access to read-only for Azure Container Registry (ACR)"
APPROVED = "Minimize Container Registries to only those approved"
SERVICE_ACCOUNTS = "Prefer using dedicated AKS Service Accounts"
KMS = "Ensure Kubernetes Secrets are encrypted"
ENDPOINT = "Restrict Access to the Control Plane Endpoint"
PRIVATE_ENDPOINT = (
    "Ensure clusters are created with Private Endpoint Enabled and Public Access Disabled"
)
PRIVATE_CLUSTER = "Ensure clusters are Private Cluster enabled and Public Access Disabled"
PRIVATE_NODES = "Ensure clusters are created with Private Nodes"
NETWORK_POLICY = "Ensure Network Policy is Enabled and set as appropriate"
LB_TLS = "Encrypt traffic to HTTPS load balancers with TLS certificates"
ENTRA = "Manage Kubernetes RBAC users with Azure AD"
AZURE_RBAC = "Use Azure RBAC for Kubernetes Authorization"


def section5(scanning: str, private_endpoint: str) -> Table:
    return [
        ("5.1.1", scanning, 1, "scanning"),
        ("5.1.2", USERS, 1, "acr-users"),
        ("5.1.3", READ_ONLY, 1, "acr-read-only"),
        ("5.1.4", APPROVED, 2, "approved-registries"),
        ("5.2.1", SERVICE_ACCOUNTS, 1, "service-accounts"),
        ("5.3.1", KMS, 1, "kms"),
        ("5.4.1", ENDPOINT, 1, "endpoint"),
        ("5.4.2", private_endpoint, 2, "private-endpoint"),
        ("5.4.3", PRIVATE_NODES, 1, "private-nodes"),
        ("5.4.4", NETWORK_POLICY, 1, "network-policy"),
        ("5.4.5", LB_TLS, 2, "lb-tls"),
        ("5.5.1", ENTRA, 2, "entra"),
        ("5.5.2", AZURE_RBAC, 2, "azure-rbac"),
    ]


OTHER: Table = [
    ("5.6.1", "Restrict untrusted workloads", 1, "untrusted"),
    ("5.6.2", "Hostile multi-tenant workloads", 1, "hostile"),
]
V12_SECTION5: Table = [
    ("5.1.1", AZURE_DEFENDER, 1, "scanning"),
    ("5.1.2", READ_ONLY, 1, "acr-read-only"),
    ("5.1.3", USERS, 1, "acr-users"),
    ("5.1.4", APPROVED, 2, "approved-registries"),
    ("5.2.1", SERVICE_ACCOUNTS, 1, "service-accounts"),
    ("5.2.2", AZURE_RBAC, 2, "azure-rbac"),
    ("5.3.1", KMS, 1, "kms"),
    ("5.4.1", ENDPOINT, 1, "endpoint"),
    ("5.4.2", PRIVATE_ENDPOINT, 2, "private-endpoint"),
    ("5.4.3", PRIVATE_NODES, 1, "private-nodes"),
    ("5.4.4", NETWORK_POLICY, 1, "network-policy"),
    ("5.4.5", LB_TLS, 2, "lb-tls"),
    ("5.5.1", ENTRA, 2, "entra"),
    *OTHER,
]

EXPECTED: dict[str, Table] = {
    "cis-aks-1.8": [*AUDIT, *FILES_AZURE_JSON, *section5(MDC, PRIVATE_ENDPOINT)],
    "cis-aks-1.7": [*AUDIT, *FILES_AZURE_JSON, *section5(MDC, PRIVATE_ENDPOINT)],
    "cis-aks-1.6": [*AUDIT, *FILES_AZURE_JSON, *section5(AZURE_DEFENDER, PRIVATE_CLUSTER)],
    "cis-aks-1.5": [*AUDIT, *FILES_AZURE_JSON, *section5(AZURE_DEFENDER, PRIVATE_CLUSTER)],
    "cis-aks-1.4": [
        *AUDIT,
        *FILES_KUBELET_CONF,
        *section5(AZURE_DEFENDER, PRIVATE_ENDPOINT),
        *OTHER,
    ],
    "cis-aks-1.3": [
        *AUDIT,
        *FILES_KUBELET_CONF,
        *section5(AZURE_DEFENDER, PRIVATE_ENDPOINT),
        *OTHER,
    ],
    "cis-aks-1.2": [*AUDIT, *FILES_KUBELET_CONF, *V12_SECTION5],
    "cis-aks-1.0": [
        *AUDIT,
        *FILES_KUBELET_CONF,
        *section5(AZURE_DEFENDER, PRIVATE_ENDPOINT),
        *OTHER,
    ],
}
ROWS = [(name, cid, kind) for name, table in EXPECTED.items() for cid, _, _, kind in table]


class TestTablesMatchSources:
    @pytest.mark.parametrize("name", list(EXPECTED), ids=str)
    def test_ids_titles_levels(self, name):
        """Cluster-scoped ids, titles (character for character) and levels equal the source's."""
        table = [(c.id, c.title, c.level) for c in get_benchmark(name).arm_controls]
        assert table == [(cid, title, level) for cid, title, level, _ in EXPECTED[name]]

    @pytest.mark.parametrize("case", ROWS, ids="-".join)
    def test_same_recommendation_same_check(self, case):
        """A recommendation is evaluated by the same check, whichever id a version gives it."""
        name, control_id, kind = case
        assert get_benchmark(name).control(control_id).check is KIND[kind]

    def test_every_aks_benchmark_is_listed(self):
        """Every CIS AKS benchmark offered has its sections 2, 3.1 and 5 transcribed here."""
        assert sorted(EXPECTED) == sorted(n for n in benchmark_names() if n.startswith("cis-aks"))

    def test_17_and_18_are_identical_in_these_sections(self):
        """CIS AKS 1.7 and 1.8 have the same ids, titles and levels in sections 2, 3.1 and 5."""
        assert EXPECTED["cis-aks-1.7"] == EXPECTED["cis-aks-1.8"]


class TestGenericKubernetes:
    def test_cis_k8s_has_no_arm_controls(self):
        """CIS Kubernetes 1.12 is the generic benchmark: nothing there is judged from ARM."""
        bench = get_benchmark("cis-k8s-1.12")
        assert bench.arm_controls == ()
        assert {c.scope for c in bench.controls} == {Scope.NODE}
