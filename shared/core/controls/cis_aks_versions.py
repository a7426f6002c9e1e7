"""CIS Azure Kubernetes Service (AKS) Benchmark v1.0.0 and v1.2.0 to v1.7.0.

Section 3.2 "Kubelet" (per node) first; sections 2, 3.1 and 5 (per cluster, from ARM) at the end
of this docstring ("Sections 2, 3.1 and 5").

Each version is its own table: the ids, titles and levels that version gives its recommendations.
Where the recommendation is the one cis-aks-1.8 evaluates, the row reuses that control's configz
paths, check function and remediation from ``cis_aks_18``, so a recommendation is judged the same
way whichever version's id it carries. Two recommendations exist only in the older versions:

- ``--protect-kernel-defaults`` (v1.0.0, v1.2.0): configz ``protectKernelDefaults``.
- ``--hostname-override`` (v1.0.0 to v1.4.0): a command-line-only kubelet flag that configz never
  shows, so the control is always ``MANUAL`` with the reason and how to check it by hand.

Sources. Ids and titles are taken as these files give them, with kube-bench's "(Manual)" /
"(Automated)" suffix and trailing spaces removed. Commits are the stored versions that were read.

- v1.0.0: aquasecurity/kube-bench ``cfg/aks-1.0/node.yaml``
  @ 15e07656a07a6eb4867c999f45fcd7a985969381 (11 items).
- v1.2.0: kubescape/regolibrary ``frameworks/cis-aks-t1.2.0.json``
  @ 0afc4a2848eee513646f77b20690a0f001c8fcda (controls named "CIS-3.2.x <title>"; 11 items).
  Its wording differs from v1.0.0 in two titles: 3.2.4 "--read-only-port is secured" and 3.2.9
  "--eventRecordQPS argument"; the tools survey's "v1.0-v1.4 say 'set to 0'" does not hold for
  this file, and the file wins.
- v1.3.0: castai/kvisor ``cmd/linter/kubebench/kubebench-rules/aks-1.3/node.yaml``
  @ c8ce3b17925250723cee8a58ccd06c48f6e99555 (last commit touching the file; read from the
  snapshot at 44c7f9ba1082d2d057c12f693ff812ca05296321; 10 items). A third-party transcription.
- v1.4.0: castai/kvisor ``.../kubebench-rules/aks-1.4.0/node.yaml``
  @ 5d5a595ae4db6c066dcf24a442bf6a66f1ee9ce1 (10 items; third-party). Differs from v1.3.0 only in
  3.2.8, "--eventRecordQPS" for "--event-qps".
- v1.5.0: castai/kvisor ``.../kubebench-rules/aks-1.5.0/node.yaml``
  @ 5d5a595ae4db6c066dcf24a442bf6a66f1ee9ce1 (9 items; third-party).
- v1.6.0: castai/kvisor ``.../kubebench-rules/aks-1.6.0/node.yaml``
  @ f0175ab8c20c13b3029c6ccd42a441843e762d23 (9 items; third-party; 3.2 identical to v1.5.0).
- v1.7.0: aquasecurity/kube-bench ``cfg/aks-1.7/node.yaml``
  @ 1d41c7c3dbb55d2cb388a0f87396fe5d1d67bb39 (9 items; 3.2 titles identical to v1.8.0).

CIS AKS v1.1.0 is deliberately absent: no public source of its 3.2 table was found (the tools
survey only guesses "probably the same as v1.0.0"), and a guessed table would report findings
under ids and titles nobody can check. Add it when a source is found.

Levels. None of the files above records the profile level, so:

- Verified: eventRecordQPS is Level 2 in v1.7.0 and v1.8.0 (Trend Micro's CIS AKS 1.7 and 1.8
  pages for 3.2.7, "Profile Applicability: Level 2").
- Assumed: eventRecordQPS is Level 2 in v1.0.0 to v1.6.0 too (it is Level 2 in every CIS AKS and
  CIS Kubernetes text found; no text of those versions was available).
- Assumed: every other control is Level 1. No AKS source gives them; those the CIS Kubernetes
  table Microsoft publishes (``articles/aks/cis-kubernetes.md``) also has are Level 1 there, and
  protect-kernel-defaults is not in that table.

Sections 2, 3.1 and 5. The checks are those of cis-aks-1.8 (shared.core.controls.managed_cluster),
under each version's ids and titles:

- v1.7.0: identical to v1.8.0 (aquasecurity/kube-bench ``cfg/aks-1.7/{controlplane,node,
  managedservices}.yaml`` @ a3a8544a1d72a96fd2af61988bc9319268ff3ed2); levels from the
  CyberStrikeus/CyberStrike v1.7.0 transcription @ 2ffd3d89f089b4c92c63e6c94af59a03abc37061.
- v1.6.0 and v1.5.0: castai/kvisor ``.../kubebench-rules/aks-1.6.0/`` @
  f0175ab8c20c13b3029c6ccd42a441843e762d23 and ``aks-1.5.0/`` @
  5d5a595ae4db6c066dcf24a442bf6a66f1ee9ce1 (third-party): the v1.8.0 ids; 5.1.1 names "Azure
  Defender image scanning", 5.4.2 reads "Ensure clusters are Private Cluster enabled and Public
  Access Disabled".
- v1.4.0 and v1.3.0: castai/kvisor ``aks-1.4.0/`` @ 5d5a595ae4db6c066dcf24a442bf6a66f1ee9ce1 and
  ``aks-1.3/`` @ c8ce3b17925250723cee8a58ccd06c48f6e99555 (third-party); v1.0.0: kube-bench
  ``cfg/aks-1.0/`` @ f8e0171c09e8ae2e263238e5e7b9db47f5f2b164. 3.1.3 and 3.1.4 are the kubelet
  configuration file (not azure.json), 5.1.1 names "Azure Defender", and 5.6.1 "Restrict
  untrusted workloads" and 5.6.2 "Hostile multi-tenant workloads" exist: judgements, always
  MANUAL.
- v1.2.0: kubescape/regolibrary ``frameworks/cis-aks-t1.2.0.json`` @
  0afc4a2848eee513646f77b20690a0f001c8fcda, whose numbering differs: 5.1.2 is "Minimize cluster
  access to read-only for ACR" and 5.1.3 "Minimize user access to ACR" (swapped against the other
  versions), "Use Azure RBAC for Kubernetes Authorization" is 5.2.2, and it has no 5.5.2. It is
  kubescape's transcription; no CIS text of v1.2.0 was available to check it.

Levels of sections 2, 3.1 and 5 before v1.7.0 are assumed equal to v1.7.0's for the same
recommendation (no source gives them); 5.6.1 and 5.6.2 are assumed Level 1.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.core.controls import Outcome, Recommendation, Row, benchmark, cis_aks_18
from shared.core.controls import kubelet_fields as kf
from shared.core.controls import kubernetes as k8s
from shared.core.controls import managed_cluster as mc
from shared.core.model import Policy, Status

# Fields read here: kubelet_fields (kf). ``--hostname-override`` is a kubelet command-line flag
# with no KubeletConfiguration field: configz cannot show it, absent or present.


# The AKS-managed remediation text cis_aks_18 gives every setting AKS owns (3.2.1 carries it).
_AKS_MANAGED = cis_aks_18.BENCHMARK.control("3.2.1").remediation

NOT_IN_CONFIGZ = "(not in configz)"
HOSTNAME_OVERRIDE_REASON = (
    "--hostname-override is a command-line-only kubelet flag that configz does not expose; check "
    "the kubelet command line on a node (for example kubectl debug node/<node> -it "
    "--image=mcr.microsoft.com/azurelinux/busybox:1.36 -- chroot /host ps -o args= -C kubelet) "
    "and confirm the flag is absent. AKS's node bootstrapper (Azure/AgentBaker) does not pass it "
    "to the Linux kubelet, so a value there means the node was customised."
)


def check_hostname_override(_config: Mapping[str, Any], _policy: Policy) -> Outcome:
    """--hostname-override must not be set: not in configz, so always MANUAL with the reason."""
    return Outcome(Status.MANUAL, NOT_IN_CONFIGZ, "not set", HOSTNAME_OVERRIDE_REASON)


def check_protect_kernel_defaults(config: Mapping[str, Any], _: Policy) -> Outcome:
    """protectKernelDefaults must be true; omitempty bool, so absent means false (FAIL)."""
    seen = kf.read(config, kf.PROTECT_KERNEL_DEFAULTS)
    ok = seen.value is True
    tail = "" if ok else ": the kubelet changes kernel tunables instead of refusing unexpected ones"
    return Outcome(Status.PASS if ok else Status.FAIL, seen.show(), "true", seen.describe() + tail)


_AKS_18 = cis_aks_18.BENCHMARK
ANONYMOUS_AUTH = Recommendation.of(_AKS_18.control("3.2.1"))
AUTHORIZATION_MODE = Recommendation.of(_AKS_18.control("3.2.2"))
CLIENT_CA_FILE = Recommendation.of(_AKS_18.control("3.2.3"))
READ_ONLY_PORT = Recommendation.of(_AKS_18.control("3.2.4"))
STREAMING_IDLE_TIMEOUT = Recommendation.of(_AKS_18.control("3.2.5"))
IPTABLES_UTIL_CHAINS = Recommendation.of(_AKS_18.control("3.2.6"))
EVENT_RECORD_QPS = Recommendation.of(_AKS_18.control("3.2.7"))
ROTATE_CERTIFICATES = Recommendation.of(_AKS_18.control("3.2.8"))
SERVER_CERT_ROTATION = Recommendation.of(_AKS_18.control("3.2.9"))
PROTECT_KERNEL_DEFAULTS = Recommendation(
    paths=kf.paths(kf.PROTECT_KERNEL_DEFAULTS),
    expected="true",
    remediation=_AKS_MANAGED,  # AKS node images pass --protect-kernel-defaults=true
    check=check_protect_kernel_defaults,
)
HOSTNAME_OVERRIDE = Recommendation(
    paths=(),
    expected="not set",
    remediation=(
        "AKS does not set --hostname-override on its nodes. If the kubelet command line shows it, "
        "find what customised the node (a privileged DaemonSet, a custom image or extension) and "
        "remove it, then reimage the node pool (az aks nodepool upgrade --node-image-only)."
    ),
    check=check_hostname_override,
)

# Titles, as the sources word them; a recommendation reworded between versions has one per wording.
ANONYMOUS_AUTH_TITLE = "Ensure that the --anonymous-auth argument is set to false"
AUTHORIZATION_MODE_TITLE = "Ensure that the --authorization-mode argument is not set to AlwaysAllow"
CLIENT_CA_FILE_TITLE = "Ensure that the --client-ca-file argument is set as appropriate"
READ_ONLY_PORT_ZERO_TITLE = "Ensure that the --read-only-port argument is set to 0"
READ_ONLY_PORT_SECURED_TITLE = "Ensure that the --read-only-port is secured"
STREAMING_IDLE_TIMEOUT_TITLE = (
    "Ensure that the --streaming-connection-idle-timeout argument is not set to 0"
)
PROTECT_KERNEL_DEFAULTS_TITLE = "Ensure that the --protect-kernel-defaults argument is set to true"
IPTABLES_UTIL_CHAINS_TITLE = "Ensure that the --make-iptables-util-chains argument is set to true"
HOSTNAME_OVERRIDE_TITLE = "Ensure that the --hostname-override argument is not set"
EVENT_QPS_TITLE = (
    "Ensure that the --event-qps argument is set to 0 or a level which ensures appropriate "
    "event capture"
)
EVENT_RECORD_QPS_TITLE = (
    "Ensure that the --eventRecordQPS argument is set to 0 or a level which ensures appropriate "
    "event capture"
)
ROTATE_CERTIFICATES_TITLE = "Ensure that the --rotate-certificates argument is not set to false"
SERVER_CERT_ROTATION_TITLE = (
    "Ensure that the RotateKubeletServerCertificate argument is set to true"
)

# Sections 2, 3.1 and 5 before v1.7.0 (see "Sections 2, 3.1 and 5" above).
_A18 = cis_aks_18
KUBELET_CONFIG_PERMISSIONS_TITLE = (
    "Ensure that the kubelet configuration file has permissions set to 644 or more restrictive"
)
KUBELET_CONFIG_OWNERSHIP_TITLE = (
    "Ensure that the kubelet configuration file ownership is set to root:root"
)
AZURE_DEFENDER_SCANNING_TITLE = (
    "Ensure Image Vulnerability Scanning using Azure Defender image scanning or a third party "
    "provider"
)
PRIVATE_CLUSTER_PUBLIC_ACCESS_TITLE = (
    "Ensure clusters are Private Cluster enabled and Public Access Disabled"
)
UNTRUSTED_WORKLOADS_TITLE = "Restrict untrusted workloads"
HOSTILE_TENANTS_TITLE = "Hostile multi-tenant workloads"

#: 2.1.1 and 3.1.x with the kubelet configuration file (v1.0.0 to v1.4.0).
_LEADING_KUBELET_FILE: tuple[Row, ...] = (
    ("2.1.1", _A18.AUDIT_LOGS_TITLE, 1, mc.AUDIT_LOGS),
    ("3.1.1", _A18.KUBECONFIG_PERMISSIONS_TITLE, 1, mc.KUBECONFIG_PERMISSIONS),
    ("3.1.2", _A18.KUBECONFIG_OWNERSHIP_TITLE, 1, mc.KUBECONFIG_OWNERSHIP),
    ("3.1.3", KUBELET_CONFIG_PERMISSIONS_TITLE, 1, mc.KUBELET_CONFIG_PERMISSIONS),
    ("3.1.4", KUBELET_CONFIG_OWNERSHIP_TITLE, 1, mc.KUBELET_CONFIG_OWNERSHIP),
)
_MANAGED_5X_TAIL: tuple[Row, ...] = (
    ("5.4.3", _A18.PRIVATE_NODES_TITLE, 1, mc.PRIVATE_NODES),
    ("5.4.4", _A18.NETWORK_POLICY_TITLE, 1, mc.NETWORK_POLICY),
    ("5.4.5", _A18.LB_TLS_TITLE, 2, k8s.LB_TLS),
    ("5.5.1", _A18.ENTRA_RBAC_TITLE, 2, mc.ENTRA_RBAC),
    ("5.5.2", _A18.AZURE_RBAC_TITLE, 2, mc.AZURE_RBAC),
)


def _managed_services(private_endpoint_title: str) -> tuple[Row, ...]:
    """Section 5 as v1.3.0 to v1.6.0 number it (v1.8.0's ids, older 5.1.1 wording)."""
    return (
        ("5.1.1", AZURE_DEFENDER_SCANNING_TITLE, 1, mc.IMAGE_SCANNING),
        ("5.1.2", _A18.ACR_USER_ACCESS_TITLE, 1, mc.ACR_USER_ACCESS),
        ("5.1.3", _A18.ACR_READ_ONLY_TITLE, 1, mc.ACR_READ_ONLY),
        ("5.1.4", _A18.APPROVED_REGISTRIES_TITLE, 2, k8s.APPROVED_REGISTRIES),
        ("5.2.1", _A18.SERVICE_ACCOUNTS_TITLE, 1, k8s.SERVICE_ACCOUNTS),
        ("5.3.1", _A18.SECRETS_KMS_TITLE, 1, mc.SECRETS_KMS),
        ("5.4.1", _A18.ENDPOINT_RESTRICTED_TITLE, 1, mc.ENDPOINT_RESTRICTED),
        ("5.4.2", private_endpoint_title, 2, mc.PRIVATE_ENDPOINT),
        *_MANAGED_5X_TAIL,
    )


_OTHER_CONFIGURATIONS: tuple[Row, ...] = (
    ("5.6.1", UNTRUSTED_WORKLOADS_TITLE, 1, mc.UNTRUSTED_WORKLOADS),
    ("5.6.2", HOSTILE_TENANTS_TITLE, 1, mc.HOSTILE_TENANTS),
)
#: v1.0.0, v1.3.0, v1.4.0: section 5 with 5.6.x.
_MANAGED_UP_TO_14 = (*_managed_services(_A18.PRIVATE_ENDPOINT_TITLE), *_OTHER_CONFIGURATIONS)
#: v1.2.0 as kubescape numbers it.
_MANAGED_12: tuple[Row, ...] = (
    ("5.1.1", AZURE_DEFENDER_SCANNING_TITLE, 1, mc.IMAGE_SCANNING),
    ("5.1.2", _A18.ACR_READ_ONLY_TITLE, 1, mc.ACR_READ_ONLY),
    ("5.1.3", _A18.ACR_USER_ACCESS_TITLE, 1, mc.ACR_USER_ACCESS),
    ("5.1.4", _A18.APPROVED_REGISTRIES_TITLE, 2, k8s.APPROVED_REGISTRIES),
    ("5.2.1", _A18.SERVICE_ACCOUNTS_TITLE, 1, k8s.SERVICE_ACCOUNTS),
    ("5.2.2", _A18.AZURE_RBAC_TITLE, 2, mc.AZURE_RBAC),
    ("5.3.1", _A18.SECRETS_KMS_TITLE, 1, mc.SECRETS_KMS),
    ("5.4.1", _A18.ENDPOINT_RESTRICTED_TITLE, 1, mc.ENDPOINT_RESTRICTED),
    ("5.4.2", _A18.PRIVATE_ENDPOINT_TITLE, 2, mc.PRIVATE_ENDPOINT),
    ("5.4.3", _A18.PRIVATE_NODES_TITLE, 1, mc.PRIVATE_NODES),
    ("5.4.4", _A18.NETWORK_POLICY_TITLE, 1, mc.NETWORK_POLICY),
    ("5.4.5", _A18.LB_TLS_TITLE, 2, k8s.LB_TLS),
    ("5.5.1", _A18.ENTRA_RBAC_TITLE, 2, mc.ENTRA_RBAC),
    *_OTHER_CONFIGURATIONS,
)

CIS_AKS_10 = benchmark(
    "cis-aks-1.0",
    "CIS Azure Kubernetes Service (AKS) Benchmark v1.0.0",
    (
        *_LEADING_KUBELET_FILE,
        ("3.2.1", ANONYMOUS_AUTH_TITLE, 1, ANONYMOUS_AUTH),
        ("3.2.2", AUTHORIZATION_MODE_TITLE, 1, AUTHORIZATION_MODE),
        ("3.2.3", CLIENT_CA_FILE_TITLE, 1, CLIENT_CA_FILE),
        ("3.2.4", READ_ONLY_PORT_ZERO_TITLE, 1, READ_ONLY_PORT),
        ("3.2.5", STREAMING_IDLE_TIMEOUT_TITLE, 1, STREAMING_IDLE_TIMEOUT),
        ("3.2.6", PROTECT_KERNEL_DEFAULTS_TITLE, 1, PROTECT_KERNEL_DEFAULTS),
        ("3.2.7", IPTABLES_UTIL_CHAINS_TITLE, 1, IPTABLES_UTIL_CHAINS),
        ("3.2.8", HOSTNAME_OVERRIDE_TITLE, 1, HOSTNAME_OVERRIDE),
        ("3.2.9", EVENT_QPS_TITLE, 2, EVENT_RECORD_QPS),
        ("3.2.10", ROTATE_CERTIFICATES_TITLE, 1, ROTATE_CERTIFICATES),
        ("3.2.11", SERVER_CERT_ROTATION_TITLE, 1, SERVER_CERT_ROTATION),
        *_MANAGED_UP_TO_14,
    ),
)

CIS_AKS_12 = benchmark(
    "cis-aks-1.2",
    "CIS Azure Kubernetes Service (AKS) Benchmark v1.2.0",
    (
        *_LEADING_KUBELET_FILE,
        ("3.2.1", ANONYMOUS_AUTH_TITLE, 1, ANONYMOUS_AUTH),
        ("3.2.2", AUTHORIZATION_MODE_TITLE, 1, AUTHORIZATION_MODE),
        ("3.2.3", CLIENT_CA_FILE_TITLE, 1, CLIENT_CA_FILE),
        ("3.2.4", READ_ONLY_PORT_SECURED_TITLE, 1, READ_ONLY_PORT),
        ("3.2.5", STREAMING_IDLE_TIMEOUT_TITLE, 1, STREAMING_IDLE_TIMEOUT),
        ("3.2.6", PROTECT_KERNEL_DEFAULTS_TITLE, 1, PROTECT_KERNEL_DEFAULTS),
        ("3.2.7", IPTABLES_UTIL_CHAINS_TITLE, 1, IPTABLES_UTIL_CHAINS),
        ("3.2.8", HOSTNAME_OVERRIDE_TITLE, 1, HOSTNAME_OVERRIDE),
        ("3.2.9", EVENT_RECORD_QPS_TITLE, 2, EVENT_RECORD_QPS),
        ("3.2.10", ROTATE_CERTIFICATES_TITLE, 1, ROTATE_CERTIFICATES),
        ("3.2.11", SERVER_CERT_ROTATION_TITLE, 1, SERVER_CERT_ROTATION),
        *_MANAGED_12,
    ),
)

CIS_AKS_13 = benchmark(
    "cis-aks-1.3",
    "CIS Azure Kubernetes Service (AKS) Benchmark v1.3.0",
    (
        *_LEADING_KUBELET_FILE,
        ("3.2.1", ANONYMOUS_AUTH_TITLE, 1, ANONYMOUS_AUTH),
        ("3.2.2", AUTHORIZATION_MODE_TITLE, 1, AUTHORIZATION_MODE),
        ("3.2.3", CLIENT_CA_FILE_TITLE, 1, CLIENT_CA_FILE),
        ("3.2.4", READ_ONLY_PORT_ZERO_TITLE, 1, READ_ONLY_PORT),
        ("3.2.5", STREAMING_IDLE_TIMEOUT_TITLE, 1, STREAMING_IDLE_TIMEOUT),
        ("3.2.6", IPTABLES_UTIL_CHAINS_TITLE, 1, IPTABLES_UTIL_CHAINS),
        ("3.2.7", HOSTNAME_OVERRIDE_TITLE, 1, HOSTNAME_OVERRIDE),
        ("3.2.8", EVENT_QPS_TITLE, 2, EVENT_RECORD_QPS),
        ("3.2.9", ROTATE_CERTIFICATES_TITLE, 1, ROTATE_CERTIFICATES),
        ("3.2.10", SERVER_CERT_ROTATION_TITLE, 1, SERVER_CERT_ROTATION),
        *_MANAGED_UP_TO_14,
    ),
)

CIS_AKS_14 = benchmark(
    "cis-aks-1.4",
    "CIS Azure Kubernetes Service (AKS) Benchmark v1.4.0",
    (
        *_LEADING_KUBELET_FILE,
        ("3.2.1", ANONYMOUS_AUTH_TITLE, 1, ANONYMOUS_AUTH),
        ("3.2.2", AUTHORIZATION_MODE_TITLE, 1, AUTHORIZATION_MODE),
        ("3.2.3", CLIENT_CA_FILE_TITLE, 1, CLIENT_CA_FILE),
        ("3.2.4", READ_ONLY_PORT_ZERO_TITLE, 1, READ_ONLY_PORT),
        ("3.2.5", STREAMING_IDLE_TIMEOUT_TITLE, 1, STREAMING_IDLE_TIMEOUT),
        ("3.2.6", IPTABLES_UTIL_CHAINS_TITLE, 1, IPTABLES_UTIL_CHAINS),
        ("3.2.7", HOSTNAME_OVERRIDE_TITLE, 1, HOSTNAME_OVERRIDE),
        ("3.2.8", EVENT_RECORD_QPS_TITLE, 2, EVENT_RECORD_QPS),
        ("3.2.9", ROTATE_CERTIFICATES_TITLE, 1, ROTATE_CERTIFICATES),
        ("3.2.10", SERVER_CERT_ROTATION_TITLE, 1, SERVER_CERT_ROTATION),
        *_MANAGED_UP_TO_14,
    ),
)

# v1.5.0 onwards: hostname-override is gone and the table is the nine items of v1.8.0.
_NINE_ITEMS: tuple[Row, ...] = (
    ("3.2.1", ANONYMOUS_AUTH_TITLE, 1, ANONYMOUS_AUTH),
    ("3.2.2", AUTHORIZATION_MODE_TITLE, 1, AUTHORIZATION_MODE),
    ("3.2.3", CLIENT_CA_FILE_TITLE, 1, CLIENT_CA_FILE),
    ("3.2.4", READ_ONLY_PORT_SECURED_TITLE, 1, READ_ONLY_PORT),
    ("3.2.5", STREAMING_IDLE_TIMEOUT_TITLE, 1, STREAMING_IDLE_TIMEOUT),
    ("3.2.6", IPTABLES_UTIL_CHAINS_TITLE, 1, IPTABLES_UTIL_CHAINS),
    ("3.2.7", EVENT_RECORD_QPS_TITLE, 2, EVENT_RECORD_QPS),
    ("3.2.8", ROTATE_CERTIFICATES_TITLE, 1, ROTATE_CERTIFICATES),
    ("3.2.9", SERVER_CERT_ROTATION_TITLE, 1, SERVER_CERT_ROTATION),
)

#: v1.5.0 and v1.6.0: the v1.8.0 layout with older titles for 5.1.1 and 5.4.2.
_FROM_15: tuple[Row, ...] = (
    *_A18.LEADING_ROWS,
    *_NINE_ITEMS,
    *_managed_services(PRIVATE_CLUSTER_PUBLIC_ACCESS_TITLE),
)

CIS_AKS_15 = benchmark(
    "cis-aks-1.5", "CIS Azure Kubernetes Service (AKS) Benchmark v1.5.0", _FROM_15
)
CIS_AKS_16 = benchmark(
    "cis-aks-1.6", "CIS Azure Kubernetes Service (AKS) Benchmark v1.6.0", _FROM_15
)
CIS_AKS_17 = benchmark(
    "cis-aks-1.7",
    "CIS Azure Kubernetes Service (AKS) Benchmark v1.7.0",
    (*_A18.LEADING_ROWS, *_NINE_ITEMS, *k8s.SECTION4_17_ROWS, *_A18.MANAGED_SERVICES_ROWS),
)

# Newest first, after cis-aks-1.8 in the registry.
BENCHMARKS = (CIS_AKS_17, CIS_AKS_16, CIS_AKS_15, CIS_AKS_14, CIS_AKS_13, CIS_AKS_12, CIS_AKS_10)
