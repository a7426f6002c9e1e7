"""The estate as data: the demo estate's composition and configz values, generated estates."""

from __future__ import annotations

import json
import re

import pytest

from sim import default_estate, generated_estate
from sim.estate import BATCH_CPU, BATCH_GPU, COMPLIANT, LEGACY, base36
from sim.kubeletconfig import configz_body, go_json

NODE_NAME = re.compile(r"^aks-(?P<pool>[a-z0-9]+)-\d{8}-vmss[0-9a-z]{6}$")


class TestDemoEstate:
    def test_composition(self):
        """Two subscriptions, five clusters, the documented pools and node counts."""
        estate = default_estate()
        shape = {
            c.name: (
                s.display_name,
                c.power_state,
                c.aad_managed,
                c.azure_rbac,
                c.local_accounts_disabled,
                [(p.name, p.count) for p in c.pools],
            )
            for s, c in estate.clusters()
        }
        assert shape == {
            "aks-prod-weu": (
                "Contoso Production",
                "Running",
                True,
                True,
                True,
                [("system", 3), ("user", 4)],
            ),
            "aks-legacy-eus": (
                "Contoso Production",
                "Running",
                True,
                False,
                False,
                [("legacy", 2)],
            ),
            "aks-local-only": (
                "Contoso Production",
                "Running",
                False,
                False,
                False,
                [("nodes", 2)],
            ),
            "aks-dev-stopped": ("Contoso Dev", "Stopped", True, False, False, [("system", 1)]),
            "aks-batch-neu": (
                "Contoso Dev",
                "Running",
                True,
                False,
                False,
                [("cpu", 2), ("gpu", 2)],
            ),
        }
        assert re.fullmatch(r"dcr-[0-9a-f]{32}", estate.dcr_immutable_id)

    def test_node_names_and_labels_follow_aks(self):
        """aks-<pool>-<8 digits>-vmss<6 base36>, stable across builds, unique per estate."""
        names = [n.name for _, c in default_estate().clusters() for n in c.nodes()]
        assert all(NODE_NAME.match(n) for n in names)
        assert len(set(names)) == len(names)
        assert names == [n.name for _, c in default_estate().clusters() for n in c.nodes()]
        assert [base36(i) for i in (0, 9, 10, 35, 36)] == [
            "000000",
            "000009",
            "00000a",
            "00000z",
            "000010",
        ]

    def test_exactly_one_node_is_unreachable(self):
        """aks-prod-weu user pool instance 2."""
        unreachable = [
            (c.name, n.name)
            for _, c in default_estate().clusters()
            for n in c.nodes()
            if n.override.unreachable
        ]
        assert len(unreachable) == 1
        assert unreachable[0][0] == "aks-prod-weu"
        assert unreachable[0][1].startswith("aks-user-")
        assert unreachable[0][1].endswith("vmss000002")

    def test_compliant_configuration(self):
        """The AKS-like compliant kubelet config has the CIS-relevant values as on the wire."""
        k = COMPLIANT
        assert (k["kind"], k["apiVersion"]) == (
            "KubeletConfiguration",
            "kubelet.config.k8s.io/v1beta1",
        )
        assert "readOnlyPort" not in k
        assert k["eventRecordQPS"] == 0
        assert (k["rotateCertificates"], k["serverTLSBootstrap"]) == (True, True)
        assert k["featureGates"]["RotateKubeletServerCertificate"] is True
        assert k["authentication"]["x509"]["clientCAFile"] == "/etc/kubernetes/certs/ca.crt"
        assert k["authentication"]["anonymous"]["enabled"] is False
        assert k["authentication"]["webhook"]["enabled"] is True
        assert k["authorization"]["mode"] == "Webhook"
        assert k["streamingConnectionIdleTimeout"] == "4h0m0s"
        assert k["makeIPTablesUtilChains"] is True
        assert {"syncFrequency", "cgroupDriver", "tlsCipherSuites", "evictionHard"} <= set(k)

    @pytest.mark.parametrize(
        ("config", "expected", "absent"),
        [
            pytest.param(
                LEGACY,
                {
                    "readOnlyPort": 10255,
                    "eventRecordQPS": 3,
                    "makeIPTablesUtilChains": False,
                    "authentication.anonymous.enabled": True,
                },
                ["rotateCertificates", "serverTLSBootstrap"],
                id="legacy",
            ),
            pytest.param(
                BATCH_CPU,
                {"eventRecordQPS": 50, "featureGates.RotateKubeletServerCertificate": False},
                [],
                id="batch-cpu",
            ),
            pytest.param(
                BATCH_GPU,
                {
                    "streamingConnectionIdleTimeout": "0s",
                    "eventRecordQPS": "5",
                    "authorization.mode": "AlwaysAllow",
                    "authentication.x509": {},
                },
                ["authentication.x509.clientCAFile"],
                id="batch-gpu",
            ),
        ],
    )
    def test_non_compliant_configurations(self, config, expected, absent):
        """Each non-compliant pool differs from COMPLIANT exactly where documented."""

        def get(path):
            value = config
            for key in path.split("."):
                if not isinstance(value, dict) or key not in value:
                    return KeyError
                value = value[key]
            return value

        assert {p: get(p) for p in expected} == expected
        assert all(get(p) is KeyError for p in absent)

    def test_legacy_keeps_go_declaration_order(self):
        """readOnlyPort follows port, as in KubeletConfiguration."""
        keys = list(LEGACY)
        assert keys[keys.index("port") + 1] == "readOnlyPort"


class TestWireFormat:
    def test_configz_body_is_compact_go_json(self):
        """{"kubeletconfig":{...}} with no spaces and Go's HTML escapes."""
        body = configz_body({"kind": "KubeletConfiguration", "x": "<a&b>", "n": 0})
        assert (
            body
            == b'{"kubeletconfig":{"kind":"KubeletConfiguration","x":"\\u003ca\\u0026b\\u003e","n":0}}'
        )
        assert json.loads(body)["kubeletconfig"]["x"] == "<a&b>"

    def test_go_json_keeps_unicode(self):
        """Non-ASCII stays UTF-8 (Go does not escape it)."""
        assert go_json({"a": "é"}) == '{"a":"é"}'.encode()


class TestGeneratedEstate:
    def test_counts_and_spread(self):
        """N clusters of M nodes over a few subscriptions, all running Entra clusters."""
        estate = generated_estate(10, 7, subscriptions=3)
        clusters = [c for _, c in estate.clusters()]
        assert len(clusters) == 10
        assert sum(len(c.nodes()) for c in clusters) == 70
        assert [len(s.clusters) for s in estate.subscriptions] == [4, 3, 3]
        assert all(c.running and c.aad_managed for c in clusters)
        assert len({n.name for c in clusters for n in c.nodes()}) == 70

    def test_latency_is_carried(self):
        """with_latency sets the added milliseconds."""
        estate = generated_estate(1, 1).with_latency(configz_ms=50, arm_ms=20)
        assert (estate.latency.configz_ms, estate.latency.arm_ms, estate.latency.list_ms) == (
            50,
            20,
            0,
        )

    def test_negative_sizes_are_refused(self):
        """Sizes are validated."""
        with pytest.raises(ValueError, match="must be"):
            generated_estate(-1, 1)
