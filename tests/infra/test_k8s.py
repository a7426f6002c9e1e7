"""infra/k8s: the Kubernetes RBAC for clusters that use Kubernetes RBAC, and its warning."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from sim.kubeobjects import scanner_rbac
from tests.infra.bicep import ROOT

MANIFEST = ROOT / "infra/k8s/kubelet-config-reader.yaml"
README = ROOT / "infra/k8s/README.md"


def _documents() -> dict[str, dict[str, Any]]:
    return {d["kind"]: d for d in yaml.safe_load_all(MANIFEST.read_text(encoding="utf-8"))}


def _rules() -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = _documents()["ClusterRole"]["rules"]
    return rules


#: (API group, resource) -> verbs: configz, then each section 4 read (infra/k8s/README.md).
EXPECTED = {
    ("", "nodes"): ["get", "list"],
    ("", "nodes/proxy"): ["get"],
    **{
        ("rbac.authorization.k8s.io", r): ["get", "list"]
        for r in ("clusterroles", "clusterrolebindings", "roles", "rolebindings")
    },
    **{("", r): ["get", "list"] for r in ("namespaces", "pods", "serviceaccounts", "services")},
    **{("networking.k8s.io", r): ["get", "list"] for r in ("ingresses", "networkpolicies")},
    **{
        ("apps", r): ["get", "list"]
        for r in ("daemonsets", "deployments", "replicasets", "statefulsets")
    },
    **{("batch", r): ["get", "list"] for r in ("cronjobs", "jobs")},
    **{
        ("admissionregistration.k8s.io", r): ["get", "list"]
        for r in ("mutatingwebhookconfigurations", "validatingwebhookconfigurations")
    },
    ("crd.projectcalico.org", "networkpolicies"): ["get", "list"],
    **{
        ("cilium.io", r): ["get", "list"]
        for r in ("ciliumclusterwidenetworkpolicies", "ciliumnetworkpolicies")
    },
}


class TestClusterRole:
    def test_exactly_the_reads_the_scanner_makes(self):
        """Rules: nodes get/list, nodes/proxy get, and get/list of each section 4 read; nothing else."""
        granted = {
            (group, resource): rule["verbs"]
            for rule in _rules()
            for group in rule["apiGroups"]
            for resource in rule["resources"]
        }
        assert granted == EXPECTED

    @pytest.mark.parametrize("field", ["apiGroups", "resources", "verbs"])
    def test_no_wildcard(self, field):
        """No * anywhere (CIS 4.1.3 would find the scanner's own role)."""
        assert not [r for r in _rules() if any("*" in v for v in r[field])]

    def test_never_secrets_nor_writes(self):
        """No rule names secrets, and no verb but get and list."""
        assert not [r for r in _rules() if "secrets" in r["resources"]]
        assert {v for r in _rules() for v in r["verbs"]} == {"get", "list"}

    def test_configmaps_only_in_default(self):
        """ConfigMaps come from a Role in default only, bound to the same identity."""
        documents = _documents()
        assert documents["Role"]["metadata"]["namespace"] == "default"
        assert documents["Role"]["rules"] == [
            {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}
        ]
        assert documents["RoleBinding"]["roleRef"]["name"] == documents["Role"]["metadata"]["name"]
        assert documents["RoleBinding"]["subjects"] == documents["ClusterRoleBinding"]["subjects"]

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
    @pytest.mark.parametrize("resource", sorted({r for _, r in EXPECTED} | {"configmaps"}))
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
