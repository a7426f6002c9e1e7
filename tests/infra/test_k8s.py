"""infra/k8s: the Kubernetes RBAC for clusters that use Kubernetes RBAC, and its warning."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
import yaml

from shared.core.k8s_lists import READS, ListRef
from sim.kubeobjects import scanner_rbac
from tests.infra.bicep import ROOT

MANIFEST = ROOT / "infra/k8s/kubelet-config-reader.yaml"
README = ROOT / "infra/k8s/README.md"


def _all_documents() -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(MANIFEST.read_text(encoding="utf-8")) if d]


def _documents() -> dict[str, dict[str, Any]]:
    """The manifest's objects by kind (one of each: a second Role would need _roles())."""
    documents = _all_documents()
    by_kind = {d["kind"]: d for d in documents}
    assert len(by_kind) == len(documents), "two objects of one kind: look them up by name"
    return by_kind


def _rules() -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = _documents()["ClusterRole"]["rules"]
    return rules


def _all_rules() -> list[dict[str, Any]]:
    """The rules of the ClusterRole and of every Role."""
    return [r for d in _all_documents() if d["kind"] in ("ClusterRole", "Role") for r in d["rules"]]


def _role_grants() -> dict[str, dict[tuple[str, str], list[str]]]:
    """namespace -> what the Role there grants."""
    return {
        d["metadata"]["namespace"]: _grants(d["rules"])
        for d in _all_documents()
        if d["kind"] == "Role"
    }


def _grants(rules: list[dict[str, Any]]) -> dict[tuple[str, str], list[str]]:
    """(API group, resource) -> verbs of a rule list; a pair granted twice is an error."""
    granted: dict[tuple[str, str], list[str]] = {}
    for rule in rules:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                assert (group, resource) not in granted, f"{group}/{resource} granted twice"
                granted[(group, resource)] = rule["verbs"]
    return granted


#: What configz needs besides section 4: the paged node list (and get of one node), and
#: GET /api/v1/nodes/{node}/proxy/configz.
NODE_GRANTS: dict[tuple[str, str], list[str]] = {
    ("", "nodes"): ["get", "list"],
    ("", "nodes/proxy"): ["get"],
}
Grants = dict[tuple[str, str], list[str]]


def expected_grants(reads: Sequence[ListRef]) -> tuple[Grants, dict[str, Grants]]:
    """What the manifest must grant for ``reads``, derived from the reads themselves: the
    ClusterRole holds the node grants and get/list of every cluster-wide read; each namespace a
    read is made in has a Role with get/list of exactly those reads."""
    cluster: Grants = dict(NODE_GRANTS)
    namespaced: dict[str, Grants] = {}
    for ref in reads:
        where = namespaced.setdefault(ref.namespace, {}) if ref.namespace else cluster
        where[(ref.group, ref.resource)] = ["get", "list"]
    return cluster, namespaced


#: (API group, resource) -> verbs of the ClusterRole, and namespace -> the same for its Role,
#: from shared.core.k8s_lists.READS: a read added there without a grant here fails the tests.
EXPECTED, EXPECTED_NAMESPACED = expected_grants(READS)


class TestClusterRole:
    def test_exactly_the_reads_the_scanner_makes(self):
        """Rules: nodes get/list, nodes/proxy get, and get/list of each section 4 read; nothing else."""
        assert _grants(_rules()) == EXPECTED

    def test_a_read_without_its_grant_fails(self):
        """The expectation follows READS: one more read, cluster-wide or namespaced, is not met."""
        cluster, _ = expected_grants((*READS, ListRef("policy", "v1", "poddisruptionbudgets")))
        assert set(cluster) - set(_grants(_rules())) == {("policy", "poddisruptionbudgets")}
        _, namespaced = expected_grants((*READS, ListRef("", "v1", "endpoints", "kube-system")))
        assert namespaced != _role_grants()
        assert set(namespaced) - set(_role_grants()) == {"kube-system"}

    def test_every_read_is_granted_where_it_is_made(self):
        """Each READ is get/list in the ClusterRole (cluster-wide) or in the Role of its namespace."""
        roles = _role_grants()
        for ref in READS:
            grants = roles.get(ref.namespace, {}) if ref.namespace else _grants(_rules())
            assert grants.get((ref.group, ref.resource)) == ["get", "list"], ref.permission

    @pytest.mark.parametrize("field", ["apiGroups", "resources", "verbs"])
    def test_no_wildcard(self, field):
        """No * anywhere, in the ClusterRole or a Role (CIS 4.1.3 would find the scanner's own role)."""
        assert not [r for r in _all_rules() if any("*" in v for v in r[field])]

    def test_never_secrets_nor_writes(self):
        """No rule of any role names secrets, and no verb but get and list (no watch, no write)."""
        assert not [r for r in _all_rules() if "secrets" in r["resources"]]
        assert {v for r in _all_rules() for v in r["verbs"]} == {"get", "list"}
        assert not [ref for ref in READS if ref.resource == "secrets"]

    def test_namespaced_reads_come_from_a_role_in_their_namespace(self):
        """Each namespace a read is made in (ConfigMaps in default) has one Role granting exactly
        those reads, bound to the same identity as the ClusterRole; no other Role exists."""
        documents = _all_documents()
        roles = {d["metadata"]["namespace"]: d for d in documents if d["kind"] == "Role"}
        assert _role_grants() == EXPECTED_NAMESPACED
        subjects = _documents()["ClusterRoleBinding"]["subjects"]
        for namespace, role in roles.items():
            (binding,) = [
                d
                for d in documents
                if d["kind"] == "RoleBinding" and d["metadata"]["namespace"] == namespace
            ]
            assert binding["roleRef"] == {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "Role",
                "name": role["metadata"]["name"],
            }
            assert binding["subjects"] == subjects

    def test_configmaps_are_read_as_metadata_only(self):
        """The namespaced ConfigMaps read asks for PartialObjectMetadataList (no data reaches us)."""
        configmaps = [ref for ref in READS if ref.resource == "configmaps"]
        assert configmaps
        assert all(ref.namespace == "default" and ref.metadata_only for ref in configmaps)

    def test_simulator_serves_the_same_objects(self):
        """The simulated clusters bind exactly these rules to the scanner (sim.kubeobjects.scanner_rbac)."""
        served = {o["kind"]: o for o in scanner_rbac("${SCANNER_PRINCIPAL_ID}")}
        documents = _documents()
        assert served["ClusterRole"]["rules"] == documents["ClusterRole"]["rules"]
        assert served["Role"]["rules"] == documents["Role"]["rules"]
        assert (
            served["ClusterRoleBinding"]["subjects"] == documents["ClusterRoleBinding"]["subjects"]
        )

    def test_binding_names_the_identity_object_id(self):
        """The binding's one subject is the user named by the identity's object id (substituted)."""
        documents = _documents()
        binding = documents["ClusterRoleBinding"]
        assert binding["roleRef"] == {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": documents["ClusterRole"]["metadata"]["name"],
        }
        assert binding["subjects"] == [
            {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "User",
                "name": "${SCANNER_PRINCIPAL_ID}",
            }
        ]

    def test_substitution_uses_the_azd_output(self):
        """The placeholder is the azd output main.bicep writes (SCANNER_PRINCIPAL_ID)."""
        main = (ROOT / "infra/main.bicep").read_text(encoding="utf-8")
        assert "output SCANNER_PRINCIPAL_ID string = identity.outputs.principalId" in main
        assert "envsubst '$SCANNER_PRINCIPAL_ID'" in MANIFEST.read_text(encoding="utf-8")


class TestReadme:
    @pytest.mark.parametrize(
        "resource",
        sorted({r for _, r in EXPECTED} | {r for g in EXPECTED_NAMESPACED.values() for _, r in g}),
    )
    def test_every_read_has_its_reason(self, resource):
        """infra/k8s/README.md names every resource the role grants, in its table of reasons."""
        table = (
            README.read_text(encoding="utf-8")
            .split("| Rule | Why the scanner needs it |", 1)[1]
            .split("\n\n", 1)[0]
        )
        assert f"`{resource}`" in table

    def test_says_no_secrets(self):
        """The README says why the role never reads Secret objects."""
        assert "**No `secrets`.**" in README.read_text(encoding="utf-8")


class TestWarning:
    def test_readme_says_nodes_proxy_is_powerful(self):
        """The README states that get nodes/proxy is not read-only and reaches exec."""
        text = " ".join(README.read_text(encoding="utf-8").split())
        for fragment in ("not a read-only permission", "WebSocket", "exec", "node-root"):
            assert fragment in text

    def test_readme_explains_kep_2862(self):
        """The README says what nodes/configz (KEP-2862, stable in 1.36) changes and what it does not."""
        text = " ".join(README.read_text(encoding="utf-8").split())
        for fragment in ("KEP-2862", "nodes/configz", "1.36", "through the API server's proxy"):
            assert fragment in text
