"""Every registered benchmark, control by control: its table as the source words it, one pass and
one fail (or always-MANUAL) case per control, and the invariants every table must keep.

The expected tables below are transcribed from the sources named in ``cis_aks_versions`` and
``cis_k8s_112`` (kube-bench, kubescape regolibrary, castai/kvisor), independently of the module's
title constants, so a typo in either shows up here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from shared.core.controls import Check, cis_aks_18
from shared.core.controls import cis_aks_versions as versions
from shared.core.controls import cis_k8s_112 as k8s
from shared.core.controls.registry import benchmark_names, get_benchmark
from shared.core.errors import SettingsError
from shared.core.evaluate import evaluate
from shared.core.model import Policy, Status, Verdict

POLICY = Policy()

# What each recommendation is evaluated by, whichever version's id it carries.
CHECKS: dict[str, Check] = {
    "anonymous-auth": cis_aks_18.check_anonymous_auth,
    "authorization-mode": cis_aks_18.check_authorization_mode,
    "client-ca-file": cis_aks_18.check_client_ca_file,
    "read-only-port": cis_aks_18.check_read_only_port,
    "streaming-idle-timeout": cis_aks_18.check_streaming_idle_timeout,
    "protect-kernel-defaults": versions.check_protect_kernel_defaults,
    "iptables-util-chains": cis_aks_18.check_iptables_util_chains,
    "hostname-override": versions.check_hostname_override,
    "event-record-qps": cis_aks_18.check_event_record_qps,
    "rotate-certificates": cis_aks_18.check_rotate_certificates,
    "server-cert-rotation": cis_aks_18.check_server_cert_rotation,
    "tls-cert-files": k8s.check_tls_cert_files,
    "strong-ciphers": k8s.check_strong_ciphers,
    "pod-pids-limit": k8s.check_pod_pids_limit,
    "seccomp-default": k8s.check_seccomp_default,
}

STRONG = [
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
]

# A kubeletconfig that complies with the recommendation, and one that does not.
PASSING: dict[str, dict[str, Any]] = {
    "anonymous-auth": {"authentication": {"anonymous": {"enabled": False}}},
    "authorization-mode": {"authorization": {"mode": "Webhook"}},
    "client-ca-file": {
        "authentication": {"x509": {"clientCAFile": "/etc/kubernetes/certs/ca.crt"}}
    },
    "read-only-port": {"readOnlyPort": 0},
    "streaming-idle-timeout": {"streamingConnectionIdleTimeout": "4h0m0s"},
    "protect-kernel-defaults": {"protectKernelDefaults": True},
    "iptables-util-chains": {"makeIPTablesUtilChains": True},
    "event-record-qps": {"eventRecordQPS": 0},
    "rotate-certificates": {"rotateCertificates": True},
    "server-cert-rotation": {
        "featureGates": {"RotateKubeletServerCertificate": True},
        "serverTLSBootstrap": True,
    },
    "tls-cert-files": {
        "tlsCertFile": "/etc/kubernetes/certs/kubeletserver.crt",
        "tlsPrivateKeyFile": "/etc/kubernetes/certs/kubeletserver.key",
    },
    "strong-ciphers": {"tlsCipherSuites": STRONG},
    "pod-pids-limit": {"podPidsLimit": 4096},
    "seccomp-default": {"seccompDefault": True},
}
FAILING: dict[str, dict[str, Any]] = {
    "anonymous-auth": {"authentication": {"anonymous": {"enabled": True}}},
    "authorization-mode": {"authorization": {"mode": "AlwaysAllow"}},
    "client-ca-file": {"authentication": {"x509": {"clientCAFile": ""}}},
    "read-only-port": {"readOnlyPort": 10255},
    "streaming-idle-timeout": {"streamingConnectionIdleTimeout": "0s"},
    "protect-kernel-defaults": {},  # omitempty: false is absent
    "iptables-util-chains": {"makeIPTablesUtilChains": False},
    "event-record-qps": {"eventRecordQPS": 1},
    "rotate-certificates": {},  # omitempty: false is absent
    "server-cert-rotation": {"featureGates": {"RotateKubeletServerCertificate": False}},
    "tls-cert-files": {},
    "strong-ciphers": {"tlsCipherSuites": [*STRONG, "TLS_RSA_WITH_AES_128_CBC_SHA"]},
    "pod-pids-limit": {"podPidsLimit": -1},
    "seccomp-default": {"seccompDefault": False},
}
MANUAL_KINDS = {"hostname-override"}

# The tables as the sources give them: id, title, level, recommendation.
Table = list[tuple[str, str, int, str]]

NINE_ITEMS: Table = [
    ("3.2.1", "Ensure that the --anonymous-auth argument is set to false", 1, "anonymous-auth"),
    (
        "3.2.2",
        "Ensure that the --authorization-mode argument is not set to AlwaysAllow",
        1,
        "authorization-mode",
    ),
    (
        "3.2.3",
        "Ensure that the --client-ca-file argument is set as appropriate",
        1,
        "client-ca-file",
    ),
    ("3.2.4", "Ensure that the --read-only-port is secured", 1, "read-only-port"),
    (
        "3.2.5",
        "Ensure that the --streaming-connection-idle-timeout argument is not set to 0",
        1,
        "streaming-idle-timeout",
    ),
    (
        "3.2.6",
        "Ensure that the --make-iptables-util-chains argument is set to true",
        1,
        "iptables-util-chains",
    ),
    (
        "3.2.7",
        "Ensure that the --eventRecordQPS argument is set to 0 or a level which ensures appropriate event capture",
        2,
        "event-record-qps",
    ),
    (
        "3.2.8",
        "Ensure that the --rotate-certificates argument is not set to false",
        1,
        "rotate-certificates",
    ),
    (
        "3.2.9",
        "Ensure that the RotateKubeletServerCertificate argument is set to true",
        1,
        "server-cert-rotation",
    ),
]

EXPECTED: dict[str, Table] = {
    "cis-aks-1.8": NINE_ITEMS,
    "cis-aks-1.7": NINE_ITEMS,
    "cis-aks-1.6": NINE_ITEMS,
    "cis-aks-1.5": NINE_ITEMS,
    "cis-aks-1.4": [
        ("3.2.1", "Ensure that the --anonymous-auth argument is set to false", 1, "anonymous-auth"),
        (
            "3.2.2",
            "Ensure that the --authorization-mode argument is not set to AlwaysAllow",
            1,
            "authorization-mode",
        ),
        (
            "3.2.3",
            "Ensure that the --client-ca-file argument is set as appropriate",
            1,
            "client-ca-file",
        ),
        ("3.2.4", "Ensure that the --read-only-port argument is set to 0", 1, "read-only-port"),
        (
            "3.2.5",
            "Ensure that the --streaming-connection-idle-timeout argument is not set to 0",
            1,
            "streaming-idle-timeout",
        ),
        (
            "3.2.6",
            "Ensure that the --make-iptables-util-chains argument is set to true",
            1,
            "iptables-util-chains",
        ),
        (
            "3.2.7",
            "Ensure that the --hostname-override argument is not set",
            1,
            "hostname-override",
        ),
        (
            "3.2.8",
            "Ensure that the --eventRecordQPS argument is set to 0 or a level which ensures appropriate event capture",
            2,
            "event-record-qps",
        ),
        (
            "3.2.9",
            "Ensure that the --rotate-certificates argument is not set to false",
            1,
            "rotate-certificates",
        ),
        (
            "3.2.10",
            "Ensure that the RotateKubeletServerCertificate argument is set to true",
            1,
            "server-cert-rotation",
        ),
    ],
    "cis-aks-1.3": [
        ("3.2.1", "Ensure that the --anonymous-auth argument is set to false", 1, "anonymous-auth"),
        (
            "3.2.2",
            "Ensure that the --authorization-mode argument is not set to AlwaysAllow",
            1,
            "authorization-mode",
        ),
        (
            "3.2.3",
            "Ensure that the --client-ca-file argument is set as appropriate",
            1,
            "client-ca-file",
        ),
        ("3.2.4", "Ensure that the --read-only-port argument is set to 0", 1, "read-only-port"),
        (
            "3.2.5",
            "Ensure that the --streaming-connection-idle-timeout argument is not set to 0",
            1,
            "streaming-idle-timeout",
        ),
        (
            "3.2.6",
            "Ensure that the --make-iptables-util-chains argument is set to true",
            1,
            "iptables-util-chains",
        ),
        (
            "3.2.7",
            "Ensure that the --hostname-override argument is not set",
            1,
            "hostname-override",
        ),
        (
            "3.2.8",
            "Ensure that the --event-qps argument is set to 0 or a level which ensures appropriate event capture",
            2,
            "event-record-qps",
        ),
        (
            "3.2.9",
            "Ensure that the --rotate-certificates argument is not set to false",
            1,
            "rotate-certificates",
        ),
        (
            "3.2.10",
            "Ensure that the RotateKubeletServerCertificate argument is set to true",
            1,
            "server-cert-rotation",
        ),
    ],
    "cis-aks-1.2": [
        ("3.2.1", "Ensure that the --anonymous-auth argument is set to false", 1, "anonymous-auth"),
        (
            "3.2.2",
            "Ensure that the --authorization-mode argument is not set to AlwaysAllow",
            1,
            "authorization-mode",
        ),
        (
            "3.2.3",
            "Ensure that the --client-ca-file argument is set as appropriate",
            1,
            "client-ca-file",
        ),
        ("3.2.4", "Ensure that the --read-only-port is secured", 1, "read-only-port"),
        (
            "3.2.5",
            "Ensure that the --streaming-connection-idle-timeout argument is not set to 0",
            1,
            "streaming-idle-timeout",
        ),
        (
            "3.2.6",
            "Ensure that the --protect-kernel-defaults argument is set to true",
            1,
            "protect-kernel-defaults",
        ),
        (
            "3.2.7",
            "Ensure that the --make-iptables-util-chains argument is set to true",
            1,
            "iptables-util-chains",
        ),
        (
            "3.2.8",
            "Ensure that the --hostname-override argument is not set",
            1,
            "hostname-override",
        ),
        (
            "3.2.9",
            "Ensure that the --eventRecordQPS argument is set to 0 or a level which ensures appropriate event capture",
            2,
            "event-record-qps",
        ),
        (
            "3.2.10",
            "Ensure that the --rotate-certificates argument is not set to false",
            1,
            "rotate-certificates",
        ),
        (
            "3.2.11",
            "Ensure that the RotateKubeletServerCertificate argument is set to true",
            1,
            "server-cert-rotation",
        ),
    ],
    "cis-aks-1.0": [
        ("3.2.1", "Ensure that the --anonymous-auth argument is set to false", 1, "anonymous-auth"),
        (
            "3.2.2",
            "Ensure that the --authorization-mode argument is not set to AlwaysAllow",
            1,
            "authorization-mode",
        ),
        (
            "3.2.3",
            "Ensure that the --client-ca-file argument is set as appropriate",
            1,
            "client-ca-file",
        ),
        ("3.2.4", "Ensure that the --read-only-port argument is set to 0", 1, "read-only-port"),
        (
            "3.2.5",
            "Ensure that the --streaming-connection-idle-timeout argument is not set to 0",
            1,
            "streaming-idle-timeout",
        ),
        (
            "3.2.6",
            "Ensure that the --protect-kernel-defaults argument is set to true",
            1,
            "protect-kernel-defaults",
        ),
        (
            "3.2.7",
            "Ensure that the --make-iptables-util-chains argument is set to true",
            1,
            "iptables-util-chains",
        ),
        (
            "3.2.8",
            "Ensure that the --hostname-override argument is not set",
            1,
            "hostname-override",
        ),
        (
            "3.2.9",
            "Ensure that the --event-qps argument is set to 0 or a level which ensures appropriate event capture",
            2,
            "event-record-qps",
        ),
        (
            "3.2.10",
            "Ensure that the --rotate-certificates argument is not set to false",
            1,
            "rotate-certificates",
        ),
        (
            "3.2.11",
            "Ensure that the RotateKubeletServerCertificate argument is set to true",
            1,
            "server-cert-rotation",
        ),
    ],
    "cis-k8s-1.12": [
        ("4.2.1", "Ensure that the --anonymous-auth argument is set to false", 1, "anonymous-auth"),
        (
            "4.2.2",
            "Ensure that the --authorization-mode argument is not set to AlwaysAllow",
            1,
            "authorization-mode",
        ),
        (
            "4.2.3",
            "Ensure that the --client-ca-file argument is set as appropriate",
            1,
            "client-ca-file",
        ),
        (
            "4.2.4",
            "Verify that if defined, the --read-only-port argument is set to 0",
            1,
            "read-only-port",
        ),
        (
            "4.2.5",
            "Ensure that the --streaming-connection-idle-timeout argument is not set to 0",
            1,
            "streaming-idle-timeout",
        ),
        (
            "4.2.6",
            "Ensure that the --make-iptables-util-chains argument is set to true",
            1,
            "iptables-util-chains",
        ),
        (
            "4.2.7",
            "Ensure that the --hostname-override argument is not set",
            1,
            "hostname-override",
        ),
        (
            "4.2.8",
            "Ensure that the eventRecordQPS argument is set to a level which ensures appropriate event capture",
            2,
            "event-record-qps",
        ),
        (
            "4.2.9",
            "Ensure that the --tls-cert-file and --tls-private-key-file arguments are set as appropriate",
            1,
            "tls-cert-files",
        ),
        (
            "4.2.10",
            "Ensure that the --rotate-certificates argument is not set to false",
            1,
            "rotate-certificates",
        ),
        (
            "4.2.11",
            "Verify that the RotateKubeletServerCertificate argument is set to true",
            1,
            "server-cert-rotation",
        ),
        (
            "4.2.12",
            "Ensure that the Kubelet only makes use of Strong Cryptographic Ciphers",
            1,
            "strong-ciphers",
        ),
        ("4.2.13", "Ensure that a limit is set on pod PIDs", 1, "pod-pids-limit"),
        (
            "4.2.14",
            "Ensure that the --seccomp-default parameter is set to true",
            1,
            "seccomp-default",
        ),
    ],
}

ROWS = [(name, cid, kind) for name, table in EXPECTED.items() for cid, _, _, kind in table]
EVALUATED = [r for r in ROWS if r[2] not in MANUAL_KINDS]
MANUAL = [r for r in ROWS if r[2] in MANUAL_KINDS]
AKS_18_CHECKS = [c.check for c in cis_aks_18.BENCHMARK.controls]
REUSED = [r for r in ROWS if CHECKS[r[2]] in AKS_18_CHECKS]


def row_id(case: tuple[str, str, str]) -> str:
    """A readable test id: benchmark-id-recommendation."""
    return "-".join(case)


def verdict(config: Mapping[str, Any], name: str, control_id: str) -> Verdict:
    """The verdict of one control, taken from a full evaluation of the benchmark."""
    verdicts = {v.control_id: v for v in evaluate(config, get_benchmark(name), POLICY)}
    return verdicts[control_id]


def id_key(control_id: str) -> tuple[int, ...]:
    """3.2.10 after 3.2.9: ids compare numerically, part by part."""
    return tuple(int(part) for part in control_id.split("."))


class TestRegistry:
    """The selectable names: cis-aks-1.8 first, every sourced version, no invented v1.1."""

    def test_names_in_order_with_the_default_first(self):
        """cis-aks-1.8 (the default) first, then older AKS versions, then cis-k8s-1.12."""
        assert benchmark_names() == (
            "cis-aks-1.8",
            "cis-aks-1.7",
            "cis-aks-1.6",
            "cis-aks-1.5",
            "cis-aks-1.4",
            "cis-aks-1.3",
            "cis-aks-1.2",
            "cis-aks-1.0",
            "cis-k8s-1.12",
        )

    def test_every_registered_benchmark_has_an_expected_table(self):
        """No benchmark is registered without its transcribed table in this file."""
        assert set(benchmark_names()) == set(EXPECTED)

    def test_v11_has_no_source_and_is_not_offered(self):
        """cis-aks-1.1 is not selectable: asking for it is a SettingsError."""
        with pytest.raises(SettingsError, match=r"unknown benchmark 'cis-aks-1\.1'"):
            get_benchmark("cis-aks-1.1")

    @pytest.mark.parametrize("name", list(EXPECTED), ids=str)
    def test_name_and_title(self, name):
        """Each benchmark is found by its name and titled with its full CIS name and version."""
        bench = get_benchmark(name)
        assert bench.name == name
        family, version = name.rsplit("-", 1)
        product = {
            "cis-aks": "CIS Azure Kubernetes Service (AKS) Benchmark",
            "cis-k8s": "CIS Kubernetes Benchmark",
        }[family]
        assert bench.title == f"{product} v{version}.0"


class TestTableInvariants:
    """What every registered table keeps: unique ids in numeric order, titles, levels 1 or 2."""

    @pytest.mark.parametrize("name", benchmark_names(), ids=str)
    def test_ids_unique_and_in_benchmark_order(self, name):
        """Ids are unique and ascend numerically (3.2.9 before 3.2.10)."""
        ids = [c.id for c in get_benchmark(name).controls]
        assert len(set(ids)) == len(ids)
        assert ids == sorted(ids, key=id_key)
        assert ids[0].endswith(".1")

    @pytest.mark.parametrize("name", benchmark_names(), ids=str)
    def test_titles_are_clean_benchmark_wording(self, name):
        """Titles are non-empty, trimmed and carry no kube-bench (Manual)/(Automated) suffix."""
        for control in get_benchmark(name).controls:
            assert control.title
            assert control.title == control.title.strip()
            assert not control.title.endswith(("(Manual)", "(Automated)"))

    @pytest.mark.parametrize("name", benchmark_names(), ids=str)
    def test_levels_are_one_or_two(self, name):
        """Every level is a CIS profile level, 1 or 2."""
        assert {c.level for c in get_benchmark(name).controls} <= {1, 2}

    @pytest.mark.parametrize("name", benchmark_names(), ids=str)
    def test_every_control_names_what_it_expects_and_how_to_fix_it(self, name):
        """Each control has an expected value and a remediation for the row."""
        for control in get_benchmark(name).controls:
            assert control.expected
            assert control.remediation


class TestTablesMatchSources:
    """Each table is the source's, row for row: id, title, level and how it is evaluated."""

    @pytest.mark.parametrize("name", list(EXPECTED), ids=str)
    def test_ids_titles_levels(self, name):
        """Section 3.2 (4.2): ids, titles (character for character) and levels equal the source's."""
        table = [(c.id, c.title, c.level) for c in get_benchmark(name).node_controls]
        assert table == [(cid, title, level) for cid, title, level, _ in EXPECTED[name]]

    @pytest.mark.parametrize("case", ROWS, ids=row_id)
    def test_same_recommendation_same_check(self, case):
        """A recommendation is evaluated by the same check function in every version."""
        name, control_id, kind = case
        assert get_benchmark(name).control(control_id).check is CHECKS[kind]

    @pytest.mark.parametrize("case", REUSED, ids=row_id)
    def test_reused_recommendation_keeps_the_18_paths_and_remediation(self, case):
        """Where cis-aks-1.8 has the recommendation, paths, expected and remediation are its own."""
        name, control_id, kind = case
        control = get_benchmark(name).control(control_id)
        (same,) = [c for c in cis_aks_18.BENCHMARK.node_controls if c.check is CHECKS[kind]]
        assert (control.paths, control.expected, control.remediation) == (
            same.paths,
            same.expected,
            same.remediation,
        )


class TestCrossVersionMapping:
    """The same recommendation moves between ids across versions; counts follow the sources."""

    @pytest.mark.parametrize(
        ("name", "control_id"),
        [
            ("cis-aks-1.0", "3.2.9"),
            ("cis-aks-1.2", "3.2.9"),
            ("cis-aks-1.3", "3.2.8"),
            ("cis-aks-1.4", "3.2.8"),
            ("cis-aks-1.5", "3.2.7"),
            ("cis-aks-1.6", "3.2.7"),
            ("cis-aks-1.7", "3.2.7"),
            ("cis-aks-1.8", "3.2.7"),
            ("cis-k8s-1.12", "4.2.8"),
        ],
        ids=str,
    )
    def test_event_record_qps_id_and_level(self, name, control_id):
        """eventRecordQPS sits at this id, is the only control reading it, and is Level 2."""
        bench = get_benchmark(name)
        readers = [c for c in bench.node_controls if c.paths == ("eventRecordQPS",)]
        assert [c.id for c in readers] == [control_id]
        assert readers[0].check is cis_aks_18.check_event_record_qps
        assert readers[0].level == 2

    @pytest.mark.parametrize(
        ("name", "count"),
        [
            ("cis-aks-1.0", 11),
            ("cis-aks-1.2", 11),
            ("cis-aks-1.3", 10),
            ("cis-aks-1.4", 10),
            ("cis-aks-1.5", 9),
            ("cis-aks-1.6", 9),
            ("cis-aks-1.7", 9),
            ("cis-aks-1.8", 9),
            ("cis-k8s-1.12", 14),
        ],
        ids=str,
    )
    def test_control_count(self, name, count):
        """Section 3.2 (4.2 for CIS Kubernetes) has this many items in this version."""
        assert len(get_benchmark(name).node_controls) == count

    @pytest.mark.parametrize(
        ("name", "has_it"),
        [
            ("cis-aks-1.0", True),
            ("cis-aks-1.2", True),
            ("cis-aks-1.3", False),
            ("cis-aks-1.8", False),
            ("cis-k8s-1.12", False),
        ],
        ids=str,
    )
    def test_protect_kernel_defaults_only_where_the_source_has_it(self, name, has_it):
        """protectKernelDefaults is checked in v1.0/v1.2 only (and not in CIS Kubernetes v1.12)."""
        paths = {p for c in get_benchmark(name).controls for p in c.paths}
        assert ("protectKernelDefaults" in paths) is has_it


class TestEveryControlPassesAndFails:
    """Each evaluated control of each benchmark has a passing and a failing kubeletconfig."""

    @pytest.mark.parametrize("case", EVALUATED, ids=row_id)
    def test_pass(self, case):
        """A complying kubeletconfig makes this control PASS, with the value shown."""
        name, control_id, kind = case
        result = verdict(PASSING[kind], name, control_id)
        assert result.status is Status.PASS, result.reason
        assert result.actual

    @pytest.mark.parametrize("case", EVALUATED, ids=row_id)
    def test_fail(self, case):
        """A non-complying kubeletconfig makes this control FAIL, with a reason."""
        name, control_id, kind = case
        result = verdict(FAILING[kind], name, control_id)
        assert result.status is Status.FAIL, result.reason
        assert result.reason


class TestManualControlsAreAlwaysManual:
    """--hostname-override is not in configz: MANUAL with the reason, whatever configz holds."""

    CONFIGS: tuple[tuple[dict[str, Any], str], ...] = (
        ({}, "empty"),
        ({k: v for cfg in PASSING.values() for k, v in cfg.items()}, "all-passing"),
        ({k: v for cfg in FAILING.values() for k, v in cfg.items()}, "all-failing"),
        ({"hostnameOverride": "evil"}, "lookalike-field"),
    )

    @pytest.mark.parametrize("case", MANUAL, ids=row_id)
    @pytest.mark.parametrize("config", [c for c, _ in CONFIGS], ids=[label for _, label in CONFIGS])
    def test_always_manual_with_reason(self, case, config):
        """MANUAL, shown as not in configz, expecting 'not set', the reason saying why and how."""
        name, control_id, _ = case
        result = verdict(config, name, control_id)
        assert result.status is Status.MANUAL
        assert result.actual == "(not in configz)"
        assert result.expected == "not set"
        assert result.reason == versions.HOSTNAME_OVERRIDE_REASON
        assert result.reason.startswith(
            "--hostname-override is a command-line-only kubelet flag that configz does not expose"
        )
        assert "kubelet command line" in result.reason

    @pytest.mark.parametrize("case", MANUAL, ids=row_id)
    def test_level_filter_still_applies(self, case):
        """An unselected level makes the MANUAL control SKIPPED, like any other."""
        name, control_id, _ = case
        verdicts = evaluate({}, get_benchmark(name), Policy(levels=frozenset({2})))
        assert {v.control_id: v for v in verdicts}[control_id].status is Status.SKIPPED
