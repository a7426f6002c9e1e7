"""Fixtures: one running demo estate per module, its environment set per test."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from typing import Any, cast

import pytest
import urllib3
from azure.core.exceptions import HttpResponseError
from azure.identity import ManagedIdentityCredential
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from sim import SimulatedEstate, default_estate

AKS_SCOPE = "6dae42f8-4368-4678-94ff-3960e28e3630/.default"
OTHER_MSI_VARIABLES = ("IDENTITY_SERVER_THUMBPRINT", "MSI_ENDPOINT", "MSI_SECRET", "IMDS_ENDPOINT")


@pytest.fixture(scope="module")
def running() -> Iterator[SimulatedEstate]:
    with SimulatedEstate(default_estate()).start() as sim:
        yield sim


@pytest.fixture
def sim(running: SimulatedEstate, monkeypatch: pytest.MonkeyPatch) -> Iterator[SimulatedEstate]:
    """The module's estate with its environment set, and no fault left over afterwards."""
    for name in OTHER_MSI_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in running.env.items():
        monkeypatch.setenv(name, value)
    running.faults.clear()
    yield running
    running.faults.clear()


@pytest.fixture
def credential(sim: SimulatedEstate) -> Iterator[ManagedIdentityCredential]:
    with ManagedIdentityCredential(client_id=sim.env["AZURE_CLIENT_ID"]) as cred:
        yield cred


@contextlib.contextmanager
def core_v1(
    server: str,
    ca_pem: str,
    *,
    token: str | None = None,
    client_cert_pem: bytes | None = None,
    client_key_pem: bytes | None = None,
) -> Iterator[k8s.CoreV1Api]:
    """A kubernetes CoreV1Api against ``server``, trusting ``ca_pem``; closed afterwards."""
    config = k8s.Configuration(host=server)
    config.ca_cert_data = ca_pem
    config.verify_ssl = True
    config.retries = 0
    if token is not None:
        config.api_key = {"BearerToken": token}
        config.api_key_prefix = {"BearerToken": "Bearer"}
    with tempfile.TemporaryDirectory() as directory:
        if client_cert_pem is not None and client_key_pem is not None:
            config.cert_file = os.path.join(directory, "client.crt")
            config.key_file = os.path.join(directory, "client.key")
            with open(config.cert_file, "wb") as handle:
                handle.write(client_cert_pem)
            with open(config.key_file, "wb") as handle:
                handle.write(client_key_pem)
        with k8s.ApiClient(config) as api_client:
            yield k8s.CoreV1Api(api_client)


def raw_get(call: Any) -> urllib3.BaseHTTPResponse:
    """The urllib3 response a kubernetes call returns with ``_preload_content=False``."""
    return cast(urllib3.BaseHTTPResponse, call)


def configz(api: k8s.CoreV1Api, node: str) -> urllib3.BaseHTTPResponse:
    """GET /api/v1/nodes/{node}/proxy/configz, body not decoded by the client."""
    return raw_get(api.connect_get_node_proxy_with_path(node, "configz", _preload_content=False))


def status_of(exc: ApiException) -> dict[str, Any]:
    """The Kubernetes Status document of a failed call."""
    body = exc.body.decode() if isinstance(exc.body, bytes) else str(exc.body or "")
    document: dict[str, Any] = json.loads(body)
    return document


def header(exc: ApiException, name: str) -> str:
    """One response header of a failed kubernetes call."""
    headers = exc.headers
    assert headers is not None
    return str(headers[name])


def arm_error(exc: HttpResponseError) -> tuple[int | None, str, str]:
    """(status, ARM error code, message) of a failed management call."""
    assert exc.error is not None
    return exc.status_code, str(exc.error.code), str(exc.error.message)
