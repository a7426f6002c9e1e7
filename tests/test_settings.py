"""Settings: defaults, validation, and errors that name the setting."""

from __future__ import annotations

import pytest

from shared.core.errors import SettingsError
from shared.core.model import QpsMode
from shared.settings import AZURE_HOST_MARKERS, DOCUMENTED, ApiAuthSettings, Settings

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


class TestHostStorage:
    def test_account_name_gives_the_blob_endpoint(self):
        """An identity-based connection by account name derives the account's blob endpoint."""
        s = Settings.from_env(
            {
                "AzureWebJobsStorage__accountName": "stscanner01",
                "AzureWebJobsStorage__clientId": "00000000-0000-0000-0000-0000000000aa",
            }
        )
        assert s.storage.blob_service_uri == "https://stscanner01.blob.core.windows.net"
        assert s.storage.client_id == "00000000-0000-0000-0000-0000000000aa"

    def test_connection_string_is_never_shown(self):
        """The connection string holds the account key: it is kept, but not in repr()."""
        secret = "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=c2VjcmV0;"
        s = Settings.from_env({"AzureWebJobsStorage": secret})
        assert s.storage.connection_string == secret
        assert "c2VjcmV0" not in repr(s)

    def test_dead_letter_settings(self):
        """DEADLETTER_CONTAINER and DEADLETTER_DIR have their documented defaults and can be set."""
        assert Settings.from_env({}).deadletter_container == DOCUMENTED["DEADLETTER_CONTAINER"][0]
        s = Settings.from_env({"DEADLETTER_CONTAINER": "dl-2", "DEADLETTER_DIR": "/var/dl"})
        assert (s.deadletter_container, s.deadletter_dir) == ("dl-2", "/var/dl")

    @pytest.mark.parametrize(
        ("name", "value"),
        [
            ("DEADLETTER_CONTAINER", "Dead_Letters"),
            ("DEADLETTER_CONTAINER", "dl-"),
            ("AzureWebJobsStorage__blobServiceUri", "http://acct.blob.core.windows.net"),
            ("AzureWebJobsStorage__accountName", "Acct!"),
            ("AzureWebJobsStorage__clientId", "me"),
        ],
        ids=["container-case", "container-hyphen", "blob-http", "account", "client-id"],
    )
    def test_bad_value_names_the_setting(self, name, value):
        """A malformed storage or dead-letter value raises SettingsError naming it."""
        with pytest.raises(SettingsError, match=rf"^{name}:"):
            Settings.from_env({name: value})


class TestDefaultScope:
    def test_unset_is_everything(self):
        """No SCAN_SUBSCRIPTIONS: the default scope is every visible subscription."""
        assert Settings.from_env({}).default_scope.everything

    def test_subscriptions_are_the_default_scope(self):
        """SCAN_SUBSCRIPTIONS becomes the default scope of every trigger."""
        sub = "aaaaaaaa-0000-0000-0000-000000000001"
        assert Settings.from_env({"SCAN_SUBSCRIPTIONS": sub}).default_scope.subscriptions == (sub,)


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


TENANT = "8e1c3a51-6f2d-4c1e-9b7a-2d4f6a8c0e11"
API = "5e3c9a71-8f2d-4b6e-a0c4-7d1e9f2b3a58"
ENTRA = {"SCAN_API_TENANT_ID": TENANT, "SCAN_API_CLIENT_ID": API}


class TestApiAuth:
    def test_entra_is_the_default_and_names_issuer_and_metadata(self):
        """Unset SCAN_API_AUTH means entra; issuer and metadata follow tenant and authority."""
        auth = ApiAuthSettings.from_env(ENTRA)
        assert (auth.mode, auth.role) == ("entra", "Scan.Run")
        assert auth.issuer == f"https://login.microsoftonline.com/{TENANT}/v2.0"
        assert auth.metadata_url == f"{auth.issuer}/.well-known/openid-configuration"

    def test_sovereign_authority_changes_the_issuer(self):
        """SCAN_API_AUTHORITY (a trailing slash dropped) is the issuer's host."""
        auth = ApiAuthSettings.from_env(
            {**ENTRA, "SCAN_API_AUTHORITY": "https://login.microsoftonline.us/"}
        )
        assert auth.issuer == f"https://login.microsoftonline.us/{TENANT}/v2.0"

    def test_a_configured_role_is_the_one_required(self):
        """SCAN_API_ROLE replaces Scan.Run."""
        assert (
            ApiAuthSettings.from_env({**ENTRA, "SCAN_API_ROLE": "Scanner.Run"}).role
            == "Scanner.Run"
        )

    @pytest.mark.parametrize(
        ("env", "named"),
        [
            ({}, "SCAN_API_TENANT_ID"),
            ({"SCAN_API_TENANT_ID": TENANT}, "SCAN_API_CLIENT_ID"),
            ({**ENTRA, "SCAN_API_TENANT_ID": "contoso.onmicrosoft.com"}, "SCAN_API_TENANT_ID"),
            ({**ENTRA, "SCAN_API_CLIENT_ID": "api://scanner"}, "SCAN_API_CLIENT_ID"),
            ({**ENTRA, "SCAN_API_ROLE": "Scan Run"}, "SCAN_API_ROLE"),
            (
                {**ENTRA, "SCAN_API_AUTHORITY": "http://login.microsoftonline.com"},
                "SCAN_API_AUTHORITY",
            ),
            (
                {**ENTRA, "SCAN_API_AUTHORITY": "https://login.microsoftonline.com/common"},
                "SCAN_API_AUTHORITY",
            ),
            ({"SCAN_API_AUTH": "none"}, "SCAN_API_AUTH"),
        ],
        ids=[
            "no-tenant",
            "no-client",
            "tenant-domain",
            "client-uri",
            "role-space",
            "http",
            "path",
            "mode",
        ],
    )
    def test_bad_values_name_the_setting(self, env, named):
        """Each SCAN_API_* error names its setting."""
        with pytest.raises(SettingsError, match=rf"^{named}:"):
            ApiAuthSettings.from_env(env)

    def test_off_locally_needs_nothing_else(self):
        """SCAN_API_AUTH=off without any platform variable: no tenant or client needed."""
        assert ApiAuthSettings.from_env({"SCAN_API_AUTH": "off"}).mode == "off"

    @pytest.mark.parametrize("marker", AZURE_HOST_MARKERS)
    def test_off_is_refused_where_the_platform_shows_azure(self, marker):
        """Any of the platform's variables set: off is refused, naming the variable."""
        with pytest.raises(SettingsError, match=rf"^SCAN_API_AUTH: off .*{marker} is set"):
            ApiAuthSettings.from_env({"SCAN_API_AUTH": "off", marker: "x"})

    def test_container_name_alone_is_not_azure(self):
        """CONTAINER_NAME is set by many container runtimes; alone it does not mean Azure."""
        assert (
            ApiAuthSettings.from_env({"SCAN_API_AUTH": "off", "CONTAINER_NAME": "dev"}).mode
            == "off"
        )

    def test_the_scan_settings_do_not_need_the_api_settings(self):
        """The CLI and the timer read Settings only: an unset tenant does not stop them."""
        assert Settings.from_env({}).benchmark == "cis-aks-1.8"


class TestSections:
    def test_default_is_every_section(self):
        """Unset (or all): no selection, so the benchmark's every section is evaluated."""
        assert Settings.from_env({}).sections == ()
        assert Settings.from_env({"CIS_SECTIONS": "ALL"}).sections == ()

    def test_a_list_is_kept_in_order_without_repeats(self):
        """Sections and control ids, comma-separated, spaces allowed, duplicates dropped."""
        s = Settings.from_env({"CIS_SECTIONS": "3.2, 5.4.1 ,3.2"})
        assert s.sections == ("3.2", "5.4.1")

    @pytest.mark.parametrize(
        ("value", "message"),
        [
            ("3.x", r"^CIS_SECTIONS: '3\.x' is not a CIS section or control id"),
            (",", r"^CIS_SECTIONS: ',' names no section"),
            ("4.3", r"^CIS_SECTIONS: cis-aks-1\.8 has no section 4\.3 \(its sections: 2\.1, 3\.1"),
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
