"""Private clusters end to end: report mode, and configz read through the AKS run command API.

Real SDKs over real HTTPS against tests/private_estate.py: the private clusters' API servers
refuse connections, so every private cluster takes the fallback its PRIVATE_CLUSTER_MODE names.
The fallbacks concern the API server path, so these scans select the kubelet section
(CIS_SECTIONS=3.2); TestArmControls checks that a private cluster's ARM controls need none of it.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from shared.adapters.output import CollectingSink
from shared.bootstrap import DeadLetters, build
from shared.core.controls.registry import get_benchmark
from shared.core.model import ScanScope
from shared.pipeline import ScanOutcome, run_scan
from shared.settings import Settings
from sim import Endpoint, SimulatedEstate
from tests.private_estate import (
    BIG,
    BIG_NODES,
    BIG_UNREACHABLE,
    LOCKED,
    NOROLE,
    SMALL,
    TWIN,
    private_estate,
)

CONTROLS = len(get_benchmark("cis-aks-1.8").node_controls)
PRIVATE = (SMALL, BIG, LOCKED, NOROLE)


@dataclass
class Scan:
    outcome: ScanOutcome
    rows: list[Any]
    run_commands: dict[str, int]
    log_text: str

    def of(self, cluster: str) -> list[Any]:
        return [r for r in self.rows if r.ClusterName == cluster]


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatedEstate]:
    with SimulatedEstate(private_estate()).start() as running:
        yield running


def _scan(sim: SimulatedEstate, mode: str, sections: str = "3.2") -> Scan:
    handler = _Capture()
    root = logging.getLogger()
    root.addHandler(handler)
    previous = root.level
    root.setLevel(logging.DEBUG)
    before = {c: sim.counters.count(Endpoint.RUN_COMMAND, cluster=c) for c in PRIVATE}
    try:
        with pytest.MonkeyPatch.context() as patch:
            for name, value in sim.env.items():
                patch.setenv(name, value)
            settings = Settings.from_env(
                {**os.environ, "PRIVATE_CLUSTER_MODE": mode, "CIS_SECTIONS": sections}
            )
            app = build(settings, dead_letters=DeadLetters.DIRECTORY, deadline_seconds=600)
            sink = CollectingSink()
            try:
                outcome = run_scan(app.scanner, ScanScope(), [sink], trigger="test")
            finally:
                app.close()
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
    issued = {c: sim.counters.count(Endpoint.RUN_COMMAND, cluster=c) - before[c] for c in PRIVATE}
    return Scan(outcome, sink.rows, issued, "\n".join(handler.lines))


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture(scope="module")
def reported(sim: SimulatedEstate) -> Scan:
    return _scan(sim, "report")


@pytest.fixture(scope="module")
def through_run_command(sim: SimulatedEstate) -> Scan:
    return _scan(sim, "run-command")


def by_instance(rows: list[Any]) -> dict[tuple[str, str, str], tuple[str, str, str, str]]:
    """(pool, VMSS instance, control) -> (status, actual, expected, reason)."""
    return {
        (r.NodePool, r.NodeName.rsplit("-vmss", 1)[1], r.ControlId): (
            r.Status,
            r.Actual,
            r.Expected,
            r.Reason,
        )
        for r in rows
    }


class TestArmControls:
    def test_a_private_clusters_arm_controls_are_judged_without_its_api_server(self, sim):
        """All sections in report mode: the private cluster's node rows, and its rows read from
        its API server (section 4), are ERROR; its ARM rows are verdicts (it is private: 5.4.1
        and 5.4.2 PASS), one per control."""
        scan = _scan(sim, "report", sections="all")
        rows = scan.of(SMALL)
        arm_ids = {c.id for c in get_benchmark("cis-aks-1.8").arm_controls}
        arm = {r.ControlId: r.Status for r in rows if r.ControlId in arm_ids}
        assert len(arm) == len(arm_ids)
        assert (arm["5.4.1"], arm["5.4.2"], arm["5.4.3"]) == ("PASS", "PASS", "PASS")
        assert {r.Status for r in rows if r.ControlId not in arm_ids} == {"ERROR"}


class TestReportMode:
    @pytest.mark.parametrize("cluster", PRIVATE)
    def test_private_cluster_is_one_error_row_per_control(self, reported, cluster):
        """Each private cluster: ERROR rows with no node, one per control, naming the fix."""
        rows = reported.of(cluster)
        assert len(rows) == CONTROLS
        assert {(r.Status, r.NodeName) for r in rows} == {("ERROR", "")}
        (reason,) = {r.Reason for r in rows}
        assert "the cluster is private" in reason
        assert ".privatelink.westeurope.azmk8s.io" in reason
        assert "PRIVATE_CLUSTER_MODE=run-command" in reason
        assert "VNet integration" in reason

    def test_no_run_command_is_issued(self, reported):
        """Report mode never calls runCommand."""
        assert reported.run_commands == dict.fromkeys(PRIVATE, 0)

    def test_public_cluster_is_scanned_as_before(self, reported):
        """The reachable twin is read through its API server: 3 nodes, no ERROR."""
        rows = reported.of(TWIN)
        assert len(rows) == 3 * CONTROLS
        assert "ERROR" not in {r.Status for r in rows}


class TestRunCommandMode:
    def test_verdicts_equal_the_public_path(self, through_run_command):
        """Same pools, same configz: every row equals the public twin's, field for field."""
        private = by_instance(through_run_command.of(SMALL))
        public = by_instance(through_run_command.of(TWIN))
        assert len(private) == 3 * CONTROLS
        assert private == public
        assert {"PASS", "FAIL"} <= {status for status, *_ in private.values()}

    def test_one_command_for_a_small_cluster(self, through_run_command):
        """Three nodes' configz fit one command's output."""
        assert through_run_command.run_commands[SMALL] == 1

    def test_truncated_output_costs_a_second_command_and_loses_nothing(self, through_run_command):
        """200 nodes overflow 512 kB: one follow-up; every (node, control) has exactly one row."""
        rows = through_run_command.of(BIG)
        pairs = Counter((r.NodeName, r.ControlId) for r in rows)
        assert len(pairs) == BIG_NODES * CONTROLS
        assert set(pairs.values()) == {1}
        # 200 configz bodies of ~3.5 kB need ~700 kB: the first command is cut at 512 KiB and
        # the rest (~60 nodes) fit one follow-up sized to its 384 KiB budget.
        assert through_run_command.run_commands[BIG] == 2

    def test_unreachable_node_names_kubectls_error(self, through_run_command):
        """The node the API server cannot dial: ERROR rows quoting kubectl; the rest evaluated."""
        rows = through_run_command.of(BIG)
        errors = {r.NodeName for r in rows if r.Status == "ERROR"}
        assert len(errors) == 1
        assert errors.pop().endswith(f"vmss{BIG_UNREACHABLE:06d}")
        reasons = {r.Reason for r in rows if r.Status == "ERROR"}
        assert len(reasons) == 1
        assert "error trying to reach service" in reasons.pop()
        assert {r.Status for r in rows if r.Status != "ERROR"} == {"PASS"}

    def test_disabled_run_command_is_an_error_naming_it(self, through_run_command):
        """disableRunCommand: cluster ERROR rows naming the property and the fix, no call made."""
        rows = through_run_command.of(LOCKED)
        assert len(rows) == CONTROLS
        (reason,) = {r.Reason for r in rows}
        assert "disableRunCommand=true" in reason
        assert "--enable-run-command" in reason
        assert through_run_command.run_commands[LOCKED] == 0

    def test_missing_role_is_an_error_naming_the_actions(self, through_run_command):
        """403 on runCommand: cluster ERROR rows naming runcommand/action."""
        rows = through_run_command.of(NOROLE)
        assert len(rows) == CONTROLS
        (reason,) = {r.Reason for r in rows}
        assert "HTTP 403 AuthorizationFailed" in reason
        assert "runcommand/action" in reason

    def test_run_record_counts_the_private_nodes(self, through_run_command):
        """The run record counts the run command clusters' nodes like any other."""
        run = through_run_command.outcome.run
        assert run.Nodes == 3 + 3 + BIG_NODES
        assert run.ClustersFailed == 2

    def test_no_token_in_rows_or_logs(self, through_run_command, sim):
        """The cluster token travels in the request body only: not in a row, not in a log line."""
        token = sim.token("6dae42f8-4368-4678-94ff-3960e28e3630")
        header = token.split(".", 1)[0]
        assert through_run_command.log_text
        assert header not in through_run_command.log_text
        assert not [r for r in through_run_command.rows if header in r.Reason]
