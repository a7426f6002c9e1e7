"""API and credential failures become reasons an operator can act on.

(Transport failures on the wire, for configz and node lists alike:
tests/adapters/test_kube_client.py.)"""

from __future__ import annotations

import pytest
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError

from shared.adapters import kube_policy
from shared.adapters.azure_arm import AksConnector, credentials_denied_hint
from shared.adapters.azure_errors import azure_reason
from shared.adapters.kube_policy import RequestPolicy
from shared.core.errors import (
    CredentialsError,
)
from shared.core.model import Cluster

CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
SERVER = "https://127.0.0.1:1"


class TestStatusReasons:
    @pytest.mark.parametrize(
        ("code", "message", "hint"),
        [
            pytest.param(
                403,
                'nodes "n1" is forbidden: User "x" cannot get resource "nodes/proxy"',
                kube_policy.nodes_proxy_denied_hint(),
                id="403-nodes-proxy",
            ),
            pytest.param(404, 'nodes "n1" not found', kube_policy.node_gone_hint(), id="404-gone"),
            pytest.param(
                503,
                "error trying to reach service: tls: failed to verify certificate: x509: "
                "certificate signed by unknown authority",
                kube_policy.kubelet_tls_hint(),
                id="503-kubelet-tls",
            ),
        ],
    )
    def test_configz_status_gets_its_hint_and_the_apiservers_words(self, code, message, hint):
        """The reason has the HTTP code, the named hint and the Status message (the wording
        both the configz reader and the node list use)."""
        reason = kube_policy.status_message(code, message, "reading configz", 0)
        assert f"HTTP {code}" in reason
        assert hint in reason
        assert message in reason


class TestTokenFailure:
    def test_credential_failure_names_the_managed_identity(self):
        """azure-identity's error (no HTTP status) is a token failure, not 'HTTP None'."""
        exc = ClientAuthenticationError(
            "ManagedIdentityCredential authentication unavailable. (invalid_scope) 500, boom"
        )
        reason = azure_reason(exc, "listing subscriptions")
        assert "managed identity could not get a token while listing subscriptions" in reason
        assert "AZURE_CLIENT_ID" in reason
        assert "(invalid_scope) 500, boom" in reason
        assert "HTTP None" not in reason


class _Denied:
    """ARM REST calls whose listClusterUserCredential answers 403."""

    def cluster_user_kubeconfigs(self, subscription: str, group: str, name: str) -> None:
        exc = HttpResponseError(message="(AuthorizationFailed) The client 'x' ...")
        exc.status_code = 403
        raise exc


class _Clients:
    credential = None
    rest = _Denied()


class TestCredentialsDenied:
    def test_403_on_list_cluster_user_credential_says_what_to_grant(self):
        """A 403 from listClusterUserCredential leads with the action to grant."""
        cluster = Cluster(
            resource_id="/subscriptions/s/resourceGroups/g/providers/"
            "Microsoft.ContainerService/managedClusters/c",
            subscription_id="s",
            resource_group="g",
            name="c",
            aad_managed=True,
        )
        connector = AksConnector(_Clients(), RequestPolicy(), allow_local_accounts=False)  # type: ignore[arg-type]  # a fake of AzureClients
        with pytest.raises(CredentialsError) as caught:
            connector.connect(cluster)
        assert str(caught.value).startswith(credentials_denied_hint())
        assert "HTTP 403" in str(caught.value)
