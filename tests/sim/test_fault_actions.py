"""The fault actions the fault matrix needs, each seen on the wire through the real clients."""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import socket
import ssl
from collections.abc import Iterator
from typing import Any

import pytest
import urllib3
import yaml
from azure.core.exceptions import HttpResponseError
from azure.identity import ManagedIdentityCredential
from azure.mgmt.containerservice import ContainerServiceClient
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from sim import AKS_SERVER_APP_ID, Action, Endpoint, Fault, SimulatedEstate
from sim.apiserver import decode_continue
from sim.estate import DEMO_SUB_PROD
from sim.faults import KUBELET_TLS_MESSAGE
from tests.sim.conftest import arm_error, configz, core_v1, raw_get, status_of

PROD = "aks-prod-weu"
PROD_RG = "rg-prod-weu"


def first_node(sim: SimulatedEstate, cluster: str = PROD) -> str:
    return sorted(n.name for n in sim.estate.cluster(cluster).nodes())[0]


def api(
    sim: SimulatedEstate, cluster: str = PROD
) -> contextlib.AbstractContextManager[k8s.CoreV1Api]:
    return core_v1(
        sim.api_server_url(cluster), sim.cluster_ca_pem(cluster), token=sim.token(AKS_SERVER_APP_ID)
    )


@contextlib.contextmanager
def raw_configz(sim: SimulatedEstate, node: str) -> Iterator[http.client.HTTPResponse]:
    """GET configz with http.client (no retries, no body handling), headers read."""
    port = int(sim.api_server_url(PROD).rsplit(":", 1)[1])
    context = ssl.create_default_context(cadata=sim.cluster_ca_pem(PROD))
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=10)
    try:
        conn.request(
            "GET",
            f"/api/v1/nodes/{node}/proxy/configz",
            headers={"Authorization": f"Bearer {sim.token(AKS_SERVER_APP_ID)}"},
        )
        yield conn.getresponse()
    finally:
        conn.close()


def user_kubeconfig(sim: SimulatedEstate, credential: ManagedIdentityCredential) -> dict[str, Any]:
    with ContainerServiceClient(
        credential,
        DEMO_SUB_PROD,
        base_url=sim.arm_endpoint,
        credential_scopes=[f"{sim.arm_endpoint}/.default"],
        retry_total=0,
    ) as client:
        result = client.managed_clusters.list_cluster_user_credentials(PROD_RG, PROD)
    assert result.kubeconfigs is not None
    value = result.kubeconfigs[0].value
    assert value is not None
    document: dict[str, Any] = yaml.safe_load(bytes(value))
    return document


class TestConfigzShapes:
    def test_slow_body_sends_the_head_then_a_few_bytes_at_a_time(self, sim):
        """SLOW_BODY: full Content-Length at once, then the body in chunk-sized pieces."""
        node = first_node(sim)
        sim.faults.slow_body(PROD, node, every=0.01, chunk=7)
        with raw_configz(sim, node) as response:
            length = int(response.headers["Content-Length"])
            first = response.read1(4096)
            rest = response.read()
        assert response.status == 200
        assert len(first) <= 7
        assert json.loads(first + rest)["kubeletconfig"]["kind"] == "KubeletConfiguration"
        assert len(first + rest) == length

    def test_truncate_announces_the_full_length_and_closes_early(self, sim):
        """TRUNCATE: Content-Length of the whole body, ``chunk`` bytes of it, then EOF."""
        node = first_node(sim)
        sim.faults.truncated_body(PROD, node, keep=50)
        with raw_configz(sim, node) as response:
            length = int(response.headers["Content-Length"])
            with pytest.raises(http.client.IncompleteRead) as caught:
                response.read()
        assert len(caught.value.partial) == 50
        assert length > 50

    def test_truncate_is_a_protocol_error_for_urllib3(self, sim):
        """What the kubernetes client's urllib3 sees of a truncated body."""
        node = first_node(sim)
        sim.faults.truncated_body(PROD, node, keep=50)
        with api(sim) as client:
            response = configz(client, node)
            with pytest.raises(urllib3.exceptions.ProtocolError):
                response.read()

    def test_configz_403_is_the_nodes_proxy_denial(self, sim):
        """A 403 fault on configz answers the RBAC denial for nodes/proxy."""
        node = first_node(sim)
        sim.faults.configz_error(PROD, node, status=403)
        with api(sim) as client, pytest.raises(ApiException) as caught:
            configz(client, node)
        status = status_of(caught.value)
        assert (caught.value.status, status["reason"]) == (403, "Forbidden")
        assert f'nodes "{node}" is forbidden' in status["message"]
        assert 'cannot get resource "nodes/proxy"' in status["message"]

    def test_configz_404_is_the_node_not_found(self, sim):
        """A 404 fault on configz answers the node's NotFound."""
        node = first_node(sim)
        sim.faults.configz_error(PROD, node, status=404)
        with api(sim) as client, pytest.raises(ApiException) as caught:
            configz(client, node)
        status = status_of(caught.value)
        assert (status["code"], status["reason"], status["message"]) == (
            404,
            "NotFound",
            f'nodes "{node}" not found',
        )

    def test_kubelet_tls_error_is_a_503_naming_x509(self, sim):
        """kubelet_tls_error: the proxy's ServiceUnavailable around the x509 failure."""
        node = first_node(sim)
        sim.faults.kubelet_tls_error(PROD, node)
        with api(sim) as client, pytest.raises(ApiException) as caught:
            configz(client, node)
        status = status_of(caught.value)
        assert (caught.value.status, status["reason"]) == (503, "ServiceUnavailable")
        assert status["message"] == KUBELET_TLS_MESSAGE

    def test_body_fault_can_be_large(self, sim):
        """BODY with 5 MB: the whole body is sent with its length."""
        node = first_node(sim)
        body = b'{"kubeletconfig":{"pad":"' + b"x" * (5 * 1024 * 1024) + b'"}}'
        sim.faults.add(
            Fault(Endpoint.CONFIGZ, Action.BODY, 200, cluster=PROD, node=node, body=body)
        )
        with raw_configz(sim, node) as response:
            assert int(response.headers["Content-Length"]) == len(body)
            assert len(response.read()) == len(body)


class TestEndlessContinue:
    def test_last_page_leads_back_to_the_first(self, sim):
        """ENDLESS_CONTINUE: every page has a token; after the last, the first page again."""
        sim.faults.endless_continue(PROD)
        pages: list[list[str]] = []
        tokens: list[str] = []
        token = None
        with api(sim) as client:
            for _ in range(5):
                page = json.loads(
                    raw_get(client.list_node(limit=3, _continue=token, _preload_content=False)).data
                )
                pages.append([i["metadata"]["name"] for i in page["items"]])
                token = page["metadata"]["continue"]
                tokens.append(token)
        names = sorted(n.name for n in sim.estate.cluster(PROD).nodes())
        assert len(names) == 7
        assert pages[:4] == [names[0:3], names[3:6], names[6:7], names[0:3]]
        assert tokens[0] == tokens[3]
        assert decode_continue(tokens[2])[1] == "\x00"


class TestClusterCredentials:
    def test_wrong_ca_kubeconfig_does_not_verify_the_api_server(self, sim, credential):
        """WRONG_CA: the kubeconfig's CA did not sign the API server's certificate."""
        sim.faults.wrong_ca(PROD)
        cluster = user_kubeconfig(sim, credential)["clusters"][0]["cluster"]
        assert cluster["server"] == sim.api_server_url(PROD)
        ca = base64.b64decode(cluster["certificate-authority-data"]).decode()
        assert ca != sim.cluster_ca_pem(PROD)
        port = int(cluster["server"].rsplit(":", 1)[1])
        context = ssl.create_default_context(cadata=ca)
        with (
            socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
            pytest.raises(ssl.SSLCertVerificationError),
        ):
            context.wrap_socket(raw, server_hostname="127.0.0.1")

    def test_refused_kubeconfig_names_a_closed_port(self, sim, credential):
        """REFUSED: the kubeconfig's server refuses connections."""
        sim.faults.api_server_refused(PROD)
        server = user_kubeconfig(sim, credential)["clusters"][0]["cluster"]["server"]
        assert server != sim.api_server_url(PROD)
        port = int(server.rsplit(":", 1)[1])
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=5).close()

    @pytest.mark.parametrize(
        ("status", "code", "words"),
        [
            pytest.param(403, "AuthorizationFailed", "listClusterUserCredential/action", id="403"),
            pytest.param(404, "ResourceNotFound", "was not found", id="404"),
        ],
    )
    def test_credential_errors_are_arms_own(self, sim, credential, status, code, words):
        """403 and 404 faults on listClusterUserCredential use ARM's codes and wording."""
        sim.faults.add(Fault(Endpoint.CREDENTIALS, Action.ERROR, status, cluster=PROD))
        with pytest.raises(HttpResponseError) as caught:
            user_kubeconfig(sim, credential)
        got_status, got_code, message = arm_error(caught.value)
        assert (got_status, got_code) == (status, code)
        assert words in message
