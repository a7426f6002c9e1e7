"""Section 4 control by control, through the fake paged reader: pass (nothing found), fail
(found), absent fields, peers' bugs as regressions, and list failures that touch only their controls."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest

from shared.core import k8s_lists as lists
from shared.core.k8s_facts import ControlFacts, Finding
from shared.core.k8s_lists import ListRef
from shared.core.rbac import Subject
from shared.core.section4 import (
    NEEDS,
    ORDER,
    Section4Params,
    Section4Results,
    cni_facts,
    external_secrets_facts,
    scan,
    scan_async,
)
from sim.list_reader import SCANNER, AsyncFakeListReader, FakeListReader
from tests.core.k8s_objects import (
    AKS,
    DEFAULTS,
    account,
    cluster_role,
    container,
    crb,
    deployment,
    group,
    namespace,
    netpol,
    pod,
    rb,
    replica_set,
    role,
    rule,
    sa,
    user,
)

CRDS = lists.OPTIONAL_READS


def reader(objects: Mapping[ListRef, list[Any]], **options: Any) -> FakeListReader:
    """Every required list present (empty unless given); CRD lists absent unless given."""
    served: dict[ListRef, list[Any]] = {ref: [] for ref in lists.READS if ref not in CRDS}
    served.update(objects)
    return FakeListReader(served, **options)


def run(
    objects: Mapping[ListRef, list[Any]] | None = None,
    params: Section4Params | None = None,
    **options: Any,
) -> Section4Results:
    return scan(reader(objects or {}, **options), params)


def facts(
    control_id: str, objects: Mapping[ListRef, list[Any]] | None = None, **kw: Any
) -> ControlFacts:
    return run(objects, **kw).by_id(control_id)


def binding_to(
    role_name: str,
    *rules: dict[str, Any],
    subject: dict[str, Any] | None = None,
    namespaced: str = "",
) -> dict[ListRef, list[Any]]:
    """A ClusterRole with ``rules`` bound to ``subject`` (cluster-wide, or in ``namespaced``)."""
    subject = subject or user("alice")
    binding = (
        rb(namespaced, "b", "ClusterRole", role_name, subject)
        if namespaced
        else crb("b", role_name, subject)
    )
    key = lists.ROLE_BINDINGS if namespaced else lists.CLUSTER_ROLE_BINDINGS
    return {lists.CLUSTER_ROLES: [cluster_role(role_name, *rules)], key: [binding]}


class TestClusterAdmin:
    def test_only_defaults_is_none_found(self):
        """The bootstrap binding of system:masters is allowed, not found."""
        result = facts(
            "4.1.1",
            {
                lists.CLUSTER_ROLE_BINDINGS: [
                    crb("cluster-admin", "cluster-admin", group("system:masters"), labels=DEFAULTS)
                ]
            },
        )
        assert result.finding is Finding.NONE_FOUND
        assert "Group system:masters" in result.allowed.first[0]

    def test_user_binding_needs_judgement_without_allow_list(self):
        """A customer binding to cluster-admin is evidence for a person when no allow-list is set."""
        result = facts(
            "4.1.1", {lists.CLUSTER_ROLE_BINDINGS: [crb("ops", "cluster-admin", group("ops-team"))]}
        )
        assert (result.finding, result.allow_list_supplied) == (Finding.NEEDS_JUDGEMENT, False)
        assert result.offenders.first == (
            "Group ops-team via ClusterRoleBinding ops (cluster-wide)",
        )

    def test_allow_list_turns_it_into_none_found_or_found(self):
        """With an allow-list, listed subjects are allowed and the rest found."""
        objects = {
            lists.CLUSTER_ROLE_BINDINGS: [
                crb("ops", "cluster-admin", group("ops-team"), user("mallory"))
            ]
        }
        result = facts(
            "4.1.1", objects, params=Section4Params(allow={"4.1.1": ("Group ops-team",)})
        )
        assert (result.finding, result.offenders.first) == (
            Finding.FOUND,
            ("User mallory via ClusterRoleBinding ops (cluster-wide)",),
        )

    def test_rolebinding_to_cluster_admin_counts_in_its_namespace(self):
        """A RoleBinding to cluster-admin is admin of its namespace and is listed with that scope."""
        result = facts(
            "4.1.1",
            {lists.ROLE_BINDINGS: [rb("team", "adm", "ClusterRole", "cluster-admin", user("u"))]},
        )
        assert result.offenders.first == ("User u via RoleBinding team/adm (in namespace team)",)

    def test_aks_local_account_binding_is_allowed_with_a_note(self):
        """aks-cluster-admin-binding is AKS-managed: allowed, and the note names local accounts."""
        binding = crb(
            "aks-cluster-admin-binding", "cluster-admin", user("clusterAdmin"), labels=AKS
        )
        result = facts("4.1.1", {lists.CLUSTER_ROLE_BINDINGS: [binding]})
        assert result.finding is Finding.NONE_FOUND
        assert any("local accounts" in n for n in result.notes)


class TestSecrets:
    def test_no_rule_is_none_found(self):
        """No role reaching secrets: nothing found."""
        assert (
            facts("4.1.2", binding_to("r", rule(["get"], ["configmaps"]))).finding
            is Finding.NONE_FOUND
        )

    @pytest.mark.parametrize(
        "granting",
        [
            rule(["get"], ["secrets"]),
            rule(["*"], ["*"], groups=["*"]),
            rule(["list"], ["*"]),
            rule(["watch"], ["secrets"], groups=["*"]),
        ],
        ids=["exact", "all-wildcards", "resource-star", "group-star"],
    )
    def test_found(self, granting):
        """get/list/watch on secrets through any form of the rule is found."""
        result = facts("4.1.2", binding_to("r", granting))
        assert result.finding is Finding.NEEDS_JUDGEMENT
        assert result.offenders.first[0].startswith(
            "User alice via ClusterRoleBinding b -> ClusterRole r"
        )

    def test_prowler_singular_secret_regression(self):
        """Prowler matched "secret"; a rule on "secrets" must be found, one on "secret" must not."""
        assert facts("4.1.2", binding_to("r", rule(["get"], ["secrets"]))).offenders.total == 1
        assert facts("4.1.2", binding_to("r", rule(["get"], ["secret"]))).offenders.total == 0

    def test_prowler_rolebinding_regression(self):
        """Prowler ignored RoleBindings: a Role bound in a namespace is found with its scope."""
        objects = {
            lists.ROLES: [role("team", "sec", rule(["get"], ["secrets"]))],
            lists.ROLE_BINDINGS: [rb("team", "b", "Role", "sec", sa("team", "app"))],
        }
        (text,) = facts("4.1.2", objects).offenders.first
        assert text.endswith("(in namespace team)")
        assert "ServiceAccount team/app" in text

    def test_group_must_be_core(self):
        """A rule on secrets in another API group grants nothing on core secrets (Prowler #5823)."""
        assert (
            facts(
                "4.1.2", binding_to("r", rule(["get"], ["secrets"], groups=["hubble.io"]))
            ).offenders.total
            == 0
        )

    def test_resource_names_are_shown(self):
        """A grant limited by resourceNames is found, with the names it is limited to."""
        (text,) = facts(
            "4.1.2", binding_to("r", rule(["get"], ["secrets"], names=["tls"]))
        ).offenders.first
        assert "(only names: tls)" in text

    def test_default_binding_is_allowed(self):
        """A grant through a bootstrap binding is listed as allowed, not found."""
        objects = {
            lists.CLUSTER_ROLES: [
                cluster_role("system:node", rule(["get"], ["secrets"]), labels=DEFAULTS)
            ],
            lists.CLUSTER_ROLE_BINDINGS: [
                crb("system:node", "system:node", group("system:nodes"), labels=DEFAULTS)
            ],
        }
        result = facts("4.1.2", objects)
        assert (result.finding, result.allowed.total) == (Finding.NONE_FOUND, 1)

    def test_customer_binding_to_default_role_is_found(self):
        """Binding a user to the default edit role is the customer's grant and is found."""
        objects = {
            lists.CLUSTER_ROLES: [
                cluster_role("edit", rule(["get"], ["secrets"]), labels=DEFAULTS)
            ],
            lists.ROLE_BINDINGS: [rb("team", "devs", "ClusterRole", "edit", group("devs"))],
        }
        assert facts("4.1.2", objects).offenders.total == 1


class TestWildcards:
    def test_no_wildcard_is_none_found(self):
        """Roles without * are clean."""
        assert (
            facts("4.1.3", {lists.ROLES: [role("a", "r", rule(["get"], ["pods"]))]}).finding
            is Finding.NONE_FOUND
        )

    @pytest.mark.parametrize(
        ("wild", "field"),
        [
            (rule(["*"], ["pods"]), "verbs *"),
            (rule(["get"], ["*"]), "resources *"),
            (rule(["get"], ["pods"], groups=["*"]), "apiGroups *"),
        ],
        ids=["verbs", "resources", "apiGroups"],
    )
    def test_found_in_any_field(self, wild, field):
        """* in verbs, resources or apiGroups is found (Prowler ignored apiGroups)."""
        (text,) = facts(
            "4.1.3", {lists.CLUSTER_ROLES: [cluster_role("mine", wild)]}
        ).offenders.first
        assert text.startswith("ClusterRole mine: ")
        assert field in text

    def test_default_roles_are_allowed(self):
        """cluster-admin's wildcards are the bootstrap policy's: allowed."""
        result = facts(
            "4.1.3",
            {
                lists.CLUSTER_ROLES: [
                    cluster_role("cluster-admin", rule(["*"], ["*"], groups=["*"]), labels=DEFAULTS)
                ]
            },
        )
        assert (result.finding, result.allowed.total) == (Finding.NONE_FOUND, 1)


class TestCreatePods:
    def test_none_found(self):
        """No create on pods: clean."""
        assert (
            facts("4.1.4", binding_to("r", rule(["get"], ["pods"]))).finding is Finding.NONE_FOUND
        )

    def test_star_verb_found(self):
        """kube-bench matched only exact pods/create; verbs * is found too."""
        assert facts("4.1.4", binding_to("r", rule(["*"], ["pods"]))).offenders.total == 1

    def test_create_with_resource_names_grants_nothing(self):
        """create cannot be limited by name, so such a rule grants no pod creation."""
        assert (
            facts("4.1.4", binding_to("r", rule(["create"], ["pods"], names=["x"]))).offenders.total
            == 0
        )


class TestDefaultServiceAccounts:
    def test_clean_when_automount_false_and_unused(self):
        """automountServiceAccountToken false, no bindings, no pods: nothing found."""
        assert (
            facts("4.1.5", {lists.SERVICE_ACCOUNTS: [account("app", automount=False)]}).finding
            is Finding.NONE_FOUND
        )

    def test_absent_automount_is_true(self):
        """Absent automountServiceAccountToken means true: found."""
        result = facts("4.1.5", {lists.SERVICE_ACCOUNTS: [account("app")]})
        assert result.offenders.first == (
            "ServiceAccount app/default: automountServiceAccountToken absent, so true",
        )

    def test_bindings_and_pods_are_found(self):
        """A binding to the default SA and a pod running as it are found; kube-system is excluded."""
        objects = {
            lists.SERVICE_ACCOUNTS: [account("app", automount=False), account("kube-system")],
            lists.ROLE_BINDINGS: [rb("app", "b", "ClusterRole", "view", sa("app", "default"))],
            lists.PODS: [pod("app", "web"), pod("kube-system", "coredns")],
        }
        result = facts("4.1.5", objects)
        assert result.offenders.first == (
            "ServiceAccount app/default is bound by RoleBinding app/b to ClusterRole view",
            "pod app/web",
        )


class TestTokenMounts:
    def test_pod_false_is_not_mounted(self):
        """A pod's false wins over its service account."""
        objects = {
            lists.SERVICE_ACCOUNTS: [account("a", "s", automount=True)],
            lists.PODS: [pod("a", "p", serviceAccountName="s", automountServiceAccountToken=False)],
        }
        assert facts("4.1.6", objects).finding is Finding.NONE_FOUND

    def test_account_false_applies_when_pod_is_silent(self):
        """Absent on the pod, the service account's false applies."""
        objects = {
            lists.SERVICE_ACCOUNTS: [account("a", "s", automount=False)],
            lists.PODS: [pod("a", "p", serviceAccountName="s")],
        }
        assert facts("4.1.6", objects).finding is Finding.NONE_FOUND

    def test_absent_on_both_is_mounted(self):
        """Absent on pod and account: mounted, a judgement without an allow-list."""
        result = facts(
            "4.1.6", {lists.SERVICE_ACCOUNTS: [account("a")], lists.PODS: [pod("a", "p")]}
        )
        assert (result.finding, result.offenders.first) == (
            Finding.NEEDS_JUDGEMENT,
            ("a/p: service account default",),
        )

    def test_allow_list_by_workload(self):
        """Pods of an allow-listed Deployment (through its ReplicaSet name) are allowed."""
        objects = {
            lists.PODS: [
                pod(
                    "a",
                    "api-5d9c-x",
                    owner=("ReplicaSet", "api-5d9c"),
                    labels={"pod-template-hash": "5d9c"},
                )
            ]
        }
        result = facts(
            "4.1.6", objects, params=Section4Params(allow={"4.1.6": ("Deployment a/api",)})
        )
        assert (result.finding, result.allowed.total) == (Finding.NONE_FOUND, 1)


@pytest.mark.parametrize(
    ("control", "granting", "finds"),
    [
        ("4.1.7", rule(["bind"], ["clusterroles"], groups=["rbac.authorization.k8s.io"]), True),
        ("4.1.7", rule(["escalate"], ["roles"], groups=["rbac.authorization.k8s.io"]), True),
        ("4.1.7", rule(["impersonate"], ["users"]), True),
        ("4.1.7", rule(["get"], ["clusterroles"], groups=["rbac.authorization.k8s.io"]), False),
        ("4.1.8", rule(["create"], ["persistentvolumes"]), True),
        ("4.1.8", rule(["create"], ["persistentvolumeclaims"]), False),
        ("4.1.9", rule(["get"], ["nodes/proxy"]), True),
        ("4.1.9", rule(["create"], ["*"]), True),
        ("4.1.9", rule(["get"], ["nodes"]), False),
        ("4.1.10", rule(["patch"], ["certificatesigningrequests/approval"], groups=["certificates.k8s.io"]), True),
        ("4.1.10", rule(["update"], ["certificatesigningrequests"], groups=["certificates.k8s.io"]), False),
        ("4.1.11", rule(["patch"], ["mutatingwebhookconfigurations"], groups=["admissionregistration.k8s.io"]), True),
        ("4.1.11", rule(["get"], ["validatingwebhookconfigurations"], groups=["admissionregistration.k8s.io"]), False),
        ("4.1.12", rule(["create"], ["serviceaccounts/token"]), True),
        ("4.1.12", rule(["create"], ["serviceaccounts"]), False),
    ],
    ids=[
        "4.1.7-bind", "4.1.7-escalate", "4.1.7-impersonate", "4.1.7-get-is-not",
        "4.1.8-pv", "4.1.8-pvc-is-not",
        "4.1.9-get-proxy", "4.1.9-create-star", "4.1.9-nodes-is-not-proxy",
        "4.1.10-patch-approval", "4.1.10-parent-is-not",
        "4.1.11-patch-webhook", "4.1.11-get-is-not",
        "4.1.12-token", "4.1.12-parent-is-not",
    ],
)  # fmt: skip
class TestSubjectControls:
    def test_rolebinding_grant(self, control, granting, finds):
        """Each subject control finds its permission through a RoleBinding too (Prowler read CRBs only)."""
        result = facts(
            control, binding_to("r", granting, subject=sa("team", "bot"), namespaced="team")
        )
        assert (result.offenders.total == 1) is finds
        assert result.finding is (Finding.NEEDS_JUDGEMENT if finds else Finding.NONE_FOUND)


class TestNodeProxyScanner:
    SCANNER_SUBJECT = Subject("User", SCANNER)

    def objects(self, verbs):
        return {
            lists.CLUSTER_ROLES: [
                cluster_role("aks-kubelet-config-reader", rule(verbs, ["nodes/proxy"]))
            ],
            lists.CLUSTER_ROLE_BINDINGS: [
                crb("aks-kubelet-config-reader", "aks-kubelet-config-reader", user(SCANNER))
            ],
        }

    def test_scanners_get_is_allowed_and_said(self):
        """The scanner's own get nodes/proxy is allowed, with the reason in the row."""
        result = facts(
            "4.1.9",
            self.objects(["get"]),
            params=Section4Params(scanner_subjects=(self.SCANNER_SUBJECT,)),
        )
        assert result.finding is Finding.NONE_FOUND
        assert "the scanner's own identity" in result.allowed.first[0]

    def test_scanners_other_verbs_are_found(self):
        """More than get for the scanner (create = exec) is still found."""
        result = facts(
            "4.1.9",
            self.objects(["get", "create"]),
            params=Section4Params(scanner_subjects=(self.SCANNER_SUBJECT,)),
        )
        assert result.offenders.total == 1
        assert "create nodes/proxy" in result.offenders.first[0]

    def test_unknown_scanner_is_found(self):
        """Without scanner_subjects the same grant is found like any other."""
        assert facts("4.1.9", self.objects(["get"])).offenders.total == 1


class TestPodFlags:
    @pytest.mark.parametrize(
        ("control", "spec", "containers"),
        [
            ("4.2.1", {}, [container(securityContext={"privileged": True})]),
            ("4.2.2", {"hostPID": True}, [container()]),
            ("4.2.3", {"hostIPC": True}, [container()]),
            ("4.2.4", {"hostNetwork": True}, [container()]),
            ("4.2.5", {}, [container(securityContext={"allowPrivilegeEscalation": True})]),
        ],
        ids=["privileged", "hostPID", "hostIPC", "hostNetwork", "allowPrivilegeEscalation"],
    )
    def test_found_outside_system_namespaces(self, control, spec, containers):
        """The flag in an app namespace is found; the same pod in kube-system is excluded."""
        found = facts(control, {lists.PODS: [pod("app", "p", *containers, **spec)]})
        excluded = facts(control, {lists.PODS: [pod("kube-system", "p", *containers, **spec)]})
        assert (found.finding, found.offenders.first[0].split(":")[0]) == (Finding.FOUND, "app/p")
        assert excluded.finding is Finding.NONE_FOUND

    @pytest.mark.parametrize("control", ["4.2.1", "4.2.2", "4.2.3", "4.2.4", "4.2.5"])
    def test_absent_means_false(self, control):
        """No field set: nothing found."""
        assert facts(control, {lists.PODS: [pod("app", "p")]}).finding is Finding.NONE_FOUND

    @pytest.mark.parametrize("where", ["init", "ephemeral"])
    def test_init_and_ephemeral_containers_count(self, where):
        """kube-bench and Prowler read .spec.containers only; init and ephemeral containers count here."""
        bad = container("side", securityContext={"privileged": True})
        placed = (
            pod("app", "p", container(), init=[bad])
            if where == "init"
            else pod("app", "p", container(), ephemeral=[bad])
        )
        result = facts("4.2.1", {lists.PODS: [placed]})
        assert result.offenders.total == 1
        assert "side" in result.offenders.first[0]

    def test_unset_escalation_is_noted_not_counted(self):
        """Absent allowPrivilegeEscalation is not counted by default, and the note gives the number."""
        result = facts("4.2.5", {lists.PODS: [pod("app", "p")]})
        assert result.finding is Finding.NONE_FOUND
        assert any(
            n.startswith("1 container(s) do not set allowPrivilegeEscalation") for n in result.notes
        )

    def test_unset_escalation_counts_when_asked(self):
        """The policy may count absent as allowed escalation."""
        result = facts(
            "4.2.5",
            {lists.PODS: [pod("app", "p")]},
            params=Section4Params(unset_escalation_counts=True),
        )
        assert result.offenders.total == 1

    def test_no_psp_needed(self):
        """kubescape's 4.2.x read only PodSecurityPolicy (removed in 1.25); these read pods, and PSA labels as evidence."""
        result = facts(
            "4.2.1",
            {
                lists.NAMESPACES: [namespace("app")],
                lists.PODS: [pod("app", "p", container(securityContext={"privileged": True}))],
            },
        )
        assert result.offenders.total == 1
        assert any(
            "pod-security.kubernetes.io/enforce" in e and "app" in e for e in result.evidence
        )


class TestNetworkPolicies:
    def test_every_namespace_covered(self):
        """Each user namespace has a NetworkPolicy; system ones are exempt."""
        objects = {
            lists.NAMESPACES: [
                namespace("app"),
                namespace("kube-system"),
                namespace("kube-public"),
            ],
            lists.NETWORK_POLICIES: [netpol("app")],
        }
        result = facts("4.4.2", objects)
        assert result.finding is Finding.NONE_FOUND
        assert any("not served" in n for n in result.notes)  # Calico and Cilium CRDs absent: noted

    def test_namespace_without_policy_found(self):
        """A namespace with no policy is found."""
        assert facts("4.4.2", {lists.NAMESPACES: [namespace("app")]}).offenders.first == ("app",)

    def test_cilium_policy_counts(self):
        """A CiliumNetworkPolicy covers its namespace when the CRD is installed."""
        objects = {
            lists.NAMESPACES: [namespace("app")],
            lists.CILIUM_NETWORK_POLICIES: [netpol("app", "cnp")],
        }
        assert facts("4.4.2", objects).finding is Finding.NONE_FOUND

    def test_denied_calico_list_is_not_read(self):
        """A 403 on an installed CRD's list leaves 4.4.2 NOT_READ, naming the permission."""
        objects = {lists.NAMESPACES: [namespace("app")], lists.CALICO_NETWORK_POLICIES: []}
        result = facts("4.4.2", objects, deny=frozenset({lists.CALICO_NETWORK_POLICIES}))
        assert result.finding is Finding.NOT_READ
        assert 'list networkpolicies in API group "crd.projectcalico.org"' in result.error


class TestSecretEnv:
    def test_none_found(self):
        """No Secret in env: clean."""
        assert facts("4.5.1", {lists.PODS: [pod("a", "p")]}).finding is Finding.NONE_FOUND

    def test_env_from_secret_ref_counts(self):
        """kube-bench and kubescape miss envFrom[].secretRef; it is found, attributed to the Deployment."""
        bad = container(envFrom=[{"secretRef": {"name": "db"}}])
        objects = {
            lists.PODS: [pod("a", "api-7f-x", bad, owner=("ReplicaSet", "api-7f"))],
            lists.REPLICA_SETS: [replica_set("a", "api-7f", "api")],
        }
        (text,) = facts("4.5.1", objects).offenders.first
        assert text == "Deployment a/api: container app: envFrom secret db"

    def test_secret_key_ref_in_template_counts(self):
        """A Deployment scaled to zero still has the template: found from the controller list."""
        bad = container(
            env=[{"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "pw"}}}]
        )
        (text,) = facts("4.5.1", {lists.DEPLOYMENTS: [deployment("a", "api", bad)]}).offenders.first
        assert text == "Deployment a/api: container app: env PASSWORD from secret db"

    def test_values_never_appear(self):
        """A literal env value is never part of the evidence."""
        bad = container(
            env=[
                {"name": "X", "value": "hunter2"},
                {"name": "Y", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
            ]
        )
        result = facts("4.5.1", {lists.PODS: [pod("a", "p", bad)]})
        assert "hunter2" not in repr(result)


class TestNamespacesAndContexts:
    def test_namespaces_are_evidence(self):
        """4.6.1 always asks a person, with the namespaces as evidence."""
        result = facts("4.6.1", {lists.NAMESPACES: [namespace("app"), namespace("kube-system")]})
        assert result.finding is Finding.NEEDS_JUDGEMENT
        assert "app" in result.evidence[0]

    def test_pod_without_security_context_found(self):
        """4.6.2 lists pods whose securityContext is absent or empty."""
        objects = {
            lists.PODS: [pod("a", "bare"), pod("a", "set", securityContext={"runAsNonRoot": True})]
        }
        result = facts("4.6.2", objects)
        assert result.offenders.first == ("a/bare",)

    def test_all_pods_have_context(self):
        """Every pod with a securityContext: nothing found."""
        assert (
            facts("4.6.2", {lists.PODS: [pod("a", "p", securityContext={"runAsUser": 1})]}).finding
            is Finding.NONE_FOUND
        )


class TestDefaultNamespace:
    def test_auto_created_objects_are_not_counted(self):
        """Service kubernetes, ConfigMap kube-root-ca.crt and SA default are the cluster's."""
        objects = {
            lists.SERVICES: [
                {
                    "metadata": {"name": "kubernetes", "namespace": "default"},
                    "spec": {"type": "ClusterIP"},
                }
            ],
            lists.DEFAULT_CONFIGMAPS: [
                {"metadata": {"name": "kube-root-ca.crt", "namespace": "default"}}
            ],
            lists.SERVICE_ACCOUNTS: [account("default")],
        }
        assert facts("4.6.3", objects).finding is Finding.NONE_FOUND

    def test_user_objects_found(self):
        """A pod and a Deployment in default are found."""
        objects = {
            lists.PODS: [pod("default", "p")],
            lists.DEPLOYMENTS: [deployment("default", "web")],
        }
        assert facts("4.6.3", objects).offenders.first == (
            "Deployment default/web",
            "Pod default/p",
        )


class TestRegistries:
    IMAGES = (
        pod("a", "p", container(image="nginx:1.27")),
        pod("a", "q", container(image="myacr.azurecr.io/api:2")),
    )

    def test_without_allow_list_is_evidence(self):
        """No approved registries: the registries in use, for a person."""
        result = facts("5.1.4", {lists.PODS: list(self.IMAGES)})
        assert result.finding is Finding.NEEDS_JUDGEMENT
        assert [t.split(":")[0] for t in result.offenders.first] == [
            "docker.io",
            "myacr.azurecr.io",
        ]

    def test_approved_registries_decide(self):
        """With approved registries, the others are found."""
        result = facts(
            "5.1.4",
            {lists.PODS: list(self.IMAGES)},
            params=Section4Params(allow={"5.1.4": ("*.azurecr.io",)}),
        )
        assert (result.finding, result.offenders.total) == (Finding.FOUND, 1)
        assert result.offenders.first[0].startswith("docker.io: 1 pod(s)")

    def test_all_approved(self):
        """Every image from an approved registry: nothing found."""
        result = facts(
            "5.1.4",
            {lists.PODS: list(self.IMAGES[1:])},
            params=Section4Params(allow={"5.1.4": ("myacr.azurecr.io",)}),
        )
        assert result.finding is Finding.NONE_FOUND


class TestDedicatedAccountsAndTls:
    def test_binding_to_default_account_found(self):
        """5.2.1: a customer binding to a default service account is found."""
        objects = {lists.ROLE_BINDINGS: [rb("a", "b", "ClusterRole", "view", sa("a", "default"))]}
        assert facts("5.2.1", objects).finding is Finding.FOUND

    def test_no_binding_to_default_account(self):
        """5.2.1: none found when only dedicated accounts are bound."""
        objects = {lists.ROLE_BINDINGS: [rb("a", "b", "ClusterRole", "view", sa("a", "api"))]}
        assert facts("5.2.1", objects).finding is Finding.NONE_FOUND

    def test_ingress_without_tls_and_plain_lb(self):
        """5.4.5: an Ingress without tls and a LoadBalancer on port 80 are listed for a person."""
        objects = {
            lists.INGRESSES: [
                {"metadata": {"name": "web", "namespace": "a"}, "spec": {"rules": []}}
            ],
            lists.SERVICES: [
                {
                    "metadata": {"name": "lb", "namespace": "a"},
                    "spec": {"type": "LoadBalancer", "ports": [{"port": 80, "protocol": "TCP"}]},
                }
            ],
        }
        result = facts("5.4.5", objects)
        assert result.finding is Finding.NEEDS_JUDGEMENT
        assert result.offenders.total == 2

    def test_tls_everywhere(self):
        """5.4.5: ingresses with tls and LoadBalancers on 443 only: nothing found."""
        objects = {
            lists.INGRESSES: [
                {"metadata": {"name": "web", "namespace": "a"}, "spec": {"tls": [{"hosts": ["x"]}]}}
            ],
            lists.SERVICES: [
                {
                    "metadata": {"name": "lb", "namespace": "a"},
                    "spec": {"type": "LoadBalancer", "ports": [{"port": 443}]},
                }
            ],
        }
        assert facts("5.4.5", objects).finding is Finding.NONE_FOUND


class TestArmEvidence:
    def test_cni_is_evidence(self):
        """4.4.1 shows the network profile; absent fields are said to be absent."""
        result = cni_facts({"networkPlugin": "azure", "networkPolicy": "cilium"})
        assert result.finding is Finding.NEEDS_JUDGEMENT
        assert "networkDataplane: (absent)" in result.evidence

    def test_cni_without_profile_is_not_read(self):
        """No networkProfile: not read, never a guess."""
        assert cni_facts(None).finding is Finding.NOT_READ

    @pytest.mark.parametrize(
        ("profiles", "word"),
        [
            ({"azureKeyvaultSecretsProvider": {"enabled": True}}, "enabled"),
            ({}, "absent means off"),
        ],
        ids=["on", "absent"],
    )
    def test_external_secrets(self, profiles, word):
        """4.5.2 says whether the Key Vault provider is on."""
        assert word in external_secrets_facts(profiles).evidence[0]


class TestListFailures:
    def test_denied_pods_affects_only_pod_controls(self):
        """A 403 on pods makes exactly the controls that need pods NOT_READ, naming the permission."""
        result = run(
            {lists.CLUSTER_ROLE_BINDINGS: [crb("ops", "cluster-admin", group("ops"))]},
            deny=frozenset({lists.PODS}),
        )
        for control in result.controls:
            needs_pods = lists.PODS in NEEDS[control.control_id]
            assert (control.finding is Finding.NOT_READ) is needs_pods, control.control_id
            if needs_pods:
                assert 'list pods in API group ""' in control.error
        assert result.by_id("4.1.1").finding is Finding.NEEDS_JUDGEMENT

    def test_expired_token_restarts_once_and_says_so(self):
        """A 410 after page 1 restarts the list; nothing is counted twice; the note says so."""
        pods = [pod("app", f"p{i}", hostPID=True) for i in range(5)]
        fake = reader({lists.PODS: pods}, expire={lists.PODS: [1]})
        result = scan(fake)
        assert result.by_id("4.2.2").offenders.total == 5
        assert fake.served[lists.PODS] == 2 + 5  # first page, then the whole list again
        assert any("410 Gone" in n for n in result.by_id("4.2.2").notes)

    def test_second_expiry_is_not_read(self):
        """A second 410 in the same list: its controls are NOT_READ, saying the token expired again."""
        result = run(
            {lists.PODS: [pod("a", f"p{i}") for i in range(5)]}, expire={lists.PODS: [1, 1]}
        )
        assert result.by_id("4.2.1").finding is Finding.NOT_READ
        assert "again after the list was restarted once" in result.by_id("4.2.1").error

    def test_async_driver_matches_sync(self):
        """scan_async over the same fake gives the same facts."""
        objects = {lists.PODS: [pod("app", "p", hostIPC=True)]}
        sync = scan(reader(objects))
        asynchronous = asyncio.run(scan_async(AsyncFakeListReader(reader(objects))))
        assert asynchronous.controls == sync.controls

    def test_every_control_in_order(self):
        """One facts value per control, in benchmark order, each naming the lists it used."""
        result = run()
        assert tuple(c.control_id for c in result.controls) == ORDER
        assert all(c.reads for c in result.controls)

    def test_malformed_pod_is_never_clean(self):
        """A pod whose containers is not a list makes pod controls NOT_READ rather than clean."""
        result = facts(
            "4.2.1",
            {
                lists.PODS: [
                    {"metadata": {"name": "x", "namespace": "a"}, "spec": {"containers": "oops"}}
                ]
            },
        )
        assert result.finding is Finding.NOT_READ
        assert "containers is not a list" in result.error


class TestBoundedMemory:
    def test_names_are_bounded_and_counted(self):
        """10,000 offending pods keep 20 names, the first in sorted order, and count all."""
        pods = [pod("app", f"p{i:05d}", hostNetwork=True) for i in range(10_000)]
        result = scan(
            FakeListReader(
                {**{r: [] for r in lists.READS if r not in lists.OPTIONAL_READS}, lists.PODS: pods},
                limit=500,
            )
        )
        names = result.by_id("4.2.4").offenders
        assert (names.total, len(names.first), names.first[0]) == (
            10_000,
            20,
            "app/p00000: hostNetwork: true",
        )
