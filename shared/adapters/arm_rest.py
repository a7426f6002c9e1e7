"""The handful of Azure Resource Manager REST calls a scan makes, without the generated clients.

A scan lists subscriptions, queries Resource Graph, lists or reads managed clusters and calls
listClusterUserCredential: five REST calls, for which the generated ``azure.mgmt.*`` clients
cost a third of a second of imports (their models and operations modules). ``ArmRest`` makes
them through azure-core's ``ARMPipelineClient`` with the pipeline those clients build
(``azure-mgmt-containerservice`` 41.8.0 ``_client.py``: request id, headers, user agent, proxy,
content decoding, resource provider registration, redirects, retries (``retry_total``),
``ARMChallengeAuthenticationPolicy`` with the credential, custom hook, logging, tracing,
sensitive-header cleanup, ARM HTTP logging), and raises what they raise (``map_error`` with
their error map, then ``HttpResponseError`` in ``ARMErrorFormat``), so every retry, redirect,
TLS verification and failure reason is the SDK's. Paths and api-versions are the SDKs':
subscriptions ``2016-06-01`` (azure-mgmt-subscription 3.1.1, its subscriptions operations), Resource Graph ``2021-03-01``
(azure-mgmt-resourcegraph 8.0.1), managed clusters ``2026-08-01``
(azure-mgmt-containerservice 41.8.0).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from azure.core.credentials import TokenCredential
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
    ResourceNotModifiedError,
    map_error,
)
from azure.core.pipeline import policies
from azure.core.rest import HttpRequest, HttpResponse
from azure.mgmt.core import ARMPipelineClient
from azure.mgmt.core.exceptions import ARMErrorFormat
from azure.mgmt.core.policies import (
    ARMAutoResourceProviderRegistrationPolicy,
    ARMChallengeAuthenticationPolicy,
    ARMHttpLoggingPolicy,
)

SUBSCRIPTIONS_API = "2016-06-01"
RESOURCE_GRAPH_API = "2021-03-01"
CONTAINER_SERVICE_API = "2026-08-01"
USER_AGENT = "aks-kubelet-scanner"
#: The generated operations' error map: these statuses raise these subclasses.
ERROR_MAP: dict[int, type[HttpResponseError]] = {
    401: ClientAuthenticationError,
    404: ResourceNotFoundError,
    409: ResourceExistsError,
    304: ResourceNotModifiedError,
}


class ArmRest:
    """ARM calls on one credential and endpoint; thread-safe (azure-core's pipeline is)."""

    def __init__(self, credential: TokenCredential, arm_endpoint: str, *, retries: int) -> None:
        self._endpoint = arm_endpoint.rstrip("/")
        scopes = [f"{self._endpoint}/.default"]
        options: dict[str, Any] = {"retry_total": retries, "sdk_moniker": USER_AGENT}
        redirect = policies.RedirectPolicy(**options)
        pipeline = [
            policies.RequestIdPolicy(**options),
            policies.HeadersPolicy(**options),
            policies.UserAgentPolicy(**options),
            policies.ProxyPolicy(**options),
            policies.ContentDecodePolicy(**options),
            ARMAutoResourceProviderRegistrationPolicy(),
            redirect,
            policies.RetryPolicy(**options),
            ARMChallengeAuthenticationPolicy(credential, *scopes, **options),
            policies.CustomHookPolicy(**options),
            policies.NetworkTraceLoggingPolicy(**options),
            policies.DistributedTracingPolicy(**options),
            policies.SensitiveHeaderCleanupPolicy(**options),
            ARMHttpLoggingPolicy(**options),
        ]
        self._client: ARMPipelineClient[HttpRequest, HttpResponse] = ARMPipelineClient(
            base_url=self._endpoint, policies=pipeline, **options
        )

    # -- the calls -----------------------------------------------------------------------------

    def subscriptions(self) -> Iterator[dict[str, Any]]:
        """Every subscription the credential can see (``GET /subscriptions``, paged)."""
        yield from self._pages(f"{self._endpoint}/subscriptions", SUBSCRIPTIONS_API)

    def resource_graph(
        self, query: str, subscriptions: list[str] | None, top: int, skip_token: str | None
    ) -> dict[str, Any]:
        """One page of a Resource Graph query, ``objectArray`` rows (``POST .../resources``);
        ``subscriptions`` None: at the tenant's scope."""
        options: dict[str, Any] = {"$top": top, "resultFormat": "objectArray"}
        if skip_token:
            options["$skipToken"] = skip_token
        body: dict[str, Any] = {"query": query, "options": options}
        if subscriptions is not None:
            body["subscriptions"] = subscriptions
        url = f"{self._endpoint}/providers/Microsoft.ResourceGraph/resources"
        return self._call("POST", url, RESOURCE_GRAPH_API, body)

    def managed_clusters(self, subscription: str) -> Iterator[dict[str, Any]]:
        """The subscription's managed clusters (``GET .../managedClusters``, paged)."""
        url = (
            f"{self._endpoint}/subscriptions/{quote(subscription, safe='')}"
            "/providers/Microsoft.ContainerService/managedClusters"
        )
        yield from self._pages(url, CONTAINER_SERVICE_API)

    def managed_cluster(self, subscription: str, group: str, name: str) -> dict[str, Any]:
        """One managed cluster (``GET .../managedClusters/{name}``)."""
        return self._call(
            "GET", self._cluster_url(subscription, group, name), CONTAINER_SERVICE_API
        )

    def cluster_user_kubeconfigs(self, subscription: str, group: str, name: str) -> list[bytes]:
        """listClusterUserCredential's kubeconfigs, base64-decoded as the SDK decodes them."""
        url = f"{self._cluster_url(subscription, group, name)}/listClusterUserCredential"
        result = self._call("POST", url, CONTAINER_SERVICE_API)
        values = []
        for entry in result.get("kubeconfigs") or []:
            value = entry.get("value") if isinstance(entry, dict) else None
            try:
                values.append(base64.b64decode(value) if isinstance(value, str) else b"")
            except (binascii.Error, ValueError):
                values.append(b"")
        return values

    def get(self, path: str, api_version: str) -> Any:
        """``GET path`` (from ``/subscriptions/...`` or ``/providers/...``) on this endpoint."""
        return self._call("GET", f"{self._endpoint}{path}", api_version)

    def close(self) -> None:
        """Close the HTTP pipeline."""
        self._client.close()

    # -- internals -------------------------------------------------------------------------------

    def _cluster_url(self, subscription: str, group: str, name: str) -> str:
        return (
            f"{self._endpoint}/subscriptions/{quote(subscription, safe='')}/resourceGroups/"
            f"{quote(group, safe='')}/providers/Microsoft.ContainerService/managedClusters/"
            f"{quote(name, safe='')}"
        )

    def _pages(self, url: str, api_version: str) -> Iterator[dict[str, Any]]:
        """Items of ``value`` on each page, following ``nextLink`` (its api-version replaced by
        ours, as the generated pagers do)."""
        page = self._call("GET", url, api_version)
        while True:
            yield from page.get("value") or []
            link = page.get("nextLink")
            if not link:
                return
            page = self._call("GET", _without_api_version(link), api_version)

    def _call(
        self, method: str, url: str, api_version: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        request = HttpRequest(
            method,
            url,
            params={"api-version": api_version},
            headers={"Accept": "application/json"},
            json=body,
        )
        response = self._client.send_request(request)
        if response.status_code != 200:
            map_error(status_code=response.status_code, response=response, error_map=ERROR_MAP)
            raise HttpResponseError(response=response, error_format=ARMErrorFormat)
        document = response.json()
        if not isinstance(document, dict):
            raise HttpResponseError(message="ARM answered something other than a JSON object")
        return document


def _without_api_version(link: str) -> str:
    parts = urlsplit(link)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k.lower() != "api-version"]
    return urlunsplit(parts._replace(query=urlencode(query)))
