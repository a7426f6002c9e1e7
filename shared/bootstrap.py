"""The composition root: settings and a credential in, a wired scanner and its sinks out.

Nothing else in the package creates SDK clients; entry points call ``build`` and nothing at
import time touches the network. Azure SDK modules are imported here lazily, so that importing
``function_app`` stays cheap for the Functions host.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from shared.core.controls import get_benchmark
from shared.pipeline import Limits, Scanner
from shared.settings import Settings

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

    from shared.adapters.configz_reader import LoopThread
    from shared.adapters.kube_api import RequestPolicy
    from shared.adapters.log_analytics import LogAnalyticsSink


def make_credential(settings: Settings) -> TokenCredential:
    """The user-assigned managed identity when AZURE_CLIENT_ID is set, else DefaultAzureCredential."""
    from azure.identity import DefaultAzureCredential, ManagedIdentityCredential  # noqa: PLC0415

    if settings.azure_client_id:
        # ManagedIdentityCredential does not read AZURE_CLIENT_ID itself: pass it explicitly.
        return ManagedIdentityCredential(client_id=settings.azure_client_id)
    return DefaultAzureCredential()


@dataclass
class Wired:
    """A scanner and the resources to close when the run is over."""

    scanner: Scanner
    log_analytics: LogAnalyticsSink | None
    resources: ExitStack = field(default_factory=ExitStack)

    def close(self) -> None:
        """Close clients and the credential."""
        self.resources.close()


def build(
    settings: Settings,
    credential: TokenCredential | None = None,
    *,
    deadline_seconds: float | None = None,
) -> Wired:
    """Wire discovery, connector and the Log Analytics sink from settings."""
    from shared.adapters.azure_arm import AksConnector, AzureClients, AzureDiscovery  # noqa: PLC0415

    resources = ExitStack()
    if credential is None:
        credential = make_credential(settings)
        close = getattr(credential, "close", None)
        if callable(close):
            resources.callback(close)
    clients = AzureClients(credential, settings.arm_endpoint)
    resources.callback(clients.close)
    policy = request_policy(settings)
    loop = _configz_loop(resources)
    # The run command fallback of private clusters polls until the run's own deadline.
    deadline = time.monotonic() + deadline_seconds if deadline_seconds else None
    connector = AksConnector(
        clients,
        policy,
        allow_local_accounts=settings.allow_local_accounts,
        private_cluster_mode=settings.private_cluster_mode,
        deadline=deadline,
        loop=loop,
    )
    scanner = Scanner(
        discovery=AzureDiscovery(clients, settings.discovery_mode),
        connector=connector,
        benchmark=get_benchmark(settings.benchmark),
        policy=settings.policy,
        limits=Limits(settings.concurrency, settings.cluster_concurrency, deadline_seconds),
    )
    return Wired(scanner, _log_analytics(settings, credential, resources), resources)


def _log_analytics(
    settings: Settings, credential: TokenCredential | None, resources: ExitStack
) -> LogAnalyticsSink | None:
    """The Log Analytics sink when upload is configured (closed with ``resources``)."""
    from shared.adapters.log_analytics import LogAnalyticsSink  # noqa: PLC0415

    if not settings.logs_enabled:
        return None
    if credential is None:
        credential = make_credential(settings)
        close = getattr(credential, "close", None)
        if callable(close):
            resources.callback(close)
    sink = LogAnalyticsSink(
        credential,
        settings.logs_endpoint,
        settings.logs_dcr_id,
        settings.logs_findings_stream,
        settings.logs_runs_stream,
    )
    resources.callback(sink.close)
    return sink


def build_for_kubeconfig(settings: Settings, path: str, context: str | None) -> Wired:
    """Wire a one-cluster scan from a person's kubeconfig (``scan --kubeconfig``)."""
    from shared.adapters.kubeconfig_source import (  # noqa: PLC0415
        KubeconfigConnector,
        KubeconfigDiscovery,
        kubeconfig_cluster,
    )

    cluster = kubeconfig_cluster(path, context)
    policy = request_policy(settings)
    resources = ExitStack()
    scanner = Scanner(
        discovery=KubeconfigDiscovery(cluster),
        connector=KubeconfigConnector(path, context, policy, _configz_loop(resources)),
        benchmark=get_benchmark(settings.benchmark),
        policy=settings.policy,
        limits=Limits(settings.concurrency, settings.cluster_concurrency),
    )
    return Wired(scanner, _log_analytics(settings, None, resources), resources)


def _configz_loop(resources: ExitStack) -> LoopThread:
    """The one event loop every session of the scan reads configz on (closed with ``resources``)."""
    from shared.adapters.configz_reader import LoopThread  # noqa: PLC0415

    loop = LoopThread()
    resources.callback(loop.close)
    return loop


def request_policy(settings: Settings) -> RequestPolicy:
    """Per-request limits of every API server session, from settings."""
    from shared.adapters.kube_api import RequestPolicy  # noqa: PLC0415

    return RequestPolicy(
        timeout=settings.request_timeout,
        max_retries=settings.max_retries,
        max_body_bytes=settings.configz_max_bytes,
        pool_size=settings.cluster_concurrency,
    )


def settings_from(env: Mapping[str, str]) -> Settings:
    """Settings from an environment mapping (raises SettingsError naming the setting)."""
    return Settings.from_env(env)
