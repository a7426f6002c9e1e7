"""The checks cis-aks-1.8 does not have, field by field: pass, fail, absent (what omitempty means)
and wrong types. protectKernelDefaults and --hostname-override come from CIS AKS v1.0-v1.4; TLS
files, strong ciphers, the pod PID limit and seccomp-default from CIS Kubernetes v1.12.0 4.2.

Each case goes through ``evaluate`` on the benchmark that carries the control.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from shared.core.controls import Outcome
from shared.core.controls.cis_aks_versions import HOSTNAME_OVERRIDE_REASON, check_hostname_override
from shared.core.controls.cis_k8s_112 import STRONG_CIPHER_SUITES
from shared.core.controls.registry import get_benchmark
from shared.core.evaluate import evaluate
from shared.core.model import Policy, Status, Verdict

POLICY = Policy()
ABSENT = "(absent)"
DEFAULT_APPLIED = "is absent from configz, so the kubelet default"


def verdict(config: Mapping[str, Any], name: str, control_id: str) -> Verdict:
    """The verdict of one control, taken from a full evaluation of the benchmark."""
    return {v.control_id: v for v in evaluate(config, get_benchmark(name), POLICY)}[control_id]


def assert_error(result: Verdict, path: str) -> None:
    """An ERROR row: nothing shown as observed, and a reason naming the field and the cause."""
    assert result.status is Status.ERROR
    assert result.actual == ""
    assert f"{path} has the wrong type" in result.reason
    assert "not evaluated" in result.reason


class TestProtectKernelDefaults:
    """protectKernelDefaults (CIS AKS v1.0/v1.2 3.2.6): true passes; omitempty, absent is false."""

    WHERE = (("cis-aks-1.0", "3.2.6"), ("cis-aks-1.2", "3.2.6"))
    IDS = ("aks-1.0", "aks-1.2")

    @pytest.mark.parametrize(("name", "control_id"), WHERE, ids=IDS)
    def test_true_passes(self, name, control_id):
        """An explicit true passes and is shown as observed."""
        result = verdict({"protectKernelDefaults": True}, name, control_id)
        assert (result.status, result.actual) == (Status.PASS, "true")
        assert result.reason == "protectKernelDefaults is true"

    @pytest.mark.parametrize(("name", "control_id"), WHERE, ids=IDS)
    def test_false_fails(self, name, control_id):
        """An explicit false fails and says what the kubelet does instead."""
        result = verdict({"protectKernelDefaults": False}, name, control_id)
        assert (result.status, result.actual) == (Status.FAIL, "false")
        assert "changes kernel tunables" in result.reason

    @pytest.mark.parametrize(("name", "control_id"), WHERE, ids=IDS)
    @pytest.mark.parametrize(
        "config", [{}, {"protectKernelDefaults": None}], ids=["absent", "null"]
    )
    def test_absent_means_false(self, name, control_id, config):
        """Absent (how configz writes false) fails, shown as (absent), the default named."""
        result = verdict(config, name, control_id)
        assert (result.status, result.actual) == (Status.FAIL, ABSENT)
        assert f"protectKernelDefaults {DEFAULT_APPLIED} false applies" in result.reason

    @pytest.mark.parametrize(
        "value", ["true", 1, [True], {}], ids=["string", "int", "list", "object"]
    )
    def test_wrong_type_is_error(self, value):
        """A non-boolean is ERROR, never coerced."""
        result = verdict({"protectKernelDefaults": value}, "cis-aks-1.0", "3.2.6")
        assert_error(result, "protectKernelDefaults")


class TestHostnameOverride:
    """--hostname-override: command-line only, so the check is a fixed MANUAL outcome."""

    @pytest.mark.parametrize(
        "config",
        [{}, {"hostnameOverride": "node-1"}, {"readOnlyPort": "not even valid"}],
        ids=["empty", "lookalike-field", "invalid-elsewhere"],
    )
    def test_check_is_manual_whatever_the_config(self, config):
        """The check ignores configz: MANUAL, '(not in configz)', 'not set', the reason."""
        assert check_hostname_override(config, POLICY) == Outcome(
            Status.MANUAL, "(not in configz)", "not set", HOSTNAME_OVERRIDE_REASON
        )

    def test_reason_says_why_and_how_to_check(self):
        """The reason names the flag, why configz cannot show it, and where to look instead."""
        assert "command-line-only kubelet flag that configz does not expose" in (
            HOSTNAME_OVERRIDE_REASON
        )
        assert "kubelet command line on a node" in HOSTNAME_OVERRIDE_REASON


class TestTlsCertFiles:
    """4.2.9 tlsCertFile + tlsPrivateKeyFile (omitempty strings), or serverTLSBootstrap true."""

    CERT = "/etc/kubernetes/certs/kubeletserver.crt"
    KEY = "/etc/kubernetes/certs/kubeletserver.key"

    def test_both_files_pass(self):
        """Both files set passes; the row shows all three fields."""
        result = verdict(
            {"tlsCertFile": self.CERT, "tlsPrivateKeyFile": self.KEY}, "cis-k8s-1.12", "4.2.9"
        )
        assert result.status is Status.PASS
        assert result.actual == (
            f'tlsCertFile="{self.CERT}"; tlsPrivateKeyFile="{self.KEY}"; '
            "serverTLSBootstrap=(absent)"
        )

    def test_server_tls_bootstrap_passes(self):
        """serverTLSBootstrap true passes without files: the certificate comes from the cluster."""
        result = verdict({"serverTLSBootstrap": True}, "cis-k8s-1.12", "4.2.9")
        assert result.status is Status.PASS

    @pytest.mark.parametrize(
        "config",
        [{}, {"tlsCertFile": "", "tlsPrivateKeyFile": ""}, {"serverTLSBootstrap": False}],
        ids=["absent", "empty-strings", "bootstrap-false"],
    )
    def test_no_certificate_fails_as_self_signed(self, config):
        """No files and no bootstrap fails: the kubelet self-signs its serving certificate."""
        result = verdict(config, "cis-k8s-1.12", "4.2.9")
        assert result.status is Status.FAIL
        assert "self-signed certificate" in result.reason

    @pytest.mark.parametrize(
        "config",
        [{"tlsCertFile": CERT}, {"tlsPrivateKeyFile": KEY}],
        ids=["cert-only", "key-only"],
    )
    def test_one_file_alone_fails(self, config):
        """A certificate without its key (or the reverse) fails and says both are needed."""
        result = verdict(config, "cis-k8s-1.12", "4.2.9")
        assert result.status is Status.FAIL
        assert "both the certificate and its private key" in result.reason

    @pytest.mark.parametrize(
        ("path", "value"),
        [("tlsCertFile", 1), ("tlsPrivateKeyFile", ["k"]), ("serverTLSBootstrap", "true")],
        ids=["cert-int", "key-list", "bootstrap-string"],
    )
    def test_wrong_type_is_error(self, path, value):
        """A wrong-typed field of the three is ERROR."""
        assert_error(verdict({path: value}, "cis-k8s-1.12", "4.2.9"), path)


class TestStrongCiphers:
    """4.2.12 tlsCipherSuites: set and only strong suites; absent means Go defaults (FAIL)."""

    PATH = "tlsCipherSuites"

    @pytest.mark.parametrize(
        "suites",
        [
            sorted(STRONG_CIPHER_SUITES),
            ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"],
            [
                "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
                "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
            ],
        ],
        ids=["full-list", "subset", "go-sha256-names"],
    )
    def test_strong_suites_pass(self, suites):
        """The benchmark's list, a subset, or Go's _SHA256 names of its ChaCha20 suites pass."""
        result = verdict({self.PATH: suites}, "cis-k8s-1.12", "4.2.12")
        assert result.status is Status.PASS, result.reason

    def test_list_is_the_benchmarks_six(self):
        """The strong list is the six ECDHE AEAD suites of the benchmark's audit step."""
        assert (
            frozenset(
                {
                    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
                    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
                    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
                    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
                    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
                }
            )
            == STRONG_CIPHER_SUITES
        )

    @pytest.mark.parametrize("config", [{}, {PATH: None}], ids=["absent", "null"])
    def test_absent_means_go_defaults_and_fails(self, config):
        """Absent fails: Go's defaults apply, and the reason says so and that kube-bench agrees."""
        result = verdict(config, "cis-k8s-1.12", "4.2.12")
        assert (result.status, result.actual) == (Status.FAIL, ABSENT)
        assert "Go's default cipher suites" in result.reason
        assert "kube-bench fails this too" in result.reason

    def test_empty_list_fails(self):
        """An explicit empty list restricts nothing: FAIL."""
        result = verdict({self.PATH: []}, "cis-k8s-1.12", "4.2.12")
        assert (result.status, result.actual) == (Status.FAIL, "[]")
        assert "empty list" in result.reason

    @pytest.mark.parametrize(
        "weak",
        [
            "TLS_RSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
            "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
        ],
        ids=["rsa-kex-gcm", "cbc", "3des"],
    )
    def test_any_weak_suite_fails_and_is_named(self, weak):
        """One suite outside the list fails, and the reason names only that suite."""
        strong = "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"
        result = verdict({self.PATH: [strong, weak]}, "cis-k8s-1.12", "4.2.12")
        assert result.status is Status.FAIL
        assert result.reason.endswith(f"not in the strong list: {weak}")

    @pytest.mark.parametrize(
        "value",
        [
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
            ["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", 5],
            {},
            True,
        ],
        ids=["string", "list-with-int", "object", "bool"],
    )
    def test_wrong_type_is_error(self, value):
        """Anything but a list of strings is ERROR."""
        assert_error(verdict({self.PATH: value}, "cis-k8s-1.12", "4.2.12"), self.PATH)


class TestPodPidsLimit:
    """4.2.13 podPidsLimit (*int64): above 0 is a limit; absent means the default -1 (no limit)."""

    PATH = "podPidsLimit"

    @pytest.mark.parametrize("limit", [1, 4096, 2**40], ids=str)
    def test_positive_limit_passes(self, limit):
        """Any positive limit passes and is shown as observed."""
        result = verdict({self.PATH: limit}, "cis-k8s-1.12", "4.2.13")
        assert (result.status, result.actual) == (Status.PASS, str(limit))

    @pytest.mark.parametrize("limit", [-1, 0], ids=["minus-one", "zero"])
    def test_no_limit_fails(self, limit):
        """-1 (the default) and 0 set no limit: FAIL."""
        result = verdict({self.PATH: limit}, "cis-k8s-1.12", "4.2.13")
        assert result.status is Status.FAIL
        assert "without a limit" in result.reason

    def test_absent_means_minus_one(self):
        """Absent fails, shown as (absent), with the default -1 named."""
        result = verdict({}, "cis-k8s-1.12", "4.2.13")
        assert (result.status, result.actual) == (Status.FAIL, ABSENT)
        assert f"{self.PATH} {DEFAULT_APPLIED} -1 applies" in result.reason

    @pytest.mark.parametrize("value", ["4096", True, 4096.0], ids=["string", "bool", "float"])
    def test_wrong_type_is_error(self, value):
        """A non-integer is ERROR."""
        assert_error(verdict({self.PATH: value}, "cis-k8s-1.12", "4.2.13"), self.PATH)


class TestSeccompDefault:
    """4.2.14 seccompDefault (*bool): true passes; absent means the default false."""

    PATH = "seccompDefault"

    def test_true_passes(self):
        """true passes and is shown as observed."""
        result = verdict({self.PATH: True}, "cis-k8s-1.12", "4.2.14")
        assert (result.status, result.actual) == (Status.PASS, "true")

    def test_false_fails(self):
        """false fails: workloads without a profile run Unconfined."""
        result = verdict({self.PATH: False}, "cis-k8s-1.12", "4.2.14")
        assert (result.status, result.actual) == (Status.FAIL, "false")
        assert "Unconfined" in result.reason

    def test_absent_means_false(self):
        """Absent fails, shown as (absent), with the default false named."""
        result = verdict({}, "cis-k8s-1.12", "4.2.14")
        assert (result.status, result.actual) == (Status.FAIL, ABSENT)
        assert f"{self.PATH} {DEFAULT_APPLIED} false applies" in result.reason

    @pytest.mark.parametrize("value", ["RuntimeDefault", 1], ids=["aks-style-string", "int"])
    def test_wrong_type_is_error(self, value):
        """A non-boolean (even AKS's custom-config spelling) is ERROR in configz."""
        assert_error(verdict({self.PATH: value}, "cis-k8s-1.12", "4.2.14"), self.PATH)
