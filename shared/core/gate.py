"""What a CI gate decides from a scan's rows: did it reach any cluster, and did a row fail it.

*Reached*: a cluster is reached when at least one of its controls was judged on data read from
it, that is when it has a ``PASS`` or ``FAIL`` row. A cluster that was not found, is stopped, whose
API server could not be contacted or refused the scanner, or whose every node's configz could not
be read has only ``ERROR``/``SKIPPED`` rows and is not reached. A scan that reached no cluster
(none discovered, or none reached) saw nothing a gate could pass on.

*Failing*: a row whose status is one of ``--fail-on``'s statuses, except a ``FAIL`` under an
active exemption (``Exempt=true``): an accepted risk does not fail the gate until it expires.

A ``GateTally`` is a finding sink (the CLI hands it every row); it keeps counters, not rows.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence

from shared.core.records import Finding, RunRecord

GATE_STATUSES = ("FAIL", "ERROR")


class GateTally:
    """Counts rows per status (exempted FAILs apart) and the clusters reached and seen."""

    def __init__(self) -> None:
        self.statuses: Counter[str] = Counter()
        self.exempt = 0
        self.reached: set[str] = set()
        self.seen: set[str] = set()
        self._lock = threading.Lock()

    def write_findings(self, rows: Sequence[Finding]) -> None:
        """Fold rows into the counters."""
        with self._lock:
            for row in rows:
                cluster = (row.ClusterId or row.SubscriptionId).lower()
                if row.ClusterId:
                    self.seen.add(cluster)
                if row.Status in ("PASS", "FAIL"):
                    self.reached.add(cluster)
                if row.Exempt:
                    self.exempt += 1
                else:
                    self.statuses[row.Status] += 1

    def write_run(self, run: RunRecord) -> None:
        """Nothing to do: the counters are complete when the run record arrives."""

    def failing(self, fail_on: frozenset[str]) -> int:
        """Rows that fail a gate on ``fail_on`` (exempted FAILs never do)."""
        return sum(self.statuses[s] for s in fail_on)

    def describe(self) -> str:
        """One line: clusters seen and reached, rows per status."""
        counts = ", ".join(f"{n} {s}" for s, n in sorted(self.statuses.items()))
        return (
            f"{len(self.seen)} clusters with rows, {len(self.reached)} reached; "
            f"rows: {counts or 'none'}" + (f", {self.exempt} exempted FAIL" if self.exempt else "")
        )


def parse_fail_on(text: str) -> frozenset[str]:
    """``FAIL``, ``ERROR`` or ``FAIL,ERROR`` (any case); ValueError naming what is wrong."""
    parts = [p.strip().upper() for p in text.split(",")]
    if not text.strip() or any(not p for p in parts):
        raise ValueError(f"expected FAIL, ERROR or FAIL,ERROR, got {text!r}")
    unknown = [p for p in parts if p not in GATE_STATUSES]
    if unknown:
        raise ValueError(
            f"unknown status {unknown[0]!r} (choose from {', '.join(GATE_STATUSES)}, comma-separated)"
        )
    return frozenset(parts)
