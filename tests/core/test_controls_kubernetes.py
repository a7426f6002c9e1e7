"""Section 4 of CIS AKS 1.8 (with 5.1.4, 5.2.1 and 5.4.5) as benchmark rows: every control
passes, fails (or is MANUAL where CIS asks a person, and FAIL once the policy file supplies an
allow-list the finding is not on), reads absence as documented, and is ERROR naming the list
and the permission when a list it needs was refused.

Every case runs the real path a scan takes: Kubernetes objects (plain dicts in the API's wire
shape) are served in pages by the first-class fake reader (``sim.list_reader.FakeListReader``),
evaluated by ``shared.core.section4.scan`` with the parameters the policy sets
(``params_for``), and judged by the benchmark's own control through ``evaluate_cluster``.

Azure role definitions follow Microsoft Learn, "Azure built-in roles for Containers"
(MicrosoftDocs/azure-docs ``articles/role-based-access-control/built-in-roles/containers.md``,
summarised in shared/reference/azure-contracts.md): Azure Kubernetes Service RBAC Cluster Admin
(b1ff04bb-...) has the data action ``Microsoft.ContainerService/managedClusters/*``; RBAC Admin
(3498e952-...) has the same with notDataActions on resource quotas and namespaces.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest

from shared.core import k8s_lists as lists
from shared.core.controls import Scope
from shared.core.controls.kubernetes import (
    ALLOW_LISTS,
    K8S_OBJECTS,
    AzureAdmins,
    azure_admins,
    outcome,
    params_for,
)
from shared.core.controls.registry import get_benchmark
from shared.core.controls.section4 import policy_control
from shared.core.evaluate import evaluate_cluster
from shared.core.facts import (
    MANAGED_CLUSTER,
    ROLE_ASSIGNMENTS,
    ROLE_DEFINITIONS,
    Facts,
    ReadFailure,
)
from shared.core.k8s_facts import DEFAULT_NAME_LIMIT, ControlFacts, Finding, Names
from shared.core.k8s_lists import ListRef
from shared.core.model import Cluster, Policy, Status, Verdict
from shared.core.policy import parse_policy
from shared.core.rbac import Subject
from shared.core.records import EVIDENCE_ITEMS, RowContext, findings
from shared.core.section4 import NEEDS, Section4Results, scan
from shared.core.workloads import DEFAULT_SYSTEM_NAMESPACES
from sim.list_reader import SCANNER, FakeListReader
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
    role,
    rule,
    sa,
    user,
)

BENCH = get_benchmark("cis-aks-1.8")
BENCH17 = get_benchmark("cis-aks-1.7")
SUB = "3c5a7e91-2b4d-4f6a-8c0e-1a2b3c4d5e6f"
CLUSTER_ID = (
    f"/subscriptions/{SUB}/resourcegroups/rg-prod/providers/"
    "Microsoft.ContainerService/managedClusters/aks-prod"
)
OTHER_CLUSTER = CLUSTER_ID.replace("aks-prod", "aks-other")
CLUSTER_ADMIN_ROLE = "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b"
RBAC_ADMIN_ROLE = "3498e952-d568-435e-9b2c-8d77e338d7f7"
READER_ROLE = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
PRINCIPAL = "9c8b7a6f-5e4d-4c3b-8a29-1f0e9d8c7b6a"
SP = "2d4f6a8c-0e1b-4c3d-9e5f-7a9b1c3d5e7f"
#: A value only a secret could hold: placed in env values, ConfigMap data, annotations and
#: Secret-shaped fields of the fixtures; no row may ever contain it.
SECRET = "s3cr3t-Zq9XvT4-value"
OPTIONAL = lists.OPTIONAL_READS
SESSION_IDS = [c.id for c in BENCH.session_controls]


# -- the path a scan takes ------------------------------------------------------------------


def served(objects: Mapping[ListRef, list[Any]] | None = None) -> dict[ListRef, list[Any]]:
    """Every required list present (empty unless given); CRD lists absent (404) unless given."""
    lists_served: dict[ListRef, list[Any]] = {r: [] for r in lists.READS if r not in OPTIONAL}
    lists_served.update(objects or {})
    return lists_served


def results(
    objects: Mapping[ListRef, list[Any]] | None = None,
    policy: Policy | None = None,
    scanner: tuple[Subject, ...] = (),
    **options: Any,
) -> Section4Results:
    """The cluster's section 4 results, read in pages from the fake reader."""
    return scan(FakeListReader(served(objects), **options), params_for(policy or Policy(), scanner))


def judge(
    control_id: str,
    objects: Mapping[ListRef, list[Any]] | None = None,
    policy: Policy | None = None,
    *,
    extra: Mapping[str, Any] | None = None,
    scanner: tuple[Subject, ...] = (),
    benchmark: Any = BENCH,
    **options: Any,
) -> Verdict:
    """The benchmark row's verdict for one control of the cluster holding ``objects``."""
    policy = policy or Policy()
    values = {K8S_OBJECTS: results(objects, policy, scanner, **options), **(extra or {})}
    (verdict,) = evaluate_cluster(Facts(values), [benchmark.control(control_id)], policy)
    return verdict


def allow(control_id: str, *patterns: str) -> Policy:
    """A policy whose file sets ``kubernetes.allow.<control_id>``."""
    return Policy(k8s_allow=((control_id, patterns),))


def bound(
    role_name: str, *rules: dict[str, Any], subject: dict[str, Any] | None = None
) -> dict[ListRef, list[Any]]:
    """A customer ClusterRole bound cluster-wide to ``subject`` (User alice by default)."""
    return {
        lists.CLUSTER_ROLES: [cluster_role(role_name, *rules)],
        lists.CLUSTER_ROLE_BINDINGS: [crb("b", role_name, subject or user("alice"))],
    }


def service(ns: str, name: str, kind: str = "ClusterIP", *ports: int) -> dict[str, Any]:
    spec: dict[str, Any] = {"type": kind}
    if ports:
        spec["ports"] = [{"port": p, "protocol": "TCP"} for p in ports]
    return {"metadata": {"name": name, "namespace": ns}, "spec": spec}


def ingress(ns: str, name: str, *, tls: bool) -> dict[str, Any]:
    spec: dict[str, Any] = {"rules": [{"host": f"{name}.example"}]}
    if tls:
        spec["tls"] = [{"hosts": [f"{name}.example"], "secretName": f"{name}-tls"}]
    return {"metadata": {"name": name, "namespace": ns}, "spec": spec}


PRIVILEGED = container(securityContext={"privileged": True})
ESCALATES = container(securityContext={"allowPrivilegeEscalation": True})
CONTEXT = {"runAsNonRoot": True}
SECRET_ENV = container(envFrom=[{"secretRef": {"name": "db"}}])
PLAIN_ENV = container(env=[{"name": "MODE", "value": "production"}])
NO_RULES = {
    lists.CLUSTER_ROLES: [{"metadata": {"name": "empty"}}],  # rules absent: grants nothing
    lists.CLUSTER_ROLE_BINDINGS: [crb("b", "empty", user("alice"))],
}
#: 4.1.7-4.1.12: a rule that grants each control's permission.
GRANTS = {
    "4.1.7": rule(["impersonate"], ["serviceaccounts"]),
    "4.1.8": rule(["create"], ["persistentvolumes"]),
    "4.1.9": rule(["get"], ["nodes/proxy"]),
    "4.1.10": rule(
        ["update"], ["certificatesigningrequests/approval"], groups=["certificates.k8s.io"]
    ),
    "4.1.11": rule(
        ["delete"], ["validatingwebhookconfigurations"], groups=["admissionregistration.k8s.io"]
    ),
    "4.1.12": rule(["create"], ["serviceaccounts/token"]),
}
#: ... and a rule on the same resources that does not.
HARMLESS = {
    "4.1.7": rule(["get"], ["serviceaccounts"]),
    "4.1.8": rule(["create"], ["persistentvolumeclaims"]),
    "4.1.9": rule(["get"], ["nodes"]),
    "4.1.10": rule(["get"], ["certificatesigningrequests"], groups=["certificates.k8s.io"]),
    "4.1.11": rule(
        ["get"], ["validatingwebhookconfigurations"], groups=["admissionregistration.k8s.io"]
    ),
    "4.1.12": rule(["get"], ["serviceaccounts"]),
}
FLAGS: dict[str, tuple[dict[str, Any], dict[str, Any], str]] = {
    "4.2.1": ({}, PRIVILEGED, "container app"),
    "4.2.2": ({"hostPID": True}, container(), "hostPID: true"),
    "4.2.3": ({"hostIPC": True}, container(), "hostIPC: true"),
    "4.2.4": ({"hostNetwork": True}, container(), "hostNetwork: true"),
    "4.2.5": ({}, ESCALATES, "container app"),
}

# -- the cases ------------------------------------------------------------------------------

#: (control, label, objects, policy, status, a fragment the reason must contain). The label's
#: first word is the kind of case: pass, fail, manual, absent.
Case = tuple[str, str, dict[ListRef, list[Any]], Policy | None, Status, str]


def _subject_cases() -> list[Case]:
    cases: list[Case] = []
    for cid in ("4.1.7", "4.1.8", "4.1.9", "4.1.10", "4.1.11", "4.1.12"):
        granted = bound("r", GRANTS[cid], subject=sa("ci", "deployer"))
        cases += [
            (cid, "pass", bound("r", HARMLESS[cid]), None, Status.PASS, "none found"),
            (cid, "manual", granted, None, Status.MANUAL, f'kubernetes.allow."{cid}"'),
            (cid, "fail-not-allow-listed", granted, allow(cid, "Group *"), Status.FAIL, "1 found"),
            (cid, "pass-allow-listed", granted, allow(cid, "ServiceAccount ci/*"), Status.PASS, "allowed"),
            (cid, "absent-no-rules", NO_RULES, None, Status.PASS, "none found"),
        ]  # fmt: skip
    return cases


def _flag_cases() -> list[Case]:
    cases: list[Case] = []
    for cid, (spec, box, word) in FLAGS.items():
        found = {lists.PODS: [pod("app", "p", box, **spec)]}
        excluded = {lists.PODS: [pod("kube-system", "p", box, **spec)]}
        cases += [
            (cid, "fail", found, None, Status.FAIL, f"1 found: app/p: {word}"),
            (cid, "pass-system-namespace", excluded, None, Status.PASS, "excluded namespaces"),
            (cid, "absent", {lists.PODS: [pod("app", "p")]}, None, Status.PASS, "none found"),
        ]
    return cases


CASES: list[Case] = [
    # 4.1.1
    ("4.1.1", "pass-defaults-only", {lists.CLUSTER_ROLE_BINDINGS: [crb("cluster-admin", "cluster-admin", group("system:masters"), labels=DEFAULTS)]}, None, Status.PASS, "allowed: Group system:masters"),
    ("4.1.1", "manual", {lists.CLUSTER_ROLE_BINDINGS: [crb("ops", "cluster-admin", group("ops"))]}, None, Status.MANUAL, 'Group ops via ClusterRoleBinding ops (cluster-wide); list the approved ones in the policy file (kubernetes.allow."4.1.1")'),
    ("4.1.1", "fail-not-allow-listed", {lists.CLUSTER_ROLE_BINDINGS: [crb("ops", "cluster-admin", group("ops"), user("mallory"))]}, allow("4.1.1", "Group ops"), Status.FAIL, "1 found: User mallory via ClusterRoleBinding ops"),
    ("4.1.1", "pass-allow-listed", {lists.CLUSTER_ROLE_BINDINGS: [crb("ops", "cluster-admin", group("ops"))]}, allow("4.1.1", "Group ops"), Status.PASS, "[allow-listed]"),
    ("4.1.1", "pass-aks-managed", {lists.CLUSTER_ROLE_BINDINGS: [crb("aks-cluster-admin-binding", "cluster-admin", user("clusterAdmin"), labels=AKS)]}, None, Status.PASS, "local accounts"),
    ("4.1.1", "absent-no-bindings", {}, None, Status.PASS, "none found"),
    ("4.1.1", "manual-rolebinding", {lists.ROLE_BINDINGS: [rb("team", "adm", "ClusterRole", "cluster-admin", user("u"))]}, None, Status.MANUAL, "User u via RoleBinding team/adm (in namespace team)"),
    # 4.1.2
    ("4.1.2", "pass", bound("r", rule(["get"], ["configmaps"])), None, Status.PASS, "none found"),
    ("4.1.2", "manual", bound("r", rule(["list"], ["secrets"])), None, Status.MANUAL, "User alice via ClusterRoleBinding b -> ClusterRole r"),
    ("4.1.2", "fail-not-allow-listed", bound("r", rule(["list"], ["secrets"])), allow("4.1.2", "User bob"), Status.FAIL, "1 found: User alice"),
    ("4.1.2", "pass-allow-listed", bound("r", rule(["list"], ["secrets"])), allow("4.1.2", "User al*"), Status.PASS, "[allow-listed]"),
    ("4.1.2", "absent-no-rules", NO_RULES, None, Status.PASS, "none found"),
    # 4.1.3
    ("4.1.3", "pass", {lists.ROLES: [role("a", "r", rule(["get"], ["pods"]))]}, None, Status.PASS, "none found"),
    ("4.1.3", "manual", {lists.CLUSTER_ROLES: [cluster_role("op", rule(["*"], ["pods"]))]}, None, Status.MANUAL, "ClusterRole op: "),
    ("4.1.3", "fail-not-allow-listed", {lists.CLUSTER_ROLES: [cluster_role("op", rule(["*"], ["pods"]))]}, allow("4.1.3", "ClusterRole other"), Status.FAIL, "1 found: ClusterRole op"),
    ("4.1.3", "pass-allow-listed", {lists.CLUSTER_ROLES: [cluster_role("op", rule(["*"], ["pods"]))]}, allow("4.1.3", "ClusterRole op"), Status.PASS, "[allow-listed]"),
    ("4.1.3", "pass-default-role", {lists.CLUSTER_ROLES: [cluster_role("cluster-admin", rule(["*"], ["*"], groups=["*"]), labels=DEFAULTS)]}, None, Status.PASS, "allowed: ClusterRole cluster-admin"),
    ("4.1.3", "absent-no-rules", NO_RULES, None, Status.PASS, "none found"),
    # 4.1.4
    ("4.1.4", "pass", bound("r", rule(["get", "list"], ["pods"])), None, Status.PASS, "none found"),
    ("4.1.4", "manual", bound("r", rule(["create"], ["pods"])), None, Status.MANUAL, 'kubernetes.allow."4.1.4"'),
    ("4.1.4", "fail-not-allow-listed", bound("r", rule(["create"], ["pods"])), allow("4.1.4", "Group deployers"), Status.FAIL, "1 found: User alice"),
    ("4.1.4", "pass-allow-listed", bound("r", rule(["create"], ["pods"])), allow("4.1.4", "User alice"), Status.PASS, "[allow-listed]"),
    ("4.1.4", "absent-no-rules", NO_RULES, None, Status.PASS, "none found"),
    # 4.1.5: no judgement, FAIL when found
    ("4.1.5", "pass", {lists.SERVICE_ACCOUNTS: [account("app", automount=False)]}, None, Status.PASS, "none found"),
    ("4.1.5", "fail-bound", {lists.SERVICE_ACCOUNTS: [account("app", automount=False)], lists.ROLE_BINDINGS: [rb("app", "b", "ClusterRole", "view", sa("app", "default"))]}, None, Status.FAIL, "ServiceAccount app/default is bound by RoleBinding app/b to ClusterRole view"),
    ("4.1.5", "fail-used-by-a-pod", {lists.SERVICE_ACCOUNTS: [account("app", automount=False)], lists.PODS: [pod("app", "web")]}, None, Status.FAIL, "pod app/web"),
    ("4.1.5", "absent-automount-unset", {lists.SERVICE_ACCOUNTS: [account("app")]}, None, Status.FAIL, "ServiceAccount app/default: automountServiceAccountToken absent, so true"),
    ("4.1.5", "pass-system-namespace", {lists.SERVICE_ACCOUNTS: [account("kube-system")]}, None, Status.PASS, "excluded namespaces"),
    # 4.1.6
    ("4.1.6", "pass-pod-false", {lists.SERVICE_ACCOUNTS: [account("a", "s", automount=True)], lists.PODS: [pod("a", "p", serviceAccountName="s", automountServiceAccountToken=False)]}, None, Status.PASS, "none found"),
    ("4.1.6", "manual", {lists.SERVICE_ACCOUNTS: [account("a")], lists.PODS: [pod("a", "p")]}, None, Status.MANUAL, "a/p: service account default"),
    ("4.1.6", "fail-not-allow-listed", {lists.SERVICE_ACCOUNTS: [account("a")], lists.PODS: [pod("a", "p")]}, allow("4.1.6", "Deployment a/api"), Status.FAIL, "1 found: a/p"),
    ("4.1.6", "pass-allow-listed", {lists.SERVICE_ACCOUNTS: [account("a")], lists.PODS: [pod("a", "p")]}, allow("4.1.6", "a/p"), Status.PASS, "allowed"),
    ("4.1.6", "absent-pod-takes-the-account-false", {lists.SERVICE_ACCOUNTS: [account("a", "s", automount=False)], lists.PODS: [pod("a", "p", serviceAccountName="s")]}, None, Status.PASS, "absent on the pod, its service account's applies"),
    ("4.1.6", "absent-on-both-is-mounted", {lists.PODS: [pod("a", "p", serviceAccountName="s")]}, None, Status.MANUAL, "a/p: service account s"),
    # 4.1.7-4.1.12
    *_subject_cases(),
    # 4.2.1-4.2.5
    *_flag_cases(),
    ("4.2.5", "absent-unset-not-counted", {lists.PODS: [pod("app", "p")]}, None, Status.PASS, "1 container(s) do not set allowPrivilegeEscalation; not counted"),
    ("4.2.5", "fail-unset-counted-by-policy", {lists.PODS: [pod("app", "p")]}, Policy(count_unset_escalation=True), Status.FAIL, "counted, as the policy asks"),
    ("4.2.5", "pass-false", {lists.PODS: [pod("app", "p", container(securityContext={"allowPrivilegeEscalation": False}))]}, Policy(count_unset_escalation=True), Status.PASS, "0 container(s) do not set"),
    # 4.4.2
    ("4.4.2", "pass", {lists.NAMESPACES: [namespace("app"), namespace("kube-system")], lists.NETWORK_POLICIES: [netpol("app")]}, None, Status.PASS, "none found"),
    ("4.4.2", "fail", {lists.NAMESPACES: [namespace("app"), namespace("web")], lists.NETWORK_POLICIES: [netpol("app")]}, None, Status.FAIL, "1 found: web"),
    ("4.4.2", "absent-crds-not-installed", {lists.NAMESPACES: [namespace("app")], lists.NETWORK_POLICIES: [netpol("app")]}, None, Status.PASS, "ciliumnetworkpolicies.cilium.io is not served by this cluster (CRD not installed)"),
    ("4.4.2", "pass-calico-policy", {lists.NAMESPACES: [namespace("app")], lists.CALICO_NETWORK_POLICIES: [netpol("app", "calico")]}, None, Status.PASS, "none found"),
    # 4.5.1
    ("4.5.1", "pass", {lists.PODS: [pod("a", "p", PLAIN_ENV)]}, None, Status.PASS, "none found"),
    ("4.5.1", "fail-env-from", {lists.PODS: [pod("a", "p", SECRET_ENV)]}, None, Status.FAIL, "Pod a/p: container app: envFrom secret db"),
    ("4.5.1", "fail-template-only", {lists.DEPLOYMENTS: [deployment("a", "api", container(env=[{"name": "PW", "valueFrom": {"secretKeyRef": {"name": "db", "key": "pw"}}}]))]}, None, Status.FAIL, "Deployment a/api: container app: env PW from secret db"),
    ("4.5.1", "absent-no-env", {lists.PODS: [pod("a", "p")]}, None, Status.PASS, "none found"),
    # 4.6.1: always a person's call
    ("4.6.1", "manual", {lists.NAMESPACES: [namespace("shop"), namespace("kube-system")]}, None, Status.MANUAL, "namespaces other than system ones: shop"),
    ("4.6.1", "absent-no-user-namespaces", {lists.NAMESPACES: [namespace("kube-system")]}, None, Status.MANUAL, "namespaces other than system ones: none"),
    # 4.6.2: CIS asks a person; no allow-list exists for it
    ("4.6.2", "pass", {lists.PODS: [pod("a", "p", securityContext=CONTEXT)]}, None, Status.PASS, "none found"),
    ("4.6.2", "manual", {lists.PODS: [pod("a", "bare"), pod("a", "set", securityContext=CONTEXT)]}, None, Status.MANUAL, "1 to review: a/bare"),
    ("4.6.2", "absent-empty-context", {lists.PODS: [pod("a", "p", securityContext={})]}, None, Status.MANUAL, "a/p"),
    # 4.6.3
    ("4.6.3", "pass-auto-created-only", {lists.SERVICES: [service("default", "kubernetes")], lists.DEFAULT_CONFIGMAPS: [{"metadata": {"name": "kube-root-ca.crt", "namespace": "default"}}], lists.SERVICE_ACCOUNTS: [account("default")]}, None, Status.PASS, "none found"),
    ("4.6.3", "fail", {lists.PODS: [pod("default", "p")], lists.DEPLOYMENTS: [deployment("default", "web")]}, None, Status.FAIL, "2 found: Deployment default/web, Pod default/p"),
    ("4.6.3", "absent-empty-default", {}, None, Status.PASS, "not counted: Service kubernetes"),
    # 5.1.4: registries.approved is its allow-list
    ("5.1.4", "manual", {lists.PODS: [pod("a", "p", container(image="nginx:1.27"))]}, None, Status.MANUAL, "list the approved ones in the policy file (registries.approved)"),
    ("5.1.4", "fail-not-approved", {lists.PODS: [pod("a", "p", container(image="nginx:1.27")), pod("a", "q")]}, Policy(approved_registries=("*.azurecr.io",)), Status.FAIL, "1 found: docker.io: 1 pod(s)"),
    ("5.1.4", "pass-approved", {lists.PODS: [pod("a", "q")]}, Policy(approved_registries=("myacr.azurecr.io",)), Status.PASS, "approved: myacr.azurecr.io"),
    ("5.1.4", "absent-registry-is-docker-hub", {lists.PODS: [pod("a", "p", container(image="busybox"))]}, Policy(approved_registries=("*.azurecr.io",)), Status.FAIL, "docker.io"),
    # 5.2.1
    ("5.2.1", "pass", {lists.ROLE_BINDINGS: [rb("a", "b", "ClusterRole", "view", sa("a", "api"))]}, None, Status.PASS, "none found"),
    ("5.2.1", "fail", {lists.ROLE_BINDINGS: [rb("a", "b", "ClusterRole", "view", sa("a", "default"))]}, None, Status.FAIL, "ServiceAccount a/default is bound by RoleBinding a/b"),
    ("5.2.1", "absent-no-subjects", {lists.ROLE_BINDINGS: [rb("a", "b", "ClusterRole", "view")]}, None, Status.PASS, "none found"),
    # 5.4.5: CIS asks a person whether each port terminates TLS
    ("5.4.5", "pass", {lists.INGRESSES: [ingress("a", "web", tls=True)], lists.SERVICES: [service("a", "lb", "LoadBalancer", 443)]}, None, Status.PASS, "none found"),
    ("5.4.5", "manual", {lists.SERVICES: [service("a", "lb", "LoadBalancer", 80)]}, None, Status.MANUAL, "Service a/lb (LoadBalancer, ports 80/TCP)"),
    ("5.4.5", "absent-no-tls", {lists.INGRESSES: [ingress("a", "web", tls=False)]}, None, Status.MANUAL, "Ingress a/web (no spec.tls)"),
    ("5.4.5", "absent-no-ports", {lists.SERVICES: [service("a", "lb", "LoadBalancer")]}, None, Status.MANUAL, "ports none"),
]  # fmt: skip


def five(ref: ListRef) -> list[dict[str, Any]]:
    """Five well-formed objects of ``ref`` in kube-system (three pages of two)."""
    if ref is lists.CLUSTER_ROLE_BINDINGS:
        return [crb(f"b{i}", "view", user("u")) for i in range(5)]
    return [{"metadata": {"name": f"x{i}", "namespace": "kube-system"}} for i in range(5)]


def case_id(case: Case) -> str:
    return f"{case[0]}-{case[1]}"


class TestEveryControl:
    """Each control of cis-aks-1.8's section 4 (and 5.1.4, 5.2.1, 5.4.5) under hand-written clusters."""

    @pytest.mark.parametrize("case", CASES, ids=case_id)
    def test_status_and_reason(self, case):
        """The row's status, and a reason naming what was found (or why nothing was)."""
        control_id, _, objects, policy, status, fragment = case
        verdict = judge(control_id, objects, policy)
        assert verdict.status is status, verdict.reason
        assert fragment in verdict.reason, verdict.reason

    def test_every_control_has_each_kind_of_case(self):
        """No session control lacks a pass, a fail (or MANUAL) and an absent case; those that
        take an allow-list have MANUAL, FAIL with the list and PASS with it."""
        kinds: dict[str, set[str]] = {}
        for control_id, label, *_ in CASES:
            kinds.setdefault(control_id, set()).add(label.split("-")[0])
            kinds[control_id].add(label)
        for control_id in SESSION_IDS:
            found = kinds.get(control_id, set())
            assert "absent" in found, control_id
            assert {"pass", "fail"} <= found or "manual" in found, (control_id, found)
            if control_id in ALLOW_LISTS:
                assert {"manual", "fail-not-allow-listed", "pass-allow-listed"} <= found, control_id

    @pytest.mark.parametrize(
        ("control_id", "ref"),
        [(cid, ref) for cid in SESSION_IDS for ref in NEEDS[cid]],
        ids=[f"{cid}-{ref.qualified}" for cid in SESSION_IDS for ref in NEEDS[cid]],
    )
    def test_a_refused_list_is_an_error_naming_it_and_the_permission(self, control_id, ref):
        """A 403 on any list the control needs: ERROR naming the list and the grant to add."""
        # the CRDs installed, so that their lists can be refused too
        objects: dict[ListRef, list[Any]] = {r: [] for r in OPTIONAL}
        verdict = judge(control_id, objects, deny=frozenset({ref}))
        assert verdict.status is Status.ERROR
        assert f"{ref.qualified} not read: the scanner lacks {ref.permission}" in verdict.reason
        assert "is forbidden" in verdict.reason  # the apiserver's own words follow

    @pytest.mark.parametrize("ref", lists.READS, ids=[r.qualified for r in lists.READS])
    def test_a_refused_list_errors_only_the_controls_that_need_it(self, ref):
        """Every other row of the cluster is judged as usual when one list is refused."""
        policy = Policy()
        objects: dict[ListRef, list[Any]] = {r: [] for r in OPTIONAL}
        values = {K8S_OBJECTS: results(objects, deny=frozenset({ref}))}
        verdicts = evaluate_cluster(Facts(values), BENCH.session_controls, policy)
        erred = {v.control_id for v in verdicts if v.status is Status.ERROR}
        assert erred == {cid for cid in SESSION_IDS if ref in NEEDS[cid]}

    @pytest.mark.parametrize("control_id", SESSION_IDS)
    def test_an_expired_list_twice_is_an_error_saying_so(self, control_id):
        """The continue token of a needed list expiring twice: ERROR, the list restarted once."""
        ref = NEEDS[control_id][0]
        verdict = judge(control_id, {ref: five(ref)}, expire={ref: [1, 1]}, limit=2)
        assert verdict.status is Status.ERROR
        assert "again after the list was restarted once" in verdict.reason

    @pytest.mark.parametrize("control_id", SESSION_IDS)
    def test_an_expired_list_once_is_judged_with_a_note(self, control_id):
        """The continue token expiring once: the list is read again and the row says so."""
        ref = NEEDS[control_id][0]
        verdict = judge(control_id, {ref: five(ref)}, expire={ref: [1]}, limit=2)
        assert verdict.status is not Status.ERROR, verdict.reason
        assert f"{ref.qualified}: the continue token expired (410 Gone)" in verdict.reason

    @pytest.mark.parametrize(
        "wrong", [{}, [], None, "results", ControlFacts("4.1.1", Finding.NONE_FOUND)],
        ids=["dict", "list", "null", "string", "one-control's-facts"],
    )  # fmt: skip
    @pytest.mark.parametrize("control_id", SESSION_IDS)
    def test_wrong_type_input_is_an_error_never_a_guess(self, control_id, wrong):
        """facts[k8s:objects] that is not a Section4Results: ERROR through FieldTypeError."""
        (verdict,) = evaluate_cluster(
            Facts({K8S_OBJECTS: wrong}), [BENCH.control(control_id)], Policy()
        )
        assert verdict.status is Status.ERROR
        assert verdict.reason.startswith(
            "k8s:objects has the wrong type: expected the section 4 results of the cluster"
        )

    @pytest.mark.parametrize("control_id", SESSION_IDS)
    def test_a_session_read_that_failed_is_the_rows_error(self, control_id):
        """The session could not read the objects at all: ERROR with the read's reason."""
        reason = "not read: the run's deadline was reached first"
        facts = Facts({}, {K8S_OBJECTS: ReadFailure(reason)})
        (verdict,) = evaluate_cluster(facts, [BENCH.control(control_id)], Policy())
        assert (verdict.status, verdict.reason) == (Status.ERROR, reason)


# -- evidence -------------------------------------------------------------------------------


def many(control_id: str, count: int = 30) -> dict[ListRef, list[Any]]:
    """A cluster with ``count`` offenders of one control."""
    n = range(count)
    builders: dict[str, dict[ListRef, list[Any]]] = {
        "4.1.1": {lists.CLUSTER_ROLE_BINDINGS: [crb(f"b{i:02d}", "cluster-admin", group(f"g{i:02d}")) for i in n]},
        "4.1.3": {lists.CLUSTER_ROLES: [cluster_role(f"op{i:02d}", rule(["*"], ["pods"])) for i in n]},
        "4.1.5": {lists.SERVICE_ACCOUNTS: [account(f"ns{i:02d}") for i in n]},
        "4.2.1": {lists.PODS: [pod("app", f"p{i:02d}", PRIVILEGED) for i in n]},
        "4.4.2": {lists.NAMESPACES: [namespace(f"ns{i:02d}") for i in n]},
        "4.5.1": {lists.PODS: [pod("app", f"p{i:02d}", SECRET_ENV) for i in n]},
        "4.6.3": {
            lists.PODS: [pod("default", f"p{i:02d}") for i in range(count // 2)],
            lists.SERVICES: [service("default", f"s{i:02d}") for i in range(count - count // 2)],
        },
        "5.4.5": {lists.SERVICES: [service("a", f"lb{i:02d}", "LoadBalancer", 80) for i in n]},
    }  # fmt: skip
    return builders[control_id]


CLUSTER = Cluster(CLUSTER_ID, SUB, "rg-prod", "aks-prod", arm=None)


def rows(verdicts: tuple[Verdict, ...], benchmark: Any = BENCH) -> list[dict[str, Any]]:
    """The verdicts as the Log Analytics / JSON rows a scan writes."""
    context = RowContext.for_cluster("run-1", benchmark, CLUSTER)
    return [f.row() for f in findings(context, verdicts, "2026-12-01T00:00:00.000Z")]


class TestEvidence:
    @pytest.mark.parametrize(
        "control_id", ["4.1.1", "4.1.3", "4.1.5", "4.2.1", "4.4.2", "4.5.1", "4.6.3", "5.4.5"]
    )
    def test_evidence_count_is_the_full_total_past_twenty(self, control_id):
        """30 offenders: the row keeps the first 20 names, in order, and counts all 30."""
        verdict = judge(control_id, many(control_id))
        name, first = verdict.evidence.lists[0]
        assert (name, len(first), list(first) == sorted(first)) == (
            "found",
            DEFAULT_NAME_LIMIT,
            True,
        )
        (row,) = rows((verdict,))
        shown = json.loads(row["Evidence"])["found"]
        assert (row["EvidenceCount"], shown["count"], len(shown["first"])) == (
            30,
            30,
            EVIDENCE_ITEMS,
        )
        assert shown["first"] == sorted(first)[:EVIDENCE_ITEMS]
        assert "and 10 more" in verdict.reason

    @pytest.mark.parametrize("control_id", SESSION_IDS)
    def test_the_first_evidence_list_is_what_was_found(self, control_id):
        """Every section 4 row's first list is ``found`` (EvidenceCount counts it), even when empty."""
        verdict = judge(control_id, {})
        assert verdict.evidence.lists[0][0] == "found"
        assert verdict.evidence.count == 0

    def test_allowed_names_are_a_second_list_with_their_total(self):
        """What matched but is allowed is the ``allowed`` list, never counted as found."""
        objects = {
            lists.CLUSTER_ROLE_BINDINGS: [
                crb("cluster-admin", "cluster-admin", group("system:masters"), labels=DEFAULTS),
                crb("ops", "cluster-admin", group("ops")),
            ]
        }
        verdict = judge("4.1.1", objects, allow("4.1.1", "Group ops"))
        assert [name for name, _ in verdict.evidence.lists] == ["found", "allowed"]
        assert dict(verdict.evidence.totals) == {"found": 0, "allowed": 2}
        assert verdict.evidence.count == 0

    def test_no_object_body_env_value_or_secret_reaches_a_row(self):
        """A cluster whose objects carry a secret value (env, args, ConfigMap data, annotations):
        every row of every control is rendered and none holds it."""
        annotations = {
            "kubectl.kubernetes.io/last-applied-configuration": json.dumps({"pw": SECRET})
        }
        leaky = container(
            env=[
                {"name": "DB_PASSWORD", "value": SECRET},
                {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "api", "key": "token"}}},
            ],
            envFrom=[{"secretRef": {"name": "db"}}],
            args=[f"--password={SECRET}"],
            securityContext={"privileged": True, "allowPrivilegeEscalation": True},
            image="nginx:1.27",
        )
        carrier = pod("default", "leaky", leaky, hostPID=True, hostIPC=True, hostNetwork=True)
        carrier["metadata"]["annotations"] = dict(annotations)
        objects = {
            lists.PODS: [carrier],
            lists.DEPLOYMENTS: [deployment("default", "web", leaky)],
            lists.DEFAULT_CONFIGMAPS: [
                {"metadata": {"name": "settings", "namespace": "default", "annotations": annotations},
                 "data": {"password": SECRET}, "binaryData": {"key": SECRET}}
            ],
            lists.SERVICE_ACCOUNTS: [account("default")],
            lists.NAMESPACES: [namespace("default")],
            lists.SERVICES: [service("default", "lb", "LoadBalancer", 80)],
            lists.INGRESSES: [ingress("default", "web", tls=False)],
            **bound("leaky-role", rule(["*"], ["*"], groups=["*"]), subject=sa("default", "default")),
        }  # fmt: skip
        values = {K8S_OBJECTS: results(objects)}
        verdicts = evaluate_cluster(Facts(values), BENCH.session_controls, Policy())
        assert {v.status for v in verdicts} >= {Status.FAIL, Status.MANUAL}
        rendered = json.dumps(rows(verdicts))
        assert SECRET not in rendered
        assert SECRET not in repr(values[K8S_OBJECTS])
        assert "DB_PASSWORD" not in rendered  # a literal env var is not even named
        assert "env TOKEN from secret api" in rendered  # names only: the variable and the Secret


# -- 4.1.1 on Azure-RBAC clusters -------------------------------------------------------------


def managed_cluster(*, azure_rbac: bool = True, rid: str = CLUSTER_ID) -> dict[str, Any]:
    """A managed cluster's ARM object (2025-10-01 shape), Entra-integrated."""
    return {
        "id": rid,
        "name": rid.rsplit("/", 1)[-1],
        "type": "Microsoft.ContainerService/ManagedClusters",
        "properties": {"aadProfile": {"managed": True, "enableAzureRBAC": azure_rbac}},
    }


def role_definition(
    guid: str, name: str, data: list[str], not_data: list[str] | None = None
) -> dict[str, Any]:
    return {
        "id": f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{guid}",
        "name": guid,
        "type": "Microsoft.Authorization/roleDefinitions",
        "properties": {
            "roleName": name,
            "type": "BuiltInRole",
            "permissions": [
                {
                    "actions": ["Microsoft.ContainerService/managedClusters/listClusterUserCredential/action"],
                    "notActions": [],
                    "dataActions": data,
                    "notDataActions": not_data or [],
                }
            ],
            "assignableScopes": ["/"],
        },
    }  # fmt: skip


ROLE_DEFS = {
    CLUSTER_ADMIN_ROLE: role_definition(
        CLUSTER_ADMIN_ROLE,
        "Azure Kubernetes Service RBAC Cluster Admin",
        ["Microsoft.ContainerService/managedClusters/*"],
    ),
    RBAC_ADMIN_ROLE: role_definition(
        RBAC_ADMIN_ROLE,
        "Azure Kubernetes Service RBAC Admin",
        ["Microsoft.ContainerService/managedClusters/*"],
        [
            "Microsoft.ContainerService/managedClusters/resourcequotas/write",
            "Microsoft.ContainerService/managedClusters/resourcequotas/delete",
            "Microsoft.ContainerService/managedClusters/namespaces/write",
            "Microsoft.ContainerService/managedClusters/namespaces/delete",
        ],
    ),
    READER_ROLE: role_definition(READER_ROLE, "Reader", []),
}


def assignment(principal: str, kind: str, role_id: str, scope: str) -> dict[str, Any]:
    name = f"{principal[:8]}-{role_id[:8]}"
    return {
        "id": f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}",
        "name": name,
        "type": "Microsoft.Authorization/roleAssignments",
        "properties": {
            "roleDefinitionId": f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{role_id}",
            "principalId": principal,
            "principalType": kind,
            "scope": scope,
        },
    }


def azure(*assigned: dict[str, Any], azure_rbac: bool = True) -> dict[str, Any]:
    """The optional ARM reads 4.1.1 uses: the cluster, its role assignments and definitions."""
    return {
        MANAGED_CLUSTER: managed_cluster(azure_rbac=azure_rbac),
        ROLE_ASSIGNMENTS: list(assigned),
        ROLE_DEFINITIONS: dict(ROLE_DEFS),
    }


MG_SCOPE = "/providers/Microsoft.Management/managementGroups/contoso"


class TestAzureClusterAdmins:
    @pytest.mark.parametrize(
        "scope", [CLUSTER_ID, f"/subscriptions/{SUB}", f"/subscriptions/{SUB}/resourcegroups/rg-prod", MG_SCOPE],
        ids=["cluster", "subscription", "resource-group", "management-group"],
    )  # fmt: skip
    def test_cluster_admin_assignment_covering_the_cluster_is_counted(self, scope):
        """Azure Kubernetes Service RBAC Cluster Admin at the cluster or a scope above it is Azure's cluster-admin."""
        extra = azure(assignment(PRINCIPAL, "Group", CLUSTER_ADMIN_ROLE, scope))
        verdict = judge("4.1.1", {}, extra=extra)
        expected = (
            f"Azure Group {PRINCIPAL} via Azure Kubernetes Service RBAC Cluster Admin at {scope}"
        )
        assert verdict.status is Status.MANUAL, verdict.reason
        assert verdict.evidence.lists[0] == ("found", (expected,))
        assert "are counted (Azure RBAC for Kubernetes Authorization)" in verdict.reason

    def test_an_assignment_on_another_cluster_is_not_counted(self):
        """The scope of another cluster does not cover this one."""
        extra = azure(assignment(PRINCIPAL, "Group", CLUSTER_ADMIN_ROLE, OTHER_CLUSTER))
        assert judge("4.1.1", {}, extra=extra).status is Status.PASS

    @pytest.mark.parametrize(
        "role_id", [RBAC_ADMIN_ROLE, READER_ROLE], ids=["rbac-admin-notDataActions", "reader"]
    )
    def test_a_role_short_of_every_data_action_is_not_counted(self, role_id):
        """RBAC Admin (notDataActions on quotas and namespaces) and Reader are not cluster-admin."""
        extra = azure(assignment(PRINCIPAL, "User", role_id, CLUSTER_ID))
        verdict = judge("4.1.1", {}, extra=extra)
        assert (verdict.status, verdict.evidence.count) == (Status.PASS, 0)

    def test_an_allow_listed_principal_is_allowed_and_the_others_fail(self):
        """``Azure ServicePrincipal <id>`` on the allow-list is allowed; an unlisted group FAILs."""
        extra = azure(
            assignment(SP, "ServicePrincipal", CLUSTER_ADMIN_ROLE, CLUSTER_ID),
            assignment(PRINCIPAL, "Group", CLUSTER_ADMIN_ROLE, f"/subscriptions/{SUB}"),
        )
        listed = judge("4.1.1", {}, allow("4.1.1", f"Azure ServicePrincipal {SP}"), extra=extra)
        assert listed.status is Status.FAIL
        assert listed.evidence.lists[0][1] == (
            f"Azure Group {PRINCIPAL} via Azure Kubernetes Service RBAC Cluster Admin at /subscriptions/{SUB}",
        )
        (allowed,) = dict(listed.evidence.lists)["allowed"]
        assert allowed.startswith(f"Azure ServicePrincipal {SP} via ")
        assert allowed.endswith("[allow-listed]")
        only_sp = azure(assignment(SP, "ServicePrincipal", CLUSTER_ADMIN_ROLE, CLUSTER_ID))
        verdict = judge("4.1.1", {}, allow("4.1.1", "Azure ServicePrincipal *"), extra=only_sp)
        assert verdict.status is Status.PASS, verdict.reason

    @pytest.mark.parametrize(
        ("present", "missing"),
        [
            ((), "role assignments (Microsoft.Authorization/roleAssignments/read)"),
            (
                (ROLE_ASSIGNMENTS,),
                "role definitions (Microsoft.Authorization/roleDefinitions/read)",
            ),
        ],
        ids=["no-assignments", "no-definitions"],
    )
    def test_an_unread_azure_half_is_manual_naming_the_read(self, present, missing):
        """An Azure-RBAC cluster whose role reads are missing is never a PASS: MANUAL, naming the read that is missing."""
        extra: dict[str, Any] = {MANAGED_CLUSTER: managed_cluster()}
        if ROLE_ASSIGNMENTS in present:
            extra[ROLE_ASSIGNMENTS] = []
        verdict = judge("4.1.1", {}, extra=extra)
        assert verdict.status is Status.MANUAL, verdict.reason
        assert f"could not read its Azure {missing}" in verdict.reason

    @pytest.mark.parametrize(
        "extra",
        [
            azure(assignment(PRINCIPAL, "Group", CLUSTER_ADMIN_ROLE, CLUSTER_ID), azure_rbac=False),
            {},
        ],
        ids=["kubernetes-rbac-cluster", "no-arm-object"],
    )
    def test_a_cluster_without_azure_rbac_is_untouched(self, extra):
        """Kubernetes RBAC only (or no ARM object, scan --kubeconfig): 4.1.1 is the Kubernetes half alone."""
        objects = {lists.CLUSTER_ROLE_BINDINGS: [crb("ops", "cluster-admin", group("ops"))]}
        assert judge("4.1.1", objects, extra=extra) == judge("4.1.1", objects)

    def test_kubernetes_and_azure_admins_are_one_list(self):
        """Three Kubernetes and two Azure cluster-admins: the found list holds all five, sorted, and counts them."""
        objects = {
            lists.CLUSTER_ROLE_BINDINGS: [
                crb(f"b{i}", "cluster-admin", group(f"g{i}")) for i in range(3)
            ]
        }
        extra = azure(
            assignment(PRINCIPAL, "Group", CLUSTER_ADMIN_ROLE, CLUSTER_ID),
            assignment(SP, "ServicePrincipal", CLUSTER_ADMIN_ROLE, CLUSTER_ID),
        )
        verdict = judge("4.1.1", objects, extra=extra)
        _, first = verdict.evidence.lists[0]
        assert (verdict.evidence.count, len(first), list(first) == sorted(first)) == (5, 5, True)
        assert sum(name.startswith("Azure ") for name in first) == 2

    def test_azure_admins_past_twenty_are_counted_not_listed(self):
        """25 Azure cluster-admins: 20 names kept, 25 counted."""
        extra = azure(
            *(assignment(f"{i:08d}-0000-4000-8000-000000000000", "User", CLUSTER_ADMIN_ROLE, CLUSTER_ID) for i in range(25))
        )  # fmt: skip
        verdict = judge("4.1.1", {}, extra=extra)
        assert (verdict.evidence.count, len(verdict.evidence.lists[0][1])) == (
            25,
            DEFAULT_NAME_LIMIT,
        )

    def test_the_kubernetes_half_not_read_stays_an_error(self):
        """ClusterRoleBindings refused: ERROR naming them, whatever Azure says."""
        extra = azure(assignment(PRINCIPAL, "Group", CLUSTER_ADMIN_ROLE, CLUSTER_ID))
        verdict = judge("4.1.1", {}, extra=extra, deny=frozenset({lists.CLUSTER_ROLE_BINDINGS}))
        assert verdict.status is Status.ERROR
        assert 'list clusterrolebindings in API group "rbac.authorization.k8s.io"' in verdict.reason

    def test_a_role_definition_of_the_wrong_shape_is_an_error(self):
        """permissions that is not a list: ERROR naming the field, never a guess."""
        broken = role_definition(CLUSTER_ADMIN_ROLE, "Custom", [])
        broken["properties"]["permissions"] = "all"
        extra = {
            **azure(assignment(PRINCIPAL, "Group", CLUSTER_ADMIN_ROLE, CLUSTER_ID)),
            ROLE_DEFINITIONS: {CLUSTER_ADMIN_ROLE: broken},
        }
        verdict = judge("4.1.1", {}, extra=extra)
        assert verdict.status is Status.ERROR
        assert "roleDefinition.properties.permissions has the wrong type" in verdict.reason

    def test_azure_admins_is_none_off_azure_rbac(self):
        """The unit: None for a Kubernetes-RBAC cluster; found and allowed sorted otherwise."""
        assert azure_admins(azure(azure_rbac=False), None) is None
        found = azure_admins(
            azure(
                assignment(SP, "ServicePrincipal", CLUSTER_ADMIN_ROLE, CLUSTER_ID),
                assignment(PRINCIPAL, "Group", CLUSTER_ADMIN_ROLE, CLUSTER_ID),
            ),
            (),
        )
        assert isinstance(found, AzureAdmins)
        assert [f.split(" ")[1] for f in found.found] == ["Group", "ServicePrincipal"]
        assert found.allowed == ()

    def test_an_allow_listed_object_id_matches_without_case(self):
        """ARM compares object ids without case: an upper-case id on the allow-list still allows it."""
        extra = azure(assignment(SP, "ServicePrincipal", CLUSTER_ADMIN_ROLE, CLUSTER_ID))
        verdict = judge(
            "4.1.1", {}, allow("4.1.1", f"Azure ServicePrincipal {SP.upper()}"), extra=extra
        )
        assert verdict.status is Status.PASS, verdict.reason


# -- 4.4.1 and 4.5.2: ARM, not the lists ------------------------------------------------------


def arm_judge(control_id: str, cluster: Any) -> Verdict:
    (verdict,) = evaluate_cluster(
        Facts({MANAGED_CLUSTER: cluster}), [BENCH.control(control_id)], Policy()
    )
    return verdict


def with_properties(**props: Any) -> dict[str, Any]:
    return {"id": CLUSTER_ID, "name": "aks-prod", "properties": props}


class TestArmEvaluated:
    @pytest.mark.parametrize(
        ("control_id", "cluster", "status", "fragment"),
        [
            ("4.4.1", with_properties(networkProfile={"networkPlugin": "azure", "networkPluginMode": "overlay", "networkDataplane": "cilium"}), Status.MANUAL, "networkPlugin: azure; networkPluginMode: overlay; networkDataplane: cilium; networkPolicy: (absent)"),
            ("4.4.1", with_properties(), Status.ERROR, "networkProfile is absent from the cluster object"),
            ("4.4.1", with_properties(networkProfile=["azure"]), Status.ERROR, "networkProfile has the wrong type"),
            ("4.4.1", ["not", "an", "object"], Status.ERROR, "managedCluster has the wrong type"),
            ("4.5.2", with_properties(addonProfiles={"azureKeyvaultSecretsProvider": {"enabled": True}}), Status.MANUAL, "azureKeyvaultSecretsProvider: enabled"),
            ("4.5.2", with_properties(addonProfiles={"azureKeyvaultSecretsProvider": {"enabled": False}}), Status.MANUAL, "azureKeyvaultSecretsProvider: not enabled"),
            ("4.5.2", with_properties(), Status.MANUAL, "not enabled (absent means off)"),
            ("4.5.2", with_properties(addonProfiles={"azureKeyvaultSecretsProvider": {"enabled": "true"}}), Status.ERROR, "addonProfiles.azureKeyvaultSecretsProvider.enabled has the wrong type"),
            ("4.5.2", with_properties(addonProfiles=[]), Status.ERROR, "addonProfiles has the wrong type"),
        ],
        ids=[
            "4.4.1-manual", "4.4.1-absent", "4.4.1-wrong-type", "4.4.1-wrong-type-cluster",
            "4.5.2-manual-enabled", "4.5.2-manual-disabled", "4.5.2-absent",
            "4.5.2-wrong-type", "4.5.2-wrong-type-addons",
        ],
    )  # fmt: skip
    def test_status_and_reason(self, control_id, cluster, status, fragment):
        """The CIS audits of ``az aks show``: evidence for a person, and ERROR for what cannot be read."""
        verdict = arm_judge(control_id, cluster)
        assert verdict.status is status, verdict.reason
        assert fragment in verdict.reason, verdict.reason

    @pytest.mark.parametrize("control_id", ["4.4.1", "4.5.2"])
    def test_they_read_arm_and_need_no_session(self, control_id):
        """Evaluated with the ARM controls, for stopped clusters too: no Kubernetes read."""
        control = BENCH.control(control_id)
        assert (control.reads, control.needs_session) == ((MANAGED_CLUSTER,), False)
        assert control in BENCH.arm_controls

    def test_a_failed_cluster_read_is_the_rows_error(self):
        """managedCluster not read: ERROR with that read's reason."""
        reason = "HTTP 403: grant Microsoft.ContainerService/managedClusters/read"
        facts = Facts({}, {MANAGED_CLUSTER: ReadFailure(reason)})
        (verdict,) = evaluate_cluster(facts, [BENCH.control("4.4.1")], Policy())
        assert (verdict.status, verdict.reason) == (Status.ERROR, reason)


# -- the benchmarks ---------------------------------------------------------------------------


def versions() -> list[str]:
    from shared.core.controls.registry import benchmark_names  # noqa: PLC0415 - one use

    return [name for name in benchmark_names() if name.startswith("cis-aks-")]


class TestBenchmarks:
    def test_cis_aks_18_section4_rows_in_benchmark_order(self):
        """1.8: 25 session controls (4.1.1-4.6.3, 5.1.4, 5.2.1, 5.4.5) read k8s:objects, in order."""
        controls = BENCH.session_controls
        assert [c.id for c in controls] == [
            *(f"4.1.{n}" for n in range(1, 13)), *(f"4.2.{n}" for n in range(1, 6)),
            "4.4.2", "4.5.1", "4.6.1", "4.6.2", "4.6.3", "5.1.4", "5.2.1", "5.4.5",
        ]  # fmt: skip
        for control in controls:
            assert (control.scope, control.reads) == (Scope.CLUSTER, (K8S_OBJECTS,)), control.id
            assert all((control.description, control.links, control.remediation)), control.id
        section4 = [c.id for c in BENCH.controls if c.section.startswith("4.")]
        assert section4[17:] == ["4.4.1", "4.4.2", "4.5.1", "4.5.2", "4.6.1", "4.6.2", "4.6.3"]

    def test_cis_aks_17_has_4_1_1_to_4_1_6_only(self):
        """1.7's section 4.1 stops at 4.1.6; the rest of section 4 is 1.8's."""
        ids = [c.id for c in BENCH17.session_controls]
        assert ids == [
            *(f"4.1.{n}" for n in range(1, 7)), *(f"4.2.{n}" for n in range(1, 6)),
            "4.4.2", "4.5.1", "4.6.1", "4.6.2", "4.6.3", "5.1.4", "5.2.1", "5.4.5",
        ]  # fmt: skip
        for missing in ("4.1.7", "4.1.12"):
            with pytest.raises(KeyError):
                BENCH17.control(missing)

    @pytest.mark.parametrize("control_id", [c.id for c in BENCH17.session_controls])
    def test_cis_aks_17_judges_as_18_does(self, control_id):
        """The same recommendation under 1.7's id: the same verdict for the same cluster."""
        objects = {
            lists.CLUSTER_ROLE_BINDINGS: [crb("ops", "cluster-admin", group("ops"))],
            lists.PODS: [pod("default", "p", PRIVILEGED, hostPID=True)],
            lists.NAMESPACES: [namespace("default")],
        }
        older = judge(control_id, objects, benchmark=BENCH17)
        assert older == judge(control_id, objects)
        title = policy_control("cis-aks-1.7", control_id).title
        assert BENCH17.control(control_id).title == title

    @pytest.mark.parametrize("name", versions())
    def test_every_version_reads_5_1_4_5_2_1_5_4_5_from_the_lists(self, name):
        """5.1.4, 5.2.1 and 5.4.5 are the Kubernetes checks in every CIS AKS version that has them."""
        bench = get_benchmark(name)
        have = [c for c in bench.controls if c.id in ("5.1.4", "5.2.1", "5.4.5")]
        assert have, name
        for control in have:
            assert control.reads == (K8S_OBJECTS,), (name, control.id)
            assert control.check is BENCH.control(control.id).check, (name, control.id)

    def test_only_4_1_1_has_optional_reads(self):
        """4.1.1 alone uses the Azure role assignments, when the run has them."""
        optional = {c.id: c.optional_reads for c in BENCH.controls if c.optional_reads}
        assert optional == {"4.1.1": (MANAGED_CLUSTER, ROLE_ASSIGNMENTS, ROLE_DEFINITIONS)}


# -- params_for and outcome ---------------------------------------------------------------------


class TestParamsFor:
    def test_defaults(self):
        """No policy file: the documented system namespaces, no allow-list, unset escalation not counted."""
        params = params_for(Policy())
        assert params.system_namespaces == DEFAULT_SYSTEM_NAMESPACES
        assert params.network_policy_exempt == DEFAULT_SYSTEM_NAMESPACES | {
            "kube-public",
            "kube-node-lease",
        }
        assert (dict(params.allow), params.scanner_subjects, params.unset_escalation_counts) == (
            {},
            (),
            False,
        )

    def test_the_policy_maps_onto_the_parameters(self):
        """systemNamespaces, allow, registries.approved (as 5.1.4's list), countUnset... and the scanner."""
        policy = Policy(
            system_namespaces=frozenset({"ops"}),
            k8s_allow=(("4.1.1", ("Group ops",)), ("4.1.6", ("Deployment a/*",))),
            approved_registries=("*.azurecr.io",),
            count_unset_escalation=True,
        )
        me = Subject("User", SCANNER)
        params = params_for(policy, (me,))
        assert params.system_namespaces == {"ops"}
        assert params.network_policy_exempt == {"ops", "kube-public", "kube-node-lease"}
        assert dict(params.allow) == {
            "4.1.1": ("Group ops",), "4.1.6": ("Deployment a/*",), "5.1.4": ("*.azurecr.io",)
        }  # fmt: skip
        assert (params.scanner_subjects, params.unset_escalation_counts) == ((me,), True)

    def test_an_empty_approved_list_approves_nothing(self):
        """registries.approved: [] is a judgement (every registry FAILs), unlike no list (MANUAL)."""
        assert params_for(Policy(approved_registries=())).allow == {"5.1.4": ()}
        objects = {lists.PODS: [pod("a", "p")]}
        assert judge("5.1.4", objects, Policy(approved_registries=())).status is Status.FAIL
        assert judge("5.1.4", objects).status is Status.MANUAL

    @pytest.mark.parametrize(
        ("system", "where", "status"),
        [(None, "kube-system", Status.PASS), (None, "ops", Status.FAIL),
         (frozenset({"ops"}), "ops", Status.PASS), (frozenset({"ops"}), "kube-system", Status.FAIL),
         (frozenset(), "kube-system", Status.FAIL)],
        ids=["default-excludes-kube-system", "default-counts-ops", "ops-excluded",
             "list-replaces-the-default", "empty-list-excludes-nothing"],
    )  # fmt: skip
    def test_system_namespaces_decide_what_is_excluded(self, system, where, status):
        """The policy's list replaces the default one: a privileged pod counts outside it only."""
        policy = Policy(system_namespaces=system)
        verdict = judge("4.2.1", {lists.PODS: [pod(where, "p", PRIVILEGED)]}, policy)
        assert verdict.status is status, verdict.reason

    def test_the_scanners_own_proxy_get_is_allowed(self):
        """4.1.9: the session's user (the token's oid) may get nodes/proxy; anyone else is found."""
        objects = bound(
            "aks-kubelet-config-reader", rule(["get"], ["nodes/proxy"]), subject=user(SCANNER)
        )
        mine = judge("4.1.9", objects, scanner=(Subject("User", SCANNER),))
        theirs = judge("4.1.9", objects)
        assert mine.status is Status.PASS
        assert "the scanner's own identity" in mine.reason
        assert theirs.status is Status.MANUAL


class TestOutcome:
    @pytest.mark.parametrize(
        ("finding", "supplied", "status", "actual"),
        [
            (Finding.NONE_FOUND, None, Status.PASS, "none found"),
            (Finding.FOUND, None, Status.FAIL, "2 found"),
            (Finding.FOUND, True, Status.FAIL, "2 found"),
            (Finding.NEEDS_JUDGEMENT, False, Status.MANUAL, "2 to review"),
            (Finding.NOT_READ, None, Status.ERROR, ""),
        ],
        ids=["none-found-pass", "found-fail", "found-with-list-fail", "judgement-manual", "not-read-error"],
    )  # fmt: skip
    def test_each_finding_has_its_status(self, finding, supplied, status, actual):
        """The module docstring's table: none-found PASS, found FAIL, needs-judgement MANUAL, not-read ERROR."""
        offenders = Names(("a", "b"), 2) if finding is not Finding.NONE_FOUND else Names()
        facts = ControlFacts(
            "4.1.2",
            finding,
            offenders=offenders,
            allow_list_supplied=supplied,
            error="pods not read: x",
        )
        result = outcome(policy_control("cis-aks-1.8", "4.1.2"), facts)
        assert (result.status, result.actual) == (status, actual)
        if status is Status.ERROR:
            assert result.reason.startswith("pods not read: x")

    def test_evidence_only_judgement_shows_the_evidence(self):
        """A judgement with nothing listed (4.6.1) is MANUAL with its evidence lines."""
        facts = ControlFacts("4.6.1", Finding.NEEDS_JUDGEMENT, evidence=("namespaces in all: 3",))
        result = outcome(policy_control("cis-aks-1.8", "4.6.1"), facts)
        assert (result.status, result.actual) == (Status.MANUAL, "evidence")
        assert result.reason.endswith("namespaces in all: 3")
        assert dict(result.evidence.values) == {"evidence": "namespaces in all: 3"}

    @pytest.mark.parametrize("control_id", SESSION_IDS)
    def test_a_suggested_policy_field_is_one_the_policy_file_takes(self, control_id):
        """A MANUAL row that asks for an allow-list names a field the policy file accepts, and only then."""
        facts = ControlFacts(
            control_id,
            Finding.NEEDS_JUDGEMENT,
            offenders=Names(("x",), 1),
            allow_list_supplied=False,
        )
        reason = outcome(policy_control("cis-aks-1.8", control_id), facts).reason
        takes = control_id in ALLOW_LISTS or control_id == "5.1.4"
        assert ("list the approved ones in the policy file" in reason) is takes
        if control_id == "5.1.4":
            document: dict[str, Any] = {"registries": {"approved": ["myacr.azurecr.io"]}}
        else:
            document = {"kubernetes": {"allow": {control_id: ["Group x"]}}}
        if takes:
            parsed = parse_policy(document, Policy(), benchmark=BENCH)
            assert control_id in params_for(parsed).allow
