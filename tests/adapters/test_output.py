"""The table, JSON and JSON-lines outputs with node rows and cluster rows side by side."""

from __future__ import annotations

import io
import json

from rich.console import Console

from shared.adapters.output import JsonLinesSink, JsonSink, TableSink
from shared.core.controls.registry import get_benchmark
from shared.core.evaluate import evaluate, evaluate_cluster
from shared.core.facts import Facts
from shared.core.model import Cluster, Node, Policy, RunTotals, Status
from shared.core.records import Finding, RowContext, RunRecord, findings, run_record

BENCH = get_benchmark("cis-aks-1.8")
SUB = "3c5a7e91-2b4d-4f6a-8c0e-1a2b3c4d5e6f"
CLUSTER = Cluster(
    f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c1",
    SUB,
    "rg",
    "c1",
)
ARM = {
    "managedCluster": {
        "properties": {
            "networkProfile": {"networkPolicy": "none"},
            "agentPoolProfiles": [{"name": "gpu", "enableNodePublicIP": True}],
        }
    }
}


def rows() -> list[Finding]:
    node_rows = findings(
        RowContext.for_cluster("r", BENCH, CLUSTER, Node("n1", "pool")),
        evaluate({"authentication": {"x509": {"clientCAFile": "/ca"}}}, BENCH, Policy()),
        "t",
    )
    controls = [BENCH.control(i) for i in ("5.4.3", "5.4.4")]
    cluster_rows = findings(
        RowContext.for_cluster("r", BENCH, CLUSTER),
        evaluate_cluster(Facts(ARM), controls, Policy()),
        "t",
    )
    return node_rows + cluster_rows


def record(all_rows: list[Finding]) -> RunRecord:
    totals = RunTotals(clusters=1, nodes=1)
    for row in all_rows:
        totals.count(Status(row.Status))
        totals.cluster_rows += row.Scope == "cluster"
    return run_record("r", "test", BENCH.name, "t", totals)


class TestTableSink:
    def test_cluster_controls_are_a_row_per_cluster_with_their_own_reasons(self):
        """Cluster controls take the cluster's "(cluster)" line of the matrix, their reasons are
        listed apart, naming the clusters, and the summary line counts them."""
        out = io.StringIO()
        sink = TableSink(Console(file=out, width=200))
        all_rows = rows()
        sink.write_findings(all_rows)
        sink.write_run(record(all_rows))
        text = out.getvalue()
        matrix, reasons = text.split(
            "Not passing (grouped by cluster, pool, status and reason):", 1
        )
        node_reasons, cluster_reasons = reasons.split(
            "Cluster controls not passing (grouped by status and reason, naming the clusters):", 1
        )
        assert "(cluster)" in matrix
        assert "5.4.4" not in node_reasons
        assert "5.4.3 c1: " in cluster_reasons
        assert "5.4.4 c1: " in cluster_reasons
        assert "node pools giving nodes public IPs (enableNodePublicIP): 1 node pool (gpu)" in (
            " ".join(cluster_reasons.split())
        )
        assert "2 of them cluster-control rows (0 PASS, 2 FAIL" in " ".join(text.split())

    def test_without_cluster_rows_there_is_no_cluster_matrix(self):
        """A kubelet-only scan prints the node matrix and the summary as before."""
        out = io.StringIO()
        sink = TableSink(Console(file=out, width=200))
        node_rows = [r for r in rows() if r.Scope == "node"]
        sink.write_findings(node_rows)
        sink.write_run(record(node_rows))
        text = out.getvalue()
        assert "Cluster controls" not in text
        assert "cluster-control rows" not in text


class TestJsonOutputs:
    def test_json_keeps_every_row_and_pools_count_nodes_only(self):
        """--format json: every row (cluster rows with Scope and Evidence); pools from node rows."""
        out = io.StringIO()
        sink = JsonSink(out)
        all_rows = rows()
        sink.write_findings(all_rows)
        sink.write_run(record(all_rows))
        document = json.loads(out.getvalue())
        assert len(document["findings"]) == len(all_rows)
        cluster = [f for f in document["findings"] if f["Scope"] == "cluster"]
        assert {f["ControlId"] for f in cluster} == {"5.4.3", "5.4.4"}
        assert json.loads(cluster[0]["Evidence"])["poolsWithNodePublicIP"]["count"] == 1
        (pool,) = document["pools"]
        assert pool["NodePool"] == "pool"
        assert set(pool["Counts"]) == {f"3.2.{i}" for i in range(1, 10)}
        assert document["run"]["ClusterRows"] == 2

    def test_json_lines_carry_the_new_columns(self):
        """--format jsonl: one line per row with Section, Scope, Evidence, EvidenceCount."""
        out = io.StringIO()
        sink = JsonLinesSink(out)
        all_rows = rows()
        sink.write_findings(all_rows)
        sink.write_run(record(all_rows))
        lines = [json.loads(line) for line in out.getvalue().splitlines()]
        assert "run" in lines[-1]
        for line in lines[:-1]:
            assert {"Section", "Scope", "Evidence", "EvidenceCount"} <= set(line)
