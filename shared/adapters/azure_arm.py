"""The Azure edge: discover AKS clusters and fetch each cluster's user kubeconfig.

Discovery asks Azure Resource Graph first (one query per chunk of subscriptions, paged with its
skip token) and falls back to per-subscription ARM listing where Resource Graph fails
(``DISCOVERY_MODE=auto``). The calls go through ``shared.adapters.arm_rest`` (azure-core's ARM
pipeline, as the generated clients build it, without their import cost); the ARM JSON becomes
``shared.core.model.Cluster`` here and goes no further. The generated container service client
is loaded only for a private cluster's run command fallback.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from azure.core.credentials import TokenCredential
from azure.core.exceptions import AzureError, HttpResponseError

from shared.adapters.arm_rest import ArmRest
from shared.adapters.azure_errors import azure_reason
from shared.adapters.kube_api import KubeSession, token_user
from shared.adapters.kube_policy import RequestPolicy
from shared.adapters.kubeconfig import parse_kubeconfig
from shared.adapters.run_command import PrivateClusterSession

if TYPE_CHECKING:
    from azure.mgmt.containerservice import ContainerServiceClient
from shared.core.errors import CredentialsError, UnsupportedAuthError
from shared.core.identifiers import ClusterId, parse_cluster_id
from shared.core.model import Cluster, ScanScope
from shared.ports import ClusterSession, Discovered, DiscoveryFailure, SubscriptionSearched

log = logging.getLogger(__name__)

AKS_SERVER_SCOPE = "6dae42f8-4368-4678-94ff-3960e28e3630/.default"
ARG_PAGE_SIZE = 1000
ARG_SUBSCRIPTION_CHUNK = 100
ARM_RETRIES = 4

CLUSTER_QUERY = """resources
| where type =~ 'microsoft.containerservice/managedclusters'
| project id, name, subscriptionId, resourceGroup, location, properties
| order by id asc"""


def cluster_from_rest(resource: dict[str, Any]) -> Cluster:
    """A Cluster from the ARM / Resource Graph JSON of a managed cluster."""
    props = resource.get("properties") or {}
    resource_id = str(resource.get("id", ""))
    parsed = parse_cluster_id(resource_id)
    aad = props.get("aadProfile") or {}
    access = props.get("apiServerAccessProfile") or {}
    return Cluster(
        resource_id=resource_id,
        subscription_id=str(
            resource.get("subscriptionId") or (parsed.subscription if parsed else "")
        ).lower(),
        resource_group=str(
            resource.get("resourceGroup") or (parsed.resource_group if parsed else "")
        ),
        name=str(resource.get("name") or (parsed.name if parsed else "")),
        location=str(resource.get("location", "")),
        power_state=str((props.get("powerState") or {}).get("code") or "Running"),
        aad_managed=bool(aad.get("managed")),
        azure_rbac=bool(aad.get("enableAzureRBAC")),
        local_accounts_disabled=bool(props.get("disableLocalAccounts")),
        private_cluster=bool(access.get("enablePrivateCluster")),
        fqdn=str(props.get("fqdn") or ""),
        private_fqdn=str(props.get("privateFQDN") or ""),
        kubernetes_version=str(
            props.get("currentKubernetesVersion") or props.get("kubernetesVersion") or ""
        ),
        run_command_disabled=bool(access.get("disableRunCommand")),
        arm=resource,
    )


def credentials_denied_hint() -> str:
    """A 403 on listClusterUserCredential: the identity lacks that action on the cluster."""
    return (
        "the scanner's identity may not call listClusterUserCredential on this cluster: grant "
        "it Microsoft.ContainerService/managedClusters/listClusterUserCredential/action (the "
        "scanner's custom role in the README's Permissions section)"
    )


class AzureClients:
    """The scan's ARM access on one credential and endpoint: the REST calls (``rest``), and the
    generated container service client per subscription for the run command fallback only."""

    def __init__(self, credential: TokenCredential, arm_endpoint: str) -> None:
        self.credential = credential
        self.arm_endpoint = arm_endpoint
        self.rest = ArmRest(credential, arm_endpoint, retries=ARM_RETRIES)
        self._aks: dict[str, ContainerServiceClient] = {}
        self._lock = threading.Lock()

    def aks(self, subscription_id: str) -> ContainerServiceClient:
        """The managed-clusters client of one subscription (run command), created once."""
        from azure.mgmt.containerservice import ContainerServiceClient  # noqa: PLC0415

        with self._lock:
            client = self._aks.get(subscription_id)
            if client is None:
                client = ContainerServiceClient(
                    self.credential,
                    subscription_id,
                    base_url=self.arm_endpoint,
                    credential_scopes=[f"{self.arm_endpoint}/.default"],
                    retry_total=ARM_RETRIES,
                )
                self._aks[subscription_id] = client
            return client

    def close(self) -> None:
        """Close the pipeline and cached clients."""
        self.rest.close()
        with self._lock:
            for client in self._aks.values():
                client.close()
            self._aks.clear()


class AzureDiscovery:
    """ClusterDiscovery over Resource Graph with per-subscription ARM fallback."""

    def __init__(self, clients: AzureClients, mode: str = "auto") -> None:
        self._clients = clients
        self._mode = mode

    def discover(self, scope: ScanScope) -> Iterator[Discovered]:
        """Clusters in scope; a DiscoveryFailure for each subscription or cluster that failed."""
        if scope.clusters:
            yield from self._explicit(scope.clusters)
            if not scope.subscriptions:
                return
        subscriptions = list(scope.subscriptions)
        if not subscriptions:
            try:
                subscriptions = self._visible_subscriptions()
            except AzureError as exc:
                yield DiscoveryFailure("", azure_reason(exc, "listing subscriptions"))
                return
        explicit = set(scope.clusters)
        for start in range(0, len(subscriptions), ARG_SUBSCRIPTION_CHUNK):
            chunk = subscriptions[start : start + ARG_SUBSCRIPTION_CHUNK]
            for item in self._chunk(chunk):
                if isinstance(item, Cluster) and parse_cluster_id(item.resource_id) in explicit:
                    continue  # already yielded from the explicit list
                yield item

    def _visible_subscriptions(self) -> list[str]:
        return [
            str(s.get("subscriptionId")).lower()
            for s in self._clients.rest.subscriptions()
            if str(s.get("state") or "Enabled") not in ("Disabled", "Deleted")
        ]

    def _chunk(self, subscriptions: list[str]) -> Iterable[Discovered]:
        if self._mode in ("auto", "resource-graph"):
            try:
                return list(self._resource_graph(subscriptions))
            except AzureError as exc:
                reason = azure_reason(exc, "querying Azure Resource Graph")
                if self._mode == "resource-graph":
                    return [DiscoveryFailure(s, reason) for s in subscriptions]
                log.warning(
                    "Resource Graph failed (%s); listing clusters per subscription through ARM",
                    reason,
                )
        return self._arm_listing(subscriptions)

    def _resource_graph(self, subscriptions: list[str]) -> Iterator[Discovered]:
        token: str | None = None
        seen = set()
        while True:
            response = self._clients.rest.resource_graph(
                CLUSTER_QUERY, subscriptions, ARG_PAGE_SIZE, token
            )
            data: object = response.get("data") or []
            if not isinstance(data, list):
                raise HttpResponseError(
                    message="Resource Graph answered a table, not objectArray rows"
                )
            rows: list[dict[str, Any]] = data
            for row in rows:
                cluster = cluster_from_rest(row)
                if cluster.resource_id.lower() in seen:
                    continue  # a page boundary can repeat a row when the estate changes
                seen.add(cluster.resource_id.lower())
                yield cluster
            token = response.get("$skipToken") or None
            if not token:
                break
        for subscription in subscriptions:
            yield SubscriptionSearched(subscription)

    def _arm_listing(self, subscriptions: list[str]) -> Iterator[Discovered]:
        for subscription in subscriptions:
            try:
                clusters = [
                    cluster_from_rest(mc)
                    for mc in self._clients.rest.managed_clusters(subscription)
                ]
            except AzureError as exc:
                yield DiscoveryFailure(subscription, azure_reason(exc, "listing managed clusters"))
                continue
            yield from clusters
            yield SubscriptionSearched(subscription)

    def _explicit(self, cluster_ids: Iterable[ClusterId]) -> Iterator[Discovered]:
        for cluster_id in cluster_ids:
            subscription = cluster_id.subscription
            try:
                mc = self._clients.rest.managed_cluster(
                    subscription, cluster_id.resource_group, cluster_id.name
                )
            except AzureError as exc:
                yield DiscoveryFailure(
                    subscription,
                    azure_reason(exc, "reading the managed cluster"),
                    cluster_id=str(cluster_id),
                )
                continue
            yield cluster_from_rest(mc)


class AksConnector:
    """ClusterConnector: kubeconfig from ARM, token from the same Azure credential.

    A private cluster's session falls back, when its API server gives no answer, to an ERROR
    naming the fix (``private_cluster_mode="report"``) or to the run command API
    (``"run-command"``, bounded by ``deadline``, a ``time.monotonic`` instant); see
    shared.adapters.run_command.
    """

    def __init__(
        self,
        clients: AzureClients,
        policy: RequestPolicy,
        *,
        allow_local_accounts: bool,
        private_cluster_mode: str = "report",
        deadline: float | None = None,
    ) -> None:
        self._clients = clients
        self._policy = policy
        self._allow_local = allow_local_accounts
        self._private_mode = private_cluster_mode
        self._deadline = deadline

    def connect(self, cluster: Cluster) -> ClusterSession:
        """A session to the cluster's API server (with its private-cluster fallback).

        Raises ClusterError subclasses.
        """
        session, token = self._direct(cluster)
        if not cluster.private_cluster:
            return session

        def run_command() -> ClusterSession:
            from shared.adapters.run_command import ArmCommandRunner, RunCommandSession  # noqa: PLC0415

            runner = ArmCommandRunner(
                self._clients.aks(cluster.subscription_id), cluster, token, deadline=self._deadline
            )
            return RunCommandSession(runner, cluster)

        return PrivateClusterSession(cluster, session, self._private_mode, run_command)

    def _direct(self, cluster: Cluster) -> tuple[KubeSession, Callable[[], str] | None]:
        """The API server session, and the AKS token provider when the cluster takes Entra tokens."""
        if not cluster.aad_managed and not self._allow_local:
            raise UnsupportedAuthError(
                "the cluster has no Microsoft Entra ID integration (aadProfile is not set), so it "
                "cannot accept the scanner's managed-identity token; enable AKS-managed Entra ID, "
                "or set ALLOW_LOCAL_ACCOUNTS=true to scan it with its kubeconfig's local account"
            )
        try:
            kubeconfigs = self._clients.rest.cluster_user_kubeconfigs(
                cluster.subscription_id, cluster.resource_group, cluster.name
            )
        except AzureError as exc:
            reason = azure_reason(exc, "calling listClusterUserCredential")
            if isinstance(exc, HttpResponseError) and exc.status_code == 403:
                reason = f"{credentials_denied_hint()}: {reason}"
            raise CredentialsError(reason) from None
        if not kubeconfigs or not kubeconfigs[0]:
            raise CredentialsError("listClusterUserCredential returned no kubeconfig")
        endpoint = parse_kubeconfig(kubeconfigs[0])
        if cluster.aad_managed:
            credential = self._clients.credential

            def token() -> str:
                return credential.get_token(AKS_SERVER_SCOPE).token

            def renewed() -> str:
                # The credential caches tokens and renews them before expiry.
                try:
                    return token()
                except AzureError as exc:
                    raise CredentialsError(
                        azure_reason(exc, "getting an Entra ID token for the AKS server app")
                    ) from None

            first = renewed()
            return KubeSession.for_endpoint(endpoint, self._policy, first, renewed), token
        if not endpoint.has_local_credentials:
            raise UnsupportedAuthError(
                "ALLOW_LOCAL_ACCOUNTS=true, but the cluster's user kubeconfig carries no local "
                "credential (no client certificate or token)"
            )
        return KubeSession.for_endpoint(endpoint, self._policy, user=self._identity()), None

    def _identity(self) -> str:
        """The scanner identity's object id (the ``oid`` of its ARM token, cached by the
        credential), for a local-account session: infra/k8s binds its grants to that user."""
        try:
            arm = self._clients.credential.get_token(f"{self._clients.arm_endpoint}/.default")
        except AzureError:
            return ""
        return token_user(arm.token)
