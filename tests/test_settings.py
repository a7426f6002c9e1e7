"""Settings: defaults, validation, and errors that name the setting."""

from __future__ import annotations

import pytest

from shared.core.errors import SettingsError
from shared.core.model import QpsMode
from shared.settings import DOCUMENTED, Settings

DCR = "dcr-" + "0" * 32


class TestDefaults:
    def test_empty_environment_gives_documented_defaults(self):
        """With nothing set, every value is its documented default and upload is off."""
        s = Settings.from_env({})
        assert s.arm_endpoint == DOCUMENTED["ARM_ENDPOINT"][0]
        assert s.policy.event_record_qps_min == 5
        assert s.policy.event_record_qps_mode is QpsMode.CIS
        assert s.benchmark == "cis-aks-1.8"
        assert not s.logs_enabled

    def test_logs_enabled_with_endpoint_and_rule(self):
        """Both Logs Ingestion settings together enable upload."""
        s = Settings.from_env(
            {
                "LOGS_INGESTION_ENDPOINT": "https://x.ingest.monitor.azure.com",
                "LOGS_DCR_IMMUTABLE_ID": DCR,
            }
        )
        assert s.logs_enabled

    def test_subscriptions_are_normalised(self):
        """Subscription ids are lower-cased and de-duplicated in order."""
        a = "AAAAAAAA-0000-0000-0000-000000000001"
        s = Settings.from_env({"SCAN_SUBSCRIPTIONS": f"{a}, {a.lower()} ,"})
        assert s.subscriptions == (a.lower(),)


class TestErrors:
    @pytest.mark.parametrize(
        ("env", "named"),
        [
            ({"ARM_ENDPOINT": "http://management.azure.com"}, "ARM_ENDPOINT"),
            ({"AZURE_CLIENT_ID": "not-a-guid"}, "AZURE_CLIENT_ID"),
            ({"SCAN_SUBSCRIPTIONS": "abc"}, "SCAN_SUBSCRIPTIONS"),
            ({"EVENT_RECORD_QPS_MIN": "five"}, "EVENT_RECORD_QPS_MIN"),
            ({"EVENT_RECORD_QPS_MIN": "0"}, "EVENT_RECORD_QPS_MIN"),
            ({"EVENT_RECORD_QPS_MODE": "lenient"}, "EVENT_RECORD_QPS_MODE"),
            ({"ALLOW_LOCAL_ACCOUNTS": "maybe"}, "ALLOW_LOCAL_ACCOUNTS"),
            ({"LOGS_INGESTION_ENDPOINT": "https://x.example"}, "LOGS_DCR_IMMUTABLE_ID"),
            ({"LOGS_DCR_IMMUTABLE_ID": DCR}, "LOGS_INGESTION_ENDPOINT"),
            (
                {
                    "LOGS_INGESTION_ENDPOINT": "https://x.example",
                    "LOGS_DCR_IMMUTABLE_ID": "dcr-xyz",
                },
                "LOGS_DCR_IMMUTABLE_ID",
            ),
            ({"LOGS_FINDINGS_STREAM": "AksCisFindings"}, "LOGS_FINDINGS_STREAM"),
            ({"CIS_BENCHMARK": "cis-aks-9.9"}, "CIS_BENCHMARK"),
            ({"SCAN_CONCURRENCY": "0"}, "SCAN_CONCURRENCY"),
            ({"DISCOVERY_MODE": "magic"}, "DISCOVERY_MODE"),
        ],
        ids=lambda v: v if isinstance(v, str) else None,
    )
    def test_bad_value_names_the_setting(self, env, named):
        """A malformed value raises SettingsError whose message starts with the setting's name."""
        with pytest.raises(SettingsError, match=rf"^{named}:"):
            Settings.from_env(env)

    def test_private_cluster_mode_names_the_allowed_values(self):
        """A bad PRIVATE_CLUSTER_MODE names the setting and both values it accepts."""
        with pytest.raises(
            SettingsError, match=r"^PRIVATE_CLUSTER_MODE: 'vpn'.*report, run-command"
        ):
            Settings.from_env({"PRIVATE_CLUSTER_MODE": "vpn"})

    def test_private_cluster_mode_defaults_to_report(self):
        """Unset, private clusters that cannot be reached are reported, never run commands."""
        assert Settings.from_env({}).private_cluster_mode == "report"
        mode = Settings.from_env({"PRIVATE_CLUSTER_MODE": "run-command"}).private_cluster_mode
        assert mode == "run-command"

    def test_every_setting_is_documented(self):
        """Every setting read has a default and a description (the README table mirrors them)."""
        assert all(desc for _, desc in DOCUMENTED.values())


class TestSections:
    def test_default_is_every_section(self):
        """Unset (or all): no selection, so the benchmark's every section is evaluated."""
        assert Settings.from_env({}).sections == ()
        assert Settings.from_env({"CIS_SECTIONS": "ALL"}).sections == ()

    def test_a_list_is_kept_in_order_without_repeats(self):
        """Sections and control ids, comma-separated, spaces allowed, duplicates dropped."""
        s = Settings.from_env({"CIS_SECTIONS": " 3.2, 5.4.1 ,3.2"})
        assert s.sections == ("3.2", "5.4.1")

    @pytest.mark.parametrize(
        ("value", "message"),
        [
            ("3.x", r"^CIS_SECTIONS: '3\.x' is not a CIS section or control id"),
            (",", r"^CIS_SECTIONS: ',' names no section"),
            ("4", r"^CIS_SECTIONS: cis-aks-1\.8 has no section 4 \(its sections: 2\.1, 3\.1"),
            ("0.1", r"^CIS_SECTIONS: '0\.1' is not a CIS section"),
        ],
        ids=["not-an-id", "empty-list", "section-the-benchmark-lacks", "zero"],
    )
    def test_bad_sections_name_the_setting(self, value, message):
        """A malformed list, or a section the benchmark does not have, is refused before any call."""
        with pytest.raises(SettingsError, match=message):
            Settings.from_env({"CIS_SECTIONS": value})

    def test_checked_against_the_selected_benchmark(self):
        """Section 3.1 exists in cis-aks-1.8 but not in cis-k8s-1.12, which says so."""
        Settings.from_env({"CIS_SECTIONS": "3.1"})
        with pytest.raises(SettingsError, match=r"cis-k8s-1\.12 has no section 3\.1"):
            Settings.from_env({"CIS_SECTIONS": "3.1", "CIS_BENCHMARK": "cis-k8s-1.12"})

    def test_the_scanner_evaluates_only_the_selected_sections(self):
        """bootstrap builds the scanner with the selected controls only (the setting's effect)."""
        from shared.bootstrap import DeadLetters, build  # noqa: PLC0415

        app = build(
            Settings.from_env({"CIS_SECTIONS": "3.2,5.4"}),
            dead_letters=DeadLetters.DIRECTORY,
            credential=object(),  # type: ignore[arg-type]  # no call is made while building
        )
        try:
            ids = [c.id for c in app.scanner.benchmark.controls]
        finally:
            app.close()
        assert ids == [f"3.2.{i}" for i in range(1, 10)] + [f"5.4.{i}" for i in range(1, 6)]
