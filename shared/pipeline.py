"""The scan pipeline: discover → reach each cluster → read each node's configz → evaluate → emit.

Cluster-scoped controls (shared.core.controls, ``Scope.CLUSTER``) are evaluated once per cluster:
those ARM answers in ``evaluate_arm`` for every discovered cluster, stopped ones included, right
after triage; those that need the cluster's API server (``k8s:`` reads) in ``_session_controls``,
once a session is open. In a fan-out the dispatcher evaluates the ARM ones and each queue job the
others (``arm_rows``), so every (cluster, control) row is written exactly once per run.

One code path for the CLI and the Functions triggers. It depends only on the ports
(shared.ports); shared.bootstrap wires real adapters. Concurrency is bounded twice: at most
``cluster_concurrency`` configz requests in flight per API server (a cluster worker's window),
and at most ``concurrency`` across the run (one semaphore; a permit is held from the start of a
read until its future is done). Reads are started with ``ClusterSession.start_configz`` and
never block a thread each; the cluster workers parse and evaluate what completes. There are two
more cluster workers than the limits keep busy, so the next clusters' credential calls and node
lists run while the reads of the clusters before them are in flight. Rows leave per cluster in
batches, so memory follows concurrency rather than the size of the estate.

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
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from shared.core.auth import Caller
from shared.core.controls import Benchmark, Control
from shared.core.controls.configz import parse_configz
from shared.core.errors import ClusterError, NodeError, SinkError
from shared.core.evaluate import evaluate, evaluate_cluster, uniform_verdicts
from shared.core.facts import ARM_READS, Facts, failed
from shared.core.identifiers import parse_cluster_id
from shared.core.model import Cluster, Node, Policy, RunTotals, ScanScope, Status
from shared.core.policy import EXPIRY_WARNING_DAYS, describe, expiring
from shared.core.records import Finding, RowContext, RunRecord, findings, run_record, utc_now
from shared.ports import (
    ClusterConnector,
    ClusterDiscovery,
    ClusterFactSource,
    ClusterSession,
    DeliveryCounts,
    Discovered,
    DiscoveryFailure,
    FindingSink,
    SessionFactReader,
    SubscriptionSearched,
)

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
    #: Where the ARM reads of cluster-scoped controls come from; None: this wiring has no Azure
    #: (``scan --kubeconfig``), so those rows are SKIPPED saying so.
    facts: ClusterFactSource | None = None
    #: Reads ``k8s:`` facts from an open session; None: such controls are ERROR (issue #14).
    session_facts: SessionFactReader | None = None


NO_ARM_REASON = (
    "not evaluated: this scan reads no Azure Resource Manager data (scan --kubeconfig knows no "
    "cluster resource); scan the cluster through Azure discovery for this control"
)


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
class Run:
    """One run in progress: where its rows go, its deadline, and what it has counted so far."""

    scanner: Scanner
    sinks: Sequence[FindingSink]
    run_id: str
    trigger: str
    started: str
    deadline: float | None
    progress: Progress
    clock: Callable[[], float]
    totals: RunTotals = field(default_factory=RunTotals)
    lock: threading.Lock = field(default_factory=threading.Lock)
    undelivered: int = 0
    sink_errors: list[str] = field(default_factory=list)
    today: date = field(default_factory=lambda: datetime.now(UTC).date())
    caller: Caller = field(default_factory=lambda: Caller("unknown"))
    #: False in a fan-out's queue job: the dispatcher already wrote the ARM-evaluated rows.
    arm_rows: bool = True

    def expired(self) -> bool:
        return self.deadline is not None and self.clock() >= self.deadline

    def emit(self, rows: list[Finding]) -> None:
        """Count rows and hand them to every sink; a sink failure is recorded, not raised."""
        if not rows:
            return
        with self.lock:
            for row in rows:
                self.totals.count(Status(row.Status))
                if row.Scope == "cluster":
                    self.totals.cluster_rows += 1
        for sink in self.sinks:
            try:
                sink.write_findings(rows)
            except SinkError as exc:
                log.error("sink %s did not accept %d rows: %s", type(sink).__name__, len(rows), exc)
                with self.lock:
                    self.undelivered += len(rows)
                    self.sink_errors.append(str(exc))

    def rows(
        self,
        context: RowContext,
        status: Status,
        reason: str,
        controls: Sequence[Control] | None = None,
    ) -> list[Finding]:
        """The same status and reason for ``controls`` (default: the node-scoped ones)."""
        chosen = self.scanner.benchmark.node_controls if controls is None else controls
        return findings(context, uniform_verdicts(chosen, status, reason), utc_now())

    def unreached_controls(self, *, arm: bool) -> tuple[Control, ...]:
        """What a target that was never reached gets rows for: node and session controls, and
        with ``arm`` the ARM-evaluated ones too (when this invocation writes them)."""
        bench = self.scanner.benchmark
        extra = bench.arm_controls if arm and self.arm_rows else ()
        return (*bench.node_controls, *bench.session_controls, *extra)


def start_run(
    scanner: Scanner,
    sinks: Sequence[FindingSink],
    *,
    trigger: str,
    run_id: str | None = None,
    progress: Progress | None = None,
    clock: Callable[[], float] = time.monotonic,
    caller: Caller | None = None,
    arm_rows: bool = True,
) -> Run:
    """A new run: its id, its deadline (from the scanner's limits), its counters, and who
    asked (``caller``; default: the trigger itself), logged as the run starts.

    ``arm_rows=False``: a fan-out's queue job, whose dispatcher wrote the ARM-evaluated rows.
    """
    deadline_seconds = scanner.limits.deadline_seconds
    run = Run(
        scanner=scanner,
        sinks=sinks,
        run_id=run_id or str(uuid.uuid4()),
        trigger=trigger,
        started=utc_now(),
        deadline=clock() + deadline_seconds if deadline_seconds else None,
        progress=progress or Progress(),
        clock=clock,
        caller=caller or Caller.system(trigger),
        arm_rows=arm_rows,
    )
    log.info("run %s started (trigger %s) by %s", run.run_id, trigger, run.caller.describe())
    return run


def discover(run: Run, scope: ScanScope) -> list[Discovered]:
    """Step 1: what discovery finds in ``scope`` (clusters, failures, searched subscriptions)."""
    return list(run.scanner.discovery.discover(scope))


def triage(run: Run, items: Sequence[Discovered]) -> list[Cluster]:
    """Step 2: write the rows that need no scan; return the running clusters to scan.

    A discovery failure becomes ERROR rows (per control, for its cluster or subscription, ARM
    ones included: they cannot be evaluated either), a stopped cluster SKIPPED rows for the
    controls that need its API server (its ARM controls are evaluated by ``evaluate_arm``);
    every subscription searched is counted.
    """
    benchmark = run.scanner.benchmark
    to_scan: list[Cluster] = []
    for item in items:
        if isinstance(item, SubscriptionSearched):
            run.totals.subscriptions.add(item.subscription_id)
        elif isinstance(item, DiscoveryFailure):
            reason = f"discovery failed: {item.reason}"
            if item.subscription_id:
                run.totals.subscriptions.add(item.subscription_id)
            parsed = parse_cluster_id(item.cluster_id) if item.cluster_id else None
            if parsed:
                run.totals.clusters += 1
                run.totals.clusters_failed += 1
                context = RowContext(
                    run.run_id,
                    benchmark,
                    parsed.subscription,
                    parsed.resource_group,
                    parsed.name,
                    item.cluster_id,
                )
            else:
                context = RowContext(
                    run.run_id, benchmark, item.subscription_id, cluster_id=item.cluster_id
                )
            run.emit(run.rows(context, Status.ERROR, reason, run.unreached_controls(arm=True)))
        else:
            run.totals.subscriptions.add(item.subscription_id)
            run.totals.clusters += 1
            if item.stopped:
                context = RowContext.for_cluster(run.run_id, benchmark, item)
                reason = f"cluster is stopped (powerState {item.power_state}); not contacted"
                controls = run.unreached_controls(arm=False)
                run.emit(run.rows(context, Status.SKIPPED, reason, controls))
            else:
                to_scan.append(item)
    run.progress.clusters_found(len(to_scan))
    return to_scan


def evaluate_arm(run: Run, items: Sequence[Discovered]) -> None:
    """Step 2b: the cluster-scoped controls ARM answers, one row per (cluster, control).

    Every discovered cluster, stopped ones included: its configuration is in ARM whatever its
    power state. The reads are the union of what the selected controls need, collected once per
    run (shared.ports.ClusterFactSource); a refused read makes only its controls ERROR.
    """
    controls = run.scanner.benchmark.arm_controls
    clusters = [item for item in items if isinstance(item, Cluster)]
    if not run.arm_rows or not controls or not clusters:
        return
    reads = frozenset(read for control in controls for read in control.reads)
    source = run.scanner.facts
    policy = run.scanner.policy
    if source is None:
        collected: Iterable[tuple[Cluster, Facts]] = (
            (c, failed(ARM_READS, NO_ARM_REASON, Status.SKIPPED)) for c in clusters
        )
    else:
        collected = source.collect(clusters, reads, run.expired)
    batch: list[Finding] = []
    for cluster, facts in collected:
        context = RowContext.for_cluster(run.run_id, run.scanner.benchmark, cluster)
        verdicts = evaluate_cluster(facts, controls, policy)
        batch.extend(findings(context, verdicts, utc_now(), policy, run.today))
        if len(batch) >= FLUSH_ROWS:  # rows leave in batches, as the node rows do
            run.emit(batch)
            batch = []
    run.emit(batch)


def scan_clusters(run: Run, clusters: list[Cluster]) -> None:
    """Step 3: scan each running cluster: its nodes' configz, evaluated, written as rows."""
    if clusters:
        _scan_clusters(run, clusters)


def finish(run: Run, delivery: DeliveryCounts | None = None) -> ScanOutcome:
    """Step 4: the run record (with the delivery counts and expiring exemptions), to every sink."""
    if delivery is not None:
        run.totals.rows_sent = delivery.rows_sent
        run.totals.rows_dead_lettered = delivery.rows_dead_lettered
        run.totals.rows_replayed = delivery.rows_replayed
    scanner = run.scanner
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
        run.trigger,
        scanner.benchmark.name,
        run.started,
        run.totals,
        expiring=(len(soon), describe(soon)),
        triggered_by=run.caller.triggered_by(),
    )
    for sink in run.sinks:
        try:
            sink.write_run(record)
        except SinkError as exc:
            log.error("sink %s did not accept the run record: %s", type(sink).__name__, exc)
            run.sink_errors.append(str(exc))
    return ScanOutcome(record, run.undelivered, tuple(run.sink_errors))


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
    delivery: DeliveryCounts | None = None,
    caller: Caller | None = None,
    arm_rows: bool = True,
) -> ScanOutcome:
    """Scan everything in ``scope`` here: discover, triage, ARM controls, clusters, finish.

    ``discovered`` replaces the discovery call (a caller that already discovered);
    ``delivery`` supplies the row counts of the run record; ``caller`` is who asked;
    ``arm_rows=False`` leaves the ARM-evaluated rows to the dispatcher of a fan-out (the queue job).
    """
    run = start_run(
        scanner,
        sinks,
        trigger=trigger,
        run_id=run_id,
        progress=progress,
        clock=clock,
        caller=caller,
        arm_rows=arm_rows,
    )
    items = discovered if discovered is not None else discover(run, scope)
    clusters = triage(run, items)
    evaluate_arm(run, items)
    scan_clusters(run, clusters)
    return finish(run, delivery)


def dispatch_scan(
    scanner: Scanner,
    scope: ScanScope,
    sinks: Sequence[FindingSink],
    enqueue: Callable[[list[Cluster]], None],
    *,
    trigger: str,
    run_id: str | None = None,
    delivery: DeliveryCounts | None = None,
    caller: Caller | None = None,
) -> ScanOutcome:
    """Fan a scan out: discover, triage, hand the running clusters to ``enqueue``, finish.

    The clusters are scanned elsewhere (the Functions queue trigger), under the same run id;
    failures and stopped clusters get their rows here, and so does every cluster's ARM-evaluated
    controls (the tenant-wide reads are made once, here, not once per queue job). ``caller`` is
    who asked.
    """
    run = start_run(scanner, sinks, trigger=trigger, run_id=run_id, caller=caller)
    items = discover(run, scope)
    clusters = triage(run, items)
    evaluate_arm(run, items)
    if clusters:
        enqueue(clusters)
    return finish(run, delivery)


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
    #: The session-scoped cluster controls have their rows (``_session_controls``).
    session_done: bool = False


#: Cluster workers beyond the ``ceil(concurrency / cluster_concurrency)`` that keep every permit
#: busy: each extra one connects and lists its cluster while the others read (prefetch).
PREFETCH_WORKERS = 2


def _scan_clusters(run: Run, clusters: list[Cluster]) -> None:
    limits = run.scanner.limits
    busy = math.ceil(limits.concurrency / limits.cluster_concurrency)
    workers = min(len(clusters), busy + PREFETCH_WORKERS)
    permits = threading.BoundedSemaphore(limits.concurrency)
    cluster_pool = ThreadPoolExecutor(workers, thread_name_prefix="cluster")
    states = [_ClusterState(c) for c in clusters]
    futures = {cluster_pool.submit(_scan_cluster, run, state, permits): state for state in states}
    timeout = None
    if run.deadline is not None:
        timeout = max(0.0, run.deadline - run.clock()) + DEADLINE_GRACE_SECONDS
    _, late = wait(futures, timeout=timeout)
    for future in late:
        _abandon(run, futures[future])
    # After a deadline, do not wait for work still in flight: its rows are already ERROR.
    keep_waiting = not late and not run.expired()
    cluster_pool.shutdown(wait=keep_waiting, cancel_futures=not keep_waiting)
    for future in futures:
        if future.done() and not future.cancelled() and future.exception() is not None:
            raise future.exception()  # type: ignore[misc]  # a bug, not a per-target failure


def _emit_nodes(
    run: Run, state: _ClusterState, results: list[tuple[Node, list[Finding], bool]]
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
    run: Run, state: _ClusterState, status: Status | None = None, reason: str = ""
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
            controls = run.scanner.benchmark.node_controls
            if not state.session_done:
                controls = (*controls, *run.scanner.benchmark.session_controls)
            run.emit(run.rows(context, status, reason, controls))


def _abandon(run: Run, state: _ClusterState) -> None:
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


def _scan_cluster(run: Run, state: _ClusterState, permits: threading.Semaphore) -> None:
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
        _session_controls(run, state, session)
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
        _scan_nodes(run, state, session, nodes, permits)
        _close_cluster(run, state)
    finally:
        session.close()


def _session_controls(run: Run, state: _ClusterState, session: ClusterSession) -> None:
    """The cluster-scoped controls that read the cluster's Kubernetes API, once per cluster."""
    controls = run.scanner.benchmark.session_controls
    if not controls:
        return
    reads = frozenset(r for c in controls for r in c.reads)
    reader = run.scanner.session_facts
    if reader is None:
        facts = failed(
            tuple(sorted(reads)), "not read: this scanner has no Kubernetes object reader"
        )
    else:
        facts = reader(session, reads)
    context = RowContext.for_cluster(run.run_id, run.scanner.benchmark, state.cluster)
    policy = run.scanner.policy
    rows = findings(
        context, evaluate_cluster(facts, controls, policy), utc_now(), policy, run.today
    )
    with state.lock:
        if state.closed or state.session_done:
            return
        state.session_done = True
        run.emit(rows)


def _scan_nodes(
    run: Run,
    state: _ClusterState,
    session: ClusterSession,
    nodes: list[Node],
    permits: threading.Semaphore,
) -> None:
    """Keep at most cluster_concurrency configz reads in flight; emit rows in batches."""
    window = run.scanner.limits.cluster_concurrency
    cluster = state.cluster
    pending = deque(nodes)
    in_flight: dict[Future[bytes], Node] = {}
    batch: list[tuple[Node, list[Finding], bool]] = []
    batch_rows = 0
    while True:
        while pending and len(in_flight) < window and not run.expired():
            # With reads in flight, take a permit only if one is free (and otherwise handle
            # what completes); with none, wait for one until the deadline.
            if in_flight:
                acquired = permits.acquire(blocking=False)
            else:
                acquired = permits.acquire(timeout=_remaining(run))
            if not acquired:
                break
            node = pending.popleft()
            try:
                future = session.start_configz(node.name)
            except BaseException:
                permits.release()
                raise
            future.add_done_callback(lambda _: permits.release())
            in_flight[future] = node
        if not in_flight and not pending:
            break
        done: set[Future[bytes]] = set()
        if in_flight and not run.expired():
            done, _ = wait(in_flight, timeout=_remaining(run), return_when=FIRST_COMPLETED)
        if not done:  # the deadline passed with reads in flight or not yet started
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
            rows, was_read = _node_result(run, cluster, node, future)
            batch.append((node, rows, was_read))
            batch_rows += len(rows)
            run.progress.node_done()
        if batch_rows >= FLUSH_ROWS:
            _emit_nodes(run, state, batch)
            batch, batch_rows = [], 0
    _emit_nodes(run, state, batch)


def _remaining(run: Run) -> float | None:
    """Seconds to the deadline (None: no deadline)."""
    return None if run.deadline is None else max(0.0, run.deadline - run.clock())


def _node_rows(
    run: Run, cluster: Cluster, node: Node, status: Status, reason: str
) -> list[Finding]:
    context = RowContext.for_cluster(run.run_id, run.scanner.benchmark, cluster, node)
    return run.rows(context, status, reason)


def _node_result(
    run: Run, cluster: Cluster, node: Node, read: Future[bytes]
) -> tuple[list[Finding], bool]:
    """Parse and evaluate one node's completed read: its rows, and whether its configz was read.

    A NodeError (the read's, or the parser's) becomes that node's ERROR rows.
    """
    try:
        config = parse_configz(read.result())
    except NodeError as exc:
        reason = f"configz not read: {exc}"
        if not node.ready:
            reason += " (the node reports NotReady)"
        return _node_rows(run, cluster, node, Status.ERROR, reason), False
    context = RowContext.for_cluster(run.run_id, run.scanner.benchmark, cluster, node)
    policy = run.scanner.policy
    verdicts = evaluate(config, run.scanner.benchmark, policy)
    return findings(context, verdicts, utc_now(), policy, run.today), True
