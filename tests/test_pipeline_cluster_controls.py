"""The pipeline's cluster-scoped controls: one row per (cluster, control), in one place per run.

ARM-evaluated controls are written by ``evaluate_arm`` for every discovered cluster (stopped ones
included), by the dispatcher of a fan-out and never by its queue jobs; controls that need the
cluster's API server (``k8s:`` reads) by the cluster scan once its session is open.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from shared.core.controls import Benchmark, Control, Outcome, Scope
from shared.core.controls.registry import get_benchmark
from shared.core.errors import ApiServerError, UnsupportedAuthError
from shared.core.facts import Facts
from shared.core.model import Cluster, Node, Policy, ScanScope, Status
from shared.pipeline import NO_ARM_REASON, Limits, Scanner, dispatch_scan, run_scan
from shared.ports import ClusterSession, DiscoveryFailure
from sim.fakes import (
    FakeCluster,
    FakeConnector,
    FakeDiscovery,
    FakeFactSource,
    ListSink,
    configz_body,
)

SUB = "00000000-0000-0000-0000-000000000001"
#: cis-aks-1.8 without the controls read from the Kubernetes API (tests/test_pipeline_section4.py
#: has those): what ARM and configz answer.
WHOLE = get_benchmark("cis-aks-1.8")
FULL = Benchmark(WHOLE.name, WHOLE.title, tuple(c for c in WHOLE.controls if not c.needs_session))
ARM_IDS = [c.id for c in FULL.arm_controls]
NODE_IDS = [c.id for c in FULL.node_controls]
BODY = configz_body({"authentication": {"x509": {"clientCAFile": "/ca.crt"}}})
PROPERTIES: dict[str, Any] = {
    "networkProfile": {"networkPolicy": "azure"},
    "aadProfile": {"managed": True, "enableAzureRBAC": True},
}
SHARED: dict[str, Any] = {
    "diagnosticSettings": [],
    "defenderPricing": {"properties": {"pricingTier": "Free"}},
    "registries": [],
    "roleAssignments": [],
    "roleDefinitions": {},
}


def cluster(name: str, power: str = "Running") -> Cluster:
    rid = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/{name}"
    return Cluster(
        resource_id=rid,
        subscription_id=SUB,
        resource_group="rg",
        name=name,
        power_state=power,
        aad_managed=True,
        arm={"id": rid, "name": name, "properties": PROPERTIES},
    )


def fakes(*clusters: Cluster, nodes: int = 2) -> dict[str, FakeCluster]:
    made = {}
    for c in clusters:
        ns = [Node(f"{c.name}-n{i}", "pool") for i in range(nodes)]
        made[c.resource_id] = FakeCluster(ns, {n.name: BODY for n in ns})
    return made


def scanner(
    clusters: list[Cluster],
    connected: Mapping[str, FakeCluster],
    *,
    facts: FakeFactSource | None = None,
    benchmark: Benchmark = FULL,
    failures: tuple[DiscoveryFailure, ...] = (),
    session_facts: Any = None,
) -> Scanner:
    return Scanner(
        FakeDiscovery(clusters, failures),
        FakeConnector(dict(connected)),
        benchmark,
        Policy(),
        Limits(concurrency=4, cluster_concurrency=2),
        facts=facts,
        session_facts=session_facts,
    )


def cluster_rows(sink: ListSink) -> Counter[tuple[str, str]]:
    return Counter((r.ClusterName, r.ControlId) for r in sink.rows if r.Scope == "cluster")


class TestArmControls:
    def test_one_row_per_cluster_and_control_stopped_ones_included(self):
        """Running and stopped clusters alike get every ARM control once; the run record counts them."""
        a, b = cluster("a"), cluster("b", power="Stopped")
        source = FakeFactSource(shared=SHARED)
        sink = ListSink()
        outcome = run_scan(
            scanner([a, b], fakes(a), facts=source), ScanScope(), [sink], trigger="test"
        )
        assert cluster_rows(sink) == Counter({(n, c): 1 for n in ("a", "b") for c in ARM_IDS})
        assert outcome.run.ClusterRows == len(ARM_IDS) * 2
        statuses = {(r.ClusterName, r.ControlId): r.Status for r in sink.rows}
        assert statuses[("b", "5.4.4")] == "PASS"  # the stopped cluster's ARM facts are judged
        assert statuses[("b", "3.2.1")] == "SKIPPED"

    def test_the_reads_are_collected_once_for_all_clusters(self):
        """One collect call per run, for the union of what the selected controls read."""
        a, b = cluster("a"), cluster("b")
        source = FakeFactSource(shared=SHARED)
        run_scan(scanner([a, b], fakes(a, b), facts=source), ScanScope(), [ListSink()], trigger="t")
        (reads,) = source.calls
        assert reads == frozenset(r for c in FULL.arm_controls for r in c.reads)

    def test_a_refused_read_errors_only_its_controls(self):
        """diagnosticSettings refused: 2.1.1 is ERROR with the reason, nothing else changes."""
        a = cluster("a")
        refused = FakeFactSource(
            shared=SHARED, refused={"diagnosticSettings": "HTTP 403: grant X/read"}
        )
        sink = ListSink()
        run_scan(scanner([a], fakes(a), facts=refused), ScanScope(), [sink], trigger="test")
        errors = {r.ControlId: r.Reason for r in sink.rows if r.Status == "ERROR"}
        assert errors == {"2.1.1": "HTTP 403: grant X/read"}

    def test_without_azure_the_arm_controls_are_skipped_saying_why(self):
        """No fact source (scan --kubeconfig): each ARM control is SKIPPED, the reason says why."""
        a = cluster("a")
        sink = ListSink()
        run_scan(scanner([a], fakes(a)), ScanScope(), [sink], trigger="test")
        arm = [r for r in sink.rows if r.Scope == "cluster"]
        assert len(arm) == len(ARM_IDS)
        assert {(r.Status, r.Reason) for r in arm} == {("SKIPPED", NO_ARM_REASON)}

    def test_kubelet_only_selection_reads_nothing(self):
        """With section 3.2 only, the fact source is never asked."""
        a = cluster("a")
        source = FakeFactSource(shared=SHARED)
        sink = ListSink()
        run_scan(
            scanner([a], fakes(a), facts=source, benchmark=FULL.select(("3.2",))),
            ScanScope(),
            [sink],
            trigger="test",
        )
        assert source.calls == []
        assert {r.Scope for r in sink.rows} == {"node"}

    def test_discovery_failure_of_a_named_cluster_errors_every_control_once(self):
        """A cluster ARM could not read: one ERROR row per control, node and cluster ones alike."""
        rid = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/gone"
        failure = DiscoveryFailure(SUB, "HTTP 404 ResourceNotFound", cluster_id=rid)
        sink = ListSink()
        run_scan(
            scanner([], {}, facts=FakeFactSource(shared=SHARED), failures=(failure,)),
            ScanScope(),
            [sink],
            trigger="test",
        )
        assert Counter(r.ControlId for r in sink.rows) == Counter(NODE_IDS + ARM_IDS)
        assert {r.Status for r in sink.rows} == {"ERROR"}

    def test_the_deadline_before_the_reads_is_an_error(self):
        """A run whose deadline has passed gets ERROR for the reads it could not start."""
        a = cluster("a")
        clock = iter([0.0] + [100.0] * 1000)
        sink = ListSink()
        limited = Scanner(
            FakeDiscovery([a]),
            FakeConnector(fakes(a)),
            FULL,
            Policy(),
            Limits(4, 2, deadline_seconds=1),
            facts=FakeFactSource(shared=SHARED),
        )
        run_scan(limited, ScanScope(), [sink], trigger="test", clock=lambda: next(clock))
        reasons = {r.Reason for r in sink.rows if r.Scope == "cluster" and r.Status == "ERROR"}
        assert reasons == {"not read: the run's deadline was reached first"}


class TestFanOut:
    def test_dispatcher_and_queue_jobs_write_each_row_exactly_once(self):
        """Dispatch writes the ARM rows (and stopped clusters'); queue jobs only their node rows."""
        a, b, c = cluster("a"), cluster("b"), cluster("c", power="Stopped")
        connected = fakes(a, b)
        sink = ListSink()
        queued: list[Cluster] = []
        source = FakeFactSource(shared=SHARED)
        dispatched = dispatch_scan(
            scanner([a, b, c], connected, facts=source),
            ScanScope(),
            [sink],
            queued.extend,
            trigger="timer",
            run_id="run-1",
        )
        assert [q.name for q in queued] == ["a", "b"]
        assert dispatched.run.ClusterRows == 3 * len(ARM_IDS)
        jobs = []
        for q in queued:
            job_source = FakeFactSource(shared=SHARED)
            jobs.append(
                run_scan(
                    scanner([q], connected, facts=job_source),
                    ScanScope(),
                    [sink],
                    trigger="queue",
                    run_id="run-1",
                    arm_rows=False,
                )
            )
            assert job_source.calls == []  # the tenant-wide reads are the dispatcher's, once
        pairs = Counter((r.ClusterName, r.NodeName, r.ControlId) for r in sink.rows)
        assert set(pairs.values()) == {1}
        assert cluster_rows(sink) == Counter({(n, i): 1 for n in "abc" for i in ARM_IDS})
        assert [j.run.ClusterRows for j in jobs] == [0, 0]
        assert {r.RunId for r in sink.rows} == {"run-1"}


def _pods(facts: Mapping[str, Any], _: Policy) -> Outcome:
    """PASS when the session reader returned a list of pods."""
    pods = facts["k8s:pods"]
    return Outcome(Status.PASS, f"{len(pods)} pods", "a list", "read through the session")


SESSION_CONTROL = Control(
    "9.9.9", "session control", 1, (), "a list", "fix", _pods, Scope.CLUSTER, ("k8s:pods",)
)
WITH_SESSION = Benchmark("test", "test", (*FULL.select(("3.2",)).controls, SESSION_CONTROL))


class TestSessionControls:
    def test_evaluated_once_per_cluster_with_the_session(self):
        """A k8s: control is judged from the open session, once per cluster, by the queue job too."""
        a = cluster("a")
        seen: list[frozenset[str]] = []

        def reader(session: ClusterSession, reads: frozenset[str]) -> Facts:
            seen.append(reads)
            return Facts({"k8s:pods": [1, 2, 3]})

        sink = ListSink()
        run_scan(
            scanner([a], fakes(a), benchmark=WITH_SESSION, session_facts=reader),
            ScanScope(),
            [sink],
            trigger="queue",
            arm_rows=False,
        )
        (row,) = [r for r in sink.rows if r.ControlId == "9.9.9"]
        assert (row.Status, row.Actual, row.NodeName, row.Scope) == (
            "PASS",
            "3 pods",
            "",
            "cluster",
        )
        assert seen == [frozenset({"k8s:pods"})]

    def test_an_unreachable_cluster_errors_its_session_controls(self):
        """No session: the session control gets the cluster's ERROR row, once."""
        a = cluster("a")
        broken = {
            a.resource_id: FakeCluster([], {}, connect_error=UnsupportedAuthError("no Entra"))
        }
        sink = ListSink()
        run_scan(scanner([a], broken, benchmark=WITH_SESSION), ScanScope(), [sink], trigger="t")
        session = [r for r in sink.rows if r.ControlId == "9.9.9"]
        assert [(r.Status, r.Reason) for r in session] == [("ERROR", "no Entra")]

    def test_a_failed_node_list_keeps_the_session_row(self):
        """The session control was judged before the node list failed: its row is not doubled."""
        a = cluster("a")
        listing = {
            a.resource_id: FakeCluster([], {}, list_error=ApiServerError("HTTP 403 listing nodes"))
        }
        sink = ListSink()
        run_scan(
            scanner(
                [a],
                listing,
                benchmark=WITH_SESSION,
                session_facts=lambda s, r: Facts({"k8s:pods": []}),
            ),
            ScanScope(),
            [sink],
            trigger="t",
        )
        statuses = Counter((r.ControlId, r.Status) for r in sink.rows)
        assert statuses[("9.9.9", "PASS")] == 1
        assert statuses[("9.9.9", "ERROR")] == 0
        assert statuses[("3.2.1", "ERROR")] == 1

    def test_without_a_reader_the_session_control_is_an_error(self):
        """No Kubernetes object reader wired: ERROR saying so, never a guess."""
        a = cluster("a")
        sink = ListSink()
        run_scan(scanner([a], fakes(a), benchmark=WITH_SESSION), ScanScope(), [sink], trigger="t")
        (row,) = [r for r in sink.rows if r.ControlId == "9.9.9"]
        assert row.Status == "ERROR"
        assert "no Kubernetes object reader" in row.Reason
