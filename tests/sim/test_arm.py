"""ARM and Resource Graph through the real management SDKs."""

from __future__ import annotations

import base64
import socket
import ssl
from typing import Any, cast

import pytest
import yaml
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
)
from azure.core.rest import HttpRequest
from azure.mgmt.containerservice import ContainerServiceClient
from azure.mgmt.containerservice.models import CredentialResults
from azure.mgmt.core.exceptions import ARMErrorFormat
from azure.mgmt.resourcegraph import ResourceGraphClient
from azure.mgmt.resourcegraph.models import QueryRequest, QueryRequestOptions, QueryResponse
from azure.mgmt.subscription import SubscriptionClient

from sim import Action, Endpoint, Fault, SimulatedEstate, Subscription, default_estate
from sim.estate import DEMO_SUB_DEV, DEMO_SUB_PROD
from tests.sim.conftest import arm_error

SCANNER_QUERY = """resources
| where type =~ 'microsoft.containerservice/managedclusters'
| project id, name, subscriptionId, resourceGroup, location, properties
| order by id asc"""

RECOMMENDED_QUERY = """resources
| where type =~ 'microsoft.containerservice/managedclusters'
| project id, name, subscriptionId, resourceGroup, location, tenantId,
    fqdn               = tostring(properties.fqdn),
    privateFqdn        = tostring(properties.privateFQDN),
    aadManaged         = tobool(properties.aadProfile.managed),
    azureRbac          = tobool(properties.aadProfile.enableAzureRBAC),
    disableLocalAccts  = tobool(properties.disableLocalAccounts),
    enableRbac         = tobool(properties.enableRBAC),
    privateCluster     = tobool(properties.apiServerAccessProfile.enablePrivateCluster),
    powerState         = tostring(properties.powerState.code),
    k8sVersion         = tostring(properties.currentKubernetesVersion),
    agentPools         = properties.agentPoolProfiles
| order by id asc"""


def arm_kwargs(sim: SimulatedEstate, **extra: Any) -> dict[str, Any]:
    """Client arguments that point an SDK at the simulated ARM endpoint."""
    return {
        "base_url": sim.arm_endpoint,
        "credential_scopes": [f"{sim.arm_endpoint}/.default"],
        **extra,
    }


def all_pages(
    client: ResourceGraphClient, query: str, subscriptions: list[str] | None = None, **options: Any
) -> tuple[list[dict[str, Any]], list[QueryResponse]]:
    """Every row of a query, following skip tokens, and the pages it took."""
    rows: list[dict[str, Any]] = []
    pages: list[QueryResponse] = []
    token: str | None = None
    while True:
        response = client.resources(
            QueryRequest(
                query=query,
                subscriptions=subscriptions,
                options=QueryRequestOptions(skip_token=token, **options),
            )
        )
        pages.append(response)
        rows.extend(cast(list[dict[str, Any]], response.data))
        token = response.skip_token
        if not token:
            return rows, pages


def kubeconfig_bytes(result: CredentialResults) -> bytes:
    """The first kubeconfig of a listCluster*Credential answer (the SDK already base64-decoded it)."""
    assert result.kubeconfigs
    value = result.kubeconfigs[0].value
    assert value is not None
    return bytes(value)


class TestSubscriptions:
    def test_subscription_client_pages_through_every_subscription(self, sim, credential):
        """/subscriptions answers one per page here; nextLink paging reaches both."""
        before = sim.counters.count(Endpoint.ARM, status=200)
        with SubscriptionClient(credential, **arm_kwargs(sim)) as client:
            subs = list(client.subscriptions.list())
        assert [
            (d["subscription_id"], d["display_name"], d["state"])
            for d in (s.as_dict() for s in subs)
        ] == [
            (DEMO_SUB_PROD, "Contoso Production", "Enabled"),
            (DEMO_SUB_DEV, "Contoso Dev", "Enabled"),
        ]
        assert sim.counters.count(Endpoint.ARM, status=200) - before == 2


class TestResourceGraph:
    def test_scanner_query_pages_with_skip_tokens(self, sim, credential):
        """Five clusters, pages of three: two calls, every cluster once, only projected columns."""
        with ResourceGraphClient(credential, **arm_kwargs(sim)) as client:
            rows, pages = all_pages(client, SCANNER_QUERY, top=1000)
        assert [p.count for p in pages] == [3, 2]
        assert {p.total_records for p in pages} == {5}
        assert {p.result_truncated for p in pages} == {"false"}
        assert sorted(r["name"] for r in rows) == sorted(
            ["aks-prod-weu", "aks-legacy-eus", "aks-local-only", "aks-dev-stopped", "aks-batch-neu"]
        )
        assert all(
            set(r) == {"id", "name", "subscriptionId", "resourceGroup", "location", "properties"}
            for r in rows
        )
        assert [r["id"].lower() for r in rows] == sorted(r["id"].lower() for r in rows)

    def test_computed_columns_follow_the_rest_properties(self, sim, credential):
        """tostring/tobool projections read the exact REST casing (privateFQDN, enableAzureRBAC)."""
        with ResourceGraphClient(credential, **arm_kwargs(sim)) as client:
            rows, _ = all_pages(client, RECOMMENDED_QUERY)
        by_name = {r["name"]: r for r in rows}
        prod, local, stopped = (
            by_name["aks-prod-weu"],
            by_name["aks-local-only"],
            by_name["aks-dev-stopped"],
        )
        assert (prod["aadManaged"], prod["azureRbac"], prod["disableLocalAccts"]) == (
            True,
            True,
            True,
        )
        assert (local["aadManaged"], local["azureRbac"], local["disableLocalAccts"]) == (
            None,
            None,
            False,
        )
        assert stopped["powerState"] == "Stopped"
        assert prod["privateFqdn"] == ""
        assert prod["fqdn"].endswith(".hcp.westeurope.azmk8s.io")
        assert prod["resourceGroup"] == "rg-prod-weu"
        assert [p["name"] for p in prod["agentPools"]] == ["system", "user"]

    def test_subscriptions_scope_the_query(self, sim, credential):
        """Only clusters of the named subscriptions come back."""
        with ResourceGraphClient(credential, **arm_kwargs(sim)) as client:
            rows, pages = all_pages(client, SCANNER_QUERY, subscriptions=[DEMO_SUB_DEV])
        assert {r["subscriptionId"] for r in rows} == {DEMO_SUB_DEV}
        assert len(pages) == 1

    def test_top_smaller_than_the_page_size_pages_further(self, sim, credential):
        """$top caps a page; the skip token continues from there."""
        with ResourceGraphClient(credential, **arm_kwargs(sim)) as client:
            rows, pages = all_pages(client, SCANNER_QUERY, top=2)
        assert [p.count for p in pages] == [2, 2, 1]
        assert len({r["id"] for r in rows}) == 5

    def test_table_result_format(self, sim, credential):
        """resultFormat=table answers columns and rows."""
        with ResourceGraphClient(credential, **arm_kwargs(sim)) as client:
            response = client.resources(
                QueryRequest(
                    query=SCANNER_QUERY, options=QueryRequestOptions(result_format="table")
                )
            )
        table = cast(dict[str, Any], response.data)
        assert [c["name"] for c in table["columns"]][:2] == ["id", "name"]
        assert len(table["rows"]) == 3

    def test_a_query_for_other_types_returns_nothing(self, sim, credential):
        """Only managed clusters exist in this estate."""
        with ResourceGraphClient(credential, **arm_kwargs(sim)) as client:
            response = client.resources(
                QueryRequest(query="resources | where type =~ 'microsoft.compute/virtualmachines'")
            )
        assert (response.total_records, cast(Any, response.data)) == (0, [])

    def test_a_forged_skip_token_is_a_bad_request(self, sim, credential):
        """Skip tokens belong to their query and scope."""
        with (
            ResourceGraphClient(credential, **arm_kwargs(sim)) as client,
            pytest.raises(HttpResponseError) as caught,
        ):
            client.resources(
                QueryRequest(query=SCANNER_QUERY, options=QueryRequestOptions(skip_token="bm9wZQ"))
            )
        assert arm_error(caught.value)[:2] == (400, "BadRequest")

    def test_throttling_is_retried_after_retry_after(self, sim, credential):
        """A 429 with Retry-After (ARG's RateLimiting) is retried by azure-core and then succeeds."""
        fault = sim.faults.arm_throttle(endpoint=Endpoint.RESOURCE_GRAPH, retry_after=0, times=1)
        with ResourceGraphClient(credential, **arm_kwargs(sim)) as client:
            rows, _ = all_pages(client, SCANNER_QUERY)
        assert len(rows) == 5
        assert sim.faults.active() == []
        assert sim.faults.hits(fault) == 0  # consumed and gone
        assert sim.counters.count(Endpoint.RESOURCE_GRAPH, status=429) >= 1


class TestManagedClusters:
    def test_list_pages_through_a_subscription(self, sim, credential):
        """Three clusters, pages of two: nextLink is followed with the client's api-version."""
        with ContainerServiceClient(credential, DEMO_SUB_PROD, **arm_kwargs(sim)) as client:
            clusters = list(client.managed_clusters.list())
        assert sorted(str(c.name) for c in clusters) == [
            "aks-legacy-eus",
            "aks-local-only",
            "aks-prod-weu",
        ]
        prod = next(c for c in clusters if c.name == "aks-prod-weu")
        assert prod.aad_profile.enable_azure_rbac is True
        assert prod.power_state.code == "Running"
        assert prod.disable_local_accounts is True
        assert [p.name for p in prod.agent_pool_profiles] == ["system", "user"]
        local = next(c for c in clusters if c.name == "aks-local-only")
        assert local.aad_profile is None

    def test_list_by_resource_group_and_get(self, sim, credential):
        """Resource-group listing and GET answer the same REST object."""
        with ContainerServiceClient(credential, DEMO_SUB_DEV, **arm_kwargs(sim)) as client:
            in_group = list(client.managed_clusters.list_by_resource_group("rg-dev"))
            cluster = client.managed_clusters.get(
                "RG-DEV", "aks-dev-stopped"
            )  # ARM is case-insensitive
        assert [c.name for c in in_group] == ["aks-dev-stopped"]
        assert cluster.power_state.code == "Stopped"
        assert str(cluster.id).startswith(
            f"/subscriptions/{DEMO_SUB_DEV}/resourcegroups/rg-dev/providers/"
        )

    @pytest.mark.parametrize(
        ("group", "name", "code"),
        [
            pytest.param("rg-prod-weu", "aks-nope", "ResourceNotFound", id="cluster"),
            pytest.param("rg-nope", "aks-prod-weu", "ResourceGroupNotFound", id="group"),
        ],
    )
    def test_unknown_cluster_or_group_is_404(self, sim, credential, group, name, code):
        """ARM's 404 codes come through as ResourceNotFoundError."""
        with (
            ContainerServiceClient(credential, DEMO_SUB_PROD, **arm_kwargs(sim)) as client,
            pytest.raises(ResourceNotFoundError) as caught,
        ):
            client.managed_clusters.get(group, name)
        assert arm_error(caught.value)[1] == code

    def test_user_credential_kubeconfig_points_at_a_verifiable_api_server(self, sim, credential):
        """listClusterUserCredential: kubelogin exec user, server URL, CA that verifies that server."""
        with ContainerServiceClient(credential, DEMO_SUB_PROD, **arm_kwargs(sim)) as client:
            result = client.managed_clusters.list_cluster_user_credentials(
                "rg-prod-weu", "aks-prod-weu"
            )
        assert result.kubeconfigs is not None
        assert result.kubeconfigs[0].name == "clusterUser"
        config = yaml.safe_load(kubeconfig_bytes(result))
        cluster = config["clusters"][0]["cluster"]
        user = config["users"][0]["user"]
        assert user["exec"]["command"] == "kubelogin"
        assert "6dae42f8-4368-4678-94ff-3960e28e3630" in user["exec"]["args"]
        assert "client-key-data" not in user
        ca = base64.b64decode(cluster["certificate-authority-data"]).decode()
        host, port = cluster["server"].removeprefix("https://").split(":")
        context = ssl.create_default_context(cadata=ca)
        with (
            socket.create_connection((host, int(port)), timeout=5) as raw,
            context.wrap_socket(raw, server_hostname=host) as tls,
        ):
            assert tls.version() in ("TLSv1.2", "TLSv1.3")

    def test_another_clusters_ca_does_not_verify(self, sim):
        """Each cluster has its own CA."""
        context = ssl.create_default_context(cadata=sim.cluster_ca_pem("aks-legacy-eus"))
        port = int(sim.api_server_url("aks-prod-weu").rsplit(":", 1)[1])
        with (
            socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
            pytest.raises(ssl.SSLCertVerificationError),
        ):
            context.wrap_socket(raw, server_hostname="127.0.0.1")

    def test_local_cluster_kubeconfig_carries_a_client_certificate(self, sim, credential):
        """Without Entra the user is a local account (client certificate, key and token)."""
        with ContainerServiceClient(credential, DEMO_SUB_PROD, **arm_kwargs(sim)) as client:
            result = client.managed_clusters.list_cluster_user_credentials(
                "rg-local", "aks-local-only"
            )
        user = yaml.safe_load(kubeconfig_bytes(result))["users"][0]["user"]
        assert "BEGIN CERTIFICATE" in base64.b64decode(user["client-certificate-data"]).decode()
        assert "PRIVATE KEY" in base64.b64decode(user["client-key-data"]).decode()

    def test_azure_format_gives_an_auth_provider_user(self, sim, credential):
        """format=azure: the legacy azure auth-provider stanza."""
        with ContainerServiceClient(credential, DEMO_SUB_PROD, **arm_kwargs(sim)) as client:
            result = client.managed_clusters.list_cluster_user_credentials(
                "rg-legacy-eus", "aks-legacy-eus", format="azure"
            )
        user = yaml.safe_load(kubeconfig_bytes(result))["users"][0]["user"]
        assert user["auth-provider"]["name"] == "azure"

    def test_admin_credential_is_refused_when_local_accounts_are_disabled(self, sim, credential):
        """listClusterAdminCredential on a cluster with disableLocalAccounts is a 400."""
        with (
            ContainerServiceClient(credential, DEMO_SUB_PROD, **arm_kwargs(sim)) as client,
            pytest.raises(HttpResponseError) as caught,
        ):
            client.managed_clusters.list_cluster_admin_credentials("rg-prod-weu", "aks-prod-weu")
        status, _, message = arm_error(caught.value)
        assert status == 400
        assert "disable local accounts" in message

    def test_credential_fault_answers_500(self, sim, credential):
        """A CREDENTIALS fault on one cluster fails listClusterUserCredential there only."""
        from sim import Fault  # noqa: PLC0415 - local to the fault tests

        sim.faults.add(Fault(Endpoint.CREDENTIALS, status=403, cluster="aks-legacy-eus"))
        with ContainerServiceClient(
            credential, DEMO_SUB_PROD, **arm_kwargs(sim, retry_total=0)
        ) as client:
            with pytest.raises(HttpResponseError) as caught:
                client.managed_clusters.list_cluster_user_credentials(
                    "rg-legacy-eus", "aks-legacy-eus"
                )
            ok = client.managed_clusters.list_cluster_user_credentials(
                "rg-prod-weu", "aks-prod-weu"
            )
        assert arm_error(caught.value)[:2] == (403, "AuthorizationFailed")
        assert ok.kubeconfigs


class TestAuthentication:
    def test_token_for_another_audience_is_401(self, sim, credential):
        """A Logs Ingestion token is refused by ARM with InvalidAuthenticationTokenAudience."""
        monitor = ["https://monitor.azure.com/.default"]
        with (
            SubscriptionClient(
                credential, base_url=sim.arm_endpoint, credential_scopes=monitor
            ) as client,
            pytest.raises(ClientAuthenticationError) as caught,
        ):
            list(client.subscriptions.list())
        assert arm_error(caught.value)[:2] == (401, "InvalidAuthenticationTokenAudience")

    def test_trailing_slash_audience_is_accepted(self, sim, credential):
        """ARM accepts its audience with or without the trailing slash."""
        with SubscriptionClient(
            credential,
            base_url=sim.arm_endpoint,
            credential_scopes=[f"{sim.arm_endpoint}//.default"],
        ) as client:
            assert len(list(client.subscriptions.list())) == 2


def test_inaccessible_subscription_is_hidden_and_forbidden(credential, monkeypatch):
    """A subscription without a role: not listed, 403 AuthorizationFailed, left out of ARG."""
    base = default_estate()
    estate = type(base)(
        **{
            **{f: getattr(base, f) for f in base.__dataclass_fields__},
            "subscriptions": (
                base.subscriptions[0],
                Subscription(
                    **{
                        **{
                            f: getattr(base.subscriptions[1], f)
                            for f in Subscription.__dataclass_fields__
                        },
                        "accessible": False,
                    }
                ),
            ),
        }
    )
    with SimulatedEstate(estate).start() as sim:
        for name, value in sim.env.items():
            monkeypatch.setenv(name, value)
        from azure.identity import ManagedIdentityCredential  # noqa: PLC0415 - needs the new env

        with ManagedIdentityCredential(client_id=sim.env["AZURE_CLIENT_ID"]) as cred:
            with SubscriptionClient(cred, **arm_kwargs(sim)) as subs:
                assert [s.subscription_id for s in subs.subscriptions.list()] == [DEMO_SUB_PROD]
            with (
                ContainerServiceClient(cred, DEMO_SUB_DEV, **arm_kwargs(sim)) as aks,
                pytest.raises(HttpResponseError) as caught,
            ):
                list(aks.managed_clusters.list())
            with ResourceGraphClient(cred, **arm_kwargs(sim)) as graph:
                rows, _ = all_pages(
                    graph, SCANNER_QUERY, subscriptions=[DEMO_SUB_PROD, DEMO_SUB_DEV]
                )
    assert arm_error(caught.value)[:2] == (403, "AuthorizationFailed")
    assert {r["subscriptionId"] for r in rows} == {DEMO_SUB_PROD}


def test_stopped_cluster_kubeconfig_points_at_a_refusing_port(sim, credential):
    """A stopped cluster has no API server: its kubeconfig's server refuses connections."""
    with ContainerServiceClient(credential, DEMO_SUB_DEV, **arm_kwargs(sim)) as client:
        result = client.managed_clusters.list_cluster_user_credentials("rg-dev", "aks-dev-stopped")
    server = yaml.safe_load(kubeconfig_bytes(result))["clusters"][0]["cluster"]["server"]
    host, port = server.removeprefix("https://").split(":")
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((host, int(port)), timeout=5).close()


def arm_get(sim: SimulatedEstate, credential: Any, path: str, api_version: str) -> Any:
    """GET ``path`` through a management client's pipeline; the JSON body (raises on error)."""
    with ContainerServiceClient(credential, DEMO_SUB_PROD, **arm_kwargs(sim)) as client:
        response = client.send_request(
            HttpRequest("GET", path, params={"api-version": api_version})
        )
        if response.status_code != 200:
            raise HttpResponseError(response=response, error_format=ARMErrorFormat)
        return response.json()


def cluster_path(subscription: str, group: str, name: str) -> str:
    return (
        f"/subscriptions/{subscription}/resourceGroups/{group}/providers/"
        f"Microsoft.ContainerService/managedClusters/{name}"
    )


class TestClusterControlReads:
    """The reads of the cluster-scoped controls, in their REST shapes and error bodies."""

    def test_diagnostic_settings_are_a_value_list(self, sim, credential):
        """listDiagnosticSettings shape: value[] with logs[{category|categoryGroup, enabled}]."""
        body = arm_get(
            sim,
            credential,
            cluster_path(DEMO_SUB_PROD, "rg-prod-weu", "aks-prod-weu")
            + "/providers/Microsoft.Insights/diagnosticSettings",
            "2021-05-01-preview",
        )
        (setting,) = body["value"]
        assert setting["type"] == "Microsoft.Insights/diagnosticSettings"
        assert setting["properties"]["workspaceId"].endswith("/workspaces/law-aks")
        assert {"category": "kube-audit-admin", "enabled": True} in [
            {k: v for k, v in log.items() if k != "retentionPolicy"}
            for log in setting["properties"]["logs"]
        ]
        assert "nextLink" not in body  # the collection is not pageable (x-ms-pageable: null)

    def test_refused_diagnostic_settings_name_the_action(self, sim, credential):
        """A cluster whose settings the identity may not read: ARM's 403 naming the action."""
        with pytest.raises(HttpResponseError) as caught:
            arm_get(
                sim,
                credential,
                cluster_path(DEMO_SUB_PROD, "rg-local", "aks-local-only")
                + "/providers/Microsoft.Insights/diagnosticSettings",
                "2021-05-01-preview",
            )
        status, code, message = arm_error(caught.value)
        assert (status, code) == (403, "AuthorizationFailed")
        assert "'Microsoft.Insights/diagnosticSettings/read'" in message

    def test_role_definitions_by_id(self, sim, credential):
        """A built-in role by its subscription-scoped id; an unknown one is 404."""
        acr_pull = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
        body = arm_get(
            sim,
            credential,
            f"/subscriptions/{DEMO_SUB_PROD}/providers/Microsoft.Authorization/roleDefinitions/{acr_pull}",
            "2022-04-01",
        )
        assert body["properties"]["roleName"] == "AcrPull"
        assert body["properties"]["permissions"][0]["actions"] == [
            "Microsoft.ContainerRegistry/registries/pull/read"
        ]
        with pytest.raises(HttpResponseError) as caught:
            arm_get(
                sim,
                credential,
                "/providers/Microsoft.Authorization/roleDefinitions/00000000-0000-0000-0000-000000000000",
                "2022-04-01",
            )
        assert arm_error(caught.value)[:2] == (404, "RoleDefinitionDoesNotExist")

    @pytest.mark.parametrize(
        ("query", "count", "kind"),
        [
            (
                "securityresources | where type =~ 'microsoft.security/pricings' | project id, subscriptionId, properties",
                2,
                "pricing",
            ),
            (
                "resources | where type =~ 'microsoft.containerregistry/registries' | project id, name, properties",
                3,
                "registry",
            ),
            (
                "authorizationresources | where type =~ 'microsoft.authorization/roleassignments' | project id, properties",
                8,  # seven in the production subscription (one at aks-prod-weu's scope), one in dev
                "assignment",
            ),
            (
                "resources | where type =~ 'microsoft.security/pricings' | project id",
                0,
                "wrong-table",
            ),
        ],
        ids=["pricings", "registries", "role-assignments", "wrong-table"],
    )
    def test_resource_graph_tables(self, sim, credential, query, count, kind):
        """Each table answers its own type, paged with skip tokens like the resources table."""
        with ResourceGraphClient(credential, **arm_kwargs(sim)) as client:
            rows, pages = all_pages(client, query, top=1000)
        assert len(rows) == count
        assert len(pages) == max(1, -(-count // 3))  # pages of three
        if kind == "pricing":
            standard = next(r for r in rows if r["subscriptionId"] == DEMO_SUB_PROD)
            (extension,) = standard["properties"]["extensions"]
            assert extension == {
                "name": "ContainerRegistriesVulnerabilityAssessments",
                "isEnabled": "True",  # a string, as in ListPricings_example.json
            }

    @pytest.mark.parametrize(
        ("endpoint", "table"),
        [
            (Endpoint.SECURITY_RESOURCES, "securityresources"),
            (Endpoint.AUTHORIZATION_RESOURCES, "authorizationresources"),
        ],
        ids=["security", "authorization"],
    )
    def test_a_table_fault_leaves_the_other_tables_alone(self, sim, credential, endpoint, table):
        """A fault on one table's endpoint fails its queries only, with ARM's 403 body."""
        sim.faults.add(Fault(endpoint, Action.ERROR, 403))
        with ResourceGraphClient(credential, **arm_kwargs(sim)) as client:
            with pytest.raises(HttpResponseError) as caught:
                all_pages(client, f"{table} | where type =~ 'x/y'")
            rows, _ = all_pages(client, SCANNER_QUERY)
        assert arm_error(caught.value)[:2] == (403, "AuthorizationFailed")
        assert len(rows) == 5

    def test_managed_cluster_carries_what_the_controls_read(self, sim, credential):
        """identityProfile.kubeletidentity, networkPolicy, authorized ranges and KMS, by ARM's names."""
        with ContainerServiceClient(credential, DEMO_SUB_PROD, **arm_kwargs(sim)) as client:
            mc = client.managed_clusters.get("rg-prod-weu", "aks-prod-weu").as_dict()
        props = mc["properties"]
        assert props["identityProfile"]["kubeletidentity"]["objectId"]
        assert props["networkProfile"]["networkPolicy"] == "cilium"
        assert props["apiServerAccessProfile"]["authorizedIPRanges"] == [
            "203.0.113.0/24",
            "198.51.100.10/32",
        ]
        assert props["securityProfile"]["azureKeyVaultKms"]["enabled"] is True
        legacy = ContainerServiceClient(credential, DEMO_SUB_PROD, **arm_kwargs(sim))
        with legacy:
            old = legacy.managed_clusters.get("rg-legacy-eus", "aks-legacy-eus").as_dict()
        assert "networkPolicy" not in old["properties"]["networkProfile"]
        assert old["properties"]["agentPoolProfiles"][0]["enableNodePublicIP"] is True
