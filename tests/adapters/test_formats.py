"""CSV, JUnit and SARIF outputs, read back by a CSV reader, a JUnit parser and the schemas."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import junitparser
import pytest
import xmlschema

from shared.adapters.formats import FORMULA_TRIGGERS, CsvSink, JUnitSink, SarifSink, csv_cell
from shared.core.records import FINDING_COLUMNS, Finding, column_names
from tests.rows import BENCHMARK, HOSTILE, cluster_id, row, run_for, sample_rows

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "tests" / "data" / "schemas"
MULTITOOL = ROOT / "node_modules" / ".bin" / "sarif-multitool"


def write(sink_type, rows, benchmark=BENCHMARK):
    stream = io.StringIO(newline="")
    sink = sink_type(stream) if sink_type is CsvSink else sink_type(stream, benchmark)
    sink.write_findings(rows)
    sink.write_run(run_for(rows))
    return stream.getvalue()


def unescape(cell: str) -> str:
    return cell[1:] if cell.startswith("'") else cell


class TestCsv:
    def test_header_is_the_finding_columns_in_schema_order(self):
        """The first line names every finding column, in FINDING_COLUMNS order."""
        header = next(csv.reader(io.StringIO(write(CsvSink, sample_rows()))))
        assert header == [name for name, _ in FINDING_COLUMNS]

    def test_every_row_reads_back_equal(self):
        """Python's csv module reads back each row's values (after undoing the formula escape)."""
        rows = sample_rows()
        lines = list(csv.DictReader(io.StringIO(write(CsvSink, rows))))
        assert len(lines) == len(rows)
        for line, original in zip(lines, rows, strict=True):
            for name, kind in FINDING_COLUMNS:
                value = getattr(original, name)
                if kind == "boolean":
                    assert line[name] == ("true" if value else "false")
                elif kind == "int":
                    assert line[name] == str(value)
                else:
                    assert unescape(line[name]) == value, name

    def test_lines_end_with_crlf_and_awkward_fields_are_quoted(self):
        """RFC 4180: CRLF line ends; a comma, a quote or a line break is quoted and survives."""
        reason = 'a, "quoted"\nsecond line'
        text = write(CsvSink, [row(Reason=reason)])
        assert text.endswith("\r\n")
        assert '"a, ""quoted""\nsecond line"' in text
        (line,) = csv.DictReader(io.StringIO(text))
        assert line["Reason"] == reason

    @pytest.mark.parametrize(
        "value",
        ["=1+1", "+SUM(A1)", "-1", "@cmd", "\tx", "\rx", "'already"],
        ids=["equals", "plus", "minus", "at", "tab", "carriage-return", "apostrophe"],
    )
    def test_formula_triggers_get_one_apostrophe(self, value):
        """A text cell a spreadsheet would evaluate starts with an apostrophe; dropping it restores the value."""
        assert value.startswith(FORMULA_TRIGGERS)
        (line,) = csv.DictReader(io.StringIO(write(CsvSink, [row(Actual=value)])))
        assert line["Actual"] == "'" + value
        assert unescape(line["Actual"]) == value

    def test_plain_values_and_numbers_are_unchanged(self):
        """A value that starts with anything else, and the integer Level, are written as they are."""
        assert csv_cell("Actual", "10255") == "10255"
        assert csv_cell("Level", -1) == "-1"
        assert csv_cell("Exempt", True) == "true"

    def test_no_rows_still_writes_the_header(self):
        """An empty scan gives a file with the header line only."""
        assert write(CsvSink, []) == ",".join(n for n, _ in FINDING_COLUMNS) + "\r\n"


def junit_cases(text: str) -> dict[tuple[str, str], junitparser.TestCase]:
    xml = junitparser.JUnitXml.fromstring(text)
    return {(case.classname, case.name): case for suite in xml for case in suite}


class TestJUnit:
    def test_one_test_case_per_target_and_control(self):
        """junitparser reads back one test case per row, named by control and target, classed by cluster."""
        rows = sample_rows()
        cases = junit_cases(write(JUnitSink, rows))
        assert len(cases) == len(rows)
        case = cases[
            (
                "aks-a",
                f"3.2.4 {BENCHMARK.control('3.2.4').title} [system/aks-system-12345678-vmss000001]",
            )
        ]
        assert case.result
        assert isinstance(case.result[0], junitparser.Failure)
        assert ("aks-stopped", f"3.2.1 {BENCHMARK.control('3.2.1').title} [cluster]") in cases

    @pytest.mark.parametrize(
        ("status", "exempt", "kind"),
        [
            ("PASS", False, None),
            ("FAIL", False, junitparser.Failure),
            ("ERROR", False, junitparser.Error),
            ("SKIPPED", False, junitparser.Skipped),
            ("MANUAL", False, junitparser.Skipped),
            ("FAIL", True, junitparser.Skipped),
        ],
        ids=["pass", "fail", "error", "skipped", "manual", "exempt-fail"],
    )
    def test_status_maps_to_the_junit_result(self, status, exempt, kind):
        """FAIL a failure, ERROR an error, SKIPPED/MANUAL and an exempted FAIL skipped, PASS nothing."""
        extra: dict[str, Any] = {
            "Exempt": True,
            "ExemptionExpires": "2027-03-31",
            "ExemptionReason": "RISK-1",
        }
        (case,) = junit_cases(
            write(JUnitSink, [row("3.2.1", status, **(extra if exempt else {}))])
        ).values()
        if kind is None:
            assert case.result == []
        else:
            (result,) = case.result
            assert type(result) is kind
            assert (
                "2027-03-31" in result.message
                if exempt
                else result.message == row("3.2.1", status).Reason
            )

    def test_suite_counts_add_up(self):
        """Each suite's tests/failures/errors/skipped match its cases, and the root sums them."""
        text = write(JUnitSink, sample_rows())
        xml = junitparser.JUnitXml.fromstring(text)
        by_name = {suite.name: suite for suite in xml}
        a = by_name["aks-a"]
        assert (a.tests, a.failures, a.errors, a.skipped) == (27, 1, 9, 0)
        b = by_name["aks-b"]
        assert (b.tests, b.failures, b.errors, b.skipped) == (3, 1, 0, 2)

    def test_validates_against_the_jenkins_junit_schema(self):
        """The document is valid against junit-10.xsd (the JUnit shape Jenkins checks)."""
        schema = xmlschema.XMLSchema(str(SCHEMAS / "junit-10.xsd"))
        schema.validate(write(JUnitSink, sample_rows()))

    def test_hostile_and_control_characters_stay_text(self):
        """Markup in a value is escaped text; characters XML 1.0 forbids become U+FFFD."""
        rows = [row("3.2.1", "ERROR", Reason=HOSTILE + "\x00\x1b[31m")]
        (case,) = junit_cases(write(JUnitSink, rows)).values()
        assert case.result[0].message == HOSTILE + "\ufffd\ufffd[31m"

    def test_every_column_is_in_the_case_output(self):
        """system-out lists each non-empty column as `Column: value`, whatever the schema holds."""
        original = row("3.2.4", "FAIL")
        (case,) = junit_cases(write(JUnitSink, [original])).values()
        lines = dict(line.split(": ", 1) for line in case.system_out.splitlines())
        expected = {k: v for k, v in original.row().items() if v != ""}
        assert set(lines) == set(expected)
        assert lines["ClusterId"] == original.ClusterId


def sarif(rows, benchmark=BENCHMARK):
    return json.loads(write(SarifSink, rows, benchmark))


class TestSarif:
    def test_validates_against_the_sarif_2_1_0_schema(self):
        """The log is valid against the OASIS SARIF 2.1.0 JSON schema."""
        schema = json.loads((SCHEMAS / "sarif-schema-2.1.0.json").read_text())
        jsonschema.Draft4Validator(schema).validate(sarif(sample_rows()))

    def test_one_rule_per_control_with_title_level_and_remediation(self):
        """Every benchmark control is a rule: title as descriptions, remediation as help, CIS level."""
        rules = sarif([row()])["runs"][0]["tool"]["driver"]["rules"]
        assert [r["id"] for r in rules] == [c.id for c in BENCHMARK.controls]
        for rule, control in zip(rules, BENCHMARK.controls, strict=True):
            assert rule["shortDescription"]["text"] == control.title
            assert rule["help"]["text"] == control.remediation
            assert rule["properties"]["cisLevel"] == control.level
            assert rule["defaultConfiguration"]["level"] == (
                "error" if control.level == 1 else "warning"
            )

    @pytest.mark.parametrize(
        ("status", "kind", "level"),
        [
            ("PASS", "pass", "none"),
            ("FAIL", "fail", "error"),
            ("ERROR", "open", "none"),
            ("MANUAL", "review", "none"),
            ("SKIPPED", "notApplicable", "none"),
        ],
        ids=["pass", "fail", "error", "manual", "skipped"],
    )
    def test_status_maps_to_kind_and_level(self, status, kind, level):
        """Each status has its SARIF kind; only a failure has a level."""
        (result,) = sarif([row("3.2.1", status)])["runs"][0]["results"]
        assert (result["kind"], result["level"]) == (kind, level)

    def test_results_are_located_by_cluster_id_and_node(self):
        """A node's result points at a logical location whose parent is the cluster's resource id."""
        run = sarif(sample_rows())["runs"][0]
        locations = run["logicalLocations"]
        result = next(
            r for r in run["results"] if r["properties"]["NodeName"].endswith("vmss000001")
        )
        (where,) = result["locations"][0]["logicalLocations"]
        node = locations[where["index"]]
        assert node["name"] == "aks-system-12345678-vmss000001"
        assert node["fullyQualifiedName"] == where["fullyQualifiedName"]
        assert locations[node["parentIndex"]]["fullyQualifiedName"] == cluster_id("aks-a")
        stopped = next(r for r in run["results"] if r["properties"]["ClusterName"] == "aks-stopped")
        (where,) = stopped["locations"][0]["logicalLocations"]
        assert where["fullyQualifiedName"] == cluster_id("aks-stopped")

    def test_exempted_fail_carries_an_accepted_suppression(self):
        """An exempted FAIL is suppressed (external, accepted) with the exemption and its expiry."""
        results = sarif(sample_rows())["runs"][0]["results"]
        (exempt,) = [r for r in results if r["properties"]["Exempt"]]
        (suppression,) = exempt["suppressions"]
        assert suppression["status"] == "accepted"
        assert "2027-03-31" in suppression["justification"]
        assert all("suppressions" not in r for r in results if not r["properties"]["Exempt"])

    def test_every_row_once_with_all_its_columns(self):
        """One result per row; its properties are the whole row (every column of the schema)."""
        rows = sample_rows()
        results = sarif(rows)["runs"][0]["results"]
        assert [Finding(**r["properties"]) for r in results] == rows
        assert all(tuple(r["properties"]) == column_names(Finding) for r in results)

    def test_a_control_missing_from_the_benchmark_still_gets_a_rule(self):
        """A row whose control the benchmark table lacks gets a rule from the row itself."""
        rules = sarif([row("9.9.9", "FAIL")], benchmark=None)["runs"][0]["tool"]["driver"]["rules"]
        assert [r["id"] for r in rules] == ["9.9.9"]

    def test_microsoft_sarif_multitool_finds_no_error(self, tmp_path):
        """`sarif-multitool validate` (Microsoft's SARIF SDK) reports no error; the only warning is the missing informationUri."""
        if not MULTITOOL.exists():
            if os.environ.get("CI"):
                pytest.fail(f"{MULTITOOL} is missing: make test installs it (npm ci)")
            pytest.skip(f"{MULTITOOL} is missing: run `npm ci` (make test does)")
        log = tmp_path / "scan.sarif"
        log.write_text(write(SarifSink, sample_rows()))
        out = tmp_path / "validation.sarif"
        subprocess.run(
            [str(MULTITOOL), "validate", str(log), "--output", str(out)],
            check=True,
            capture_output=True,
            timeout=300,
            env={**os.environ, "DOTNET_CLI_TELEMETRY_OPTOUT": "1"},
        )
        results = json.loads(out.read_text())["runs"][0]["results"]
        levels = {(r.get("level", "warning"), r["ruleId"]) for r in results}
        assert {rule for level, rule in levels if level == "error"} == set()
        assert {rule for level, rule in levels if level == "warning"} <= {"SARIF2005"}
