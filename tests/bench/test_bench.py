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
from bench.simulator import Snapshot
from shared import pipeline

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
        # 10 nodes x 9 kubelet controls, 2 clusters x 18 cluster controls
        assert run["rows_accepted"] == {
            "Custom-AksCisFindings": 90 + 36,
            "Custom-AksCisScanRuns": 1,
        }
        assert run["process"]["max_rss_mb"] > 0
        assert run["process"]["cpu_seconds"] > 0
        assert run["limits"] == {"concurrency": 64, "cluster_concurrency": 8}

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
