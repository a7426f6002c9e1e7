"""Every documented setting does what it says, end to end on the simulated estate.

``EFFECTS`` maps each name in settings.DOCUMENTED to the tests that change it and observe the
effect (here, or where an earlier test already does); a test checks the map is complete and
that every cited test exists. Each test below runs the CLI (``main``) or the wired scanner with
the estate's environment and one setting changed. A hostile value of any setting exits 2,
naming it, before any request (``TestHostileValues``).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shared.entrypoints.cli import EXIT_NOTHING_REACHED, main
from shared.settings import DOCUMENTED
from sim import (
    FINDINGS_STREAM,
    RUNS_STREAM,
    Action,
    Endpoint,
    Fault,
    SimulatedEstate,
    default_estate,
)
from sim.estate import DEMO_SUB_DEV, DEMO_SUB_PROD
from tests.functions.test_indexing import bindings
from tests.test_settings_inputs import CASES, REFUSE, expected

ROOT = Path(__file__).resolve().parents[2]
LEGACY = f"/subscriptions/{DEMO_SUB_PROD}/resourceGroups/rg-legacy-eus/providers/Microsoft.ContainerService/managedClusters/aks-legacy-eus"
BATCH = f"/subscriptions/{DEMO_SUB_DEV}/resourceGroups/rg-batch-neu/providers/Microsoft.ContainerService/managedClusters/aks-batch-neu"
HERE = "tests/e2e/test_settings_effect.py"

#: setting -> the tests that change it and observe its effect.
EFFECTS: dict[str, tuple[str, ...]] = {
    "AZURE_CLIENT_ID": (
        f"{HERE}::TestIdentityAndEndpoints::test_azure_client_id_selects_the_managed_identity",
    ),
    "ARM_ENDPOINT": (
        f"{HERE}::TestIdentityAndEndpoints::test_arm_endpoint_is_where_discovery_goes",
    ),
    "SCAN_SUBSCRIPTIONS": (
        "tests/e2e/test_scope.py::TestCommandLineScope::test_setting_is_the_default_scope",
        "tests/functions/test_triggers_estate.py::TestConfiguredScope::test_timer_scans_exactly_the_configured_subscriptions",
        "tests/functions/test_triggers_estate.py::TestConfiguredScope::test_http_request_outside_the_scope_is_400_naming_it",
    ),
    "CIS_SECTIONS": (
        "tests/e2e/test_scan_estate.py::TestOptions::test_kubelet_only_sections_make_no_arm_read",
        "tests/e2e/test_scan_estate.py::TestOptions::test_sections_select_the_cluster_controls_only",
    ),
    "SCAN_API_AUTH": (
        "tests/functions/test_http_auth.py::TestSwitchedOff::test_off_locally_accepts_without_a_token_and_records_anonymous",
    ),
    "SCAN_API_TENANT_ID": (
        "tests/functions/test_http_auth.py::TestHostileTokens::test_another_tenants_issuer_is_401",
    ),
    "SCAN_API_CLIENT_ID": (
        "tests/functions/test_http_auth.py::TestHostileTokens::test_a_wrong_audience_is_401",
    ),
    "SCAN_API_ROLE": (
        "tests/functions/test_http_auth.py::TestRole::test_a_configured_role_is_the_one_required",
    ),
    "SCAN_API_AUTHORITY": (
        "tests/functions/test_http_auth.py::TestSigningKeysUnavailable::test_the_authority_is_where_the_keys_are_read",
    ),
    "DISCOVERY_MODE": (
        f"{HERE}::TestDiscovery::test_arm_mode_never_asks_resource_graph",
        f"{HERE}::TestDiscovery::test_resource_graph_mode_does_not_fall_back",
        "tests/e2e/test_scan_estate.py::TestOptions::test_resource_graph_failure_falls_back_to_arm",
    ),
    "CIS_BENCHMARK": (
        "tests/e2e/test_scan_estate.py::TestBenchmarks::test_cis_aks_1_0_ids_on_the_estate",
    ),
    "EVENT_RECORD_QPS_MODE": (
        "tests/e2e/test_scan_estate.py::TestOptions::test_zero_only_mode_fails_fifty",
    ),
    "EVENT_RECORD_QPS_MIN": (
        f"{HERE}::TestEvaluation::test_event_record_qps_min_moves_the_threshold",
    ),
    "ALLOW_LOCAL_ACCOUNTS": (
        "tests/e2e/test_scan_estate.py::TestOptions::test_local_accounts_allowed_scans_the_non_entra_cluster",
    ),
    "PRIVATE_CLUSTER_MODE": (
        "tests/e2e/test_private_clusters.py::TestReportMode::test_no_run_command_is_issued",
        "tests/e2e/test_private_clusters.py::TestRunCommandMode::test_verdicts_equal_the_public_path",
    ),
    "SCAN_CONCURRENCY": (f"{HERE}::TestLimits::test_concurrency_bounds_reads_across_the_run",),
    "SCAN_CLUSTER_CONCURRENCY": (
        f"{HERE}::TestLimits::test_cluster_concurrency_bounds_reads_per_api_server",
    ),
    "SCAN_REQUEST_TIMEOUT": (f"{HERE}::TestLimits::test_request_timeout_bounds_a_configz_read",),
    "SCAN_MAX_RETRIES": (f"{HERE}::TestLimits::test_max_retries_is_the_number_of_retries",),
    "CONFIGZ_MAX_BYTES": (f"{HERE}::TestLimits::test_configz_max_bytes_caps_the_body",),
    "LOGS_INGESTION_ENDPOINT": (f"{HERE}::TestDelivery::test_logs_settings_turn_upload_on",),
    "LOGS_DCR_IMMUTABLE_ID": (f"{HERE}::TestDelivery::test_dcr_id_is_the_rule_uploaded_to",),
    "LOGS_FINDINGS_STREAM": (f"{HERE}::TestDelivery::test_streams_name_where_rows_go",),
    "LOGS_RUNS_STREAM": (f"{HERE}::TestDelivery::test_streams_name_where_rows_go",),
    "SCAN_POLICY": (
        f"{HERE}::TestEvaluation::test_scan_policy_levels_and_exemptions_reach_the_rows",
    ),
    "SCAN_SCHEDULE": (
        f"{HERE}::TestHostResolved::test_scan_schedule_is_resolved_by_the_functions_host",
    ),
    "DEADLETTER_CONTAINER": (
        "tests/functions/test_triggers_estate.py::TestNoFindingsLost::test_outage_then_recovery_every_row_once_and_no_blob_left",
    ),
    "DEADLETTER_DIR": (f"{HERE}::TestDelivery::test_deadletter_dir_is_where_refused_rows_wait",),
}
OWNED_ELSEWHERE: set[str] = set()


def scan(tmp_path: Path, *args: str) -> tuple[int, dict[str, Any]]:
    """``python -m shared scan --format json`` in-process; the exit code and the document."""
    out = tmp_path / f"out-{len(list(tmp_path.iterdir()))}.json"
    code = main(["scan", "--format", "json", "--output", str(out), *args])
    return code, json.loads(out.read_text()) if out.stat().st_size else {}


def rows(document: dict[str, Any], **match: str) -> list[dict[str, Any]]:
    return [f for f in document["findings"] if all(f[k] == v for k, v in match.items())]


def requests_to(snapshot: dict[str, int], *endpoints: str) -> int:
    """Requests the estate answered on these endpoints (any cluster, any status)."""
    return sum(n for key, n in snapshot.items() if key.split("|")[0] in endpoints)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class TestEveryDocumentedSetting:
    def test_every_setting_has_a_test_of_its_effect(self):
        """settings.DOCUMENTED and EFFECTS list the same settings; each has a test unless another suite owns it."""
        assert set(EFFECTS) == set(DOCUMENTED)
        assert {name for name, tests in EFFECTS.items() if not tests} == OWNED_ELSEWHERE

    @pytest.mark.parametrize("cited", sorted({t for tests in EFFECTS.values() for t in tests}))
    def test_cited_tests_exist(self, cited):
        """Every test EFFECTS cites is defined in its file."""
        path, *names = cited.split("::")
        source = (ROOT / path).read_text(encoding="utf-8")
        for name in names:
            assert re.search(rf"^\s*(class|def) {re.escape(name)}\b", source, re.M), cited


class TestIdentityAndEndpoints:
    def test_azure_client_id_selects_the_managed_identity(self, env, sim, tmp_path, monkeypatch):
        """Another identity's client id: no token, discovery rows name the identity; unset: DefaultAzureCredential finds the estate's."""
        monkeypatch.setenv("AZURE_CLIENT_ID", "00000000-0000-4000-8000-000000000001")
        code, other = scan(tmp_path, "--subscription", DEMO_SUB_DEV)
        assert code == EXIT_NOTHING_REACHED  # every row ERROR: nothing was read
        assert {f["Status"] for f in other["findings"]} == {"ERROR"}
        assert all(f["ClusterName"] == "" for f in other["findings"])
        monkeypatch.delenv("AZURE_CLIENT_ID")
        code, default = scan(tmp_path, "--subscription", DEMO_SUB_DEV)
        assert {f["ClusterName"] for f in default["findings"]} == {
            "aks-dev-stopped",
            "aks-batch-neu",
        }

    def test_arm_endpoint_is_where_discovery_goes(self, env, sim, tmp_path, monkeypatch):
        """ARM_ENDPOINT with a trailing / still reaches the estate's ARM; a port where nothing listens gets discovery ERROR rows and no ARM request."""
        monkeypatch.setenv("ARM_ENDPOINT", env["ARM_ENDPOINT"] + "/")
        _, found = scan(tmp_path, "--cluster", LEGACY)
        assert {f["ClusterName"] for f in found["findings"]} == {"aks-legacy-eus"}
        monkeypatch.setenv("ARM_ENDPOINT", f"https://127.0.0.1:{closed_port()}")
        before = sim.snapshot()
        _, elsewhere = scan(tmp_path, "--subscription", DEMO_SUB_DEV)
        assert {f["Status"] for f in elsewhere["findings"]} == {"ERROR"}
        azure = ("arm", "resource-graph")
        assert requests_to(sim.snapshot(), *azure) == requests_to(before, *azure)


class TestDiscovery:
    def test_arm_mode_never_asks_resource_graph(self, env, sim, tmp_path, monkeypatch):
        """DISCOVERY_MODE=arm lists clusters through ARM only: Resource Graph gets no request, and the clusters are found.

        The kubelet section alone: the cluster controls' tenant-wide reads (registries, role
        assignments, Defender plans) are Resource Graph queries whatever the discovery mode.
        """
        monkeypatch.setenv("DISCOVERY_MODE", "arm")
        before = sim.snapshot()
        _, document = scan(tmp_path, "--subscription", DEMO_SUB_DEV, "--sections", "3.2")
        assert requests_to(sim.snapshot(), "resource-graph") == requests_to(
            before, "resource-graph"
        )
        assert {f["ClusterName"] for f in document["findings"]} == {
            "aks-dev-stopped",
            "aks-batch-neu",
        }

    def test_resource_graph_mode_does_not_fall_back(self, env, sim, tmp_path, monkeypatch):
        """DISCOVERY_MODE=resource-graph with Resource Graph refusing: discovery ERROR rows, no ARM listing in its place (auto would fall back)."""
        monkeypatch.setenv("DISCOVERY_MODE", "resource-graph")
        sim.faults.add(Fault(Endpoint.RESOURCE_GRAPH, Action.ERROR, 403))
        _, document = scan(tmp_path, "--subscription", DEMO_SUB_DEV)
        assert {(f["ClusterName"], f["Status"]) for f in document["findings"]} == {("", "ERROR")}


class TestEvaluation:
    def test_event_record_qps_min_moves_the_threshold(self, env, tmp_path, monkeypatch):
        """The batch cpu pool's eventRecordQPS 50 passes 3.2.7 at the default minimum 5 and fails at 51."""
        _, default = scan(tmp_path, "--cluster", BATCH)
        monkeypatch.setenv("EVENT_RECORD_QPS_MIN", "51")
        _, raised = scan(tmp_path, "--cluster", BATCH)
        assert {f["Status"] for f in rows(default, NodePool="cpu", ControlId="3.2.7")} == {"PASS"}
        assert {f["Status"] for f in rows(raised, NodePool="cpu", ControlId="3.2.7")} == {"FAIL"}

    def test_scan_policy_levels_and_exemptions_reach_the_rows(self, env, tmp_path, monkeypatch):
        """An inline SCAN_POLICY: levels [1] makes 3.2.7 SKIPPED; an exemption of 3.2.4 on the legacy pool marks its FAIL exempt."""
        policy = (
            "levels: [1]\nexemptions:\n  - control: '3.2.4'\n"
            f"    scope: {LEGACY}/agentPools/legacy\n    reason: exporter until Q3\n    expires: 2999-12-31\n"
        )
        monkeypatch.setenv("SCAN_POLICY", policy)
        _, document = scan(tmp_path, "--cluster", LEGACY)
        assert {f["Status"] for f in rows(document, ControlId="3.2.7")} == {"SKIPPED"}
        exempt = rows(document, ControlId="3.2.4")
        assert {(f["Status"], f["Exempt"], f["ExemptionReason"]) for f in exempt} == {
            ("FAIL", True, "exporter until Q3")
        }


@pytest.fixture(name="slow", scope="module")
def _slow() -> Iterator[SimulatedEstate]:
    """The demo estate with 40 ms per configz answer, so that reads overlap."""
    with SimulatedEstate(default_estate().with_latency(configz_ms=40)).start() as sim:
        yield sim


@pytest.fixture(name="slow_env")
def _slow_env(
    slow: SimulatedEstate, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> dict[str, str]:
    values = {**slow.env, "DEADLETTER_DIR": str(tmp_path / "dl")}
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    slow.faults.clear()
    return values


class TestLimits:
    def test_cluster_concurrency_bounds_reads_per_api_server(
        self, slow_env, slow, tmp_path, monkeypatch
    ):
        """SCAN_CLUSTER_CONCURRENCY=1: one configz in flight at the 7-node API server; 4: more than one."""
        prod = "aks-prod-weu"
        cluster_id = LEGACY.replace("rg-legacy-eus", "rg-prod-weu").replace("aks-legacy-eus", prod)
        monkeypatch.setenv("SCAN_CLUSTER_CONCURRENCY", "1")
        slow.counters.reset()
        scan(tmp_path, "--cluster", cluster_id)
        assert slow.counters.peak("configz", prod) == 1
        monkeypatch.setenv("SCAN_CLUSTER_CONCURRENCY", "4")
        slow.counters.reset()
        scan(tmp_path, "--cluster", cluster_id)
        assert 1 < slow.counters.peak("configz", prod) <= 4

    def test_concurrency_bounds_reads_across_the_run(self, slow_env, slow, tmp_path, monkeypatch):
        """SCAN_CONCURRENCY=1: one configz in flight across all clusters; 8: more than one."""
        monkeypatch.setenv("SCAN_CONCURRENCY", "1")
        slow.counters.reset()
        scan(tmp_path)
        assert slow.counters.peak("configz") == 1
        monkeypatch.setenv("SCAN_CONCURRENCY", "8")
        slow.counters.reset()
        scan(tmp_path)
        assert 1 < slow.counters.peak("configz") <= 8

    def test_request_timeout_bounds_a_configz_read(self, env, sim, tmp_path, monkeypatch):
        """A configz answered after 3 s: ERROR naming the 1 s SCAN_REQUEST_TIMEOUT; read normally at 10 s."""
        node = "aks-legacy-89116085-vmss000000"
        sim.faults.add(
            Fault(Endpoint.CONFIGZ, Action.DELAY, delay=3, cluster="aks-legacy-eus", node=node)
        )
        monkeypatch.setenv("SCAN_REQUEST_TIMEOUT", "1")
        monkeypatch.setenv("SCAN_MAX_RETRIES", "0")
        _, short = scan(tmp_path, "--cluster", LEGACY)
        monkeypatch.setenv("SCAN_REQUEST_TIMEOUT", "10")
        _, long = scan(tmp_path, "--cluster", LEGACY)
        (reason,) = {f["Reason"] for f in rows(short, NodeName=node)}
        assert "timed out after 1s" in reason
        assert "SCAN_REQUEST_TIMEOUT" in reason
        assert "ERROR" not in {f["Status"] for f in rows(long, NodeName=node)}

    def test_max_retries_is_the_number_of_retries(self, env, sim, tmp_path, monkeypatch):
        """A configz that always answers 503: 1 request with SCAN_MAX_RETRIES=0, 3 with 2."""
        node = "aks-legacy-89116085-vmss000001"
        hits = []
        for retries in ("0", "2"):
            monkeypatch.setenv("SCAN_MAX_RETRIES", retries)
            fault = sim.faults.add(
                Fault(Endpoint.CONFIGZ, Action.ERROR, 503, cluster="aks-legacy-eus", node=node)
            )
            scan(tmp_path, "--cluster", LEGACY)
            hits.append(sim.faults.hits(fault))
            sim.faults.remove(fault)
        assert hits == [1, 3]

    def test_configz_max_bytes_caps_the_body(self, env, sim, tmp_path, monkeypatch):
        """A valid 6 KiB configz body: ERROR naming CONFIGZ_MAX_BYTES at 4096, evaluated at the default."""
        node = "aks-legacy-89116085-vmss000000"
        body = json.dumps(
            {
                "kubeletconfig": {"readOnlyPort": 0, "pad": "x" * 6000},
                "kind": "KubeletConfiguration",
            }
        )
        sim.faults.add(
            Fault(
                Endpoint.CONFIGZ,
                Action.BODY,
                200,
                cluster="aks-legacy-eus",
                node=node,
                body=body.encode(),
            )
        )
        monkeypatch.setenv("CONFIGZ_MAX_BYTES", "4096")
        _, capped = scan(tmp_path, "--cluster", LEGACY)
        monkeypatch.delenv("CONFIGZ_MAX_BYTES")
        _, read = scan(tmp_path, "--cluster", LEGACY)
        (reason,) = {f["Reason"] for f in rows(capped, NodeName=node)}
        assert "exceeds 4096 bytes (CONFIGZ_MAX_BYTES)" in reason
        assert {f["Status"] for f in rows(read, NodeName=node, ControlId="3.2.4")} == {"PASS"}


class TestDelivery:
    def test_logs_settings_turn_upload_on(self, env, sim, tmp_path, monkeypatch):
        """Without LOGS_INGESTION_ENDPOINT (and the DCR id) nothing is uploaded; with both, the run's rows arrive."""
        calls = sim.ingestion_calls()
        monkeypatch.delenv("LOGS_INGESTION_ENDPOINT")
        monkeypatch.delenv("LOGS_DCR_IMMUTABLE_ID")
        _, off = scan(tmp_path, "--cluster", LEGACY)
        assert sim.ingestion_calls() == calls
        monkeypatch.setenv("LOGS_INGESTION_ENDPOINT", env["LOGS_INGESTION_ENDPOINT"])
        monkeypatch.setenv("LOGS_DCR_IMMUTABLE_ID", env["LOGS_DCR_IMMUTABLE_ID"])
        _, on = scan(tmp_path, "--cluster", LEGACY)
        run_id = on["run"]["RunId"]
        assert len([r for r in sim.accepted(FINDINGS_STREAM) if r["RunId"] == run_id]) == len(
            on["findings"]
        )
        assert off["findings"]

    def test_dcr_id_is_the_rule_uploaded_to(self, env, sim, tmp_path, monkeypatch):
        """Another rule's immutable id: Logs Ingestion answers 404, nothing arrives, every row waits in the dead-letter folder."""
        monkeypatch.setenv("LOGS_DCR_IMMUTABLE_ID", "dcr-" + "e" * 32)
        code, document = scan(tmp_path, "--cluster", LEGACY)
        run_id = document["run"]["RunId"]
        assert code == 0
        assert not [r for r in sim.accepted(FINDINGS_STREAM) if r["RunId"] == run_id]
        assert os.listdir(env["DEADLETTER_DIR"])

    def test_streams_name_where_rows_go(self, env, sim, tmp_path, monkeypatch):
        """LOGS_FINDINGS_STREAM / LOGS_RUNS_STREAM name the DCR streams uploaded to: an undeclared one is called and refused, the default ones get nothing of that run."""
        for name, default in (
            ("LOGS_FINDINGS_STREAM", FINDINGS_STREAM),
            ("LOGS_RUNS_STREAM", RUNS_STREAM),
        ):
            monkeypatch.setenv(name, "Custom-Elsewhere")
            calls = sim.ingestion_calls("Custom-Elsewhere")
            _, document = scan(tmp_path, "--cluster", LEGACY)
            run_id = document["run"]["RunId"]
            assert sim.ingestion_calls("Custom-Elsewhere") > calls, name
            assert not [r for r in sim.accepted(default) if r["RunId"] == run_id], name
            monkeypatch.delenv(name)

    def test_deadletter_dir_is_where_refused_rows_wait(self, env, sim, tmp_path, monkeypatch):
        """Log Analytics down: the run's rows wait in DEADLETTER_DIR (a folder of the person's choosing), and the scan still exits 0."""
        folder = tmp_path / "waiting rows"
        monkeypatch.setenv("DEADLETTER_DIR", str(folder))
        sim.faults.ingestion_outage(True)
        try:
            code, _document = scan(tmp_path, "--cluster", LEGACY)
        finally:
            sim.faults.ingestion_outage(False)
        assert code == 0
        assert folder.is_dir()
        assert os.listdir(folder)


class TestHostResolved:
    def test_scan_schedule_is_resolved_by_the_functions_host(self, env, sim, monkeypatch):
        """Not observable on the estate: the Functions host resolves %SCAN_SCHEDULE% and fires the timer, and no host runs in the tests.

        What is observable: the timer binding names the setting (the app's own schedule is never
        used), and the app validates it as NCRONTAB, so a schedule the host would refuse stops the
        CLI and every trigger with the setting named instead of leaving the timer silently off.
        """
        (timer,) = [b for b in bindings()["scheduled_scan"] if b["type"] == "timerTrigger"]
        assert timer["schedule"] == "%SCAN_SCHEDULE%"
        monkeypatch.setenv("SCAN_SCHEDULE", "0 0 */6 * *")
        before = sim.snapshot()
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            assert main(["scan"]) == 2
        assert "SCAN_SCHEDULE: '0 0 */6 * *' is not an NCRONTAB schedule" in err.getvalue()
        assert sim.snapshot() == before


class TestHostileValues:
    # The SCAN_API_* settings are the HTTP trigger's (tests/functions/test_http_auth.py); the
    # CLI does not read them.
    @pytest.mark.parametrize("name", sorted(n for n in CASES if not n.startswith("SCAN_API_")))
    def test_refused_value_exits_2_naming_it_before_any_call(
        self, env, sim, name, monkeypatch, capsys
    ):
        """For each setting, its first refused sample and its default padded with a space: exit 2, the setting named, no request."""
        getter, oracle, samples = CASES[name]
        refused = [
            s for s in samples if expected(name, s, getter, oracle) is REFUSE and "\x00" not in s
        ]
        padded = (env.get(name) or DOCUMENTED[name][0] or samples[0]) + " "
        for value in (refused[0], padded):
            monkeypatch.setenv(name, value)
            before = sim.snapshot()
            assert main(["scan"]) == 2, value
            assert f"error: {name}: " in capsys.readouterr().err
            assert sim.snapshot() == before
