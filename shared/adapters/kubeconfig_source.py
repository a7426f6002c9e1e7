"""``scan --kubeconfig PATH [--context NAME]``: one cluster from a person's kubeconfig.

Any cluster, not only AKS. Unlike the managed-identity path, exec plugins and auth providers in
the kubeconfig are allowed here, because a person runs this with their own credentials; the
kubernetes config loader runs them. ``insecure-skip-tls-verify`` is still refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import yaml
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.config.config_exception import ConfigException

from shared.adapters.configz_reader import LoopThread
from shared.adapters.kube_api import KubeSession
from shared.adapters.kube_policy import RequestPolicy
from shared.adapters.kubeconfig import KubeEndpoint
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

    def __init__(
        self,
        path: str,
        context: str | None,
        policy: RequestPolicy,
        loop: LoopThread | None = None,
    ) -> None:
        self._path = path
        self._context = context
        self._policy = policy
        self._loop = loop

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
        endpoint = KubeEndpoint(server=str(configuration.host), ca_pem="")
        return KubeSession(endpoint, self._policy, configuration=configuration, loop=self._loop)
