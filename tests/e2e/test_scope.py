"""SCAN_SUBSCRIPTIONS from the command line: the default scope, which --subscription replaces."""

from __future__ import annotations

import json
from pathlib import Path

from shared.entrypoints.cli import main

PROD_SUB = "3c5a7e91-2b4d-4f6a-8c0e-1a2b3c4d5e6f"
DEV_SUB = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"


def scan_json(tmp_path: Path, *argv: str) -> dict[str, object]:
    out = tmp_path / "out.json"
    assert main(["scan", "--format", "json", "--output", str(out), *argv]) == 0
    document: dict[str, object] = json.loads(out.read_text())
    return document


def subscriptions_of(document: dict[str, object]) -> set[str]:
    findings = document["findings"]
    assert isinstance(findings, list)
    return {row["SubscriptionId"] for row in findings}


class TestCommandLineScope:
    def test_unset_scans_every_visible_subscription(self, env, tmp_path):
        """Without SCAN_SUBSCRIPTIONS the scan covers both subscriptions of the estate."""
        assert subscriptions_of(scan_json(tmp_path)) == {PROD_SUB, DEV_SUB}

    def test_setting_is_the_default_scope(self, env, tmp_path, monkeypatch):
        """SCAN_SUBSCRIPTIONS=<prod> scans only the production subscription."""
        monkeypatch.setenv("SCAN_SUBSCRIPTIONS", PROD_SUB)
        document = scan_json(tmp_path)
        assert subscriptions_of(document) == {PROD_SUB}
        run = document["run"]
        assert isinstance(run, dict)
        assert run["Subscriptions"] == 1

    def test_subscription_flag_replaces_the_setting(self, env, tmp_path, monkeypatch):
        """--subscription is the person's choice: it replaces SCAN_SUBSCRIPTIONS, not narrows it."""
        monkeypatch.setenv("SCAN_SUBSCRIPTIONS", PROD_SUB)
        assert subscriptions_of(scan_json(tmp_path, "--subscription", DEV_SUB)) == {DEV_SUB}

    def test_malformed_setting_exits_2_naming_it(self, env, sim, monkeypatch, capsys):
        """A SCAN_SUBSCRIPTIONS entry that is not a GUID stops the run before any call."""
        monkeypatch.setenv("SCAN_SUBSCRIPTIONS", f"{PROD_SUB},not-a-guid")
        before = sim.snapshot()
        assert main(["scan"]) == 2
        assert (
            "SCAN_SUBSCRIPTIONS: 'not-a-guid' is not a subscription id" in capsys.readouterr().err
        )
        assert sim.snapshot() == before
