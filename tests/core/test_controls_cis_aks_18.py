"""CIS AKS 1.8 section 3.2, control by control: pass, fail, absent and wrong-type configz values.

Each case goes through ``evaluate`` (the path production takes) and checks the row's Status, its
Actual (the value as read, ``(absent)`` when absent) and its Reason (which says when a kubelet
default was applied). The evaluation table these tests encode is the one in
``shared/core/controls/cis_aks_18.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from shared.core.controls.configz import parse_configz
from shared.core.controls.registry import benchmark_names, get_benchmark
from shared.core.errors import ConfigzParseError, SettingsError
from shared.core.evaluate import evaluate, uniform_verdicts
from shared.core.model import Policy, QpsMode, Status, Verdict

BENCH = get_benchmark("cis-aks-1.8")
DEFAULT_POLICY = Policy()
DEFAULT_APPLIED = "is absent from configz, so the kubelet default"
ABSENT = "(absent)"


def row(config: Mapping[str, Any], control_id: str, policy: Policy = DEFAULT_POLICY) -> Verdict:
    """The verdict of one control, taken from a full evaluation of the benchmark."""
    return {v.control_id: v for v in evaluate(config, BENCH, policy)}[control_id]


def at(path: str, value: Any) -> dict[str, Any]:
    """A kubeletconfig holding ``value`` at the dotted ``path``."""
    node: Any = value
    for part in reversed(path.split(".")):
        node = {part: node}
    result: dict[str, Any] = node
    return result


def assert_error(verdict: Verdict, path: str) -> None:
    """An ERROR row: nothing shown as observed, and a reason that names the field and the cause."""
    assert verdict.status is Status.ERROR
    assert verdict.actual == ""
    assert f"{path} has the wrong type" in verdict.reason
    assert "not evaluated" in verdict.reason


WRONG_BOOLS = [("string", "false"), ("int", 0), ("list", [False]), ("object", {"v": False})]
WRONG_BOOL_IDS = [w[0] for w in WRONG_BOOLS]
WRONG_STRINGS = [("bool", True), ("int", 1), ("list", ["Webhook"]), ("object", {})]
WRONG_STRING_IDS = [w[0] for w in WRONG_STRINGS]
WRONG_INTS = [
    ("string", "0"),
    ("bool", True),
    ("float", 0.0),
    ("list", [0]),
    ("object", {}),
]
WRONG_INT_IDS = [w[0] for w in WRONG_INTS]


class TestAnonymousAuth:
    """3.2.1 authentication.anonymous.enabled: false passes, true fails, absent means false."""

    PATH = "authentication.anonymous.enabled"

    def test_false_passes(self):
        """An explicit false passes and is shown as observed."""
        verdict = row(at(self.PATH, False), "3.2.1")
        assert (verdict.status, verdict.actual) == (Status.PASS, "false")
        assert verdict.reason == f"{self.PATH} is false"

    def test_true_fails(self):
        """true fails and the reason says anonymous requests are allowed."""
        verdict = row(at(self.PATH, True), "3.2.1")
        assert (verdict.status, verdict.actual) == (Status.FAIL, "true")
        assert "anonymous requests to the kubelet API are allowed" in verdict.reason

    @pytest.mark.parametrize(
        "config",
        [{}, {"authentication": {}}, {"authentication": {"anonymous": {}}}, at(PATH, None)],
        ids=["no-authentication", "empty-authentication", "empty-anonymous", "null"],
    )
    def test_absent_means_false(self, config):
        """Absent (or null) means the default false: PASS, shown as (absent), default named."""
        verdict = row(config, "3.2.1")
        assert (verdict.status, verdict.actual) == (Status.PASS, ABSENT)
        assert f"{self.PATH} {DEFAULT_APPLIED} false applies" in verdict.reason

    @pytest.mark.parametrize(("kind", "value"), WRONG_BOOLS, ids=WRONG_BOOL_IDS)
    def test_wrong_type_is_error(self, kind, value):
        """A non-boolean is ERROR, never coerced."""
        assert_error(row(at(self.PATH, value), "3.2.1"), self.PATH)


class TestAuthorizationMode:
    """3.2.2 authorization.mode: anything but AlwaysAllow passes; absent means Webhook."""

    PATH = "authorization.mode"

    @pytest.mark.parametrize(
        "mode", ["Webhook", "Node,Webhook", "alwaysallow"], ids=["webhook", "list", "lowercase"]
    )
    def test_not_always_allow_passes(self, mode):
        """Any mode other than the exact string AlwaysAllow passes and is shown quoted."""
        verdict = row(at(self.PATH, mode), "3.2.2")
        assert (verdict.status, verdict.actual) == (Status.PASS, f'"{mode}"')

    def test_always_allow_fails(self):
        """AlwaysAllow fails and the reason says every request is allowed."""
        verdict = row(at(self.PATH, "AlwaysAllow"), "3.2.2")
        assert (verdict.status, verdict.actual) == (Status.FAIL, '"AlwaysAllow"')
        assert "every authenticated request to the kubelet API is allowed" in verdict.reason

    @pytest.mark.parametrize(
        "config", [{}, {"authorization": {}}, at(PATH, None)], ids=["absent", "empty", "null"]
    )
    def test_absent_means_webhook(self, config):
        """Absent means Webhook: PASS, shown as (absent), default named."""
        verdict = row(config, "3.2.2")
        assert (verdict.status, verdict.actual) == (Status.PASS, ABSENT)
        assert f'{self.PATH} {DEFAULT_APPLIED} "Webhook" applies' in verdict.reason

    @pytest.mark.parametrize(("kind", "value"), WRONG_STRINGS, ids=WRONG_STRING_IDS)
    def test_wrong_type_is_error(self, kind, value):
        """A non-string mode is ERROR."""
        assert_error(row(at(self.PATH, value), "3.2.2"), self.PATH)


class TestClientCaFile:
    """3.2.3 authentication.x509.clientCAFile: non-empty passes, empty fails, absent means empty."""

    PATH = "authentication.x509.clientCAFile"

    def test_path_passes(self):
        """A CA bundle path passes and is shown as observed."""
        verdict = row(at(self.PATH, "/etc/kubernetes/certs/ca.crt"), "3.2.3")
        assert verdict.status is Status.PASS
        assert verdict.actual == '"/etc/kubernetes/certs/ca.crt"'

    def test_empty_fails(self):
        """An empty string fails: client certificates are not verified."""
        verdict = row(at(self.PATH, ""), "3.2.3")
        assert (verdict.status, verdict.actual) == (Status.FAIL, '""')
        assert "client certificates to the kubelet API are not verified" in verdict.reason

    @pytest.mark.parametrize(
        "config",
        [{}, {"authentication": {"x509": {}}}, at(PATH, None)],
        ids=["absent", "empty-x509", "null"],
    )
    def test_absent_means_empty_and_fails(self, config):
        """Absent means "" (omitempty): FAIL, shown as (absent), default named."""
        verdict = row(config, "3.2.3")
        assert (verdict.status, verdict.actual) == (Status.FAIL, ABSENT)
        assert f'{self.PATH} {DEFAULT_APPLIED} "" applies' in verdict.reason

    @pytest.mark.parametrize(("kind", "value"), WRONG_STRINGS, ids=WRONG_STRING_IDS)
    def test_wrong_type_is_error(self, kind, value):
        """A non-string path is ERROR."""
        assert_error(row(at(self.PATH, value), "3.2.3"), self.PATH)


class TestReadOnlyPort:
    """3.2.4 readOnlyPort: 0 passes, any other port fails, absent means 0."""

    def test_zero_passes(self):
        """An explicit 0 (disabled) passes."""
        verdict = row({"readOnlyPort": 0}, "3.2.4")
        assert (verdict.status, verdict.actual) == (Status.PASS, "0")

    @pytest.mark.parametrize("port", [10255, 1, 65535, -1], ids=["10255", "1", "65535", "neg"])
    def test_other_port_fails(self, port):
        """Any value but 0 fails and the reason names the open port."""
        verdict = row({"readOnlyPort": port}, "3.2.4")
        assert (verdict.status, verdict.actual) == (Status.FAIL, str(port))
        assert f"read-only port {port} is open" in verdict.reason

    @pytest.mark.parametrize("config", [{}, {"readOnlyPort": None}], ids=["absent", "null"])
    def test_absent_means_zero(self, config):
        """Absent means 0 (omitempty int32): PASS, shown as (absent), default named."""
        verdict = row(config, "3.2.4")
        assert (verdict.status, verdict.actual) == (Status.PASS, ABSENT)
        assert f"readOnlyPort {DEFAULT_APPLIED} 0 applies" in verdict.reason

    @pytest.mark.parametrize(("kind", "value"), WRONG_INTS, ids=WRONG_INT_IDS)
    def test_wrong_type_is_error(self, kind, value):
        """A string, bool or fraction where an integer belongs is ERROR."""
        assert_error(row({"readOnlyPort": value}, "3.2.4"), "readOnlyPort")


class TestStreamingIdleTimeout:
    """3.2.5 streamingConnectionIdleTimeout (Go duration): non-zero passes, zero fails."""

    PATH = "streamingConnectionIdleTimeout"

    @pytest.mark.parametrize(
        ("duration", "shown"),
        [
            ("4h0m0s", '"4h0m0s"'),
            ("5m", '"5m"'),
            ("1h30m", '"1h30m"'),
            ("300ms", '"300ms"'),
            ("5m0s", '"5m0s"'),
            (".5h", '".5h"'),
            ("300\u00b5s", '"300\\u00b5s"'),
            ("-5m", '"-5m"'),
        ],
        ids=["4h0m0s", "5m", "1h30m", "300ms", "5m0s", "fraction", "micro", "negative"],
    )
    def test_non_zero_passes(self, duration, shown):
        """Any duration that is not zero passes and is shown as read (JSON-escaped)."""
        verdict = row({self.PATH: duration}, "3.2.5")
        assert (verdict.status, verdict.actual) == (Status.PASS, shown)

    @pytest.mark.parametrize(
        "duration",
        ["0s", "0", "0h0m0s", "+0", "-0", "0.0s", "0ms"],
        ids=["0s", "bare-0", "0h0m0s", "plus-0", "minus-0", "0.0s", "0ms"],
    )
    def test_zero_fails(self, duration):
        """Every spelling of zero fails: idle streaming connections never time out."""
        verdict = row({self.PATH: duration}, "3.2.5")
        assert (verdict.status, verdict.actual) == (Status.FAIL, f'"{duration}"')
        assert "idle streaming connections never time out" in verdict.reason

    @pytest.mark.parametrize("config", [{}, {PATH: None}], ids=["absent", "null"])
    def test_absent_means_four_hours(self, config):
        """Absent means 4h0m0s: PASS, shown as (absent), default named."""
        verdict = row(config, "3.2.5")
        assert (verdict.status, verdict.actual) == (Status.PASS, ABSENT)
        assert f'{self.PATH} {DEFAULT_APPLIED} "4h0m0s" applies' in verdict.reason

    @pytest.mark.parametrize(
        "value",
        ["bogus", "", "5", "00", "1h-5m", " 5m", "1e3s", "5d", "+"],
        ids=["bogus", "empty", "no-unit", "00", "sign-inside", "space", "exponent", "days", "sign"],
    )
    def test_invalid_duration_string_is_error(self, value):
        """A string Go's time.ParseDuration rejects is ERROR, not zero and not a pass."""
        verdict = row({self.PATH: value}, "3.2.5")
        assert_error(verdict, self.PATH)
        assert "Go duration string" in verdict.reason

    @pytest.mark.parametrize(
        ("kind", "value"),
        [("int", 5), ("zero-int", 0), ("bool", False), ("list", ["4h"])],
        ids=["int", "zero-int", "bool", "list"],
    )
    def test_wrong_type_is_error(self, kind, value):
        """A number (Go would never send one) or any non-string is ERROR."""
        assert_error(row({self.PATH: value}, "3.2.5"), self.PATH)


class TestIptablesUtilChains:
    """3.2.6 makeIPTablesUtilChains: true passes, false fails, absent means true."""

    PATH = "makeIPTablesUtilChains"

    def test_true_passes(self):
        """An explicit true passes."""
        verdict = row({self.PATH: True}, "3.2.6")
        assert (verdict.status, verdict.actual) == (Status.PASS, "true")
        assert verdict.reason == f"{self.PATH} is true"

    def test_false_fails(self):
        """false fails and is shown as observed."""
        verdict = row({self.PATH: False}, "3.2.6")
        assert (verdict.status, verdict.actual) == (Status.FAIL, "false")
        assert verdict.reason.startswith(f"{self.PATH} is false")

    @pytest.mark.parametrize("config", [{}, {PATH: None}], ids=["absent", "null"])
    def test_absent_means_true(self, config):
        """Absent means true (*bool default): PASS, shown as (absent), default named."""
        verdict = row(config, "3.2.6")
        assert (verdict.status, verdict.actual) == (Status.PASS, ABSENT)
        assert f"{self.PATH} {DEFAULT_APPLIED} true applies" in verdict.reason

    @pytest.mark.parametrize(("kind", "value"), WRONG_BOOLS, ids=WRONG_BOOL_IDS)
    def test_wrong_type_is_error(self, kind, value):
        """A non-boolean is ERROR."""
        assert_error(row({self.PATH: value}, "3.2.6"), self.PATH)


class TestEventRecordQps:
    """3.2.7 eventRecordQPS (Level 2): 0 or >= the policy minimum passes; absent means 50."""

    PATH = "eventRecordQPS"

    @pytest.mark.parametrize(
        ("qps", "status"),
        [
            (-1, Status.FAIL),
            (0, Status.PASS),
            (1, Status.FAIL),
            (4, Status.FAIL),
            (5, Status.PASS),
            (50, Status.PASS),
        ],
        ids=["-1", "0", "1", "4", "5", "50"],
    )
    def test_boundaries_with_default_minimum_five(self, qps, status):
        """With min 5: 0 and 5+ pass; negatives and 1..4 fail; the value is shown as read."""
        verdict = row({self.PATH: qps}, "3.2.7")
        assert (verdict.status, verdict.actual) == (status, str(qps))
        assert verdict.expected == "0 or >= 5"

    def test_failure_reason_names_the_policy(self):
        """A throttling value fails with a reason that quotes the policy it misses."""
        verdict = row({self.PATH: 4}, "3.2.7")
        assert verdict.reason == "eventRecordQPS is 4: outside the policy (0 or >= 5)"

    @pytest.mark.parametrize(
        ("qps", "status"),
        [
            (0, Status.PASS),
            (5, Status.FAIL),
            (9, Status.FAIL),
            (10, Status.PASS),
            (-1, Status.FAIL),
        ],
        ids=["0", "5", "9", "10", "-1"],
    )
    def test_boundaries_with_minimum_ten(self, qps, status):
        """EVENT_RECORD_QPS_MIN=10 moves the boundary; 0 still passes."""
        verdict = row({self.PATH: qps}, "3.2.7", Policy(event_record_qps_min=10))
        assert verdict.status is status
        assert verdict.expected == "0 or >= 10"

    @pytest.mark.parametrize(
        ("config", "status"),
        [
            ({PATH: 0}, Status.PASS),
            ({PATH: 5}, Status.FAIL),
            ({PATH: 50}, Status.FAIL),
            ({PATH: -1}, Status.FAIL),
            ({}, Status.FAIL),
        ],
        ids=["0", "5", "50", "-1", "absent"],
    )
    def test_zero_only_mode_passes_only_zero(self, config, status):
        """kube-bench semantics: only an explicit 0 passes, so the default 50 fails too."""
        policy = Policy(event_record_qps_mode=QpsMode.ZERO_ONLY)
        verdict = row(config, "3.2.7", policy)
        assert verdict.status is status
        assert verdict.expected == "0 (EVENT_RECORD_QPS_MODE=zero-only)"

    @pytest.mark.parametrize("config", [{}, {PATH: None}], ids=["absent", "null"])
    def test_absent_means_fifty(self, config):
        """Absent means the kubelet default 50: PASS, shown as (absent), default named."""
        verdict = row(config, "3.2.7")
        assert (verdict.status, verdict.actual) == (Status.PASS, ABSENT)
        assert f"{self.PATH} {DEFAULT_APPLIED} 50 applies" in verdict.reason

    @pytest.mark.parametrize(
        "value",
        [True, False, 5.0, 0.0, "5", "0", [5], {"qps": 5}],
        ids=[
            "bool-true",
            "bool-false",
            "float-5.0",
            "float-0.0",
            "string-5",
            "string-0",
            "list",
            "object",
        ],
    )
    def test_wrong_type_is_error(self, value):
        """Booleans, floats (even 5.0) and strings are ERROR, not read as numbers."""
        assert_error(row({self.PATH: value}, "3.2.7"), self.PATH)


class TestRotateCertificates:
    """3.2.8 rotateCertificates: true passes, false fails, absent means false (omitempty)."""

    PATH = "rotateCertificates"

    def test_true_passes(self):
        """true passes."""
        verdict = row({self.PATH: True}, "3.2.8")
        assert (verdict.status, verdict.actual) == (Status.PASS, "true")

    def test_false_fails(self):
        """An explicit false fails: the client certificate is not rotated."""
        verdict = row({self.PATH: False}, "3.2.8")
        assert (verdict.status, verdict.actual) == (Status.FAIL, "false")
        assert "the kubelet client certificate is not rotated" in verdict.reason

    @pytest.mark.parametrize("config", [{}, {PATH: None}], ids=["absent", "null"])
    def test_absent_means_false_and_fails(self, config):
        """Absent means false (Go drops a false bool): FAIL, shown as (absent), default named."""
        verdict = row(config, "3.2.8")
        assert (verdict.status, verdict.actual) == (Status.FAIL, ABSENT)
        assert f"{self.PATH} {DEFAULT_APPLIED} false applies" in verdict.reason

    @pytest.mark.parametrize(("kind", "value"), WRONG_BOOLS, ids=WRONG_BOOL_IDS)
    def test_wrong_type_is_error(self, kind, value):
        """A non-boolean is ERROR."""
        assert_error(row({self.PATH: value}, "3.2.8"), self.PATH)


class TestServerCertRotation:
    """3.2.9 featureGates.RotateKubeletServerCertificate (absent true) and serverTLSBootstrap
    (absent false): PASS only when the gate is not false and serverTLSBootstrap is true."""

    GATE = "RotateKubeletServerCertificate"

    @pytest.mark.parametrize(
        ("config", "actual"),
        [
            (
                {"featureGates": {GATE: True}, "serverTLSBootstrap": True},
                "RotateKubeletServerCertificate=true; serverTLSBootstrap=true",
            ),
            (
                {"serverTLSBootstrap": True},
                "RotateKubeletServerCertificate=(absent); serverTLSBootstrap=true",
            ),
            (
                {"featureGates": {}, "serverTLSBootstrap": True},
                "RotateKubeletServerCertificate=(absent); serverTLSBootstrap=true",
            ),
            (
                {"featureGates": {"Other": False, GATE: None}, "serverTLSBootstrap": True},
                "RotateKubeletServerCertificate=(absent); serverTLSBootstrap=true",
            ),
        ],
        ids=["both-true", "gate-absent", "gates-empty", "gate-null"],
    )
    def test_gate_not_false_and_bootstrap_true_passes(self, config, actual):
        """The gate's default true counts; serverTLSBootstrap must be explicitly true."""
        verdict = row(config, "3.2.9")
        assert (verdict.status, verdict.actual) == (Status.PASS, actual)

    def test_absent_gate_reason_names_its_default(self):
        """When the gate is absent the reason says its default true applied."""
        verdict = row({"serverTLSBootstrap": True}, "3.2.9")
        assert (
            f"featureGates.{self.GATE} {DEFAULT_APPLIED} true applies; serverTLSBootstrap is true"
            == verdict.reason
        )

    def test_gate_false_fails(self):
        """An explicit false gate fails even with serverTLSBootstrap true."""
        verdict = row({"featureGates": {self.GATE: False}, "serverTLSBootstrap": True}, "3.2.9")
        assert verdict.status is Status.FAIL
        assert verdict.actual == "RotateKubeletServerCertificate=false; serverTLSBootstrap=true"
        assert "feature gate is disabled" in verdict.reason

    @pytest.mark.parametrize(
        ("config", "actual"),
        [
            (
                {"featureGates": {GATE: True}, "serverTLSBootstrap": False},
                "RotateKubeletServerCertificate=true; serverTLSBootstrap=false",
            ),
            (
                {"featureGates": {GATE: True}},
                "RotateKubeletServerCertificate=true; serverTLSBootstrap=(absent)",
            ),
        ],
        ids=["bootstrap-false", "bootstrap-absent"],
    )
    def test_bootstrap_not_true_fails(self, config, actual):
        """serverTLSBootstrap false or absent fails: no serving certificate from the cluster."""
        verdict = row(config, "3.2.9")
        assert (verdict.status, verdict.actual) == (Status.FAIL, actual)
        assert "does not request its serving certificate" in verdict.reason

    def test_both_absent_fails_and_names_both_defaults(self):
        """Nothing set: gate default true, serverTLSBootstrap default false, so FAIL."""
        verdict = row({}, "3.2.9")
        assert verdict.status is Status.FAIL
        assert (
            verdict.actual == "RotateKubeletServerCertificate=(absent); serverTLSBootstrap=(absent)"
        )
        assert f"featureGates.{self.GATE} {DEFAULT_APPLIED} true applies" in verdict.reason
        assert f"serverTLSBootstrap {DEFAULT_APPLIED} false applies" in verdict.reason

    @pytest.mark.parametrize(
        ("config", "path"),
        [
            ({"featureGates": [GATE], "serverTLSBootstrap": True}, "featureGates"),
            ({"featureGates": "RotateKubeletServerCertificate=true"}, "featureGates"),
            ({"featureGates": {GATE: "true"}, "serverTLSBootstrap": True}, f"featureGates.{GATE}"),
            ({"featureGates": {GATE: 1}, "serverTLSBootstrap": True}, f"featureGates.{GATE}"),
            ({"featureGates": {GATE: True}, "serverTLSBootstrap": "true"}, "serverTLSBootstrap"),
            ({"serverTLSBootstrap": [True]}, "serverTLSBootstrap"),
        ],
        ids=[
            "gates-list",
            "gates-flag-string",
            "gate-string",
            "gate-int",
            "bootstrap-string",
            "bootstrap-list",
        ],
    )
    def test_wrong_type_is_error(self, config, path):
        """featureGates as a list or string, or a non-boolean gate or bootstrap, is ERROR."""
        assert_error(row(config, "3.2.9"), path)


class TestIntermediatePaths:
    """A wrong-typed parent object errors only the controls that read through it."""

    @pytest.mark.parametrize(
        "authentication",
        [[], "anonymous", 1, True],
        ids=["list", "string", "int", "bool"],
    )
    def test_authentication_not_an_object_errors_3_2_1_and_3_2_3_only(self, authentication):
        """3.2.1 and 3.2.3 are ERROR naming 'authentication'; the other seven are still judged."""
        verdicts = {
            v.control_id: v
            for v in evaluate({"authentication": authentication}, BENCH, DEFAULT_POLICY)
        }
        for control_id in ("3.2.1", "3.2.3"):
            verdict = verdicts[control_id]
            assert verdict.status is Status.ERROR
            assert verdict.reason.startswith(
                "authentication has the wrong type: expected an object"
            )
        others = {cid: v.status for cid, v in verdicts.items() if cid not in ("3.2.1", "3.2.3")}
        assert others == {
            "3.2.2": Status.PASS,
            "3.2.4": Status.PASS,
            "3.2.5": Status.PASS,
            "3.2.6": Status.PASS,
            "3.2.7": Status.PASS,
            "3.2.8": Status.FAIL,
            "3.2.9": Status.FAIL,
        }

    @pytest.mark.parametrize(
        ("config", "errored", "parent"),
        [
            ({"authentication": {"anonymous": []}}, "3.2.1", "authentication.anonymous"),
            ({"authentication": {"x509": "ca.crt"}}, "3.2.3", "authentication.x509"),
            ({"authorization": ["Webhook"]}, "3.2.2", "authorization"),
        ],
        ids=["anonymous-list", "x509-string", "authorization-list"],
    )
    def test_wrong_typed_inner_object_errors_its_control_only(self, config, errored, parent):
        """A wrong-typed inner object errors exactly the one control that reads through it."""
        verdicts = evaluate(config, BENCH, DEFAULT_POLICY)
        errors = [v for v in verdicts if v.status is Status.ERROR]
        assert [v.control_id for v in errors] == [errored]
        assert errors[0].reason.startswith(f"{parent} has the wrong type")

    @pytest.mark.parametrize(
        ("config", "control_id", "status"),
        [
            ({"authentication": None}, "3.2.1", Status.PASS),
            ({"authentication": None}, "3.2.3", Status.FAIL),
            ({"authorization": None}, "3.2.2", Status.PASS),
            ({"featureGates": None, "serverTLSBootstrap": True}, "3.2.9", Status.PASS),
        ],
        ids=[
            "authentication-null-anonymous",
            "authentication-null-clientca",
            "authorization-null",
            "featureGates-null",
        ],
    )
    def test_null_parent_object_is_absent(self, config, control_id, status):
        """A JSON null parent decodes to Go's zero value, so its fields are absent and defaults apply."""
        (verdict,) = [
            v for v in evaluate(config, BENCH, DEFAULT_POLICY) if v.control_id == control_id
        ]
        assert verdict.status is status
        assert "absent" in verdict.reason


# Titles as kube-bench cfg/aks-1.8/node.yaml gives them (without its "(Automated)" suffix).
KUBE_BENCH_TITLES = {
    "3.2.1": "Ensure that the --anonymous-auth argument is set to false",
    "3.2.2": "Ensure that the --authorization-mode argument is not set to AlwaysAllow",
    "3.2.3": "Ensure that the --client-ca-file argument is set as appropriate",
    "3.2.4": "Ensure that the --read-only-port is secured",
    "3.2.5": "Ensure that the --streaming-connection-idle-timeout argument is not set to 0",
    "3.2.6": "Ensure that the --make-iptables-util-chains argument is set to true",
    "3.2.7": (
        "Ensure that the --eventRecordQPS argument is set to 0 or a level which ensures "
        "appropriate event capture"
    ),
    "3.2.8": "Ensure that the --rotate-certificates argument is not set to false",
    "3.2.9": "Ensure that the RotateKubeletServerCertificate argument is set to true",
}


class TestBenchmarkTable:
    """The cis-aks-1.8 table: ids, order, levels and titles as CIS AKS v1.8.0 words them."""

    def test_name_is_registered(self):
        """cis-aks-1.8 is one of the selectable benchmark names."""
        assert "cis-aks-1.8" in benchmark_names()
        assert BENCH.name == "cis-aks-1.8"

    def test_unknown_benchmark_is_a_settings_error(self):
        """An unknown name is a SettingsError that lists the choices."""
        with pytest.raises(SettingsError, match=r"unknown benchmark 'cis-aks-9'.*cis-aks-1\.8"):
            get_benchmark("cis-aks-9")

    def test_ids_are_unique_and_in_benchmark_order(self):
        """Nine node-scoped controls, 3.2.1 to 3.2.9, in order, no duplicates."""
        ids = [c.id for c in BENCH.node_controls]
        assert ids == [f"3.2.{n}" for n in range(1, 10)]
        assert len(set(ids)) == len(ids)

    def test_evaluate_keeps_benchmark_order(self):
        """evaluate returns one verdict per node-scoped control, in the table's order."""
        assert [v.control_id for v in evaluate({}, BENCH, DEFAULT_POLICY)] == [
            c.id for c in BENCH.node_controls
        ]

    @pytest.mark.parametrize("control_id", [f"3.2.{n}" for n in range(1, 10)], ids=str)
    def test_level(self, control_id):
        """3.2.7 (eventRecordQPS) is Level 2; every other 3.2 control is Level 1."""
        assert BENCH.control(control_id).level == (2 if control_id == "3.2.7" else 1)

    @pytest.mark.parametrize(
        ("control_id", "title"), sorted(KUBE_BENCH_TITLES.items()), ids=sorted(KUBE_BENCH_TITLES)
    )
    def test_title_matches_benchmark_wording(self, control_id, title):
        """Each title is the benchmark's wording, character for character."""
        assert BENCH.control(control_id).title == title

    @pytest.mark.parametrize(
        ("control_id", "paths"),
        [
            ("3.2.1", ("authentication.anonymous.enabled",)),
            ("3.2.2", ("authorization.mode",)),
            ("3.2.3", ("authentication.x509.clientCAFile",)),
            ("3.2.4", ("readOnlyPort",)),
            ("3.2.5", ("streamingConnectionIdleTimeout",)),
            ("3.2.6", ("makeIPTablesUtilChains",)),
            ("3.2.7", ("eventRecordQPS",)),
            ("3.2.8", ("rotateCertificates",)),
            ("3.2.9", ("featureGates.RotateKubeletServerCertificate", "serverTLSBootstrap")),
        ],
        ids=[f"3.2.{n}" for n in range(1, 10)],
    )
    def test_configz_paths(self, control_id, paths):
        """Each control declares the configz fields it reads."""
        assert BENCH.control(control_id).paths == paths

    def test_every_control_has_expected_and_remediation(self):
        """No control is missing its expected text or its remediation."""
        for control in BENCH.controls:
            assert control.expected, control.id
            assert control.remediation, control.id

    def test_server_cert_remediation_names_the_aks_tag(self):
        """3.2.9's remediation names the node pool tag AKS documents for disabling KSCR."""
        assert "aks-disable-kubelet-serving-certificate-rotation=true" in (
            BENCH.control("3.2.9").remediation
        )

    def test_unknown_control_is_key_error(self):
        """Asking the table for an id it does not hold raises KeyError."""
        with pytest.raises(KeyError):
            BENCH.control("3.2.10")


class TestParseConfigz:
    """parse_configz returns the kubeletconfig object or raises ConfigzParseError naming why."""

    def test_returns_kubeletconfig_object(self):
        """A configz body yields its kubeletconfig mapping."""
        body = b'{"kubeletconfig": {"readOnlyPort": 0, "kind": "KubeletConfiguration"}}'
        assert parse_configz(body) == {"readOnlyPort": 0, "kind": "KubeletConfiguration"}

    def test_empty_kubeletconfig_is_valid(self):
        """An empty kubeletconfig object parses; every field is then absent."""
        assert parse_configz(b'{"kubeletconfig": {}}') == {}

    @pytest.mark.parametrize(
        ("body", "message"),
        [
            (b"", r"configz body is not valid JSON \(Expecting value"),
            (b"<html>502 Bad Gateway</html>", r"configz body is not valid JSON"),
            (b'{"kubeletconfig": {', r"configz body is not valid JSON"),
            (b"\xc3\x28", r"not valid JSON \('utf-8' codec can't decode"),
            (b'{"kubeletconfig": {"a": "\xff"}}', r"not valid JSON \('utf-8' codec can't decode"),
            (b"[" * 100_000, r"not valid JSON \(maximum recursion depth"),
            (b"[]", r"configz body is a JSON list, expected an object"),
            (b'"kubeletconfig"', r"configz body is a JSON str, expected an object"),
            (b"42", r"configz body is a JSON int, expected an object"),
            (b"null", r"configz body is a JSON NoneType, expected an object"),
            (b"{}", r"no 'kubeletconfig' object \(top-level keys: none\)"),
            (
                b'{"kind": "Status", "code": 503}',
                r"no 'kubeletconfig' object \(top-level keys: code, kind\)",
            ),
            (b'{"kubeletconfig": null}', r"'kubeletconfig' is null, expected an object"),
            (b'{"kubeletconfig": []}', r"'kubeletconfig' is a JSON list, expected an object"),
            (b'{"kubeletconfig": "x"}', r"'kubeletconfig' is a JSON str, expected an object"),
            (b'{"kubeletconfig": 1}', r"'kubeletconfig' is a JSON int, expected an object"),
        ],
        ids=[
            "empty",
            "html",
            "truncated",
            "invalid-utf8",
            "invalid-utf8-in-string",
            "deep-nesting",
            "list",
            "string",
            "number",
            "null",
            "no-keys",
            "status-object",
            "kubeletconfig-null",
            "kubeletconfig-list",
            "kubeletconfig-string",
            "kubeletconfig-number",
        ],
    )
    def test_bad_body_raises_naming_the_problem(self, body, message):
        """Each malformed body raises ConfigzParseError whose message names the problem."""
        with pytest.raises(ConfigzParseError, match=message):
            parse_configz(body)

    def test_huge_integer_literal_is_a_parse_error(self):
        """An integer literal over Python's 4300-digit limit is a ConfigzParseError too."""
        body = b'{"kubeletconfig": {"readOnlyPort": 1' + b"0" * 5000 + b"}}"
        with pytest.raises(ConfigzParseError):
            parse_configz(body)


class TestEvaluateNeverRaises:
    """Hand-picked hostile kubeletconfig objects give nine rows and no exception."""

    @staticmethod
    def deep(levels: int) -> dict[str, Any]:
        node: dict[str, Any] = {}
        for _ in range(levels):
            node = {"featureGates": node, "authentication": node}
        return node

    @pytest.mark.parametrize(
        "config",
        [
            {"authentication": {"anonymous": {"enabled": {"enabled": {"enabled": False}}}}},
            {"featureGates": {"RotateKubeletServerCertificate": {"a": [{"b": None}]}}},
            {"readOnlyPort": 10**100, "eventRecordQPS": -(10**100)},
            {"readOnlyPort": float("nan"), "eventRecordQPS": float("inf")},
            {"streamingConnectionIdleTimeout": "9" * 10_000 + "h"},
            {"streamingConnectionIdleTimeout": "\x00"},
            {"authorization": {"mode": "\udcff"}},
            {"": {"": ""}, "kubeletconfig": {"readOnlyPort": 10255}},
        ],
        ids=[
            "bool-nested-in-objects",
            "gate-object",
            "huge-ints",
            "nan-inf",
            "huge-duration",
            "nul-duration",
            "lone-surrogate",
            "empty-keys",
        ],
    )
    def test_hostile_objects(self, config):
        """Each control gives exactly one row from the closed set; none raises."""
        verdicts = evaluate(config, BENCH, DEFAULT_POLICY)
        assert [v.control_id for v in verdicts] == [c.id for c in BENCH.node_controls]
        assert {v.status for v in verdicts} <= {Status.PASS, Status.FAIL, Status.ERROR}

    def test_deeply_nested_parents(self):
        """A 2000-level nest of objects under the paths the checks walk does not raise."""
        verdicts = evaluate(self.deep(2000), BENCH, DEFAULT_POLICY)
        assert len(verdicts) == len(BENCH.node_controls)

    def test_error_rows_show_no_observed_value(self):
        """An ERROR row never carries an observed value."""
        config = {"authentication": [], "readOnlyPort": "0", "featureGates": []}
        for verdict in evaluate(config, BENCH, DEFAULT_POLICY):
            if verdict.status is Status.ERROR:
                assert verdict.actual == ""


class TestUniformVerdicts:
    """uniform_verdicts gives one unevaluated row per control and refuses to invent a verdict."""

    @pytest.mark.parametrize("status", [Status.ERROR, Status.SKIPPED], ids=["error", "skipped"])
    def test_error_and_skipped_rows(self, status):
        """One row per control, same status and reason, nothing observed, expected kept."""
        rows = uniform_verdicts(BENCH.node_controls, status, "node is NotReady")
        assert [r.control_id for r in rows] == [c.id for c in BENCH.node_controls]
        assert all(r.status is status and r.reason == "node is NotReady" for r in rows)
        assert all(r.actual == "" for r in rows)
        assert [r.expected for r in rows] == [c.expected for c in BENCH.node_controls]

    @pytest.mark.parametrize("status", [Status.PASS, Status.FAIL], ids=["pass", "fail"])
    def test_pass_and_fail_are_refused(self, status):
        """PASS or FAIL without evaluating raises ValueError."""
        with pytest.raises(ValueError, match="only ERROR or SKIPPED"):
            uniform_verdicts(BENCH.node_controls, status, "no")
