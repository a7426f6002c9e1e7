"""infra/k8s: the Kubernetes RBAC for clusters that use Kubernetes RBAC, and its warning."""

from __future__ import annotations

from typing import Any

import yaml

from tests.infra.bicep import ROOT

MANIFEST = ROOT / "infra/k8s/kubelet-config-reader.yaml"
README = ROOT / "infra/k8s/README.md"


def _documents() -> dict[str, dict[str, Any]]:
    return {d["kind"]: d for d in yaml.safe_load_all(MANIFEST.read_text(encoding="utf-8"))}


class TestClusterRole:
    def test_exactly_nodes_get_list_and_nodes_proxy_get(self):
        """Rules: nodes get/list, nodes/proxy get; nothing else, no wildcard."""
        rules = _documents()["ClusterRole"]["rules"]
        assert rules == [
            {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list"]},
            {"apiGroups": [""], "resources": ["nodes/proxy"], "verbs": ["get"]},
        ]

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
