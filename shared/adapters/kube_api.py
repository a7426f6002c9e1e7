"""The Kubernetes edge: one API server's node list and configz reads, as a ClusterSession.

``KubeSession`` speaks through the lean client (shared.adapters.kube_client) on the scan's
event loop: the node list as a paged list (``limit``/``continue``, restarted when its token
expires), and each node's ``GET /api/v1/nodes/{name}/proxy/configz``. The Node objects become
``shared.core.model.Node`` here and go no further. The kubernetes client package is not used on
this path (``scan --kubeconfig`` uses its config loader to authenticate; see
shared.adapters.kubeconfig_source).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from shared.adapters.kube_client import CONFIGZ, LISTING, HeaderSource, KubeClient, Tls
from shared.adapters.kube_policy import RequestPolicy, not_a_list_reason
from shared.adapters.kubeconfig import KubeEndpoint
from shared.core.errors import ApiServerError
from shared.core.model import Node

AGENTPOOL_LABELS = ("kubernetes.azure.com/agentpool", "agentpool")
#: A node-list page's own cap: NODE_PAGE_SIZE full Node objects are far larger than a configz
#: body, and an over-size page is the cluster's error, not one node's.
NODE_LIST_MAX_BYTES = 64 * 1024 * 1024
READING_CONFIGZ = "reading configz"
LISTING_NODES = "listing nodes"


class KubeSession:
    """ClusterSession for one API server, authenticated by a bearer token or client cert."""

    def __init__(self, client: KubeClient, user: str = "") -> None:
        self._client = client
        self._user = user

    @classmethod
    def for_endpoint(
        cls,
        endpoint: KubeEndpoint,
        policy: RequestPolicy,
        token: str = "",
        refresh: Callable[[], str] | None = None,
        user: str = "",
    ) -> KubeSession:
        """A session to ``endpoint``: ``token`` (renewed through ``refresh``, which raises
        CredentialsError) when given, else the endpoint's client certificate or token.
        ``user``: who the scanner is when the session's credential does not say (a local
        account's session: the scanner's managed identity, whose grants infra/k8s binds)."""
        if token:
            tls, auth = Tls(ca_pem=endpoint.ca_pem), HeaderSource.bearer(token, refresh)
            return cls(KubeClient(endpoint.server, tls, policy, auth), token_user(token))
        elif endpoint.client_cert_pem and endpoint.client_key_pem:
            tls = Tls(
                ca_pem=endpoint.ca_pem,
                cert_pem=endpoint.client_cert_pem,
                key_pem=endpoint.client_key_pem,
            )
            auth = HeaderSource({})
        else:
            tls, auth = Tls(ca_pem=endpoint.ca_pem), HeaderSource.bearer(endpoint.token)
        return cls(KubeClient(endpoint.server, tls, policy, auth), user)

    @property
    def user(self) -> str:
        """The user name the API server gives this session's Entra token (its ``oid`` claim), or
        "" when not known (a kubeconfig's certificate or static token)."""
        return self._user

    @property
    def client(self) -> KubeClient:
        """The lean client, for other reads of this cluster (section 4's paged lists)."""
        return self._client

    async def list_nodes(self) -> list[Node]:
        """Every node, following ``continue`` tokens; ApiServerError on failure."""
        nodes: list[Node] = []
        pages = self._client.pages("/api/v1/nodes", LISTING_NODES, LISTING, cap=NODE_LIST_MAX_BYTES)
        async for items, restarted in pages:
            if restarted:
                nodes.clear()
            try:  # page by page: a Node object is dropped as soon as it is read
                nodes.extend(_node(item) for item in items)
            except (AttributeError, TypeError) as exc:
                raise ApiServerError(not_a_list_reason(LISTING_NODES, exc)) from None
        return nodes

    async def read_configz(self, node_name: str) -> bytes:
        """The raw configz body of ``node_name``; ConfigzFetchError on failure."""
        path = f"/api/v1/nodes/{quote(node_name, safe='')}/proxy/configz"
        return await self._client.get(path, READING_CONFIGZ, CONFIGZ)

    async def close(self) -> None:
        """Close the connections."""
        await self._client.close()


def token_user(token: str) -> str:
    """The ``oid`` claim of an Entra access token: the user name AKS's Entra integration gives
    a managed identity (its token has no ``upn``). The token is the scanner's own and is not
    validated here; only that claim is kept. "" when the token has none."""
    import jwt  # noqa: PLC0415 - PyJWT loads only for an Entra-authenticated session

    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return ""
    oid = claims.get("oid")
    return oid if isinstance(oid, str) else ""


def _node(item: dict[str, Any]) -> Node:
    metadata = item.get("metadata") or {}
    labels = metadata.get("labels") or {}
    status = item.get("status") or {}
    info = status.get("nodeInfo") or {}
    pool = next((labels[k] for k in AGENTPOOL_LABELS if labels.get(k)), "")
    ready = any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in status.get("conditions") or []
    )
    return Node(
        name=str(metadata.get("name", "")),
        node_pool=str(pool),
        kubelet_version=str(info.get("kubeletVersion", "")),
        os_image=str(info.get("osImage", "")),
        ready=ready,
    )
