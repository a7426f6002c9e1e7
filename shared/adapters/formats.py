"""File formats a pipeline or a spreadsheet takes: CSV, JUnit XML and SARIF 2.1.0.

All three are generic over ``FINDING_COLUMNS``: a column added to the record appears in each
without code here (a CSV column, a ``Column: value`` line of a JUnit test case's output, a key of
a SARIF result's ``properties``). A *target* is a node, or the cluster itself when ``NodeName``
is empty.

CSV (RFC 4180): a header of the finding columns in schema order, then one line per row as rows
arrive, CRLF line ends, fields quoted when they hold a comma, quote or line break. Booleans are
``true``/``false``. Spreadsheet formula injection: a text cell whose first character is ``=``,
``+``, ``-``, ``@``, a tab or a carriage return would be evaluated by a spreadsheet, and quoting
does not stop that, so such a cell gets one leading apostrophe (``'``), as does a cell that
already starts with one; to get the value back, drop one leading apostrophe from every text cell
that starts with one. Numbers (``Level``) are written as they are.

JUnit: one ``<testsuite>`` per cluster, one ``<testcase>`` per target and control; ``classname``
is the cluster and ``name`` is ``<control id> <title> [<pool>/<node>]`` (``[cluster]`` for a
cluster-level target), so CI test views group by cluster and sort by control. ``FAIL`` is a
``<failure>``, ``ERROR`` an ``<error>``, ``SKIPPED`` and ``MANUAL`` are ``<skipped>``, and an
exempted ``FAIL`` is ``<skipped>`` with the exemption and its expiry as the message (an accepted
risk does not fail a CI report; it is a failure again once the exemption expires).

SARIF 2.1.0: one run; one rule per control of the benchmark (id, title as short and full
description, remediation as help, CIS level in ``properties``; default level ``error`` for a
Level 1 control, ``warning`` for Level 2); one result per row, located by logical locations: the
cluster (its resource id) and the node (``<cluster id>/nodes/<node>``, its parent the cluster).
``kind`` is ``pass``, ``fail``, ``open`` (ERROR: not determined), ``review`` (MANUAL) or
``notApplicable`` (SKIPPED); only a ``fail`` carries a level other than ``none``. An exempted
FAIL carries an accepted external suppression whose justification is the exemption.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import threading
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import IO, Any
from xml.etree import ElementTree as ET

from shared import TOOL_NAME, __version__
from shared.core.controls import Benchmark
from shared.core.records import FINDING_COLUMNS, Finding, RunRecord
from shared.core.report import ControlInfo, cluster_label, control_key, controls_of, section_of

#: First characters a spreadsheet treats as the start of a formula (OWASP "CSV Injection"), and
#: the apostrophe itself so that the escape can be undone without ambiguity.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "'")

_TEXT_COLUMNS = frozenset(name for name, kind in FINDING_COLUMNS if kind in ("string", "datetime"))


def csv_cell(column: str, value: object) -> str:
    """One CSV field's text, escaped against formula injection when it is a text column."""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if column in _TEXT_COLUMNS and text.startswith(FORMULA_TRIGGERS):
        return "'" + text
    return text


class CsvSink:
    """RFC 4180 CSV of the finding columns, one line per row as rows arrive."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._writer = csv.writer(stream, lineterminator="\r\n")
        self._columns = tuple(name for name, _ in FINDING_COLUMNS)
        self._lock = threading.Lock()
        self._header = False

    def _write_header(self) -> None:
        if not self._header:
            self._writer.writerow(self._columns)
            self._header = True

    def write_findings(self, rows: Sequence[Finding]) -> None:
        """Write each row as a line."""
        with self._lock:
            self._write_header()
            for row in rows:
                values = row.row()
                self._writer.writerow([csv_cell(c, values[c]) for c in self._columns])

    def write_run(self, run: RunRecord) -> None:
        """Finish the file (the header alone when there were no rows)."""
        with self._lock:
            self._write_header()
            self._stream.flush()


class _DocumentSink:
    """Keeps rows until the run record arrives, then writes one document."""

    def __init__(self, stream: IO[str], benchmark: Benchmark | None = None) -> None:
        self._stream = stream
        self._benchmark = benchmark
        self._rows: list[Finding] = []
        self._lock = threading.Lock()

    def write_findings(self, rows: Sequence[Finding]) -> None:
        """Keep rows."""
        with self._lock:
            self._rows.extend(rows)

    def write_run(self, run: RunRecord) -> None:
        """Write the document."""
        with self._lock:
            self._stream.write(self.render(self._rows, run))
            self._stream.flush()

    def render(self, rows: Sequence[Finding], run: RunRecord) -> str:
        """The whole document."""
        raise NotImplementedError


def _target(row: Finding) -> str:
    if not row.NodeName:
        return "cluster"
    return f"{row.NodePool}/{row.NodeName}" if row.NodePool else row.NodeName


# XML 1.0 allows tab, newline, carriage return and U+0020 upwards (less surrogates, FFFE, FFFF).
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(value: object) -> str:
    """Text XML 1.0 can carry: characters it forbids become U+FFFD."""
    return _XML_INVALID.sub("\ufffd", str(value))


def _seconds(run: RunRecord) -> str:
    try:
        start = datetime.fromisoformat(run.StartedAt.replace("Z", "+00:00"))
        end = datetime.fromisoformat(run.FinishedAt.replace("Z", "+00:00"))
    except ValueError:
        return "0.000"
    return f"{max(0.0, (end - start).total_seconds()):.3f}"


def _details(row: Finding) -> str:
    """Every column of the row, one ``Column: value`` line each (empty values left out)."""
    values = row.row()
    return "\n".join(
        f"{name}: {csv_cell('', values[name])}"
        for name, _ in FINDING_COLUMNS
        if values[name] not in ("", None)
    )


class JUnitSink(_DocumentSink):
    """JUnit XML: a test suite per cluster, a test case per target and control."""

    def render(self, rows: Sequence[Finding], run: RunRecord) -> str:
        """The ``<testsuites>`` document."""
        suites: dict[str, list[Finding]] = defaultdict(list)
        for row in rows:
            suites[cluster_label(row)].append(row)
        root = ET.Element(
            "testsuites",
            name=xml_text(f"{TOOL_NAME} {run.Benchmark} run {run.RunId}"),
            time=_seconds(run),
        )
        totals = {"tests": 0, "failures": 0, "errors": 0}
        for name in sorted(suites):
            suite_rows = sorted(
                suites[name],
                key=lambda r: (control_key(r.ControlId), r.NodePool, r.NodeName),
            )
            counts = self._suite(root, name, suite_rows, run)
            for key in totals:
                totals[key] += counts[key]
        for key, value in totals.items():
            root.set(key, str(value))
        ET.indent(root)
        return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"

    def _suite(
        self, root: ET.Element, name: str, rows: list[Finding], run: RunRecord
    ) -> dict[str, int]:
        suite = ET.SubElement(root, "testsuite", name=xml_text(name), timestamp=run.StartedAt)
        first = rows[0]
        properties = ET.SubElement(suite, "properties")
        for key, value in (
            ("Benchmark", first.Benchmark),
            ("RunId", first.RunId),
            ("SubscriptionId", first.SubscriptionId),
            ("ResourceGroup", first.ResourceGroup),
            ("ClusterId", first.ClusterId),
        ):
            ET.SubElement(properties, "property", name=key, value=xml_text(value))
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        for row in rows:
            counts["tests"] += 1
            case = ET.SubElement(
                suite,
                "testcase",
                classname=xml_text(name),
                name=xml_text(f"{row.ControlId} {row.ControlTitle} [{_target(row)}]"),
            )
            message = xml_text(row.Reason)
            if row.Status == "FAIL" and row.Exempt:
                counts["skipped"] += 1
                ET.SubElement(
                    case,
                    "skipped",
                    type="EXEMPT",
                    message=xml_text(
                        f"exempt until {row.ExemptionExpires}: {row.ExemptionReason} "
                        f"(FAIL: {row.Reason})"
                    ),
                )
            elif row.Status == "FAIL":
                counts["failures"] += 1
                failure = ET.SubElement(case, "failure", type="FAIL", message=message)
                failure.text = xml_text(
                    f"Actual: {row.Actual}\nExpected: {row.Expected}\n"
                    f"Remediation: {row.Remediation}"
                )
            elif row.Status == "ERROR":
                counts["errors"] += 1
                ET.SubElement(case, "error", type="ERROR", message=message)
            elif row.Status in ("SKIPPED", "MANUAL"):
                counts["skipped"] += 1
                ET.SubElement(case, "skipped", type=row.Status, message=message)
            ET.SubElement(case, "system-out").text = xml_text(_details(row))
        for attribute, count in counts.items():
            suite.set(attribute, str(count))
        return counts


_KIND = {
    "PASS": "pass",
    "FAIL": "fail",
    "ERROR": "open",
    "MANUAL": "review",
    "SKIPPED": "notApplicable",
}


def _rule_level(level: int) -> str:
    return "error" if level <= 1 else "warning"


def _rules(rows: Sequence[Finding], benchmark: Benchmark | None) -> list[ControlInfo]:
    """Every control of the benchmark, then any control a row has that the benchmark lacks."""
    rules: dict[str, ControlInfo] = {}
    if benchmark is not None:
        for c in benchmark.controls:
            rules[c.id] = ControlInfo(c.id, c.title, c.level, c.remediation)
    for info in controls_of(rows):
        rules.setdefault(info.id, info)
    return list(rules.values())


class SarifSink(_DocumentSink):
    """A SARIF 2.1.0 log: one rule per control, one result per row."""

    def render(self, rows: Sequence[Finding], run: RunRecord) -> str:
        """The SARIF log as JSON text."""
        return json.dumps(self.document(rows, run), indent=2) + "\n"

    def document(self, rows: Sequence[Finding], run: RunRecord) -> dict[str, Any]:
        """The SARIF log."""
        rules = _rules(rows, self._benchmark)
        index = {rule.id: i for i, rule in enumerate(rules)}
        locations: list[dict[str, Any]] = []
        location_index: dict[str, int] = {}

        def location(fqn: str, name: str, parent: int | None, **properties: str) -> int:
            if fqn not in location_index:
                entry: dict[str, Any] = {
                    "name": name,
                    "fullyQualifiedName": fqn,
                    "kind": "resource",
                }
                if parent is not None:
                    entry["parentIndex"] = parent
                if properties:
                    entry["properties"] = properties
                location_index[fqn] = len(locations)
                locations.append(entry)
            return location_index[fqn]

        results = []
        for row in rows:
            cluster_fqn = row.ClusterId or f"/subscriptions/{row.SubscriptionId}"
            where = location(cluster_fqn, cluster_label(row), None)
            fqn = cluster_fqn
            if row.NodeName:
                fqn = f"{cluster_fqn}/nodes/{row.NodeName}"
                where = location(fqn, row.NodeName, where, nodePool=row.NodePool)
            results.append(self._result(row, index, rules, where, fqn))
        return {
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "version": "2.1.0",
            "runs": [
                {
                    "tool": {
                        "driver": {
                            "name": TOOL_NAME,
                            "version": __version__,
                            "semanticVersion": __version__,
                            "rules": [self._rule(r, run.Benchmark) for r in rules],
                        }
                    },
                    "automationDetails": {"id": f"{run.Benchmark}/{run.RunId}"},
                    "invocations": [
                        {
                            "executionSuccessful": True,
                            "startTimeUtc": run.StartedAt,
                            "endTimeUtc": run.FinishedAt,
                        }
                    ],
                    "logicalLocations": locations,
                    "results": results,
                    "properties": {"run": run.row()},
                }
            ],
        }

    @staticmethod
    def _rule(rule: ControlInfo, benchmark: str) -> dict[str, Any]:
        return {
            "id": rule.id,
            "shortDescription": {"text": rule.title},
            "fullDescription": {"text": rule.title},
            "help": {"text": rule.remediation or "The benchmark table gives no remediation."},
            "defaultConfiguration": {"level": _rule_level(rule.level)},
            "properties": {
                "benchmark": benchmark,
                "section": section_of(rule.id),
                "cisLevel": rule.level,
                "tags": ["CIS", benchmark, f"Level {rule.level}"],
            },
        }

    @staticmethod
    def _result(
        row: Finding, index: dict[str, int], rules: list[ControlInfo], where: int, fqn: str
    ) -> dict[str, Any]:
        text = (
            f"{row.Status} {row.ControlId} on {_target(row)} of {cluster_label(row)}: {row.Reason}"
        )
        if row.Actual or row.Expected:
            text += f" (actual: {row.Actual or 'not read'}; expected: {row.Expected})"
        kind = _KIND[row.Status]
        result: dict[str, Any] = {
            "ruleId": row.ControlId,
            "ruleIndex": index[row.ControlId],
            "kind": kind,
            "level": _rule_level(rules[index[row.ControlId]].level) if kind == "fail" else "none",
            "message": {"text": text},
            "locations": [
                {
                    "logicalLocations": [
                        {"index": where, "fullyQualifiedName": fqn, "kind": "resource"}
                    ]
                }
            ],
            "partialFingerprints": {
                "targetControl/v1": hashlib.sha256(
                    f"{fqn.lower()}\x1f{row.ControlId}".encode()
                ).hexdigest()[:32]
            },
            "properties": row.row(),
        }
        if row.Exempt:
            result["suppressions"] = [
                {
                    "kind": "external",
                    "status": "accepted",
                    "justification": f"{row.ExemptionReason} (exempt until {row.ExemptionExpires})",
                }
            ]
        return result
