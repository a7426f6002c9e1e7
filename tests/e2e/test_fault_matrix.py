"""The fault matrix: every fault of tests/e2e/fault_matrix.py against the demo estate.

Each case runs one real scan (real SDKs, real HTTPS) with its faults switched on, then switches
them off and replays what was dead-lettered, and checks what the module docstring of
fault_matrix.py lists. The figures (faults injected, runs completed, rows lost, rows duplicated)
are counted as the cases run and printed at the end of the module; docs/reliability.md quotes
them with the command that printed them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from shared.adapters.output import CollectingSink
from shared.bootstrap import DeadLetters, build
from shared.core.controls.registry import get_benchmark
from shared.core.model import ScanScope
from shared.core.records import Finding
from shared.pipeline import ScanOutcome, run_scan
from shared.settings import Settings
from sim import (
    FINDINGS_STREAM,
    RUNS_STREAM,
    Action,
    Endpoint,
    Fault,
    SimulatedEstate,
    generated_estate,
)
from tests.e2e.expected import UNREACHABLE_NODE
from tests.e2e.fault_matrix import (
    BATCH,
    CASES,
    DEADLINE_SECONDS,
    FIVE_MB,
    NODE,
    PROD,
    FaultCase,
    Target,
)

Key = tuple[str, str, str, str]  # (subscription, cluster, node, control)
FIGURES: Counter[str] = Counter()


def scan(env: dict[str, str], **overrides: str) -> tuple[ScanOutcome, list[Finding]]:
    """One run as the CLI does it: replay dead letters, scan, deliver, within the deadline."""
    settings = Settings.from_env({**env, **overrides})
    app = build(settings, dead_letters=DeadLetters.DIRECTORY, deadline_seconds=DEADLINE_SECONDS)
    collected = CollectingSink()
    try:
        assert app.delivering is not None
        app.replay()
        outcome = run_scan(
            app.scanner,
            ScanScope(),
            [collected, *app.sinks],
            trigger="test",
            delivery=app.delivering.stats,
        )
    finally:
        app.close()
    return outcome, collected.rows


def replay(env: dict[str, str]) -> None:
    """Send what the dead-letter store holds (what the next run does first)."""
    app = build(Settings.from_env(env), dead_letters=DeadLetters.DIRECTORY)
    try:
        assert app.delivering is not None
        app.replay()
    finally:
        app.close()


def key(row: Finding) -> Key:
    return (row.SubscriptionId, row.ClusterName, row.NodeName, row.ControlId)


def covers(target: Target, row_key: Key) -> bool:
    """True when ``target`` (empty fields: anything) covers the row at ``row_key``."""
    return all(not want or want == got for want, got in zip(target, row_key[:3], strict=True))


@pytest.fixture(name="baseline", scope="module")
def _baseline(sim: SimulatedEstate, tmp_path_factory: pytest.TempPathFactory) -> dict[Key, str]:
    """Each row's verdict in a run without faults."""
    sim.faults.clear()
    env = {**sim.env, "DEADLETTER_DIR": str(tmp_path_factory.mktemp("baseline"))}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        _, rows = scan(env)
    verdicts = {key(r): r.Status for r in rows}
    assert len(verdicts) == len(rows), "the baseline run has a duplicated row"
    return verdicts


@pytest.fixture(name="figures", scope="module")
def _figures() -> Counter[str]:
    """The matrix's figures; tests/e2e/conftest.py prints them at the end of the session."""
    return FIGURES


def figures_line() -> str:
    """The figures as one line (empty when no case ran in this process)."""
    if not FIGURES["cases"]:
        return ""
    return (
        f"fault matrix figures: faults injected {FIGURES['faults']}, cases {FIGURES['cases']}, "
        f"runs completed {FIGURES['runs']}, rows checked {FIGURES['rows']}, "
        f"rows lost {FIGURES['lost']}, rows duplicated {FIGURES['duplicated']}"
    )


BENCH = get_benchmark("cis-aks-1.8")


def in_scope(case: FaultCase, control_id: str) -> bool:
    """True when the fault can reach rows of this control (its scope, or any for None); the
    API server path reaches the node controls and the cluster controls read through it."""
    control = BENCH.control(control_id)
    if case.scope == "apiserver":
        return control.scope.value == "node" or control.needs_session
    return case.scope is None or control.scope.value == case.scope


def expected_keys(case: FaultCase, baseline: dict[Key, str]) -> set[Key]:
    """The rows a run under ``case`` must produce: baseline rows outside the affected targets
    and the fault's scope, plus one row per in-scope control for each affected target (its own
    rows for ``controls`` cases)."""
    controls = sorted({k[3] for k in baseline if in_scope(case, k[3])})
    if case.controls is not None:
        return set(baseline)
    kept = {
        k
        for k in baseline
        if not (in_scope(case, k[3]) and any(covers(t, k) for t in case.affected))
    }
    return kept | {(*t, c) for t in case.affected for c in controls}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_fault(
    case: FaultCase,
    env: dict[str, str],
    sim: SimulatedEstate,
    baseline: dict[Key, str],
    figures: Counter[str],
) -> None:
    """Under the fault: deadline kept, one actionable ERROR row per affected (target, control),
    every other verdict unchanged, retries bounded, every row delivered exactly once."""
    ids = [sim.faults.add(fault) for fault in case.faults]
    figures["faults"] += len(ids)
    try:
        outcome, rows = scan(env, **case.settings)
    finally:
        caught = [sim.faults.caught(i) for i in ids]
        sim.faults.clear()
    figures["cases"] += 1
    figures["runs"] += 1
    if outcome.run.RowsDeadLettered:
        replay(env)
    run_id = outcome.run.RunId

    # nothing lost, nothing twice: in the run's rows and in what Log Analytics accepted
    got = Counter(key(r) for r in rows)
    want = expected_keys(case, baseline)
    accepted = Counter(r["RecordId"] for r in sim.accepted(FINDINGS_STREAM) if r["RunId"] == run_id)
    lost = len(want - set(got)) + len({r.RecordId for r in rows} - set(accepted))
    duplicated = sum(n - 1 for n in got.values()) + sum(n - 1 for n in accepted.values())
    figures["rows"] += len(rows)
    figures["lost"] += lost
    figures["duplicated"] += duplicated
    assert set(got) == want, (sorted(want - set(got))[:5], sorted(set(got) - want)[:5])
    assert (lost, duplicated) == (0, 0)
    assert [r["RunId"] for r in sim.accepted(RUNS_STREAM)].count(run_id) == 1

    # the deadline was not what ended the run
    assert not [r.Reason for r in rows if "deadline was reached" in r.Reason]

    # affected targets: ERROR with every fragment; every other row: its fault-free verdict
    for row in rows:
        k = key(row)
        affected = (
            any(covers(t, k) for t in case.affected)
            and in_scope(case, row.ControlId)
            and (case.controls is None or row.ControlId in case.controls)
        )
        if affected:
            assert row.Status == "ERROR", (k, row.Reason)
            for fragment in case.reason:
                assert fragment in row.Reason, (k, fragment, row.Reason)
        else:
            assert row.Status == baseline[k], (k, row.Status, row.Reason)
    affected_rows = [
        r
        for r in rows
        if any(covers(t, key(r)) for t in case.affected) and in_scope(case, r.ControlId)
    ]
    assert bool(affected_rows) == bool(case.affected)

    # rows that keep their verdicts but must say what happened
    for target, controls, fragment in case.noted:
        noted = [r for r in rows if covers(target, key(r)) and r.ControlId in controls]
        assert len(noted) == len(controls), (target, len(noted))
        for row in noted:
            assert fragment in row.Reason, (key(row), fragment, row.Reason)

    # retries bounded (and the fault did fire)
    for fault_id, hits in zip(ids, caught, strict=True):
        assert hits >= case.min_hits, (fault_id, hits)
        if case.max_hits is not None:
            assert hits <= case.max_hits, (fault_id, hits)


#: Runs one CLI scan in a fresh interpreter and prints its peak RSS (KiB on Linux).
PEAK_RSS = """
import resource, sys
from shared.entrypoints.cli import main
code = main(["scan", "--format", "json", "--output", sys.argv[1]])
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def scanner_peak_rss(env: dict[str, str], output: Path) -> int:
    """Bytes: the peak resident set of a scanner process (the simulator is not in it)."""
    done = subprocess.run(
        [sys.executable, "-c", PEAK_RSS, str(output)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode in (0, 1, 3), done.stderr[-2000:]
    return int(done.stdout.strip().splitlines()[-1]) * 1024


class TestBigBodies:
    def test_many_5mb_configz_bodies_keep_memory_bounded(self, tmp_path: Path) -> None:
        """40 nodes answer 5 MB each (200 MB in all): the scanner's peak RSS grows by about
        concurrency x CONFIGZ_MAX_BYTES, not by the bodies' size; every node is one ERROR
        naming the cap."""
        nodes = 40
        body = b'{"kubeletconfig":{"pad":"' + b"x" * FIVE_MB + b'"}}'
        with SimulatedEstate(generated_estate(2, nodes // 2)) as sim:
            env = {
                **sim.env,
                "DEADLETTER_DIR": str(tmp_path / "deadletter"),
                "SCAN_CONCURRENCY": "8",
                "SCAN_CLUSTER_CONCURRENCY": "4",
            }
            small = scanner_peak_rss(env, tmp_path / "small.json")
            sim.faults.add(Fault(Endpoint.CONFIGZ, Action.BODY, 200, body=body))
            big = scanner_peak_rss(env, tmp_path / "big.json")
        findings = json.loads((tmp_path / "big.json").read_text())["findings"]
        node_rows = [f for f in findings if f["NodeName"]]
        assert set(Counter(f["NodeName"] for f in node_rows).values()) == {9}
        assert len({f["NodeName"] for f in node_rows}) == nodes
        assert {f["Status"] for f in node_rows} == {"ERROR"}
        assert all("CONFIGZ_MAX_BYTES" in f["Reason"] for f in node_rows)
        # at most 8 reads in flight, each holding at most the 1 MiB cap plus one 64 KiB piece
        # (twice: the pieces and their join), plus allocator slack
        bound = 8 * 2 * (1024 * 1024 + 64 * 1024) + 16 * 1024 * 1024
        print("RSS", small, big, big - small, bound)
        assert big - small < bound < nodes * FIVE_MB / 5, (big, small, bound)


class TestDemoFaults:
    def test_demo_injects_the_faults_of_a_file(self, tmp_path: Path) -> None:
        """`demo --faults FILE`: a node's 403 and a cluster's wrong CA show as their ERROR rows."""
        faults = tmp_path / "faults.json"
        faults.write_text(
            json.dumps(
                [
                    {"endpoint": "configz", "status": 403, "cluster": PROD, "node": NODE},
                    {"endpoint": "credentials", "action": "wrong-ca", "cluster": BATCH},
                ]
            )
        )
        out = subprocess.run(
            [sys.executable, "-m", "shared", "demo", "--faults", str(faults), "--format", "json"],
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        findings = json.loads(out.stdout)["findings"]
        node = {f["Reason"] for f in findings if f["NodeName"] == NODE}
        batch = {
            (f["NodeName"], f["Status"])
            for f in findings
            if f["ClusterName"] == BATCH and f["Scope"] == "node"
        }
        (reason,) = node
        assert "nodes/proxy" in reason
        assert batch == {("", "ERROR")}
        others = [
            f for f in findings if f["ClusterName"] == PROD and f["NodeName"] not in (NODE, "")
        ]
        assert others
        assert {f["Status"] for f in others if f["NodeName"] != UNREACHABLE_NODE[1]} == {"PASS"}

    def test_a_malformed_faults_file_exits_2_naming_it(self, tmp_path: Path) -> None:
        """A faults file that is not a list of faults is a usage error, before anything starts."""
        faults = tmp_path / "faults.json"
        faults.write_text('[{"endpoint": "nowhere"}]')
        out = subprocess.run(
            [sys.executable, "-m", "shared", "demo", "--faults", str(faults)],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        assert out.returncode == 2
        assert f"--faults {faults}" in out.stderr
        assert "nowhere" in out.stderr
