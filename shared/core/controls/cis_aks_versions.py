"""CIS Azure Kubernetes Service (AKS) Benchmark v1.0.0 and v1.2.0 to v1.7.0, section 3.2 "Kubelet".

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
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.core.controls import Benchmark, Check, Control, Outcome, cis_aks_18
from shared.core.controls import kubelet_fields as kf
from shared.core.model import Policy, Status

# Fields read here: kubelet_fields (kf). ``--hostname-override`` is a kubelet command-line flag
# with no KubeletConfiguration field: configz cannot show it, absent or present.


@dataclass(frozen=True, slots=True)
class Recommendation:
    """What a CIS recommendation asks of configz, whatever id and title a version gives it."""

    paths: tuple[str, ...]
    expected: str
    remediation: str
    check: Check

    @classmethod
    def of(cls, control: Control) -> Recommendation:
        """The recommendation an existing control evaluates (its paths, check, remediation)."""
        return cls(control.paths, control.expected, control.remediation, control.check)

    def control(self, control_id: str, title: str, level: int) -> Control:
        """This recommendation under one version's id, title and level."""
        return Control(
            id=control_id,
            title=title,
            level=level,
            paths=self.paths,
            expected=self.expected,
            remediation=self.remediation,
            check=self.check,
        )


Row = tuple[str, str, int, Recommendation]


def benchmark(name: str, title: str, rows: tuple[Row, ...]) -> Benchmark:
    """A benchmark from rows of (id, title, level, recommendation), in benchmark order."""
    return Benchmark(
        name=name,
        title=title,
        controls=tuple(rec.control(cid, text, level) for cid, text, level, rec in rows),
    )


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

CIS_AKS_10 = benchmark(
    "cis-aks-1.0",
    "CIS Azure Kubernetes Service (AKS) Benchmark v1.0.0",
    (
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
    ),
)

CIS_AKS_12 = benchmark(
    "cis-aks-1.2",
    "CIS Azure Kubernetes Service (AKS) Benchmark v1.2.0",
    (
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
    ),
)

CIS_AKS_13 = benchmark(
    "cis-aks-1.3",
    "CIS Azure Kubernetes Service (AKS) Benchmark v1.3.0",
    (
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
    ),
)

CIS_AKS_14 = benchmark(
    "cis-aks-1.4",
    "CIS Azure Kubernetes Service (AKS) Benchmark v1.4.0",
    (
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

CIS_AKS_15 = benchmark(
    "cis-aks-1.5", "CIS Azure Kubernetes Service (AKS) Benchmark v1.5.0", _NINE_ITEMS
)
CIS_AKS_16 = benchmark(
    "cis-aks-1.6", "CIS Azure Kubernetes Service (AKS) Benchmark v1.6.0", _NINE_ITEMS
)
CIS_AKS_17 = benchmark(
    "cis-aks-1.7", "CIS Azure Kubernetes Service (AKS) Benchmark v1.7.0", _NINE_ITEMS
)

# Newest first, after cis-aks-1.8 in the registry.
BENCHMARKS = (CIS_AKS_17, CIS_AKS_16, CIS_AKS_15, CIS_AKS_14, CIS_AKS_13, CIS_AKS_12, CIS_AKS_10)
