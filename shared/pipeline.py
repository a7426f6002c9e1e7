"""The scan pipeline: discover → reach each cluster → read each node's configz → evaluate → emit.

Cluster-scoped controls (shared.core.controls, ``Scope.CLUSTER``) are evaluated once per cluster:
those ARM answers in ``evaluate_arm`` for every discovered cluster, stopped ones included, right
after triage; those that need the cluster's API server (``k8s:`` reads) in ``_session_controls``,
once a session is open. In a fan-out the dispatcher evaluates the ARM ones and each queue job the
others (``arm_rows``), so every (cluster, control) row is written exactly once per run.

One code path for the CLI and the Functions triggers. It depends only on the ports
(shared.ports); shared.bootstrap wires real adapters. The per-node work runs on one asyncio
event loop per scan: cluster workers (coroutines) connect (in the loop's executor: ARM and
token calls block), list the nodes, and read each node's configz, and as each read completes
its body is parsed, evaluated (memoized per distinct input, ``VerdictMemo``) and turned into
rows (``RowTemplate``: serialized once). Concurrency is bounded twice by ``asyncio``
semaphores: at most ``cluster_concurrency`` reads in flight per API server (a cluster's
readers) and at most ``concurrency`` across the run. There are two more cluster workers than
the limits keep busy, so the next clusters' credential calls and node lists run while the reads
of the clusters before them are in flight. Rows leave per cluster in batches to one writer
thread that hands them to the sinks (upload, compression), so memory follows concurrency rather
than the size of the estate, and the loop never waits for an upload.

Nothing is dropped: every (node, control) gets exactly one row; a node whose configz cannot be
read gets ERROR rows naming the cause, a cluster that cannot be reached gets ERROR rows with an
empty node name, a stopped cluster SKIPPED rows, and a failure to deliver rows to a sink is
counted and reported, never swallowed.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import inspect
import logging
import math
import queue
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from shared.core.auth import Caller
from shared.core.controls import SESSION_READ_PREFIX, Benchmark, Control
from shared.core.controls.configz import parse_configz
from shared.core.errors import ClusterError, NodeError, SinkError
from shared.core.evaluate import VerdictMemo, evaluate_cluster, uniform_verdicts
from shared.core.facts import ARM_READS, MANAGED_CLUSTER, Facts, failed
from shared.core.identifiers import parse_cluster_id
from shared.core.model import Cluster, Node, Policy, RunTotals, ScanScope, Status, Verdict
from shared.core.policy import EXPIRY_WARNING_DAYS, describe, expiring
from shared.core.records import Finding, RowContext, RunRecord, findings, run_record, utc_now
from shared.core.rows import FindingBatch, RowTemplate
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
    #: Reads ``k8s:`` facts from an open session; None: such controls are ERROR.
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
    #: ARM reads the session controls use when present (``Control.optional_reads``), by
    #: cluster resource id (lower case): collected with the ARM controls' reads.
    arm_context: dict[str, Mapping[str, Any]] = field(default_factory=dict)

    def expired(self) -> bool:
        return self.deadline is not None and self.clock() >= self.deadline

    writer: _Writer | None = None

    def emit(self, rows: Sequence[Finding]) -> None:
        """Count rows and hand them to every sink (through the scan's writer thread while one
        runs); a sink failure is recorded, not raised."""
        batch = FindingBatch.of(rows)
        if not batch:
            return
        with self.lock:
            for status, count in batch.counts.items():
                self.totals.count(status, count)
            self.totals.cluster_rows += batch.cluster_rows
        if self.writer is not None:
            self.writer.put(batch)
        else:
            self.deliver(batch)

    def deliver(self, batch: FindingBatch) -> None:
        """Give one batch to every sink; a SinkError is counted and kept for the outcome."""
        for sink in self.sinks:
            try:
                sink.write_findings(batch)
            except SinkError as exc:
                log.error(
                    "sink %s did not accept %d rows: %s", type(sink).__name__, len(batch), exc
                )
                with self.lock:
                    self.undelivered += len(batch)
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
    wanted = _context_reads(run)  # read once here too; scan_clusters reads what is missing
    reads = frozenset(read for control in controls for read in control.reads) | wanted
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
        if wanted:
            _keep_context(run, cluster, facts, wanted)
        context = RowContext.for_cluster(run.run_id, run.scanner.benchmark, cluster)
        verdicts = evaluate_cluster(facts, controls, policy)
        batch.extend(findings(context, verdicts, utc_now(), policy, run.today))
        if len(batch) >= FLUSH_ROWS:  # rows leave in batches, as the node rows do
            run.emit(batch)
            batch = []
    run.emit(batch)


def scan_clusters(run: Run, clusters: list[Cluster]) -> None:
    """Step 3: scan each running cluster: its nodes' configz, evaluated, written as rows.

    Runs one event loop until every cluster has its rows (or the deadline's), and returns once
    the writer thread has handed every batch to the sinks.
    """
    if clusters:
        _collect_context(run, clusters)
        _run_on_loop(run, lambda: _scan_clusters(run, clusters))


def _context_reads(run: Run) -> frozenset[str]:
    """The ARM reads session controls use when present (MANAGED_CLUSTER comes with the cluster)."""
    controls = run.scanner.benchmark.session_controls
    wanted = {r for c in controls for r in c.optional_reads} - {MANAGED_CLUSTER}
    return frozenset(r for r in wanted if not r.startswith(SESSION_READ_PREFIX))


def _collect_context(run: Run, clusters: Sequence[Cluster]) -> None:
    """The optional ARM reads of the session controls for clusters that do not have them yet
    (a fan-out's queue job, or a run whose selection has no ARM control)."""
    reads, source = _context_reads(run), run.scanner.facts
    missing = [c for c in clusters if c.resource_id.lower() not in run.arm_context]
    if not reads or source is None or not missing:
        return
    for cluster, facts in source.collect(missing, reads, run.expired):
        _keep_context(run, cluster, facts, reads)


def _keep_context(run: Run, cluster: Cluster, facts: Facts, reads: frozenset[str]) -> None:
    """What of ``reads`` was read for ``cluster``, for its session controls."""
    run.arm_context[cluster.resource_id.lower()] = {
        r: facts.values[r] for r in reads if r in facts.values
    }


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
NOT_SCANNED_REASON = "not scanned: the run's deadline was reached first"
#: After the deadline, workers get this long to write the rows they hold before the sweep
#: writes ERROR rows for whatever is still missing (a worker blocked in a connect, say).
DEADLINE_GRACE_SECONDS = 2.0
#: Cluster workers beyond the ``ceil(concurrency / cluster_concurrency)`` that keep every permit
#: busy: each extra one connects and lists its cluster while the others read (prefetch).
PREFETCH_WORKERS = 2
#: Preparers that go on after the first round (each prepares one cluster first).
STEADY_PREPARERS = 3
#: How long closing the loop waits for its last tasks (sessions closing).
CLOSE_SECONDS = 2.0


def _new_loop() -> asyncio.AbstractEventLoop:
    """The scan's event loop: uvloop's when it is installed (less CPU per read), else asyncio's."""
    try:
        import uvloop  # noqa: PLC0415 - optional speed-up, loaded only when a scan runs
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def _run_on_loop(run: Run, main: Callable[[], Coroutine[Any, Any, bool]]) -> None:
    """Run ``main`` on a new event loop, with the scan's executor and writer thread.

    ``main`` answers whether to wait for work still in the executor (not after a deadline).
    """
    limits = run.scanner.limits
    workers = math.ceil(limits.concurrency / limits.cluster_concurrency) + PREFETCH_WORKERS
    executor = ThreadPoolExecutor(workers + 2, thread_name_prefix="scan-io")
    writer = _Writer(run)
    run.writer = writer
    loop = _new_loop()
    loop.set_default_executor(executor)
    keep_waiting = False
    # What the process holds before the scan (modules, SDK clients) is not examined again by
    # every full collection during it: those cost ~60 ms each at 10,000 nodes.
    gc.freeze()
    try:
        keep_waiting = loop.run_until_complete(main())
    finally:
        try:
            _close_loop(loop)
        finally:
            gc.unfreeze()
            executor.shutdown(wait=keep_waiting, cancel_futures=True)
            run.writer = None
            writer.close()


def _close_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Let the loop's last tasks finish (briefly), cancel what still runs, close it."""
    pending = asyncio.all_tasks(loop)
    if pending:
        loop.run_until_complete(asyncio.wait(pending, timeout=CLOSE_SECONDS))
    stuck = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in stuck:
        task.cancel()
    if stuck:
        loop.run_until_complete(asyncio.wait(stuck, timeout=CLOSE_SECONDS))
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()


class _Writer:
    """The one thread that hands the scan's batches to the sinks (upload, compression).

    The loop only builds rows and queues them here, so an upload never holds up a read. A sink
    that raises anything but SinkError is a bug: the first such error is raised by ``close``
    after every batch was offered.
    """

    def __init__(self, run: Run) -> None:
        self._run = run
        self._queue: queue.SimpleQueue[FindingBatch | None] = queue.SimpleQueue()
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._work, name="scan-writer", daemon=True)
        self._thread.start()

    def put(self, batch: FindingBatch) -> None:
        """Queue one batch for the sinks."""
        self._queue.put(batch)

    def close(self) -> None:
        """Wait until every queued batch went to the sinks; raise a sink's unexpected error."""
        self._queue.put(None)
        self._thread.join()
        if self._failure is not None:
            raise self._failure

    def _work(self) -> None:
        while (batch := self._queue.get()) is not None:
            try:
                self._run.deliver(batch)
            except Exception as exc:  # noqa: BLE001 - a sink's bug, raised again by close()
                self._failure = self._failure or exc


@dataclass
class _ClusterState:
    """Who writes a cluster's rows: its worker, or the deadline sweep, never both.

    Rows are emitted per batch of nodes; once ``closed`` no more rows are accepted, so a
    worker that finishes after the deadline sweep cannot add a second row for any pair. Every
    change happens on the scan's one event loop.
    """

    cluster: Cluster
    nodes: list[Node] | None = None
    emitted: set[str] = field(default_factory=set)
    closed: bool = False
    #: The session-scoped cluster controls have their rows (``_session_controls``).
    session_done: bool = False
    #: Those controls' reads, running beside the node list and the configz reads.
    session_task: asyncio.Task[None] | None = None


class _Bound:
    """``asyncio.timeout_at(when)`` (nothing for None) that says whether it was what fired.

    The loop's clock can reach the deadline a millisecond before the run's clock does (libuv's
    cached millisecond time), so "did the deadline end this?" is asked of the timeout itself.
    """

    def __init__(self, when: float | None) -> None:
        self._timeout = None if when is None else asyncio.timeout_at(when)

    async def __aenter__(self) -> _Bound:
        if self._timeout is not None:
            await self._timeout.__aenter__()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        if self._timeout is not None:
            await self._timeout.__aexit__(*exc_info)  # raises TimeoutError when it fired

    def fired(self) -> bool:
        """True when the deadline cancelled what ran inside."""
        return self._timeout is not None and self._timeout.expired()


class _Scan:
    """One scan_clusters call on the loop: the run's permits, memo, and the clusters to do."""

    def __init__(self, run: Run, clusters: list[Cluster]) -> None:
        self.run = run
        self.states = [_ClusterState(c) for c in clusters]
        self.waiting = deque(self.states)
        #: Clusters whose configz reads are done while their section 4 lists still run: each
        #: closes itself when they end, so its reader takes the next cluster at once.
        self.finishers: list[asyncio.Task[None]] = []
        limits = run.scanner.limits
        width = math.ceil(limits.concurrency / limits.cluster_concurrency) + PREFETCH_WORKERS
        # Prepared clusters waiting for a reader: at most one per reader.
        self.ready: asyncio.Queue[tuple[_ClusterState, ClusterSession, list[Node]] | None] = (
            asyncio.Queue(width)
        )
        self.permits = asyncio.Semaphore(run.scanner.limits.concurrency)
        self.memo = VerdictMemo(run.scanner.benchmark, run.scanner.policy)
        loop = asyncio.get_running_loop()
        # The run's deadline on the loop's clock (the run's clock may be a test's).
        self.deadline = (
            None if run.deadline is None else loop.time() + max(0.0, run.deadline - run.clock())
        )

    def until_deadline(self) -> _Bound:
        """``asyncio.timeout_at`` the run's deadline (nothing without one)."""
        return _Bound(self.deadline)

    async def prepare(self, index: int) -> None:
        """Connect to and list clusters one after another, handing each to the readers.

        Every preparer takes one cluster, so the first readers start at once; after that
        STEADY_PREPARERS keep the queue full (preparing a cluster takes a tenth of reading it),
        and fewer node lists and connections wait in memory at once.
        """
        while self.waiting:
            prepared = await _prepare(self, self.waiting.popleft())
            if prepared is not None:
                await self.ready.put(prepared)
            if index >= STEADY_PREPARERS:
                return

    async def read(self) -> None:
        """Read prepared clusters one after another until the preparers are done."""
        while (prepared := await self.ready.get()) is not None:
            await _read_cluster(self, *prepared)


async def _scan_clusters(run: Run, clusters: list[Cluster]) -> bool:
    """Every cluster's rows; True when nothing was abandoned at the deadline.

    ``width`` clusters are read at a time (enough windows to keep every permit busy, and
    PREFETCH_WORKERS more), while preparers connect to and list the clusters after them into a
    queue of ``width``, so a cluster's reads start the moment a reader is free (never a pause
    while every reader connects at once).
    """
    limits = run.scanner.limits
    scan = _Scan(run, clusters)
    busy = math.ceil(limits.concurrency / limits.cluster_concurrency)
    width = min(len(clusters), busy + PREFETCH_WORKERS)
    preparers = [asyncio.create_task(scan.prepare(i), name=f"prepare-{i}") for i in range(width)]
    readers = [asyncio.create_task(scan.read(), name=f"read-{i}") for i in range(width)]

    async def feed() -> None:
        await asyncio.gather(*preparers)
        for _ in readers:
            await scan.ready.put(None)

    async def everything() -> None:
        # A preparer or reader that raises is a bug: stop the others rather than wait forever
        # for a queue nobody empties.
        await all_of({asyncio.create_task(feed()), *readers})
        await all_of(set(scan.finishers))  # none is added once every reader is done

    async def all_of(pending: set[asyncio.Task[None]]) -> None:
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_EXCEPTION)
            failed = [task for task in done if task.exception() is not None]
            if failed:
                for task in (*pending, *preparers, *scan.finishers):
                    task.cancel()
                raise failed[0].exception()  # type: ignore[misc]  # not None: filtered above

    whole = asyncio.create_task(everything(), name="scan")
    timeout = None
    if run.deadline is not None:
        timeout = max(0.0, run.deadline - run.clock()) + DEADLINE_GRACE_SECONDS
    done, late = await asyncio.wait([whole], timeout=timeout)
    if late:
        for state in scan.states:
            _abandon(run, state)
        tasks = [whole, *preparers, *readers, *scan.finishers]
        for task in tasks:
            task.cancel()
        await asyncio.wait(tasks, timeout=CLOSE_SECONDS)
    await _close_unread(scan)
    for task in done:
        if not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]  # a bug, not a per-target failure
    return not late and not run.expired()


async def _close_unread(scan: _Scan) -> None:
    """Close the sessions of clusters prepared but never read (the deadline came first)."""
    while not scan.ready.empty():
        prepared = scan.ready.get_nowait()
        if prepared is not None:
            await _close_session(prepared[1])


def _close_cluster(
    run: Run, state: _ClusterState, status: Status | None = None, reason: str = ""
) -> None:
    """Close the cluster; with a status, write its cluster-level rows first (if still open)."""
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
    if state.closed:
        return
    if state.nodes is None:
        _close_cluster(run, state, Status.ERROR, NOT_SCANNED_REASON)
        return
    missing = [n for n in state.nodes if n.name not in state.emitted]
    state.closed = True
    rows = [
        row
        for node in missing
        for row in _node_rows(run, state.cluster, node, Status.ERROR, DEADLINE_REASON)
    ]
    if not state.session_done:
        state.session_done = True
        context = RowContext.for_cluster(run.run_id, run.scanner.benchmark, state.cluster)
        controls = run.scanner.benchmark.session_controls
        rows.extend(run.rows(context, Status.ERROR, DEADLINE_REASON, controls))
    run.emit(rows)
    with run.lock:
        run.totals.nodes_failed += len(missing)


async def _prepare(
    scan: _Scan, state: _ClusterState
) -> tuple[_ClusterState, ClusterSession, list[Node]] | None:
    """Connect (in the executor) and list the nodes; None when the cluster got its rows here."""
    run, cluster = scan.run, state.cluster
    if run.expired():
        _close_cluster(run, state, Status.ERROR, NOT_SCANNED_REASON)
        return None
    loop = asyncio.get_running_loop()
    bound = scan.until_deadline()
    try:
        async with bound:
            session = await loop.run_in_executor(None, run.scanner.connector.connect, cluster)
    except ClusterError as exc:
        _close_cluster(run, state, Status.ERROR, str(exc))
        return None
    except TimeoutError:
        if not bound.fired():
            raise
        _close_cluster(run, state, Status.ERROR, NOT_SCANNED_REASON)
        return None
    if run.scanner.benchmark.session_controls:
        state.session_task = asyncio.create_task(
            _session_controls(scan, state, session), name="session-controls"
        )
    bound = scan.until_deadline()
    try:
        async with bound:
            nodes = await session.list_nodes()
    except ClusterError as exc:
        # The node list is one read: the session controls' own lists may still be answered.
        await _await_session_controls(state)
        _close_cluster(run, state, Status.ERROR, str(exc))
    except TimeoutError:
        await _stop_session_controls(state)
        if not bound.fired():
            await _close_session(session)
            raise
        _close_cluster(run, state, Status.ERROR, NOT_SCANNED_REASON)
    except BaseException:
        await _stop_session_controls(state)
        raise
    else:
        if not nodes:
            await _await_session_controls(state)
            _close_cluster(run, state, Status.SKIPPED, "the cluster has no nodes")
        elif not state.closed:
            state.nodes = nodes
            with run.lock:
                run.totals.nodes += len(nodes)
            run.progress.nodes_found(len(nodes))
            return state, session, nodes
    await _close_session(session)
    return None


async def _stop_session_controls(state: _ClusterState) -> None:
    """Cancel the session controls' reads (the cluster ends before them); a bug still raises."""
    task = state.session_task
    if task is None or task.done():
        await _await_session_controls(state)
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _await_session_controls(state: _ClusterState) -> None:
    """Wait for the session controls' rows (raising what a bug in them raised)."""
    if state.session_task is not None:
        await state.session_task


async def _session_controls(scan: _Scan, state: _ClusterState, session: ClusterSession) -> None:
    """The cluster-scoped controls that read the cluster's Kubernetes API, once per cluster:
    from connect on, beside the node list and the configz reads, under the run's deadline."""
    run = scan.run
    controls = run.scanner.benchmark.session_controls
    if not controls:
        return
    reads = frozenset(r for c in controls for r in c.reads)
    reader = run.scanner.session_facts
    bound = scan.until_deadline()
    try:
        async with bound:
            if reader is None:
                facts = failed(
                    tuple(sorted(reads)), "not read: this scanner has no Kubernetes object reader"
                )
            else:
                answer = reader(session, reads)
                facts = await answer if inspect.isawaitable(answer) else answer
    except ClusterError as exc:
        facts = failed(tuple(sorted(reads)), str(exc))
    except TimeoutError:
        if not bound.fired():
            raise
        facts = failed(tuple(sorted(reads)), DEADLINE_REASON)
    cluster = state.cluster
    values: dict[str, Any] = dict(run.arm_context.get(cluster.resource_id.lower(), {}))
    if cluster.arm is not None:
        values[MANAGED_CLUSTER] = cluster.arm
    values.update(facts.values)
    facts = Facts(values, facts.failures)
    context = RowContext.for_cluster(run.run_id, run.scanner.benchmark, state.cluster)
    policy = run.scanner.policy
    rows = findings(
        context, evaluate_cluster(facts, controls, policy), utc_now(), policy, run.today
    )
    if state.closed or state.session_done:
        return
    state.session_done = True
    run.emit(rows)


async def _read_cluster(
    scan: _Scan, state: _ClusterState, session: ClusterSession, nodes: list[Node]
) -> None:
    """Every node's configz, evaluated, as rows; then the session is closed, at once or (when
    the cluster's section 4 lists still run) by a task of its own, so the reader goes on."""
    try:
        await _ClusterReads(scan, state, session, nodes).read_all()
    except BaseException:
        await _stop_session_controls(state)
        await _close_session(session)
        raise
    task = state.session_task
    if task is not None and not task.done():
        scan.finishers.append(asyncio.create_task(_finish(scan, state, session), name="finish"))
        return
    await _finish(scan, state, session)


async def _finish(scan: _Scan, state: _ClusterState, session: ClusterSession) -> None:
    """Close a cluster once its session controls have their rows (a bug in them raises)."""
    try:
        await _await_session_controls(state)
        _close_cluster(scan.run, state)
    finally:
        await _stop_session_controls(state)
        await _close_session(session)


async def _close_session(session: ClusterSession) -> None:
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(CLOSE_SECONDS):
            await session.close()


class _ClusterReads:
    """One cluster's configz reads: ``cluster_concurrency`` readers, rows as each completes."""

    def __init__(
        self, scan: _Scan, state: _ClusterState, session: ClusterSession, nodes: list[Node]
    ) -> None:
        self.scan, self.run, self.state, self.session = scan, scan.run, state, session
        self.pending = deque(nodes)
        self.context = RowContext.for_cluster(
            scan.run.run_id, scan.run.scanner.benchmark, state.cluster
        )
        self.templates: dict[int, tuple[tuple[Verdict, ...], RowTemplate]] = {}
        self.errors: dict[str, RowTemplate] = {}
        self.batch = FindingBatch()
        self.names: list[str] = []
        self.failed = 0

    async def read_all(self) -> None:
        """Every node's rows (the deadline's, for those it stopped), emitted."""
        if not self.run.scanner.benchmark.node_controls:
            # The selection (CIS_SECTIONS) has no node control: no configz is worth a request.
            self.state.emitted.update(node.name for node in self.pending)
            for _ in self.pending:
                self.run.progress.node_done()
            self.pending.clear()
            return
        window = min(self.run.scanner.limits.cluster_concurrency, len(self.pending))
        await asyncio.gather(*(self.reader() for _ in range(window)))
        for node in self.pending:  # the deadline came before their reads started
            self.error(node, DEADLINE_REASON)
        self.pending.clear()
        self.flush()

    async def reader(self) -> None:
        """Read nodes one after another, each within the run's permits, until none is left."""
        run, permits, read = self.run, self.scan.permits, self.session.read_configz
        node: Node | None = None
        bound = self.scan.until_deadline()
        try:
            async with bound:
                while self.pending and not self.state.closed and not run.expired():
                    node = self.pending.popleft()
                    try:
                        async with permits:
                            body = await read(node.name)
                    except NodeError as exc:
                        self.unreadable(node, exc)
                    else:
                        self.evaluated(node, body)
                    node = None
        except TimeoutError:
            if node is None or not bound.fired():
                raise
            self.error(node, DEADLINE_REASON)

    def evaluated(self, node: Node, body: bytes) -> None:
        """Parse and evaluate one node's body; its rows (ERROR when it does not parse)."""
        try:
            config = parse_configz(body)
        except NodeError as exc:
            self.unreadable(node, exc)
            return
        verdicts = self.scan.memo(config)
        known = self.templates.get(id(verdicts))
        if known is None:
            known = self.templates[id(verdicts)] = (verdicts, RowTemplate(self.context, verdicts))
        template = known[1]
        run = self.run
        self.add(node, template, template.rows(node, utc_now(), run.scanner.policy, run.today))

    def unreadable(self, node: Node, exc: NodeError) -> None:
        reason = f"configz not read: {exc}"
        if not node.ready:
            reason += " (the node reports NotReady)"
        self.error(node, reason)

    def error(self, node: Node, reason: str) -> None:
        """ERROR rows for every control of ``node``."""
        template = self.errors.get(reason)
        if template is None:
            controls = self.run.scanner.benchmark.node_controls
            verdicts = uniform_verdicts(controls, Status.ERROR, reason)
            template = self.errors[reason] = RowTemplate(self.context, verdicts)
        self.failed += 1
        self.add(node, template, template.rows(node, utc_now()))

    def add(self, node: Node, template: RowTemplate, rows: list[bytes]) -> None:
        self.batch.add(template, rows)
        self.names.append(node.name)
        self.run.progress.node_done()
        if len(self.batch) >= FLUSH_ROWS:
            self.flush()

    def flush(self) -> None:
        """Emit the batch, unless the deadline sweep already wrote this cluster's rows."""
        batch, names, failed = self.batch, self.names, self.failed
        self.batch, self.names, self.failed = FindingBatch(), [], 0
        if self.state.closed or not names:
            return
        self.run.emit(batch)
        self.state.emitted.update(names)
        if failed:
            with self.run.lock:
                self.run.totals.nodes_failed += failed


def _node_rows(
    run: Run, cluster: Cluster, node: Node, status: Status, reason: str
) -> list[Finding]:
    context = RowContext.for_cluster(run.run_id, run.scanner.benchmark, cluster, node)
    return run.rows(context, status, reason)
