"""The scan pipeline: discover → reach each cluster → read each node's configz → evaluate → emit.

One code path for the CLI and the Functions triggers. It depends only on the ports
(shared.ports); shared.bootstrap wires real adapters. Concurrency is bounded twice: at most
``cluster_concurrency`` configz requests in flight per API server, and at most ``concurrency``
across the run. Rows leave per cluster in batches, so memory follows concurrency rather than the
size of the estate.

Nothing is dropped: every (node, control) gets exactly one row; a node whose configz cannot be
read gets ERROR rows naming the cause, a cluster that cannot be reached gets ERROR rows with an
empty node name, a stopped cluster SKIPPED rows, and a failure to deliver rows to a sink is
counted and reported, never swallowed.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from shared.controls import Benchmark
from shared.controls.configz import parse_configz
from shared.errors import ClusterError, NodeError, SinkError
from shared.evaluate import evaluate, uniform_verdicts
from shared.model import Cluster, Node, Policy, RunTotals, ScanScope, Status
from shared.policy import EXPIRY_WARNING_DAYS, describe, expiring
from shared.ports import (
    ClusterConnector,
    ClusterDiscovery,
    ClusterSession,
    DeliveryCounts,
    Discovered,
    DiscoveryFailure,
    FindingSink,
    SubscriptionSearched,
)
from shared.records import Finding, RowContext, RunRecord, findings, run_record, utc_now
from shared.settings import CLUSTER_ID

log = logging.getLogger(__name__)

FLUSH_ROWS = 2000


@dataclass(frozen=True, slots=True)
class Limits:
    """Politeness and time bounds of a run."""

    concurrency: int = 64
    cluster_concurrency: int = 8
    deadline_seconds: float | None = None


@dataclass(frozen=True, slots=True)
class Scanner:
    """Everything a scan needs, wired once by shared.bootstrap."""

    discovery: ClusterDiscovery
    connector: ClusterConnector
    benchmark: Benchmark
    policy: Policy
    limits: Limits = Limits()


class Progress:
    """Hooks a terminal progress bar can implement; the default does nothing."""

    def clusters_found(self, count: int) -> None:
        """Discovery finished with ``count`` clusters to contact."""

    def nodes_found(self, count: int) -> None:
        """A cluster's node list added ``count`` nodes."""

    def node_done(self) -> None:
        """One node was evaluated (or marked ERROR)."""


@dataclass(frozen=True, slots=True)
class ScanOutcome:
    """The run record and what could not be delivered."""

    run: RunRecord
    undelivered_rows: int = 0
    sink_errors: tuple[str, ...] = ()


@dataclass
class _Run:
    scanner: Scanner
    sinks: Sequence[FindingSink]
    run_id: str
    deadline: float | None
    progress: Progress
    clock: Callable[[], float]
    totals: RunTotals = field(default_factory=RunTotals)
    lock: threading.Lock = field(default_factory=threading.Lock)
    undelivered: int = 0
    sink_errors: list[str] = field(default_factory=list)
    today: date = field(default_factory=lambda: datetime.now(UTC).date())

    def expired(self) -> bool:
        return self.deadline is not None and self.clock() >= self.deadline

    def emit(self, rows: list[Finding]) -> None:
        """Count rows and hand them to every sink; a sink failure is recorded, not raised."""
        if not rows:
            return
        with self.lock:
            for row in rows:
                self.totals.count(Status(row.Status))
        for sink in self.sinks:
            try:
                sink.write_findings(rows)
            except SinkError as exc:
                log.error("sink %s did not accept %d rows: %s", type(sink).__name__, len(rows), exc)
                with self.lock:
                    self.undelivered += len(rows)
                    self.sink_errors.append(str(exc))

    def rows(self, context: RowContext, status: Status, reason: str) -> list[Finding]:
        verdicts = uniform_verdicts(self.scanner.benchmark, status, reason)
        return findings(context, verdicts, utc_now())


def run_scan(
    scanner: Scanner,
    scope: ScanScope,
    sinks: Sequence[FindingSink],
    *,
    trigger: str,
    run_id: str | None = None,
    progress: Progress | None = None,
    clock: Callable[[], float] = time.monotonic,
    discovered: Sequence[Discovered] | None = None,
    dispatch: Callable[[list[Cluster]], None] | None = None,
    delivery: DeliveryCounts | None = None,
) -> ScanOutcome:
    """Scan everything in ``scope``, hand rows to ``sinks``, and return the run record.

    ``discovered`` replaces the discovery call (a caller that already discovered). With
    ``dispatch``, running clusters are handed to it (the Functions fan-out enqueues them)
    instead of being scanned here; failures and stopped clusters still get their rows.
    ``delivery`` supplies the row counts of the run record.
    """
    started = utc_now()
    limits = scanner.limits
    run = _Run(
        scanner=scanner,
        sinks=sinks,
        run_id=run_id or str(uuid.uuid4()),
        deadline=clock() + limits.deadline_seconds if limits.deadline_seconds else None,
        progress=progress or Progress(),
        clock=clock,
    )
    items = discovered if discovered is not None else list(scanner.discovery.discover(scope))
    clusters = _triage(run, items)
    run.progress.clusters_found(len(clusters))
    if clusters and dispatch is not None:
        dispatch(clusters)
    elif clusters:
        _scan_clusters(run, clusters)
    if delivery is not None:
        run.totals.rows_sent = delivery.rows_sent
        run.totals.rows_dead_lettered = delivery.rows_dead_lettered
        run.totals.rows_replayed = delivery.rows_replayed
    soon = expiring(scanner.policy, run.today)
    if soon:
        log.warning(
            "%d exemptions expire within %d days: %s",
            len(soon),
            EXPIRY_WARNING_DAYS,
            describe(soon),
        )
    record = run_record(
        run.run_id,
        trigger,
        scanner.benchmark.name,
        started,
        run.totals,
        expiring=(len(soon), describe(soon)),
    )
    for sink in sinks:
        try:
            sink.write_run(record)
        except SinkError as exc:
            log.error("sink %s did not accept the run record: %s", type(sink).__name__, exc)
            run.sink_errors.append(str(exc))
    return ScanOutcome(record, run.undelivered, tuple(run.sink_errors))


def _triage(run: _Run, items: Sequence[Discovered]) -> list[Cluster]:
    """Rows for failures and stopped clusters; the running clusters to scan."""
    benchmark = run.scanner.benchmark
    to_scan: list[Cluster] = []
    for item in items:
        if isinstance(item, SubscriptionSearched):
            run.totals.subscriptions.add(item.subscription_id)
        elif isinstance(item, DiscoveryFailure):
            reason = f"discovery failed: {item.reason}"
            if item.subscription_id:
                run.totals.subscriptions.add(item.subscription_id)
            match = CLUSTER_ID.match(item.cluster_id) if item.cluster_id else None
            if match:
                run.totals.clusters += 1
                run.totals.clusters_failed += 1
                context = RowContext(
                    run.run_id,
                    benchmark,
                    match["sub"].lower(),
                    match["rg"],
                    match["name"],
                    item.cluster_id,
                )
            else:
                context = RowContext(
                    run.run_id, benchmark, item.subscription_id, cluster_id=item.cluster_id
                )
            run.emit(run.rows(context, Status.ERROR, reason))
        else:
            run.totals.subscriptions.add(item.subscription_id)
            run.totals.clusters += 1
            if item.stopped:
                context = RowContext.for_cluster(run.run_id, benchmark, item)
                reason = f"cluster is stopped (powerState {item.power_state}); not contacted"
                run.emit(run.rows(context, Status.SKIPPED, reason))
            else:
                to_scan.append(item)
    return to_scan


DEADLINE_REASON = "not read: the run's deadline was reached first"
#: After the deadline, workers get this long to write the rows they hold before the sweep
#: writes ERROR rows for whatever is still missing (a worker blocked in a connect, say).
DEADLINE_GRACE_SECONDS = 2.0


@dataclass
class _ClusterState:
    """Who writes a cluster's rows: its worker, or the deadline sweep, never both.

    Rows are emitted per node under ``lock``; once ``closed`` no more rows are accepted, so a
    worker that finishes after the deadline sweep cannot add a second row for any pair.
    """

    cluster: Cluster
    nodes: list[Node] | None = None
    emitted: set[str] = field(default_factory=set)
    closed: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


def _scan_clusters(run: _Run, clusters: list[Cluster]) -> None:
    limits = run.scanner.limits
    workers = min(len(clusters), math.ceil(limits.concurrency / limits.cluster_concurrency) + 1)
    node_pool = ThreadPoolExecutor(limits.concurrency, thread_name_prefix="configz")
    cluster_pool = ThreadPoolExecutor(workers, thread_name_prefix="cluster")
    states = [_ClusterState(c) for c in clusters]
    futures = {cluster_pool.submit(_scan_cluster, run, state, node_pool): state for state in states}
    timeout = None
    if run.deadline is not None:
        timeout = max(0.0, run.deadline - run.clock()) + DEADLINE_GRACE_SECONDS
    _, late = wait(futures, timeout=timeout)
    for future in late:
        _abandon(run, futures[future])
    # After a deadline, do not wait for reads still in flight: their rows are already ERROR.
    keep_waiting = not late and not run.expired()
    cluster_pool.shutdown(wait=keep_waiting, cancel_futures=not keep_waiting)
    node_pool.shutdown(wait=keep_waiting, cancel_futures=not keep_waiting)
    for future in futures:
        if future.done() and not future.cancelled() and future.exception() is not None:
            raise future.exception()  # type: ignore[misc]  # a bug, not a per-target failure


def _emit_nodes(
    run: _Run, state: _ClusterState, results: list[tuple[Node, list[Finding], bool]]
) -> None:
    with state.lock:
        if state.closed:
            return
        rows = [row for _, node_rows, _ in results for row in node_rows]
        run.emit(rows)
        state.emitted.update(node.name for node, _, _ in results)
        failed = sum(1 for _, _, was_read in results if not was_read)
    if failed:
        with run.lock:
            run.totals.nodes_failed += failed


def _close_cluster(
    run: _Run, state: _ClusterState, status: Status | None = None, reason: str = ""
) -> None:
    """Close the cluster; with a status, write its cluster-level rows first (if still open)."""
    with state.lock:
        if state.closed:
            return
        state.closed = True
        if status is not None:
            if status is Status.ERROR:
                log.warning("cluster %s not scanned: %s", state.cluster.resource_id, reason)
                with run.lock:
                    run.totals.clusters_failed += 1
            context = RowContext.for_cluster(run.run_id, run.scanner.benchmark, state.cluster)
            run.emit(run.rows(context, status, reason))


def _abandon(run: _Run, state: _ClusterState) -> None:
    """The deadline passed: ERROR rows for whatever of this cluster has no rows yet."""
    with state.lock:
        if state.closed:
            return
        if state.nodes is None:
            nodes_known = False
        else:
            nodes_known = True
            missing = [n for n in state.nodes if n.name not in state.emitted]
            state.closed = True
    if not nodes_known:
        _close_cluster(
            run, state, Status.ERROR, "not scanned: the run's deadline was reached first"
        )
        return
    rows = [
        row
        for node in missing
        for row in _node_rows(run, state.cluster, node, Status.ERROR, DEADLINE_REASON)
    ]
    run.emit(rows)
    with run.lock:
        run.totals.nodes_failed += len(missing)


def _scan_cluster(run: _Run, state: _ClusterState, node_pool: ThreadPoolExecutor) -> None:
    cluster = state.cluster
    if run.expired():
        _close_cluster(
            run, state, Status.ERROR, "not scanned: the run's deadline was reached first"
        )
        return
    try:
        session = run.scanner.connector.connect(cluster)
    except ClusterError as exc:
        _close_cluster(run, state, Status.ERROR, str(exc))
        return
    try:
        try:
            nodes = session.list_nodes()
        except ClusterError as exc:
            _close_cluster(run, state, Status.ERROR, str(exc))
            return
        if not nodes:
            _close_cluster(run, state, Status.SKIPPED, "the cluster has no nodes")
            return
        with state.lock:
            if state.closed:
                return
            state.nodes = nodes
        with run.lock:
            run.totals.nodes += len(nodes)
        run.progress.nodes_found(len(nodes))
        _scan_nodes(run, state, session, nodes, node_pool)
        _close_cluster(run, state)
    finally:
        session.close()


def _scan_nodes(
    run: _Run,
    state: _ClusterState,
    session: ClusterSession,
    nodes: list[Node],
    node_pool: ThreadPoolExecutor,
) -> None:
    """Keep at most cluster_concurrency configz reads in flight; emit rows in batches."""
    window = run.scanner.limits.cluster_concurrency
    cluster = state.cluster
    pending = iter(nodes)
    in_flight: dict[Future[tuple[list[Finding], bool]], Node] = {}
    batch: list[tuple[Node, list[Finding], bool]] = []
    batch_rows = 0
    exhausted = False
    while True:
        while not exhausted and len(in_flight) < window:
            node = next(pending, None)
            if node is None:
                exhausted = True
                break
            try:
                in_flight[node_pool.submit(_scan_node, run, cluster, session, node)] = node
            except RuntimeError:  # the pool was shut down at the deadline
                return
        if not in_flight:
            break
        timeout = None if run.deadline is None else max(0.0, run.deadline - run.clock())
        done, _ = wait(in_flight, timeout=timeout, return_when=FIRST_COMPLETED)
        if not done:  # the deadline passed with reads still in flight
            for future, node in in_flight.items():
                future.cancel()
                batch.append(
                    (node, _node_rows(run, cluster, node, Status.ERROR, DEADLINE_REASON), False)
                )
            for node in pending:
                batch.append(
                    (node, _node_rows(run, cluster, node, Status.ERROR, DEADLINE_REASON), False)
                )
            break
        for future in done:
            node = in_flight.pop(future)
            rows, was_read = future.result()
            batch.append((node, rows, was_read))
            batch_rows += len(rows)
            run.progress.node_done()
        if batch_rows >= FLUSH_ROWS:
            _emit_nodes(run, state, batch)
            batch, batch_rows = [], 0
    _emit_nodes(run, state, batch)


def _node_rows(
    run: _Run, cluster: Cluster, node: Node, status: Status, reason: str
) -> list[Finding]:
    context = RowContext.for_cluster(run.run_id, run.scanner.benchmark, cluster, node)
    return run.rows(context, status, reason)


def _scan_node(
    run: _Run, cluster: Cluster, session: ClusterSession, node: Node
) -> tuple[list[Finding], bool]:
    """Read, parse and evaluate one node: its rows, and whether its configz was read.

    A NodeError becomes that node's ERROR rows.
    """
    if run.expired():
        return _node_rows(run, cluster, node, Status.ERROR, DEADLINE_REASON), False
    try:
        config = parse_configz(session.read_configz(node.name))
    except NodeError as exc:
        reason = f"configz not read: {exc}"
        if not node.ready:
            reason += " (the node reports NotReady)"
        return _node_rows(run, cluster, node, Status.ERROR, reason), False
    context = RowContext.for_cluster(run.run_id, run.scanner.benchmark, cluster, node)
    policy = run.scanner.policy
    verdicts = evaluate(config, run.scanner.benchmark, policy)
    return findings(context, verdicts, utc_now(), policy, run.today), True
