"""The benchmark keeps working: its tiny profile end to end, and its floor arithmetic.

Nothing here asserts on time: the tiny run checks that every phase ran, that every scan was
verified against the estate (every configz answered, every row accepted), and that the results
file and the table say so.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from bench import run as bench_run
from bench.floor import (
    PREFETCH_WORKERS,
    STEADY_PREPARERS,
    Latencies,
    discovery_calls,
    floor,
    list_pages,
    pipeline_model,
)
from bench.simulator import EstateShape, Snapshot
from shared import pipeline
from shared.core import k8s_lists

ROOT = Path(__file__).resolve().parents[2]
LATENCY = Latencies(arm=0.02, node_list=0.05, configz=0.05)


def debian_kubectl() -> str | None:
    """Debian's kubectl if ``make bench`` got it already (the test never installs anything)."""
    unpacked = ROOT / "bench" / "out" / "kubernetes-client" / "usr" / "bin" / "kubectl"
    if unpacked.exists():
        return str(unpacked)
    dpkg_query = shutil.which("dpkg-query")
    if dpkg_query is None:
        return None
    listed = subprocess.run(
        [dpkg_query, "-L", "kubernetes-client"], capture_output=True, text=True, check=False
    )
    found = [line for line in listed.stdout.splitlines() if line.endswith("/bin/kubectl")]
    return found[0] if listed.returncode == 0 and found else None


@pytest.fixture(scope="module")
def outcome(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, dict[str, Any], str]:
    """One tiny benchmark run for the module: exit code, results file, kubectl used."""
    base = tmp_path_factory.mktemp("bench")
    output = base / "results.json"
    argv = ["--profile", "tiny", "--output", str(output), "--work", str(base / "out")]
    kubectl = debian_kubectl()
    if kubectl:
        argv += ["--kubectl", kubectl]
    code = bench_run.main(argv)
    return code, json.loads(output.read_text()), kubectl or ""


class TestTinyBenchmark:
    """2 clusters x 5 nodes, every phase, verified."""

    def test_exits_zero_with_every_scan_verified(self, outcome):
        code, results, _ = outcome
        assert results["problems"] == []
        assert code == 0

    def test_estate_runs_counted_every_node_and_row(self, outcome):
        _, results, _ = outcome
        (run,) = results["estate"]["runs"]
        assert run["nodes"] == 10
        assert run["verified"] is True
        assert run["server_answers"]["configz_200"] == 10
        # #15's node scan: 10 nodes x 9 kubelet controls, 2 clusters x 17 ARM controls, no list
        assert run["sections"] == "#15's node scan"
        assert run["server_answers"]["section4_lists"] == 0
        assert run["rows_accepted"] == {
            "Custom-AksCisFindings": 90 + 2 * 17,
            "Custom-AksCisScanRuns": 1,
        }
        assert run["process"]["max_rss_mb"] > 0
        assert run["process"]["cpu_seconds"] > 0
        assert run["limits"] == {"concurrency": 64, "cluster_concurrency": 8}

    def test_every_section_twin_reads_the_lists_beside_the_nodes(self, outcome):
        """The default selection: the same nodes, 25 session controls more per cluster, 22 lists
        per cluster (3 optional CRDs answering 404), and the change printed."""
        _, results, _ = outcome
        (twin,) = results["estate"]["every_section_runs"]
        assert twin["verified"] is True
        assert twin["sections"] == "every section"
        assert twin["server_answers"]["configz_200"] == 10
        assert twin["server_answers"]["section4_lists"] == 2 * 22
        assert twin["rows_accepted"]["Custom-AksCisFindings"] == 90 + 2 * (17 + 25)
        assert twin["section4"]["clusters"] == 2
        assert twin["section4"]["failed"] == []
        change = results["estate"]["every_section_change"]
        assert change["list_requests"] == 44
        assert change["list_requests_per_cluster"] == 22
        assert change["not_installed"] == 3
        assert "every section against the node scan" in "\n".join(results["table"])

    def test_section4_case_reads_the_lists_and_no_configz(self, outcome):
        """CIS_SECTIONS=4 on one cluster of 5 nodes with 20 and 200 pods: 24 cluster rows each,
        no configz, every list read, 180 more pods read by the larger one, and the ratio target."""
        _, results, _ = outcome
        small, large = results["section4"]
        for run, pods in ((small, 20), (large, 200)):
            assert run["verified"] is True, run["problems"]
            assert run["estate"] == f"1 x 5 + {pods} pods"
            assert run["nodes"] == 5
            assert run["server_answers"]["configz_200"] == 0
            assert run["server_answers"]["section4_lists"] == 22
            assert run["rows_accepted"] == {"Custom-AksCisFindings": 24, "Custom-AksCisScanRuns": 1}
            read = run["section4"]
            assert read["clusters"] == 1
            assert read["seconds_max"] > 0
            assert read["objects_per_second"] > 0
            assert read["floor_seconds"] >= 0.05
            (call,) = read["calls"]
            assert call["lists"] == 22
            assert call["not_served"] == sorted(r.qualified for r in k8s_lists.OPTIONAL_READS)
            assert read["objects"] == sum(objects for objects, _ in call["by_list"].values())
        pods_read = [run["section4"]["calls"][0]["by_list"]["pods"][0] for run in (small, large)]
        assert pods_read[1] - pods_read[0] == 180
        (target,) = [t for t in results["targets"] if t["target"].startswith("section 4:")]
        ratio = large["process"]["max_rss_mb"] / small["process"]["max_rss_mb"]
        assert target["value"] == pytest.approx(ratio, abs=0.01)
        table = "\n".join(results["table"])
        assert "7. Section 4: one cluster of 5 nodes" in table
        assert "200 pods" in table

    def test_floor_and_growth_are_reported(self, outcome):
        _, results, _ = outcome
        assert results["floor"]["ideal"] == pytest.approx(0.16)
        assert [g["nodes"] for g in results["growth"]] == [5, 10]
        assert all(g["verified"] for g in results["growth"])

    def test_baselines_read_every_node(self, outcome):
        _, results, kubectl = outcome
        baselines = results["baselines"]
        assert baselines["client_loop"]["configz_read"] == baselines["nodes"] == 5
        assert baselines["scanner"]["verified"] is True
        if kubectl:
            assert baselines["kubectl"]["configz_read"] == 5
            assert baselines["kubectl"]["configz_served_200"] == 5
            assert baselines["kubectl"]["client"]["gitVersion"].startswith("v1.")
        else:
            assert "skipped" in baselines["kubectl"]

    def test_cpu_budget_has_every_stage(self, outcome):
        _, results, _ = outcome
        budget = results["cpu_budget_ms"]
        for stage in ("connect", "list", "configz_async", "configz_sequential", "evaluate"):
            assert budget[stage]["items"] > 0
            assert budget[stage]["cpu_ms"] >= 0
        assert budget["upload"]["items"] == 10

    def test_cold_start_lists_what_function_app_loads(self, outcome):
        _, results, _ = outcome
        cold = results["cold_start"]
        assert cold["modules_loaded"] > 0
        assert isinstance(cold["forbidden_loaded"], list)
        assert cold["slowest_imports"]

    def test_machine_and_table(self, outcome):
        _, results, _ = outcome
        assert results["machine"]["cores"] >= 1
        assert results["machine"]["python"].startswith("3.")
        table = "\n".join(results["table"])
        for heading in ("1. Estate", "2. Floor", "3. Baselines", "4. Growth", "5. Cold start"):
            assert heading in table
        assert "Targets" in table
        assert {t["target"].split(":")[0] for t in results["targets"]} >= {
            "estate",
            "baseline",
            "memory",
            "cold start",
        }


class TestSelections:
    """What each case asks the scanner for, and what its verification expects."""

    def test_node_scan_is_every_control_without_a_list(self):
        benchmark = bench_run.selected(bench_run.NODE_SCAN)
        assert benchmark.session_controls == ()
        assert len(benchmark.node_controls) == len(bench_run.default_benchmark().node_controls)
        assert len(benchmark.arm_controls) == len(bench_run.default_benchmark().arm_controls)

    def test_expected_rows_follow_the_selection(self):
        shape = EstateShape(2, 5, 50, 50, 20, pods_per_cluster=100)
        assert bench_run.expected_rows(shape, bench_run.SECTION4) == 2 * 24
        assert bench_run.expected_rows(shape, bench_run.NODE_SCAN) == 10 * 9 + 2 * 17
        assert bench_run.expected_rows(shape) == 10 * 9 + 2 * (17 + 25)
        assert shape.label() == "2 x 5 + 100 pods"

    def test_every_list_has_an_estate_endpoint(self):
        endpoints = bench_run.list_endpoints()
        assert len(endpoints) == len(k8s_lists.READS) == 22
        assert sorted(e for e, optional in endpoints.items() if optional) == [
            "calico-policy-list",
            "cilium-clusterwide-policy-list",
            "cilium-policy-list",
        ]

    def test_section4_floor_is_the_longest_list_or_every_page_four_at_a_time(self):
        shape = EstateShape(1, 5, 50, 50, 20, pods_per_cluster=1000)
        by_list = {"pods": [1000, 3], **{f"l{i}": [1, 1] for i in range(9)}}
        report = {
            "section4": {"seconds_max": 0.5, "objects": 1009, "calls": [{"by_list": by_list}]}
        }
        run = bench_run.ScanRun(shape, None, report, Snapshot(Counter(), Counter(), 0.0))  # type: ignore[arg-type]
        read = run.section4()
        assert read["floor_seconds"] == pytest.approx(3 * 0.05)  # 12 pages / 4 = 3 = the pods' 3
        assert read["objects_per_second"] == 2018
        by_list["pods"] = [5000, 10]
        assert run.section4()["floor_seconds"] == pytest.approx(10 * 0.05)


class TestFloor:
    def test_default_estate(self):
        """100 x 100 at 64/8: 157 rounds of 50 ms after discovery, credential and node list."""
        result = floor([100] * 100, 64, 8, LATENCY, subscriptions=4)
        assert result.discovery_calls == 2
        assert result.global_bound == pytest.approx(10_000 * 0.05 / 64)
        assert result.ideal == pytest.approx(2 * 0.02 + 0.02 + 0.05 + 157 * 0.05)
        assert result.pipeline_model >= result.ideal

    def test_one_cluster_is_bound_by_its_own_window(self):
        """200 nodes, 8 in flight: 25 rounds; the pipeline reaches the ideal here."""
        result = floor([200], 64, 8, LATENCY, subscriptions=1)
        assert result.ideal == pytest.approx(2 * 0.02 + 0.02 + 0.05 + 25 * 0.05)
        assert result.pipeline_model == pytest.approx(result.ideal)

    def test_pipeline_model_of_waves(self):
        """Eight equal clusters and room for all: one wave, each cluster ceil(n/c) rounds."""
        seconds = pipeline_model([16] * 8, 64, 8, LATENCY)
        assert seconds == pytest.approx(0.02 + 0.05 + 2 * 0.05)

    def test_pipeline_model_queues_beyond_the_global_limit(self):
        """Workers beyond C/c: their reads wait for a permit, never exceed C."""
        sizes = [8] * 3
        seconds = pipeline_model(sizes, 16, 8, LATENCY)
        # Two clusters fill the 16 threads; the third worker's 8 reads queue behind them.
        assert seconds == pytest.approx(0.02 + 0.05 + 2 * 0.05)

    def test_prefetching_workers_overlap_the_next_clusters_lists(self):
        """With two workers beyond C/c, the third cluster's credential call and list overlap the
        first two clusters' reads: it starts reading as soon as their permits free up."""
        seconds = pipeline_model([8] * 3, 8, 8, LATENCY)
        # First cluster: 0.07 s to list, one round; the others are listed by then.
        assert seconds == pytest.approx(0.02 + 0.05 + 3 * 0.05)

    def test_model_uses_the_pipelines_worker_count(self):
        """The model's extra readers and steady preparers are the pipeline's."""
        assert PREFETCH_WORKERS == pipeline.PREFETCH_WORKERS
        assert STEADY_PREPARERS == pipeline.STEADY_PREPARERS

    def test_empty_clusters_and_pages(self):
        assert list_pages(0) == 1
        assert list_pages(500) == 1
        assert list_pages(501) == 2
        assert discovery_calls(5, 150) == 4
        assert pipeline_model([0, 0], 64, 8, LATENCY) == pytest.approx(0.07)
        assert math.isclose(floor([], 64, 8, LATENCY, subscriptions=1).ideal, 0.04)


class TestSnapshot:
    def test_difference_and_failures(self):
        before = Snapshot(Counter({"configz|a|200": 3}), Counter({"s": 1}), 1.0)
        after = Snapshot(
            Counter({"configz|a|200": 10, "ingestion|s|413": 2, "configz|b|200": 1}),
            Counter({"s": 5}),
            3.5,
        )
        delta = after.since(before)
        assert delta.count("configz", 200) == 8
        assert delta.count("ingestion") == 2
        assert delta.failures() == {"ingestion|413": 2}
        assert delta.accepted == Counter({"s": 4})
        assert delta.cpu_seconds == pytest.approx(2.5)
