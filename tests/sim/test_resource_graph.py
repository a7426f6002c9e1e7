"""The Resource Graph query subset, on plain rows."""

from __future__ import annotations

import pytest

from sim.resource_graph import UnsupportedQueryError, as_table, evaluate, run_query, superset

ROW = {
    "id": "/subscriptions/s/resourcegroups/rg/providers/Microsoft.ContainerService/managedClusters/a",
    "name": "a",
    "type": "microsoft.containerservice/managedclusters",
    "properties": {
        "aadProfile": {"managed": True},
        "powerState": {"code": "Running"},
        "agentPoolProfiles": [{"name": "p1"}],
        "disableLocalAccounts": False,
    },
}
Q = "resources | where type =~ 'microsoft.containerservice/managedclusters'"


class TestEvaluate:
    @pytest.mark.parametrize(
        ("expr", "value"),
        [
            pytest.param("name", "a", id="column"),
            pytest.param("properties.aadProfile.managed", True, id="path"),
            pytest.param("properties['powerState']['code']", "Running", id="brackets"),
            pytest.param("properties.agentPoolProfiles[0].name", "p1", id="index"),
            pytest.param("tostring(properties.privateFQDN)", "", id="tostring-null"),
            pytest.param("tobool(properties.aadProfile.enableAzureRBAC)", None, id="tobool-null"),
            pytest.param("tobool(properties.disableLocalAccounts)", False, id="tobool-false"),
            pytest.param("tostring(properties.aadProfile.managed)", "true", id="tostring-bool"),
            pytest.param("properties.AADProfile.managed", None, id="case-sensitive"),
            pytest.param("toupper(name)", "A", id="toupper"),
        ],
    )
    def test_expressions(self, expr, value):
        """Paths and conversions behave like KQL on dynamic values."""
        assert evaluate(expr, ROW) == value

    def test_unknown_function_is_unsupported(self):
        """Functions outside the subset are not guessed."""
        with pytest.raises(UnsupportedQueryError):
            evaluate("strcat(name, 'x')", ROW)


class TestRunQuery:
    def test_project_selects_and_names_columns(self):
        """project a, b = expr keeps only those columns."""
        rows = run_query(Q + " | project id, state = tostring(properties.powerState.code)", [ROW])
        assert rows == [{"id": ROW["id"], "state": "Running"}]

    def test_extend_then_project(self):
        """extend adds columns project can use."""
        rows = run_query(Q + " | extend s = properties.powerState.code | project name, s", [ROW])
        assert rows == [{"name": "a", "s": "Running"}]

    def test_without_project_whole_rows(self):
        """No project: the whole resource row."""
        assert run_query(Q, [ROW]) == [ROW]

    def test_other_types_return_nothing(self):
        """A query that does not name managed clusters finds none."""
        assert run_query("resources | where type =~ 'microsoft.compute/disks'", [ROW]) == []

    def test_unsupported_operator_raises(self):
        """summarize is not simulated: the server falls back to the superset."""
        with pytest.raises(UnsupportedQueryError):
            run_query(Q + " | summarize count() by location", [ROW])

    def test_superset_has_every_discovery_column(self):
        """The fallback answer carries the documented columns and properties."""
        row = superset([ROW])[0]
        assert {
            "id",
            "aadManaged",
            "azureRbac",
            "disableLocalAccts",
            "powerState",
            "properties",
        } <= set(row)
        assert row["aadManaged"] is True

    def test_table_format(self):
        """Columns with types, rows as lists."""
        table = as_table([{"a": 1, "b": "x", "c": True}])
        assert table == {
            "columns": [
                {"name": "a", "type": "integer"},
                {"name": "b", "type": "string"},
                {"name": "c", "type": "boolean"},
            ],
            "rows": [[1, "x", True]],
        }
