"""The composition root: what build() wires from settings, and the dead-letter store it picks."""

from __future__ import annotations

import pytest

from shared.adapters.deadletter import (
    BlobDeadLetterStore,
    DeliveringSink,
    DirectoryDeadLetterStore,
)
from shared.bootstrap import DeadLetters, blob_container, build, load_settings
from shared.core.errors import SettingsError
from shared.settings import StorageSettings

UPLOAD = {
    "LOGS_INGESTION_ENDPOINT": "https://dcr-1.westeurope-1.ingest.monitor.azure.com",
    "LOGS_DCR_IMMUTABLE_ID": "dcr-" + "0" * 32,
    "AZURE_CLIENT_ID": "00000000-0000-0000-0000-0000000000aa",
}
AZURITE = (
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
    "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
    "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;"
)


class TestLoadSettings:
    def test_overrides_apply_and_empty_ones_do_not(self):
        """A command-line value replaces the environment's; None or empty leaves it."""
        env = {"CIS_BENCHMARK": "cis-aks-1.7"}
        assert load_settings(env, CIS_BENCHMARK="cis-aks-1.0").benchmark == "cis-aks-1.0"
        assert load_settings(env, CIS_BENCHMARK=None).benchmark == "cis-aks-1.7"
        assert load_settings(env, CIS_BENCHMARK="").benchmark == "cis-aks-1.7"

    def test_reads_the_process_environment_by_default(self, monkeypatch):
        """Without a mapping, the process environment is read."""
        monkeypatch.setenv("CIS_BENCHMARK", "cis-aks-1.6")
        assert load_settings().benchmark == "cis-aks-1.6"


class TestBuild:
    def test_without_upload_there_is_no_sink_chain(self):
        """No Logs Ingestion settings: no delivery, no sinks, nothing to replay."""
        app = build(load_settings({}), dead_letters=DeadLetters.DIRECTORY)
        try:
            assert (app.delivering, app.sinks, app.replay()) == (None, [], 0)
        finally:
            app.close()

    def test_cli_dead_letters_go_to_the_configured_folder(self, tmp_path):
        """The CLI's chain: Log Analytics behind DEADLETTER_DIR."""
        folder = tmp_path / "letters"
        settings = load_settings({**UPLOAD, "DEADLETTER_DIR": str(folder)})
        app = build(settings, dead_letters=DeadLetters.DIRECTORY)
        try:
            assert isinstance(app.delivering, DeliveringSink)
            assert app.sinks == [app.delivering]
            assert app.replay() == 0
            store = app.delivering._store
            assert isinstance(store, DirectoryDeadLetterStore)
            assert store._dir == folder
        finally:
            app.close()

    def test_functions_dead_letters_need_the_host_storage(self):
        """The Functions chain without AzureWebJobsStorage names what is missing."""
        with pytest.raises(SettingsError, match=r"^AzureWebJobsStorage__accountName: required"):
            build(load_settings(UPLOAD), dead_letters=DeadLetters.BLOB)

    def test_functions_dead_letters_use_the_configured_container(self):
        """DEADLETTER_CONTAINER names the blob container in the host's account."""
        settings = load_settings(
            {**UPLOAD, "AzureWebJobsStorage": AZURITE, "DEADLETTER_CONTAINER": "dl-x"}
        )
        app = build(settings, dead_letters=DeadLetters.BLOB)
        try:
            assert app.delivering is not None
            store = app.delivering._store
            assert isinstance(store, BlobDeadLetterStore)
            assert store._container.container_name == "dl-x"
        finally:
            app.close()


class TestBlobContainer:
    def test_development_storage_shorthand_is_refused(self):
        """UseDevelopmentStorage=true does not say where Azurite listens: a named error."""
        with pytest.raises(SettingsError, match="UseDevelopmentStorage=true is not supported"):
            blob_container(StorageSettings("UseDevelopmentStorage=true"), "dl")

    def test_a_malformed_connection_string_is_named_without_its_value(self):
        """A connection string the SDK cannot read is a SettingsError that does not quote it."""
        with pytest.raises(SettingsError) as caught:
            blob_container(StorageSettings("AccountKey=c2VjcmV0"), "dl")
        assert "c2VjcmV0" not in str(caught.value)

    def test_identity_based_uses_the_blob_endpoint(self):
        """Account endpoint and managed identity: a client for that endpoint and container."""
        storage = StorageSettings(
            blob_service_uri="https://stscanner01.blob.core.windows.net",
            client_id="00000000-0000-0000-0000-0000000000aa",
        )
        client = blob_container(storage, "dl")
        assert client.url == "https://stscanner01.blob.core.windows.net/dl"
