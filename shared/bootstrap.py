"""The composition root: the environment in, a wired scanner and its whole sink chain out.

This module and shared.settings are the only ones that read the process environment
(``environment``, ``load_settings``), and this is the only module that creates credentials
and SDK clients. Entry points (function_app.py, shared.entrypoints) call ``load_settings`` and
``build``, run, and close what ``build`` returned; nothing at import time touches the network.
Azure SDK modules are imported lazily, so that importing ``function_app`` stays cheap for the
Functions host.

The sink chain: when upload is configured (LOGS_INGESTION_ENDPOINT and LOGS_DCR_IMMUTABLE_ID),
rows go to Log Analytics through ``DeliveringSink``, which keeps what Log Analytics does not
accept in a dead-letter store (blobs in the host's storage account for the Functions app, a
local folder for the CLI) and re-sends it first on the next run.

POST /api/scan's callers: ``load_api_auth`` reads the SCAN_API_* settings and
``token_verifier`` returns the one Entra token verifier of that configuration for the life of
the process (its signing-key cache must outlive a request, or every call would fetch the keys).
PyJWT and cryptography load only then, inside the HTTP handler.
"""

from __future__ import annotations

import enum
import os
import threading
import time
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from shared.core.controls.registry import get_benchmark
from shared.pipeline import Limits, Scanner
from shared.ports import DeadLetterStore, FindingSink, Uploader
from shared.settings import ApiAuthSettings, Settings, StorageSettings

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from azure.storage.blob import ContainerClient

    from shared.adapters.deadletter import DeliveringSink
    from shared.adapters.kube_policy import RequestPolicy
    from shared.core.model import ScanScope
    from shared.ports import SessionFactReader, TokenVerifier


def environment() -> Mapping[str, str]:
    """The process environment: the one place outside shared.settings that reads it."""
    return os.environ


def load_settings(env: Mapping[str, str] | None = None, **overrides: str | None) -> Settings:
    """Validated settings from ``env`` (default: the process environment).

    ``overrides`` (setting name -> value; None or empty leaves the setting as it is) are what a
    person typed on the command line, for example ``CIS_BENCHMARK`` from ``--benchmark``.
    Raises SettingsError naming the setting.
    """
    values = dict(environment() if env is None else env)
    values.update({name: value for name, value in overrides.items() if value})
    return Settings.from_env(values)


def load_api_auth(env: Mapping[str, str] | None = None) -> ApiAuthSettings:
    """How POST /api/scan authenticates, from ``env`` (default: the process environment).

    Raises SettingsError naming the setting (SCAN_API_AUTH=off inside Azure included).
    """
    return ApiAuthSettings.from_env(environment() if env is None else env)


_VERIFIERS: dict[ApiAuthSettings, TokenVerifier] = {}
_VERIFIERS_LOCK = threading.Lock()
#: Configurations kept at once; a process normally has one (tests start many estates).
_VERIFIERS_KEPT = 8


def token_verifier(auth: ApiAuthSettings) -> TokenVerifier:
    """The Entra token verifier of ``auth``, created on first use and kept with its key cache."""
    from shared.adapters.entra_auth import EntraTokenVerifier, SigningKeys  # noqa: PLC0415

    with _VERIFIERS_LOCK:
        verifier = _VERIFIERS.get(auth)
        if verifier is None:
            if len(_VERIFIERS) >= _VERIFIERS_KEPT:
                _VERIFIERS.pop(next(iter(_VERIFIERS)))
            verifier = EntraTokenVerifier(auth, SigningKeys(auth))
            _VERIFIERS[auth] = verifier
        return verifier


class DeadLetters(enum.Enum):
    """Where rows wait when Log Analytics does not accept them."""

    BLOB = "blob"  # the Functions app: DEADLETTER_CONTAINER in the host's storage account
    DIRECTORY = "directory"  # the CLI: DEADLETTER_DIR


@dataclass
class App:
    """A wired scanner, the sink chain its rows go to, and what to close when the run is over."""

    settings: Settings
    scanner: Scanner
    delivering: DeliveringSink | None
    resources: ExitStack = field(default_factory=ExitStack)

    @property
    def log_analytics(self) -> Uploader | None:
        """The Log Analytics uploader behind the chain (None when upload is not configured)."""
        return self.delivering.uploader if self.delivering is not None else None

    @property
    def sinks(self) -> list[FindingSink]:
        """The delivery chain (empty when upload is not configured)."""
        return [self.delivering] if self.delivering is not None else []

    @property
    def default_scope(self) -> ScanScope:
        """The configured scope (SCAN_SUBSCRIPTIONS; everything visible when unset)."""
        return self.settings.default_scope

    def replay(self) -> int:
        """Re-send the rows waiting in the dead-letter store; 0 without upload."""
        return self.delivering.replay() if self.delivering is not None else 0

    def close(self) -> None:
        """Close clients and credentials."""
        self.resources.close()


def build(
    settings: Settings,
    *,
    dead_letters: DeadLetters,
    credential: TokenCredential | None = None,
    deadline_seconds: float | None = None,
    store: DeadLetterStore | None = None,
) -> App:
    """Wire AKS discovery, the connector and the sink chain from settings.

    ``store`` replaces the dead-letter store ``dead_letters`` names (tests pass their own).
    """
    from shared.adapters.azure_arm import AksConnector, AzureClients, AzureDiscovery  # noqa: PLC0415
    from shared.adapters.azure_facts import AzureClusterFacts  # noqa: PLC0415

    resources = ExitStack()
    if credential is None:
        credential = _credential(settings.azure_client_id, resources)
    clients = AzureClients(credential, settings.arm_endpoint)
    resources.callback(clients.close)
    # The run command fallback of private clusters polls until the run's own deadline.
    deadline = time.monotonic() + deadline_seconds if deadline_seconds else None
    connector = AksConnector(
        clients,
        _request_policy(settings),
        allow_local_accounts=settings.allow_local_accounts,
        private_cluster_mode=settings.private_cluster_mode,
        deadline=deadline,
    )
    scanner = Scanner(
        discovery=AzureDiscovery(clients, settings.discovery_mode),
        connector=connector,
        benchmark=get_benchmark(settings.benchmark).select(settings.sections),
        policy=settings.policy,
        limits=Limits(settings.concurrency, settings.cluster_concurrency, deadline_seconds),
        facts=AzureClusterFacts(clients),
        session_facts=_session_objects(settings),
    )
    delivering = _delivery(settings, credential, dead_letters, store, resources)
    return App(settings, scanner, delivering, resources)


def build_for_kubeconfig(settings: Settings, path: str, context: str | None) -> App:
    """Wire a one-cluster scan from a person's kubeconfig (``scan --kubeconfig``)."""
    from shared.adapters.kubeconfig_source import (  # noqa: PLC0415
        KubeconfigConnector,
        KubeconfigDiscovery,
        kubeconfig_cluster,
    )

    cluster = kubeconfig_cluster(path, context)
    resources = ExitStack()
    scanner = Scanner(
        discovery=KubeconfigDiscovery(cluster),
        connector=KubeconfigConnector(path, context, _request_policy(settings)),
        benchmark=get_benchmark(settings.benchmark).select(settings.sections),
        policy=settings.policy,
        limits=Limits(settings.concurrency, settings.cluster_concurrency),
        session_facts=_session_objects(settings),
    )
    delivering = _delivery(settings, None, DeadLetters.DIRECTORY, None, resources)
    return App(settings, scanner, delivering, resources)


def _session_objects(settings: Settings) -> SessionFactReader:
    """Section 4's list reads through each cluster's open session."""
    from shared.adapters.kube_objects import SessionObjects  # noqa: PLC0415

    return SessionObjects(settings.policy)


def _credential(client_id: str, resources: ExitStack) -> TokenCredential:
    """The user-assigned managed identity ``client_id``, else DefaultAzureCredential."""
    from azure.identity import DefaultAzureCredential, ManagedIdentityCredential  # noqa: PLC0415

    credential: TokenCredential
    if client_id:
        # ManagedIdentityCredential does not read AZURE_CLIENT_ID itself: pass it explicitly.
        credential = ManagedIdentityCredential(client_id=client_id)
    else:
        credential = DefaultAzureCredential()
    close = getattr(credential, "close", None)
    if callable(close):
        resources.callback(close)
    return credential


def _delivery(
    settings: Settings,
    credential: TokenCredential | None,
    dead_letters: DeadLetters,
    store: DeadLetterStore | None,
    resources: ExitStack,
) -> DeliveringSink | None:
    """Log Analytics behind the dead-letter store, when upload is configured."""
    from shared.adapters.deadletter import DeliveringSink  # noqa: PLC0415
    from shared.adapters.log_analytics import LogAnalyticsSink  # noqa: PLC0415

    if not settings.logs_enabled:
        return None
    if credential is None:
        credential = _credential(settings.azure_client_id, resources)
    sink = LogAnalyticsSink(
        credential,
        settings.logs_endpoint,
        settings.logs_dcr_id,
        settings.logs_findings_stream,
        settings.logs_runs_stream,
    )
    resources.callback(sink.close)
    if store is None:
        store = _dead_letter_store(settings, dead_letters, resources)
    return DeliveringSink(sink, store, settings.logs_findings_stream, settings.logs_runs_stream)


def _dead_letter_store(
    settings: Settings, dead_letters: DeadLetters, resources: ExitStack
) -> DeadLetterStore:
    from shared.adapters.deadletter import BlobDeadLetterStore, DirectoryDeadLetterStore  # noqa: PLC0415

    if dead_letters is DeadLetters.DIRECTORY:
        return DirectoryDeadLetterStore(Path(settings.deadletter_dir))
    container = blob_container(settings.storage, settings.deadletter_container, resources)
    return BlobDeadLetterStore(container)


def blob_container(
    storage: StorageSettings, name: str, resources: ExitStack | None = None
) -> ContainerClient:
    """The ``ContainerClient`` of container ``name`` in the host's storage account.

    Identity-based (``AzureWebJobsStorage__accountName`` or ``__blobServiceUri``, with the
    managed identity of ``__clientId``) in Azure; a connection string (``AzureWebJobsStorage``)
    locally and for Azurite. SettingsError names what is missing.
    """
    from azure.storage.blob import ContainerClient  # noqa: PLC0415

    from shared.core.errors import SettingsError  # noqa: PLC0415

    if storage.connection_string:
        if storage.connection_string == "UseDevelopmentStorage=true":
            raise SettingsError(
                "AzureWebJobsStorage: UseDevelopmentStorage=true is not supported; give Azurite's "
                "full connection string (with BlobEndpoint) instead"
            )
        try:
            client = ContainerClient.from_connection_string(storage.connection_string, name)
        except ValueError:
            # The SDK's message may quote the string, which holds the account key: not shown.
            raise SettingsError("AzureWebJobsStorage: not a storage connection string") from None
    elif storage.blob_service_uri:
        stack = resources if resources is not None else ExitStack()
        credential = _credential(storage.client_id, stack)
        client = ContainerClient(storage.blob_service_uri, name, credential=credential)
    else:
        raise SettingsError(
            "AzureWebJobsStorage__accountName: required (or AzureWebJobsStorage__blobServiceUri, "
            "or an AzureWebJobsStorage connection string) for the dead-letter store"
        )
    if resources is not None:
        resources.callback(client.close)
    return client


def _request_policy(settings: Settings) -> RequestPolicy:
    """Per-request limits of every API server session, from settings."""
    from shared.adapters.kube_policy import RequestPolicy  # noqa: PLC0415

    return RequestPolicy(
        timeout=settings.request_timeout,
        max_retries=settings.max_retries,
        max_body_bytes=settings.configz_max_bytes,
        pool_size=settings.cluster_concurrency,
    )
