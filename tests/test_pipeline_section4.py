"""The pipeline and the section 4 controls: one row per (cluster, session control), read beside
the node reads, under the run's deadline, and never swallowing a bug.

The clusters are ``sim.fakes`` ports; the session fact reader is the real ``read_objects``
over the first-class fake paged reader (``sim.list_reader``), so each cluster's ``k8s:objects``
is what ``SessionObjects`` would return for the objects it holds. Order is observed with events
(what the sink has received when the reader is asked to finish), never with timing thresholds;
bounded waits only stop a test that would otherwise hang.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from shared.adapters.kube_objects import read_objects
from shared.core import k8s_lists as lists
from shared.core.controls.kubernetes import K8S_OBJECTS, params_for
from shared.core.controls.registry import get_benchmark
from shared.core.errors import ApiServerError, ApiServerUnreachableError, UnsupportedAuthError
from shared.core.facts import Facts
from shared.core.k8s_lists import ListRef
from shared.core.model import Cluster, Node, Policy, ScanScope
from shared.pipeline import DEADLINE_REASON, Limits, Scanner, dispatch_scan, run_scan
from shared.ports import ClusterSession, DiscoveryFailure
from sim.fakes import (
    FakeCluster,
    FakeConnector,
    FakeDiscovery,
    FakeFactSource,
    FakeSession,
    ListSink,
    configz_body,
)
from sim.list_reader import AsyncFakeListReader, FakeListReader
from tests.core.k8s_objects import crb, group, namespace, pod
from tests.test_pipeline_cluster_controls import SHARED

SUB = "00000000-0000-0000-0000-000000000001"
BENCH = get_benchmark("cis-aks-1.8")
SESSION_IDS = [c.id for c in BENCH.session_controls]
NODE_IDS = [c.id for c in BENCH.node_controls]
BODY = configz_body({"authentication": {"x509": {"clientCAFile": "/ca.crt"}}})
CLUSTER_ADMIN_ROLE = "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b"
ON_CALL = "9c8b7a6f-5e4d-4c3b-8a29-1f0e9d8c7b6a"
#: What each running cluster holds: a customer cluster-admin binding, a privileged pod.
OBJECTS: dict[ListRef, list[Any]] = {
    lists.CLUSTER_ROLE_BINDINGS: [crb("ops", "cluster-admin", group("ops"))],
    lists.NAMESPACES: [namespace("app")],
    lists.PODS: [pod("app", "p", hostPID=True)],
}
#: Bound of the waits that stand in for "this never happens": a failing test, not a threshold.
NEVER = 10.0


def rid(name: str) -> str:
    return f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/{name}"


def cluster(name: str, power: str = "Running", *, azure_rbac: bool = False) -> Cluster:
    properties = {
        "networkProfile": {"networkPlugin": "azure", "networkPolicy": "azure"},
        "aadProfile": {"managed": True, "enableAzureRBAC": azure_rbac},
    }
    return Cluster(
        resource_id=rid(name),
        subscription_id=SUB,
        resource_group="rg",
        name=name,
        power_state=power,
        aad_managed=True,
        azure_rbac=azure_rbac,
        arm={"id": rid(name), "name": name, "properties": properties},
    )


def fakes(*clusters: Cluster, nodes: int = 2, **options: Any) -> dict[str, FakeCluster]:
    made = {}
    for c in clusters:
        names = [Node(f"{c.name}-n{i}", "pool") for i in range(nodes)]
        made[c.resource_id] = FakeCluster(names, {n.name: BODY for n in names}, **options)
    return made


def served(objects: Mapping[ListRef, list[Any]]) -> dict[ListRef, list[Any]]:
    every: dict[ListRef, list[Any]] = {r: [] for r in lists.READS if r not in lists.OPTIONAL_READS}
    every.update(objects)
    return every


Gate = Callable[[ClusterSession], Awaitable[None]]


@dataclass
class Lists:
    """The scanner's ``session_facts``: each cluster's k8s:objects through ``read_objects`` over
    the fake paged reader, after ``gate`` (what the test waits for first), if any."""

    objects: Mapping[ListRef, list[Any]] = field(default_factory=lambda: OBJECTS)
    policy: Policy = field(default_factory=Policy)
    gate: Gate | None = None
    asked: list[frozenset[str]] = field(default_factory=list)

    async def __call__(self, session: ClusterSession, reads: frozenset[str]) -> Facts:
        self.asked.append(reads)
        if self.gate is not None:
            await self.gate(session)
        reader = AsyncFakeListReader(FakeListReader(served(self.objects)))
        return Facts({K8S_OBJECTS: await read_objects(reader, params_for(self.policy))})


def scanner(
    clusters: list[Cluster],
    connected: Mapping[str, FakeCluster],
    session_facts: Any,
    *,
    failures: tuple[DiscoveryFailure, ...] = (),
    deadline: float | None = None,
    facts: FakeFactSource | None = None,
    connector: Any = None,
) -> Scanner:
    return Scanner(
        FakeDiscovery(clusters, failures),
        connector or FakeConnector(dict(connected)),
        BENCH,
        Policy(),
        Limits(concurrency=4, cluster_concurrency=2, deadline_seconds=deadline),
        facts=facts or FakeFactSource(shared=SHARED),
        session_facts=session_facts,
    )


def scan(scanner_: Scanner, **options: Any) -> ListSink:
    sink = ListSink()
    run_scan(scanner_, ScanScope(), [sink], trigger="test", **options)
    return sink


def session_rows(sink: ListSink, name: str) -> dict[str, Any]:
    rows = [r for r in sink.rows if r.ClusterName == name and r.ControlId in SESSION_IDS]
    assert Counter(r.ControlId for r in rows) == Counter(SESSION_IDS), name
    return {r.ControlId: r for r in rows}


async def until(done: Callable[[], bool], what: str) -> None:
    """Wait on the loop until ``done()``; fail the test (never hang) if it does not come."""
    for _ in range(int(NEVER / 0.005)):
        if done():
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"never happened: {what}")


class TestOneRowEach:
    def test_every_cluster_gets_each_session_control_once_whatever_became_of_it(self):
        """Reached, without nodes, stopped, unreachable, node list refused, discovery failed: one
        row per (cluster, session control), judged where its lists were read."""
        ok, empty, stopped, unreachable, refused = (
            cluster("ok"),
            cluster("empty"),
            cluster("stopped", "Stopped"),
            cluster("unreachable"),
            cluster("refused"),
        )
        connected = {
            **fakes(ok),
            **fakes(empty, nodes=0),
            **fakes(unreachable, connect_error=UnsupportedAuthError("no Entra ID integration")),
            **fakes(refused, list_error=ApiServerError("HTTP 403 listing nodes: grant list nodes")),
        }
        gone = DiscoveryFailure(SUB, "HTTP 404 ResourceNotFound", cluster_id=rid("gone"))
        sink = scan(
            scanner(
                [ok, empty, stopped, unreachable, refused], connected, Lists(), failures=(gone,)
            )
        )
        pairs = Counter((r.ClusterName, r.NodeName, r.ControlId) for r in sink.rows)
        assert set(pairs.values()) == {1}
        statuses = {
            name: {r.Status for r in session_rows(sink, name).values()}
            for name in ("ok", "empty", "stopped", "unreachable", "refused", "gone")
        }
        assert statuses["ok"] <= {"PASS", "FAIL", "MANUAL"}
        assert statuses["empty"] <= {"PASS", "FAIL", "MANUAL"}  # no nodes: node rows SKIPPED
        assert {
            r.Status for r in sink.rows if r.ClusterName == "empty" and r.ControlId in NODE_IDS
        } == {"SKIPPED"}
        assert statuses["stopped"] == {"SKIPPED"}
        assert statuses["unreachable"] == statuses["gone"] == {"ERROR"}
        assert statuses["refused"] <= {"PASS", "FAIL", "MANUAL"}  # its lists were answered
        assert session_rows(sink, "ok")["4.1.1"].Status == "MANUAL"
        assert session_rows(sink, "ok")["4.2.2"].Status == "FAIL"
        assert session_rows(sink, "unreachable")["4.1.1"].Reason == "no Entra ID integration"

    def test_the_reader_is_asked_once_per_reached_cluster_for_k8s_objects(self):
        """One k8s:objects read per cluster with a session, none for the others."""
        a, b, c = cluster("a"), cluster("b"), cluster("c", "Stopped")
        reader = Lists()
        scan(scanner([a, b, c], fakes(a, b), reader))
        assert reader.asked == [frozenset({K8S_OBJECTS})] * 2

    def test_a_fan_out_writes_them_in_the_queue_jobs_only(self):
        """The dispatcher writes ARM rows; each queue job its clusters' session rows, once."""
        a, b = cluster("a"), cluster("b")
        connected, sink = fakes(a, b), ListSink()
        queued: list[Cluster] = []
        dispatch_scan(
            scanner([a, b], connected, Lists()),
            ScanScope(),
            [sink],
            queued.extend,
            trigger="timer",
            run_id="run-1",
        )
        assert not [r for r in sink.rows if r.ControlId in SESSION_IDS]
        for item in queued:
            job = scanner([item], connected, Lists())
            run_scan(job, ScanScope(), [sink], trigger="queue", run_id="run-1", arm_rows=False)
        pairs = Counter((r.ClusterName, r.NodeName, r.ControlId) for r in sink.rows)
        assert set(pairs.values()) == {1}
        for name in ("a", "b"):
            assert len(session_rows(sink, name)) == len(SESSION_IDS)

    @pytest.mark.parametrize("arm_rows", [True, False], ids=["run", "queue-job"])
    def test_4_1_1_counts_the_azure_admins_the_run_collected(self, arm_rows):
        """An Azure-RBAC cluster's Cluster Admin assignment (ARM) reaches 4.1.1 (Kubernetes), in a
        run and in a queue job, which collects the assignments itself."""
        a = cluster("a", azure_rbac=True)
        definition = {
            "id": f"/providers/Microsoft.Authorization/roleDefinitions/{CLUSTER_ADMIN_ROLE}",
            "name": CLUSTER_ADMIN_ROLE,
            "properties": {
                "roleName": "Azure Kubernetes Service RBAC Cluster Admin",
                "permissions": [{"dataActions": ["Microsoft.ContainerService/managedClusters/*"]}],
            },
        }
        assignment = {
            "id": f"{rid('a')}/providers/Microsoft.Authorization/roleAssignments/x",
            "properties": {
                "principalId": ON_CALL,
                "principalType": "Group",
                "roleDefinitionId": definition["id"],
                "scope": rid("a"),
            },
        }
        source = FakeFactSource(
            shared={
                **SHARED,
                "roleAssignments": [assignment],
                "roleDefinitions": {CLUSTER_ADMIN_ROLE: definition},
            }
        )
        sink = scan(scanner([a], fakes(a), Lists(), facts=source), arm_rows=arm_rows)
        row = session_rows(sink, "a")["4.1.1"]
        assert (
            f"Azure Group {ON_CALL} via Azure Kubernetes Service RBAC Cluster Admin" in row.Evidence
        )
        assert row.EvidenceCount == 2  # Group ops (Kubernetes) and the on-call group (Azure)


class TestBesideTheNodeReads:
    def test_slow_lists_do_not_hold_up_the_node_rows(self):
        """The lists finish only once the sink holds every node row of the cluster: node rows
        complete first, and the session rows follow them."""
        a = cluster("a")
        sink = ListSink()

        async def after_node_rows(_: ClusterSession) -> None:
            def node_rows() -> int:
                return sum(1 for r in list(sink.rows) if r.ClusterName == "a" and r.NodeName)

            await until(lambda: node_rows() == 2 * len(NODE_IDS), "node rows before the lists")

        reader = Lists(gate=after_node_rows)
        run_scan(scanner([a], fakes(a), reader), ScanScope(), [sink], trigger="t")
        kinds = [
            "session" if r.ControlId in SESSION_IDS else "node"
            for r in sink.rows
            if r.NodeName or r.ControlId in SESSION_IDS  # the ARM rows come first, apart
        ]
        assert kinds == ["node"] * (2 * len(NODE_IDS)) + ["session"] * len(SESSION_IDS)

    def test_the_lists_and_the_node_list_are_read_at_once(self):
        """The node list waits for the lists to have started, and the lists for the node list:
        only reads that run side by side get past both (one after the other never would)."""
        a = cluster("a")
        started: set[str] = set()

        class Listing(FakeSession):
            async def list_nodes(self) -> list[Node]:
                started.add("node list")
                await until(lambda: "lists" in started, "the lists started beside the node list")
                return await super().list_nodes()

        class Connector(FakeConnector):
            def connect(self, cluster: Cluster) -> FakeSession:
                return Listing(self.clusters[cluster.resource_id])

        async def beside(_: ClusterSession) -> None:
            started.add("lists")
            await until(lambda: "node list" in started, "the node list started beside the lists")

        connected = fakes(a)
        reader = Lists(gate=beside)
        sink = scan(scanner([a], connected, reader, connector=Connector(connected)))
        assert started == {"node list", "lists"}
        assert len(session_rows(sink, "a")) == len(SESSION_IDS)
        assert len([r for r in sink.rows if r.NodeName]) == 2 * len(NODE_IDS)


class TestDeadline:
    def test_lists_still_running_at_the_deadline_are_error_rows_once(self):
        """Lists that never finish: at the deadline every session control is ERROR with the
        deadline's reason; the node rows read before it stand; nothing is lost or doubled."""
        a = cluster("a")

        async def forever(_: ClusterSession) -> None:
            await asyncio.Event().wait()

        sink = scan(scanner([a], fakes(a), Lists(gate=forever), deadline=0.3))
        pairs = Counter((r.ClusterName, r.NodeName, r.ControlId) for r in sink.rows)
        assert set(pairs.values()) == {1}
        rows = session_rows(sink, "a")
        assert {(r.Status, r.Reason) for r in rows.values()} == {("ERROR", DEADLINE_REASON)}
        node_rows = [r for r in sink.rows if r.NodeName]
        assert len(node_rows) == 2 * len(NODE_IDS)
        assert "ERROR" not in {r.Status for r in node_rows}

    def test_lists_and_configz_both_stopped_by_the_deadline_once(self):
        """Configz and lists both hanging: every node and session row is ERROR once, none lost."""
        a = cluster("a")

        class Hanging(FakeSession):
            async def read_configz(self, node_name: str) -> bytes:
                await asyncio.Event().wait()
                return b""

        class Connector(FakeConnector):
            def connect(self, cluster: Cluster) -> FakeSession:
                return Hanging(self.clusters[cluster.resource_id])

        async def forever(_: ClusterSession) -> None:
            await asyncio.Event().wait()

        connected = fakes(a)
        sink = scan(
            scanner(
                [a], connected, Lists(gate=forever), deadline=0.3, connector=Connector(connected)
            )
        )
        pairs = Counter((r.ClusterName, r.NodeName, r.ControlId) for r in sink.rows)
        assert set(pairs.values()) == {1}
        assert len(pairs) == 2 * len(NODE_IDS) + len(SESSION_IDS) + len(BENCH.arm_controls)
        rows = [r for r in sink.rows if r.NodeName or r.ControlId in SESSION_IDS]
        assert {(r.Status, r.Reason) for r in rows} == {("ERROR", DEADLINE_REASON)}


class TestFailures:
    @pytest.mark.parametrize("when", ["at-once", "after-awaiting"])
    def test_a_bug_in_the_reader_propagates(self, when):
        """A reader that raises what no port documents (a bug) stops the run with it, not an ERROR row."""
        a = cluster("a")

        async def buggy(session: ClusterSession, reads: frozenset[str]) -> Facts:
            if when == "after-awaiting":
                await asyncio.sleep(0)
            raise RuntimeError("bug in the reader")

        def buggy_sync(session: ClusterSession, reads: frozenset[str]) -> Facts:
            raise RuntimeError("bug in the reader")

        reader = buggy_sync if when == "at-once" else buggy
        with pytest.raises(RuntimeError, match="bug in the reader"):
            scan(scanner([a], fakes(a), reader))

    def test_a_cluster_error_from_the_reader_is_the_rows_reason(self):
        """The reader's ClusterError (the API server went away mid-lists) is each session row's ERROR, once."""
        a = cluster("a")

        async def gone(session: ClusterSession, reads: frozenset[str]) -> Facts:
            raise ApiServerUnreachableError(
                "the API server refused the connection while listing pods"
            )

        sink = scan(scanner([a], fakes(a), gone))
        rows = session_rows(sink, "a")
        assert {(r.Status, r.Reason) for r in rows.values()} == {
            ("ERROR", "the API server refused the connection while listing pods")
        }
        assert "ERROR" not in {r.Status for r in sink.rows if r.NodeName}

    def test_a_failed_node_list_leaves_the_lists_their_verdicts_once(self):
        """The node list refused (403): the node controls are ERROR naming it, once; the
        section 4 lists were answered, so their rows are judged, once, not ERROR."""
        a = cluster("a")
        refused = fakes(a, list_error=ApiServerError("HTTP 403 listing nodes: grant list nodes"))
        sink = scan(scanner([a], refused, Lists()))
        pairs = Counter((r.ClusterName, r.NodeName, r.ControlId) for r in sink.rows)
        assert set(pairs.values()) == {1}
        rows = session_rows(sink, "a")
        assert {r.Status for r in rows.values()} <= {"PASS", "FAIL", "MANUAL"}
        assert rows["4.2.2"].Status == "FAIL"
        node = [r for r in sink.rows if r.ControlId in NODE_IDS]
        assert {(r.Status, r.Reason) for r in node} == {
            ("ERROR", "HTTP 403 listing nodes: grant list nodes")
        }

    def test_a_failed_node_list_and_failing_lists_are_error_rows_once(self):
        """The API server failing both: node controls ERROR with the node list's reason, session
        controls ERROR with their own, each once."""
        a = cluster("a")
        broken = fakes(a, list_error=ApiServerUnreachableError("timed out listing nodes"))

        async def unreachable(session: ClusterSession, reads: frozenset[str]) -> Facts:
            raise ApiServerUnreachableError("timed out listing pods")

        sink = scan(scanner([a], broken, unreachable))
        pairs = Counter((r.ClusterName, r.NodeName, r.ControlId) for r in sink.rows)
        assert set(pairs.values()) == {1}
        assert {(r.Status, r.Reason) for r in session_rows(sink, "a").values()} == {
            ("ERROR", "timed out listing pods")
        }
        assert {r.Reason for r in sink.rows if r.ControlId in NODE_IDS} == {
            "timed out listing nodes"
        }
