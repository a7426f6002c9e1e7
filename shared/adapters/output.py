"""Outputs: JSON and JSON lines for machines, the in-memory sink, and the choice of format.

``--format json`` writes one object ``{"run": {...}, "findings": [...]}``; ``jsonl`` writes one
finding row per line as rows arrive and a last line ``{"run": {...}}``. Both sort nothing and
drop nothing: every row the pipeline produced is written. The table for people is
``shared.adapters.terminal``; CSV, JUnit and SARIF are ``shared.adapters.formats``, the HTML
report ``shared.adapters.html_report``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from typing import IO, Any

from shared.adapters.terminal import TableSink
from shared.core.controls import Benchmark
from shared.core.records import Finding, RunRecord
from shared.ports import FindingSink

__all__ = ["FORMATS", "CollectingSink", "JsonLinesSink", "JsonSink", "TableSink", "output_sink"]


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


#: ``--format`` values and what each writes; the CLI's help and README list the same.
FORMATS: dict[str, str] = {
    "table": "the terminal report: node-by-control matrix, reasons, pools, totals (default)",
    "json": 'one document {"run": ..., "findings": [...], "pools": [...]}',
    "jsonl": 'one finding per line as rows arrive, then a last line {"run": ...}',
    "csv": "the finding columns, RFC 4180, safe to open in a spreadsheet",
    "junit": "JUnit XML: a test suite per cluster, a test case per target and control",
    "sarif": "SARIF 2.1.0: a rule per control, a result per target and control",
    "html": "one self-contained HTML report for an auditor (no scripts, no external files)",
}
#: Formats that write rows as they arrive (the others write once, when the run ends).
STREAMING_FORMATS = frozenset({"jsonl", "csv"})


def output_sink(
    fmt: str, stream: IO[str], *, benchmark: Benchmark | None = None, matrix: str = "auto"
) -> FindingSink:
    """The sink that writes ``fmt`` to ``stream``; ValueError for an unknown format."""
    from shared.adapters.formats import CsvSink, JUnitSink, SarifSink  # noqa: PLC0415
    from shared.adapters.html_report import HtmlSink  # noqa: PLC0415

    if fmt == "table":
        from rich.console import Console  # noqa: PLC0415

        # width None: COLUMNS when set, else the terminal's, else 80 (rich's own rule).
        return TableSink(Console(file=stream, width=None), matrix=matrix)
    factories: dict[str, Callable[[], FindingSink]] = {
        "json": lambda: JsonSink(stream),
        "jsonl": lambda: JsonLinesSink(stream),
        "csv": lambda: CsvSink(stream),
        "junit": lambda: JUnitSink(stream, benchmark),
        "sarif": lambda: SarifSink(stream, benchmark),
        "html": lambda: HtmlSink(stream, benchmark),
    }
    if fmt not in factories:
        raise ValueError(f"unknown format {fmt!r} (choose from {', '.join(FORMATS)})")
    return factories[fmt]()
