"""CIS Kubernetes Benchmark v1.12.0, section 4.2 "Kubelet", read from configz on AKS nodes.

The generic (non-AKS) benchmark's kubelet section, for teams whose policy names CIS Kubernetes
rather than CIS AKS. Section 4.1 (file permissions and ownership on the node) is out of scope:
configz cannot show files. Where a 4.2 recommendation is the one CIS AKS makes, the row reuses
the cis-aks-1.8 check, so the two benchmarks judge the same field the same way.

Source: aquasecurity/kube-bench ``cfg/cis-1.12/node.yaml``
@ 0f317dfbf879698fa67c12b6dc271f9956acf5b8 (group 4.2, 14 items; titles as given there without
the "(Manual)"/"(Automated)" suffix). The strong cipher list of 4.2.12 is the one that file tests
(``valid_elements``), which is also the list in the benchmark's audit step; the benchmark's
remediation example additionally lists TLS_RSA_WITH_AES_128_GCM_SHA256, a suite without forward
secrecy, which we do not accept.

There is no ``--protect-kernel-defaults`` item in v1.12.0: kube-bench's cis-1.24 still has it,
its cis-1.7 to cis-1.12 do not, so it left the CIS Kubernetes benchmark at v1.7.0. It stays in
cis-aks-1.0 and cis-aks-1.2, whose sources have it.

4.2.8 and 4.2.11 reuse the cis-aks-1.8 checks. For 4.2.8 the policy's eventRecordQPS reading
applies (kube-bench's cis-1.12 passes any value >= 0 or unset). For 4.2.11 the check is stricter
than kube-bench's (gate not false): it also wants ``serverTLSBootstrap`` true, because the gate
alone rotates nothing.

Levels:

- Verified: 4.2.1 to 4.2.13 as in the CIS Kubernetes table Microsoft publishes for AKS
  (MicrosoftDocs/azure-aks-docs ``articles/aks/cis-kubernetes.md``, CIS Kubernetes v1.11.1):
  4.2.8 (eventRecordQPS) Level 2, the others Level 1. Third-party transcriptions of the v1.12.0
  text give the same for 4.2.8 and 4.2.12.
- Assumed: 4.2.14 (seccomp-default) Level 1, from third-party transcriptions of the v1.12.0 text
  ("Level 1 - Worker Node"); Microsoft's table stops at 4.2.13.

What each new check reads (tlsCertFile, tlsPrivateKeyFile, serverTLSBootstrap, tlsCipherSuites,
podPidsLimit, seccompDefault): their types, defaults and what absence means are in
``kubelet_fields``. ``--hostname-override`` is a command-line-only flag with no field; never in
configz (MANUAL).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.core.controls import Outcome, Recommendation, benchmark
from shared.core.controls import kubelet_fields as kf
from shared.core.controls.cis_aks_versions import (
    ANONYMOUS_AUTH,
    ANONYMOUS_AUTH_TITLE,
    AUTHORIZATION_MODE,
    AUTHORIZATION_MODE_TITLE,
    CLIENT_CA_FILE,
    CLIENT_CA_FILE_TITLE,
    EVENT_RECORD_QPS,
    HOSTNAME_OVERRIDE,
    HOSTNAME_OVERRIDE_TITLE,
    IPTABLES_UTIL_CHAINS,
    IPTABLES_UTIL_CHAINS_TITLE,
    READ_ONLY_PORT,
    ROTATE_CERTIFICATES,
    ROTATE_CERTIFICATES_TITLE,
    SERVER_CERT_ROTATION,
    STREAMING_IDLE_TIMEOUT,
    STREAMING_IDLE_TIMEOUT_TITLE,
)
from shared.core.model import Policy, Status

# The strong suites of 4.2.12, by the names the benchmark uses.
STRONG_CIPHER_SUITES = frozenset(
    {
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    }
)
# Go's crypto/tls names the two ChaCha20 suites with a _SHA256 suffix (the names above are its
# legacy aliases) and the kubelet accepts both spellings: the same suite either way.
_STRONG_ALIASES = frozenset(
    {
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    }
)
_STRONG_EXPECTED = "set, and only suites from the CIS 4.2.12 strong list"


def _verdict(ok: bool, actual: str, expected: str, reason: str) -> Outcome:
    return Outcome(Status.PASS if ok else Status.FAIL, actual, expected, reason)


def check_tls_cert_files(config: Mapping[str, Any], _: Policy) -> Outcome:
    """4.2.9: tlsCertFile and tlsPrivateKeyFile both set, or serverTLSBootstrap true.

    Both files absent means "" (the kubelet self-signs a serving certificate): FAIL. With
    ``serverTLSBootstrap`` the kubelet gets its serving certificate from the cluster's
    certificates API instead of self-signing; that meets the recommendation's aim, so it passes.
    """
    cert = kf.read(config, kf.TLS_CERT_FILE)
    key = kf.read(config, kf.TLS_PRIVATE_KEY_FILE)
    bootstrap = kf.read(config, kf.SERVER_TLS_BOOTSTRAP)
    files_set = cert.value != "" and key.value != ""
    ok = files_set or bootstrap.value is True
    actual = (
        f"tlsCertFile={cert.show()}; tlsPrivateKeyFile={key.show()}; "
        f"serverTLSBootstrap={bootstrap.show()}"
    )
    reason = f"{cert.describe()}; {key.describe()}; {bootstrap.describe()}"
    if not ok:
        if cert.value == "" and key.value == "":
            reason += ": the kubelet serves a self-signed certificate it generated itself"
        else:
            reason += ": a serving certificate needs both the certificate and its private key"
    return _verdict(ok, actual, "both files set, or serverTLSBootstrap true", reason)


def check_strong_ciphers(config: Mapping[str, Any], _: Policy) -> Outcome:
    """4.2.12: tlsCipherSuites must be set and hold only strong suites.

    Absent (or empty) means Go's default suites, which include ones outside the strong list:
    FAIL, as kube-bench's ``valid_elements`` test fails an unset value.
    """
    seen = kf.read(config, kf.TLS_CIPHER_SUITES)
    suites: list[str] = list(seen.value)
    if not suites:
        reason = (
            "tlsCipherSuites is absent from configz, so the kubelet uses Go's default cipher "
            "suites, which include suites outside the strong list (kube-bench fails this too)"
            if not seen.present
            else "tlsCipherSuites is an empty list, so the kubelet uses Go's default cipher suites"
        )
        return _verdict(False, seen.show(), _STRONG_EXPECTED, reason)
    weak = [s for s in suites if s not in STRONG_CIPHER_SUITES and s not in _STRONG_ALIASES]
    reason = seen.describe()
    if weak:
        reason += ": not in the strong list: " + ", ".join(weak)
    return _verdict(not weak, seen.show(), _STRONG_EXPECTED, reason)


def check_pod_pids_limit(config: Mapping[str, Any], _: Policy) -> Outcome:
    """4.2.13: podPidsLimit must be above 0; absent means the default -1 (no limit, FAIL)."""
    seen = kf.read(config, kf.POD_PIDS_LIMIT)
    ok = seen.value > 0
    tail = "" if ok else ": pods can create processes without a limit"
    return _verdict(ok, seen.show(), "> 0", seen.describe() + tail)


def check_seccomp_default(config: Mapping[str, Any], _: Policy) -> Outcome:
    """4.2.14: seccompDefault must be true; absent means the default false (FAIL)."""
    seen = kf.read(config, kf.SECCOMP_DEFAULT)
    ok = seen.value is True
    tail = "" if ok else ": workloads without a seccomp profile run Unconfined"
    return _verdict(ok, seen.show(), "true", seen.describe() + tail)


_SUPPORT = (
    "Upgrade the node image (az aks nodepool upgrade --node-image-only); if the value persists, "
    "open a support request with Microsoft and attach this row (node, kubelet version, value)."
)

TLS_CERT_FILES = Recommendation(
    paths=kf.paths(kf.TLS_CERT_FILE, kf.TLS_PRIVATE_KEY_FILE, kf.SERVER_TLS_BOOTSTRAP),
    expected="both files set, or serverTLSBootstrap true",
    remediation=(
        "AKS gives the kubelet a serving certificate (/etc/kubernetes/certs/kubeletserver.crt) "
        "or, with kubelet serving certificate rotation, bootstraps it from the cluster "
        "(serverTLSBootstrap); neither can be set by hand. " + _SUPPORT
    ),
    check=check_tls_cert_files,
)
STRONG_CIPHERS = Recommendation(
    paths=kf.paths(kf.TLS_CIPHER_SUITES),
    expected=_STRONG_EXPECTED,
    remediation=(
        "AKS sets the kubelet's TLS cipher suites on its node images and custom node "
        "configuration does not expose them. " + _SUPPORT + " If your policy accepts the suites "
        "shown, record an exemption for this control with that reason."
    ),
    check=check_strong_ciphers,
)
POD_PIDS_LIMIT = Recommendation(
    paths=kf.paths(kf.POD_PIDS_LIMIT),
    expected="> 0",
    remediation=(
        "Set podMaxPids in the node pool's kubelet custom configuration: create a node pool with "
        "az aks nodepool add --kubelet-config <file> where the file sets podMaxPids to a "
        "positive limit sized for your workloads, move workloads to it and remove the old pool "
        "(Microsoft Learn: AKS custom node configuration)."
    ),
    check=check_pod_pids_limit,
)
SECCOMP_DEFAULT = Recommendation(
    paths=kf.paths(kf.SECCOMP_DEFAULT),
    expected="true",
    remediation=(
        'Set "seccompDefault": "RuntimeDefault" in the node pool\'s kubelet custom configuration '
        "(az aks nodepool add --kubelet-config <file>; in preview behind the "
        "KubeletDefaultSeccompProfilePreview feature flag) and move workloads to that pool. Test "
        "first: workloads that need syscalls the runtime's default profile blocks will fail "
        "(Microsoft Learn: secure container access, custom node configuration)."
    ),
    check=check_seccomp_default,
)

BENCHMARK = benchmark(
    "cis-k8s-1.12",
    "CIS Kubernetes Benchmark v1.12.0",
    (
        ("4.2.1", ANONYMOUS_AUTH_TITLE, 1, ANONYMOUS_AUTH),
        ("4.2.2", AUTHORIZATION_MODE_TITLE, 1, AUTHORIZATION_MODE),
        ("4.2.3", CLIENT_CA_FILE_TITLE, 1, CLIENT_CA_FILE),
        (
            "4.2.4",
            "Verify that if defined, the --read-only-port argument is set to 0",
            1,
            READ_ONLY_PORT,
        ),
        ("4.2.5", STREAMING_IDLE_TIMEOUT_TITLE, 1, STREAMING_IDLE_TIMEOUT),
        ("4.2.6", IPTABLES_UTIL_CHAINS_TITLE, 1, IPTABLES_UTIL_CHAINS),
        ("4.2.7", HOSTNAME_OVERRIDE_TITLE, 1, HOSTNAME_OVERRIDE),
        (
            "4.2.8",
            "Ensure that the eventRecordQPS argument is set to a level which ensures appropriate "
            "event capture",
            2,
            EVENT_RECORD_QPS,
        ),
        (
            "4.2.9",
            "Ensure that the --tls-cert-file and --tls-private-key-file arguments are set as "
            "appropriate",
            1,
            TLS_CERT_FILES,
        ),
        ("4.2.10", ROTATE_CERTIFICATES_TITLE, 1, ROTATE_CERTIFICATES),
        (
            "4.2.11",
            "Verify that the RotateKubeletServerCertificate argument is set to true",
            1,
            SERVER_CERT_ROTATION,
        ),
        (
            "4.2.12",
            "Ensure that the Kubelet only makes use of Strong Cryptographic Ciphers",
            1,
            STRONG_CIPHERS,
        ),
        ("4.2.13", "Ensure that a limit is set on pod PIDs", 1, POD_PIDS_LIMIT),
        (
            "4.2.14",
            "Ensure that the --seccomp-default parameter is set to true",
            1,
            SECCOMP_DEFAULT,
        ),
    ),
)
