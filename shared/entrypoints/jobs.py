"""What each Functions trigger does, as plain functions of an environment mapping.

``function_app.py`` only translates between the Functions objects and these calls:

* ``dispatch``: replay dead letters, discover, write the run's rows for what needs no scan
  (discovery failures, stopped clusters) and one run record, and return one queue message per
  running cluster (timer, and HTTP without ``wait``);
* ``scan_cluster``: scan the one cluster a queue message names (queue trigger);
* ``scan_inline``: scan at most ten clusters within a deadline and return the rows (HTTP with
  ``wait``).

Every job uploads through ``DeliveringSink``, so rows that Log Analytics does not accept wait in
the dead-letter container and are re-sent by the next dispatch.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

from shared.adapters.deadletter import BlobDeadLetterStore, DeadLetterStore, DeliveringSink
from shared.adapters.output import CollectingSink
from shared.bootstrap import Wired, build
from shared.core.model import Cluster, ScanScope
from shared.core.records import Finding, RunRecord
from shared.entrypoints.messages import MAX_WAIT_CLUSTERS, BadInputError, ClusterMessage
from shared.pipeline import ScanOutcome, run_scan
from shared.ports import FindingSink
from shared.settings import Settings

log = logging.getLogger(__name__)

HTTP_DEADLINE_SECONDS = 180.0  # the Functions front end cuts HTTP responses at 230 s


@dataclass
class _Runtime:
    settings: Settings
    wired: Wired
    delivering: DeliveringSink | None
    sinks: list[FindingSink] = field(default_factory=list)


@contextmanager
def _runtime(
    env: Mapping[str, str],
    *,
    settings: Settings | None = None,
    deadline_seconds: float | None = None,
    store: DeadLetterStore | None = None,
) -> Iterator[_Runtime]:
    settings = settings or Settings.from_env(env)
    wired = build(settings, deadline_seconds=deadline_seconds)
    try:
        delivering = None
        sinks: list[FindingSink] = []
        if wired.log_analytics is not None:
            store = store or BlobDeadLetterStore.from_settings(env)
            delivering = DeliveringSink(
                wired.log_analytics, store, settings.logs_findings_stream, settings.logs_runs_stream
            )
            sinks.append(delivering)
        else:
            log.warning(
                "LOGS_INGESTION_ENDPOINT is not set: findings go nowhere but the function's output"
            )
        yield _Runtime(settings, wired, delivering, sinks)
    finally:
        wired.close()


@dataclass(frozen=True, slots=True)
class Dispatched:
    """A fanned-out run: its record and one message per running cluster."""

    run: RunRecord
    messages: tuple[str, ...]


def dispatch(
    env: Mapping[str, str], scope: ScanScope, *, trigger: str, store: DeadLetterStore | None = None
) -> Dispatched:
    """Replay, discover and fan out; the run record counts discovery and delivery."""
    run_id = str(uuid.uuid4())
    messages: list[str] = []
    with _runtime(env, store=store) as rt:
        if rt.delivering is not None:
            rt.delivering.replay()

        def enqueue(clusters: list[Cluster]) -> None:
            for cluster in clusters:
                messages.append(
                    ClusterMessage(
                        run_id, cluster.resource_id, rt.settings.benchmark, rt.settings.policy
                    ).to_json()
                )

        outcome = run_scan(
            rt.wired.scanner,
            scope,
            rt.sinks,
            trigger=trigger,
            run_id=run_id,
            dispatch=enqueue,
            delivery=rt.delivering.stats if rt.delivering else None,
        )
    log.info("run %s dispatched %d clusters", run_id, len(messages))
    return Dispatched(outcome.run, tuple(messages))


def scan_cluster(
    env: Mapping[str, str], message: ClusterMessage, store: DeadLetterStore | None = None
) -> ScanOutcome:
    """Scan the cluster of one queue message with the message's benchmark and policy."""
    # The message fixes the benchmark and the eventRecordQPS rule the dispatcher used; levels
    # and exemptions come from this app's SCAN_POLICY, the same file the dispatcher read.
    base = Settings.from_env(env)
    policy = replace(
        base.policy,
        event_record_qps_min=message.policy.event_record_qps_min,
        event_record_qps_mode=message.policy.event_record_qps_mode,
    )
    settings = replace(base, benchmark=message.benchmark, policy=policy)
    with _runtime(env, settings=settings, store=store) as rt:
        return run_scan(
            rt.wired.scanner,
            ScanScope(clusters=(message.cluster_id,)),
            rt.sinks,
            trigger="queue",
            run_id=message.run_id,
            delivery=rt.delivering.stats if rt.delivering else None,
        )


@dataclass(frozen=True, slots=True)
class InlineResult:
    """An HTTP ``wait`` scan: the run record and every row."""

    run: RunRecord
    findings: tuple[Finding, ...]


def scan_inline(
    env: Mapping[str, str],
    scope: ScanScope,
    *,
    deadline_seconds: float = HTTP_DEADLINE_SECONDS,
    store: DeadLetterStore | None = None,
) -> InlineResult:
    """Scan at most MAX_WAIT_CLUSTERS running clusters now; BadInputError if there are more."""
    collected = CollectingSink()
    with _runtime(env, deadline_seconds=deadline_seconds, store=store) as rt:
        if rt.delivering is not None:
            rt.delivering.replay()
        discovered = list(rt.wired.scanner.discovery.discover(scope))
        running = [d for d in discovered if isinstance(d, Cluster) and not d.stopped]
        if len(running) > MAX_WAIT_CLUSTERS:
            raise BadInputError(
                "wait",
                f"scans at most {MAX_WAIT_CLUSTERS} running clusters inline and "
                f"the scope has {len(running)}; omit wait to dispatch the scan",
            )
        outcome = run_scan(
            rt.wired.scanner,
            scope,
            [*rt.sinks, collected],
            trigger="http",
            discovered=discovered,
            delivery=rt.delivering.stats if rt.delivering else None,
        )
    return InlineResult(outcome.run, tuple(collected.rows))
