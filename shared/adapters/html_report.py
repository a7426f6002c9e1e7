"""``--format html``: one self-contained page an auditor can open, keep and mail.

No external resource and no script: the style sheet is inline and the page's Content Security
Policy (``default-src 'none'``) forbids loading anything or running any script, so the file reads
the same offline, years later. Every value is HTML-escaped: row values come from clusters (node
names, API server messages) and must never become markup.

Sections, in order: the totals; a summary by cluster and benchmark section; the non-passing rows
grouped by control (title, level and remediation once, then one line per cluster, pool, status and
reason, with the nodes it covers); the exemptions with their expiry; the run record. Columns the
report does not name (``shared.core.report.extra_columns``) are shown beside each group as they are.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

from shared import TOOL_NAME, __version__
from shared.adapters.formats import _DocumentSink
from shared.core.records import Finding, RunRecord
from shared.core.report import (
    STATUSES,
    Group,
    Tally,
    by_cluster_and_section,
    controls_of,
    exemptions,
    not_passing,
)

#: Nodes listed in a group's line before the rest fold into a <details> element.
NODES_INLINE = 5

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:2rem;
color:#1b1f24;line-height:1.4}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid
#d0d7de;padding-bottom:.2rem}h3{font-size:1rem;margin:1.4rem 0 .3rem}
table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem}
th,td{border:1px solid #d0d7de;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.n{text-align:right;font-variant-numeric:tabular-nums}
.meta{color:#57606a}.remediation{background:#f6f8fa;border-left:4px solid #0969da;
padding:.4rem .6rem;margin:.3rem 0 .5rem;max-width:60rem}
.totals span{display:inline-block;margin-right:1rem;padding:.3rem .6rem;border-radius:4px;
background:#f6f8fa}
.PASS{color:#1a7f37}.FAIL{color:#cf222e;font-weight:600}.ERROR{color:#9a6700;font-weight:600}
.SKIPPED{color:#57606a}.MANUAL{color:#0969da}.exempt{color:#8250df}
code{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:.85rem;overflow-wrap:anywhere}
details summary{cursor:pointer}
"""


def esc(value: object) -> str:
    """HTML-escaped text of any value (quotes included, so it is safe in attributes too)."""
    return html.escape(str(value), quote=True)


def _status(status: str, exempt: bool = False) -> str:
    label = f"{status} (exempt)" if exempt else status
    css = "exempt" if exempt else status
    return f'<span class="{esc(css)}">{esc(label)}</span>'


def _nodes(group: Group) -> str:
    names = [n for n in group.nodes if n]
    if not names:
        return "cluster"
    shown = ", ".join(f"<code>{esc(n)}</code>" for n in names[:NODES_INLINE])
    if len(names) <= NODES_INLINE:
        return f"{len(names)}: {shown}"
    rest = ", ".join(f"<code>{esc(n)}</code>" for n in names[NODES_INLINE:])
    return (
        f"{len(names)}: {shown}<details><summary>{len(names) - NODES_INLINE} more</summary>"
        f"{rest}</details>"
    )


def _extra(group: Group) -> str:
    items = [(k, v) for k, v in group.extra if v]
    return "<br>".join(f"{esc(k)}: <code>{esc(v)}</code>" for k, v in items)


def _count_cells(tally: Tally) -> str:
    return "".join(f'<td class="n">{tally.get(s)}</td>' for s in STATUSES) + (
        f'<td class="n">{tally.exempt}</td>'
    )


def _summary(rows: Sequence[Finding]) -> Iterable[str]:
    yield '<h2 id="summary">Summary by cluster and section</h2>'
    summaries = by_cluster_and_section(rows)
    if not summaries:
        yield "<p>No rows: the scan found no cluster.</p>"
        return
    head = "".join(f"<th>{s}</th>" for s in STATUSES)
    yield (
        f"<table><thead><tr><th>Cluster</th><th>Section</th><th>Targets</th>{head}"
        "<th>of which exempt</th></tr></thead><tbody>"
    )
    for s in summaries:
        yield (
            f'<tr><td title="{esc(s.cluster_id)}">{esc(s.cluster)}</td><td>{esc(s.section)}</td>'
            f'<td class="n">{s.tally.targets}</td>{_count_cells(s.tally)}</tr>'
        )
    yield "</tbody></table>"


def _not_passing(rows: Sequence[Finding]) -> Iterable[str]:
    yield '<h2 id="not-passing">Not passing</h2>'
    groups = not_passing(rows)
    if not groups:
        yield "<p>Every row is PASS.</p>"
        return
    controls = {c.id: c for c in controls_of(rows)}
    by_control: dict[str, list[Group]] = {}
    for group in groups:
        by_control.setdefault(group.control, []).append(group)
    for control_id, control_groups in by_control.items():
        info = controls[control_id]
        yield (
            f'<section id="control-{esc(control_id)}"><h3>{esc(control_id)} {esc(info.title)} '
            f'<span class="meta">(Level {esc(info.level)})</span></h3>'
        )
        if info.remediation:
            yield f'<div class="remediation"><b>Remediation:</b> {esc(info.remediation)}</div>'
        yield (
            "<table><thead><tr><th>Status</th><th>Cluster / pool</th><th>Nodes</th>"
            "<th>Reason</th><th>Actual</th><th>Expected</th><th>More</th></tr></thead><tbody>"
        )
        for g in control_groups:
            yield (
                f"<tr><td>{_status(g.status, g.exempt)}</td>"
                f'<td title="{esc(g.cluster_id)}">{esc(g.where)}</td><td>{_nodes(g)}</td>'
                f"<td>{esc(g.reason)}</td><td><code>{esc(g.actual)}</code></td>"
                f"<td>{esc(g.expected)}</td><td>{_extra(g)}</td></tr>"
            )
        yield "</tbody></table></section>"


def _exemptions(rows: Sequence[Finding], run: RunRecord) -> Iterable[str]:
    yield '<h2 id="exemptions">Exemptions</h2>'
    groups = exemptions(rows)
    if not groups:
        yield "<p>No row is exempted.</p>"
    else:
        yield (
            "<table><thead><tr><th>Expires</th><th>Control</th><th>Cluster / pool</th>"
            "<th>Nodes</th><th>Exemption reason</th><th>Finding</th></tr></thead><tbody>"
        )
        for g in groups:
            yield (
                f"<tr><td>{esc(g.exemption_expires)}</td><td>{esc(g.control)}</td>"
                f'<td title="{esc(g.cluster_id)}">{esc(g.where)}</td><td>{_nodes(g)}</td>'
                f"<td>{esc(g.exemption_reason)}</td><td>{esc(g.reason)}</td></tr>"
            )
        yield "</tbody></table>"
    if run.ExemptionsExpiring:
        yield (
            f"<p>{run.ExemptionsExpiring} exemptions of the policy expire soon: "
            f"<code>{esc(run.ExpiringExemptions)}</code></p>"
        )


def _run_record(run: RunRecord) -> Iterable[str]:
    yield '<h2 id="run-record">Run record</h2><table><tbody>'
    for key, value in run.row().items():
        yield f"<tr><th>{esc(key)}</th><td><code>{esc(value)}</code></td></tr>"
    yield "</tbody></table>"


def render_html(rows: Sequence[Finding], run: RunRecord) -> str:
    """The whole page."""
    totals = (
        ("PASS", run.Passed),
        ("FAIL", run.Failed),
        ("ERROR", run.Errors),
        ("SKIPPED", run.Skipped),
        ("MANUAL", run.Manual),
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(run.Benchmark)} compliance report, run {esc(run.RunId)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{esc(run.Benchmark)} compliance report</h1>",
        f'<p class="meta">Run <code>{esc(run.RunId)}</code> ({esc(run.Trigger)}), '
        f"{esc(run.StartedAt)} to {esc(run.FinishedAt)}; {run.Clusters} clusters "
        f"({run.ClustersFailed} not reached), {run.Nodes} nodes ({run.NodesFailed} unreadable) "
        f"in {run.Subscriptions} subscriptions. {esc(TOOL_NAME)} {esc(__version__)}.</p>",
        '<p class="totals">'
        + "".join(f'<span class="{s}">{n} {s}</span>' for s, n in totals)
        + "</p>",
        *_summary(rows),
        *_not_passing(rows),
        *_exemptions(rows, run),
        *_run_record(run),
        '<p class="meta">Every row of the run is in <code>--format csv</code> or '
        "<code>--format json</code>.</p>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


class HtmlSink(_DocumentSink):
    """Writes the HTML report when the run record arrives."""

    def render(self, rows: Sequence[Finding], run: RunRecord) -> str:
        """The page."""
        return render_html(rows, run)
