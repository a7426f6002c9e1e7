"""Certificates: one CA for the "public" Azure endpoints, one CA per cluster.

As on AKS, every cluster has its own CA; its API server certificate and its local-account
client certificate (``CN=masterclient, O=system:masters``) are issued by it, and the user
kubeconfig carries that CA as ``certificate-authority-data``. The ARM and Logs Ingestion
endpoints share another CA, written to the bundle that ``REQUESTS_CA_BUNDLE`` names. Server
certificates name ``127.0.0.1`` and ``localhost``.
"""

from __future__ import annotations

import os
import secrets
import ssl
import tempfile
from dataclasses import dataclass, field

import trustme

LOCAL_ACCOUNT_USER = "masterclient"
LOCAL_ACCOUNT_GROUP = "system:masters"


@dataclass(frozen=True, slots=True)
class ServerPki:
    """What a TLS server needs: its key and chain, and the CA that clients should trust."""

    ca_pem: bytes
    key_and_chain_pem: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class ClusterPki:
    """A cluster's CA, API server certificate and local-account credentials (picklable)."""

    server: ServerPki
    client_cert_pem: bytes = field(repr=False)
    client_key_pem: bytes = field(repr=False)
    static_token: str = field(repr=False)
    ca_key_pem: bytes = field(default=b"", repr=False)


def _server_pki(ca: trustme.CA) -> ServerPki:
    leaf = ca.issue_cert("127.0.0.1", "localhost")
    return ServerPki(ca.cert_pem.bytes(), leaf.private_key_and_cert_chain_pem.bytes())


def public_pki() -> ServerPki:
    """The CA and certificate of the simulated public endpoints (ARM, Logs Ingestion)."""
    return _server_pki(trustme.CA(organization_name="Simulated Azure public endpoints"))


def cluster_pki(cluster_name: str) -> ClusterPki:
    """A fresh CA for one cluster with its API server and local-account certificates."""
    ca = trustme.CA(organization_name=f"Simulated AKS cluster {cluster_name}")
    client = ca.issue_cert(
        LOCAL_ACCOUNT_USER, common_name=LOCAL_ACCOUNT_USER, organization_name=LOCAL_ACCOUNT_GROUP
    )
    return ClusterPki(
        server=_server_pki(ca),
        client_cert_pem=client.cert_chain_pems[0].bytes(),
        client_key_pem=client.private_key_pem.bytes(),
        static_token=secrets.token_hex(64),
        ca_key_pem=ca.private_key_pem.bytes(),
    )


def impostor_pki(cluster_name: str) -> ServerPki:
    """A server certificate for 127.0.0.1 from a fresh CA that is NOT the cluster's: what a
    machine in the middle would present. Only ``ca_pem`` of the result trusts it."""
    return _server_pki(trustme.CA(organization_name=f"Impostor of AKS cluster {cluster_name}"))


def server_context(pki: ServerPki, *, request_client_cert: bool = False) -> ssl.SSLContext:
    """A server SSLContext; with ``request_client_cert`` a client certificate signed by the
    same CA is asked for but optional (as kube-apiserver does with ``--client-ca-file``)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    fd, path = tempfile.mkstemp(prefix="sim-cert-", suffix=".pem")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(pki.key_and_chain_pem)
        context.load_cert_chain(path)
    finally:
        os.unlink(path)
    if request_client_cert:
        context.verify_mode = ssl.CERT_OPTIONAL
        context.load_verify_locations(cadata=pki.ca_pem.decode("ascii"))
    return context


def subject_fields(peer_cert: dict[str, object] | None) -> tuple[str, tuple[str, ...]]:
    """(common name, organizations) of a verified peer certificate; ("", ()) without one."""
    if not peer_cert:
        return "", ()
    common_name = ""
    organizations: list[str] = []
    subject = peer_cert.get("subject")
    if isinstance(subject, tuple):
        for rdn in subject:
            for pair in rdn:
                if isinstance(pair, tuple) and len(pair) == 2:
                    key, value = pair
                    if key == "commonName":
                        common_name = str(value)
                    elif key == "organizationName":
                        organizations.append(str(value))
    return common_name, tuple(organizations)
