"""End to end through the real SDKs over real HTTPS against the simulated estate."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from shared.adapters.output import CollectingSink
from shared.bootstrap import DeadLetters, build
from shared.core.identifiers import ClusterId
from shared.core.model import ScanScope
from shared.entrypoints.cli import main
from shared.pipeline import run_scan
from shared.settings import Settings
from sim import FINDINGS_STREAM, RUNS_STREAM, Action, Endpoint, Fault, SimulatedEstate
from tests.e2e.expected import (
    ARM_CONTROLS,
    CLUSTER_CONTROLS,
    CLUSTER_VERDICTS,
    K8S_CONTROLS,
    LEGACY_K8S,
    NODES_PER_POOL,
    Verdict,
    expected_cluster_status,
    expected_cluster_verdict,
    expected_status,
)

PROD_SUB = "3c5a7e91-2b4d-4f6a-8c0e-1a2b3c4d5e6f"
DEV_SUB = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"


def scan(env, scope=ScanScope(), **overrides):  # noqa: B008 - an immutable default
    settings = Settings.from_env({**env, **overrides})
    app = build(settings, dead_letters=DeadLetters.DIRECTORY)
    collected = CollectingSink()
    try:
        app.replay()
        outcome = run_scan(
            app.scanner,
            scope,
            [collected, *app.sinks],
            trigger="test",
            delivery=app.delivering.stats if app.delivering else None,
        )
    finally:
        app.close()
    return outcome, collected.rows


def by_run(rows, run_id):
    return [r for r in rows if r["RunId"] == run_id]


def verdict_problem(verdict: Verdict, control: str, status: str, reason: str, evidence: str) -> str:
    """What differs between a cluster-scoped row and its hand verdict ("" when nothing does).

    A row read from the Kubernetes API that was evaluated counts exactly ``verdict.count``
    found entries, each naming one of the offenders, and names every offender; an ERROR or
    SKIPPED row's Reason holds every fragment."""
    if status != verdict.status:
        return f"status {status}, not {verdict.status}"
    missing = [f for f in verdict.reason if f not in reason]
    if missing:
        return f"reason lacks {missing}"
    if control not in K8S_CONTROLS or status in ("ERROR", "SKIPPED"):
        return ""
    found = json.loads(evidence or "{}").get("found", {"count": 0, "first": []})
    if found["count"] != verdict.count:
        return f"{found['count']} found, not {verdict.count}: {found['first']}"
    unnamed = [e for e in found["first"] if not any(k in e for k in verdict.offenders)]
    absent = [k for k in verdict.offenders if not any(k in e for e in found["first"])]
    if unnamed or absent:
        return f"found entries not expected: {unnamed}; offenders not found: {absent}"
    return ""


class TestWholeEstate:
    def test_every_row_matches_the_hand_written_verdicts(self, env):
        """Each (node, control) and (cluster, control) row equals the verdict written by hand:
        section 4's rows (and 5.1.4, 5.2.1, 5.4.5) also their offenders, by name and count."""
        outcome, rows = scan(env)
        assert rows, "no rows"
        for row in rows:
            if row.Scope == "cluster":
                verdict = expected_cluster_verdict(row.ClusterName, row.ControlId)
                problem = verdict_problem(
                    verdict, row.ControlId, row.Status, row.Reason, row.Evidence
                )
                assert not problem, (row.ClusterName, row.ControlId, problem, row.Reason)
                continue
            want = expected_status(row.ClusterName, row.NodePool, row.NodeName, row.ControlId)
            assert row.Status == want, (row.ClusterName, row.NodeName, row.ControlId, row.Reason)
        assert outcome.run.Failed > 0
        assert outcome.run.Passed > 0

    def test_every_pair_exactly_once(self, env):
        """Every node of every reachable cluster has one row per node control; clusters not reached have one per node control; every cluster, stopped ones too, one per cluster control."""
        _, rows = scan(env)
        pairs = Counter((r.ClusterName, r.NodeName, r.ControlId) for r in rows)
        assert set(pairs.values()) == {1}
        nodes = Counter(
            (r.ClusterName, r.NodePool) for r in rows if r.NodeName and r.ControlId == "3.2.1"
        )
        expected_nodes = {k: v for k, v in NODES_PER_POOL.items() if k[0] != "aks-local-only"}
        assert dict(nodes) == expected_nodes
        unreached = {
            (r.ClusterName, r.Status) for r in rows if not r.NodeName and r.Scope == "node"
        }
        assert unreached == {("aks-dev-stopped", "SKIPPED"), ("aks-local-only", "ERROR")}
        cluster_rows = Counter(r.ClusterName for r in rows if r.Scope == "cluster")
        assert cluster_rows == dict.fromkeys(CLUSTER_VERDICTS, len(CLUSTER_CONTROLS))
        assert {r.NodeName for r in rows if r.Scope == "cluster"} == {""}

    def test_each_verdict_of_the_cluster_controls_appears(self, env):
        """The demo shows every verdict of the cluster controls: PASS, FAIL, MANUAL, ERROR for a
        denied ARM read and a denied Kubernetes list, SKIPPED for the stopped cluster's lists."""
        _, rows = scan(env)
        cluster = [r for r in rows if r.Scope == "cluster"]
        assert {r.Status for r in cluster} == {"PASS", "FAIL", "MANUAL", "ERROR", "SKIPPED"}
        (denied,) = [r for r in cluster if r.Status == "ERROR" and r.ControlId in ARM_CONTROLS]
        assert (denied.ClusterName, denied.ControlId) == ("aks-local-only", "2.1.1")
        assert "grant the scanner Microsoft.Insights/diagnosticSettings/read" in denied.Reason
        assert "AuthorizationFailed" in denied.Reason
        lists = {
            (r.ClusterName, r.ControlId)
            for r in cluster
            if r.Status == "ERROR" and r.ClusterName != "aks-local-only"
        }
        assert lists == {("aks-batch-neu", "4.5.1"), ("aks-batch-neu", "4.6.3")}
        skipped = {(r.ClusterName, r.ControlId) for r in cluster if r.Status == "SKIPPED"}
        assert skipped == {("aks-dev-stopped", c) for c in K8S_CONTROLS}

    def test_cluster_rows_carry_their_evidence(self, env):
        """A cluster row shows what ARM said: the legacy pool with node public IPs, counted."""
        _, rows = scan(env)
        (row,) = [r for r in rows if (r.ClusterName, r.ControlId) == ("aks-legacy-eus", "5.4.3")]
        evidence = json.loads(row.Evidence)
        assert evidence["poolsWithNodePublicIP"] == {"count": 1, "first": ["legacy"]}
        assert row.EvidenceCount == 1
        assert (row.Section, row.Scope, row.NodePool) == ("5.4", "cluster", "")

    def test_log_analytics_received_every_row_exactly_once(self, env, sim):
        """The Logs Ingestion endpoint accepted each RecordId once, and the run record's counts match."""
        outcome, rows = scan(env)
        run_id = outcome.run.RunId
        accepted = by_run(sim.accepted(FINDINGS_STREAM), run_id)
        ids = Counter(r["RecordId"] for r in accepted)
        assert set(ids.values()) == {1}
        assert set(ids) == {r.RecordId for r in rows}
        (record,) = by_run(sim.accepted(RUNS_STREAM), run_id)
        statuses = Counter(r["Status"] for r in accepted)
        assert (record["Passed"], record["Failed"], record["Errors"], record["Skipped"]) == (
            statuses["PASS"],
            statuses["FAIL"],
            statuses["ERROR"],
            statuses["SKIPPED"],
        )
        assert (record["Clusters"], record["ClustersFailed"], record["Subscriptions"]) == (5, 1, 2)
        assert (record["Nodes"], record["NodesFailed"]) == (13, 1)
        assert record["ClusterRows"] == len(CLUSTER_VERDICTS) * len(CLUSTER_CONTROLS)
        assert record["ClusterRows"] == sum(r["Scope"] == "cluster" for r in accepted)
        assert record["Manual"] == statuses["MANUAL"]
        assert record["RowsSent"] == len(rows)
        assert record["RowsDeadLettered"] == 0

    def test_unreachable_node_reason_names_the_cause(self, env):
        """The node the API server cannot reach is ERROR with the apiserver's words."""
        _, rows = scan(env)
        reasons = {r.Reason for r in rows if r.NodeName == "aks-user-93773898-vmss000002"}
        (reason,) = reasons
        assert "error trying to reach service" in reason
        assert "HTTP 503" in reason

    def test_non_entra_cluster_is_error_with_the_setting_named(self, env):
        """A cluster without Entra ID gets ERROR rows naming ALLOW_LOCAL_ACCOUNTS."""
        _, rows = scan(env)
        reasons = {
            r.Reason for r in rows if r.ClusterName == "aks-local-only" and r.Scope == "node"
        }
        assert len(reasons) == 1
        assert "ALLOW_LOCAL_ACCOUNTS" in reasons.pop()


class TestOptions:
    def test_local_accounts_allowed_scans_the_non_entra_cluster(self, env):
        """ALLOW_LOCAL_ACCOUNTS=true reads the non-Entra cluster with its client certificate."""
        _, rows = scan(env, ALLOW_LOCAL_ACCOUNTS="true")
        local = [r for r in rows if r.ClusterName == "aks-local-only" and r.Scope == "node"]
        assert {r.NodeName for r in local} == {
            "aks-nodes-31036032-vmss000000",
            "aks-nodes-31036032-vmss000001",
        }
        assert {r.Status for r in local} == {"PASS"}
        section4 = [
            r for r in rows if r.ClusterName == "aks-local-only" and r.ControlId in K8S_CONTROLS
        ]
        assert len(section4) == len(K8S_CONTROLS)
        for row in section4:
            verdict = expected_cluster_verdict(row.ClusterName, row.ControlId, local_accounts=True)
            problem = verdict_problem(verdict, row.ControlId, row.Status, row.Reason, row.Evidence)
            assert not problem, (row.ControlId, problem, row.Reason)

    def test_local_accounts_scan_allows_the_scanners_own_nodes_proxy(self, env):
        """Read with its local account, the non-Entra cluster's 4.1.9 still allows the scanner's
        own get nodes/proxy (infra/k8s binds it to the scanner's managed identity): PASS."""
        _, rows = scan(env, ALLOW_LOCAL_ACCOUNTS="true")
        (row,) = [r for r in rows if (r.ClusterName, r.ControlId) == ("aks-local-only", "4.1.9")]
        verdict = expected_cluster_verdict("aks-local-only", "4.1.9", local_accounts=True)
        assert not verdict_problem(verdict, "4.1.9", row.Status, row.Reason, row.Evidence)

    def test_arm_listing_finds_the_same_rows(self, env):
        """Per-subscription ARM discovery gives the same (cluster, node, control, status) set."""
        _, graph = scan(env)
        _, arm = scan(env, DISCOVERY_MODE="arm")

        def key(rows):
            return sorted((r.ClusterName, r.NodeName, r.ControlId, r.Status) for r in rows)

        assert key(graph) == key(arm)

    def test_resource_graph_failure_falls_back_to_arm(self, env, sim):
        """When Resource Graph refuses, auto mode lists clusters through ARM and loses nothing;
        only the controls that need the registries read are ERROR, naming the action (5.1.4
        reads the pods' images, not the registries)."""
        sim.faults.add(Fault(Endpoint.RESOURCE_GRAPH, Action.ERROR, 403))
        outcome, rows = scan(env)
        assert outcome.run.Clusters == 5
        assert len([r for r in rows if r.Scope == "node"]) == 13 * 9 + 2 * 9
        registry_rows = [r for r in rows if r.ControlId in ("5.1.2", "5.1.3")]
        assert len(registry_rows) == 2 * 5
        assert {r.Status for r in registry_rows} == {"ERROR"}
        assert all("Microsoft.ContainerRegistry/registries/read" in r.Reason for r in registry_rows)
        others = [r for r in rows if r.Scope == "cluster" and r not in registry_rows]
        assert all(r.Status == expected_cluster_status(r.ClusterName, r.ControlId) for r in others)

    def test_kubelet_only_sections_make_no_arm_read(self, env, sim):
        """CIS_SECTIONS=3.2 is the kubelet scan: node rows only, and no cluster-control read."""

        def calls(snapshot: dict[str, int], endpoint: str) -> int:
            return sum(n for k, n in snapshot.items() if k.split("|")[0] == endpoint)

        endpoints = (
            "diagnostic-settings",
            "role-definition",
            "security-resources",
            "authorization-resources",
        )
        start = sim.snapshot()
        scan(env)
        full = sim.snapshot()
        assert all(calls(full, e) > calls(start, e) for e in endpoints)  # the full scan reads them
        outcome, rows = scan(env, CIS_SECTIONS="3.2")
        after = sim.snapshot()
        assert {r.Scope for r in rows} == {"node"}
        assert outcome.run.ClusterRows == 0
        for endpoint in endpoints:
            assert calls(after, endpoint) == calls(full, endpoint), endpoint

    def test_sections_select_the_cluster_controls_only(self, env):
        """CIS_SECTIONS=2,5 gives one row per cluster and control of those sections, no node row."""
        outcome, rows = scan(env, CIS_SECTIONS="2,5")
        assert {r.Section.split(".")[0] for r in rows} == {"2", "5"}
        assert {r.Scope for r in rows} == {"cluster"}
        assert outcome.run.ClusterRows == len(rows) == 5 * 14

    def test_subscription_scope(self, env):
        """--subscription limits the scan to that subscription's clusters."""
        _, rows = scan(env, ScanScope(subscriptions=(DEV_SUB,)))
        assert {r.ClusterName for r in rows} == {"aks-dev-stopped", "aks-batch-neu"}

    def test_cluster_scope(self, env):
        """--cluster scans exactly the named cluster."""
        cid = f"/subscriptions/{PROD_SUB}/resourceGroups/rg-legacy-eus/providers/Microsoft.ContainerService/managedClusters/aks-legacy-eus"
        outcome, rows = scan(env, ScanScope(clusters=(ClusterId.parse(cid),)))
        if outcome.run.ClustersFailed:
            pytest.fail(rows[0].Reason)
        assert {r.ClusterName for r in rows} == {"aks-legacy-eus"}

    def test_unknown_cluster_is_an_error_row_not_silence(self, env):
        """A named cluster that does not exist gets ERROR rows saying ARM could not find it."""
        cid = f"/subscriptions/{PROD_SUB}/resourceGroups/rg-x/providers/Microsoft.ContainerService/managedClusters/nope"
        _, rows = scan(env, ScanScope(clusters=(ClusterId.parse(cid),)))
        assert {(r.ClusterName, r.Status) for r in rows} == {("nope", "ERROR")}
        assert "404" in rows[0].Reason

    def test_throttled_configz_is_retried_honouring_retry_after(self, env, sim):
        """A 429 with Retry-After is retried and the node still passes."""
        node = "aks-system-53367501-vmss000000"
        sim.faults.configz_throttle("aks-prod-weu", node, retry_after=1, times=2)
        _, rows = scan(env, ScanScope(subscriptions=(PROD_SUB,)))
        assert {r.Status for r in rows if r.NodeName == node} == {"PASS"}

    def test_a_hanging_configz_at_the_deadline_is_error_once(self, env, sim):
        """A read still hanging at the deadline is cancelled: its node is ERROR, each pair once."""
        node = "aks-system-53367501-vmss000000"
        fault = sim.faults.delay(Endpoint.CONFIGZ, 20, cluster="aks-prod-weu", node=node)
        settings = Settings.from_env(env)
        app = build(settings, dead_letters=DeadLetters.DIRECTORY, deadline_seconds=4)
        collected = CollectingSink()
        try:
            outcome = run_scan(
                app.scanner, ScanScope(subscriptions=(PROD_SUB,)), [collected], trigger="test"
            )
        finally:
            app.close()
            sim.faults.remove(fault)
        rows = collected.rows
        pairs = Counter((r.ClusterName, r.NodeName, r.ControlId) for r in rows)
        assert set(pairs.values()) == {1}
        hung = [r for r in rows if r.NodeName == node]
        assert len(hung) == 9
        assert {r.Status for r in hung} == {"ERROR"}
        assert {r.Reason for r in hung} == {"not read: the run's deadline was reached first"}
        assert outcome.run.NodesFailed >= 1
        assert outcome.run.Nodes == len({(r.ClusterName, r.NodeName) for r in rows if r.NodeName})

    def test_zero_only_mode_fails_fifty(self, env):
        """EVENT_RECORD_QPS_MODE=zero-only makes eventRecordQPS 50 a FAIL."""
        _, rows = scan(env, ScanScope(subscriptions=(DEV_SUB,)), EVENT_RECORD_QPS_MODE="zero-only")
        assert {r.Status for r in rows if r.NodePool == "cpu" and r.ControlId == "3.2.7"} == {
            "FAIL"
        }


class TestSection4Reads:
    def test_a_denied_node_list_leaves_section_4_to_its_own_lists(self, env, sim):
        """A 403 on the node list denies nodes only: the node controls are ERROR, and section
        4's rows, read from other lists the scanner may read, keep their hand verdicts."""
        sim.faults.add(Fault(Endpoint.NODE_LIST, Action.ERROR, 403, cluster="aks-batch-neu"))
        _, rows = scan(env, ScanScope(subscriptions=(DEV_SUB,)))
        batch = [r for r in rows if r.ClusterName == "aks-batch-neu"]
        assert {r.Status for r in batch if r.Scope == "node"} == {"ERROR"}
        k8s = [r for r in batch if r.ControlId in K8S_CONTROLS]
        assert len(k8s) == len(K8S_CONTROLS)
        for row in k8s:
            verdict = expected_cluster_verdict(row.ClusterName, row.ControlId)
            problem = verdict_problem(verdict, row.ControlId, row.Status, row.Reason, row.Evidence)
            assert not problem, (row.ControlId, problem, row.Reason)

    def test_azure_admins_not_counted_is_not_a_pass(self, env, sim):
        """aks-prod-weu authorizes with Azure RBAC: when the role definitions cannot be read,
        Azure's cluster-admins are unknown, so 4.1.1 is not PASS there."""
        sim.faults.add(Fault(Endpoint.ROLE_DEFINITION, Action.ERROR, 403))
        _, rows = scan(env, ScanScope(subscriptions=(PROD_SUB,)))
        (row,) = [r for r in rows if (r.ClusterName, r.ControlId) == ("aks-prod-weu", "4.1.1")]
        assert "could not read its Azure role definitions" in row.Reason
        assert row.Status == "MANUAL", row.Reason


class TestIngestionOutage:
    def test_outage_dead_letters_and_the_next_run_replays(self, env, sim):
        """Log Analytics down for one run: rows wait on disk, the next run sends them, none twice."""
        sim.faults.ingestion_outage(True)
        first, rows = scan(env, ScanScope(subscriptions=(DEV_SUB,)))
        assert first.run.RowsDeadLettered == len(rows)
        assert not by_run(sim.accepted(FINDINGS_STREAM), first.run.RunId)
        sim.faults.ingestion_outage(False)
        second, _ = scan(env, ScanScope(subscriptions=(DEV_SUB,)))
        assert second.run.RowsReplayed >= len(rows)
        replayed = Counter(
            r["RecordId"] for r in by_run(sim.accepted(FINDINGS_STREAM), first.run.RunId)
        )
        assert set(replayed) == {r.RecordId for r in rows}
        assert set(replayed.values()) == {1}
        assert os.listdir(env["DEADLETTER_DIR"]) == []


class TestCommandLine:
    def test_demo_json_has_every_pair_once_and_all_statuses(self):
        """`python -m shared demo --format json`: each (node, control) once; PASS, FAIL, ERROR, SKIPPED present."""
        out = subprocess.run(
            [sys.executable, "-m", "shared", "demo", "--format", "json"],
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        document = json.loads(out.stdout)
        findings = document["findings"]
        pairs = Counter((f["ClusterId"], f["NodeName"], f["ControlId"]) for f in findings)
        assert set(pairs.values()) == {1}
        assert {f["Status"] for f in findings} >= {"PASS", "FAIL", "ERROR", "SKIPPED"}
        assert document["run"]["Passed"] == sum(f["Status"] == "PASS" for f in findings)
        assert "accepted" in out.stderr
        drift = [(d["NodeName"], d["ControlId"]) for p in document["pools"] for d in p["Drift"]]
        assert sorted(drift) == [
            ("aks-system-53367501-vmss000002", "3.2.5"),
            ("aks-system-53367501-vmss000002", "3.2.7"),
        ]

    @pytest.mark.parametrize(
        ("argv", "code"),
        [(["scan", "--subscription", "nope"], 2), (["scan", "--cluster", "/subscriptions/x"], 2)],
        ids=["bad-subscription", "bad-cluster"],
    )
    def test_bad_usage_exits_2(self, argv, code, capsys):
        """Malformed arguments exit 2 with a message naming the argument."""
        assert main(argv) == code
        assert argv[1] in capsys.readouterr().err

    def test_bad_setting_exits_2_before_any_call(self, env, sim, monkeypatch, capsys):
        """A malformed setting exits 2, names it, and nothing reaches ARM."""
        monkeypatch.setenv("SCAN_CONCURRENCY", "lots")
        before = sim.snapshot()
        assert main(["scan"]) == 2
        assert "SCAN_CONCURRENCY" in capsys.readouterr().err
        assert sim.snapshot() == before

    def test_sections_flag_selects_the_kubelet_section(self, env, tmp_path):
        """--sections 3.2 (CIS_SECTIONS) writes node rows only; a section the benchmark lacks exits 2."""
        out = tmp_path / "out.jsonl"
        assert main(["scan", "--sections", "3.2", "--format", "jsonl", "--output", str(out)]) == 0
        rows = [json.loads(line) for line in out.read_text().splitlines()[:-1]]
        assert rows
        assert {r["Scope"] for r in rows} == {"node"}
        assert {r["Section"] for r in rows} == {"3.2"}

    def test_unknown_section_exits_2(self, env, capsys):
        """A section cis-aks-1.8 does not have is a usage error naming CIS_SECTIONS and its sections."""
        assert main(["scan", "--sections", "6"]) == 2
        assert "CIS_SECTIONS: cis-aks-1.8 has no section 6" in capsys.readouterr().err

    def test_section_4_alone(self, env):
        """CIS_SECTIONS=4 is section 4 alone: one row per cluster and control, the stopped
        cluster's Kubernetes-read rows SKIPPED, 4.4.1 and 4.5.2 from ARM everywhere."""
        outcome, rows = scan(env, CIS_SECTIONS="4")
        section4 = [c for c in CLUSTER_CONTROLS if c.startswith("4.")]
        assert Counter(r.ControlId for r in rows) == dict.fromkeys(section4, 5)
        assert {r.Scope for r in rows} == {"cluster"}
        for row in rows:
            want = expected_cluster_status(row.ClusterName, row.ControlId)
            assert row.Status == want, (row.ClusterName, row.ControlId, row.Reason)
        assert outcome.run.ClusterRows == len(rows) == 5 * 24

    def test_fail_on_findings_exits_1(self, env, tmp_path):
        """--fail-on-findings exits 1 when a FAIL exists; the jsonl output ends with the run record."""
        out = tmp_path / "out.jsonl"
        assert (
            main(
                [
                    "scan",
                    "--format",
                    "jsonl",
                    "--output",
                    str(out),
                    "--fail-on-findings",
                    "--subscription",
                    DEV_SUB,
                ]
            )
            == 1
        )
        lines = out.read_text().splitlines()
        assert "run" in json.loads(lines[-1])
        assert all("ControlId" in json.loads(line) for line in lines[:-1])


class TestBenchmarks:
    def test_cis_aks_1_0_ids_on_the_estate(self, env):
        """With cis-aks-1.0 the same nodes carry that version's ids: eventRecordQPS is 3.2.9, hostname-override MANUAL."""
        _, rows = scan(env, ScanScope(subscriptions=(PROD_SUB,)), CIS_BENCHMARK="cis-aks-1.0")
        legacy = {r.ControlId: r for r in rows if r.NodeName == "aks-legacy-89116085-vmss000000"}
        assert len(legacy) == 11
        assert legacy["3.2.9"].Status == "FAIL"
        assert legacy["3.2.9"].Actual == "3"
        assert legacy["3.2.8"].Status == "MANUAL"
        assert {r.Benchmark for r in rows} == {"cis-aks-1.0"}

    def test_cis_k8s_1_12_ids_on_the_estate(self, env):
        """With cis-k8s-1.12 rows carry section 4.2 ids."""
        _, rows = scan(env, ScanScope(subscriptions=(DEV_SUB,)), CIS_BENCHMARK="cis-k8s-1.12")
        assert {r.ControlId.rsplit(".", 1)[0] for r in rows} == {"4.2"}


class TestAnyKubeconfig:
    def write_token_kubeconfig(
        self, sim: SimulatedEstate, tmp_path: Path, cluster: str, *, insecure: bool = False
    ) -> Path:
        import base64  # noqa: PLC0415

        import yaml  # noqa: PLC0415

        from sim import AKS_SERVER_APP_ID  # noqa: PLC0415

        entry: dict[str, object] = {"server": sim.api_server_url(cluster)}
        if insecure:
            entry["insecure-skip-tls-verify"] = True
        else:
            entry["certificate-authority-data"] = base64.b64encode(
                sim.cluster_ca_pem(cluster).encode()
            ).decode()
        document = {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": "person",
            "clusters": [{"name": cluster, "cluster": entry}],
            "contexts": [{"name": "person", "context": {"cluster": cluster, "user": "me"}}],
            "users": [{"name": "me", "user": {"token": sim.token(AKS_SERVER_APP_ID)}}],
        }
        path = tmp_path / "kubeconfig"
        path.write_text(yaml.safe_dump(document))
        return path

    def test_kubeconfig_scan_evaluates_that_cluster(self, env, sim, tmp_path):
        """scan --kubeconfig reads one cluster with the person's credentials and the same outputs."""
        path = self.write_token_kubeconfig(sim, tmp_path, "aks-legacy-eus")
        out = tmp_path / "out.json"
        assert (
            main(["scan", "--kubeconfig", str(path), "--format", "json", "--output", str(out)]) == 0
        )
        findings = json.loads(out.read_text())["findings"]
        nodes = [f for f in findings if f["Scope"] == "node"]
        assert {f["NodeName"] for f in nodes} == {
            "aks-legacy-89116085-vmss000000",
            "aks-legacy-89116085-vmss000001",
        }
        statuses = {f["ControlId"]: f["Status"] for f in nodes}
        assert statuses["3.2.4"] == "FAIL"
        assert statuses["3.2.2"] == "PASS"
        cluster = [f for f in findings if f["Scope"] == "cluster"]
        assert len(cluster) == len(CLUSTER_CONTROLS)
        arm = [f for f in cluster if f["ControlId"] in ARM_CONTROLS]
        assert {f["Status"] for f in arm} == {"SKIPPED"}
        assert all("reads no Azure Resource Manager data" in f["Reason"] for f in arm)
        # the Kubernetes lists are read with the person's credentials: the hand verdicts
        k8s = [f for f in cluster if f["ControlId"] in K8S_CONTROLS]
        assert len(k8s) == len(LEGACY_K8S)
        for f in k8s:
            verdict = LEGACY_K8S[f["ControlId"]]
            problem = verdict_problem(
                verdict, f["ControlId"], f["Status"], f["Reason"], f["Evidence"]
            )
            assert not problem, (f["ControlId"], problem, f["Reason"])

    def test_kubeconfig_scan_allows_the_scanners_own_nodes_proxy(self, env, sim, tmp_path):
        """scan --kubeconfig: 4.1.9 allows the get nodes/proxy infra/k8s gives the scanner's
        managed identity, as a scan with that identity does: the two grants of everything."""
        path = self.write_token_kubeconfig(sim, tmp_path, "aks-legacy-eus")
        out = tmp_path / "out.json"
        assert (
            main(["scan", "--kubeconfig", str(path), "--format", "json", "--output", str(out)]) == 0
        )
        (row,) = [f for f in json.loads(out.read_text())["findings"] if f["ControlId"] == "4.1.9"]
        problem = verdict_problem(
            LEGACY_K8S["4.1.9"], "4.1.9", row["Status"], row["Reason"], row["Evidence"]
        )
        assert not problem, problem

    def test_kubeconfig_that_skips_tls_verification_is_refused(self, env, sim, tmp_path):
        """A kubeconfig asking to skip TLS verification gives ERROR rows, never an unverified read, and exit 4 (nothing reached)."""
        path = self.write_token_kubeconfig(sim, tmp_path, "aks-legacy-eus", insecure=True)
        out = tmp_path / "out.json"
        assert (
            main(["scan", "--kubeconfig", str(path), "--format", "json", "--output", str(out)]) == 4
        )
        findings = [f for f in json.loads(out.read_text())["findings"] if f["Scope"] == "node"]
        assert {f["Status"] for f in findings} == {"ERROR"}
        assert "TLS" in findings[0]["Reason"]

    def test_unknown_context_exits_2(self, env, sim, tmp_path, capsys):
        """A context the kubeconfig does not have is a usage error naming --context."""
        path = self.write_token_kubeconfig(sim, tmp_path, "aks-legacy-eus")
        assert main(["scan", "--kubeconfig", str(path), "--context", "nope"]) == 2
        assert "--context" in capsys.readouterr().err
