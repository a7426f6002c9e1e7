"""Azure Resource Manager for the estate: subscriptions, managed clusters, Resource Graph.

Paths and api-versions are the ones the SDKs send (azure-mgmt-subscription 3.1.1 lists with
``2016-06-01``; azure-mgmt-containerservice 41.8.0 uses ``2026-08-01``; azure-mgmt-resourcegraph
8.0.1 posts ``2021-03-01``); any well-formed api-version is accepted, a missing one is the real
400 ``MissingApiVersionParameter``. Paths match case-insensitively, like ARM.

* ``GET /subscriptions`` and ``GET /subscriptions/{id}``: ``{"value": [...], "nextLink"}``
  paged by ``$skiptoken``.
* ``GET /subscriptions/{id}[/resourceGroups/{rg}]/providers/Microsoft.ContainerService/
  managedClusters``: paged by ``nextLink`` (``$skipToken``); ``GET .../managedClusters/{name}``.
* ``POST .../managedClusters/{name}/listClusterUserCredential``:
  ``{"kubeconfigs": [{"name": "clusterUser", "value": <base64 kubeconfig>}]}``; the kubeconfig
  points at the cluster's simulated API server and carries its own CA; Entra clusters get a
  kubelogin ``exec`` user (or ``auth-provider`` with ``format=azure``), others a local-account
  client certificate, key and token. ``listClusterAdminCredential`` is refused when local
  accounts are disabled. Faults on it answer ARM's own 403 ``AuthorizationFailed`` and 404
  ``ResourceNotFound``; ``WRONG_CA`` puts a foreign CA in the kubeconfig and ``REFUSED`` an
  address that refuses connections.
* ``POST .../managedClusters/{name}/runCommand``: 202 with ``Location`` (``.../commandResults/
  {id}``) and ``Retry-After``; ``GET .../commandResults/{id}``: 202 with ``Location`` while the
  command "runs" (``Latency.run_command_ms``), then 200 ``RunCommandResult`` (``id``,
  ``properties.provisioningState/exitCode/startedAt/finishedAt/logs``), as the REST reference
  and its examples show. The command is "run" by sim.runcommand (the scanner's script
  only; logs capped at 512 kB), as the ``clusterToken``'s identity. A body that is not JSON, or
  has no ``command``, is a 400 [I: codes ``InvalidRequestContent`` / ``InvalidParameter`` are
  ARM's usual ones, not captured from AKS]; ``disableRunCommand`` is a 400 ``BadRequest`` [I:
  wording not captured]; ``run_command_allowed=False`` the real 403 ``AuthorizationFailed``.
* ``POST /providers/Microsoft.ResourceGraph/resources``: ``QueryResponse`` with ``totalRecords``,
  ``count``, ``resultTruncated``, ``$skipToken``, ``data`` (objectArray or table), ``facets``.
  Tables: ``resources`` (managed clusters; container registries in the shape of
  azure-rest-api-specs ``specification/containerregistry/resource-manager/
  Microsoft.ContainerRegistry/Registry/stable/2025-04-01/examples/RegistryGet.json``),
  ``securityresources`` (the ``Containers`` pricing of each subscription whose pricings the
  identity may read, shaped as ``specification/security/resource-manager/Microsoft.Security/
  stable/2024-01-01/examples/Pricings/ListPricings_example.json``: ``isEnabled`` is the string
  ``"True"``/``"False"``) and ``authorizationresources`` (role assignments, shaped as
  ``specification/authorization/resource-manager/Microsoft.Authorization/stable/2022-04-01/
  examples/RoleAssignments_Get.json``). Faults on the last two have their own endpoints.
* ``GET .../managedClusters/{name}/providers/Microsoft.Insights/diagnosticSettings``:
  ``{"value": [...]}`` without ``nextLink`` (the collection is not pageable), shaped as
  ``specification/monitor/resource-manager/Microsoft.Insights/preview/2021-05-01-preview/
  examples/listDiagnosticSettings.json``; a cluster with ``diagnostics_readable=False`` answers
  ARM's 403 ``AuthorizationFailed`` naming ``Microsoft.Insights/diagnosticSettings/read``.
* ``GET [/subscriptions/{id}]/providers/Microsoft.Authorization/roleDefinitions/{guid}``: the
  built-in roles the estate assigns (``GetRoleDefinitionById.json`` of 2022-04-01); an unknown
  GUID is a 404 ``RoleDefinitionDoesNotExist`` [I: the code ARM gives, wording not captured].
* Managed clusters carry what the cluster-scoped controls read: ``identityProfile``
  (kubelet identity), ``networkProfile.networkPolicy`` (absent when unset),
  ``apiServerAccessProfile.authorizedIPRanges`` / ``enablePrivateClusterPublicFQDN``,
  ``securityProfile`` (``defender``, ``azureKeyVaultKms``; 2025-10-01
  ``ManagedClustersCreate_SecurityProfile.json``) and pools' ``enableNodePublicIP``.

Every call needs a bearer token whose audience is this ARM endpoint (as the client addressed
it, with or without the trailing slash) or the public ARM audiences. Errors use ARM's
``{"error": {"code", "message"}}`` with the real codes (AuthenticationFailed,
InvalidAuthenticationTokenAudience, ExpiredAuthenticationToken, AuthorizationFailed,
SubscriptionNotFound, ResourceGroupNotFound, ResourceNotFound, SubscriptionRequestsThrottled).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import json
import logging
import math
import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import trustme
import yaml

from sim.estate import (
    AKS_SERVER_APP_ID,
    BUILT_IN_DATA_ACTIONS,
    BUILT_IN_ROLES,
    Estate,
    Registry,
    RoleAssignment,
    SimCluster,
    Subscription,
    cluster_resource_id,
    registry_resource_id,
    stable_guid,
)
from sim.faults import Action, Endpoint, Fault, FaultRegistry, resolve
from sim.http import SERVER_ERROR_CODES, Reply, Request, Response
from sim.identity import Claims, TokenAuthority, TokenError, bearer_token
from sim.resource_graph import (
    UnsupportedQueryError,
    as_table,
    run_query,
    superset,
    table_of,
    type_of,
)
from sim.runcommand import Execution, execute
from sim.stats import Counters

log = logging.getLogger(__name__)

PUBLIC_ARM_AUDIENCES = (
    "https://management.azure.com",
    "https://management.core.windows.net",
)
KUBELOGIN_CLIENT_ID = "80faf920-1908-4b52-b5ef-a8e7bedfc67a"
_API_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}(-preview)?$")
_CONTAINER_SERVICE = ("providers", "microsoft.containerservice", "managedclusters")
_ROLE_DEFINITIONS = ("providers", "microsoft.authorization", "roledefinitions")
_OWN_FAULTS = frozenset(
    {"credentials", "run-command", "command-result", "role-definition", "diagnostic-settings"}
)
_DIAGNOSTIC_SETTINGS = ("providers", "microsoft.insights", "diagnosticsettings")
#: Resource Graph tables with an endpoint of their own in the fault registry.
_GRAPH_ENDPOINTS = {
    "securityresources": Endpoint.SECURITY_RESOURCES,
    "authorizationresources": Endpoint.AUTHORIZATION_RESOURCES,
}


def _graph_endpoint(request: Request) -> Endpoint:
    """The fault endpoint of a Resource Graph query: its table's, or RESOURCE_GRAPH."""
    try:
        body = json.loads(request.body or b"null")
    except ValueError:
        return Endpoint.RESOURCE_GRAPH
    query = body.get("query") if isinstance(body, dict) else None
    if not isinstance(query, str):
        return Endpoint.RESOURCE_GRAPH
    return _GRAPH_ENDPOINTS.get(table_of(query), Endpoint.RESOURCE_GRAPH)


@dataclass(frozen=True, slots=True)
class KubeAccess:
    """Where a cluster's API server listens and what its user kubeconfig carries."""

    server: str
    ca_pem: bytes
    client_cert_pem: bytes
    client_key_pem: bytes
    static_token: str


@dataclass(slots=True)
class _Call:
    """What one request addresses; filled in as routing learns it (for the counters)."""

    request: Request
    endpoint: str = ""
    cluster: str = ""
    segments: list[str] = field(default_factory=list)
    raw: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.raw = [s for s in self.request.path.split("/") if s]
        self.segments = [s.lower() for s in self.raw]
        graph = self.segments[:3] == ["providers", "microsoft.resourcegraph", "resources"]
        self.endpoint = str(Endpoint.RESOURCE_GRAPH if graph else Endpoint.ARM)


@dataclass(frozen=True, slots=True)
class _Route:
    kind: str
    subscription: Subscription | None = None
    clusters: tuple[SimCluster, ...] = ()
    cluster: SimCluster | None = None
    admin: bool = False
    command_id: str = ""


@dataclass(frozen=True, slots=True)
class _Command:
    """A submitted run command: its output is computed at submission, shown once it is "done"."""

    cluster: str
    ready_at: float
    started: str
    execution: Execution


def _require(request: Request, method: str) -> None:
    if request.method != method:
        raise Reply(
            _arm_error(
                405,
                "MethodNotAllowed",
                f"The requested resource does not support http method '{request.method}'.",
            )
        )


def _arm_error(
    status: int, code: str, message: str, headers: list[tuple[str, str]] | None = None
) -> Response:
    body = json.dumps({"error": {"code": code, "message": message}}, separators=(",", ":"))
    return Response(status, body.encode(), "application/json; charset=utf-8", headers or [])


def _encode_offset(offset: int, salt: str = "") -> str:
    raw = json.dumps({"o": offset, "s": salt}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _decode_offset(token: str, salt: str = "") -> int | None:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError):
        return None
    if not isinstance(data, dict) or data.get("s") != salt:
        return None
    offset = data.get("o")
    return offset if isinstance(offset, int) and offset >= 0 else None


def managed_cluster_json(
    estate: Estate, subscription: Subscription, cluster: SimCluster
) -> dict[str, Any]:
    """The ARM REST representation of a managed cluster (api-version 2026-08-01 shape)."""
    dns_prefix = f"{cluster.name}-dns"
    suffix = stable_guid(cluster.name, "fqdn")[:8]
    fqdn = f"{dns_prefix}-{suffix}.hcp.{cluster.location}.azmk8s.io"
    pools = []
    for pool in cluster.pools:
        pools.append(
            {
                "name": pool.name,
                "count": pool.count,
                "vmSize": pool.vm_size,
                "osDiskSizeGB": 128,
                "osDiskType": "Managed",
                "kubeletDiskType": "OS",
                "maxPods": max_pods
                if isinstance(max_pods := pool.configz.get("maxPods"), int)
                else 110,
                "type": "VirtualMachineScaleSets",
                "enableAutoScaling": False,
                "scaleDownMode": "Delete",
                "provisioningState": "Succeeded",
                "powerState": {"code": cluster.power_state},
                "orchestratorVersion": cluster.kubernetes_version,
                "currentOrchestratorVersion": pool.kubelet_version.lstrip("v"),
                "enableNodePublicIP": pool.node_public_ip,
                "mode": pool.mode,
                "osType": "Linux",
                "osSKU": pool.os_sku,
                "nodeImageVersion": pool.node_image_version,
                "upgradeSettings": {"maxSurge": "10%"},
                "enableFIPS": False,
                "securityProfile": {"enableVTPM": False, "enableSecureBoot": False},
            }
        )
    properties: dict[str, Any] = {
        "provisioningState": "Succeeded",
        "powerState": {"code": cluster.power_state},
        "kubernetesVersion": cluster.kubernetes_version,
        "currentKubernetesVersion": cluster.kubernetes_version,
        "dnsPrefix": dns_prefix,
        "fqdn": fqdn,
        "azurePortalFQDN": f"{dns_prefix}-{suffix}.portal.hcp.{cluster.location}.azmk8s.io",
        "agentPoolProfiles": pools,
        "servicePrincipalProfile": {"clientId": "msi"},
        "addonProfiles": {},
        "nodeResourceGroup": f"MC_{cluster.resource_group}_{cluster.name}_{cluster.location}",
        "enableRBAC": True,
        "supportPlan": "KubernetesOfficial",
        "networkProfile": {
            "networkPlugin": "azure",
            "networkPluginMode": "overlay",
            **({"networkPolicy": cluster.network_policy} if cluster.network_policy else {}),
            **({"networkDataplane": "cilium"} if cluster.network_policy == "cilium" else {}),
            "loadBalancerSku": "standard",
            "podCidr": "10.244.0.0/16",
            "serviceCidr": "10.0.0.0/16",
            "dnsServiceIP": "10.0.0.10",
            "outboundType": "loadBalancer",
            "podCidrs": ["10.244.0.0/16"],
            "serviceCidrs": ["10.0.0.0/16"],
            "ipFamilies": ["IPv4"],
        },
        "maxAgentPools": 100,
        "apiServerAccessProfile": {
            "enablePrivateCluster": cluster.private_cluster,
            **(
                {"enablePrivateClusterPublicFQDN": cluster.public_fqdn}
                if cluster.private_cluster
                else {}
            ),
            **(
                {"authorizedIPRanges": list(cluster.authorized_ip_ranges)}
                if cluster.authorized_ip_ranges
                else {}
            ),
            **({"disableRunCommand": True} if cluster.run_command_disabled else {}),
        },
        "disableLocalAccounts": cluster.local_accounts_disabled,
        "securityProfile": _security_profile(subscription, cluster),
        "identityProfile": {
            "kubeletidentity": {
                "resourceId": (
                    f"/subscriptions/{subscription.id}/resourcegroups/MC_{cluster.resource_group}_"
                    f"{cluster.name}_{cluster.location}/providers/Microsoft.ManagedIdentity/"
                    f"userAssignedIdentities/{cluster.name}-agentpool"
                ),
                "clientId": stable_guid(cluster.name, "kubelet-client"),
                "objectId": cluster.kubelet_identity,
            }
        },
        "storageProfile": {
            "diskCSIDriver": {"enabled": True},
            "fileCSIDriver": {"enabled": True},
            "snapshotController": {"enabled": True},
        },
        "oidcIssuerProfile": {"enabled": False},
        "workloadAutoScalerProfile": {},
        "resourceUID": stable_guid(cluster.name, "uid").replace("-", "")[:24],
        "nodeProvisioningProfile": {"mode": "Manual"},
        "bootstrapProfile": {"artifactSource": "Direct"},
    }
    if cluster.private_cluster:
        properties["privateFQDN"] = (
            f"{dns_prefix}-{suffix}.privatelink.{cluster.location}.azmk8s.io"
        )
    if cluster.aad_managed:
        properties["aadProfile"] = {
            "managed": True,
            "adminGroupObjectIDs": [stable_guid(cluster.name, "admins")],
            "enableAzureRBAC": cluster.azure_rbac,
            "tenantID": estate.tenant_id,
        }
    return {
        "id": cluster_resource_id(subscription.id, cluster),
        "location": cluster.location,
        "name": cluster.name,
        "type": "Microsoft.ContainerService/ManagedClusters",
        "tags": dict(cluster.tags),
        "sku": {"name": "Base", "tier": "Standard"},
        "kind": "Base",
        "identity": {
            "type": "SystemAssigned",
            "principalId": stable_guid(cluster.name, "cluster-identity"),
            "tenantId": estate.tenant_id,
        },
        "properties": properties,
    }


def _security_profile(subscription: Subscription, cluster: SimCluster) -> dict[str, Any]:
    """``securityProfile`` (2025-10-01 ManagedClustersCreate_SecurityProfile.json shape)."""
    profile: dict[str, Any] = {}
    if subscription.defender.tier == "Standard":
        profile["defender"] = {
            "logAnalyticsWorkspaceResourceId": (
                f"/subscriptions/{subscription.id}/resourcegroups/DefaultResourceGroup-WEU/"
                "providers/microsoft.operationalinsights/workspaces/DefaultWorkspace-WEU"
            ),
            "securityMonitoring": {"enabled": True},
        }
    if cluster.kms:
        profile["azureKeyVaultKms"] = {
            "enabled": True,
            "keyId": f"https://kv-{cluster.name}.vault.azure.net/keys/etcd/{stable_guid(cluster.name, 'kms')[:32].replace('-', '')}",
            "keyVaultNetworkAccess": "Public",
        }
    return profile


def diagnostic_settings_json(subscription: Subscription, cluster: SimCluster) -> dict[str, Any]:
    """``GET {cluster}/providers/Microsoft.Insights/diagnosticSettings`` (2021-05-01-preview
    listDiagnosticSettings.json shape: ``value``, no nextLink)."""
    cluster_id = cluster_resource_id(subscription.id, cluster)
    workspace = (
        f"/subscriptions/{subscription.id}/resourceGroups/rg-monitoring/providers/"
        "Microsoft.OperationalInsights/workspaces/law-aks"
    )
    value = []
    for setting in cluster.diagnostic_settings:
        logs = []
        for name, enabled in setting.logs:
            key = ("categoryGroup", name[6:]) if name.startswith("group:") else ("category", name)
            logs.append(
                {
                    key[0]: key[1],
                    "enabled": enabled,
                    "retentionPolicy": {"enabled": False, "days": 0},
                }
            )
        value.append(
            {
                "id": f"{cluster_id}/providers/microsoft.insights/diagnosticSettings/{setting.name}",
                "type": "Microsoft.Insights/diagnosticSettings",
                "name": setting.name,
                "location": cluster.location,
                "properties": {
                    **({"workspaceId": workspace} if setting.workspace else {}),
                    "logAnalyticsDestinationType": "Dedicated",
                    "metrics": [],
                    "logs": logs,
                },
            }
        )
    return {"value": value}


def registry_row(estate: Estate, subscription: Subscription, registry: Registry) -> dict[str, Any]:
    """A ``resources`` row of a container registry (2025-04-01 RegistryGet.json properties)."""
    return {
        "id": registry_resource_id(subscription.id, registry),
        "name": registry.name,
        "type": "microsoft.containerregistry/registries",
        "tenantId": estate.tenant_id,
        "kind": "",
        "location": registry.location,
        "resourceGroup": registry.resource_group.lower(),
        "subscriptionId": subscription.id,
        "sku": {"name": registry.sku, "tier": registry.sku},
        "properties": {
            "loginServer": f"{registry.name}.azurecr.io",
            "creationDate": "2025-06-15T21:38:26.1537861Z",
            "provisioningState": "Succeeded",
            "adminUserEnabled": registry.admin_user,
            "networkRuleSet": {"defaultAction": "Allow", "ipRules": []},
            "policies": {
                "quarantinePolicy": {"status": "disabled"},
                "trustPolicy": {"type": "Notary", "status": "disabled"},
                "retentionPolicy": {"days": 7, "status": "disabled"},
                "exportPolicy": {"status": "enabled"},
                "azureADAuthenticationAsArmPolicy": {"status": "enabled"},
            },
            "encryption": {"status": "disabled"},
            "dataEndpointEnabled": False,
            "dataEndpointHostNames": [],
            "privateEndpointConnections": [],
            "publicNetworkAccess": "Enabled",
            "networkRuleBypassOptions": "AzureServices",
            "zoneRedundancy": "Disabled",
            "anonymousPullEnabled": False,
        },
        "tags": {},
    }


def role_definition_json(guid: str, scope: str = "") -> dict[str, Any] | None:
    """A built-in role definition as ARM returns it (2022-04-01 GetRoleDefinitionById.json)."""
    known = BUILT_IN_ROLES.get(guid.lower())
    if known is None:
        return None
    name, actions, not_actions = known
    return {
        "id": f"{scope}/providers/Microsoft.Authorization/roleDefinitions/{guid.lower()}",
        "type": "Microsoft.Authorization/roleDefinitions",
        "name": guid.lower(),
        "properties": {
            "roleName": name,
            "type": "BuiltInRole",
            "description": f"{name} (simulated built-in role)",
            "assignableScopes": ["/"],
            "permissions": [
                {
                    "actions": list(actions),
                    "notActions": list(not_actions),
                    "dataActions": list(BUILT_IN_DATA_ACTIONS.get(guid.lower(), ())),
                    "notDataActions": [],
                }
            ],
        },
    }


def role_assignment_row(
    estate: Estate, subscription: Subscription, assignment: RoleAssignment
) -> dict[str, Any]:
    """An ``authorizationresources`` row of a role assignment (2022-04-01 RoleAssignments_Get)."""
    name = stable_guid(assignment.principal_id, assignment.role, assignment.scope.lower())
    return {
        "id": f"{assignment.scope}/providers/Microsoft.Authorization/roleAssignments/{name}",
        "name": name,
        "type": "microsoft.authorization/roleassignments",
        "tenantId": estate.tenant_id,
        "subscriptionId": subscription.id,
        "resourceGroup": "",
        "properties": {
            "roleDefinitionId": (
                f"/subscriptions/{subscription.id}/providers/Microsoft.Authorization/"
                f"roleDefinitions/{assignment.role}"
            ),
            "principalId": assignment.principal_id,
            "principalType": assignment.principal_type,
            "scope": assignment.scope,
            "createdOn": "2025-06-01T10:00:00.0000000Z",
            "updatedOn": "2025-06-01T10:00:00.0000000Z",
        },
    }


def pricing_row(estate: Estate, subscription: Subscription) -> dict[str, Any]:
    """A ``securityresources`` row of the Containers plan (2024-01-01 ListPricings_example.json)."""
    plan = subscription.defender
    properties: dict[str, Any] = {
        "pricingTier": plan.tier,
        "freeTrialRemainingTime": "PT0S",
        "enforce": "False",
        "resourcesCoverageStatus": "FullyCovered" if plan.tier == "Standard" else "NotCovered",
    }
    if plan.tier == "Standard":
        properties["enablementTime"] = "2025-03-01T12:42:42.1921106Z"
        properties["extensions"] = [
            {
                "name": "ContainerRegistriesVulnerabilityAssessments",
                "isEnabled": "True" if plan.vulnerability_assessment else "False",
            }
        ]
    return {
        "id": f"/subscriptions/{subscription.id}/providers/Microsoft.Security/pricings/Containers",
        "name": "Containers",
        "type": "microsoft.security/pricings",
        "tenantId": estate.tenant_id,
        "subscriptionId": subscription.id,
        "resourceGroup": "",
        "properties": properties,
    }


def resource_graph_row(
    estate: Estate, subscription: Subscription, cluster: SimCluster
) -> dict[str, Any]:
    """A ``resources`` table row for a managed cluster (ARG lower-cases type and group)."""
    arm = managed_cluster_json(estate, subscription, cluster)
    return {
        "id": arm["id"],
        "name": arm["name"],
        "type": "microsoft.containerservice/managedclusters",
        "tenantId": estate.tenant_id,
        "kind": arm["kind"],
        "location": arm["location"],
        "resourceGroup": cluster.resource_group.lower(),
        "subscriptionId": subscription.id,
        "managedBy": "",
        "sku": arm["sku"],
        "plan": None,
        "properties": arm["properties"],
        "tags": arm["tags"],
        "identity": arm["identity"],
        "zones": None,
        "extendedLocation": None,
    }


def user_kubeconfig(
    estate: Estate,
    cluster: SimCluster,
    access: KubeAccess,
    *,
    admin: bool = False,
    kubeconfig_format: str | None = None,
) -> bytes:
    """The kubeconfig listClusterUserCredential (or ...AdminCredential) returns, as YAML."""
    role = "clusterAdmin" if admin else "clusterUser"
    user_name = f"{role}_{cluster.resource_group}_{cluster.name}"
    context = f"{cluster.name}-admin" if admin else cluster.name
    user: dict[str, Any]
    if cluster.aad_managed and not admin:
        if kubeconfig_format is not None and kubeconfig_format.lower() == "azure":
            user = {
                "auth-provider": {
                    "config": {
                        "apiserver-id": AKS_SERVER_APP_ID,
                        "client-id": KUBELOGIN_CLIENT_ID,
                        "config-mode": "1",
                        "environment": "AzurePublicCloud",
                        "tenant-id": estate.tenant_id,
                    },
                    "name": "azure",
                }
            }
        else:
            user = {
                "exec": {
                    "apiVersion": "client.authentication.k8s.io/v1beta1",
                    "args": [
                        "get-token",
                        "--environment",
                        "AzurePublicCloud",
                        "--server-id",
                        AKS_SERVER_APP_ID,
                        "--client-id",
                        KUBELOGIN_CLIENT_ID,
                        "--tenant-id",
                        estate.tenant_id,
                        "--login",
                        "devicecode",
                    ],
                    "command": "kubelogin",
                    "env": None,
                    "installHint": (
                        "\nkubelogin is not installed which is required to connect to AAD enabled "
                        "cluster.\n\nTo learn more, please go to https://aka.ms/aks/kubelogin\n"
                    ),
                    "interactiveMode": "IfAvailable",
                    "provideClusterInfo": False,
                }
            }
    else:
        user = {
            "client-certificate-data": base64.b64encode(access.client_cert_pem).decode(),
            "client-key-data": base64.b64encode(access.client_key_pem).decode(),
            "token": access.static_token,
        }
    document = {
        "apiVersion": "v1",
        "clusters": [
            {
                "cluster": {
                    "certificate-authority-data": base64.b64encode(access.ca_pem).decode(),
                    "server": access.server,
                },
                "name": cluster.name,
            }
        ],
        "contexts": [{"context": {"cluster": cluster.name, "user": user_name}, "name": context}],
        "current-context": context,
        "kind": "Config",
        "preferences": {},
        "users": [{"name": user_name, "user": user}],
    }
    return yaml.safe_dump(document, sort_keys=False, default_flow_style=False).encode()


class ArmService:
    """Request handler for the simulated ARM endpoint (including Resource Graph)."""

    def __init__(
        self,
        estate: Estate,
        authority: TokenAuthority,
        access: Mapping[str, KubeAccess],
        faults: FaultRegistry,
        counters: Counters,
        *,
        refused_server: str = "https://127.0.0.1:1",
    ) -> None:
        self._estate = estate
        self._authority = authority
        self._access = access
        self._faults = faults
        self._counters = counters
        self._refused_server = refused_server
        self._foreign_ca_pem: bytes | None = None
        self.port = 0
        self._subscriptions = {s.id.lower(): s for s in estate.subscriptions}
        self._commands: dict[str, _Command] = {}

    # -- entry ----------------------------------------------------------------------------

    async def handle(self, request: Request) -> Response:
        """Answer one ARM request."""
        call = _Call(request)
        try:
            response = await self._dispatch(request, call)
        except Reply as reply:
            response = reply.response
        self._counters.add(call.endpoint, call.cluster, response.status)
        if not response.drop:
            response.headers.extend(self._standard_headers(request))
        return response

    def _standard_headers(self, request: Request) -> list[tuple[str, str]]:
        request_id = str(uuid.uuid4())
        return [
            ("Cache-Control", "no-cache"),
            ("Pragma", "no-cache"),
            ("Expires", "-1"),
            ("x-ms-request-id", request_id),
            (
                "x-ms-correlation-request-id",
                request.headers.get("x-ms-correlation-request-id", request_id),
            ),
            (
                "x-ms-routing-request-id",
                f"WESTEUROPE:{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}:{request_id}",
            ),
            ("Strict-Transport-Security", "max-age=31536000; includeSubDomains"),
            ("X-Content-Type-Options", "nosniff"),
        ]

    async def _dispatch(self, request: Request, call: _Call) -> Response:
        claims = self._authenticate(request)
        self._check_api_version(request)
        await _sleep_ms(self._estate.latency.arm_ms)
        if call.endpoint == Endpoint.RESOURCE_GRAPH:
            _require(request, "POST")
            endpoint = _graph_endpoint(request)
            call.endpoint = str(endpoint)
            await self._fault(endpoint, self._resource_graph_fault)
            return self._resource_graph(request)
        route = self._route(call, claims)
        sub_id = route.subscription.id if route.subscription is not None else None
        if route.kind in _OWN_FAULTS:
            return await self._own_faults(request, route, claims)
        await self._fault(
            Endpoint.ARM,
            lambda f: self._arm_fault(f, sub_id),
            subscription=sub_id,
            cluster=call.cluster or None,
        )
        if route.kind == "subscriptions":
            return self._list_subscriptions(request)
        assert route.subscription is not None  # noqa: S101 - every other route names one
        if route.kind == "subscription":
            return self._json(200, self._subscription_json(route.subscription))
        if route.kind == "clusters":
            return self._list_clusters(request, route.clusters)
        assert route.cluster is not None  # noqa: S101 - the last kind is "cluster"
        return self._json(
            200, managed_cluster_json(self._estate, route.subscription, route.cluster)
        )

    def _route(self, call: _Call, claims: Claims) -> _Route:
        seg, raw, request = call.segments, call.raw, call.request
        if len(seg) == 4 and tuple(seg[:3]) == _ROLE_DEFINITIONS:
            _require(request, "GET")
            call.endpoint = str(Endpoint.ROLE_DEFINITION)
            return _Route("role-definition", command_id=raw[3])
        if not seg or seg[0] != "subscriptions":
            raise Reply(self._no_route(request))
        if len(seg) == 1:
            _require(request, "GET")
            return _Route("subscriptions")
        subscription = self._subscriptions.get(seg[1])
        if subscription is None:
            raise Reply(
                _arm_error(
                    404, "SubscriptionNotFound", f"The subscription '{raw[1]}' could not be found."
                )
            )
        scope = f"/subscriptions/{subscription.id}"
        if len(seg) == 2:
            if not subscription.accessible:
                raise Reply(self._denied(claims, "Microsoft.Resources/subscriptions/read", scope))
            _require(request, "GET")
            return _Route("subscription", subscription)
        if len(seg) == 6 and tuple(seg[2:5]) == _ROLE_DEFINITIONS:
            _require(request, "GET")
            call.endpoint = str(Endpoint.ROLE_DEFINITION)
            return _Route("role-definition", subscription, command_id=raw[5])
        if not subscription.accessible:
            raise Reply(
                self._denied(claims, "Microsoft.ContainerService/managedClusters/read", scope)
            )
        if tuple(seg[2:]) == _CONTAINER_SERVICE:
            _require(request, "GET")
            return _Route("clusters", subscription, clusters=tuple(subscription.clusters))
        return self._group_route(call, subscription)

    def _group_route(self, call: _Call, subscription: Subscription) -> _Route:
        seg, raw, request = call.segments, call.raw, call.request
        if len(seg) < 7 or seg[2] != "resourcegroups" or tuple(seg[4:7]) != _CONTAINER_SERVICE:
            raise Reply(self._no_route(request))
        in_group = tuple(c for c in subscription.clusters if c.resource_group.lower() == seg[3])
        if not in_group:
            raise Reply(
                _arm_error(
                    404, "ResourceGroupNotFound", f"Resource group '{raw[3]}' could not be found."
                )
            )
        if len(seg) == 7:
            _require(request, "GET")
            return _Route("clusters", subscription, clusters=in_group)
        cluster = next((c for c in in_group if c.name.lower() == seg[7]), None)
        if cluster is None:
            raise Reply(
                _arm_error(
                    404,
                    "ResourceNotFound",
                    f"The Resource 'Microsoft.ContainerService/managedClusters/{raw[7]}' under resource "
                    f"group '{raw[3]}' was not found. For more details please go to "
                    "https://aka.ms/ARMResourceNotFoundFix",
                )
            )
        call.cluster = cluster.name
        if len(seg) == 8:
            _require(request, "GET")
            return _Route("cluster", subscription, cluster=cluster)
        if len(seg) == 11 and tuple(seg[8:11]) == _DIAGNOSTIC_SETTINGS:
            _require(request, "GET")
            call.endpoint = str(Endpoint.DIAGNOSTIC_SETTINGS)
            return _Route("diagnostic-settings", subscription, cluster=cluster)
        if len(seg) == 9 and seg[8] == "runcommand":
            _require(request, "POST")
            call.endpoint = str(Endpoint.RUN_COMMAND)
            return _Route("run-command", subscription, cluster=cluster)
        if len(seg) == 10 and seg[8] == "commandresults":
            _require(request, "GET")
            call.endpoint = str(Endpoint.COMMAND_RESULT)
            return _Route("command-result", subscription, cluster=cluster, command_id=raw[9])
        if len(seg) == 9 and seg[8] in ("listclusterusercredential", "listclusteradmincredential"):
            _require(request, "POST")
            call.endpoint = str(Endpoint.CREDENTIALS)
            return _Route(
                "credentials",
                subscription,
                cluster=cluster,
                admin=seg[8] == "listclusteradmincredential",
            )
        raise Reply(self._no_route(request))

    def _check_api_version(self, request: Request) -> None:
        api_version = request.param_ci("api-version")
        if api_version is None:
            raise Reply(
                _arm_error(
                    400,
                    "MissingApiVersionParameter",
                    "The api-version query parameter (?api-version=) is required for all requests.",
                )
            )
        if not _API_VERSION.match(api_version):
            raise Reply(
                _arm_error(
                    400,
                    "InvalidApiVersionParameter",
                    f"The api-version '{api_version}' is invalid. The supported versions are "
                    "'2026-08-01,2025-10-01,2024-09-01,2021-03-01,2016-06-01'.",
                )
            )

    async def _fault(
        self,
        endpoint: Endpoint,
        render: Callable[[Fault], Response],
        *,
        subscription: str | None = None,
        cluster: str | None = None,
    ) -> None:
        fault = self._faults.take(endpoint, subscription=subscription, cluster=cluster)
        if fault is not None:
            outcome = await resolve(fault, render)
            if outcome is not None:
                raise Reply(outcome)

    # -- authentication -------------------------------------------------------------------

    def _audiences(self, request: Request) -> list[str]:
        port = request.host.rsplit(":", 1)[-1] if ":" in request.host else ""
        own = [request.base_url]
        if port:
            own += [f"https://127.0.0.1:{port}", f"https://localhost:{port}"]
        return own + list(PUBLIC_ARM_AUDIENCES)

    def _authenticate(self, request: Request) -> Claims:
        """The caller's claims; Reply with ARM's 401 when the token is missing or refused."""
        token = bearer_token(request)
        if token is None:
            raise Reply(
                _arm_error(
                    401,
                    "AuthenticationFailed",
                    "Authentication failed. The 'Authorization' header is missing.",
                    self._challenge(
                        "The authentication failed because of missing 'Authorization' header."
                    ),
                )
            )
        try:
            return self._authority.verify(token, self._audiences(request))
        except TokenError as exc:
            raise Reply(self._token_refused(request, exc)) from None

    def _challenge(self, description: str) -> list[tuple[str, str]]:
        return [
            (
                "WWW-Authenticate",
                f'Bearer authorization_uri="https://login.windows.net/{self._estate.tenant_id}", '
                f'error="invalid_token", error_description="{description}"',
            )
        ]

    def _token_refused(self, request: Request, exc: TokenError) -> Response:
        challenge = self._challenge("The access token is invalid.")
        if exc.reason == "audience":
            allowed = ",".join(f"'{a}/','{a}'" for a in (request.base_url, *PUBLIC_ARM_AUDIENCES))
            return _arm_error(
                401,
                "InvalidAuthenticationTokenAudience",
                f"The access token has been obtained for wrong audience or resource '{exc.audience}'. "
                f"It should exactly match with one of the allowed audiences {allowed}.",
                challenge,
            )
        if exc.reason == "expired":
            expiry = datetime.fromtimestamp(exc.expires, UTC).strftime("%m/%d/%Y %H:%M:%S")
            now = datetime.now(UTC).strftime("%m/%d/%Y %H:%M:%S")
            return _arm_error(
                401,
                "ExpiredAuthenticationToken",
                f"The access token expiry UTC time '{expiry}' is earlier than current UTC time '{now}'.",
                challenge,
            )
        return _arm_error(
            401, "InvalidAuthenticationToken", "The access token is invalid.", challenge
        )

    def _denied(self, claims: Claims, action: str, scope: str) -> Response:
        oid = claims.object_id
        return _arm_error(
            403,
            "AuthorizationFailed",
            f"The client '{oid}' with object id '{oid}' does not have authorization to perform action "
            f"'{action}' over scope '{scope}' or the scope is invalid. If access was recently granted, "
            "please refresh your credentials.",
        )

    # -- faults ---------------------------------------------------------------------------

    def _arm_fault(self, fault: Fault, subscription: str | None) -> Response:
        headers = fault.retry_after_headers()
        if fault.status == 429:
            wait = fault.retry_after if fault.retry_after is not None else 17
            headers.append(("x-ms-ratelimit-remaining-subscription-reads", "0"))
            return _arm_error(
                429,
                "SubscriptionRequestsThrottled",
                fault.message
                or (
                    f"Number of 'read' requests for subscription '{subscription or ''}' actor "
                    f"'{self._estate.identity.principal_id}' exceeded. Please try again after "
                    f"'{wait}' seconds after additional tokens are available. Refer to "
                    "https://aka.ms/arm-throttling"
                ),
                headers,
            )
        codes = {
            401: "InvalidAuthenticationToken",
            403: "AuthorizationFailed",
            404: "ResourceNotFound",
            409: "Conflict",
            **SERVER_ERROR_CODES,
        }
        return _arm_error(
            fault.status,
            codes.get(fault.status, "InternalServerError"),
            fault.message or "The request failed (simulated).",
            headers,
        )

    def _credentials_fault(
        self,
        fault: Fault,
        subscription: Subscription,
        cluster: SimCluster,
        claims: Claims,
        action: str,
    ) -> Response:
        """A listCluster...Credential fault: 403 and 404 in ARM's own words, else _arm_fault."""
        if fault.status == 403 and not fault.message:
            return self._denied(
                claims,
                f"Microsoft.ContainerService/managedClusters/{action}/action",
                cluster_resource_id(subscription.id, cluster),
            )
        if fault.status == 404 and not fault.message:
            return _arm_error(
                404,
                "ResourceNotFound",
                f"The Resource 'Microsoft.ContainerService/managedClusters/{cluster.name}' under "
                f"resource group '{cluster.resource_group}' was not found. For more details "
                "please go to https://aka.ms/ARMResourceNotFoundFix",
            )
        return self._arm_fault(fault, subscription.id)

    def _foreign_ca(self) -> bytes:
        """A CA certificate that signed none of the estate's API servers (made once)."""
        if self._foreign_ca_pem is None:
            self._foreign_ca_pem = trustme.CA(
                organization_name="Not this cluster's CA"
            ).cert_pem.bytes()
        return self._foreign_ca_pem

    def _resource_graph_fault(self, fault: Fault) -> Response:
        headers = fault.retry_after_headers()
        correlation = str(uuid.uuid4())
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        prefix = f"Please provide below info when asking for support: timestamp = {stamp}, correlationId = {correlation}."
        if fault.status == 429:
            headers += [
                ("x-ms-user-quota-remaining", "0"),
                ("x-ms-user-quota-resets-after", "00:00:05"),
            ]
            return _arm_error(
                429,
                "RateLimiting",
                fault.message
                or (
                    f"{prefix} Details: Client application has been throttled and should not attempt to "
                    "repeat the request until an amount of time has elapsed. Please see "
                    "https://aka.ms/resourcegraph-throttling for help."
                ),
                headers,
            )
        if fault.status == 403:
            return _arm_error(
                403,
                "AuthorizationFailed",
                fault.message
                or (
                    f"The client '{self._estate.identity.principal_id}' does not have authorization to perform "
                    "action 'Microsoft.ResourceGraph/resources/read'."
                ),
                headers,
            )
        return _arm_error(
            fault.status,
            "InternalServerError" if fault.status < 503 else "ServiceUnavailable",
            fault.message or f"{prefix} Details: the query could not be served (simulated).",
            headers,
        )

    # -- subscriptions --------------------------------------------------------------------

    def _subscription_json(self, subscription: Subscription) -> dict[str, Any]:
        return {
            "id": f"/subscriptions/{subscription.id}",
            "authorizationSource": "RoleBased",
            "managedByTenants": [],
            "subscriptionId": subscription.id,
            "tenantId": self._estate.tenant_id,
            "displayName": subscription.display_name,
            "state": subscription.state,
            "subscriptionPolicies": {
                "locationPlacementId": "Public_2014-09-01",
                "quotaId": "PayAsYouGo_2014-09-01",
                "spendingLimit": "Off",
            },
        }

    def _list_subscriptions(self, request: Request) -> Response:
        visible = [s for s in self._estate.subscriptions if s.accessible]
        token = request.param_ci("$skiptoken")
        offset = 0 if token is None else _decode_offset(token, "subscriptions")
        if offset is None:
            return _arm_error(400, "InvalidSkipToken", "The provided skip token is invalid.")
        size = max(1, self._estate.paging.subscriptions)
        page = visible[offset : offset + size]
        body: dict[str, Any] = {
            "value": [self._subscription_json(s) for s in page],
            "count": {"type": "Total", "value": len(visible)},
        }
        if offset + size < len(visible):
            body["nextLink"] = (
                f"{request.base_url}/subscriptions?api-version={quote(request.param_ci('api-version') or '')}"
                f"&%24skiptoken={_encode_offset(offset + size, 'subscriptions')}"
            )
        return self._json(200, body)

    # -- managed clusters -----------------------------------------------------------------

    def _list_clusters(self, request: Request, clusters: tuple[SimCluster, ...]) -> Response:
        ordered = sorted(clusters, key=lambda c: (c.resource_group.lower(), c.name.lower()))
        token = request.param_ci("$skiptoken")
        salt = request.path.lower()
        offset = 0 if token is None else _decode_offset(token, salt)
        if offset is None:
            return _arm_error(400, "InvalidSkipToken", "The provided skip token is invalid.")
        size = max(1, self._estate.paging.managed_clusters)
        page = ordered[offset : offset + size]
        body: dict[str, Any] = {
            "value": [
                managed_cluster_json(self._estate, self._estate.subscription_of(c.name), c)
                for c in page
            ],
        }
        if offset + size < len(ordered):
            body["nextLink"] = (
                f"{request.base_url}{quote(request.path)}?api-version="
                f"{quote(request.param_ci('api-version') or '')}&%24skipToken={_encode_offset(offset + size, salt)}"
            )
        return self._json(200, body)

    async def _credentials(
        self,
        request: Request,
        subscription: Subscription,
        cluster: SimCluster,
        claims: Claims,
        *,
        admin: bool,
    ) -> Response:
        action = "listClusterAdminCredential" if admin else "listClusterUserCredential"
        if not cluster.credentials_allowed:
            return self._denied(
                claims,
                f"Microsoft.ContainerService/managedClusters/{action}/action",
                cluster_resource_id(subscription.id, cluster),
            )
        access = self._access.get(cluster.name)
        fault = self._faults.take(
            Endpoint.CREDENTIALS, subscription=subscription.id, cluster=cluster.name
        )
        if fault is not None and access is not None and fault.action is Action.WRONG_CA:
            access = replace(access, ca_pem=self._foreign_ca())
        elif fault is not None and access is not None and fault.action is Action.REFUSED:
            access = replace(access, server=self._refused_server)
        elif fault is not None:
            outcome = await resolve(
                fault, lambda f: self._credentials_fault(f, subscription, cluster, claims, action)
            )
            if outcome is not None:
                return outcome
        if admin and cluster.local_accounts_disabled:
            return _arm_error(
                400,
                "BadRequest",
                "Getting static credential is not allowed because this cluster is set to disable local accounts.",
            )
        if access is None:
            return _arm_error(
                500, "InternalServerError", "The cluster has no simulated API server."
            )
        kubeconfig = user_kubeconfig(
            self._estate, cluster, access, admin=admin, kubeconfig_format=request.param_ci("format")
        )
        name = "clusterAdmin" if admin else "clusterUser"
        return self._json(
            200, {"kubeconfigs": [{"name": name, "value": base64.b64encode(kubeconfig).decode()}]}
        )

    async def _cluster_action(self, request: Request, route: _Route, claims: Claims) -> Response:
        """POST actions on one cluster (credentials, runCommand) and command results."""
        assert route.subscription is not None  # noqa: S101 - set by _route
        assert route.cluster is not None  # noqa: S101 - set by _route
        if route.kind == "credentials":
            return await self._credentials(
                request, route.subscription, route.cluster, claims, admin=route.admin
            )
        return await self._run_command(request, route, claims)

    # -- run command ----------------------------------------------------------------------

    async def _run_command(self, request: Request, route: _Route, claims: Claims) -> Response:
        subscription, cluster = route.subscription, route.cluster
        assert subscription is not None  # noqa: S101 - set by _route
        assert cluster is not None  # noqa: S101 - set by _route
        scope = cluster_resource_id(subscription.id, cluster)
        submit = route.kind == "run-command"
        if not cluster.run_command_allowed:
            action = "runcommand/action" if submit else "commandResults/read"
            return self._denied(
                claims, f"Microsoft.ContainerService/managedClusters/{action}", scope
            )
        endpoint = Endpoint.RUN_COMMAND if submit else Endpoint.COMMAND_RESULT
        await self._fault(
            endpoint,
            lambda f: self._arm_fault(f, subscription.id),
            subscription=subscription.id,
            cluster=cluster.name,
        )
        location = (
            f"{request.base_url}/subscriptions/{subscription.id}/resourcegroups/"
            f"{cluster.resource_group}/providers/Microsoft.ContainerService/managedClusters/"
            f"{cluster.name}/commandResults/{{}}?api-version={quote(request.param_ci('api-version') or '')}"
        )
        if submit:
            return self._submit(request, subscription, cluster, location)
        command = self._commands.get(route.command_id)
        if command is None or command.cluster != cluster.name:
            return _arm_error(
                404, "NotFound", f"Command result '{route.command_id}' was not found."
            )
        if time.monotonic() < command.ready_at:
            response = Response(202, b"", "application/json; charset=utf-8")
            response.headers.append(("Location", location.format(route.command_id)))
            return response
        execution = command.execution
        return self._json(
            200,
            {
                "id": route.command_id,
                "properties": {
                    "provisioningState": "Succeeded",
                    "exitCode": execution.exit_code,
                    "startedAt": command.started,
                    "finishedAt": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "logs": execution.logs,
                },
            },
        )

    def _submit(
        self, request: Request, subscription: Subscription, cluster: SimCluster, location: str
    ) -> Response:
        try:
            body = json.loads(request.body or b"")
        except ValueError as exc:
            return _arm_error(
                400,
                "InvalidRequestContent",
                f"The request content was invalid and could not be deserialized: '{exc}'.",
            )
        command = body.get("command") if isinstance(body, dict) else None
        if not isinstance(command, str) or not command.strip():
            return _arm_error(
                400,
                "InvalidParameter",
                "The value of parameter command is invalid: it is required.",
            )
        if cluster.run_command_disabled:
            return _arm_error(
                400,
                "BadRequest",
                "Run command is disabled for this managed cluster "
                "(apiServerAccessProfile.disableRunCommand is true).",
            )
        principal: str | None = None
        token = body.get("clusterToken")
        if isinstance(token, str) and token:
            try:
                principal = self._authority.verify(token, (AKS_SERVER_APP_ID,)).object_id
            except TokenError:
                principal = None  # kubectl in the pod is then not logged in
        execution = execute(command, cluster, subscription.id, self._estate.identity, principal)
        command_id = uuid.uuid4().hex
        duration = self._estate.latency.run_command_ms / 1000.0
        self._commands[command_id] = _Command(
            cluster.name,
            time.monotonic() + duration,
            datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            execution,
        )
        response = Response(202, b"", "application/json; charset=utf-8")
        response.headers += [
            ("Location", location.format(command_id)),
            ("Retry-After", str(max(1, math.ceil(duration)))),
        ]
        return response

    # -- Resource Graph -------------------------------------------------------------------

    def _resource_graph(self, request: Request) -> Response:
        try:
            body = json.loads(request.body or b"null")
        except ValueError:
            return self._bad_query("The request content was invalid and could not be deserialized.")
        if (
            not isinstance(body, dict)
            or not isinstance(body.get("query"), str)
            or not body["query"].strip()
        ):
            return self._bad_query("The query is missing or empty.")
        query: str = body["query"]
        requested = body.get("subscriptions")
        visible = [s for s in self._estate.subscriptions if s.accessible]
        if isinstance(requested, list):
            wanted = {str(s).lower() for s in requested}
            visible = [s for s in visible if s.id.lower() in wanted]
        rows = self._graph_rows(table_of(query), type_of(query), visible)
        rows.sort(key=lambda r: str(r["id"]).lower())
        try:
            result = run_query(query, rows)
        except UnsupportedQueryError as exc:
            log.warning(
                "Resource Graph query not simulated (%s); answering every discovery column", exc
            )
            result = superset(rows)
        options = body.get("options") if isinstance(body.get("options"), dict) else {}
        assert isinstance(options, dict)  # noqa: S101 - narrowed above for mypy
        salt = hashlib.sha256(
            "\n".join([query, *sorted(s.id for s in visible)]).encode()
        ).hexdigest()[:16]
        skip_token = options.get("$skipToken")
        if skip_token:
            offset = _decode_offset(str(skip_token), salt)
            if offset is None:
                return self._bad_query(
                    "The skip token is invalid or does not belong to this query and scope."
                )
        else:
            skip = options.get("$skip")
            offset = skip if isinstance(skip, int) and skip >= 0 else 0
        top = options.get("$top")
        size = max(1, self._estate.paging.resource_graph)
        if isinstance(top, int) and top > 0:
            size = min(size, top)
        page = result[offset : offset + size]
        data: Any = page
        if str(options.get("resultFormat", "objectArray")).lower() == "table":
            data = as_table(page)
        answer: dict[str, Any] = {
            "totalRecords": len(result),
            "count": len(page),
            "data": data,
            "facets": [],
            "resultTruncated": "false",
        }
        if offset + size < len(result):
            answer["$skipToken"] = _encode_offset(offset + size, salt)
        response = self._json(200, answer)
        response.headers += [
            ("x-ms-user-quota-remaining", "14"),
            ("x-ms-user-quota-resets-after", "00:00:05"),
            ("x-ms-resource-graph-request-duration", "0:00:00:00.0123456"),
        ]
        return response

    def _graph_rows(
        self, table: str, kind: str, visible: list[Subscription]
    ) -> list[dict[str, Any]]:
        """The rows of one Resource Graph table and type in the visible subscriptions."""
        estate = self._estate
        if table == "resources" and kind == "microsoft.containerservice/managedclusters":
            return [resource_graph_row(estate, s, c) for s in visible for c in s.clusters]
        if table == "resources" and kind == "microsoft.containerregistry/registries":
            return [registry_row(estate, s, r) for s in visible for r in s.registries]
        if table == "securityresources" and kind == "microsoft.security/pricings":
            return [pricing_row(estate, s) for s in visible if s.pricings_readable]
        if table == "authorizationresources" and kind == "microsoft.authorization/roleassignments":
            return [role_assignment_row(estate, s, a) for s in visible for a in s.role_assignments]
        return []

    # -- role definitions and diagnostic settings -----------------------------------------

    async def _own_faults(self, request: Request, route: _Route, claims: Claims) -> Response:
        """Routes whose faults have an endpoint of their own (not Endpoint.ARM)."""
        if route.kind == "role-definition":
            sub_id = route.subscription.id if route.subscription is not None else None
            await self._fault(
                Endpoint.ROLE_DEFINITION,
                lambda f: self._role_definition_fault(f, sub_id, claims),
                subscription=sub_id,
            )
            return self._role_definition(route)
        if route.kind == "diagnostic-settings":
            return await self._diagnostic_settings(route, claims)
        return await self._cluster_action(request, route, claims)

    def _role_definition(self, route: _Route) -> Response:
        scope = f"/subscriptions/{route.subscription.id}" if route.subscription else ""
        found = role_definition_json(route.command_id, scope)
        if found is None:
            return _arm_error(
                404,
                "RoleDefinitionDoesNotExist",
                f"The specified role definition with ID '{route.command_id}' does not exist.",
            )
        return self._json(200, found)

    async def _diagnostic_settings(self, route: _Route, claims: Claims) -> Response:
        subscription, cluster = route.subscription, route.cluster
        assert subscription is not None  # noqa: S101 - set by _route
        assert cluster is not None  # noqa: S101 - set by _route
        scope = cluster_resource_id(subscription.id, cluster)
        if not cluster.diagnostics_readable:
            return self._denied(
                claims,
                "Microsoft.Insights/diagnosticSettings/read",
                f"{scope}/providers/microsoft.insights/diagnosticSettings",
            )
        await self._fault(
            Endpoint.DIAGNOSTIC_SETTINGS,
            lambda f: self._diagnostics_fault(f, subscription, cluster, claims),
            subscription=subscription.id,
            cluster=cluster.name,
        )
        return self._json(200, diagnostic_settings_json(subscription, cluster))

    def _role_definition_fault(self, fault: Fault, sub_id: str | None, claims: Claims) -> Response:
        """A role definition fault: 403 in ARM's own words, else _arm_fault."""
        if fault.status == 403 and not fault.message:
            scope = f"/subscriptions/{sub_id}" if sub_id else "/"
            return self._denied(claims, "Microsoft.Authorization/roleDefinitions/read", scope)
        return self._arm_fault(fault, sub_id)

    def _diagnostics_fault(
        self, fault: Fault, subscription: Subscription, cluster: SimCluster, claims: Claims
    ) -> Response:
        """A diagnostic settings fault: 403 in ARM's own words, else _arm_fault."""
        if fault.status == 403 and not fault.message:
            scope = cluster_resource_id(subscription.id, cluster)
            return self._denied(
                claims,
                "Microsoft.Insights/diagnosticSettings/read",
                f"{scope}/providers/microsoft.insights/diagnosticSettings",
            )
        return self._arm_fault(fault, subscription.id)

    def _bad_query(self, detail: str) -> Response:
        correlation = str(uuid.uuid4())
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        body = {
            "error": {
                "code": "BadRequest",
                "message": f"Please provide below info when asking for support: timestamp = {stamp}, "
                f"correlationId = {correlation}.",
                "details": [
                    {
                        "code": "InvalidQuery",
                        "message": "Query is invalid. Please refer to the documentation "
                        "for the Azure Resource Graph service and fix the error before retrying.",
                    },
                    {"code": "InvalidRequest", "message": detail},
                ],
            }
        }
        return Response(400, json.dumps(body).encode(), "application/json; charset=utf-8")

    # -- helpers --------------------------------------------------------------------------

    @staticmethod
    def _json(status: int, body: Any) -> Response:
        return Response(
            status,
            json.dumps(body, separators=(",", ":")).encode(),
            "application/json; charset=utf-8",
        )

    @staticmethod
    def _no_route(request: Request) -> Response:
        return _arm_error(
            404,
            "NotFound",
            f"No HTTP resource was found that matches the request URI '{request.base_url}{request.target}'.",
        )


async def _sleep_ms(ms: float) -> None:
    if ms > 0:
        await asyncio.sleep(ms / 1000.0)
