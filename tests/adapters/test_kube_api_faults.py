"""Transport and API failures become reasons an operator can act on, with bounded retries."""

from __future__ import annotations

import io
import json
import socket
from types import SimpleNamespace
from typing import Any

import pytest
import urllib3
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from kubernetes.client.exceptions import ApiException

from shared.adapters import kube_policy
from shared.adapters.azure_arm import AksConnector, credentials_denied_hint
from shared.adapters.azure_errors import azure_reason
from shared.adapters.kube_api import KubeSession
from shared.adapters.kube_policy import RequestPolicy
from shared.adapters.kubeconfig import KubeEndpoint
from shared.core.errors import (
    ApiServerError,
    ApiServerUnreachableError,
    CredentialsError,
)
from shared.core.model import Cluster

CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
SERVER = "https://127.0.0.1:1"


@pytest.fixture(name="session")
def _session():
    session = KubeSession(
        KubeEndpoint(SERVER, CA), RequestPolicy(timeout=2.0), lambda: "t", sleep=lambda _: None
    )
    yield session
    session.close()


def wrapped(reason: Exception) -> urllib3.exceptions.MaxRetryError:
    """What urllib3 raises with retries=0: the cause inside a MaxRetryError."""
    return urllib3.exceptions.MaxRetryError(None, "/api/v1/nodes/n1/proxy/configz", reason)  # type: ignore[arg-type]  # no pool needed for the message


def failing(exc: Exception, calls: list[int]) -> Any:
    def call(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        raise exc

    return call


def status_error(code: int, message: str) -> ApiException:
    exc = ApiException(status=code, reason="x")
    exc.body = json.dumps({"kind": "Status", "message": message, "code": code})
    return exc


class TestTransportCauses:
    @pytest.mark.parametrize(
        ("cause", "words", "tries"),
        [
            pytest.param(
                urllib3.exceptions.ReadTimeoutError(None, "/", "Read timed out."),  # type: ignore[arg-type]  # no pool needed
                "timed out after 2s while listing nodes (SCAN_REQUEST_TIMEOUT)",
                1,
                id="read-timeout",
            ),
            pytest.param(
                urllib3.exceptions.ProtocolError("Connection aborted.", ConnectionResetError(104)),
                "broke while listing nodes",
                2,
                id="reset-retried-once",
            ),
            pytest.param(
                urllib3.exceptions.SSLError("certificate verify failed"),
                "TLS verification of the API server",
                1,
                id="tls",
            ),
            pytest.param(
                urllib3.exceptions.NewConnectionError(
                    None,  # type: ignore[arg-type]  # no connection object needed
                    "Failed to establish a new connection: [Errno 111] Connection refused",
                ),
                "refused the connection while listing nodes",
                1,
                id="refused",
            ),
        ],
    )
    def test_the_cause_inside_max_retry_error_is_named(
        self, session, monkeypatch, cause, words, tries
    ):
        """A MaxRetryError is judged by its cause, never reported as 'unreachable'.

        (The kubernetes client's path, which lists nodes; configz reads have their own reader,
        tests/adapters/test_configz_reader.py.)"""
        calls: list[int] = []
        monkeypatch.setattr(session._api, "list_node", failing(wrapped(cause), calls))
        with pytest.raises(ApiServerError) as caught:
            session.list_nodes()
        assert words in str(caught.value)
        assert "private cluster" not in str(caught.value)
        assert len(calls) == tries

    def test_unresolvable_name_keeps_the_unreachable_reason(self, session, monkeypatch):
        """A connect failure other than a refusal stays 'unreachable' (private clusters)."""
        cause = urllib3.exceptions.NameResolutionError(
            "x.hcp.example",
            None,  # type: ignore[arg-type]  # no connection object needed
            socket.gaierror(-2, "Name or service not known"),
        )
        monkeypatch.setattr(session._api, "list_node", failing(wrapped(cause), []))
        with pytest.raises(ApiServerUnreachableError, match="unreachable while listing nodes"):
            session.list_nodes()


class _Trickle(urllib3.HTTPResponse):
    """A body that never ends: 16 bytes per read."""

    def read1(self, amt: int | None = None, decode_content: bool | None = None) -> bytes:
        return b"x" * 16


class TestSlowBody:
    def test_a_trickling_body_is_cut_at_the_total_time_bound(self, session, monkeypatch):
        """Each read returns promptly, yet a node-list page must be whole within
        SCAN_REQUEST_TIMEOUT (configz: tests/adapters/test_configz_reader.py)."""
        clock = iter(float(i) * 0.25 for i in range(1000))
        monkeypatch.setattr("shared.adapters.kube_api._clock", lambda: next(clock))
        monkeypatch.setattr(
            session._api,
            "list_node",
            lambda *a, **k: _Trickle(body=io.BytesIO(b""), status=200, preload_content=False),
        )
        with pytest.raises(ApiServerError) as caught:
            session.list_nodes()
        assert str(caught.value) == kube_policy.slow_body_reason(2.0, "node-list page")
        assert "SCAN_REQUEST_TIMEOUT" in str(caught.value)

    def test_a_body_in_time_is_read_whole(self, session, monkeypatch):
        """The bound does not cut a normal body."""
        body = b'{"items":[{"metadata":{"name":"n1"}}],"metadata":{}}'
        monkeypatch.setattr(
            session._api,
            "list_node",
            lambda *a, **k: urllib3.HTTPResponse(
                body=io.BytesIO(body), status=200, preload_content=False
            ),
        )
        assert [node.name for node in session.list_nodes()] == ["n1"]


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
    def test_configz_status_gets_its_hint_and_the_apiservers_words(
        self, session, monkeypatch, code, message, hint
    ):
        """The reason has the HTTP code, the named hint and the Status message (the wording
        both the configz reader and the node list use)."""
        reason = kube_policy.status_message(code, message, "reading configz", 0)
        assert f"HTTP {code}" in reason
        assert hint in reason
        assert message in reason

    def test_node_list_403_keeps_the_list_permission_hint(self, session, monkeypatch):
        """A 403 on the node list names get/list on nodes, not nodes/proxy alone."""
        monkeypatch.setattr(
            session._api, "list_node", failing(status_error(403, "nodes is forbidden"), [])
        )
        with pytest.raises(ApiServerError, match="get/list on nodes"):
            session.list_nodes()


class TestEndlessNodeList:
    def test_a_continue_token_that_comes_back_stops_the_pager(self, session, monkeypatch):
        """The same token twice ends the list with an ERROR naming it, after two pages."""
        calls: list[dict[str, Any]] = []
        page = json.dumps(
            {"items": [{"metadata": {"name": "n1"}}], "metadata": {"continue": "same"}}
        ).encode()

        def list_node(**kwargs: Any) -> urllib3.HTTPResponse:
            calls.append(kwargs)
            return urllib3.HTTPResponse(body=io.BytesIO(page), status=200, preload_content=False)

        monkeypatch.setattr(session._api, "list_node", list_node)
        with pytest.raises(ApiServerError) as caught:
            session.list_nodes()
        assert "continue token" in str(caught.value)
        assert "node list did not end" in str(caught.value)
        assert len(calls) == 2


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
    """managed_clusters of an AKS client whose listClusterUserCredential answers 403."""

    def list_cluster_user_credentials(self, group: str, name: str) -> None:
        exc = HttpResponseError(message="(AuthorizationFailed) The client 'x' ...")
        exc.status_code = 403
        raise exc


class _Clients:
    credential = None

    def aks(self, subscription: str) -> Any:
        return SimpleNamespace(managed_clusters=_Denied())


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
