"""The pipeline against in-memory ports: one row per (node, control), nothing lost."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from shared.core.controls.registry import get_benchmark
from shared.core.errors import ApiServerError, ConfigzFetchError, UnsupportedAuthError
from shared.core.model import Cluster, Node, Policy, ScanScope
from shared.pipeline import Limits, Scanner, run_scan
from shared.ports import DiscoveryFailure
from sim.fakes import FakeCluster, FakeConnector, FakeDiscovery, ListSink, configz_body

SUB = "00000000-0000-0000-0000-000000000001"
BENCH = get_benchmark("cis-aks-1.8").select(("3.2",))  # the kubelet section: node rows only
CONTROLS = [c.id for c in BENCH.controls]
GOOD = configz_body(
    {
        "authentication": {
            "anonymous": {"enabled": False},
            "x509": {"clientCAFile": "/etc/kubernetes/certs/ca.crt"},
        },
        "authorization": {"mode": "Webhook"},
        "eventRecordQPS": 0,
        "rotateCertificates": True,
        "serverTLSBootstrap": True,
    }
)


def cluster(name: str, power: str = "Running") -> Cluster:
    rid = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/{name}"
    return Cluster(
        resource_id=rid,
        subscription_id=SUB,
        resource_group="rg",
        name=name,
        power_state=power,
        aad_managed=True,
    )


def nodes(prefix: str, count: int, pool: str = "system") -> list[Node]:
    return [
        Node(name=f"{prefix}-{i}", node_pool=pool, kubelet_version="v1.31.2") for i in range(count)
    ]


def scan(
    clusters,
    fakes,
    *,
    failures=(),
    limits=None,
    sink=None,
    clock=time.monotonic,
):
    sink = sink or ListSink()
    limits = limits or Limits(concurrency=4, cluster_concurrency=2)
    scanner = Scanner(
        FakeDiscovery(clusters, failures), FakeConnector(fakes), BENCH, Policy(), limits
    )
    outcome = run_scan(scanner, ScanScope(), [sink], trigger="test", run_id="run-1", clock=clock)
    return outcome, sink


class TestRowsPerTarget:
    def test_every_node_and_control_exactly_once(self):
        """A healthy cluster yields one row per (node, control), all PASS for a compliant config."""
        c = cluster("a")
        ns = nodes("n", 5)
        outcome, sink = scan([c], {c.resource_id: FakeCluster(ns, {n.name: GOOD for n in ns})})
        pairs = sorted((r.NodeName, r.ControlId) for r in sink.rows)
        assert pairs == sorted((n.name, cid) for n in ns for cid in CONTROLS)
        assert {r.Status for r in sink.rows} == {"PASS"}
        assert (outcome.run.Nodes, outcome.run.Passed, outcome.run.NodesFailed) == (5, 45, 0)

    def test_unreadable_node_gets_error_rows_with_cause(self):
        """A node whose configz read fails gets one ERROR row per control naming the cause."""
        c = cluster("a")
        ns = nodes("n", 3)
        bodies: dict[str, bytes | Exception] = {n.name: GOOD for n in ns}
        bodies["n-1"] = ConfigzFetchError(
            "HTTP 503 while reading configz: error trying to reach service"
        )
        outcome, sink = scan([c], {c.resource_id: FakeCluster(ns, bodies)})
        bad = [r for r in sink.rows if r.NodeName == "n-1"]
        assert [r.ControlId for r in bad] == CONTROLS
        assert {r.Status for r in bad} == {"ERROR"}
        assert all("error trying to reach service" in r.Reason for r in bad)
        assert (outcome.run.NodesFailed, outcome.run.Errors, outcome.run.Passed) == (1, 9, 18)

    def test_unparseable_body_is_error_not_pass(self):
        """A body that is not a configz document is ERROR for every control."""
        c = cluster("a")
        ns = nodes("n", 1)
        outcome, sink = scan(
            [c], {c.resource_id: FakeCluster(ns, {"n-0": b"<html>gateway</html>"})}
        )
        assert {r.Status for r in sink.rows} == {"ERROR"}
        assert "not valid JSON" in sink.rows[0].Reason
        assert outcome.run.Passed == 0

    def test_unreachable_cluster_gets_cluster_rows_with_empty_node(self):
        """A cluster whose node list fails gets one ERROR row per control with no node name."""
        c = cluster("a")
        fake = FakeCluster([], {}, list_error=ApiServerError("API server unreachable"))
        outcome, sink = scan([c], {c.resource_id: fake})
        assert [(r.NodeName, r.ControlId, r.Status) for r in sink.rows] == [
            ("", cid, "ERROR") for cid in CONTROLS
        ]
        assert outcome.run.ClustersFailed == 1

    def test_unsupported_auth_reason_is_kept(self):
        """The connector's reason (no Entra ID) reaches every row of that cluster."""
        c = cluster("a")
        fake = FakeCluster(
            [],
            {},
            connect_error=UnsupportedAuthError("the cluster has no Microsoft Entra ID integration"),
        )
        _, sink = scan([c], {c.resource_id: fake})
        assert all("Entra ID" in r.Reason for r in sink.rows)

    def test_stopped_cluster_is_skipped_and_not_contacted(self):
        """A stopped cluster gets SKIPPED rows and the connector is never called."""
        c = cluster("s", power="Stopped")
        outcome, sink = scan([c], {})
        assert {r.Status for r in sink.rows} == {"SKIPPED"}
        assert len(sink.rows) == len(CONTROLS)
        assert outcome.run.Skipped == 9

    def test_cluster_without_nodes_is_skipped_visibly(self):
        """A cluster with no nodes is not silent: SKIPPED rows say so."""
        c = cluster("e")
        _, sink = scan([c], {c.resource_id: FakeCluster([], {})})
        assert {(r.Status, r.Reason) for r in sink.rows} == {
            ("SKIPPED", "the cluster has no nodes")
        }

    def test_discovery_failure_becomes_subscription_rows(self):
        """A subscription that could not be listed gets ERROR rows with its id and no cluster."""
        failure = DiscoveryFailure(
            SUB, "HTTP 403 AuthorizationFailed while listing managed clusters"
        )
        outcome, sink = scan([], {}, failures=[failure])
        assert {(r.SubscriptionId, r.ClusterName, r.Status) for r in sink.rows} == {
            (SUB, "", "ERROR")
        }
        assert "AuthorizationFailed" in sink.rows[0].Reason
        assert outcome.run.Subscriptions == 1


class TestConcurrency:
    def test_in_flight_reads_per_cluster_are_bounded(self):
        """No more than cluster_concurrency configz reads run at once against one cluster."""
        c = cluster("a")
        ns = nodes("n", 20)
        state = {"now": 0, "peak": 0}
        lock = threading.Lock()

        class Slow(FakeCluster):
            pass

        body = GOOD

        async def slow_body():
            with lock:
                state["now"] += 1
                state["peak"] = max(state["peak"], state["now"])
            await asyncio.sleep(0.01)
            with lock:
                state["now"] -= 1
            return body

        class CountingConnector(FakeConnector):
            def connect(self, cl):
                session = super().connect(cl)
                original = session.read_configz

                async def read(name):
                    await original(name)
                    return await slow_body()

                session.read_configz = read  # type: ignore[method-assign]
                return session

        scanner = Scanner(
            FakeDiscovery([c]),
            CountingConnector({c.resource_id: Slow(ns, {n.name: GOOD for n in ns})}),
            BENCH,
            Policy(),
            Limits(concurrency=16, cluster_concurrency=3),
        )
        sink = ListSink()
        run_scan(scanner, ScanScope(), [sink], trigger="test")
        assert state["peak"] == 3
        assert len(sink.rows) == 20 * 9

    def test_overall_in_flight_reads_are_bounded_across_clusters(self):
        """Many clusters at once never exceed concurrency overall, nor the window per cluster."""
        clusters = [cluster(f"c{i}") for i in range(6)]
        state = {"now": 0, "peak": 0}
        per_cluster: dict[str, list[int]] = {c.name: [0, 0] for c in clusters}
        lock = threading.Lock()

        class CountingConnector(FakeConnector):
            def connect(self, cl):
                session = super().connect(cl)
                original = session.read_configz
                counts = per_cluster[cl.name]

                async def read(name):
                    with lock:
                        state["now"] += 1
                        state["peak"] = max(state["peak"], state["now"])
                        counts[0] += 1
                        counts[1] = max(counts[1], counts[0])
                    await asyncio.sleep(0.02)
                    with lock:
                        state["now"] -= 1
                        counts[0] -= 1
                    return await original(name)

                session.read_configz = read  # type: ignore[method-assign]
                return session

        fakes = {}
        for c in clusters:
            ns = nodes(c.name, 12)
            fakes[c.resource_id] = FakeCluster(ns, {n.name: GOOD for n in ns})
        scanner = Scanner(
            FakeDiscovery(clusters),
            CountingConnector(fakes),
            BENCH,
            Policy(),
            Limits(concurrency=5, cluster_concurrency=3),
        )
        sink = ListSink()
        outcome = run_scan(scanner, ScanScope(), [sink], trigger="test")
        assert 3 < state["peak"] <= 5
        assert max(peak for _, peak in per_cluster.values()) <= 3
        pairs = sorted((r.ClusterName, r.NodeName, r.ControlId) for r in sink.rows)
        assert pairs == sorted(
            (c.name, f"{c.name}-{i}", cid) for c in clusters for i in range(12) for cid in CONTROLS
        )
        assert outcome.run.Nodes == 72

    def test_a_read_that_raises_is_that_nodes_error(self):
        """A read whose future raises ConfigzFetchError gives that node ERROR rows, others PASS."""
        c = cluster("a")
        ns = nodes("n", 3)
        bodies: dict[str, bytes | Exception] = {n.name: GOOD for n in ns}
        bodies["n-1"] = ConfigzFetchError("HTTP 500 while reading configz after 3 retries: x")
        outcome, sink = scan([c], {c.resource_id: FakeCluster(ns, bodies)})
        errors = {r.NodeName for r in sink.rows if r.Status == "ERROR"}
        assert errors == {"n-1"}
        assert all("after 3 retries" in r.Reason for r in sink.rows if r.NodeName == "n-1")
        assert outcome.run.NodesFailed == 1

    def test_sessions_are_closed(self):
        """Every session the connector opened is closed, also after a failure."""
        a, b = cluster("a"), cluster("b")
        connector = FakeConnector(
            {
                a.resource_id: FakeCluster(nodes("a", 2), {"a-0": GOOD, "a-1": GOOD}),
                b.resource_id: FakeCluster([], {}, list_error=ApiServerError("boom")),
            }
        )
        scanner = Scanner(FakeDiscovery([a, b]), connector, BENCH, Policy())
        run_scan(scanner, ScanScope(), [ListSink()], trigger="test")
        assert [s.closed for s in connector.sessions] == [True, True]


class TestDeadline:
    def test_clusters_after_the_deadline_are_error_not_silent(self):
        """When the deadline has passed, unscanned clusters get ERROR rows that say so."""
        c = cluster("late")
        ticks = iter([0.0, 100.0, 100.0, 100.0, 100.0])
        outcome, sink = scan(
            [c],
            {c.resource_id: FakeCluster(nodes("n", 2), {})},
            limits=Limits(4, 2, deadline_seconds=10),
            clock=lambda: next(ticks, 100.0),
        )
        assert {r.Status for r in sink.rows} == {"ERROR"}
        assert "deadline" in sink.rows[0].Reason
        assert outcome.run.ClustersFailed == 1


class TestSinks:
    def test_sink_failure_is_counted_not_swallowed(self):
        """Rows a sink refused are reported in the outcome, and other sinks still get them."""
        c = cluster("a")
        ns = nodes("n", 2)
        failing, keeping = ListSink(fail_batches=1), ListSink()
        scanner = Scanner(
            FakeDiscovery([c]),
            FakeConnector({c.resource_id: FakeCluster(ns, {n.name: GOOD for n in ns})}),
            BENCH,
            Policy(),
        )
        outcome = run_scan(scanner, ScanScope(), [failing, keeping], trigger="test")
        assert outcome.undelivered_rows == 18
        assert outcome.sink_errors == ("ListSink told to fail",)
        assert len(keeping.rows) == 18

    @pytest.mark.parametrize("count", [0, 1, 7], ids=["none", "one", "several"])
    def test_run_record_counts_match_rows(self, count):
        """The run record's status counts equal the rows emitted."""
        c = cluster("a")
        ns = nodes("n", count)
        outcome, sink = scan([c], {c.resource_id: FakeCluster(ns, {n.name: GOOD for n in ns})})
        run = outcome.run
        by_status = {
            s: sum(1 for r in sink.rows if r.Status == s)
            for s in ("PASS", "FAIL", "ERROR", "SKIPPED")
        }
        assert (run.Passed, run.Failed, run.Errors, run.Skipped) == tuple(by_status.values())
        assert sink.runs == [run]


class TestDeadlineReturnsWithoutWaiting:
    def test_reads_in_flight_at_the_deadline_become_error_exactly_once(self):
        """At the deadline the run returns: reads still hanging get ERROR rows, each pair once."""
        c = cluster("a")
        ns = nodes("n", 4)
        finished: list[str] = []

        class Hanging(FakeConnector):
            def connect(self, cl):
                session = super().connect(cl)
                original = session.read_configz

                async def read(name):
                    if name in ("n-2", "n-3"):
                        await asyncio.sleep(10)  # hangs far past the deadline
                        finished.append(name)
                    return await original(name)

                session.read_configz = read  # type: ignore[method-assign]
                return session

        scanner = Scanner(
            FakeDiscovery([c]),
            Hanging({c.resource_id: FakeCluster(ns, {n.name: GOOD for n in ns})}),
            BENCH,
            Policy(),
            Limits(concurrency=8, cluster_concurrency=4, deadline_seconds=2.0),
        )
        sink = ListSink()
        began = time.monotonic()
        outcome = run_scan(scanner, ScanScope(), [sink], trigger="test")
        assert time.monotonic() - began < 6  # the run did not wait for the hanging reads (10 s)
        assert finished == []
        pairs = sorted((r.NodeName, r.ControlId) for r in sink.rows)
        assert pairs == sorted((n.name, cid) for n in ns for cid in CONTROLS)
        late = {r.NodeName for r in sink.rows if r.Status == "ERROR"}
        assert late == {"n-2", "n-3"}
        assert all("deadline" in r.Reason for r in sink.rows if r.Status == "ERROR")
        assert outcome.run.NodesFailed == 2


class TestFakeSession:
    def test_read_gives_the_body_or_the_error(self):
        """The fake's read follows the port: the body, or ConfigzFetchError."""
        c = cluster("a")
        ns = nodes("n", 2)
        session = FakeConnector({c.resource_id: FakeCluster(ns, {"n-0": GOOD})}).connect(c)

        async def both() -> None:
            assert await session.read_configz("n-0") == GOOD
            with pytest.raises(ConfigzFetchError, match="not found"):
                await session.read_configz("n-1")
            await session.close()

        asyncio.run(both())
        assert session.reads == ["n-0", "n-1"]

    def test_read_after_close_is_refused(self):
        """A closed fake session refuses new reads, as a closed connection pool would."""
        c = cluster("a")
        session = FakeConnector({c.resource_id: FakeCluster(nodes("n", 1), {})}).connect(c)
        asyncio.run(session.close())
        with pytest.raises(RuntimeError, match="after close"):
            asyncio.run(session.read_configz("n-0"))


class TestBugs:
    def test_an_unexpected_error_in_a_read_is_raised_not_waited_on(self):
        """A session raising something that is not a NodeError (a bug) ends the run with that
        error, promptly, even with clusters still queued behind the failed reader."""
        clusters = [cluster(f"c{i}") for i in range(12)]

        class Buggy(FakeConnector):
            def connect(self, cl):
                session = super().connect(cl)

                async def read(name):
                    raise RuntimeError(f"bug reading {name}")

                session.read_configz = read  # type: ignore[method-assign]
                return session

        fakes = {}
        for c in clusters:
            ns = nodes(c.name, 2)
            fakes[c.resource_id] = FakeCluster(ns, {n.name: GOOD for n in ns})
        scanner = Scanner(FakeDiscovery(clusters), Buggy(fakes), BENCH, Policy(), Limits(2, 1))
        began = time.monotonic()
        with pytest.raises(RuntimeError, match="bug reading"):
            run_scan(scanner, ScanScope(), [ListSink()], trigger="test")
        assert time.monotonic() - began < 10
