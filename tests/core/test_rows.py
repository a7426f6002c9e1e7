"""Rows built from templates are the rows ``findings`` builds, byte for byte, in schema order."""

from __future__ import annotations

import json
from datetime import date

import orjson
import pytest

from shared.core.controls.registry import get_benchmark
from shared.core.evaluate import evaluate, uniform_verdicts
from shared.core.model import Cluster, Exemption, Node, Policy, Status
from shared.core.records import (
    FINDING_COLUMNS,
    NODE_COLUMNS,
    Finding,
    RowContext,
    column_names,
    findings,
    node_columns,
    target_columns,
)
from shared.core.rows import FindingBatch, RowTemplate, json_rows

BENCH = get_benchmark("cis-aks-1.8")
SUB = "00000000-0000-0000-0000-000000000001"
CLUSTER = Cluster(
    resource_id=f"/subscriptions/{SUB}/resourceGroups/rg/providers/"
    "Microsoft.ContainerService/managedClusters/aks-é",
    subscription_id=SUB,
    resource_group="rg",
    name="aks-é",
)
FAILING = {"authentication": {"anonymous": {"enabled": True}}, "readOnlyPort": 10255}
TODAY = date(2027, 1, 10)
EXEMPT = Policy(
    exemptions=(
        Exemption("3.2.1", f"{CLUSTER.resource_id}/agentpools/gpu".lower(), "RISK-1", TODAY),
    )
)
NODES = [
    Node("aks-gpu-0", "gpu", "v1.31.2", "Ubuntu 22.04", ready=True),
    Node("aks-sys-0", "system", "v1.30.1", 'quote " and \u2028', ready=False),
]


def context(node: Node | None = None) -> RowContext:
    return RowContext.for_cluster("run-1", BENCH, CLUSTER, node)


class TestColumns:
    def test_target_and_node_columns_are_the_whole_schema_exactly_once(self):
        """Every FINDING_COLUMNS name comes from exactly one of the two column functions."""
        verdict = evaluate({}, BENCH, Policy())[0]
        control = BENCH.controls[0]
        target = target_columns(context(), control, verdict)
        node = node_columns(context(), NODES[0], control, verdict, "t")
        names = [name for name, _ in FINDING_COLUMNS]
        assert set(node) == NODE_COLUMNS
        assert not set(target) & set(node)
        assert sorted([*target, *node]) == sorted(names)
        assert column_names(Finding) == tuple(names)


class TestRowTemplate:
    @pytest.mark.parametrize(
        ("config", "policy"),
        [
            pytest.param({}, Policy(), id="defaults"),
            pytest.param(FAILING, Policy(), id="failing"),
            pytest.param(FAILING, EXEMPT, id="failing-with-an-exemption"),
            pytest.param({"authentication": [1]}, Policy(), id="wrong-types"),
        ],
    )
    def test_template_rows_equal_findings_rows_byte_for_byte(self, config, policy):
        """For every node, the template's JSON is orjson.dumps(Finding.row()) of findings()."""
        verdicts = evaluate(config, BENCH, policy)
        template = RowTemplate(context(), verdicts)
        for node in NODES:
            slow = findings(context(node), verdicts, "2027-01-10T00:00:00.000Z", policy, TODAY)
            fast = template.rows(node, "2027-01-10T00:00:00.000Z", policy, TODAY)
            assert fast == [orjson.dumps(f.row()) for f in slow]
            assert [json.loads(row) for row in fast] == [f.row() for f in slow]

    def test_keys_follow_the_schema_order(self):
        """Each row's keys are FINDING_COLUMNS, in order (what tests and KQL read)."""
        verdicts = uniform_verdicts(BENCH.node_controls, Status.ERROR, "configz not read: x")
        (row, *_) = RowTemplate(context(), verdicts).rows(NODES[0], "t")
        assert list(json.loads(row)) == [name for name, _ in FINDING_COLUMNS]

    def test_exemption_applies_per_node_pool(self):
        """The same template marks the GPU pool's FAIL exempt and the system pool's not."""
        verdicts = evaluate(FAILING, BENCH, EXEMPT)
        template = RowTemplate(context(), verdicts)
        gpu, system = (json.loads(template.rows(node, "t", EXEMPT, TODAY)[0]) for node in NODES)
        assert (gpu["Exempt"], gpu["ExemptionReason"]) == (True, "RISK-1")
        assert (system["Exempt"], system["ExemptionReason"]) == (False, "")


class TestFindingBatch:
    def test_a_batch_is_its_findings_and_counts_their_statuses(self):
        """Decoded rows are the Finding objects; counts are per status."""
        verdicts = evaluate(FAILING, BENCH, Policy())
        template = RowTemplate(context(), verdicts)
        batch = FindingBatch()
        for node in NODES:
            batch.add(template, template.rows(node, "t"))
        expected = [f for n in NODES for f in findings(context(n), verdicts, "t", Policy())]
        assert list(batch) == expected
        assert batch[1] == expected[1]
        assert len(batch) == len(expected)
        statuses = [f.Status for f in expected]
        assert batch.counts == {Status(s): statuses.count(s) for s in set(statuses)}

    def test_plain_findings_become_a_batch_with_their_json(self):
        """FindingBatch.of serializes rows built the slow way; json_rows gives the same bytes."""
        rows = findings(context(NODES[0]), evaluate({}, BENCH, Policy()), "t")
        batch = FindingBatch.of(rows)
        assert list(batch) == rows
        assert json_rows(batch) == json_rows(rows) == [orjson.dumps(r.row()) for r in rows]
        assert FindingBatch.of(batch) is batch
