"""Published kubelet configurations (kind, kubeadm, OpenShift, AKS, EKS, GKE) give the verdicts
written by hand in tests/data/expected_verdicts.json; provenance is in tests/data/README.md."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.core.controls.configz import parse_configz
from shared.core.controls.registry import get_benchmark
from shared.core.evaluate import evaluate
from shared.core.model import Policy, QpsMode, Status

DATA = Path(__file__).resolve().parent.parent / "data"
CONFIGZ = DATA / "configz"
EXPECTED: dict[str, dict[str, str]] = json.loads(
    (DATA / "expected_verdicts.json").read_text(encoding="utf-8")
)
BENCH = get_benchmark("cis-aks-1.8")
FIXTURES = sorted(EXPECTED)
# Read by hand from the files: the bodies whose eventRecordQPS is an explicit 0.
QPS_ZERO = {
    "aks-agentbaker-server-tls-bootstrap-disabled.json",
    "aks-agentbaker-server-tls-bootstrap-enabled.json",
    "aks-node-flags-transcribed.json",
    "openshift-cac-streaming-timeout-zero.json",
}


class TestFixtureSet:
    def test_every_fixture_has_expected_verdicts(self):
        """Each configz file has a row in expected_verdicts.json and each row has a file."""
        assert sorted(p.name for p in CONFIGZ.glob("*.json")) == FIXTURES

    def test_expected_verdicts_cover_every_control(self):
        """Each fixture's expectations name exactly the benchmark's controls, as PASS or FAIL."""
        ids = [c.id for c in BENCH.node_controls]
        for name, verdicts in EXPECTED.items():
            assert sorted(verdicts) == sorted(ids), name
            assert set(verdicts.values()) <= {"PASS", "FAIL"}, name

    def test_fixtures_are_documented(self):
        """tests/data/README.md names every fixture file."""
        readme = (DATA / "README.md").read_text(encoding="utf-8")
        for name in FIXTURES:
            assert f"`{name}`" in readme, name

    def test_set_holds_both_outcomes_for_several_controls(self):
        """The real-world set is not all-PASS: at least three controls fail somewhere."""
        failing = {cid for v in EXPECTED.values() for cid, s in v.items() if s == "FAIL"}
        assert len(failing) >= 3


class TestRealWorldConfigz:
    @pytest.mark.parametrize("name", FIXTURES, ids=FIXTURES)
    def test_statuses_match_hand_written_expectations(self, name):
        """Parsing and evaluating the published body gives the hand-written status per control."""
        config = parse_configz((CONFIGZ / name).read_bytes())
        verdicts = evaluate(config, BENCH, Policy())
        got = {v.control_id: v.status.value for v in verdicts}
        assert got == EXPECTED[name]

    @pytest.mark.parametrize("name", FIXTURES, ids=FIXTURES)
    def test_every_row_carries_evidence_and_a_reason(self, name):
        """Every verdict has a non-empty Actual and Reason; no real-world body yields ERROR."""
        config = parse_configz((CONFIGZ / name).read_bytes())
        for verdict in evaluate(config, BENCH, Policy()):
            assert verdict.status is not Status.ERROR, verdict
            assert verdict.actual, verdict
            assert verdict.reason, verdict

    @pytest.mark.parametrize("name", FIXTURES, ids=FIXTURES)
    def test_zero_only_mode_passes_3_2_7_only_at_zero(self, name):
        """With kube-bench's zero-only reading, 3.2.7 passes exactly where eventRecordQPS is 0."""
        config = parse_configz((CONFIGZ / name).read_bytes())
        policy = Policy(event_record_qps_mode=QpsMode.ZERO_ONLY)
        row = {v.control_id: v for v in evaluate(config, BENCH, policy)}["3.2.7"]
        assert row.status is (Status.PASS if name in QPS_ZERO else Status.FAIL)
