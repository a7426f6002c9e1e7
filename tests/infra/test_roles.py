"""Least privilege: the scanner role holds exactly the calls the scanner makes, and each built-in
role the app identity gets sits on the one resource that needs it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pytest

from shared.core.k8s_lists import CALICO, CILIUM, OPTIONAL_READS, READS, ListRef
from tests.infra.bicep import ROOT, Template, bicep_files, main, walk

MAIN = main()
ROLE = MAIN.module("scannerRole")

#: Each action is one call of the scanner (shared/adapters/azure_arm.py, kube_api.py).
SCANNER_ACTIONS = [
    "Microsoft.Resources/subscriptions/read",  # SubscriptionClient.subscriptions.list
    "Microsoft.ResourceGraph/resources/read",  # ResourceGraphClient.resources (discovery)
    "Microsoft.ContainerService/managedClusters/read",  # managed_clusters.list (ARM fallback)
    "Microsoft.ContainerService/managedClusters/listClusterUserCredential/action",  # server URL + CA
    # shared/adapters/azure_facts.py, the reads of the cluster-scoped controls:
    "Microsoft.Insights/diagnosticSettings/read",  # GET {cluster}/providers/.../diagnosticSettings
    "Microsoft.Security/pricings/read",  # Resource Graph securityresources (Defender pricing)
    "Microsoft.ContainerRegistry/registries/read",  # Resource Graph resources (registries)
    "Microsoft.Authorization/roleAssignments/read",  # Resource Graph authorizationresources
    "Microsoft.Authorization/roleDefinitions/read",  # GET .../roleDefinitions/{id}
]
#: PRIVATE_CLUSTER_MODE=run-command only (shared/adapters/run_command.py): begin_run_command and
#: get_command_result.
RUN_COMMAND_ACTIONS = [
    "Microsoft.ContainerService/managedClusters/runcommand/action",
    "Microsoft.ContainerService/managedClusters/commandResults/read",
]
MANAGED_CLUSTERS = "Microsoft.ContainerService/managedClusters"
#: Azure RBAC for Kubernetes: guard maps get/list nodes and get nodes/proxy to this data action.
NODES_READ = f"{MANAGED_CLUSTERS}/nodes/read"
#: What guard checks for a resource it does not know (a CRD): one action for every custom
#: resource kind (MicrosoftDocs/azure-aks-docs articles/aks/entra-id-authorization.md).
CUSTOM_RESOURCES_READ = f"{MANAGED_CLUSTERS}/customresources/read"


def data_action(ref: ListRef) -> str:
    """The data action guard checks for listing ``ref``: ``managedClusters/<resource>/read`` for
    the core group, ``managedClusters/<group>/<resource>/read`` otherwise, and
    ``customresources/read`` for a custom resource (the optional Calico and Cilium reads)."""
    if ref in OPTIONAL_READS:
        return CUSTOM_RESOURCES_READ
    if ref.group == "":
        return f"{MANAGED_CLUSTERS}/{ref.resource}/read"
    return f"{MANAGED_CLUSTERS}/{ref.group}/{ref.resource}/read"


def expected_data_actions(reads: Sequence[ListRef]) -> list[str]:
    """nodes/read (node list and configz), then each read's data action once, in READS order."""
    return list(dict.fromkeys([NODES_READ, *(data_action(ref) for ref in reads)]))


#: Derived from shared.core.k8s_lists.READS: a read added there without its data action in
#: scanner-role.bicep (or a data action with no read) fails the test.
SCANNER_DATA_ACTIONS = expected_data_actions(READS)

#: Built-in roles (id -> name) the app identity holds, and on which module's resource.
BUILT_IN = {
    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Storage Blob Data Owner",
    "974c5e8b-45b9-4653-ba55-5f855dd0fb88": "Storage Queue Data Contributor",
    "3913510d-42f4-4e42-8a64-420c390055eb": "Monitoring Metrics Publisher",
}
EXPECTED_ASSIGNMENTS = {
    ("storage", "roleAssignments", "Storage Blob Data Owner"),
    ("storage", "queueRoleAssignments", "Storage Queue Data Contributor"),
    ("monitoring", "dataCollectionRuleRoleAssignments", "Monitoring Metrics Publisher"),
    ("monitoring", "applicationInsightsRoleAssignments", "Monitoring Metrics Publisher"),
}
#: Roles that must never appear: Owner, Contributor, User Access Administrator, the AKS admin
#: roles, and Storage Table Data Contributor (no table is used: see docs/infra.md).
FORBIDDEN_ROLE_IDS = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
    "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": "User Access Administrator",
    "0ab0b1a8-8aac-4efd-b8c2-3ee1fb270be8": "Azure Kubernetes Service Cluster Admin Role",
    "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b": "Azure Kubernetes Service RBAC Cluster Admin",
    "3498e952-d568-435e-9b2c-8d77e338d7f7": "Azure Kubernetes Service RBAC Admin",
    "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3": "Storage Table Data Contributor",
}


def _permissions(role: Template = ROLE) -> dict[str, Any]:
    (symbol,) = role.resources_of_type("Microsoft.Authorization/roleDefinitions")
    body = role.resource_body(symbol)
    (permissions,) = body["properties"]["permissions"]
    return {key: role.evaluate(value) for key, value in permissions.items()}


class TestScannerRole:
    def test_actions_are_exactly_the_scanner_calls(self):
        """Control-plane actions: subscriptions, Resource Graph, clusters, user kubeconfig, and
        the read of each resource type the cluster-scoped controls judge."""
        assert _permissions()["actions"] == SCANNER_ACTIONS

    def test_run_command_actions_only_in_run_command_mode(self):
        """privateClusterMode=run-command adds runcommand/action and commandResults/read, nothing else."""
        role = MAIN.with_bindings(privateClusterMode="run-command").module("scannerRole")
        assert _permissions(role)["actions"] == SCANNER_ACTIONS + RUN_COMMAND_ACTIONS
        assert _permissions(role)["dataActions"] == SCANNER_DATA_ACTIONS
        report = MAIN.with_bindings(privateClusterMode="report").module("scannerRole")
        assert _permissions(report)["actions"] == SCANNER_ACTIONS

    def test_data_actions_are_exactly_the_kubernetes_reads(self):
        """Data actions: nodes/read (node list, nodes/proxy) and the read of each section 4 list."""
        assert _permissions()["dataActions"] == SCANNER_DATA_ACTIONS

    def test_a_missing_or_extra_data_action_fails(self):
        """The expectation follows READS both ways: one more read is missing, one fewer is extra."""
        granted = set(_permissions()["dataActions"])
        more = expected_data_actions((*READS, ListRef("policy", "v1", "poddisruptionbudgets")))
        assert set(more) - granted == {f"{MANAGED_CLUSTERS}/policy/poddisruptionbudgets/read"}
        fewer = expected_data_actions([ref for ref in READS if ref.resource != "pods"])
        assert granted - set(fewer) == {f"{MANAGED_CLUSTERS}/pods/read"}

    @pytest.mark.parametrize("ref", READS, ids=str)
    def test_each_read_has_its_data_action(self, ref):
        """Every list the scanner makes is authorized by one data action of the role."""
        assert data_action(ref) in _permissions()["dataActions"], ref.permission

    def test_custom_resources_are_only_the_optional_crd_reads(self):
        """customresources/read stands for the Calico and Cilium lists (CRDs), nothing built in."""
        assert set(READS) >= OPTIONAL_READS
        assert {ref.group for ref in OPTIONAL_READS} == {CALICO, CILIUM}

    def test_never_secrets_nor_writes_in_the_cluster(self):
        """No data action reads Secrets, writes, deletes, execs or impersonates."""
        for action in _permissions()["dataActions"]:
            assert "secrets" not in action.split("/")
            assert action.endswith("/read"), action

    def test_nothing_excluded_because_nothing_broad_is_granted(self):
        """No notActions or notDataActions: the grant is an allow-list, not a broad grant with holes."""
        assert _permissions()["notActions"] == []
        assert _permissions()["notDataActions"] == []

    @pytest.mark.parametrize("action", SCANNER_ACTIONS + SCANNER_DATA_ACTIONS)
    def test_no_wildcard_no_admin(self, action):
        """No '*', no admin credentials, no run command, no write; ARM reads end in /read."""
        assert "*" not in action
        assert not re.search(r"admin|runcommand|write|delete", action, re.IGNORECASE)
        if not action.startswith("Microsoft.ContainerService/managedClusters/listClusterUser"):
            assert action.endswith("/read"), action

    def test_every_role_definition_in_infra_is_wildcard_free(self):
        """Whatever role definitions infra/ holds, none has a wildcard action."""
        for path in bicep_files():
            template = Template(path)
            for symbol in template.resources_of_type("Microsoft.Authorization/roleDefinitions"):
                for where, value in walk(
                    template.resource_body(symbol)["properties"]["permissions"]
                ):
                    assert not (isinstance(value, str) and "*" in value), (
                        f"{template.name}: {where}"
                    )

    def test_custom_role_and_assignable_in_every_target(self):
        """A CustomRole assignable in exactly the target subscriptions."""
        targets = MAIN.with_bindings(targetSubscriptionIds="a,b,c")
        role = targets.module("scannerRole")
        (symbol,) = role.resources_of_type("Microsoft.Authorization/roleDefinitions")
        properties = role.evaluate(role.resource_body(symbol)["properties"]["type"])
        assert properties == "CustomRole"
        assert role.param("assignableSubscriptionIds") == ["a", "b", "c"]
        assert role.tree["globals"]["scope"]["value"] == "subscription"


class TestAssignedInEverySubscription:
    def test_a_subscription_scope_module_loops_over_the_targets(self):
        """scanner-access.bicep runs once per target subscription, at subscription scope."""
        module = MAIN.section("modules")["scannerAccess"]
        loop = module["config"]["loop_type"]["detail"]
        assert loop["array_name"] == "targetSubscriptions"
        scope = MAIN.module_body("scannerAccess")["scope"]["function"]
        assert scope["type"] == "subscription"
        assert scope["parameters"]["subscription_id"] == loop["item_name"]
        access = MAIN.module("scannerAccess")
        assert access.tree["globals"]["scope"]["value"] == "subscription"

    def test_assigns_the_scanner_role_to_the_identity(self):
        """The assignment gives the scanner role, nothing else, to the app identity."""
        access = MAIN.module("scannerAccess")
        (symbol,) = access.resources_of_type("Microsoft.Authorization/roleAssignments")
        properties = access.resource_body(symbol)["properties"]
        assert access.param("roleDefinitionName").text == "scannerRole.outputs.roleDefinitionName"
        assert access.param("principalId").text == "identity.outputs.principalId"
        assert properties["principalType"] == "ServicePrincipal"


class TestBuiltInRoles:
    def test_each_role_on_its_resource_only(self):
        """Blob Data Owner and Queue Data Contributor on storage, Metrics Publisher on DCR and App Insights."""
        found = set()
        for module, parameter, _ in EXPECTED_ASSIGNMENTS:
            for assignment in MAIN.module(module).param(parameter):
                assert assignment["principalId"].text == "identity.outputs.principalId"
                assert assignment["principalType"] == "ServicePrincipal"
                assert assignment["description"].strip()
                found.add((module, parameter, BUILT_IN[assignment["roleDefinitionId"]]))
        assert found == EXPECTED_ASSIGNMENTS

    def test_queue_role_is_on_each_queue_not_on_the_account(self):
        """Storage Queue Data Contributor is assigned per queue (scope: the queue resource)."""
        storage = MAIN.module("storage")
        loop = storage.section("modules")["queues"]["config"]["loop_type"]["detail"]
        assert loop["array_name"] == "queueNames"
        assert storage.param("queueNames") == ["scan-cluster", "scan-cluster-poison"]
        queue = storage.module("queues")
        (symbol,) = queue.resources_of_type("Microsoft.Authorization/roleAssignments")
        scope = queue.resource_body(symbol)["scope"]
        assert queue.section("resources")[scope]["type"] == (
            "Microsoft.Storage/storageAccounts/queueServices/queues"
        )
        assert [BUILT_IN[a["roleDefinitionId"]] for a in queue.param("roleAssignments")] == [
            "Storage Queue Data Contributor"
        ]
        on_account = {BUILT_IN[a["roleDefinitionId"]] for a in storage.param("roleAssignments")}
        assert on_account == {"Storage Blob Data Owner"}

    def test_no_broad_role_anywhere(self):
        """No Owner, Contributor, admin or unused data role is referenced anywhere in infra/."""
        for path in [*bicep_files(), *(ROOT / "infra").rglob("*.json")]:
            text = path.read_text(encoding="utf-8").lower()
            for role_id, role_name in FORBIDDEN_ROLE_IDS.items():
                assert role_id not in text, f"{path.relative_to(ROOT)} references {role_name}"


class TestDocumented:
    def test_docs_list_every_role_and_action(self):
        """docs/infra.md (Permissions) names every role and every action granted here."""
        docs = (ROOT / "docs/infra.md").read_text(encoding="utf-8")
        permissions = docs.split("## Permissions", 1)[1].split("\n## ", 1)[0]
        names = [*BUILT_IN.values(), *SCANNER_ACTIONS, *RUN_COMMAND_ACTIONS, *SCANNER_DATA_ACTIONS]
        for name in [*names, "nodes/proxy"]:
            assert name in permissions, f"docs/infra.md Permissions does not mention {name}"
