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
        """Subscription ids are lower-cased and de-duplicated in order; spaces around commas go."""
        a = "AAAAAAAA-0000-0000-0000-000000000001"
        s = Settings.from_env({"SCAN_SUBSCRIPTIONS": f"{a}, {a.lower()} ,{a}"})
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
            ({"LOGS_FINDINGS_STREAM": "KubeletFindings"}, "LOGS_FINDINGS_STREAM"),
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
