"""``scan --kubeconfig PATH [--context NAME]``: one cluster from a person's kubeconfig.

Any cluster, not only AKS. Unlike the managed-identity path, exec plugins and auth providers in
the kubeconfig are allowed here, because a person runs this with their own credentials; the
kubernetes config loader runs them. ``insecure-skip-tls-verify`` is still refused. The file is
read and its shapes checked (shared.adapters.kubeconfig_schema) before the loader runs: a
malformed file or context is a usage error (exit 2) naming ``--kubeconfig`` or ``--context``
and the field, not a traceback or a plugin run without credentials.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, cast

from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.config.config_exception import ConfigException

from shared.adapters.kube_api import KubeSession, token_user
from shared.adapters.kube_client import HeaderSource, KubeClient, Tls
from shared.adapters.kube_policy import RequestPolicy
from shared.adapters.kubeconfig_schema import Kubeconfig
from shared.core.documents import DocumentError, load_yaml
from shared.core.errors import ApiServerError, CredentialsError, SettingsError
from shared.core.model import Cluster, ScanScope
from shared.ports import Discovered

MAX_KUBECONFIG_BYTES = 16 * 1024 * 1024


def kubeconfig_cluster(path: str, context: str | None) -> Cluster:
    """The Cluster a kubeconfig context describes; SettingsError if the file or context is unusable.

    Everything the kubernetes config loader will read for that context is checked here, before
    any credential plugin runs or any request is made (shared.adapters.kubeconfig_schema).
    """
    config = _load(path)
    name = context if context is not None else config.current_context
    contexts = {c.name: c.context for c in config.contexts}
    if not name or name not in contexts:
        have = ", ".join(repr(n) for n in contexts) or "none"
        raise SettingsError(
            f"--context: {name!r} is not a context in {path} (have: {have})"
            if name
            else f"--kubeconfig: {path} has no current-context; name one with --context (have: {have})"
        )
    chosen = contexts[name]
    if chosen.cluster not in {c.name for c in config.clusters}:
        raise SettingsError(
            f"--kubeconfig: {path}: context {name!r} names cluster {chosen.cluster!r}, "
            "which the file does not define"
        )
    if chosen.user is not None and chosen.user not in {u.name for u in config.users}:
        raise SettingsError(
            f"--kubeconfig: {path}: context {name!r} names user {chosen.user!r}, "
            "which the file does not define"
        )
    return Cluster(
        resource_id=f"kubeconfig:{Path(path).resolve()}#{name}",
        subscription_id="",
        resource_group="",
        name=chosen.cluster,
        aad_managed=True,
    )


def _load(path: str) -> Kubeconfig:
    from pydantic import ValidationError  # noqa: PLC0415 - loaded when a kubeconfig is read

    from shared.core.validation import first_problem  # noqa: PLC0415

    try:
        file = Path(path)
        if file.stat().st_size > MAX_KUBECONFIG_BYTES:
            raise SettingsError(f"--kubeconfig: {path} is larger than {MAX_KUBECONFIG_BYTES} bytes")
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsError(f"--kubeconfig: cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise SettingsError(
            f"--kubeconfig: {path} is not UTF-8 (byte {exc.start} is not valid UTF-8)"
        ) from None
    try:
        document = load_yaml(text)
    except DocumentError as exc:
        raise SettingsError(f"--kubeconfig: {path} {exc}") from None
    try:
        return Kubeconfig.model_validate(document)
    except ValidationError as exc:
        field, detail = first_problem(exc, Kubeconfig, document)
        raise SettingsError(f"--kubeconfig: {path}: {field or 'document'}: {detail}") from None


class KubeconfigDiscovery:
    """ClusterDiscovery of exactly one cluster: the kubeconfig's context."""

    def __init__(self, cluster: Cluster) -> None:
        self._cluster = cluster

    def discover(self, scope: ScanScope) -> Iterator[Discovered]:
        """The one cluster, whatever the scope."""
        yield self._cluster


class KubeconfigConnector:
    """ClusterConnector that lets the kubernetes config loader authenticate (exec plugins too)."""

    def __init__(self, path: str, context: str | None, policy: RequestPolicy) -> None:
        self._path = path
        self._context = context
        self._policy = policy

    def connect(self, cluster: Cluster) -> KubeSession:
        """A session with the kubeconfig's credentials."""
        configuration = k8s.Configuration()
        try:
            k8s_config.load_kube_config(  # type: ignore[no-untyped-call]  # untyped upstream
                config_file=self._path,
                context=self._context,
                client_configuration=configuration,
                persist_config=False,
            )
        except ConfigException as exc:
            raise CredentialsError(
                f"the kubeconfig context cannot be used: {str(exc)[:300]}"
            ) from None
        except OSError as exc:  # a tokenFile (or other file) the kubeconfig names is unreadable
            raise CredentialsError(
                f"the kubeconfig context cannot be used: {exc.strerror}: {exc.filename}"
            ) from None
        if configuration.verify_ssl is False:
            raise ApiServerError(
                "the kubeconfig asks to skip TLS verification; the scanner always verifies the API server"
            )
        return session_from_configuration(configuration, self._policy)


def session_from_configuration(
    configuration: k8s.Configuration, policy: RequestPolicy
) -> KubeSession:
    """A lean-client session with what the config loader put in ``configuration``: the server,
    its CA and client certificate, the proxy, and the credential headers, asked again (in the
    loop's executor) so an exec plugin's or a token file's renewal is honoured."""
    server = str(configuration.host)
    tls = Tls(
        ca_pem=_text(configuration.ca_cert_data),
        ca_file=configuration.ssl_ca_cert or "",
        cert_file=configuration.cert_file or "",
        key_file=configuration.key_file or "",
    )

    def headers() -> Mapping[str, str]:
        try:
            auth = cast(Mapping[str, Mapping[str, Any]], configuration.auth_settings())
        except (ConfigException, OSError) as exc:  # an exec plugin or token file failing
            raise CredentialsError(
                f"the kubeconfig's credential could not be renewed: {str(exc)[:300]}"
            ) from None
        return {
            str(setting["key"]): str(setting["value"])
            for setting in auth.values()
            if setting.get("in") == "header" and setting.get("value")
        }

    try:
        proxy = proxy_of(configuration)
    except ValueError as exc:
        raise ApiServerError(f"cannot reach the API server {server}: {exc}") from None
    proxy_headers = dict(configuration.proxy_headers or {}) if proxy else None
    first = headers()
    client = KubeClient(
        server,
        tls,
        policy,
        HeaderSource(first, headers),
        proxy=proxy,
        proxy_headers=proxy_headers,
        server_hostname=configuration.tls_server_name or None,
    )
    return KubeSession(client, session_user(first, configuration.cert_file or ""))


def session_user(headers: Mapping[str, str], cert_file: str) -> str:
    """Who the API server will take this kubeconfig for, where that can be told offline: an
    Entra token's ``oid``, or the client certificate's common name (section 4's 4.1.9 allows
    that user's own ``get nodes/proxy``). "" otherwise (a static or exec-plugin token)."""
    bearer = headers.get("authorization", headers.get("Authorization", ""))
    if bearer.lower().startswith("bearer "):
        return token_user(bearer[7:].strip())
    if not cert_file:
        return ""
    from cryptography import x509  # noqa: PLC0415 - only for a certificate kubeconfig
    from cryptography.x509.oid import NameOID  # noqa: PLC0415

    try:
        with open(cert_file, "rb") as handle:
            cert = x509.load_pem_x509_certificate(handle.read())
    except (OSError, ValueError):
        return ""
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    value = names[0].value if names else ""
    return value if isinstance(value, str) else ""


def _text(value: str | bytes | None) -> str:
    return value.decode() if isinstance(value, bytes) else value or ""


def proxy_of(configuration: k8s.Configuration) -> str | None:
    """The kubeconfig's HTTP(S) proxy for this server, or None; a SOCKS proxy is refused."""
    from kubernetes.client.rest import is_socks_proxy_url, should_bypass_proxies  # noqa: PLC0415

    proxy = configuration.proxy
    if not proxy or should_bypass_proxies(str(configuration.host), configuration.no_proxy or ""):
        return None
    if is_socks_proxy_url(proxy):  # type: ignore[no-untyped-call]  # untyped in kubernetes 37
        raise ValueError("a SOCKS proxy (proxy-url) is not supported")
    return str(proxy)
