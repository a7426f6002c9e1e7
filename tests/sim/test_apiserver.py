"""Each cluster's kube-apiserver through the official kubernetes client."""

from __future__ import annotations

import contextlib
import http.client
import json
import ssl
import time

import pytest
from azure.identity import ManagedIdentityCredential
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from sim import AKS_SERVER_APP_ID, Endpoint, SimulatedEstate
from sim.apiserver import decode_continue, encode_continue
from sim.estate import COMPLIANT, LEGACY
from sim.kubeletconfig import configz_body
from tests.sim.conftest import AKS_SCOPE, configz, core_v1, header, raw_get, status_of

PROD = "aks-prod-weu"
UNAUTHORIZED = {
    "kind": "Status",
    "apiVersion": "v1",
    "metadata": {},
    "status": "Failure",
    "message": "Unauthorized",
    "reason": "Unauthorized",
    "code": 401,
}


def node_names(sim: SimulatedEstate, cluster: str) -> list[str]:
    return sorted(n.name for n in sim.estate.cluster(cluster).nodes())


def entra(
    sim: SimulatedEstate, cluster: str, credential: ManagedIdentityCredential | None = None
) -> contextlib.AbstractContextManager[k8s.CoreV1Api]:
    """A client for ``cluster`` with the identity's AKS token (from the credential or minted)."""
    token = (
        credential.get_token(AKS_SCOPE).token
        if credential is not None
        else sim.token(AKS_SERVER_APP_ID)
    )
    return core_v1(sim.api_server_url(cluster), sim.cluster_ca_pem(cluster), token=token)


class TestNodeList:
    def test_list_node_pages_with_continue_tokens(self, sim, credential):
        """limit=2 over seven nodes: four pages, remainingItemCount counts down, names in order."""
        names, remaining, token = [], [], None
        with entra(sim, PROD, credential) as api:
            while True:
                response = api.list_node(limit=2, _continue=token, _preload_content=False)
                page = json.loads(raw_get(response).data)
                assert (page["kind"], page["apiVersion"]) == ("NodeList", "v1")
                names += [i["metadata"]["name"] for i in page["items"]]
                remaining.append(page["metadata"].get("remainingItemCount"))
                token = page["metadata"].get("continue")
                if not token:
                    break
        assert names == node_names(sim, PROD)
        assert remaining == [5, 3, 1, None]

    def test_typed_list_node_reads_labels_and_node_info(self, sim):
        """The client's own models parse the items: AKS labels, kubelet version, Ready."""
        with entra(sim, PROD) as api:
            nodes = [n.to_dict() for n in api.list_node(limit=100).items]
        labels, status = nodes[0]["metadata"]["labels"], nodes[0]["status"]
        assert labels["kubernetes.azure.com/agentpool"] == "system"
        assert labels["agentpool"] == "system"
        assert labels["kubernetes.io/os"] == "linux"
        assert labels["node.kubernetes.io/instance-type"] == "Standard_D4ds_v5"
        assert labels["kubernetes.azure.com/cluster"] == "MC_rg-prod-weu_aks-prod-weu_westeurope"
        assert status["node_info"]["kubelet_version"] == "v1.30.6"
        assert status["node_info"]["os_image"] == "Ubuntu 22.04.5 LTS"
        assert {"type": "Ready", "status": "True"}.items() <= next(
            c for c in status["conditions"] if c["type"] == "Ready"
        ).items()
        assert status["addresses"][0]["type"] == "InternalIP"

    def test_invalid_continue_token_is_a_400_status(self, sim):
        """A token the apiserver cannot decode: 400 BadRequest 'invalid continue token: ...'."""
        with entra(sim, PROD) as api, pytest.raises(ApiException) as caught:
            api.list_node(limit=2, _continue="%%%not-base64%%%")
        assert caught.value.status == 400
        status = status_of(caught.value)
        assert status["reason"] == "BadRequest"
        assert status["message"].startswith("invalid continue token: continue key is not valid")

    def test_continue_tokens_round_trip(self):
        """Tokens are the apiserver's base64url JSON with the next start key."""
        assert decode_continue(encode_continue(42, "aks-a")) == (42, "aks-a\x00")

    def test_expired_continue_fault_is_410(self, sim):
        """A NODE_LIST fault with 410 renders the apiserver's Expired status."""
        from sim import Fault  # noqa: PLC0415 - local to the fault tests

        sim.faults.add(Fault(Endpoint.NODE_LIST, status=410, cluster=PROD, times=1))
        with entra(sim, PROD) as api, pytest.raises(ApiException) as caught:
            api.list_node(limit=2)
        assert (caught.value.status, status_of(caught.value)["reason"]) == (410, "Expired")


class TestConfigz:
    def test_configz_body_is_the_kubelets_compact_json(self, sim, credential):
        """connect_get_node_proxy_with_path(..., _preload_content=False) gives the exact body."""
        node = node_names(sim, PROD)[0]
        with entra(sim, PROD, credential) as api:
            response = configz(api, node)
            data = response.data
            assert response.headers["Content-Type"] == "application/json"
        assert data == configz_body(COMPLIANT)
        kubelet = json.loads(data)["kubeletconfig"]
        assert (
            kubelet["kind"],
            kubelet["eventRecordQPS"],
            kubelet["streamingConnectionIdleTimeout"],
        ) == ("KubeletConfiguration", 0, "4h0m0s")
        assert "readOnlyPort" not in kubelet

    def test_legacy_cluster_serves_its_own_configuration(self, sim):
        """aks-legacy-eus answers the non-compliant configuration."""
        node = node_names(sim, "aks-legacy-eus")[0]
        with entra(sim, "aks-legacy-eus") as api:
            data = configz(api, node).data
        assert data == configz_body(LEGACY)
        assert json.loads(data)["kubeletconfig"]["readOnlyPort"] == 10255

    def test_unreachable_node_is_the_apiservers_dial_error(self, sim):
        """The estate's unreachable node: 503 ServiceUnavailable, 'error trying to reach service'."""
        node = next(n for n in sim.estate.cluster(PROD).nodes() if n.override.unreachable)
        with entra(sim, PROD) as api, pytest.raises(ApiException) as caught:
            configz(api, node.name)
        assert caught.value.status == 503
        assert status_of(caught.value) == {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": f"error trying to reach service: dial tcp {node.internal_ip}:10250: connect: connection refused",
            "reason": "ServiceUnavailable",
            "code": 503,
        }

    def test_unknown_node_is_404(self, sim):
        """nodes "x" not found, reason NotFound, details name and kind."""
        with entra(sim, PROD) as api, pytest.raises(ApiException) as caught:
            api.connect_get_node_proxy_with_path("aks-nope-00000000-vmss000000", "configz")
        status = status_of(caught.value)
        assert (caught.value.status, status["reason"], status["message"]) == (
            404,
            "NotFound",
            'nodes "aks-nope-00000000-vmss000000" not found',
        )
        assert status["details"] == {"name": "aks-nope-00000000-vmss000000", "kind": "nodes"}

    def test_throttle_then_success(self, sim):
        """configz_throttle: one 429 with Retry-After, then the body."""
        node = node_names(sim, PROD)[0]
        sim.faults.configz_throttle(PROD, node, retry_after=2, times=1)
        with entra(sim, PROD) as api:
            with pytest.raises(ApiException) as caught:
                configz(api, node)
            data = configz(api, node).data
        assert caught.value.status == 429
        assert header(caught.value, "Retry-After") == "2"
        assert status_of(caught.value)["reason"] == "TooManyRequests"
        assert json.loads(data)["kubeletconfig"]["kind"] == "KubeletConfiguration"

    def test_configz_503_with_retry_after(self, sim):
        """configz_error answers 503 ServiceUnavailable with Retry-After until removed."""
        node = node_names(sim, PROD)[1]
        fault = sim.faults.configz_error(PROD, node, status=503, retry_after=1)
        with entra(sim, PROD) as api:
            for _ in range(2):
                with pytest.raises(ApiException) as caught:
                    configz(api, node)
                assert (caught.value.status, header(caught.value, "Retry-After")) == (503, "1")
            sim.faults.remove(fault)
            assert configz(api, node).status == 200

    def test_node_unreachable_fault(self, sim):
        """faults.node_unreachable turns a healthy node into the dial error."""
        node = next(n for n in sim.estate.cluster("aks-batch-neu").nodes() if n.pool.name == "cpu")
        sim.faults.node_unreachable("aks-batch-neu", node.name)
        with entra(sim, "aks-batch-neu") as api, pytest.raises(ApiException) as caught:
            configz(api, node.name)
        assert caught.value.status == 503
        assert f"dial tcp {node.internal_ip}:10250" in status_of(caught.value)["message"]

    def test_configz_requests_are_counted(self, sim):
        """Counters record configz answers per cluster and status."""
        node = node_names(sim, "aks-batch-neu")[0]
        before = sim.counters.count(Endpoint.CONFIGZ, cluster="aks-batch-neu", status=200)
        with entra(sim, "aks-batch-neu") as api:
            configz(api, node)
        assert (
            sim.counters.count(Endpoint.CONFIGZ, cluster="aks-batch-neu", status=200) == before + 1
        )


class TestAuthentication:
    def test_token_for_another_audience_is_401(self, sim, credential):
        """An ARM token is not an AKS token: the exact 401 Unauthorized Status."""
        token = credential.get_token(f"{sim.arm_endpoint}/.default").token
        with (
            core_v1(sim.api_server_url(PROD), sim.cluster_ca_pem(PROD), token=token) as api,
            pytest.raises(ApiException) as caught,
        ):
            api.list_node()
        assert caught.value.status == 401
        assert status_of(caught.value) == UNAUTHORIZED

    def test_no_credential_is_401(self, sim):
        """Anonymous requests are refused."""
        with (
            core_v1(sim.api_server_url(PROD), sim.cluster_ca_pem(PROD)) as api,
            pytest.raises(ApiException) as caught,
        ):
            api.list_node()
        assert caught.value.status == 401

    def test_local_account_certificate_works_on_a_cluster_without_entra(self, sim):
        """aks-local-only: the kubeconfig's client certificate is system:masters."""
        pki = sim.cluster_pki("aks-local-only")
        with core_v1(
            sim.api_server_url("aks-local-only"),
            sim.cluster_ca_pem("aks-local-only"),
            client_cert_pem=pki.client_cert_pem,
            client_key_pem=pki.client_key_pem,
        ) as api:
            names = [str(i.metadata.name) for i in api.list_node().items if i.metadata is not None]
            data = configz(api, names[0]).data
        assert names == node_names(sim, "aks-local-only")
        assert data == configz_body(COMPLIANT)

    def test_cluster_without_entra_rejects_entra_tokens(self, sim, credential):
        """No Entra webhook: the managed identity's AKS token is 401."""
        with entra(sim, "aks-local-only", credential) as api, pytest.raises(ApiException) as caught:
            api.list_node()
        assert caught.value.status == 401

    def test_local_accounts_disabled_rejects_the_certificate(self, sim):
        """aks-prod-weu disables local accounts: its own CA's client certificate is refused."""
        pki = sim.cluster_pki(PROD)
        with (
            core_v1(
                sim.api_server_url(PROD),
                sim.cluster_ca_pem(PROD),
                client_cert_pem=pki.client_cert_pem,
                client_key_pem=pki.client_key_pem,
            ) as api,
            pytest.raises(ApiException) as caught,
        ):
            api.list_node()
        assert caught.value.status == 401


def test_unauthorized_principal_is_403_with_the_rbac_message(credential, monkeypatch):
    """A principal without nodes/proxy gets the apiserver's forbidden text (+ guard's on Azure RBAC)."""
    from dataclasses import replace  # noqa: PLC0415

    from sim import default_estate  # noqa: PLC0415

    base = default_estate()
    prod = replace(
        base.subscriptions[0],
        clusters=tuple(
            replace(c, proxy_readers=()) if c.name == PROD else c
            for c in base.subscriptions[0].clusters
        ),
    )
    with SimulatedEstate(replace(base, subscriptions=(prod, base.subscriptions[1]))).start() as sim:
        node = node_names(sim, PROD)[0]
        with entra(sim, PROD) as api:
            listed = api.list_node().items
            with pytest.raises(ApiException) as caught:
                configz(api, node)
    status = status_of(caught.value)
    assert len(listed) == 7
    assert (caught.value.status, status["reason"]) == (403, "Forbidden")
    assert status["message"] == (
        f'nodes "{node}" is forbidden: User "{base.identity.principal_id}" cannot get resource '
        '"nodes/proxy" in API group "" at the cluster scope: User does not have access to the resource '
        "in Azure. Update role assignment to allow access."
    )


def test_connections_are_kept_alive(sim):
    """HTTP/1.1 keep-alive: many requests over one TLS connection."""
    context = ssl.create_default_context(cadata=sim.cluster_ca_pem(PROD))
    host, port = sim.api_server_url(PROD).removeprefix("https://").split(":")
    node = node_names(sim, PROD)[0]
    connection = http.client.HTTPSConnection(host, int(port), context=context, timeout=5)
    sockets = set()
    try:
        for _ in range(20):
            connection.request(
                "GET",
                f"/api/v1/nodes/{node}/proxy/configz",
                headers={"Authorization": f"Bearer {sim.token(AKS_SERVER_APP_ID)}"},
            )
            response = connection.getresponse()
            assert response.status == 200
            response.read()
            sockets.add(id(connection.sock))
        assert len(sockets) == 1
    finally:
        connection.close()


def test_configured_latency_delays_configz_and_list_pages():
    """Latency.configz_ms and list_ms are added to every answer."""
    from sim import default_estate  # noqa: PLC0415

    estate = default_estate().with_latency(configz_ms=120, list_ms=80)
    with SimulatedEstate(estate).start() as sim, entra(sim, PROD) as api:
        node = node_names(sim, PROD)[0]
        started = time.monotonic()
        configz(api, node)
        configz_seconds = time.monotonic() - started
        started = time.monotonic()
        api.list_node(limit=3, _preload_content=False)
        list_seconds = time.monotonic() - started
    assert configz_seconds >= 0.12
    assert list_seconds >= 0.08
