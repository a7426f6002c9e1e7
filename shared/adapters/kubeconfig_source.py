"""``scan --kubeconfig PATH [--context NAME]``: one cluster from a person's kubeconfig.

Any cluster, not only AKS. Unlike the managed-identity path, exec plugins and auth providers in
the kubeconfig are allowed here, because a person runs this with their own credentials; the
kubernetes config loader runs them. ``insecure-skip-tls-verify`` is still refused.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, cast

import yaml
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.config.config_exception import ConfigException

from shared.adapters.kube_api import KubeSession
from shared.adapters.kube_client import HeaderSource, KubeClient, Tls
from shared.adapters.kube_policy import RequestPolicy
from shared.core.errors import ApiServerError, CredentialsError, SettingsError
from shared.core.model import Cluster, ScanScope
from shared.ports import Discovered


def kubeconfig_cluster(path: str, context: str | None) -> Cluster:
    """The Cluster a kubeconfig context describes; SettingsError if the file or context is unusable."""
    try:
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise SettingsError(f"--kubeconfig: cannot read {path}: {exc.strerror}") from None
    except yaml.YAMLError:
        raise SettingsError(f"--kubeconfig: {path} is not valid YAML") from None
    if not isinstance(document, dict):
        raise SettingsError(f"--kubeconfig: {path} is not a kubeconfig")
    name = context or document.get("current-context")
    contexts = {
        c.get("name"): c.get("context") or {}
        for c in document.get("contexts") or []
        if isinstance(c, dict)
    }
    if not name or name not in contexts:
        raise SettingsError(
            f"--context: {name!r} is not a context in {path} (have: {', '.join(map(str, contexts)) or 'none'})"
        )
    cluster_name = str(contexts[name].get("cluster") or name)
    return Cluster(
        resource_id=f"kubeconfig:{Path(path).resolve()}#{name}",
        subscription_id="",
        resource_group="",
        name=cluster_name,
        aad_managed=True,
    )


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
    client = KubeClient(
        server,
        tls,
        policy,
        HeaderSource(headers(), headers),
        proxy=proxy,
        proxy_headers=proxy_headers,
        server_hostname=configuration.tls_server_name or None,
    )
    return KubeSession(client)


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
