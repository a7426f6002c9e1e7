"""In-memory implementations of the ports, for unit tests of the pipeline and the triggers.

They follow the ports' contracts (errors included) rather than returning what a test expects:
a FakeSession raises ConfigzFetchError for a node it was told is unreachable, exactly as the
Kubernetes adapter does. End-to-end tests use the simulated estate (sim) instead.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.core.errors import ApiServerError, ClusterError, ConfigzFetchError, SinkError
from shared.core.facts import MANAGED_CLUSTER, Facts, ReadFailure
from shared.core.model import Cluster, Node, ScanScope
from shared.core.records import Finding, RunRecord
from shared.ports import Discovered, DiscoveryFailure, SubscriptionSearched


@dataclass
class FakeDiscovery:
    """Yields the given clusters (filtered by scope) and failures."""

    clusters: Sequence[Cluster] = ()
    failures: Sequence[DiscoveryFailure] = ()

    def discover(self, scope: ScanScope) -> Iterator[Discovered]:
        """Clusters in scope, then failures, then the searched subscriptions."""
        wanted_subs = set(scope.subscriptions)
        wanted_ids = {c.key for c in scope.clusters}
        seen: set[str] = set()
        for cluster in self.clusters:
            in_scope = (
                cluster.resource_id.lower() in wanted_ids or cluster.subscription_id in wanted_subs
            )
            if (wanted_ids or wanted_subs) and not in_scope:
                continue
            seen.add(cluster.subscription_id)
            yield cluster
        yield from self.failures
        for subscription in sorted(seen | wanted_subs):
            yield SubscriptionSearched(subscription)


@dataclass
class FakeCluster:
    """What one fake API server holds: nodes and a configz body (or an error) per node."""

    nodes: Sequence[Node]
    bodies: Mapping[str, bytes | Exception]
    connect_error: ClusterError | None = None
    list_error: ApiServerError | None = None


class FakeSession:
    """ClusterSession over a FakeCluster; counts reads.

    Its reads are coroutines, as a real session's: a test that wants a slow or hanging node
    replaces ``read_configz`` with one that awaits (``asyncio.sleep``), and the run's deadline
    or cancellation ends it as it would a real read in flight.
    """

    def __init__(self, cluster: FakeCluster) -> None:
        self._cluster = cluster
        self.reads: list[str] = []
        self.closed = False

    async def list_nodes(self) -> list[Node]:
        """The nodes, or the configured ApiServerError."""
        if self._cluster.list_error is not None:
            raise self._cluster.list_error
        return list(self._cluster.nodes)

    async def read_configz(self, node_name: str) -> bytes:
        """The node's body; ConfigzFetchError for unknown nodes or configured errors."""
        if self.closed:
            raise RuntimeError("FakeSession used after close")
        self.reads.append(node_name)
        body = self._cluster.bodies.get(node_name)
        if body is None:
            raise ConfigzFetchError(
                f'HTTP 404 while reading configz: not found: nodes "{node_name}" not found'
            )
        if isinstance(body, Exception):
            raise body
        return body

    async def close(self) -> None:
        """Mark closed."""
        self.closed = True


@dataclass
class FakeConnector:
    """ClusterConnector keyed by cluster resource id."""

    clusters: Mapping[str, FakeCluster]
    sessions: list[FakeSession] = field(default_factory=list)

    def connect(self, cluster: Cluster) -> FakeSession:
        """A FakeSession, or the configured ClusterError."""
        fake = self.clusters[cluster.resource_id]
        if fake.connect_error is not None:
            raise fake.connect_error
        session = FakeSession(fake)
        self.sessions.append(session)
        return session


@dataclass
class FakeFactSource:
    """ClusterFactSource from fixed values: ``shared`` for every cluster, ``per_cluster`` by
    resource id, ``refused`` reads failing with their reason. ``managedCluster`` is the
    cluster's own ``arm`` object, as the Azure adapter gives it. Records each call's reads.

    A read neither given nor refused is simply absent from the Facts (the evaluation then says
    it was not collected); reads not started once ``expired()`` is true fail with the deadline.
    """

    shared: Mapping[str, Any] = field(default_factory=dict)
    per_cluster: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    refused: Mapping[str, str] = field(default_factory=dict)
    calls: list[frozenset[str]] = field(default_factory=list)

    def collect(
        self, clusters: Sequence[Cluster], reads: frozenset[str], expired: Callable[[], bool]
    ) -> Iterator[tuple[Cluster, Facts]]:
        """Each cluster with the configured facts for ``reads``."""
        self.calls.append(reads)
        for cluster in clusters:
            if expired():
                deadline = ReadFailure("not read: the run's deadline was reached first")
                yield cluster, Facts({}, dict.fromkeys(reads, deadline))
                continue
            values: dict[str, Any] = {}
            failures: dict[str, ReadFailure] = {}
            own = {**self.shared, **self.per_cluster.get(cluster.resource_id, {})}
            if cluster.arm is not None:
                own.setdefault(MANAGED_CLUSTER, cluster.arm)
            for read in reads:
                if read in self.refused:
                    failures[read] = ReadFailure(self.refused[read])
                elif read in own:
                    values[read] = own[read]
            yield cluster, Facts(values, failures)


@dataclass
class ListSink:
    """FindingSink that keeps everything in memory; ``fail_batches`` makes the first N fail.

    The Functions app uses it unconfigured to collect the rows an HTTP ``wait`` scan returns.
    """

    rows: list[Finding] = field(default_factory=list)
    runs: list[RunRecord] = field(default_factory=list)
    fail_batches: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def write_findings(self, rows: Sequence[Finding]) -> None:
        """Keep rows (or fail, as configured)."""
        with self._lock:
            if self.fail_batches > 0:
                self.fail_batches -= 1
                raise SinkError("ListSink told to fail", [r.row() for r in rows])
            self.rows.extend(rows)

    def write_run(self, run: RunRecord) -> None:
        """Keep the run record."""
        with self._lock:
            self.runs.append(run)


def configz_body(kubeletconfig: Mapping[str, Any]) -> bytes:
    """A configz body in the wire shape: ``{"kubeletconfig": {...}}``."""
    return json.dumps({"kubeletconfig": kubeletconfig}, separators=(",", ":")).encode()
