"""The node-pool view: per cluster, node pool and control, how many nodes have each status, and
which nodes drifted from their pool.

Nodes of one pool are built from one configuration, so a node whose observed value of a control
differs from the value most of the pool's nodes show was changed by hand or missed an upgrade:
it is named, with the control, its value and the pool's. Only values that were read count (a node
whose configz could not be read cannot drift); a control where no value holds a strict majority is
reported as split rather than guessed.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from shared.core.records import Finding


@dataclass(frozen=True, slots=True)
class Drift:
    """One node's value of one control differs from its pool's majority."""

    node: str
    control: str
    value: str
    pool_value: str


@dataclass(frozen=True, slots=True)
class PoolSummary:
    """Counts and drift for one node pool of one cluster."""

    cluster_id: str
    cluster_name: str
    pool: str
    nodes: int
    counts: dict[str, dict[str, int]]
    drift: tuple[Drift, ...]
    split: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "ClusterId": self.cluster_id,
            "ClusterName": self.cluster_name,
            "NodePool": self.pool,
            "Nodes": self.nodes,
            "Counts": self.counts,
            "Drift": [
                {
                    "NodeName": d.node,
                    "ControlId": d.control,
                    "Actual": d.value,
                    "PoolActual": d.pool_value,
                }
                for d in self.drift
            ],
            "SplitControls": list(self.split),
        }


def summarize(rows: Iterable[Finding]) -> list[PoolSummary]:
    """Pool summaries for every (cluster, pool) that has node rows, sorted by cluster and pool."""
    groups: dict[tuple[str, str, str], list[Finding]] = defaultdict(list)
    for row in rows:
        if row.NodeName:
            groups[(row.ClusterId, row.ClusterName, row.NodePool)].append(row)
    return [_summary(key, group) for key, group in sorted(groups.items())]


def _summary(key: tuple[str, str, str], rows: list[Finding]) -> PoolSummary:
    cluster_id, cluster_name, pool = key
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    values: dict[str, dict[str, str]] = defaultdict(dict)  # control -> node -> Actual
    for row in rows:
        counts[row.ControlId][row.Status] += 1
        if row.Actual and row.Status in ("PASS", "FAIL"):
            values[row.ControlId][row.NodeName] = row.Actual
    drift: list[Drift] = []
    split: list[str] = []
    for control, by_node in sorted(values.items()):
        tally = Counter(by_node.values())
        if len(tally) < 2:
            continue
        (top, top_count), *_ = tally.most_common()
        if top_count * 2 <= len(by_node):
            split.append(control)
            continue
        drift.extend(
            Drift(node, control, value, top)
            for node, value in sorted(by_node.items())
            if value != top
        )
    nodes = len({row.NodeName for row in rows})
    return PoolSummary(
        cluster_id,
        cluster_name,
        pool,
        nodes,
        {control: dict(counter) for control, counter in sorted(counts.items())},
        tuple(drift),
        tuple(split),
    )
