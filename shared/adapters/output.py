"""Terminal and file outputs: a table for people, JSON and JSON lines for machines.

``--format json`` writes one object ``{"run": {...}, "findings": [...]}``; ``jsonl`` writes one
finding row per line as rows arrive and a last line ``{"run": {...}}``. Both sort nothing and
drop nothing: every row the pipeline produced is written. The table sink keeps, for people, a
compact node-by-control matrix of the node-scoped controls (kubelet) with every non-PASS reason
once per pool, and a cluster-by-control matrix of the cluster-scoped ones (``Scope`` cluster: one
row per cluster, no node) with each non-PASS reason once, naming the clusters it applies to.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Any

from shared.core.records import Finding, RunRecord

if TYPE_CHECKING:
    from rich.console import Console

_STYLE = {
    "PASS": "green",
    "FAIL": "bold red",
    "ERROR": "bold yellow",
    "SKIPPED": "dim",
    "MANUAL": "cyan",
}
_GLYPH = {"PASS": "PASS", "FAIL": "FAIL", "ERROR": "ERR", "SKIPPED": "skip", "MANUAL": "man"}


class CollectingSink:
    """Keeps every row and the run record in memory (an HTTP ``wait`` scan returns them)."""

    def __init__(self) -> None:
        self.rows: list[Finding] = []
        self.runs: list[RunRecord] = []
        self._lock = threading.Lock()

    def write_findings(self, rows: Sequence[Finding]) -> None:
        """Keep rows."""
        with self._lock:
            self.rows.extend(rows)

    def write_run(self, run: RunRecord) -> None:
        """Keep the run record."""
        with self._lock:
            self.runs.append(run)


class JsonLinesSink:
    """One JSON object per line, written as rows arrive (memory stays flat)."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def write_findings(self, rows: Sequence[Finding]) -> None:
        """Write each row as a line."""
        text = "".join(json.dumps(r.row(), separators=(",", ":")) + "\n" for r in rows)
        with self._lock:
            self._stream.write(text)

    def write_run(self, run: RunRecord) -> None:
        """Write the run record as the last line."""
        with self._lock:
            self._stream.write(json.dumps({"run": run.row()}, separators=(",", ":")) + "\n")
            self._stream.flush()


class JsonSink:
    """One JSON document ``{"run": ..., "findings": [...]}`` written when the run ends."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._rows: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def write_findings(self, rows: Sequence[Finding]) -> None:
        """Keep rows until the run record arrives."""
        with self._lock:
            self._rows.extend(r.row() for r in rows)

    def write_run(self, run: RunRecord) -> None:
        """Write the document."""
        from shared.core.pools import summarize  # noqa: PLC0415

        with self._lock:
            pools = [p.as_dict() for p in summarize(Finding(**r) for r in self._rows)]
            document = {"run": run.row(), "findings": self._rows, "pools": pools}
            json.dump(document, self._stream, indent=2)
            self._stream.write("\n")
            self._stream.flush()


class TableSink:
    """Node-by-control and cluster-by-control matrices, the reasons behind every non-PASS cell,
    and the run's totals."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._lock = threading.Lock()
        self._cells: dict[tuple[str, str, str], dict[str, str]] = defaultdict(dict)
        self._controls: dict[str, None] = {}
        # (cluster, pool, status, reason) -> (control ids, node names)
        self._reasons: dict[tuple[str, str, str, str], tuple[set[str], set[str]]] = {}
        self._rows: list[Finding] = []
        # cluster-scoped rows: cluster -> control -> status, and (status, reason) -> (ids, clusters)
        self._cluster_cells: dict[str, dict[str, str]] = defaultdict(dict)
        self._cluster_controls: dict[str, None] = {}
        self._cluster_reasons: dict[tuple[str, str], tuple[set[str], set[str]]] = {}
        self._cluster_statuses: dict[str, int] = defaultdict(int)

    def write_findings(self, rows: Sequence[Finding]) -> None:
        """Fold rows into the matrices."""
        with self._lock:
            self._rows.extend(rows)
            for r in rows:
                if r.Scope == "cluster":
                    self._fold_cluster_row(r)
                    continue
                target = (
                    r.ClusterName or f"(subscription {r.SubscriptionId})",
                    r.NodePool,
                    r.NodeName,
                )
                self._cells[target][r.ControlId] = r.Status
                self._controls.setdefault(r.ControlId, None)
                if r.Status != "PASS":
                    reason = r.Reason
                    if r.Exempt:
                        reason += f" [exempt until {r.ExemptionExpires}: {r.ExemptionReason}]"
                    key = (target[0], r.NodePool, r.Status, reason)
                    controls, nodes = self._reasons.setdefault(key, (set(), set()))
                    controls.add(r.ControlId)
                    nodes.add(r.NodeName)

    def _fold_cluster_row(self, r: Finding) -> None:
        cluster = r.ClusterName or f"(subscription {r.SubscriptionId})"
        self._cluster_cells[cluster][r.ControlId] = r.Status
        self._cluster_controls.setdefault(r.ControlId, None)
        self._cluster_statuses[r.Status] += 1
        if r.Status != "PASS":
            reason = r.Reason
            if r.Exempt:
                reason += f" [exempt until {r.ExemptionExpires}: {r.ExemptionReason}]"
            controls, clusters = self._cluster_reasons.setdefault(
                (r.Status, reason), (set(), set())
            )
            controls.add(r.ControlId)
            clusters.add(cluster)

    def write_run(self, run: RunRecord) -> None:
        """Print everything."""
        with self._lock:
            self._print(run)

    def _print_cluster_controls(self) -> None:
        from rich import box  # noqa: PLC0415
        from rich.table import Table  # noqa: PLC0415
        from rich.text import Text  # noqa: PLC0415

        if not self._cluster_cells:
            return
        controls = sorted(self._cluster_controls, key=_control_key)
        self._console.print(
            "[bold]Cluster controls[/bold] (one row per cluster, from Azure Resource Manager):"
        )
        table = Table(
            box=box.SIMPLE_HEAD,
            pad_edge=False,
            padding=(0, 0),
        )
        table.add_column("Cluster", no_wrap=True)
        for control in controls:
            table.add_column(control, justify="center", no_wrap=True)
        for cluster, cells in sorted(self._cluster_cells.items()):
            statuses = [cells.get(c, "") for c in controls]
            table.add_row(
                cluster, *[Text(_GLYPH.get(s, s), style=_STYLE.get(s, "")) for s in statuses]
            )
        self._console.print(table)
        self._console.print(
            "[bold]Cluster controls not passing[/bold] (grouped by status and reason):"
        )
        for (status, reason), (ids, clusters) in sorted(
            self._cluster_reasons.items(),
            key=lambda item: (_control_key(min(item[1][0], key=_control_key)), item[0][0]),
        ):
            where = (
                next(iter(clusters))
                if len(clusters) == 1
                else f"{len(clusters)} clusters ({', '.join(sorted(clusters))})"
            )
            self._console.print(
                Text.assemble(
                    (f"{status:<7}", _STYLE.get(status, "")),
                    f" {_control_span(ids):<13} {where}: {reason}",
                )
            )

    def _print_pools(self) -> None:
        from shared.core.pools import summarize  # noqa: PLC0415

        summaries = summarize(self._rows)
        if not summaries:
            return
        self._console.print(
            "\n[bold]Node pools[/bold] (drift: a node whose value differs from its pool's):"
        )
        for summary in summaries:
            self._console.print(_pool_line(summary))
            for d in summary.drift:
                self._console.print(
                    f"  [magenta]drift[/magenta] {d.node} {d.control}: {d.value} (pool: {d.pool_value})"
                )
            if summary.split:
                self._console.print(f"  split (no majority value): {', '.join(summary.split)}")

    def _print(self, run: RunRecord) -> None:
        from rich.table import Table  # noqa: PLC0415
        from rich.text import Text  # noqa: PLC0415

        title = f"{run.Benchmark} — run {run.RunId}: node controls (one row per node)"
        table = Table(title=title, show_lines=False)
        table.add_column("Cluster")
        table.add_column("Pool")
        table.add_column("Node")
        controls = sorted(self._controls, key=_control_key)
        for control in controls:
            table.add_column(control, justify="center")
        for (cluster, pool, node), cells in sorted(self._cells.items()):
            statuses = [cells.get(c, "") for c in controls]
            table.add_row(
                cluster,
                pool,
                node or "—",
                *[Text(_GLYPH.get(s, s), style=_STYLE.get(s, "")) for s in statuses],
            )
        self._console.print(table)
        if self._reasons:
            self._console.print(
                "\n[bold]Node controls not passing[/bold] (grouped by cluster, pool, status and reason):"
            )
            for (cluster, pool, status, reason), (ids, nodes) in sorted(
                self._reasons.items(),
                key=lambda item: (
                    item[0][0],
                    item[0][1],
                    _control_key(min(item[1][0], key=_control_key)),
                ),
            ):
                where = f"{cluster}/{pool}" if pool else cluster
                count = len(nodes - {""})
                scope = f"{count} node{'s' if count != 1 else ''}" if count else "cluster"
                self._console.print(
                    Text.assemble(
                        (f"{status:<7}", _STYLE.get(status, "")),
                        f" {_control_span(ids):<13} {where} ({scope}): {reason}",
                    )
                )
        self._print_pools()
        self._console.print()
        self._print_cluster_controls()
        counts = self._cluster_statuses
        cluster_part = (
            f"; {run.ClusterRows} of them cluster-control rows ({counts['PASS']} PASS, "
            f"{counts['FAIL']} FAIL, {counts['ERROR']} ERROR, {counts['SKIPPED']} SKIPPED, "
            f"{counts['MANUAL']} MANUAL)"
            if run.ClusterRows
            else ""
        )
        self._console.print(
            f"\n{run.Clusters} clusters ({run.ClustersFailed} not reached), {run.Nodes} nodes "
            f"({run.NodesFailed} unreadable) in {run.Subscriptions} subscriptions: "
            f"[green]{run.Passed} PASS[/green], [red]{run.Failed} FAIL[/red], "
            f"[yellow]{run.Errors} ERROR[/yellow], {run.Skipped} SKIPPED, {run.Manual} MANUAL"
            f"{cluster_part}"
        )


def _pool_line(summary: Any) -> str:
    failing = sum(
        n for c in summary.counts.values() for s, n in c.items() if s in ("FAIL", "ERROR")
    )
    return (
        f"{summary.cluster_name}/{summary.pool}: {summary.nodes} nodes, {failing} FAIL/ERROR cells"
    )


def _control_span(controls: set[str]) -> str:
    ordered = sorted(controls, key=_control_key)
    if len(ordered) > 2:
        return f"{ordered[0]}..{ordered[-1]} ({len(ordered)})"
    return ",".join(ordered)


def _control_key(control_id: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else 0 for p in control_id.split("."))
