"""``--format table``: the terminal report, readable at any width and any estate size.

The width is the console's: ``COLUMNS`` when set, else the terminal's, else 80. Nothing that
matters is cut: statuses are one-letter codes with a legend (never a truncated word), long names
wrap onto the next line, and a matrix wider than the screen is printed in blocks of controls.

The node-by-control matrix groups targets by cluster and node pool; inside a pool the nodes'
common name prefix (``aks-cpu-70534253-``) is written once in the pool's heading and each node is
shown by the rest of its name (``...vmss000001``). A cluster-level target (no node) is
``(cluster)``. ``--matrix``:

* ``all``: every target, one line each;
* ``non-passing``: a summary by cluster and by control first, then only the targets with a
  non-PASS cell; nodes of one pool whose cells are identical share one line (``... +11``);
* ``auto`` (default): ``all`` up to ``MATRIX_ALL_MAX`` node targets, ``non-passing`` above.

Then one line per distinct non-PASS reason (per cluster, pool and status), the node pools with
their drift, and the run's totals.
"""

from __future__ import annotations

import textwrap
import threading
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from shared.core.records import Finding, RunRecord
from shared.core.report import (
    STATUSES,
    by_cluster,
    by_control,
    cluster_label,
    control_key,
    section_of,
)

if TYPE_CHECKING:
    from rich.console import Console

    from shared.core.pools import PoolSummary

#: ``--matrix auto`` prints every target up to this many node targets; above, only non-PASS ones.
MATRIX_ALL_MAX = 50
MATRIX_MODES = ("auto", "all", "non-passing")
#: Narrowest layout; a console narrower than this still gets lines of this width.
MIN_WIDTH = 40

STYLE = {
    "PASS": "green",
    "FAIL": "bold red",
    "ERROR": "bold yellow",
    "SKIPPED": "dim",
    "MANUAL": "cyan",
    "EXEMPT": "magenta",
}
GLYPH = {"PASS": ".", "FAIL": "F", "ERROR": "E", "SKIPPED": "s", "MANUAL": "M"}
EXEMPT_GLYPH = "x"
LEGEND = ". PASS  F FAIL  x FAIL exempted  E ERROR  s SKIPPED  M MANUAL  blank: no row"

Segment = tuple[str, str]  # (text, rich style)
Line = list[Segment]
Cell = tuple[str, bool]  # (status, exempt)
Target = tuple[str, str, str]  # (cluster label, pool, node name; "" for the cluster itself)


def wrap(first: Line, text: str, width: int, indent: int, style: str = "") -> list[Line]:
    """``first`` then ``text`` word-wrapped to ``width``; continuation lines indented."""
    used = sum(len(t) for t, _ in first)
    room = max(10, width - used)
    pieces = textwrap.wrap(text, room, break_on_hyphens=False) or [""]
    lines: list[Line] = [[*first, (pieces[0], style)]]
    rest = " ".join(pieces[1:])
    if rest:
        for piece in textwrap.wrap(rest, max(10, width - indent), break_on_hyphens=False):
            lines.append([(" " * indent, ""), (piece, style)])
    return lines


def common_prefix(names: Sequence[str]) -> str:
    """The names' common prefix, up to and including its last ``-`` (``""`` if under 4 chars)."""
    if len(names) < 2:
        return ""
    first, last = min(names), max(names)
    size = 0
    while size < min(len(first), len(last)) and first[size] == last[size]:
        size += 1
    cut = first[:size].rfind("-") + 1
    prefix = first[:cut]
    if len(prefix) < 4 or any(len(n) == len(prefix) for n in names):
        return ""
    return prefix


@dataclass(frozen=True, slots=True)
class Column:
    """One control's column: its section, the label under it, and its width."""

    control: str
    section: str
    label: str
    width: int


def columns_of(controls: Sequence[str]) -> list[Column]:
    """Columns grouped by section; a section's columns are wide enough for its heading."""
    by_section: dict[str, list[str]] = defaultdict(list)
    for control in controls:
        by_section[section_of(control)].append(control)
    result: list[Column] = []
    for section, members in by_section.items():
        labels = [c[len(section) + 1 :] if c != section else c for c in members]
        width = max(1, *(len(label) for label in labels))
        while len(members) * (width + 1) < len(section) + 1:
            width += 1
        result.extend(
            Column(c, section, label, width) for c, label in zip(members, labels, strict=True)
        )
    return result


def blocks_of(columns: Sequence[Column], room: int) -> list[list[Column]]:
    """Columns packed into blocks no wider than ``room`` (each column takes width + 1)."""
    blocks: list[list[Column]] = [[]]
    used = 0
    for column in columns:
        need = column.width + 1
        if blocks[-1] and used + need > room:
            blocks.append([])
            used = 0
        blocks[-1].append(column)
        used += need
    return [_fit_headings(block) for block in blocks]


def _fit_headings(block: list[Column]) -> list[Column]:
    """Widen the last column of a section's run in a block when the run is too narrow for its
    heading and a space (a section split across blocks: ``4.1`` over the single column ``12``)."""
    fitted: list[Column] = []
    start = 0
    while start < len(block):
        end = start
        while end < len(block) and block[end].section == block[start].section:
            end += 1
        run = block[start:end]
        short = len(run[0].section) + 1 - sum(c.width + 1 for c in run)
        if short > 0:
            run = [*run[:-1], replace(run[-1], width=run[-1].width + short)]
        fitted.extend(run)
        start = end
    return fitted


def _header(block: Sequence[Column], pad: int) -> list[Line]:
    top = [(" " * pad, "")]
    bottom = [(" " * pad, "")]
    previous = None
    top_text = ""
    for column in block:
        span = column.width + 1
        if column.section != previous:
            top_text += column.section.ljust(span)
            previous = column.section
        else:
            top_text += " " * span
        bottom.append((column.label.rjust(column.width) + " ", "bold"))
    top.append((top_text.rstrip(), "bold"))
    return [top, bottom]


def _cells(block: Sequence[Column], cells: dict[str, Cell]) -> Line:
    line: Line = []
    for column in block:
        status, exempt = cells.get(column.control, ("", False))
        glyph = EXEMPT_GLYPH if exempt else GLYPH.get(status, " " if not status else "?")
        style = STYLE["EXEMPT"] if exempt else STYLE.get(status, "")
        line.append((" " * (column.width - 1), ""))
        line.append((glyph, style))
        line.append((" ", ""))
    return line


@dataclass(frozen=True, slots=True)
class MatrixRow:
    """One line of the matrix: a target (or several identical ones) of one pool."""

    label: str
    cells: dict[str, Cell]


def matrix_rows(
    targets: dict[Target, dict[str, Cell]], *, only_non_passing: bool
) -> list[tuple[str, list[MatrixRow]]]:
    """(group heading, rows) per cluster and pool, sorted; collapsed when ``only_non_passing``."""
    pools: dict[tuple[str, str], list[tuple[str, dict[str, Cell]]]] = defaultdict(list)
    for (cluster, pool, node), cells in targets.items():
        if only_non_passing and all(s == "PASS" for s, _ in cells.values()):
            continue
        pools[(cluster, pool)].append((node, cells))
    result = []
    for (cluster, pool), members in sorted(pools.items()):
        members.sort(key=lambda m: (m[0] != "", m[0]))
        names = [n for n, _ in members if n]
        prefix = common_prefix(names)
        heading = f"{cluster} / {pool}" if pool else cluster
        if prefix:
            heading += f"  (nodes {prefix}...)"

        def label(node: str, prefix: str = prefix) -> str:
            if not node:
                return "(cluster)"
            return "..." + node[len(prefix) :] if prefix else node

        rows: list[MatrixRow] = []
        if only_non_passing:
            alike: dict[tuple[tuple[str, Cell], ...], list[str]] = defaultdict(list)
            for node, cells in members:
                alike[tuple(sorted(cells.items()))].append(node)
            for key, nodes in alike.items():
                text = label(nodes[0]) + (f" +{len(nodes) - 1}" if len(nodes) > 1 else "")
                rows.append(MatrixRow(text, dict(key)))
        else:
            rows = [MatrixRow(label(node), cells) for node, cells in members]
        result.append((heading, rows))
    return result


def matrix_lines(
    groups: list[tuple[str, list[MatrixRow]]], controls: Sequence[str], width: int
) -> list[Line]:
    """The matrix laid out for ``width``: in blocks of controls when it does not fit."""
    columns = columns_of(controls)
    labels = [row.label for _, rows in groups for row in rows]
    label_width = min(max([len(x) for x in labels] + [9]), max(14, width // 3))
    pad = 2 + label_width + 1
    blocks = blocks_of(columns, max(4, width - pad))
    lines: list[Line] = []
    for number, block in enumerate(blocks, 1):
        if len(blocks) > 1:
            lines.append(
                [
                    (f"controls {block[0].control} to {block[-1].control} ", "bold"),
                    (f"(part {number} of {len(blocks)})", ""),
                ]
            )
        lines.extend(_header(block, pad))
        for heading, rows in groups:
            lines.extend(wrap([], heading, width, 4, "bold"))
            for row in rows:
                pieces = textwrap.wrap(row.label, label_width, break_on_hyphens=False) or [""]
                lines.append(
                    [("  " + pieces[0].ljust(label_width) + " ", ""), *_cells(block, row.cells)]
                )
                lines.extend([("  " + more, "")] for more in pieces[1:])
        lines.append([])
    lines.extend(wrap([], LEGEND, width, 0, "dim"))
    return lines


def _count_table(
    title: str, rows: Sequence[tuple[str, dict[str, int], str]], width: int
) -> list[Line]:
    """A plain table: a name column, a count per status, and an optional wrapped text column."""
    counts = [c for _, c, _ in rows]
    widths = {
        s: max(len(s), *(len(str(c.get(s, 0))) for c in counts)) if counts else len(s)
        for s in STATUSES
    }
    numbers = sum(w + 2 for w in widths.values())
    name_width = min(max([len(n) for n, _, _ in rows] + [len(title)]), max(12, width - numbers))
    has_text = any(t for _, _, t in rows)
    lines: list[Line] = [
        [(title.ljust(name_width), "bold")]
        + [("  " + s.rjust(widths[s]), f"bold {STYLE[s]}") for s in STATUSES]
    ]
    for name, count, text in rows:
        names = textwrap.wrap(name, name_width, break_on_hyphens=False) or [""]
        first: Line = [(names[0].ljust(name_width), "")]
        for s in STATUSES:
            value = count.get(s, 0)
            first.append(("  " + str(value).rjust(widths[s]), STYLE[s] if value else "dim"))
        if has_text:
            lines.extend(wrap([*first, ("  ", "")], text, width, name_width + numbers + 2))
        else:
            lines.append(first)
        lines.extend([(more, "")] for more in names[1:])
    return lines


class TableSink:
    """The terminal report: a node-by-control matrix, the reasons, the pools and the totals."""

    def __init__(self, console: Console, matrix: str = "auto") -> None:
        if matrix not in MATRIX_MODES:
            raise ValueError(f"matrix: {matrix!r} is not one of {', '.join(MATRIX_MODES)}")
        self._console = console
        self._matrix = matrix
        self._lock = threading.Lock()
        self._targets: dict[Target, dict[str, Cell]] = defaultdict(dict)
        self._controls: dict[str, None] = {}
        # (cluster, pool, status, reason) -> (control ids, node names)
        self._reasons: dict[tuple[str, str, str, str], tuple[set[str], set[str]]] = {}
        # cluster-scoped rows: (status, reason) -> (control ids, cluster names); the same
        # reason on many clusters (a MANUAL audit step, say) is printed once, naming them
        self._cluster_reasons: dict[tuple[str, str], tuple[set[str], set[str]]] = {}
        self._rows: list[Finding] = []

    def write_findings(self, rows: Sequence[Finding]) -> None:
        """Fold rows into the matrix."""
        with self._lock:
            self._rows.extend(rows)
            for r in rows:
                target = (cluster_label(r), r.NodePool, r.NodeName)
                self._targets[target][r.ControlId] = (r.Status, r.Exempt)
                self._controls.setdefault(r.ControlId, None)
                if r.Status != "PASS":
                    reason = r.Reason
                    if r.Exempt:
                        reason += f" [exempt until {r.ExemptionExpires}: {r.ExemptionReason}]"
                    if r.Scope == "cluster":
                        ids, clusters = self._cluster_reasons.setdefault(
                            (r.Status, reason), (set(), set())
                        )
                        ids.add(r.ControlId)
                        clusters.add(target[0])
                        continue
                    key = (target[0], r.NodePool, r.Status, reason)
                    controls, nodes = self._reasons.setdefault(key, (set(), set()))
                    controls.add(r.ControlId)
                    nodes.add(r.NodeName)

    def write_run(self, run: RunRecord) -> None:
        """Print everything."""
        with self._lock:
            for line in self.lines(run):
                self._print(line)

    @property
    def width(self) -> int:
        """The layout width: the console's, never under MIN_WIDTH."""
        return max(MIN_WIDTH, self._console.width)

    def _print(self, line: Line) -> None:
        from rich.text import Text  # noqa: PLC0415

        text = Text()
        for piece, style in line:
            text.append(piece, style=style or None)
        text.rstrip()
        self._console.print(text, overflow="fold", crop=False, soft_wrap=False, highlight=False)

    def mode(self) -> str:
        """``all`` or ``non-passing`` (``auto`` resolved by the number of node targets)."""
        if self._matrix != "auto":
            return self._matrix
        nodes = sum(1 for _, _, node in self._targets if node)
        return "all" if nodes <= MATRIX_ALL_MAX else "non-passing"

    def lines(self, run: RunRecord) -> list[Line]:
        """The whole report, laid out for the console's width."""
        width = self.width
        lines: list[Line] = []
        lines.extend(wrap([], f"{run.Benchmark}, run {run.RunId}", width, 4, "bold"))
        lines.append([])
        controls = sorted(self._controls, key=control_key)
        mode = self.mode()
        if mode == "non-passing":
            lines.extend(self._summaries(width))
        groups = matrix_rows(self._targets, only_non_passing=mode == "non-passing")
        if groups:
            title = "Node by control"
            if mode == "non-passing":
                hidden = sum(
                    1
                    for cells in self._targets.values()
                    if all(s == "PASS" for s, _ in cells.values())
                )
                title += (
                    f": only targets with a non-PASS cell ({hidden} all-PASS targets not shown;"
                    " --matrix all shows every one)"
                )
            lines.extend(wrap([], title, width, 2, "bold"))
            lines.extend(matrix_lines(groups, controls, width))
        elif self._targets:
            lines.append([("Every cell of every target is PASS.", "green")])
        lines.extend(self._reason_lines(width))
        lines.extend(self._pool_lines(width))
        lines.append([])
        lines.extend(
            wrap(
                [],
                f"{run.Clusters} clusters ({run.ClustersFailed} not reached), {run.Nodes} nodes "
                f"({run.NodesFailed} unreadable) in {run.Subscriptions} subscriptions: "
                f"{run.Passed} PASS, {run.Failed} FAIL, {run.Errors} ERROR, {run.Skipped} SKIPPED,"
                f" {run.Manual} MANUAL{self._cluster_part(run)}",
                width,
                2,
            )
        )
        return lines

    def _cluster_part(self, run: RunRecord) -> str:
        """How many of the rows are cluster-control rows, by status (nothing when none)."""
        if not run.ClusterRows:
            return ""
        counts = Counter(r.Status for r in self._rows if r.Scope == "cluster")
        statuses = ", ".join(
            f"{counts[s]} {s}" for s in ("PASS", "FAIL", "ERROR", "SKIPPED", "MANUAL")
        )
        return f"; {run.ClusterRows} of them cluster-control rows ({statuses})"

    def _summaries(self, width: int) -> list[Line]:
        clusters = [(name, t.counts, "") for name, t in by_cluster(self._rows)]
        controls = [(info.id, t.counts, info.title) for info, t in by_control(self._rows)]
        lines = _count_table("By cluster", clusters, width)
        lines.append([])
        lines.extend(_count_table("By control", controls, width))
        lines.append([])
        return lines

    def _reason_lines(self, width: int) -> list[Line]:
        if not self._reasons:
            return self._cluster_reason_lines(width)
        lines: list[Line] = [[]]
        lines.extend(
            wrap([], "Not passing (grouped by cluster, pool, status and reason):", width, 2, "bold")
        )
        for (cluster, pool, status, reason), (ids, nodes) in sorted(
            self._reasons.items(),
            key=lambda item: (
                item[0][0],
                item[0][1],
                control_key(min(item[1][0], key=control_key)),
            ),
        ):
            where = f"{cluster}/{pool}" if pool else cluster
            count = len(nodes - {""})
            scope = f"{count} node{'s' if count != 1 else ''}" if count else "cluster"
            first: Line = [(f"{status:<7} ", STYLE.get(status, ""))]
            lines.extend(wrap(first, f"{_control_span(ids)} {where} ({scope}): {reason}", width, 8))
        return lines + self._cluster_reason_lines(width)

    def _cluster_reason_lines(self, width: int) -> list[Line]:
        if not self._cluster_reasons:
            return []
        lines: list[Line] = [[]]
        lines.extend(
            wrap(
                [],
                "Cluster controls not passing (grouped by status and reason, naming the clusters):",
                width,
                2,
                "bold",
            )
        )
        for (status, reason), (ids, clusters) in sorted(
            self._cluster_reasons.items(),
            key=lambda item: (control_key(min(item[1][0], key=control_key)), item[0]),
        ):
            names = ", ".join(sorted(clusters))
            first: Line = [(f"{status:<7} ", STYLE.get(status, ""))]
            lines.extend(wrap(first, f"{_control_span(ids)} {names}: {reason}", width, 8))
        return lines

    def _pool_lines(self, width: int) -> list[Line]:
        from shared.core.pools import summarize  # noqa: PLC0415

        summaries = summarize(self._rows)
        if not summaries:
            return []
        lines: list[Line] = [[]]
        lines.extend(
            wrap(
                [],
                "Node pools (drift: a node whose value differs from its pool's):",
                width,
                2,
                "bold",
            )
        )
        for summary in summaries:
            lines.extend(wrap([], _pool_line(summary), width, 4))
            for d in summary.drift:
                lines.extend(
                    wrap(
                        [("  ", ""), ("drift ", "magenta")],
                        f"{d.node} {d.control}: {d.value} (pool: {d.pool_value})",
                        width,
                        8,
                    )
                )
            if summary.split:
                lines.extend(
                    wrap(
                        [("  ", "")],
                        f"split (no majority value): {', '.join(summary.split)}",
                        width,
                        4,
                    )
                )
        return lines


def _pool_line(summary: PoolSummary) -> str:
    bad = sum(n for c in summary.counts.values() for s, n in c.items() if s in ("FAIL", "ERROR"))
    return f"{summary.cluster_name}/{summary.pool}: {summary.nodes} nodes, {bad} FAIL/ERROR cells"


def _control_span(controls: set[str]) -> str:
    ordered = sorted(controls, key=control_key)
    if len(ordered) > 2:
        return f"{ordered[0]}..{ordered[-1]} ({len(ordered)})"
    return ",".join(ordered)
