"""The two record shapes the scanner emits, and their one schema.

``FINDING_COLUMNS`` and ``RUN_COLUMNS`` are the single source of truth for the Log Analytics
tables ``KubeletFindings_CL`` / ``KubeletScanRuns_CL``, the data collection rule's stream
declarations (infra/) and the JSON outputs; tests check all of them against these tuples.
Types are Log Analytics column types.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime
from typing import Any

from shared.core.controls import Benchmark, Control
from shared.core.model import Cluster, Node, Policy, RunTotals, Status, Verdict

FINDING_COLUMNS: tuple[tuple[str, str], ...] = (
    ("TimeGenerated", "datetime"),
    ("RunId", "string"),
    ("RecordId", "string"),
    ("Benchmark", "string"),
    ("ControlId", "string"),
    ("ControlTitle", "string"),
    ("Level", "int"),
    ("Status", "string"),
    ("Actual", "string"),
    ("Expected", "string"),
    ("Reason", "string"),
    ("Remediation", "string"),
    ("SubscriptionId", "string"),
    ("ResourceGroup", "string"),
    ("ClusterName", "string"),
    ("ClusterId", "string"),
    ("NodePool", "string"),
    ("NodeName", "string"),
    ("KubeletVersion", "string"),
    ("OsImage", "string"),
    ("Exempt", "boolean"),
    ("ExemptionReason", "string"),
    ("ExemptionExpires", "string"),
)

RUN_COLUMNS: tuple[tuple[str, str], ...] = (
    ("TimeGenerated", "datetime"),
    ("RunId", "string"),
    ("Trigger", "string"),
    ("TriggeredBy", "string"),
    ("Benchmark", "string"),
    ("StartedAt", "datetime"),
    ("FinishedAt", "datetime"),
    ("Subscriptions", "int"),
    ("Clusters", "int"),
    ("ClustersFailed", "int"),
    ("Nodes", "int"),
    ("NodesFailed", "int"),
    ("Passed", "int"),
    ("Failed", "int"),
    ("Errors", "int"),
    ("Skipped", "int"),
    ("Manual", "int"),
    ("ExemptionsExpiring", "int"),
    ("ExpiringExemptions", "string"),
    ("RowsSent", "int"),
    ("RowsDeadLettered", "int"),
    ("RowsReplayed", "int"),
)


@dataclass(frozen=True, slots=True)
class Finding:
    """One row per (node, control); node fields empty when the whole cluster was not reached."""

    TimeGenerated: str
    RunId: str
    RecordId: str
    Benchmark: str
    ControlId: str
    ControlTitle: str
    Level: int
    Status: str
    Actual: str
    Expected: str
    Reason: str
    Remediation: str
    SubscriptionId: str
    ResourceGroup: str
    ClusterName: str
    ClusterId: str
    NodePool: str
    NodeName: str
    KubeletVersion: str
    OsImage: str
    Exempt: bool
    ExemptionReason: str
    ExemptionExpires: str

    def row(self) -> dict[str, Any]:
        """The Log Analytics / JSON row."""
        # Every field is a str, int or bool: a flat dict is what dataclasses.asdict would build,
        # without its recursive deep copy (a tenth of the CPU; it ran for every row uploaded).
        return {name: getattr(self, name) for name in _FINDING_FIELDS}


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One row per scan run."""

    TimeGenerated: str
    RunId: str
    Trigger: str
    TriggeredBy: str  # JSON: kind, and for Entra callers objectId, appId, name, tenantId
    Benchmark: str
    StartedAt: str
    FinishedAt: str
    Subscriptions: int
    Clusters: int
    ClustersFailed: int
    Nodes: int
    NodesFailed: int
    Passed: int
    Failed: int
    Errors: int
    Skipped: int
    Manual: int
    ExemptionsExpiring: int
    ExpiringExemptions: str
    RowsSent: int
    RowsDeadLettered: int
    RowsReplayed: int

    def row(self) -> dict[str, Any]:
        """The Log Analytics / JSON row."""
        return {name: getattr(self, name) for name in _RUN_FIELDS}


_FINDING_FIELDS = tuple(f.name for f in fields(Finding))
_RUN_FIELDS = tuple(f.name for f in fields(RunRecord))


def utc_now() -> str:
    """ISO 8601 UTC timestamp with a Z suffix, as Log Analytics expects for datetime columns."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def record_id(run_id: str, cluster_id: str, node_name: str, control_id: str) -> str:
    """Deterministic id of a (run, cluster, node, control) row, so KQL can drop duplicates."""
    key = "\x1f".join((run_id, cluster_id.lower(), node_name, control_id))
    return hashlib.sha256(key.encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class RowContext:
    """What every row of one target (a node, or a cluster with no node) shares."""

    run_id: str
    benchmark: Benchmark
    subscription_id: str
    resource_group: str = ""
    cluster_name: str = ""
    cluster_id: str = ""
    node: Node | None = None

    @classmethod
    def for_cluster(
        cls, run_id: str, benchmark: Benchmark, cluster: Cluster, node: Node | None = None
    ) -> RowContext:
        """Context for a cluster's rows (with ``node`` for a node's rows)."""
        return cls(
            run_id,
            benchmark,
            cluster.subscription_id,
            cluster.resource_group,
            cluster.name,
            cluster.resource_id,
            node,
        )


#: Columns whose value depends on the node or on the row itself; every other column depends only
#: on the target (run, cluster or subscription), the control and its verdict. ``target_columns``
#: and ``node_columns`` give exactly these two sets (tests check it against FINDING_COLUMNS), so
#: a row template (``RowTemplate``) can serialize the second kind once per cluster and verdict.
NODE_COLUMNS: frozenset[str] = frozenset(
    {
        "TimeGenerated",
        "RecordId",
        "NodePool",
        "NodeName",
        "KubeletVersion",
        "OsImage",
        "Exempt",
        "ExemptionReason",
        "ExemptionExpires",
    }
)


def target_columns(context: RowContext, control: Control, verdict: Verdict) -> dict[str, Any]:
    """The columns of a row that do not depend on the node (every column not in NODE_COLUMNS)."""
    return {
        "RunId": context.run_id,
        "Benchmark": context.benchmark.name,
        "ControlId": control.id,
        "ControlTitle": control.title,
        "Level": control.level,
        "Status": verdict.status.value,
        "Actual": verdict.actual,
        "Expected": verdict.expected,
        "Reason": verdict.reason,
        "Remediation": control.remediation
        if verdict.status in (Status.FAIL, Status.MANUAL)
        else "",
        "SubscriptionId": context.subscription_id,
        "ResourceGroup": context.resource_group,
        "ClusterName": context.cluster_name,
        "ClusterId": context.cluster_id,
    }


def node_columns(  # noqa: PLR0917 - the row's parts, as findings() passes them
    context: RowContext,
    node: Node,
    control: Control,
    verdict: Verdict,
    when: str,
    policy: Policy | None = None,
    today: date | None = None,
) -> dict[str, Any]:
    """The NODE_COLUMNS of a row; a FAIL covered by an active exemption is marked Exempt."""
    exemption = None
    if policy is not None and policy.exemptions and verdict.status is Status.FAIL:
        exemption = policy.exemption_for(
            control.id,
            context.subscription_id,
            context.cluster_id,
            node.node_pool,
            today or datetime.now(UTC).date(),
        )
    return {
        "TimeGenerated": when,
        "RecordId": record_id(
            context.run_id, context.cluster_id or context.subscription_id, node.name, control.id
        ),
        "NodePool": node.node_pool,
        "NodeName": node.name,
        "KubeletVersion": node.kubelet_version,
        "OsImage": node.os_image,
        "Exempt": exemption is not None,
        "ExemptionReason": exemption.reason if exemption else "",
        "ExemptionExpires": exemption.expires.isoformat() if exemption else "",
    }


def findings(
    context: RowContext,
    verdicts: tuple[Verdict, ...],
    when: str,
    policy: Policy | None = None,
    today: date | None = None,
) -> list[Finding]:
    """Rows for one target's verdicts; a FAIL covered by an active exemption is marked Exempt."""
    node = context.node or Node(name="")
    controls: dict[str, Control] = {c.id: c for c in context.benchmark.controls}
    rows = []
    for verdict in verdicts:
        control = controls[verdict.control_id]
        rows.append(
            Finding(
                **target_columns(context, control, verdict),
                **node_columns(context, node, control, verdict, when, policy, today),
            )
        )
    return rows


def run_record(
    run_id: str,
    trigger: str,
    benchmark: str,
    started: str,
    totals: RunTotals,
    *,
    expiring: tuple[int, str] = (0, "[]"),
    triggered_by: str = "",
) -> RunRecord:
    """Freeze a run's counters into its record (with the exemptions about to expire).

    ``triggered_by`` is the caller's JSON (shared.core.auth.Caller.triggered_by); empty means
    the trigger itself (``{"kind": trigger}``).
    """
    finished = utc_now()
    return RunRecord(
        TimeGenerated=finished,
        RunId=run_id,
        Trigger=trigger,
        TriggeredBy=triggered_by or json.dumps({"kind": trigger}, separators=(",", ":")),
        Benchmark=benchmark,
        StartedAt=started,
        FinishedAt=finished,
        Subscriptions=len(totals.subscriptions),
        Clusters=totals.clusters,
        ClustersFailed=totals.clusters_failed,
        Nodes=totals.nodes,
        NodesFailed=totals.nodes_failed,
        Passed=totals.passed,
        Failed=totals.failed,
        Errors=totals.errors,
        Skipped=totals.skipped,
        Manual=totals.manual,
        ExemptionsExpiring=expiring[0],
        ExpiringExemptions=expiring[1],
        RowsSent=totals.rows_sent,
        RowsDeadLettered=totals.rows_dead_lettered,
        RowsReplayed=totals.rows_replayed,
    )


def column_names(record_type: type[Finding] | type[RunRecord]) -> tuple[str, ...]:
    """Field names of a record dataclass, in order."""
    return tuple(f.name for f in fields(record_type))
