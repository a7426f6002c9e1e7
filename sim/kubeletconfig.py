"""Kubelet configurations as ``GET /api/v1/nodes/{node}/proxy/configz`` serves them.

The kubelet answers ``{"kubeletconfig": <KubeletConfiguration v1beta1>}`` written by Go's
``encoding/json``: struct fields in declaration order (``kind``/``apiVersion`` first, from the
inlined TypeMeta), map keys sorted, ``omitempty`` zero values absent (so ``readOnlyPort: 0``,
``rotateCertificates: false`` and ``serverTLSBootstrap: false`` never appear), durations as Go
``time.Duration`` strings (``"4h0m0s"``), ``<``, ``>`` and ``&`` escaped as ``\\u003c`` etc.

``aks_kubelet_config`` is an AKS node's effective configuration (AgentBaker kubelet flags and
config file merged with kubelet defaults) in that order. No raw AKS configz dump is public, so
the values come from AgentBaker's config file fixtures and a real AKS kubelet command line (see
tests/data/README.md) with kubelet defaults filled in; they are realistic, not captured.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

AKS_TLS_CIPHER_SUITES = (
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_RSA_WITH_AES_128_GCM_SHA256",
)


def go_json(value: Any) -> bytes:
    """``value`` serialized like Go's ``json.Marshal``: compact, UTF-8, HTML-safe escapes.

    Key order is the caller's (dicts keep insertion order): write struct fields in declaration
    order and map keys sorted, as Go would.
    """
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    # These characters can only occur inside JSON strings, so a global replace is exact.
    text = (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )
    return text.encode("utf-8")


def configz_body(kubeletconfig: Mapping[str, Any]) -> bytes:
    """The configz response body for one kubelet configuration (no trailing newline, as Go's
    ``json.Marshal`` + ``w.Write`` in component-base/configz)."""
    return go_json({"kubeletconfig": kubeletconfig})


def aks_kubelet_config(
    *,
    max_pods: int = 250,
    cluster_dns: str = "10.0.0.10",
    provider_id: str | None = None,
) -> dict[str, Any]:
    """A compliant AKS Ubuntu node's effective kubelet configuration (CIS AKS 1.8 section 3.2).

    ``readOnlyPort`` is absent (0, omitempty), ``eventRecordQPS`` is 0, certificates rotate,
    serving certificates are bootstrapped, anonymous auth is off, authorization is Webhook.
    """
    config: dict[str, Any] = {
        "kind": "KubeletConfiguration",
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "enableServer": True,
        "staticPodPath": "/etc/kubernetes/manifests",
        "podLogsDir": "/var/log/pods",
        "syncFrequency": "1m0s",
        "fileCheckFrequency": "20s",
        "httpCheckFrequency": "20s",
        "address": "0.0.0.0",
        "port": 10250,
        "tlsCipherSuites": list(AKS_TLS_CIPHER_SUITES),
        "tlsMinVersion": "VersionTLS12",
        "rotateCertificates": True,
        "serverTLSBootstrap": True,
        "authentication": {
            "x509": {"clientCAFile": "/etc/kubernetes/certs/ca.crt"},
            "webhook": {"enabled": True, "cacheTTL": "2m0s"},
            "anonymous": {"enabled": False},
        },
        "authorization": {
            "mode": "Webhook",
            "webhook": {"cacheAuthorizedTTL": "5m0s", "cacheUnauthorizedTTL": "30s"},
        },
        "registryPullQPS": 5,
        "registryBurst": 10,
        "eventRecordQPS": 0,
        "eventBurst": 100,
        "enableDebuggingHandlers": True,
        "healthzPort": 10248,
        "healthzBindAddress": "127.0.0.1",
        "oomScoreAdj": -999,
        "clusterDomain": "cluster.local",
        "clusterDNS": [cluster_dns],
        "streamingConnectionIdleTimeout": "4h0m0s",
        "nodeStatusUpdateFrequency": "10s",
        "nodeStatusReportFrequency": "5m0s",
        "nodeLeaseDurationSeconds": 40,
        "imageMinimumGCAge": "2m0s",
        "imageMaximumGCAge": "0s",
        "imageGCHighThresholdPercent": 85,
        "imageGCLowThresholdPercent": 80,
        "volumeStatsAggPeriod": "1m0s",
        "cgroupsPerQOS": True,
        "cgroupDriver": "systemd",
        "cpuManagerPolicy": "none",
        "cpuManagerReconcilePeriod": "10s",
        "memoryManagerPolicy": "None",
        "topologyManagerPolicy": "none",
        "topologyManagerScope": "container",
        "runtimeRequestTimeout": "15m0s",
        "hairpinMode": "promiscuous-bridge",
        "maxPods": max_pods,
        "podPidsLimit": -1,
        "resolvConf": "/run/systemd/resolve/resolv.conf",
        "cpuCFSQuota": True,
        "cpuCFSQuotaPeriod": "100ms",
        "nodeStatusMaxImages": 50,
        "maxOpenFiles": 1000000,
        "contentType": "application/vnd.kubernetes.protobuf",
        "kubeAPIQPS": 50,
        "kubeAPIBurst": 100,
        "serializeImagePulls": False,
        "evictionHard": {
            "memory.available": "750Mi",
            "nodefs.available": "10%",
            "nodefs.inodesFree": "5%",
            "pid.available": "2000",
        },
        "evictionPressureTransitionPeriod": "5m0s",
        "enableControllerAttachDetach": True,
        "protectKernelDefaults": True,
        "makeIPTablesUtilChains": True,
        "iptablesMasqueradeBit": 14,
        "iptablesDropBit": 15,
        "featureGates": {
            "DisableAcceleratorUsageMetrics": False,
            "RotateKubeletServerCertificate": True,
        },
        "failSwapOn": False,
        "memorySwap": {},
        "containerLogMaxSize": "50M",
        "containerLogMaxFiles": 5,
        "containerLogMaxWorkers": 1,
        "containerLogMonitorInterval": "10s",
        "configMapAndSecretChangeDetectionStrategy": "Watch",
        "systemReserved": {"cpu": "100m", "memory": "1284Mi", "pid": "1000"},
        "kubeReserved": {"cpu": "180m", "memory": "2198Mi", "pid": "1000"},
        "enforceNodeAllocatable": ["pods"],
        "volumePluginDir": "/etc/kubernetes/volumeplugins",
        "logging": {
            "format": "text",
            "flushFrequency": "5s",
            "verbosity": 2,
            "options": {"text": {"infoBufferSize": "0"}, "json": {"infoBufferSize": "0"}},
        },
        "enableSystemLogHandler": True,
        "enableSystemLogQuery": False,
        "shutdownGracePeriod": "0s",
        "shutdownGracePeriodCriticalPods": "0s",
        "crashLoopBackOff": {},
        "enableProfilingHandler": True,
        "enableDebugFlagsHandler": True,
        "seccompDefault": False,
        "memoryThrottlingFactor": 0.9,
        "registerNode": True,
        "localStorageCapacityIsolation": True,
        "containerRuntimeEndpoint": "unix:///run/containerd/containerd.sock",
        "failCgroupV1": False,
    }
    if provider_id is not None:
        insert_after(config, "volumePluginDir", "providerID", provider_id)
    return config


def derive(base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of ``base`` with dotted-path ``changes`` applied in place of the old values.

    A value of ``ABSENT`` removes the field (Go's omitempty for a zero value). A new key is
    appended at the end of its parent object.
    """
    config = copy.deepcopy(dict(base))
    for dotted, value in changes.items():
        parent = config
        keys = dotted.split(".")
        for key in keys[:-1]:
            child = parent.get(key)
            if not isinstance(child, dict):
                child = {}
                parent[key] = child
            parent = child
        if value is ABSENT:
            parent.pop(keys[-1], None)
        else:
            parent[keys[-1]] = value
    return config


def insert_after(config: dict[str, Any], anchor: str, key: str, value: Any) -> None:
    """Insert ``key`` right after ``anchor`` (keeps Go's declaration order readable)."""
    items = list(config.items())
    config.clear()
    placed = False
    for k, v in items:
        if k == key:
            continue
        config[k] = v
        if k == anchor:
            config[key] = value
            placed = True
    if not placed:
        config[key] = value


class _Absent:
    """Marker for ``derive``: remove the field."""

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Any = _Absent()
