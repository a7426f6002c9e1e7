"""CIS AKS 1.8 sections 2, 3.1 and 5 from ARM facts: every control passes, fails, reads absence
as its documented default, and is ERROR (never a guess) for a value of the wrong JSON type.

Facts are written here by hand in ARM's wire shapes (azure-rest-api-specs examples: managed
clusters 2025-10-01, pricings 2024-01-01, registries 2025-04-01, role assignments and definitions
2022-04-01, diagnostic settings 2021-05-01-preview).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import pytest

from shared.core.controls import Scope
from shared.core.controls.registry import get_benchmark
from shared.core.evaluate import evaluate_cluster
from shared.core.facts import Facts
from shared.core.model import Policy, Status, Verdict

BENCH = get_benchmark("cis-aks-1.8")
SUB = "3c5a7e91-2b4d-4f6a-8c0e-1a2b3c4d5e6f"
CLUSTER_ID = f"/subscriptions/{SUB}/resourcegroups/rg-prod/providers/Microsoft.ContainerService/managedClusters/aks-prod"
KUBELET = "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d"
USER = "1f2e3d4c-5b6a-4798-8a7b-6c5d4e3f2a1b"
GROUP = "7d6c5b4a-3e2f-4a1b-8c9d-0e1f2a3b4c5d"
ACR_ID = f"/subscriptions/{SUB}/resourceGroups/rg-acr/providers/Microsoft.ContainerRegistry/registries/acrprod"
OTHER_ACR = f"/subscriptions/{SUB}/resourceGroups/rg-acr/providers/Microsoft.ContainerRegistry/registries/acrshared"
ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
ACR_PUSH = "8311e382-0749-4cb8-b61a-304f252e45ec"
OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"


def role(guid: str, name: str, actions: list[str], **more: list[str]) -> dict[str, Any]:
    permissions = {"actions": actions, "notActions": [], "dataActions": [], "notDataActions": []}
    permissions.update(more)
    return {
        "id": f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{guid}",
        "name": guid,
        "type": "Microsoft.Authorization/roleDefinitions",
        "properties": {
            "roleName": name,
            "type": "BuiltInRole",
            "permissions": [permissions],
            "assignableScopes": ["/"],
        },
    }


ROLES = {
    ACR_PULL: role(ACR_PULL, "AcrPull", ["Microsoft.ContainerRegistry/registries/pull/read"]),
    ACR_PUSH: role(
        ACR_PUSH,
        "AcrPush",
        [
            "Microsoft.ContainerRegistry/registries/pull/read",
            "Microsoft.ContainerRegistry/registries/push/write",
        ],
    ),
    OWNER: role(OWNER, "Owner", ["*"]),
    READER: role(READER, "Reader", ["*/read"]),
}


def assignment(principal: str, kind: str, role_id: str, scope: str) -> dict[str, Any]:
    name = f"{principal[:8]}-{role_id[:8]}"
    return {
        "id": f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}",
        "name": name,
        "type": "microsoft.authorization/roleassignments",
        "properties": {
            "roleDefinitionId": f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{role_id}",
            "principalId": principal,
            "principalType": kind,
            "scope": scope,
        },
    }


def registry(rid: str = ACR_ID, **props: Any) -> dict[str, Any]:
    name = rid.rsplit("/", 1)[-1]
    return {
        "id": rid,
        "name": name,
        "type": "microsoft.containerregistry/registries",
        "properties": {
            "loginServer": f"{name}.azurecr.io",
            "adminUserEnabled": False,
            "anonymousPullEnabled": False,
            "publicNetworkAccess": "Enabled",
            **props,
        },
    }


def cluster(**props: Any) -> dict[str, Any]:
    """A managed cluster (2025-10-01 shape) with the given top-level properties."""
    base: dict[str, Any] = {
        "provisioningState": "Succeeded",
        "agentPoolProfiles": [
            {
                "name": "system",
                "count": 3,
                "mode": "System",
                "nodeImageVersion": "AKSUbuntu-2204gen2containerd-202503.02.0",
            }
        ],
        "identityProfile": {
            "kubeletidentity": {
                "resourceId": f"/subscriptions/{SUB}/resourcegroups/MC_rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/aks-prod-agentpool",
                "clientId": "00000000-0000-0000-0000-0000000000c1",
                "objectId": KUBELET,
            }
        },
    }
    base.update(props)
    return {"id": CLUSTER_ID, "name": "aks-prod", "location": "westeurope", "properties": base}


def pricing(tier: Any = "Standard", enabled: Any = "True") -> dict[str, Any]:
    props: dict[str, Any] = {"pricingTier": tier, "freeTrialRemainingTime": "PT0S"}
    if enabled is not None:
        props["extensions"] = [
            {"name": "ContainerRegistriesVulnerabilityAssessments", "isEnabled": enabled}
        ]
    return {
        "id": f"/subscriptions/{SUB}/providers/Microsoft.Security/pricings/Containers",
        "name": "Containers",
        "type": "Microsoft.Security/pricings",
        "properties": props,
    }


def setting(name: str, logs: Any, destination: bool = True) -> dict[str, Any]:
    props: dict[str, Any] = {"logs": logs, "metrics": []}
    if destination:
        props["workspaceId"] = (
            f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/law"
        )
    return {
        "id": f"{CLUSTER_ID}/providers/microsoft.insights/diagnosticSettings/{name}",
        "type": "Microsoft.Insights/diagnosticSettings",
        "name": name,
        "properties": props,
    }


def facts(**values: Any) -> dict[str, Any]:
    """Default facts of a cluster whose kubelet identity pulls from one registry."""
    base: dict[str, Any] = {
        "managedCluster": cluster(),
        "diagnosticSettings": [],
        "defenderPricing": pricing(),
        "registries": [registry()],
        "roleAssignments": [
            assignment(KUBELET, "ServicePrincipal", ACR_PULL, ACR_ID),
            assignment(USER, "User", ACR_PUSH, ACR_ID),
            assignment(GROUP, "Group", OWNER, f"/subscriptions/{SUB}"),
        ],
        "roleDefinitions": dict(ROLES),
    }
    base.update(values)
    return base


def judge(control_id: str, values: Mapping[str, Any], policy: Policy | None = None) -> Verdict:
    (verdict,) = evaluate_cluster(Facts(values), [BENCH.control(control_id)], policy or Policy())
    return verdict


def with_props(**props: Any) -> dict[str, Any]:
    return facts(managedCluster=cluster(**props))


#: (control, case label, facts, policy, status, a fragment the reason must contain)
Case = tuple[str, str, dict[str, Any], Policy | None, Status, str]

AUDIT_ADMIN = [{"category": "kube-audit-admin", "enabled": True}]
CASES: list[Case] = [
    # 2.1.1
    (
        "2.1.1",
        "pass",
        facts(diagnosticSettings=[setting("audit", AUDIT_ADMIN)]),
        None,
        Status.PASS,
        "audit",
    ),
    (
        "2.1.1",
        "pass-allLogs",
        facts(diagnosticSettings=[setting("all", [{"categoryGroup": "allLogs", "enabled": True}])]),
        None,
        Status.PASS,
        "all",
    ),
    (
        "2.1.1",
        "fail-other-categories",
        facts(
            diagnosticSettings=[setting("api", [{"category": "kube-apiserver", "enabled": True}])]
        ),
        None,
        Status.FAIL,
        "none of the cluster's 1",
    ),
    (
        "2.1.1",
        "fail-disabled",
        facts(diagnosticSettings=[setting("off", [{"category": "kube-audit", "enabled": False}])]),
        None,
        Status.FAIL,
        "kube-audit",
    ),
    (
        "2.1.1",
        "fail-no-destination",
        facts(diagnosticSettings=[setting("nowhere", AUDIT_ADMIN, destination=False)]),
        None,
        Status.FAIL,
        "kube-audit",
    ),
    ("2.1.1", "absent", facts(diagnosticSettings=[]), None, Status.FAIL, "no diagnostic setting"),
    (
        "2.1.1",
        "manual-audit-group",
        facts(diagnosticSettings=[setting("grp", [{"categoryGroup": "audit", "enabled": True}])]),
        None,
        Status.MANUAL,
        "'audit' category group",
    ),
    (
        "2.1.1",
        "wrong-type-logs",
        facts(diagnosticSettings=[setting("bad", "kube-audit")]),
        None,
        Status.ERROR,
        "logs has the wrong type",
    ),
    (
        "2.1.1",
        "wrong-type-enabled",
        facts(diagnosticSettings=[setting("bad", [{"category": "kube-audit", "enabled": "true"}])]),
        None,
        Status.ERROR,
        "enabled has the wrong type",
    ),
    # 3.1.x: always MANUAL
    *[
        (cid, label, values, None, Status.MANUAL, "not visible through any API")
        for cid in ("3.1.1", "3.1.2", "3.1.3", "3.1.4")
        for label, values in (
            ("manual", facts()),
            ("manual-absent-pools", with_props(agentPoolProfiles=None)),
        )
    ],
    *[
        (
            cid,
            "wrong-type",
            with_props(agentPoolProfiles={"name": "system"}),
            None,
            Status.ERROR,
            "agentPoolProfiles has the wrong type",
        )
        for cid in ("3.1.1", "3.1.2", "3.1.3", "3.1.4")
    ],
    # 5.1.1
    ("5.1.1", "pass", facts(), None, Status.PASS, "vulnerability assessment on"),
    (
        "5.1.1",
        "pass-lowercase-true",
        facts(defenderPricing=pricing(enabled="true")),
        None,
        Status.PASS,
        "vulnerability",
    ),
    (
        "5.1.1",
        "fail-free",
        facts(defenderPricing=pricing("Free", None)),
        None,
        Status.FAIL,
        "not on",
    ),
    (
        "5.1.1",
        "fail-extension-off",
        facts(defenderPricing=pricing(enabled="False")),
        None,
        Status.FAIL,
        "ContainerRegistriesVulnerabilityAssessments is off",
    ),
    (
        "5.1.1",
        "absent",
        facts(defenderPricing={"name": "Containers", "properties": {}}),
        None,
        Status.FAIL,
        'pricingTier is absent, so its default "Free" applies',
    ),
    (
        "5.1.1",
        "manual-third-party",
        facts(defenderPricing=pricing("Free", None)),
        Policy(third_party_image_scanning="Trivy in CI"),
        Status.MANUAL,
        "Trivy in CI",
    ),
    (
        "5.1.1",
        "wrong-type-enabled",
        facts(defenderPricing=pricing(enabled=True)),
        None,
        Status.ERROR,
        "isEnabled has the wrong type",
    ),
    (
        "5.1.1",
        "wrong-type-tier",
        facts(defenderPricing=pricing(tier=1)),
        None,
        Status.ERROR,
        "pricingTier has the wrong type",
    ),
    # 5.1.2
    ("5.1.2", "manual-no-policy", facts(), None, Status.MANUAL, "2 principals hold write roles"),
    (
        "5.1.2",
        "pass-approved",
        facts(),
        Policy(acr_write_principals=frozenset({USER, GROUP})),
        Status.PASS,
        "approved",
    ),
    (
        "5.1.2",
        "fail-unapproved",
        facts(),
        Policy(acr_write_principals=frozenset({USER})),
        Status.FAIL,
        GROUP,
    ),
    (
        "5.1.2",
        "fail-admin-user",
        facts(registries=[registry(adminUserEnabled=True)]),
        Policy(acr_write_principals=frozenset({USER, GROUP})),
        Status.FAIL,
        "admin user is enabled on 1 registry (acrprod.azurecr.io)",
    ),
    (
        "5.1.2",
        "absent-admin-user",
        facts(registries=[registry(adminUserEnabled=None)]),
        None,
        Status.MANUAL,
        "admin user is off",
    ),
    (
        "5.1.2",
        "absent-no-registry-role",
        facts(roleAssignments=[assignment(USER, "User", ACR_PUSH, ACR_ID)]),
        None,
        Status.MANUAL,
        "holds no role on any registry",
    ),
    (
        "5.1.2",
        "absent-kubelet-identity",
        with_props(identityProfile=None, servicePrincipalProfile={"clientId": "legacy-sp"}),
        None,
        Status.MANUAL,
        "no managed kubelet identity",
    ),
    (
        "5.1.2",
        "error-unseen-registry",
        facts(registries=[]),
        None,
        Status.ERROR,
        "Microsoft.ContainerRegistry/registries/read",
    ),
    (
        "5.1.2",
        "error-role-not-read",
        facts(roleDefinitions={ACR_PULL: ROLES[ACR_PULL]}),
        None,
        Status.ERROR,
        "Microsoft.Authorization/roleDefinitions/read",
    ),
    (
        "5.1.2",
        "wrong-type-admin",
        facts(registries=[registry(adminUserEnabled="false")]),
        None,
        Status.ERROR,
        "adminUserEnabled has the wrong type",
    ),
    (
        "5.1.2",
        "wrong-type-kubelet",
        with_props(identityProfile={"kubeletidentity": {"objectId": 7}}),
        None,
        Status.ERROR,
        "objectId has the wrong type",
    ),
    # 5.1.3
    ("5.1.3", "pass", facts(), None, Status.PASS, "only read roles"),
    (
        "5.1.3",
        "fail-push",
        facts(roleAssignments=[assignment(KUBELET, "ServicePrincipal", ACR_PUSH, ACR_ID)]),
        None,
        Status.FAIL,
        "AcrPush at",
    ),
    (
        "5.1.3",
        "fail-owner-on-subscription",
        facts(
            roleAssignments=[
                assignment(KUBELET, "ServicePrincipal", OWNER, f"/subscriptions/{SUB}")
            ]
        ),
        None,
        Status.FAIL,
        "Owner at",
    ),
    (
        "5.1.3",
        "pass-reader-on-resource-group",
        facts(
            roleAssignments=[
                assignment(
                    KUBELET,
                    "ServicePrincipal",
                    READER,
                    f"/subscriptions/{SUB}/resourceGroups/rg-acr",
                )
            ]
        ),
        None,
        Status.PASS,
        "Reader at",
    ),
    (
        "5.1.3",
        "absent-no-role",
        facts(roleAssignments=[]),
        None,
        Status.MANUAL,
        "holds no role on any registry",
    ),
    (
        "5.1.3",
        "absent-kubelet-identity",
        with_props(identityProfile=None),
        None,
        Status.MANUAL,
        "no managed kubelet identity",
    ),
    (
        "5.1.3",
        "error-role-not-read",
        facts(roleDefinitions={}),
        None,
        Status.ERROR,
        "roleDefinitions/read",
    ),
    (
        "5.1.3",
        "wrong-type-permissions",
        facts(
            roleDefinitions={
                **ROLES,
                ACR_PULL: {"properties": {"roleName": "AcrPull", "permissions": "pull"}},
            }
        ),
        None,
        Status.ERROR,
        "permissions has the wrong type",
    ),
    (
        "5.1.3",
        "wrong-type-scope",
        facts(
            roleAssignments=[
                {"properties": {"principalId": KUBELET, "roleDefinitionId": ACR_PULL, "scope": 5}}
            ]
        ),
        None,
        Status.ERROR,
        "scope has the wrong type",
    ),
    # 5.1.4
    ("5.1.4", "manual-no-policy", facts(), None, Status.MANUAL, "acrprod.azurecr.io"),
    (
        "5.1.4",
        "pass-approved",
        facts(),
        Policy(approved_registries=("*.azurecr.io",)),
        Status.PASS,
        "approved (1)",
    ),
    (
        "5.1.4",
        "fail-unapproved",
        facts(),
        Policy(approved_registries=("contoso.azurecr.io",)),
        Status.FAIL,
        "acrprod.azurecr.io",
    ),
    (
        "5.1.4",
        "absent-no-registry",
        facts(roleAssignments=[]),
        Policy(approved_registries=("*.azurecr.io",)),
        Status.MANUAL,
        "holds no role on any registry",
    ),
    (
        "5.1.4",
        "wrong-type-login",
        facts(registries=[registry(loginServer=5)]),
        None,
        Status.ERROR,
        "loginServer has the wrong type",
    ),
    # 5.2.1 and 5.4.5: MANUAL with ARM evidence
    (
        "5.2.1",
        "manual",
        with_props(
            securityProfile={"workloadIdentity": {"enabled": True}},
            oidcIssuerProfile={"enabled": True},
        ),
        None,
        Status.MANUAL,
        "securityProfile.workloadIdentity.enabled is true",
    ),
    (
        "5.2.1",
        "manual-absent",
        facts(),
        None,
        Status.MANUAL,
        "workloadIdentity.enabled is absent, so its default false applies",
    ),
    (
        "5.2.1",
        "wrong-type",
        with_props(oidcIssuerProfile={"enabled": "yes"}),
        None,
        Status.ERROR,
        "oidcIssuerProfile.enabled has the wrong type",
    ),
    (
        "5.4.5",
        "manual",
        with_props(ingressProfile={"webAppRouting": {"enabled": True}}),
        None,
        Status.MANUAL,
        "ingressProfile.webAppRouting.enabled is true",
    ),
    ("5.4.5", "manual-absent", facts(), None, Status.MANUAL, "webAppRouting.enabled is absent"),
    (
        "5.4.5",
        "wrong-type",
        with_props(addonProfiles={"ingressApplicationGateway": {"enabled": 1}}),
        None,
        Status.ERROR,
        "ingressApplicationGateway.enabled has the wrong type",
    ),
    # 5.3.1
    (
        "5.3.1",
        "pass",
        with_props(
            securityProfile={
                "azureKeyVaultKms": {"enabled": True, "keyVaultNetworkAccess": "Private"}
            }
        ),
        None,
        Status.PASS,
        "Private",
    ),
    (
        "5.3.1",
        "fail",
        with_props(securityProfile={"azureKeyVaultKms": {"enabled": False}}),
        None,
        Status.FAIL,
        "platform-managed keys",
    ),
    (
        "5.3.1",
        "absent",
        facts(),
        None,
        Status.FAIL,
        "azureKeyVaultKms.enabled is absent, so its default false applies",
    ),
    (
        "5.3.1",
        "wrong-type",
        with_props(securityProfile={"azureKeyVaultKms": {"enabled": "true"}}),
        None,
        Status.ERROR,
        "azureKeyVaultKms.enabled has the wrong type",
    ),
    # 5.4.1
    (
        "5.4.1",
        "pass-private",
        with_props(apiServerAccessProfile={"enablePrivateCluster": True}),
        None,
        Status.PASS,
        "private address",
    ),
    (
        "5.4.1",
        "pass-ranges",
        with_props(
            apiServerAccessProfile={"authorizedIPRanges": ["203.0.113.10/32", "198.51.100.0/24"]}
        ),
        None,
        Status.PASS,
        "2 ranges",
    ),
    (
        "5.4.1",
        "fail-world",
        with_props(apiServerAccessProfile={"authorizedIPRanges": ["203.0.113.10/32", "0.0.0.0/0"]}),
        None,
        Status.FAIL,
        "0.0.0.0/0",
    ),
    (
        "5.4.1",
        "fail-world-ipv6",
        with_props(apiServerAccessProfile={"authorizedIPRanges": ["::/0"]}),
        None,
        Status.FAIL,
        "::/0",
    ),
    ("5.4.1", "absent", facts(), None, Status.FAIL, "authorizedIPRanges is absent"),
    (
        "5.4.1",
        "wrong-type",
        with_props(apiServerAccessProfile={"authorizedIPRanges": "203.0.113.10/32"}),
        None,
        Status.ERROR,
        "authorizedIPRanges has the wrong type",
    ),
    # 5.4.2
    (
        "5.4.2",
        "pass",
        with_props(
            apiServerAccessProfile={
                "enablePrivateCluster": True,
                "enablePrivateClusterPublicFQDN": False,
            }
        ),
        None,
        Status.PASS,
        "enablePrivateCluster is true",
    ),
    (
        "5.4.2",
        "fail-public-fqdn",
        with_props(
            apiServerAccessProfile={
                "enablePrivateCluster": True,
                "enablePrivateClusterPublicFQDN": True,
            }
        ),
        None,
        Status.FAIL,
        "public FQDN",
    ),
    (
        "5.4.2",
        "fail-public",
        with_props(apiServerAccessProfile={"enablePrivateCluster": False}),
        None,
        Status.FAIL,
        "public endpoint",
    ),
    (
        "5.4.2",
        "absent",
        facts(),
        None,
        Status.FAIL,
        "enablePrivateCluster is absent, so its default false applies",
    ),
    (
        "5.4.2",
        "absent-fqdn-on-private",
        with_props(apiServerAccessProfile={"enablePrivateCluster": True}),
        None,
        Status.PASS,
        "enablePrivateClusterPublicFQDN is absent",
    ),
    (
        "5.4.2",
        "wrong-type",
        with_props(apiServerAccessProfile={"enablePrivateCluster": "true"}),
        None,
        Status.ERROR,
        "enablePrivateCluster has the wrong type",
    ),
    # 5.4.3
    (
        "5.4.3",
        "pass",
        with_props(apiServerAccessProfile={"enablePrivateCluster": True}),
        None,
        Status.PASS,
        "no node pool gives nodes public IPs",
    ),
    (
        "5.4.3",
        "fail",
        with_props(
            agentPoolProfiles=[{"name": "system"}, {"name": "gpu", "enableNodePublicIP": True}]
        ),
        None,
        Status.FAIL,
        "1 node pool (gpu)",
    ),
    ("5.4.3", "absent", facts(), None, Status.FAIL, "enablePrivateCluster is absent"),
    (
        "5.4.3",
        "wrong-type",
        with_props(agentPoolProfiles=[{"name": "gpu", "enableNodePublicIP": "no"}]),
        None,
        Status.ERROR,
        "enableNodePublicIP has the wrong type",
    ),
    # 5.4.4
    *[
        (
            "5.4.4",
            f"pass-{engine}",
            with_props(networkProfile={"networkPlugin": "azure", "networkPolicy": engine}),
            None,
            Status.PASS,
            engine,
        )
        for engine in ("azure", "calico", "cilium", "Cilium")
    ],
    (
        "5.4.4",
        "fail-none",
        with_props(networkProfile={"networkPolicy": "none"}),
        None,
        Status.FAIL,
        "not enforced",
    ),
    (
        "5.4.4",
        "absent",
        with_props(networkProfile={"networkPlugin": "kubenet"}),
        None,
        Status.FAIL,
        'networkPolicy is absent, so its default "none" applies',
    ),
    (
        "5.4.4",
        "wrong-type",
        with_props(networkProfile={"networkPolicy": True}),
        None,
        Status.ERROR,
        "networkPolicy has the wrong type",
    ),
    # 5.5.1
    (
        "5.5.1",
        "pass",
        with_props(
            aadProfile={"managed": True, "adminGroupObjectIDs": [GROUP]},
            disableLocalAccounts=True,
            enableRBAC=True,
        ),
        None,
        Status.PASS,
        "local accounts are disabled",
    ),
    (
        "5.5.1",
        "pass-local-accounts-evidence",
        with_props(aadProfile={"managed": True}),
        None,
        Status.PASS,
        "local accounts stay enabled",
    ),
    (
        "5.5.1",
        "pass-legacy",
        with_props(
            aadProfile={"serverAppID": "00000000-0000-0000-0000-00000000a001"}, enableRBAC=True
        ),
        None,
        Status.PASS,
        "legacy",
    ),
    (
        "5.5.1",
        "fail-rbac-off",
        with_props(aadProfile={"managed": True}, enableRBAC=False),
        None,
        Status.FAIL,
        "Kubernetes RBAC is off",
    ),
    ("5.5.1", "absent", with_props(enableRBAC=True), None, Status.FAIL, "aadProfile is absent"),
    (
        "5.5.1",
        "wrong-type",
        with_props(aadProfile={"managed": "true"}),
        None,
        Status.ERROR,
        "aadProfile.managed has the wrong type",
    ),
    # 5.5.2
    (
        "5.5.2",
        "pass",
        with_props(aadProfile={"managed": True, "enableAzureRBAC": True}),
        None,
        Status.PASS,
        "enableAzureRBAC is true",
    ),
    (
        "5.5.2",
        "fail",
        with_props(aadProfile={"managed": True, "enableAzureRBAC": False}),
        None,
        Status.FAIL,
        "only Kubernetes RBAC",
    ),
    (
        "5.5.2",
        "absent",
        facts(),
        None,
        Status.FAIL,
        "enableAzureRBAC is absent, so its default false applies",
    ),
    (
        "5.5.2",
        "wrong-type",
        with_props(aadProfile={"enableAzureRBAC": 1}),
        None,
        Status.ERROR,
        "enableAzureRBAC has the wrong type",
    ),
]


def case_id(case: Case) -> str:
    return f"{case[0]}-{case[1]}"


class TestEveryControl:
    """Each cluster-scoped control of cis-aks-1.8 under pass, fail, absent and wrong-type facts."""

    @pytest.mark.parametrize("case", CASES, ids=case_id)
    def test_status_and_reason(self, case):
        """The verdict's status, and a reason an operator can act on."""
        control_id, _, values, policy, status, fragment = case
        verdict = judge(control_id, values, policy)
        assert verdict.status is status, verdict.reason
        assert fragment in verdict.reason

    def test_every_control_has_each_kind_of_case(self):
        """No cluster-scoped control lacks a pass (or always-MANUAL), fail, absent or wrong-type case."""
        labels: dict[str, set[str]] = {}
        for control_id, label, *_ in CASES:
            labels.setdefault(control_id, set()).add(label.split("-")[0])
        for control in BENCH.arm_controls:
            kinds = labels.get(control.id, set())
            assert {"absent", "wrong"} <= kinds or ("manual" in kinds and "wrong" in kinds), (
                control.id,
                kinds,
            )
            assert ("pass" in kinds and "fail" in kinds) or "manual" in kinds, (control.id, kinds)

    @pytest.mark.parametrize("case", CASES, ids=case_id)
    def test_facts_are_not_changed(self, case):
        """A check reads its facts and never mutates them (they are shared between controls)."""
        control_id, _, values, policy, _, _ = case
        before = copy.deepcopy(values)
        judge(control_id, values, policy)
        assert values == before


class TestEvidence:
    def test_pools_with_public_ips_are_counted(self):
        """5.4.3's evidence lists the pools with node public IPs and counts them."""
        values = with_props(
            agentPoolProfiles=[
                {"name": "b", "enableNodePublicIP": True},
                {"name": "a", "enableNodePublicIP": True},
                {"name": "c"},
            ]
        )
        verdict = judge("5.4.3", values)
        assert verdict.evidence.lists[0] == ("poolsWithNodePublicIP", ("b", "a"))
        assert verdict.evidence.count == 2

    def test_write_principals_are_the_first_list(self):
        """5.1.2 without a policy: the principals with write roles, with their roles, are counted."""
        verdict = judge("5.1.2", facts())
        name, items = verdict.evidence.lists[0]
        assert name == "writePrincipals"
        assert items == (f"{USER} (User): AcrPush", f"{GROUP} (Group): Owner")

    def test_values_are_the_arm_fields_read(self):
        """5.4.1 shows the ARM fields it judged, absent ones as null."""
        verdict = judge(
            "5.4.1", with_props(apiServerAccessProfile={"authorizedIPRanges": ["10.0.0.0/8"]})
        )
        assert dict(verdict.evidence.values) == {
            "apiServerAccessProfile.enablePrivateCluster": None,
            "apiServerAccessProfile.authorizedIPRanges": ("10.0.0.0/8",),
            "publicNetworkAccess": None,
        }

    def test_node_file_controls_carry_the_node_images(self):
        """3.1.x hand the auditor each pool's node image version."""
        verdict = judge("3.1.3", facts())
        assert verdict.evidence.lists == (
            ("nodeImages", ("system: AKSUbuntu-2204gen2containerd-202503.02.0",)),
        )


class TestTable:
    def test_cluster_controls_are_cluster_scoped_and_name_their_reads(self):
        """Sections 2, 3.1 and 5 are cluster-scoped and each names the ARM reads it needs."""
        for control in BENCH.controls:
            if control.section == "3.2":
                assert control.scope is Scope.NODE
                continue
            assert control.scope is Scope.CLUSTER, control.id
            assert control.reads, control.id
            assert not control.needs_session, control.id
            assert control.description, control.id
            assert control.links, control.id

    def test_arm_property_names_not_cli_names(self):
        """Checks read ARM's names; the az CLI casings the CIS text shows appear nowhere."""
        for control in BENCH.arm_controls:
            text = control.description + control.expected + control.remediation
            for cli_name in ("authorizedIpRanges", "enableAzureRbac", "enablePublicFqdn"):
                assert cli_name not in text, (control.id, cli_name)
