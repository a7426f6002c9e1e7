"""What each Functions trigger does, as plain functions: parse, build, run, close.

``function_app.py`` only translates between the Functions objects and these calls:

* ``dispatch``: replay dead letters, discover, write the run's rows for what needs no scan
  (discovery failures, stopped clusters, and every cluster's ARM-evaluated cluster controls,
  whose tenant-wide reads are made once here) and one run record, and return one queue message
  per running cluster (timer, and HTTP without ``wait``);
* ``scan_cluster``: scan the one cluster a queue message names (queue trigger): its nodes and
  the cluster controls that need its API server, not the ARM ones its dispatcher wrote;
* ``scan_inline``: scan at most ten clusters within a deadline and return the rows (HTTP with
  ``wait``).

Every job scans inside the configured scope (SCAN_SUBSCRIPTIONS): the timer scans exactly it,
an HTTP request may narrow it but not widen it, and a queue message for a cluster outside it is
refused (BadInputError) before any call. ``env`` is the environment to read settings from
(default: the process's, through shared.bootstrap). Rows go through the sink chain
shared.bootstrap wires, so rows that Log Analytics does not accept wait in the dead-letter
container and are re-sent by the next dispatch.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace

from shared import pipeline
from shared.adapters.output import CollectingSink
from shared.bootstrap import App, DeadLetters, build, load_settings
from shared.core.auth import Caller
from shared.core.errors import OutOfScopeError
from shared.core.identifiers import ClusterId
from shared.core.model import Cluster, ScanScope
from shared.core.records import Finding, RunRecord
from shared.entrypoints.messages import MAX_WAIT_CLUSTERS, BadInputError, ClusterMessage
from shared.pipeline import ScanOutcome
from shared.ports import DeadLetterStore
from shared.settings import Settings

log = logging.getLogger(__name__)

HTTP_DEADLINE_SECONDS = 180.0  # the Functions front end cuts HTTP responses at 230 s


@contextmanager
def _app(
    settings: Settings, *, deadline_seconds: float | None = None, store: DeadLetterStore | None
) -> Iterator[App]:
    app = build(
        settings, dead_letters=DeadLetters.BLOB, deadline_seconds=deadline_seconds, store=store
    )
    try:
        if app.delivering is None:
            log.warning(
                "LOGS_INGESTION_ENDPOINT is not set: findings go nowhere but the function's output"
            )
        yield app
    finally:
        app.close()


def within_scope(settings: Settings, request: ScanScope, field: str | None = None) -> ScanScope:
    """``request`` narrowed to the configured scope; BadInputError names what lies outside
    (as ``field`` when given, else the request's own field, e.g. ``clusters[1]``)."""
    try:
        return settings.default_scope.narrow(request)
    except OutOfScopeError as exc:
        raise BadInputError(field or exc.field, exc.detail) from None


@dataclass(frozen=True, slots=True)
class Dispatched:
    """A fanned-out run: its record and one message per running cluster."""

    run: RunRecord
    messages: tuple[str, ...]


def dispatch(
    scope: ScanScope = ScanScope(),  # noqa: B008 - an immutable default: the configured scope
    *,
    trigger: str,
    env: Mapping[str, str] | None = None,
    store: DeadLetterStore | None = None,
    caller: Caller | None = None,
) -> Dispatched:
    """Replay, discover and fan out within the configured scope; BadInputError if outside.

    ``caller`` (who asked; default: the trigger) goes into the run record. The queue messages
    do not carry it: each cluster's record has the same RunId as this one, which names the
    verified caller, and a queue message is not authenticated.
    """
    settings = load_settings(env)
    scope = within_scope(settings, scope)
    run_id = str(uuid.uuid4())
    messages: list[str] = []

    def enqueue(clusters: list[Cluster]) -> None:
        for cluster in clusters:
            cluster_id = ClusterId.parse(cluster.resource_id)  # ARM's own id of the cluster
            message = ClusterMessage(run_id, cluster_id, settings.benchmark, settings.policy)
            messages.append(message.to_json())

    with _app(settings, store=store) as app:
        app.replay()
        outcome = pipeline.dispatch_scan(
            app.scanner,
            scope,
            app.sinks,
            enqueue,
            trigger=trigger,
            run_id=run_id,
            delivery=app.delivering.stats if app.delivering else None,
            caller=caller,
        )
    log.info("run %s dispatched %d clusters", run_id, len(messages))
    return Dispatched(outcome.run, tuple(messages))


def scan_cluster(
    message: ClusterMessage,
    *,
    env: Mapping[str, str] | None = None,
    store: DeadLetterStore | None = None,
) -> ScanOutcome:
    """Scan the cluster of one queue message with the message's benchmark and policy.

    BadInputError (nothing called) when the cluster is outside the configured scope: a message
    another producer wrote cannot widen what this app scans.
    """
    # The message fixes the benchmark and the eventRecordQPS rule the dispatcher used; levels
    # and exemptions come from this app's SCAN_POLICY and the sections from its CIS_SECTIONS,
    # the same settings the dispatcher read.
    base = load_settings(env)
    scope = within_scope(base, ScanScope(clusters=(message.cluster,)), "clusterId")
    policy = replace(
        base.policy,
        event_record_qps_min=message.policy.event_record_qps_min,
        event_record_qps_mode=message.policy.event_record_qps_mode,
    )
    settings = replace(base, benchmark=message.benchmark, policy=policy)
    with _app(settings, store=store) as app:
        return pipeline.run_scan(
            app.scanner,
            scope,
            app.sinks,
            trigger="queue",
            run_id=message.run_id,
            delivery=app.delivering.stats if app.delivering else None,
            arm_rows=False,  # the dispatcher wrote them: one row per (cluster, control) per run
        )


@dataclass(frozen=True, slots=True)
class InlineResult:
    """An HTTP ``wait`` scan: the run record and every row."""

    run: RunRecord
    findings: tuple[Finding, ...]


def scan_inline(
    scope: ScanScope = ScanScope(),  # noqa: B008 - an immutable default: the configured scope
    *,
    env: Mapping[str, str] | None = None,
    deadline_seconds: float = HTTP_DEADLINE_SECONDS,
    store: DeadLetterStore | None = None,
    caller: Caller | None = None,
) -> InlineResult:
    """Scan at most MAX_WAIT_CLUSTERS running clusters now; BadInputError if there are more.

    ``caller`` (who asked) goes into the run record and the log line that starts the run.
    """
    settings = load_settings(env)
    scope = within_scope(settings, scope)
    collected = CollectingSink()
    with _app(settings, deadline_seconds=deadline_seconds, store=store) as app:
        app.replay()
        run = pipeline.start_run(
            app.scanner, [*app.sinks, collected], trigger="http", caller=caller
        )
        discovered = pipeline.discover(run, scope)
        running = [d for d in discovered if isinstance(d, Cluster) and not d.stopped]
        if len(running) > MAX_WAIT_CLUSTERS:
            raise BadInputError(
                "wait",
                f"scans at most {MAX_WAIT_CLUSTERS} running clusters inline and "
                f"the scope has {len(running)}; omit wait to dispatch the scan",
            )
        clusters = pipeline.triage(run, discovered)
        pipeline.evaluate_arm(run, discovered)
        pipeline.scan_clusters(run, clusters)
        outcome = pipeline.finish(run, app.delivering.stats if app.delivering else None)
    return InlineResult(outcome.run, tuple(collected.rows))
