"""The ports between the pure core and the edges. Adapters and fakes implement these.

The pipeline (shared.pipeline) depends only on these protocols; shared.bootstrap wires the
real adapters, tests and the simulated estate wire theirs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from shared.core.facts import Facts
from shared.core.model import Cluster, Node, ScanScope
from shared.core.records import Finding, RunRecord


@dataclass(frozen=True, slots=True)
class DiscoveryFailure:
    """Discovery could not list a subscription's clusters, or read one named cluster."""

    subscription_id: str
    reason: str
    cluster_id: str = ""


@dataclass(frozen=True, slots=True)
class SubscriptionSearched:
    """A subscription was searched; emitted once per subscription so empty ones are counted."""

    subscription_id: str


Discovered = Cluster | DiscoveryFailure | SubscriptionSearched


class ClusterDiscovery(Protocol):
    """Finds clusters in scope (Resource Graph, or per-subscription ARM listing)."""

    def discover(self, scope: ScanScope) -> Iterator[Discovered]:
        """Clusters in scope, failures, and one SubscriptionSearched per subscription searched."""
        ...


class ClusterSession(Protocol):
    """An authenticated connection to one cluster's API server, used on the scan's event loop.

    Its methods are coroutines: the pipeline awaits them on its one loop, so a session must
    never block the loop (a blocking call runs in the loop's executor, ``asyncio.to_thread``).
    """

    async def list_nodes(self) -> list[Node]:
        """All nodes (paged with limit/continue). Raises ApiServerError."""
        ...

    async def read_configz(self, node_name: str) -> bytes:
        """One node's raw configz body; raises ConfigzFetchError.

        The session bounds each read's total time itself (SCAN_REQUEST_TIMEOUT); cancelling
        the coroutine abandons the read.
        """
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


class ClusterConnector(Protocol):
    """Turns a discovered cluster into a session. Raises ClusterError subclasses."""

    def connect(self, cluster: Cluster) -> ClusterSession:
        """Fetch server URL and CA, authenticate, and return a session.

        May block (ARM and token calls): the pipeline calls it in its loop's executor.
        """
        ...


class ClusterFactSource(Protocol):
    """Collects the reads cluster-scoped controls need (shared.core.facts), for many clusters.

    Reads shared by every cluster (Resource Graph: pricings, registries, role assignments) are
    made once per call; per-cluster reads (diagnostic settings) with bounded concurrency. A read
    that fails is a ReadFailure in that cluster's Facts, naming what to grant; nothing raises.
    """

    def collect(
        self, clusters: Sequence[Cluster], reads: frozenset[str], expired: Callable[[], bool]
    ) -> Iterator[tuple[Cluster, Facts]]:
        """Each cluster with its facts, for ``reads``; reads not started once ``expired()``
        is true fail with the deadline as their reason."""
        ...


#: Reads ``k8s:`` facts through a cluster's open session: a coroutine function, awaited on the
#: scan's event loop (the session's reads are coroutines); a plain function's result is taken as
#: it is, so it must not block.
SessionFactReader = Callable[[ClusterSession, frozenset[str]], "Facts | Awaitable[Facts]"]


class FindingSink(Protocol):
    """Where rows go: Log Analytics, a file, the terminal, a test list."""

    def write_findings(self, rows: Sequence[Finding]) -> None:
        """Accept one cluster's rows. Raises SinkError when rows could not be kept.

        The pipeline passes a ``shared.core.rows.FindingBatch`` (a Sequence[Finding] that also
        holds each row's JSON) from its one writer thread.
        """
        ...

    def write_run(self, run: RunRecord) -> None:
        """Accept the run record."""
        ...


class DeliveryCounts(Protocol):
    """Row delivery counters a sink keeps for the run record."""

    rows_sent: int
    rows_dead_lettered: int
    rows_replayed: int


@dataclass(frozen=True, slots=True)
class Letter:
    """One stored batch: the DCR stream and its rows."""

    name: str
    stream: str
    rows: list[dict[str, Any]]


class DeadLetterStore(Protocol):
    """Durable storage for rows waiting to be re-sent."""

    def put(self, stream: str, rows: Sequence[Mapping[str, Any]]) -> str:
        """Store rows; return the letter's name. Raises SinkError when it cannot."""
        ...

    def names(self) -> list[str]:
        """Names of waiting letters, oldest first."""
        ...

    def claim(self, name: str) -> AbstractContextManager[Letter | None]:
        """Hold the letter exclusively while replaying it; None when another run holds it."""
        ...

    def delete(self, name: str) -> None:
        """Remove a letter whose rows were all accepted."""
        ...


class Uploader(Protocol):
    """What replay needs from the Log Analytics sink."""

    def upload(self, stream: str, rows: list[dict[str, Any]]) -> None:
        """Upload rows; SinkError carries the rows that failed."""
        ...


@runtime_checkable
class JsonUploader(Uploader, Protocol):
    """An Uploader that also takes rows already serialized (each a JSON object, UTF-8)."""

    def upload_json(self, stream: str, rows: list[bytes]) -> None:
        """Upload serialized rows; SinkError carries the rows that failed (as dicts)."""
        ...


@dataclass(frozen=True, slots=True)
class CommandOutput:
    """A command that ran to the end: its exit code and its (possibly truncated) logs."""

    command_id: str
    exit_code: int
    logs: str


class CommandRunner(Protocol):
    """Runs one script on a cluster through the run command API."""

    def run(self, script: str) -> CommandOutput:
        """Submit, wait, and return the finished command. Raises RunCommandError."""
        ...


class TokenVerifier(Protocol):
    """Checks a bearer token of POST /api/scan (shared.adapters.entra_auth.EntraTokenVerifier)."""

    def verify(self, token: str) -> Mapping[str, Any]:
        """The verified claims; UnauthenticatedError or AuthUnavailableError if not."""
        ...
