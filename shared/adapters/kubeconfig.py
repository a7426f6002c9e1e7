"""Parse the kubeconfig that listClusterUserCredential returns, without running anything in it.

For Entra ID clusters the user entry is an ``exec`` stanza for kubelogin; the scanner never runs
it (there is no kubelogin in Azure Functions, and running a command from a downloaded document is
not something a scanner should do). It takes only the server URL and the cluster CA from the
kubeconfig, and authenticates with its own Entra ID token. For clusters with local accounts the
user's client certificate and key are kept, for use only when ALLOW_LOCAL_ACCOUNTS=true.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import yaml

from shared.core.errors import CredentialsError


@dataclass(frozen=True, slots=True)
class KubeEndpoint:
    """Where and how to reach one API server. ``repr`` hides the key material."""

    server: str
    ca_pem: str
    client_cert_pem: str = field(default="", repr=False)
    client_key_pem: str = field(default="", repr=False)
    token: str = field(default="", repr=False)
    uses_exec_plugin: bool = False

    @property
    def has_local_credentials(self) -> bool:
        """True when the kubeconfig carries a static credential (client certificate or token)."""
        return bool((self.client_cert_pem and self.client_key_pem) or self.token)


def parse_kubeconfig(raw: bytes, *, context: str | None = None) -> KubeEndpoint:
    """The current (or named) context's server, CA and user credential; CredentialsError if unusable."""
    try:
        document = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise CredentialsError("the cluster's user kubeconfig is not valid YAML") from exc
    if not isinstance(document, dict):
        raise CredentialsError("the cluster's user kubeconfig is not a YAML mapping")
    context_name = context or document.get("current-context")
    ctx = _named(document, "contexts", context_name, "context") if context_name else None
    if ctx is None:
        ctx = _first(document, "contexts", "context") or {}
    cluster = _named(document, "clusters", ctx.get("cluster"), "cluster") or _first(
        document, "clusters", "cluster"
    )
    if not cluster:
        raise CredentialsError("the cluster's user kubeconfig has no cluster entry")
    server = cluster.get("server")
    if not isinstance(server, str) or urlsplit(server).scheme != "https":
        raise CredentialsError("the kubeconfig's cluster server is missing or not an https:// URL")
    if cluster.get("insecure-skip-tls-verify"):
        raise CredentialsError(
            "the kubeconfig asks to skip TLS verification; the scanner always verifies the API "
            "server against the cluster CA"
        )
    ca_pem = _decode(cluster.get("certificate-authority-data"), "certificate-authority-data")
    if "BEGIN CERTIFICATE" not in ca_pem:
        raise CredentialsError("the kubeconfig has no cluster CA (certificate-authority-data)")
    user = (
        _named(document, "users", ctx.get("user"), "user")
        or _first(document, "users", "user")
        or {}
    )
    token = user.get("token")
    return KubeEndpoint(
        server=server.rstrip("/"),
        ca_pem=ca_pem,
        client_cert_pem=_decode(user.get("client-certificate-data"), "client-certificate-data"),
        client_key_pem=_decode(user.get("client-key-data"), "client-key-data"),
        token=token if isinstance(token, str) else "",
        uses_exec_plugin="exec" in user or "auth-provider" in user,
    )


def _entries(document: dict[str, Any], section: str) -> list[Any]:
    """The entries of ``section`` when it is a list (anything else holds none)."""
    entries = document.get(section)
    return entries if isinstance(entries, list) else []


def _named(document: dict[str, Any], section: str, name: object, key: str) -> dict[str, Any] | None:
    for entry in _entries(document, section):
        if (
            isinstance(entry, dict)
            and entry.get("name") == name
            and isinstance(entry.get(key), dict)
        ):
            value: dict[str, Any] = entry[key]
            return value
    return None


def _first(document: dict[str, Any], section: str, key: str) -> dict[str, Any] | None:
    entries = _entries(document, section)
    if entries and isinstance(entries[0], dict) and isinstance(entries[0].get(key), dict):
        value: dict[str, Any] = entries[0][key]
        return value
    return None


def _decode(value: object, what: str) -> str:
    if value is None or value == "":
        return ""
    if not isinstance(value, str):
        raise CredentialsError(f"the kubeconfig's {what} is not a string")
    try:
        return base64.b64decode(value, validate=True).decode("ascii")
    except ValueError as exc:  # binascii.Error, a non-ASCII str, UnicodeDecodeError
        raise CredentialsError(f"the kubeconfig's {what} is not base64-encoded PEM") from exc
