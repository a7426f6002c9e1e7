"""The two record shapes the scanner emits, and their one schema.

``FINDING_COLUMNS`` and ``RUN_COLUMNS`` are the single source of truth for the Log Analytics
tables (``FINDINGS_TABLE``, ``RUNS_TABLE``), the data collection rule's stream declarations
(``FINDINGS_STREAM``, ``RUNS_STREAM``, the defaults of LOGS_FINDINGS_STREAM / LOGS_RUNS_STREAM)
in infra/, and the JSON outputs; tests check all of them against these names and tuples.
Types are Log Analytics column types.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime
from typing import Any

from shared.core.controls import Benchmark, Control, Scope
from shared.core.model import Cluster, Evidence, Node, Policy, RunTotals, Status, Verdict

#: The Log Analytics tables and the data collection rule streams that feed them; infra/ and every
#: query use these names (tests/infra check them).
FINDINGS_TABLE = "AksCisFindings_CL"
RUNS_TABLE = "AksCisScanRuns_CL"
FINDINGS_STREAM = "Custom-AksCisFindings"
RUNS_STREAM = "Custom-AksCisScanRuns"

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
    ("Section", "string"),
    ("Scope", "string"),
    ("Evidence", "string"),
    ("EvidenceCount", "int"),
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
    ("ClusterRows", "int"),
)


@dataclass(frozen=True, slots=True)
class Finding:
    """One row per (node, control) or (cluster, control).

    ``Scope`` is the control's: ``node`` rows carry the node (its fields are empty when the
    whole cluster was not reached), ``cluster`` rows never do. ``Evidence`` is a JSON object
    of what a cluster-scoped check saw (``render_evidence``); ``EvidenceCount`` the length of
    its first list (offending pools, registries, principals).
    """

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
    Section: str
    Scope: str
    Evidence: str
    EvidenceCount: int

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
    ClusterRows: int

    def row(self) -> dict[str, Any]:
        """The Log Analytics / JSON row."""
        return {name: getattr(self, name) for name in _RUN_FIELDS}


_FINDING_FIELDS = tuple(f.name for f in fields(Finding))
_RUN_FIELDS = tuple(f.name for f in fields(RunRecord))


#: Evidence bounds: at most EVIDENCE_ITEMS items of each list, each at most EVIDENCE_ITEM_CHARS
#: long; a whole Evidence value at most EVIDENCE_MAX_CHARS (fewer items are shown until it fits).
EVIDENCE_ITEMS = 10
EVIDENCE_ITEM_CHARS = 200
EVIDENCE_MAX_CHARS = 4096


def render_evidence(evidence: Evidence) -> str:
    """``Evidence`` as one bounded JSON object; empty string when there is none.

    Values keep their JSON form; each list becomes ``{"count": n, "first": [...]}`` with its
    first items in sorted order. The count is always the full one, so a shortened list says how
    much it left out.
    """
    if evidence.empty:
        return ""
    for shown in range(EVIDENCE_ITEMS, -1, -1):
        document: dict[str, Any] = {}
        for name, value in evidence.values:
            if isinstance(value, tuple):
                head = [_clip(str(v)) for v in value[:shown]]
                # a value cut short says how long it was, like a list
                document[name] = (
                    head if len(value) <= shown else {"count": len(value), "first": head}
                )
            elif isinstance(value, str):
                document[name] = _clip(value)
            else:
                document[name] = value
        for name, listed in evidence.lists:
            ordered = sorted(listed)
            document[name] = {
                "count": evidence.total(name, listed),
                "first": [_clip(i) for i in ordered[:shown]],
            }
        text = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
        if len(text) <= EVIDENCE_MAX_CHARS:
            return text
    return json.dumps({"truncated": True, "count": evidence.count}, separators=(",", ":"))


def _clip(text: str) -> str:
    if len(text) <= EVIDENCE_ITEM_CHARS:
        return text
    return text[: EVIDENCE_ITEM_CHARS - 3] + "..."


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
    cluster_scope = control.scope is Scope.CLUSTER
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
        "Section": control.section,
        "Scope": control.scope.value,
        "Evidence": render_evidence(verdict.evidence) if cluster_scope else "",
        "EvidenceCount": verdict.evidence.count if cluster_scope else 0,
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
        ClusterRows=totals.cluster_rows,
    )


def column_names(record_type: type[Finding] | type[RunRecord]) -> tuple[str, ...]:
    """Field names of a record dataclass, in order."""
    return tuple(f.name for f in fields(record_type))
