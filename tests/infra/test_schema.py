"""One record schema: shared/core/records.py, the Log Analytics tables and the DCR streams agree.

shared/core/records.py (FINDING_COLUMNS, RUN_COLUMNS and the Finding/RunRecord dataclasses) is the
single source of truth, reached through tests/infra/tables.py; every expectation here is read
from it, so a change there flows into these tests and they name what infra/ must follow.
"""

from __future__ import annotations

import dataclasses
import typing

import pytest

from shared.settings import DOCUMENTED
from tests.infra import tables
from tests.infra.bicep import ROOT, Opaque, Template, main

MONITORING = Template(ROOT / "infra/modules/monitoring.bicep")

#: table name -> (columns in shared/core/records.py, the record dataclass, DOCUMENTED stream setting)
STREAM_SETTINGS = {
    tables.FINDINGS_TABLE: "LOGS_FINDINGS_STREAM",
    tables.RUNS_TABLE: "LOGS_RUNS_STREAM",
}
TABLES: dict[str, tuple[tuple[tuple[str, str], ...], type, str]] = {
    table: (columns, tables.RECORDS[table], STREAM_SETTINGS[table])
    for table, columns in tables.COLUMNS.items()
}

#: Column names Log Analytics reserves for custom tables and DCR streams: "`_ResourceId`, `id`,
#: `_SubscriptionId`, `TenantId`, `Type`, `UniqueId`, and `Title` are reserved column names"
#: (MicrosoftDocs/azure-monitor-docs articles/azure-monitor/logs/logs-ingestion-api-overview.md,
#: "Supported tables"; the same list in custom-logs-migrate.md and create-custom-table.md).
RESERVED_COLUMNS = frozenset(
    {"_ResourceId", "id", "_SubscriptionId", "TenantId", "Type", "UniqueId", "Title"}
)

#: Python annotation of a record field -> the Log Analytics types it may carry.
PYTHON_TO_LA = {"str": {"string", "datetime"}, "int": {"int", "long"}, "bool": {"boolean"}}


def _columns(value: object) -> list[tuple[str, str]]:
    assert isinstance(value, list), value
    return [(column["name"], column["type"]) for column in value]


def _tables() -> dict[str, dict[str, typing.Any]]:
    tables = MONITORING.resources_of_type("Microsoft.OperationalInsights/workspaces/tables")
    return {
        MONITORING.evaluate(MONITORING.resource_body(s)["name"]): MONITORING.resource_body(s)
        for s in tables
    }


def _dcr() -> dict[str, typing.Any]:
    (symbol,) = MONITORING.resources_of_type("Microsoft.Insights/dataCollectionRules")
    return MONITORING.resource_body(symbol)


class TestTables:
    def test_exactly_the_two_tables(self):
        """The workspace gets the findings table and the runs table, nothing else."""
        assert sorted(_tables()) == sorted(TABLES)

    @pytest.mark.parametrize("table", sorted(TABLES))
    def test_columns_equal_the_records(self, table):
        """Table columns equal the records' columns: same names, same order, same types."""
        expected = list(TABLES[table][0])
        body = _tables()[table]
        schema = MONITORING.evaluate(body["properties"]["schema"])
        assert schema["name"] == table
        assert _columns(schema["columns"]) == expected

    @pytest.mark.parametrize("table", sorted(TABLES))
    def test_analytics_plan(self, table):
        """Analytics plan: alert rules and the workbook query these tables."""
        assert _tables()[table]["properties"]["plan"] == "Analytics"


class TestDataCollectionRule:
    def test_direct_with_its_own_endpoint(self):
        """kind Direct, whose logsIngestion endpoint becomes LOGS_INGESTION_ENDPOINT (no DCE)."""
        dcr = _dcr()
        assert dcr["kind"] == "Direct"
        assert "dataCollectionEndpointId" not in dcr["properties"]
        outputs = MONITORING.section("outputs")
        assert MONITORING.evaluate(outputs["logsIngestionEndpoint"]["value"]) == Opaque(
            "dataCollectionRule.properties.endpoints.logsIngestion"
        )
        assert MONITORING.evaluate(outputs["dataCollectionRuleImmutableId"]["value"]) == Opaque(
            "dataCollectionRule.properties.immutableId"
        )

    def test_api_version_knows_endpoints(self):
        """properties.endpoints appears in the 2024-03-11 schema (logsIngestion since March 2024)."""
        (symbol,) = MONITORING.resources_of_type("Microsoft.Insights/dataCollectionRules")
        assert MONITORING.section("resources")[symbol]["api_version"] >= "2024-03-11"

    @pytest.mark.parametrize("table", sorted(TABLES))
    def test_stream_declaration_equals_the_records(self, table):
        """The stream the app posts to declares exactly the records' columns."""
        columns, _, setting = TABLES[table]
        stream = DOCUMENTED[setting][0]
        declarations = MONITORING.evaluate(_dcr()["properties"]["streamDeclarations"])
        assert stream in declarations, f"{stream} (default of {setting}) is not declared"
        assert _columns(declarations[stream]["columns"]) == list(columns)

    def test_every_stream_flows_to_its_table(self):
        """Each declared stream flows, untransformed, into Custom-<its table>."""
        properties = MONITORING.evaluate(_dcr()["properties"])
        flows = {
            stream: (flow["outputStream"], flow["transformKql"])
            for flow in properties["dataFlows"]
            for stream in flow["streams"]
        }
        expected = {DOCUMENTED[s][0]: (f"Custom-{t}", "source") for t, (_, _, s) in TABLES.items()}
        assert flows == expected
        assert set(properties["streamDeclarations"]) == set(expected)
        destinations = {d["name"] for d in properties["destinations"]["logAnalytics"]}
        assert all(set(flow["destinations"]) <= destinations for flow in properties["dataFlows"])

    def test_stream_outputs_feed_the_stream_settings(self):
        """The streams the app is told to use (module outputs) are the declared ones."""
        outputs = MONITORING.section("outputs")
        for _, (_, _, setting) in TABLES.items():
            name = "findingsStreamName" if setting == "LOGS_FINDINGS_STREAM" else "runsStreamName"
            assert MONITORING.evaluate(outputs[name]["value"]) == DOCUMENTED[setting][0]


class TestRecords:
    @pytest.mark.parametrize("table", sorted(TABLES))
    def test_record_fields_equal_the_columns(self, table):
        """The dataclass the code serialises has the columns' names, in order, with matching types."""
        columns, record, _ = TABLES[table]
        hints = typing.get_type_hints(record)
        fields = [(f.name, hints[f.name].__name__) for f in dataclasses.fields(record)]
        assert [name for name, _ in fields] == [name for name, _ in columns]
        for (name, python_type), (_, la_type) in zip(fields, columns, strict=True):
            assert la_type in PYTHON_TO_LA[python_type], (
                f"{table}.{name}: {python_type} vs {la_type}"
            )

    @pytest.mark.parametrize("table", sorted(TABLES))
    def test_column_names_follow_log_analytics_rules(self, table):
        """A letter first, at most 45 letters, digits and underscores."""
        for name, la_type in TABLES[table][0]:
            assert name[0].isalpha(), name
            assert len(name) <= 45, name
            assert name.replace("_", "").isalnum(), name
            assert la_type in {
                "string",
                "int",
                "long",
                "real",
                "boolean",
                "datetime",
                "guid",
                "dynamic",
            }

    def test_no_reserved_column_name(self):
        """No column uses a name Log Analytics reserves (deployment would fail)."""
        names = {name for columns, _, _ in TABLES.values() for name, _ in columns}
        assert not names & RESERVED_COLUMNS


class TestWiring:
    def test_main_passes_the_rule_outputs_to_the_app(self):
        """The app's ingestion settings come from the DCR this deployment creates."""
        app = main().module("functionApp")
        assert app.param("logsIngestionEndpoint") == Opaque(
            "monitoring.outputs.logsIngestionEndpoint"
        )
        assert app.param("dataCollectionRuleImmutableId") == Opaque(
            "monitoring.outputs.dataCollectionRuleImmutableId"
        )
        assert app.param("findingsStreamName") == Opaque("monitoring.outputs.findingsStreamName")
        assert app.param("runsStreamName") == Opaque("monitoring.outputs.runsStreamName")
