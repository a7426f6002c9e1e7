"""Finding rows and run records for the output tests, built with the real cis-aks-1.8 table."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from shared.core.controls.registry import get_benchmark
from shared.core.records import FINDING_COLUMNS, RUN_COLUMNS, Finding, RunRecord, record_id

# The kubelet section: the node rows these tests build (cluster controls have their own tests).
BENCHMARK = get_benchmark("cis-aks-1.8").select(("3.2",))
SUB = "3c5a7e91-2b4d-4f6a-8c0e-1a2b3c4d5e6f"
RUN_ID = "11111111-2222-4333-8444-555555555555"
HOSTILE = '<img src=x onerror="alert(1)">&amp;</td><script>alert(2)</script>'


def cluster_id(name: str) -> str:
    return (
        f"/subscriptions/{SUB}/resourceGroups/rg-{name}/providers/"
        f"Microsoft.ContainerService/managedClusters/{name}"
    )


def row(
    control: str = "3.2.1",
    status: str = "PASS",
    cluster: str = "aks-a",
    pool: str = "system",
    node: str = "aks-system-12345678-vmss000000",
    **overrides: Any,
) -> Finding:
    """One row; fields not given are what the scanner would write for this control."""
    spec = BENCHMARK.control(control) if control in {c.id for c in BENCHMARK.controls} else None
    values: dict[str, Any] = {name: "" for name, _ in FINDING_COLUMNS}
    cid = cluster_id(cluster) if cluster else ""
    values.update(
        TimeGenerated="2026-11-01T10:00:00.000Z",
        RunId=RUN_ID,
        RecordId=record_id(RUN_ID, cid or SUB, node, control),
        Benchmark=BENCHMARK.name,
        ControlId=control,
        ControlTitle=spec.title if spec else f"Control {control}",
        Level=spec.level if spec else 1,
        Status=status,
        Actual="false" if status in ("PASS", "FAIL") else "",
        Expected=spec.expected if spec else "",
        Reason=f"{status.lower()} because of {control}",
        Remediation=spec.remediation if spec and status in ("FAIL", "MANUAL") else "",
        SubscriptionId=SUB,
        ResourceGroup=f"rg-{cluster}" if cluster else "",
        ClusterName=cluster,
        ClusterId=cid,
        NodePool=pool if node else "",
        NodeName=node,
        KubeletVersion="v1.31.2" if node else "",
        OsImage="Ubuntu 22.04.5 LTS" if node else "",
        Exempt=False,
    )
    values.update(overrides)
    return Finding(**values)


def node_rows(cluster: str, pool: str, node: str, statuses: dict[str, str]) -> list[Finding]:
    """Rows of every cis-aks-1.8 control for one node: PASS unless ``statuses`` says otherwise."""
    return [row(c.id, statuses.get(c.id, "PASS"), cluster, pool, node) for c in BENCHMARK.controls]


def cluster_rows(cluster: str, status: str, reason: str) -> list[Finding]:
    """One row per control for a cluster-level target (no node)."""
    return [
        row(c.id, status, cluster, "", "", Reason=reason, Expected=c.expected)
        for c in BENCHMARK.controls
    ]


def sample_rows() -> list[Finding]:
    """A small estate with every status, an exempted FAIL and a hostile value."""
    rows = [
        *node_rows("aks-a", "system", "aks-system-12345678-vmss000000", {}),
        *node_rows("aks-a", "system", "aks-system-12345678-vmss000001", {"3.2.4": "FAIL"}),
        *node_rows(
            "aks-a",
            "user",
            "aks-user-87654321-vmss000000",
            dict.fromkeys([c.id for c in BENCHMARK.controls], "ERROR"),
        ),
        *cluster_rows("aks-stopped", "SKIPPED", "cluster is stopped (powerState Stopped)"),
        row(
            "3.2.7",
            "FAIL",
            "aks-b",
            "gpu",
            "aks-gpu-1-vmss000000",
            Exempt=True,
            ExemptionReason="GPU image; RISK-1",
            ExemptionExpires="2027-03-31",
        ),
        row("3.2.8", "MANUAL", "aks-b", "gpu", "aks-gpu-1-vmss000000"),
        row(
            "3.2.2",
            "FAIL",
            "aks-b",
            "gpu",
            "aks-gpu-1-vmss000000",
            Reason=HOSTILE,
            Actual='=HYPERLINK("http://x")',
        ),
    ]
    return rows


def run_for(rows: Sequence[Finding], **overrides: Any) -> RunRecord:
    """The run record the pipeline would write for ``rows``."""
    counts = Counter(r.Status for r in rows)
    values: dict[str, Any] = {
        "TimeGenerated": "2026-11-01T10:00:05.000Z",
        "RunId": RUN_ID,
        "Trigger": "cli",
        "Benchmark": BENCHMARK.name,
        "StartedAt": "2026-11-01T10:00:00.000Z",
        "FinishedAt": "2026-11-01T10:00:05.250Z",
        "Subscriptions": 1,
        "Clusters": len({r.ClusterId for r in rows if r.ClusterId}),
        "ClustersFailed": 0,
        "Nodes": len({(r.ClusterId, r.NodeName) for r in rows if r.NodeName}),
        "NodesFailed": 0,
        "Passed": counts["PASS"],
        "Failed": counts["FAIL"],
        "Errors": counts["ERROR"],
        "Skipped": counts["SKIPPED"],
        "Manual": counts["MANUAL"],
        "ExemptionsExpiring": 0,
        "ExpiringExemptions": "[]",
        "RowsSent": 0,
        "RowsDeadLettered": 0,
        "RowsReplayed": 0,
        "TriggeredBy": '{"kind":"cli"}',
    }
    # Columns added later get their type's empty value, so a new run column needs no edit here.
    empty = {"string": "", "int": 0, "boolean": False, "datetime": values["TimeGenerated"]}
    for name, kind in RUN_COLUMNS:
        values.setdefault(name, empty[kind])
    values.update(overrides)
    return RunRecord(**values)
