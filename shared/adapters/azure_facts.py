"""The Azure edge of the cluster-scoped controls: the ARM reads shared.core.facts names.

Each read takes the route that costs the fewest calls for a whole tenant:

=======================  ============================================================================
``managedCluster``       no call: discovery already holds the cluster's ARM object
``defenderPricing``      one Resource Graph query (``securityresources``) per chunk of at most 100 of
                         the clusters' subscriptions, paged with its skip token
``registries``           one Resource Graph query (``resources``), at tenant scope (a shared
                         registry often lives in another subscription than its clusters), paged
``roleAssignments``      one Resource Graph query (``authorizationresources``) at tenant scope,
                         limited to management group, subscription, resource group and registry
                         scopes (the only ones that can cover a registry), paged
``roleDefinitions``      one ARM GET per distinct role those assignments use (a handful per tenant:
                         AcrPull, Owner, ...), bounded concurrency; ARM answers built-in and custom
                         definitions alike
``diagnosticSettings``   one ARM GET per cluster (diagnostic settings are not in Resource Graph),
                         bounded concurrency (``ARM_READ_CONCURRENCY``)
=======================  ============================================================================

Resource Graph answers only what the identity may read, so a missing permission shows as a missing
row, not an error: a subscription with no ``Containers`` pricing row, or a registry a role names but
the query did not return, is a ReadFailure naming the action to grant. Every failure is a
ReadFailure in the clusters' Facts (the controls that needed it are ERROR); nothing raises. The
calls go through the ARM pipeline of shared.adapters.arm_rest that discovery uses (the same
credential, endpoint and retry policy: 429 and 5xx are retried, ``Retry-After`` honoured), so no
generated SDK package is imported.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from azure.core.exceptions import AzureError, HttpResponseError

from shared.adapters.azure_arm import ARG_PAGE_SIZE, ARG_SUBSCRIPTION_CHUNK, AzureClients
from shared.adapters.azure_errors import azure_reason
from shared.core.facts import (
    DEFENDER_PRICING,
    DIAGNOSTIC_SETTINGS,
    MANAGED_CLUSTER,
    REGISTRIES,
    ROLE_ASSIGNMENTS,
    ROLE_DEFINITIONS,
    Facts,
    ReadFailure,
)
from shared.core.model import Cluster

log = logging.getLogger(__name__)

ARM_READ_CONCURRENCY = 8
DIAGNOSTIC_SETTINGS_API = "2021-05-01-preview"
ROLE_DEFINITIONS_API = "2022-04-01"
DEADLINE_REASON = "not read: the run's deadline was reached first"

PRICING_QUERY = """securityresources
| where type =~ 'microsoft.security/pricings'
| where name =~ 'Containers'
| project id, name, type, subscriptionId, properties
| order by id asc"""

REGISTRY_QUERY = """resources
| where type =~ 'microsoft.containerregistry/registries'
| project id, name, type, subscriptionId, resourceGroup, location, properties
| order by id asc"""

ROLE_ASSIGNMENT_QUERY = """authorizationresources
| where type =~ 'microsoft.authorization/roleassignments'
| extend scope = tolower(tostring(properties.scope))
| where scope !contains '/providers/' or scope contains '/providers/microsoft.containerregistry/registries/' or scope contains '/providers/microsoft.containerservice/managedclusters/' or scope startswith '/providers/microsoft.management/managementgroups/'
| project id, name, type, properties
| order by id asc"""

_GRAPH_ACTION = "Microsoft.ResourceGraph/resources/read"


def _failure(exc: AzureError, doing: str, action: str, *, graph: bool = True) -> ReadFailure:
    """The ReadFailure of a refused or failed read; a 403 says which action to grant."""
    reason = azure_reason(exc, doing)
    if isinstance(exc, HttpResponseError) and exc.status_code == 403:
        also = f" (and {_GRAPH_ACTION} for Resource Graph)" if graph else ""
        reason = f"grant the scanner {action}{also}: {reason}"
    return ReadFailure(reason)


class AzureClusterFacts:
    """ClusterFactSource over Resource Graph and ARM (see the module docstring)."""

    def __init__(self, clients: AzureClients, concurrency: int = ARM_READ_CONCURRENCY) -> None:
        self._clients = clients
        self._concurrency = concurrency

    def collect(
        self, clusters: Sequence[Cluster], reads: frozenset[str], expired: Callable[[], bool]
    ) -> Iterator[tuple[Cluster, Facts]]:
        """Each cluster with its facts for ``reads``."""
        shared: dict[str, Any] = {}
        failures: dict[str, ReadFailure] = {}
        pricings: dict[str, Any] | ReadFailure = {}
        if DEFENDER_PRICING in reads:
            subscriptions = sorted({c.subscription_id.lower() for c in clusters})
            pricings = self._pricings(subscriptions)
        if reads & {REGISTRIES, ROLE_ASSIGNMENTS, ROLE_DEFINITIONS} and clusters:
            self._registry_reads(shared, failures, clusters[0].subscription_id)
        diagnostics: dict[str, list[Any] | ReadFailure] = {}
        if DIAGNOSTIC_SETTINGS in reads:
            diagnostics = self._diagnostic_settings(clusters, expired)
        for cluster in clusters:
            values = dict(shared)
            own = dict(failures)
            if MANAGED_CLUSTER in reads:
                if cluster.arm is None:
                    own[MANAGED_CLUSTER] = ReadFailure("discovery returned no ARM object for it")
                else:
                    values[MANAGED_CLUSTER] = cluster.arm
            if DEFENDER_PRICING in reads:
                _pricing_of(cluster, pricings, values, own)
            if DIAGNOSTIC_SETTINGS in reads:
                found = diagnostics.get(cluster.resource_id.lower(), ReadFailure(DEADLINE_REASON))
                if isinstance(found, ReadFailure):
                    own[DIAGNOSTIC_SETTINGS] = found
                else:
                    values[DIAGNOSTIC_SETTINGS] = found
            yield cluster, Facts(values, own)

    # -- Resource Graph --------------------------------------------------------------------

    def _graph(self, query: str, subscriptions: list[str] | None) -> list[dict[str, Any]]:
        """Every row of ``query`` (objectArray), following the skip token. Raises AzureError."""
        rows: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            response = self._clients.rest.resource_graph(query, subscriptions, ARG_PAGE_SIZE, token)
            data: object = response.get("data") or []
            if not isinstance(data, list):
                raise HttpResponseError(
                    message="Resource Graph answered a table, not objectArray rows"
                )
            rows.extend(row for row in data if isinstance(row, dict))
            token = response.get("$skipToken") or None
            if not token:
                return rows

    def _pricings(self, subscriptions: list[str]) -> dict[str, Any] | ReadFailure:
        found: dict[str, Any] = {}
        for start in range(0, len(subscriptions), ARG_SUBSCRIPTION_CHUNK):
            chunk = subscriptions[start : start + ARG_SUBSCRIPTION_CHUNK]
            try:
                rows = self._graph(PRICING_QUERY, chunk)
            except AzureError as exc:
                return _failure(
                    exc,
                    "querying Resource Graph for Defender pricings",
                    "Microsoft.Security/pricings/read",
                )
            for row in rows:
                found[str(row.get("subscriptionId", "")).lower()] = row
        return found

    def _registry_reads(
        self, shared: dict[str, Any], failures: dict[str, ReadFailure], default_subscription: str
    ) -> None:
        try:
            shared[REGISTRIES] = self._graph(REGISTRY_QUERY, None)
        except AzureError as exc:
            failures[REGISTRIES] = _failure(
                exc,
                "querying Resource Graph for container registries",
                "Microsoft.ContainerRegistry/registries/read",
            )
        try:
            assignments = self._graph(ROLE_ASSIGNMENT_QUERY, None)
        except AzureError as exc:
            failure = _failure(
                exc,
                "querying Resource Graph for role assignments",
                "Microsoft.Authorization/roleAssignments/read",
            )
            failures[ROLE_ASSIGNMENTS] = failure
            failures[ROLE_DEFINITIONS] = failure
            return
        shared[ROLE_ASSIGNMENTS] = assignments
        definitions = self._role_definitions(assignments, default_subscription)
        if isinstance(definitions, ReadFailure):
            failures[ROLE_DEFINITIONS] = definitions
        else:
            shared[ROLE_DEFINITIONS] = definitions

    # -- ARM GETs --------------------------------------------------------------------------

    def _get(self, subscription_id: str, path: str, api_version: str) -> Any:
        """GET ``path`` on ARM through the scan's ARM pipeline. Raises AzureError."""
        return self._clients.rest.get(path, api_version)

    def _role_definitions(
        self, assignments: list[dict[str, Any]], default_subscription: str
    ) -> dict[str, Any] | ReadFailure:
        """GUID (lower case) -> definition for every role the assignments use; 404s are left out."""
        ids: dict[str, str] = {}
        for row in assignments:
            props = row.get("properties")
            role = props.get("roleDefinitionId") if isinstance(props, dict) else None
            if isinstance(role, str) and role.strip():
                ids.setdefault(role.rstrip("/").rsplit("/", 1)[-1].lower(), role)
        if not ids:
            return {}

        def fetch(item: tuple[str, str]) -> tuple[str, Any]:
            guid, role_id = item
            # Any subscription's client will do: the role id is the whole path.
            subscription = _subscription_in(role_id) or default_subscription
            try:
                return guid, self._get(subscription, role_id, ROLE_DEFINITIONS_API)
            except AzureError as exc:
                if isinstance(exc, HttpResponseError) and exc.status_code == 404:
                    return guid, None  # a deleted custom role: its assignments grant nothing
                return guid, _failure(
                    exc,
                    f"reading the role definition {guid}",
                    "Microsoft.Authorization/roleDefinitions/read",
                    graph=False,
                )

        found: dict[str, Any] = {}
        with ThreadPoolExecutor(self._concurrency, thread_name_prefix="roles") as pool:
            for guid, result in pool.map(fetch, sorted(ids.items())):
                if isinstance(result, ReadFailure):
                    return result
                if result is not None:
                    found[guid] = result
        return found

    def _diagnostic_settings(
        self, clusters: Sequence[Cluster], expired: Callable[[], bool]
    ) -> dict[str, list[Any] | ReadFailure]:
        def fetch(cluster: Cluster) -> tuple[str, list[Any] | ReadFailure]:
            key = cluster.resource_id.lower()
            if expired():
                return key, ReadFailure(DEADLINE_REASON)
            path = f"{cluster.resource_id}/providers/Microsoft.Insights/diagnosticSettings"
            try:
                body = self._get(cluster.subscription_id, path, DIAGNOSTIC_SETTINGS_API)
            except AzureError as exc:
                reason = azure_reason(exc, "reading the cluster's diagnostic settings")
                if isinstance(exc, HttpResponseError) and exc.status_code == 403:
                    reason = (
                        f"grant the scanner Microsoft.Insights/diagnosticSettings/read: {reason}"
                    )
                return key, ReadFailure(reason)
            settings = body.get("value") if isinstance(body, dict) else None
            if not isinstance(settings, list):
                return key, ReadFailure(
                    "the diagnostic settings answer has no 'value' list (not ARM's collection shape)"
                )
            return key, settings

        with ThreadPoolExecutor(self._concurrency, thread_name_prefix="diagnostics") as pool:
            return dict(pool.map(fetch, clusters))


def _subscription_in(resource_id: str) -> str:
    parts = resource_id.strip("/").split("/")
    if len(parts) >= 2 and parts[0].lower() == "subscriptions":
        return parts[1].lower()
    return ""


def _pricing_of(
    cluster: Cluster,
    pricings: dict[str, Any] | ReadFailure,
    values: dict[str, Any],
    failures: dict[str, ReadFailure],
) -> None:
    if isinstance(pricings, ReadFailure):
        failures[DEFENDER_PRICING] = pricings
        return
    row = pricings.get(cluster.subscription_id.lower())
    if row is None:
        failures[DEFENDER_PRICING] = ReadFailure(
            "Resource Graph returned no Microsoft.Security/pricings/Containers row for "
            f"subscription {cluster.subscription_id}; it shows only what the identity may read: "
            "grant the scanner Microsoft.Security/pricings/read there"
        )
        return
    values[DEFENDER_PRICING] = row
