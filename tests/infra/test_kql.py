"""Every KQL query of the project passes Microsoft's KQL analyser (Kusto.Language), and the
analysis fails, with the analyser's own message, on the mistakes it exists to catch."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any, ClassVar

import pytest

from tests.infra import kql
from tests.infra.bicep import ROOT
from tests.infra.tables import COLUMNS, FINDINGS_TABLE, RUNS_TABLE

QUERIES, RULES = kql.project_queries()
BY_NAME = {q.name: q for q in QUERIES}
RULE_BY_SYMBOL = {r.symbol: r for r in RULES}
MISSPELT_TABLE = FINDINGS_TABLE.replace("Findings", "Finding")


def _analysis(name: str) -> kql.Analysis:
    (analysis,) = [a for a in kql.project_report().analyses if a.query.name == name]
    return analysis


def _one(text: str, name: str = "probe") -> kql.Analysis:
    _, (analysis,) = kql.analyse([kql.Query(name, text, "test")])
    return analysis


def _count_queries(node: Any) -> int:
    if isinstance(node, dict):
        return ("query" in node) + sum(_count_queries(v) for v in node.values())
    if isinstance(node, list):
        return sum(_count_queries(v) for v in node)
    return 0


class TestTheSet:
    def test_every_alert_rule(self):
        """The four rules of alerts.bicep, each with its deployed query and its measure."""
        assert sorted(RULE_BY_SYMBOL) == [
            "coverageGaps",
            "failedControls",
            "silentScanner",
            "waitingDeadLetters",
        ]
        assert RULE_BY_SYMBOL["failedControls"].measure == "FailedTargets"
        assert RULE_BY_SYMBOL["failedControls"].dimensions == ("ClusterId", "ControlId")
        assert "let period = 6h;" in RULE_BY_SYMBOL["silentScanner"].query.text

    def test_every_workbook_query(self):
        """As many workbook queries as the workbook JSON has "query" keys, tiles and drop-downs."""
        workbook = json.loads(kql.WORKBOOK.read_text(encoding="utf-8"))
        found = [q for q in QUERIES if q.origin == str(kql.WORKBOOK.relative_to(ROOT))]
        assert len(found) == _count_queries(workbook["items"]) >= 6
        assert all("{" not in q.text for q in found), "a parameter token was left in"

    def test_docs_examples_are_included(self):
        """README.md and docs/infra.md hold KQL examples, and all of them are analysed."""
        origins = {q.origin for q in QUERIES if q.origin.endswith(".md")}
        assert {"README.md", "docs/infra.md"} <= origins


class TestProjectQueriesAnalyseClean:
    @pytest.mark.parametrize("name", sorted(BY_NAME))
    def test_no_error(self, name):
        """Kusto.Language reports no error, and the result is a table."""
        analysis = _analysis(name)
        assert not analysis.errors, kql.problems([analysis], [])
        assert analysis.columns, f"{name}: no tabular result"

    @pytest.mark.parametrize("symbol", sorted(RULE_BY_SYMBOL))
    def test_alert_result_has_measure_and_dimensions(self, symbol):
        """The analysed result schema holds the rule's numeric measure and its dimensions."""
        rule = RULE_BY_SYMBOL[symbol]
        result = _analysis(rule.query.name).column_types
        assert result.get(rule.measure) in kql.NUMERIC, result
        assert set(rule.dimensions) <= set(result), result

    def test_no_problem_at_all(self):
        """What make infra-check reports: nothing."""
        assert kql.project_report().problems == ()

    def test_make_infra_check_step_passes(self):
        """python -m tests.infra.kql (make infra-check) exits 0 and says what it analysed."""
        done = subprocess.run(
            [sys.executable, "-m", "tests.infra.kql"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert f"analysed by {kql.PACKAGE} " in done.stdout
        assert " 0 errors" in done.stdout
        assert done.stdout.rstrip().endswith(": passed")


class TestTablesAsDeclared:
    @pytest.mark.parametrize("table", [FINDINGS_TABLE, RUNS_TABLE])
    def test_columns_and_types_come_from_the_records(self, table):
        """The analyser sees each records column with its KQL type, then the standard columns."""
        result = _one(f"{table} | take 1").columns
        expected = [(n, kql.KQL_TYPES[t]) for n, t in (*COLUMNS[table], *kql.STANDARD_COLUMNS)]
        assert list(result or ()) == expected

    def test_standard_columns_are_queryable(self):
        """Columns Log Analytics adds (TenantId, _ResourceId, ...) are known to the analyser."""
        analysis = _one(f"{FINDINGS_TABLE} | project TenantId, Type, _ResourceId, _TimeReceived")
        assert not analysis.errors

    def test_a_log_analytics_type_without_kql_type_is_refused(self):
        """A column type the analyser cannot declare stops the analysis, naming the column."""
        with pytest.raises(
            kql.KqlError, match=r"T_CL\.A: Log Analytics type 'uuid' has no KQL type"
        ):
            kql.tables_json({"T_CL": [("A", "uuid")]})


class TestMistakesFail:
    """Each mistake fails with the analyser's code and message, positioned in the query."""

    @pytest.mark.parametrize(
        ("text", "code", "message"),
        [
            (
                RULE_BY_SYMBOL["failedControls"].query.text.replace(
                    "by ClusterId, ControlId", "by ClusterId, ControlID"
                ),
                "KS142",
                "The name 'ControlID' does not refer to any known column, table, variable or function.",
            ),
            (
                f"{RUNS_TABLE} | summarize count() by ControlId",
                "KS142",
                "The name 'ControlId' does not refer to any known column, table, variable or function.",
            ),
            (
                f"{MISSPELT_TABLE} | take 1",
                "KS204",
                f"The name '{MISSPELT_TABLE}' does not refer to any known table, tabular variable or function.",
            ),
            (f'{FINDINGS_TABLE} | where Status == "FAIL" and', "KS006", "Missing expression"),
            (
                f"{FINDINGS_TABLE} | summarize N = count() by NodePool | top 5 by N desc, NodePool asc",
                "KS198",
                "The incomplete fragment is unexpected.",
            ),
            (
                f"let latest = toscalar({FINDINGS_TABLE} | summarize max(TimeGenerated)); print latest",
                "KS142",
                "The name 'let' does not refer to any known column, table, variable or function.",
            ),
        ],
        ids=[
            "misspelt-column",
            "column-of-the-other-table",
            "unknown-table",
            "syntax-error",
            "top-with-two-sort-keys",
            "keyword-as-let-name",
        ],
    )
    def test_fails_with_the_analysers_message(self, text, code, message):
        """The problem list carries the analyser's diagnostic."""
        analysis = _one(text)
        assert (code, message) in {(d.code, d.message) for d in analysis.errors}
        assert any(f"{code} {message} at line " in p for p in kql.problems([analysis], []))

    def test_position_points_at_the_mistake(self):
        """The problem names line and column and marks the span under the line."""
        text = f"{FINDINGS_TABLE}\n| where Stauts == 'FAIL'"
        (problem,) = kql.problems([_one(text)], [])
        assert "line 2, column 9" in problem
        assert problem.endswith("| where Stauts == 'FAIL'\n              ^^^^^^")

    def test_a_measure_the_query_does_not_yield(self):
        """An alert measuring a column its query does not return is a problem."""
        rule = RULE_BY_SYMBOL["failedControls"]
        wrong = kql.AlertRule(rule.symbol, rule.query, "FailingNodes", rule.dimensions)
        (problem,) = kql.problems([_analysis(rule.query.name)], [wrong])
        assert problem.startswith(
            "alert failedControls: measure column FailingNodes is not in the result ("
        )

    def test_a_measure_that_is_not_a_number(self):
        """A string column cannot be an alert's measure."""
        rule = RULE_BY_SYMBOL["failedControls"]
        wrong = kql.AlertRule(rule.symbol, rule.query, "ControlId", ())
        assert kql.problems([_analysis(rule.query.name)], [wrong]) == [
            "alert failedControls: measure column ControlId is string, not numeric"
        ]

    def test_a_dimension_the_query_does_not_yield(self):
        """An alert split by a column its query does not return is a problem."""
        rule = RULE_BY_SYMBOL["coverageGaps"]
        wrong = kql.AlertRule(rule.symbol, rule.query, rule.measure, ("Target", "Cluster"))
        (problem,) = kql.problems([_analysis(rule.query.name)], [wrong])
        assert problem.startswith(
            "alert coverageGaps: dimension column Cluster is not in the result ("
        )

    def test_make_infra_check_step_fails_on_a_misspelt_column(self, tmp_path):
        """python -m tests.infra.kql with a bad query exits 1, quoting the analyser."""
        bad = tmp_path / "bad.kql"
        bad.write_text(f'{FINDINGS_TABLE}\n| where Stauts == "FAIL"\n', encoding="utf-8")
        done = subprocess.run(
            [sys.executable, "-m", "tests.infra.kql", str(bad)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 1
        assert "KS142 The name 'Stauts' does not refer to any known column" in done.stderr
        assert "line 2, column 9" in done.stderr
        assert "FAILED, 1 problem(s)" in done.stdout


class TestWorkbookParameters:
    PARAMETERS: ClassVar[dict[str, dict[str, Any]]] = {
        "TimeRange": {"name": "TimeRange", "type": 4, "value": {"durationMs": 604_800_000}},
        "Cluster": {"name": "Cluster", "type": 2},
        "Pools": {"name": "Pools", "type": 2, "multiSelect": True},
        "Owner": {"name": "Owner", "type": 1},
    }

    @pytest.mark.parametrize(
        ("token", "value"),
        [
            ("{TimeRange}", "> ago(7d)"),
            ("{TimeRange:query}", "> ago(7d)"),
            ("{TimeRange:grain}", "1h"),
            ("{TimeRange:start}", "datetime(2026-01-01T00:00:00Z)"),
            ("{Cluster}", kql.SAMPLE_VALUES["Cluster"]),
        ],
        ids=["time-range", "time-range-query", "grain", "start", "drop-down"],
    )
    def test_substitutes_a_value_of_the_parameters_type(self, token, value):
        """Each token becomes what the workbook would put there."""
        assert kql.substitute(f"x {token} y", self.PARAMETERS, "w") == f"x {value} y"

    @pytest.mark.parametrize(
        ("token", "message"),
        [
            ("{Clusters}", r"w: \{Clusters\} is not a parameter of the workbook"),
            ("{Owner}", "w: no sample value for parameter Owner: add one to SAMPLE_VALUES"),
            ("{Pools}", r"w: \{Pools\}: a type-2 parameter in this form is not supported"),
            ("{TimeRange:label}", "format 'label' is not a KQL expression"),
        ],
        ids=["unknown", "no-sample", "multi-select", "label"],
    )
    def test_refuses_what_it_cannot_substitute(self, token, message):
        """An unknown or unsupported token stops the analysis, naming it."""
        with pytest.raises(kql.KqlError, match=message):
            kql.substitute(token, self.PARAMETERS, "w")

    def test_queries_inside_groups_are_found(self, tmp_path):
        """A query in a group (type 12) of the workbook is analysed too."""
        workbook = {
            "items": [
                {
                    "type": 12,
                    "name": "group",
                    "content": {
                        "items": [
                            {"type": 3, "name": "inner", "content": {"query": "print 1"}},
                        ]
                    },
                }
            ]
        }
        path = tmp_path / "w.workbook.json"
        path.write_text(json.dumps(workbook), encoding="utf-8")
        assert [(q.name, q.text) for q in kql.workbook_queries(path)] == [
            ("workbook inner", "print 1")
        ]


class TestDocsExamples:
    def test_kusto_and_kql_fences_only(self, tmp_path):
        """```kusto and ```kql blocks are queries, named by file and line; other fences are not."""
        doc = tmp_path / "doc.md"
        doc.write_text(
            "# t\n\n```kusto\nT | take 1\n```\n\n```sh\nmake test\n```\n\n```kql\nprint 2\n```\n",
            encoding="utf-8",
        )
        found = kql.doc_queries([doc])
        assert [(q.name.rsplit(":", 1)[1], q.text) for q in found] == [
            ("3", "T | take 1\n"),
            ("11", "print 2\n"),
        ]


class TestEnvironment:
    def test_no_node_is_a_clear_failure(self, monkeypatch, tmp_path):
        """Without Node.js the analysis fails and says what to install; it never skips."""
        monkeypatch.setenv("PATH", str(tmp_path))
        with pytest.raises(kql.KqlError, match=r"node \(Node\.js\) is not on PATH"):
            kql.analyse([kql.Query("q", "print 1", "test")])

    def test_the_analyser_refuses_malformed_input(self):
        """infra/kql/analyse.mjs exits 2 with a message on input it cannot take."""
        done = subprocess.run(
            [kql.node(), str(kql.ANALYSER)],
            input='{"tables": []}',
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 2
        assert 'stdin needs "tables" and "queries" arrays' in done.stderr

    def test_duplicate_query_names_are_refused(self):
        """Results are matched to queries by name, so names must be unique."""
        query = kql.Query("same", "print 1", "test")
        with pytest.raises(kql.KqlError, match=r"query names must be unique: \['same'\]"):
            kql.analyse([query, query])

    def test_analyser_version_is_the_pinned_one(self):
        """The version reported is package-lock.json's."""
        lock = json.loads((ROOT / "package-lock.json").read_text(encoding="utf-8"))
        pinned = lock["packages"][f"node_modules/{kql.PACKAGE}"]["version"]
        assert kql.project_report().analyser == f"{kql.PACKAGE} {pinned}"

    def test_kql_files_given_on_the_command_line_must_exist(self, tmp_path, capsys):
        """A missing extra file is named, and the step fails."""
        missing = tmp_path / "missing.kql"
        assert kql.main([str(missing)]) == 1
        assert capsys.readouterr().err == f"kql: no such file: {missing}\n"
