"""The Functions host's view of function_app: names, triggers, routes, queues, schedule."""

from __future__ import annotations

import functools
import json
import subprocess
import sys

import function_app


@functools.cache  # get_functions() refuses to index the same app twice
def bindings() -> dict[str, list[dict[str, object]]]:
    return {
        str(f.get_function_name()): json.loads(f.get_function_json())["bindings"]
        for f in function_app.app.get_functions()
    }


class TestIndexing:
    def test_three_functions_are_indexed(self):
        """Exactly the timer, queue and HTTP functions are indexed."""
        assert sorted(bindings()) == ["manual_scan", "scan_cluster", "scheduled_scan"]

    def test_timer_reads_schedule_from_app_setting(self):
        """The schedule is %SCAN_SCHEDULE%, never run on startup, and it outputs to scan-cluster."""
        timer = {b["type"]: b for b in bindings()["scheduled_scan"]}
        assert timer["timerTrigger"]["schedule"] == "%SCAN_SCHEDULE%"
        assert timer["timerTrigger"]["runOnStartup"] is False
        assert timer["queue"]["queueName"] == "scan-cluster"
        assert timer["queue"]["direction"] == "OUT"

    def test_queue_trigger_and_poison_output(self):
        """scan_cluster triggers on scan-cluster and can write to scan-cluster-poison."""
        by_direction = {(b["type"], b["direction"]): b for b in bindings()["scan_cluster"]}
        assert by_direction[("queueTrigger", "IN")]["queueName"] == "scan-cluster"
        assert by_direction[("queue", "OUT")]["queueName"] == "scan-cluster-poison"
        assert {b["connection"] for b in bindings()["scan_cluster"]} == {"AzureWebJobsStorage"}

    def test_http_route_is_post_scan_with_function_key(self):
        """POST /api/scan with function-level auth."""
        http = {b["type"]: b for b in bindings()["manual_scan"]}
        assert http["httpTrigger"]["route"] == "scan"
        assert http["httpTrigger"]["methods"] == ["POST"]
        assert http["httpTrigger"]["authLevel"] == "FUNCTION"


class TestColdStart:
    def test_import_loads_no_kubernetes_or_azure_management_sdk(self):
        """Importing function_app (what every cold start pays) loads neither kubernetes nor
        azure.mgmt, nor the JOSE stack of the HTTP trigger (PyJWT, cryptography, requests)."""
        code = (
            "import sys, function_app; "
            "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('kubernetes', 'jwt', 'cryptography', 'requests')"
            " or m.startswith('azure.mgmt') or m.startswith('azure.identity') or m.startswith('azure.monitor'));"
            " print(heavy)"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        assert out.stdout.strip() == "[]"
