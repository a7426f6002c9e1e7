"""The impostor API server switch, and the record of issued tokens that leak tests search for."""

from __future__ import annotations

import base64
import json

import pytest
import urllib3
import yaml
from azure.identity import ManagedIdentityCredential
from azure.mgmt.containerservice import ContainerServiceClient

from sim import AKS_SERVER_APP_ID, SimulatedEstate
from tests.sim.conftest import AKS_SCOPE, core_v1, raw_get

LEGACY = "aks-legacy-eus"
PROD_SUB = "3c5a7e91-2b4d-4f6a-8c0e-1a2b3c4d5e6f"


def kubeconfig_server(
    sim: SimulatedEstate, credential: ManagedIdentityCredential
) -> tuple[str, str]:
    """(server, CA PEM) of the kubeconfig listClusterUserCredential returns for LEGACY now."""
    with ContainerServiceClient(
        credential,
        PROD_SUB,
        base_url=sim.arm_endpoint,
        credential_scopes=[f"{sim.arm_endpoint}/.default"],
    ) as client:
        result = client.managed_clusters.list_cluster_user_credentials("rg-legacy-eus", LEGACY)
    (kubeconfig,) = result.kubeconfigs or []
    document = yaml.safe_load(bytes(kubeconfig.value or b""))
    cluster = document["clusters"][0]["cluster"]
    return cluster["server"], base64.b64decode(cluster["certificate-authority-data"]).decode()


class TestImpostor:
    def test_kubeconfig_points_at_the_impostor_with_the_genuine_ca(self, sim, credential):
        """While open, listClusterUserCredential names the impostor's URL and still the cluster's own CA."""
        genuine = sim.api_server_url(LEGACY)
        with sim.impostor(LEGACY) as impostor:
            server, ca_pem = kubeconfig_server(sim, credential)
            assert server == impostor.url != genuine
            assert ca_pem == sim.cluster_ca_pem(LEGACY)
            assert impostor.ca_pem.decode() != ca_pem
        assert kubeconfig_server(sim, credential)[0] == genuine

    def test_cluster_ca_refuses_the_impostor(self, sim):
        """A client trusting the cluster CA fails the TLS handshake with the impostor."""
        with (
            sim.impostor(LEGACY) as impostor,
            core_v1(
                impostor.url, sim.cluster_ca_pem(LEGACY), token=sim.token(AKS_SERVER_APP_ID)
            ) as api,
            pytest.raises(urllib3.exceptions.MaxRetryError) as caught,
        ):
            api.list_node(_preload_content=False)
        assert isinstance(caught.value.reason, urllib3.exceptions.SSLError)
        assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value.reason)

    def test_impostor_answers_like_the_cluster_when_its_ca_is_trusted(self, sim, credential):
        """Trusting the impostor's CA, the node list is the cluster's: only verification tells them apart."""
        token = credential.get_token(AKS_SCOPE).token
        with (
            sim.impostor(LEGACY) as impostor,
            core_v1(impostor.url, impostor.ca_pem.decode(), token=token) as api,
        ):
            page = json.loads(raw_get(api.list_node(_preload_content=False)).data)
        names = sorted(i["metadata"]["name"] for i in page["items"])
        assert names == sorted(n.name for n in sim.estate.cluster(LEGACY).nodes())

    def test_stopped_cluster_has_no_impostor(self, sim):
        """A cluster without an API server cannot be impersonated; the error names it."""
        with pytest.raises(ValueError, match="aks-dev-stopped"), sim.impostor("aks-dev-stopped"):
            pass


class TestIssuedTokens:
    def test_every_token_the_endpoint_answered_is_recorded(self, sim, credential):
        """A token the credential received is among issued_tokens(); a minted one is not."""
        token = credential.get_token("https://storage.azure.com/.default").token
        assert token in sim.issued_tokens()
        assert sim.token(AKS_SERVER_APP_ID) not in sim.issued_tokens()
