"""The alert rules and the workbook: what they watch and how they are wired.

That their KQL parses, reads real columns and yields the alert's measure and dimensions is
checked by Microsoft's KQL analyser: tests/infra/test_kql.py.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from shared.core.model import Status
from tests.infra.bicep import ROOT, Opaque, Template, main

MAIN = main()
ALERTS = MAIN.module("alerts")
WORKBOOK_MODULE = MAIN.module("workbook")

#: rule symbol -> (the column it measures, its dimensions, operator and threshold)
RULES = {
    "failedControls": ("FailedTargets", ["ClusterId", "ControlId"], "GreaterThan", 0),
    "coverageGaps": ("Rows", ["Target", "Problem"], "GreaterThan", 0),
    "silentScanner": ("Runs", [], "LessThan", 1),
    "waitingDeadLetters": ("WaitingRows", [], "GreaterThan", 0),
}


def _rule(symbol: str, template: Template = ALERTS) -> dict[str, Any]:
    return template.resource_body(symbol)


def _query(symbol: str, template: Template = ALERTS) -> str:
    (condition,) = _rule(symbol, template)["properties"]["criteria"]["allOf"]
    query = template.evaluate(condition["query"])
    assert isinstance(query, str), f"{symbol}: query is not known before deployment: {query}"
    return query


def _workbook() -> dict[str, Any]:
    (symbol,) = WORKBOOK_MODULE.resources_of_type("Microsoft.Insights/workbooks")
    serialized = WORKBOOK_MODULE.evaluate(
        WORKBOOK_MODULE.resource_body(symbol)["properties"]["serializedData"]
    )
    assert isinstance(serialized, Opaque), "the workspace id is substituted at deployment"
    path = ROOT / "infra/workbook/aks-kubelet-compliance.workbook.json"
    workbook: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return workbook


def _workbook_queries() -> dict[str, str]:
    queries: dict[str, str] = {}
    for item in _workbook()["items"]:
        content = item["content"]
        if "query" in content:
            queries[item["name"]] = content["query"]
        for parameter in content.get("parameters", []):
            if "query" in parameter:
                queries[f"{item['name']}.{parameter['name']}"] = parameter["query"]
    return queries


ALL_QUERIES = {f"alert:{s}": _query(s) for s in RULES} | {
    f"workbook:{n}": q for n, q in _workbook_queries().items()
}


class TestQueries:
    @pytest.mark.parametrize("symbol", sorted(RULES))
    def test_measure_and_dimensions(self, symbol):
        """Each rule measures its column and splits by its dimensions (the analyser checks the query yields them)."""
        measure, dimensions, _, _ = RULES[symbol]
        (condition,) = _rule(symbol)["properties"]["criteria"]["allOf"]
        assert condition["metricMeasureColumn"] == measure
        assert [d["name"] for d in condition.get("dimensions", [])] == dimensions

    @pytest.mark.parametrize("hours", [1, 6, 12])
    @pytest.mark.parametrize("symbol", sorted(RULES))
    def test_period_follows_the_schedule(self, symbol, hours):
        """The deployed query's period is the schedule interval (the file's first let is rewritten)."""
        alerts = MAIN.with_bindings(scanIntervalHours=hours).module("alerts")
        query = _query(symbol, alerts)
        assert f"let period = {hours}h;" in query
        if hours != 6:
            assert "let period = 6h;" not in query

    @pytest.mark.parametrize("symbol", sorted(RULES))
    def test_query_looks_back_at_most_two_days(self, symbol):
        """Log search alerts read at most two days; no query asks for more."""
        query = _query(symbol)
        assert "ago(7d)" not in query
        assert "ago(30d)" not in query
        assert ALERTS.evaluate(_rule(symbol)["properties"]["overrideQueryTimeRange"]) == "P2D"


class TestValuesTheCodeWrites:
    @pytest.mark.parametrize("name", sorted(ALL_QUERIES))
    def test_statuses_are_the_codes_statuses(self, name):
        """Every status a query compares with is a value of shared.core.model.Status."""
        query = ALL_QUERIES[name]
        compared = re.findall(r'Status\s*==\s*"([^"]*)"', query)
        for group in re.findall(r"Status\s+in\s*\(([^)]*)\)", query):
            compared += re.findall(r'"([^"]*)"', group)
        assert set(compared) <= {status.value for status in Status}, name

    @pytest.mark.parametrize("name", sorted(ALL_QUERIES))
    def test_triggers_are_the_codes_triggers(self, name):
        """Every Trigger value a query compares with is one the entry points write."""
        code = "".join(
            (ROOT / f).read_text(encoding="utf-8")
            for f in ("function_app.py", "shared/entrypoints/jobs.py")
        )
        written = set(re.findall(r'trigger="([a-z]+)"', code))
        compared = set(re.findall(r'Trigger\s*[!=]=\s*"([^"]*)"', ALL_QUERIES[name]))
        assert compared <= written, f"{name}: {sorted(compared - written)} never written"


class TestRules:
    def test_the_four_rules(self):
        """FAIL findings, coverage, silent scanner, waiting dead letters: nothing more, nothing less."""
        assert sorted(ALERTS.resources_of_type("Microsoft.Insights/scheduledQueryRules")) == sorted(
            RULES
        )

    @pytest.mark.parametrize("symbol", sorted(RULES))
    def test_rule_shape(self, symbol):
        """API 2023-12-01, log alert on the workspace, e-mailed through the action group, auto-resolving."""
        _, _, operator, threshold = RULES[symbol]
        resource = ALERTS.section("resources")[symbol]
        assert resource["api_version"] == "2023-12-01"
        body = _rule(symbol)
        properties = body["properties"]
        assert body["kind"] == "LogAlert"
        assert properties["scopes"] == ["workspaceResourceId"]
        assert properties["autoMitigate"] is True
        assert properties["enabled"] is True
        (condition,) = properties["criteria"]["allOf"]
        assert (condition["operator"], condition["threshold"]) == (operator, threshold)
        assert [ALERTS.evaluate(a) for a in properties["actions"]["actionGroups"]] == [
            Opaque("actionGroup.id")
        ]

    def test_action_group_emails_the_alert_address(self):
        """One e-mail receiver: the alertEmail parameter of main.bicep."""
        (symbol,) = ALERTS.resources_of_type("Microsoft.Insights/actionGroups")
        properties = ALERTS.resource_body(symbol)["properties"]
        (receiver,) = properties["emailReceivers"]
        assert receiver["emailAddress"] == "alertEmail"
        assert MAIN.module_body("alerts")["params"]["alertEmail"] == "alertEmail"
        assert "default" not in MAIN.section("parameters")["alertEmail"] or (
            MAIN.section("parameters")["alertEmail"]["default"] is None
        )
        assert len(properties["groupShortName"]) <= 12

    def test_failures_alert_ignores_exempted_fails(self):
        """An exempted FAIL (accepted risk in SCAN_POLICY) does not page."""
        assert 'Status == "FAIL" and not(coalesce(Exempt, false))' in _query("failedControls")

    def test_failures_alert_counts_a_cluster_control_once(self):
        """A cluster-scoped FAIL (one row, no node) counts as one target, with its evidence."""
        query = _query("failedControls")
        assert 'dcount(iff(Scope == "cluster", ClusterId, NodeName))' in query
        assert 'take_anyif(Evidence, Scope == "cluster")' in query

    def test_coverage_counts_clusters_by_their_node_rows(self):
        """The dispatcher writes every cluster's ARM rows, so coverage looks at node-scoped rows."""
        query = _query("coverageGaps")
        assert 'countif(Scope == "node")' in query
        assert "countif(NodeRows > 0)" in query

    def test_dead_letter_alert_balances_dead_lettered_against_replayed(self):
        """The waiting balance uses both counters of the run record, clamped at zero."""
        query = _query("waitingDeadLetters")
        for fragment in (
            "RowsDeadLettered",
            "RowsReplayed",
            "row_cumsum",
            "min_of(long(0), Lowest)",
        ):
            assert fragment in query


class TestWorkbook:
    def test_has_the_four_views(self):
        """Matrix, trend, worst node pools and the selected cluster's evidence."""
        names = set(_workbook_queries())
        assert {"matrix", "trend", "worst-node-pools", "evidence", "parameters.Cluster"} <= names

    def test_matrix_is_cluster_by_control_of_the_latest_run(self):
        """The matrix pivots controls into columns per cluster, from each cluster's latest run."""
        query = _workbook_queries()["matrix"]
        assert "arg_max(TimeGenerated, RunId) by ClusterId" in query
        assert "evaluate pivot(ControlId" in query

    def test_cluster_controls_view_shows_one_row_per_cluster_and_control(self):
        """Cluster-scoped rows of each cluster's latest run, with their evidence and count."""
        query = _workbook_queries()["cluster-controls"]
        assert 'Scope == "cluster"' in query
        assert "arg_max(TimeGenerated, RunId) by ClusterId" in query
        assert "EvidenceCount, Reason, Evidence" in query

    def test_evidence_grid_shows_both_scopes(self):
        """The selected cluster's grid carries Scope, Section, Evidence and EvidenceCount."""
        query = _workbook_queries()["evidence"]
        for column in ("Scope", "Section", "Evidence", "EvidenceCount"):
            assert column in query

    def test_evidence_follows_the_cluster_parameter(self):
        """The evidence grid shows the selected cluster only."""
        assert '"{Cluster}"' in _workbook_queries()["evidence"]

    def test_workbook_points_at_the_workspace(self):
        """The placeholder the Bicep replaces is the workbook's fallback resource."""
        assert _workbook()["fallbackResourceIds"] == ["__WORKSPACE_RESOURCE_ID__"]
        (symbol,) = WORKBOOK_MODULE.resources_of_type("Microsoft.Insights/workbooks")
        body = WORKBOOK_MODULE.resource_body(symbol)
        assert body["kind"] == "shared"
        assert "__WORKSPACE_RESOURCE_ID__" in json.dumps(body["properties"]["serializedData"])
