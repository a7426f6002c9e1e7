"""What every report shows, computed once from the finding rows: pure, no formatting.

A *target* is what one row is about: a node (``NodeName`` set), or the cluster itself (empty
``NodeName``: a cluster that was not reached, a stopped one, or a cluster-level control). Rows
of a subscription whose clusters could not even be listed have no cluster name; they are
labelled ``subscription <id>``. Everything here is generic over ``FINDING_COLUMNS``: a column
the reports do not name is carried as it is (``extra_columns``).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from shared.core.records import FINDING_COLUMNS, Finding

STATUSES = ("PASS", "FAIL", "ERROR", "SKIPPED", "MANUAL")

#: Columns the reports show in their own place; any other column is an extra one.
NAMED_COLUMNS = frozenset(
    {
        "TimeGenerated",
        "RunId",
        "RecordId",
        "Benchmark",
        "ControlId",
        "ControlTitle",
        "Level",
        "Status",
        "Actual",
        "Expected",
        "Reason",
        "Remediation",
        "SubscriptionId",
        "ResourceGroup",
        "ClusterName",
        "ClusterId",
        "NodePool",
        "NodeName",
        "Exempt",
        "ExemptionReason",
        "ExemptionExpires",
    }
)
#: Columns that differ between the rows of one group by nature (one value per row).
PER_ROW_COLUMNS = frozenset({"TimeGenerated", "RecordId", "NodeName"})


def extra_columns() -> tuple[str, ...]:
    """The finding columns no report names itself (shown as they are, in schema order)."""
    return tuple(name for name, _ in FINDING_COLUMNS if name not in NAMED_COLUMNS)


def control_key(control_id: str) -> tuple[int, ...]:
    """Sort key of a control id in benchmark order ("3.2.10" after "3.2.9")."""
    return tuple(int(p) if p.isdigit() else 0 for p in control_id.split("."))


def section_of(control_id: str) -> str:
    """The benchmark section of a control: its id without the last part ("3.2" of "3.2.1")."""
    head, dot, _ = control_id.rpartition(".")
    return head if dot else control_id


def cluster_label(row: Finding) -> str:
    """How a row's cluster is named in a report."""
    return row.ClusterName or f"subscription {row.SubscriptionId}"


def judged(row: Finding) -> bool:
    """True when the row's verdict was reached on data read from the cluster (PASS or FAIL)."""
    return row.Status in ("PASS", "FAIL")


@dataclass(frozen=True, slots=True)
class Tally:
    """Rows of one scope counted by status; exempted FAILs are counted apart as well."""

    counts: dict[str, int]
    exempt: int
    targets: int
    nodes: int

    def get(self, status: str) -> int:
        """Rows with this status."""
        return self.counts.get(status, 0)


def tally(rows: Iterable[Finding]) -> Tally:
    """Count rows by status, exempted FAILs, targets and nodes."""
    counts: Counter[str] = Counter()
    exempt = 0
    targets: set[tuple[str, str, str]] = set()
    for row in rows:
        counts[row.Status] += 1
        exempt += row.Exempt
        targets.add((row.ClusterId or row.SubscriptionId, row.NodePool, row.NodeName))
    return Tally(dict(counts), exempt, len(targets), sum(1 for t in targets if t[2]))


@dataclass(frozen=True, slots=True)
class SectionSummary:
    """One cluster's rows of one benchmark section."""

    cluster: str
    cluster_id: str
    section: str
    tally: Tally


def by_cluster_and_section(rows: Sequence[Finding]) -> list[SectionSummary]:
    """Counts per (cluster, section), sorted by cluster then section in benchmark order."""
    groups: dict[tuple[str, str, str], list[Finding]] = defaultdict(list)
    for row in rows:
        groups[(cluster_label(row), row.ClusterId, section_of(row.ControlId))].append(row)
    return [
        SectionSummary(cluster, cid, section, tally(group))
        for (cluster, cid, section), group in sorted(
            groups.items(), key=lambda item: (item[0][0], item[0][1], control_key(item[0][2]))
        )
    ]


def by_cluster(rows: Sequence[Finding]) -> list[tuple[str, Tally]]:
    """Counts per cluster, sorted by name."""
    groups: dict[str, list[Finding]] = defaultdict(list)
    for row in rows:
        groups[cluster_label(row)].append(row)
    return [(name, tally(group)) for name, group in sorted(groups.items())]


@dataclass(frozen=True, slots=True)
class ControlInfo:
    """A control as its rows describe it."""

    id: str
    title: str
    level: int
    remediation: str


def controls_of(rows: Iterable[Finding]) -> list[ControlInfo]:
    """Every control that has a row, in benchmark order (remediation from any row that has it)."""
    seen: dict[str, ControlInfo] = {}
    for row in rows:
        known = seen.get(row.ControlId)
        if known is None or (not known.remediation and row.Remediation):
            seen[row.ControlId] = ControlInfo(
                row.ControlId, row.ControlTitle, row.Level, row.Remediation
            )
    return sorted(seen.values(), key=lambda c: control_key(c.id))


def by_control(rows: Sequence[Finding]) -> list[tuple[ControlInfo, Tally]]:
    """Counts per control over every target, in benchmark order."""
    groups: dict[str, list[Finding]] = defaultdict(list)
    for row in rows:
        groups[row.ControlId].append(row)
    return [(info, tally(groups[info.id])) for info in controls_of(rows)]


@dataclass(frozen=True, slots=True)
class Group:
    """Non-passing rows that say the same thing: one control, status, cluster, pool and reason.

    ``nodes`` names the nodes (empty for a cluster-level target); ``extra`` holds the values of
    the extra columns the rows share (a column whose value differs between them splits the
    group, so nothing is merged away).
    """

    control: str
    status: str
    cluster: str
    cluster_id: str
    pool: str
    reason: str
    actual: str
    expected: str
    exempt: bool
    exemption_reason: str
    exemption_expires: str
    extra: tuple[tuple[str, str], ...]
    nodes: tuple[str, ...]
    rows: int

    @property
    def where(self) -> str:
        """``cluster/pool``, or the cluster alone."""
        return f"{self.cluster}/{self.pool}" if self.pool else self.cluster

    @property
    def scope(self) -> str:
        """``N nodes`` or ``cluster``."""
        count = len([n for n in self.nodes if n])
        if not count:
            return "cluster"
        return f"{count} node{'s' if count != 1 else ''}"


def not_passing(rows: Iterable[Finding]) -> list[Group]:
    """Every non-PASS row, grouped; sorted by control (benchmark order), cluster, pool, status."""
    extras = extra_columns()
    groups: dict[tuple[object, ...], list[Finding]] = defaultdict(list)
    extra_of: dict[tuple[object, ...], tuple[tuple[str, str], ...]] = {}
    for row in rows:
        if row.Status == "PASS":
            continue
        extra = tuple((c, str(getattr(row, c))) for c in extras if c not in PER_ROW_COLUMNS)
        key = (
            row.ControlId,
            row.Status,
            cluster_label(row),
            row.ClusterId,
            row.NodePool,
            row.Reason,
            row.Actual,
            row.Expected,
            row.Exempt,
            row.ExemptionReason,
            row.ExemptionExpires,
            extra,
        )
        groups[key].append(row)
        extra_of[key] = extra
    result = []
    for group_key, group in groups.items():
        first = group[0]
        result.append(
            Group(
                control=first.ControlId,
                status=first.Status,
                cluster=cluster_label(first),
                cluster_id=first.ClusterId,
                pool=first.NodePool,
                reason=first.Reason,
                actual=first.Actual,
                expected=first.Expected,
                exempt=first.Exempt,
                exemption_reason=first.ExemptionReason,
                exemption_expires=first.ExemptionExpires,
                extra=extra_of[group_key],
                nodes=tuple(sorted({r.NodeName for r in group})),
                rows=len(group),
            )
        )
    return sorted(
        result,
        key=lambda g: (control_key(g.control), g.cluster, g.pool, STATUSES.index(g.status)),
    )


def exemptions(rows: Iterable[Finding]) -> list[Group]:
    """The exempted rows, grouped like ``not_passing``, soonest expiry first."""
    groups = [g for g in not_passing(rows) if g.exempt]
    return sorted(groups, key=lambda g: (g.exemption_expires, control_key(g.control), g.cluster))
