"""CIS Azure Kubernetes Service (AKS) Benchmark v1.8.0: sections 2, 3 and 5.

Section 3.2 "Kubelet" is evaluated per node: ids and titles follow the v1.8.0 numbering (nine
items; eventRecordQPS is 3.2.7 at Level 2). Every check reads the kubelet's effective
configuration from configz, where Go's ``omitempty`` drops zero values; each field's "absent
means" is stated next to its check and is exactly the table of the scanner-core specification
(see README "Controls").

Sections 2 (control plane logging), 3.1 (worker node files) and 5 (managed services) are
evaluated per cluster from what ARM says about it; their checks are in ``managed_cluster``
(``CLUSTER_ROWS`` here gives them their v1.8.0 ids, titles and levels). Sources: ids and titles
from aquasecurity/kube-bench ``cfg/aks-1.8/{controlplane,node,managedservices}.yaml`` @
1e6579f92d0e7ea4052b7f914cba875386e51226 (its "(Manual)"/"(Automated)" suffix removed); levels
from the per-recommendation transcription of the v1.8.0 text in CyberStrikeus/CyberStrike
``.cyberstrike/skill/CIS_benchmarks/Server_Software/Kubernetes/
CIS_Azure_Kubernetes_Service_AKS_Benchmark_v1.8.0/cis-aks-v180-<id>/SKILL.md`` @
2ffd3d89f089b4c92c63e6c94af59a03abc37061 ("Profile Applicability"; third-party material).
Section 4 (policies, from the Kubernetes API) is shared.core.controls.kubernetes's table.

Remediation is written for AKS, where nodes are managed: the kubelet flags are set by AKS
(AgentBaker) and cannot be edited on a node; what a user can change is named, the rest says to
raise it with Microsoft support with the row as evidence.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.core.controls import Benchmark, Control, Outcome, Row
from shared.core.controls import kubelet_fields as kf
from shared.core.controls import kubernetes as k8s
from shared.core.controls import managed_cluster as mc
from shared.core.model import Policy, QpsMode, Status

_AKS_MANAGED = (
    "AKS manages this kubelet setting and it cannot be changed on the node. Upgrade the node "
    "image (az aks nodepool upgrade --node-image-only); if the value persists, open a support "
    "request with Microsoft and attach this row (node, kubelet version, observed value)."
)

# The fields read, their types, defaults and what absence means: kubelet_fields (kf).


def _verdict(ok: bool, actual: str, expected: str, reason: str) -> Outcome:
    return Outcome(Status.PASS if ok else Status.FAIL, actual, expected, reason)


def check_anonymous_auth(config: Mapping[str, Any], _: Policy) -> Outcome:
    """3.2.1: anonymous auth must be off; absent means false (PASS)."""
    seen = kf.read(config, kf.ANONYMOUS_AUTH)
    ok = seen.value is False
    tail = "" if ok else ": anonymous requests to the kubelet API are allowed"
    return _verdict(ok, seen.show(), "false", seen.describe() + tail)


def check_authorization_mode(config: Mapping[str, Any], _: Policy) -> Outcome:
    """3.2.2: authorization mode must not be AlwaysAllow; absent means Webhook (PASS)."""
    seen = kf.read(config, kf.AUTHORIZATION_MODE)
    ok = seen.value != "AlwaysAllow"
    tail = "" if ok else ": every authenticated request to the kubelet API is allowed"
    return _verdict(ok, seen.show(), "not AlwaysAllow", seen.describe() + tail)


def check_client_ca_file(config: Mapping[str, Any], _: Policy) -> Outcome:
    """3.2.3: a client CA file must be set; absent means empty (FAIL)."""
    seen = kf.read(config, kf.CLIENT_CA_FILE)
    ok = seen.value != ""
    tail = "" if ok else ": client certificates to the kubelet API are not verified"
    return _verdict(ok, seen.show(), "a non-empty path", seen.describe() + tail)


def check_read_only_port(config: Mapping[str, Any], _: Policy) -> Outcome:
    """3.2.4: the read-only port must be 0 (disabled); absent means 0 (PASS)."""
    seen = kf.read(config, kf.READ_ONLY_PORT)
    ok = seen.value == 0
    tail = "" if ok else f": the unauthenticated read-only port {seen.value} is open"
    return _verdict(ok, seen.show(), "0", seen.describe() + tail)


def check_streaming_idle_timeout(config: Mapping[str, Any], _: Policy) -> Outcome:
    """3.2.5: the streaming idle timeout must not be zero; absent means 4h0m0s (PASS)."""
    seen, seconds = kf.read_duration(config, kf.STREAMING_IDLE_TIMEOUT)
    ok = seconds != 0
    tail = "" if ok else ": idle streaming connections never time out"
    return _verdict(ok, seen.show(), "not 0", seen.describe() + tail)


def check_iptables_util_chains(config: Mapping[str, Any], _: Policy) -> Outcome:
    """3.2.6: the kubelet must manage its iptables chains; absent means true (PASS)."""
    seen = kf.read(config, kf.IPTABLES_UTIL_CHAINS)
    ok = seen.value is True
    return _verdict(ok, seen.show(), "true", seen.describe())


KUBELET_DEFAULT_EVENT_QPS = kf.EVENT_RECORD_QPS.default


def event_record_qps_complies(value: int, policy: Policy) -> bool:
    """The 3.2.7 judgement call: "set to 0 or a level which ensures appropriate event capture".

    Interpretation (``EVENT_RECORD_QPS_MODE=cis``, the default): 0 passes, because the benchmark
    names it and AKS sets ``--event-qps=0``; any value at or above ``EVENT_RECORD_QPS_MIN``
    (default 5, the upstream v1beta1 documented default) passes as "a level which ensures
    appropriate event capture"; a negative value or one between 0 and the minimum fails, since
    it throttles events below that level. ``zero-only`` reproduces kube-bench's aks-* check,
    where only an explicit 0 passes.
    """
    if policy.event_record_qps_mode is QpsMode.ZERO_ONLY:
        return value == 0
    return value == 0 or value >= policy.event_record_qps_min


def check_event_record_qps(config: Mapping[str, Any], policy: Policy) -> Outcome:
    """3.2.7 (Level 2): see ``event_record_qps_complies``; absent means the kubelet default 50."""
    seen = kf.read(config, kf.EVENT_RECORD_QPS)
    if policy.event_record_qps_mode is QpsMode.ZERO_ONLY:
        expected = "0 (EVENT_RECORD_QPS_MODE=zero-only)"
    else:
        expected = f"0 or >= {policy.event_record_qps_min}"
    ok = event_record_qps_complies(seen.value, policy)
    tail = "" if ok else f": outside the policy ({expected})"
    return _verdict(ok, seen.show(), expected, seen.describe() + tail)


def check_rotate_certificates(config: Mapping[str, Any], _: Policy) -> Outcome:
    """3.2.8: client certificate rotation must be on; absent means false (FAIL)."""
    seen = kf.read(config, kf.ROTATE_CERTIFICATES)
    ok = seen.value is True
    tail = "" if ok else ": the kubelet client certificate is not rotated"
    return _verdict(ok, seen.show(), "true", seen.describe() + tail)


def check_server_cert_rotation(config: Mapping[str, Any], _: Policy) -> Outcome:
    """3.2.9: the RotateKubeletServerCertificate gate must not be off and serverTLSBootstrap on."""
    gate = kf.read(config, kf.SERVER_CERT_ROTATION_GATE)
    bootstrap = kf.read(config, kf.SERVER_TLS_BOOTSTRAP)
    ok = gate.value is not False and bootstrap.value is True
    actual = f"RotateKubeletServerCertificate={gate.show()}; serverTLSBootstrap={bootstrap.show()}"
    reason = f"{gate.describe()}; {bootstrap.describe()}"
    if gate.value is False:
        reason += ": the serving-certificate rotation feature gate is disabled"
    elif bootstrap.value is not True:
        reason += ": the kubelet does not request its serving certificate from the cluster"
    return _verdict(ok, actual, "gate not false and serverTLSBootstrap true", reason)


KUBELET: tuple[Control, ...] = (
    Control(
        id="3.2.1",
        title="Ensure that the --anonymous-auth argument is set to false",
        level=1,
        paths=kf.paths(kf.ANONYMOUS_AUTH),
        expected="false",
        remediation=_AKS_MANAGED,
        check=check_anonymous_auth,
    ),
    Control(
        id="3.2.2",
        title="Ensure that the --authorization-mode argument is not set to AlwaysAllow",
        level=1,
        paths=kf.paths(kf.AUTHORIZATION_MODE),
        expected="not AlwaysAllow",
        remediation=_AKS_MANAGED,
        check=check_authorization_mode,
    ),
    Control(
        id="3.2.3",
        title="Ensure that the --client-ca-file argument is set as appropriate",
        level=1,
        paths=kf.paths(kf.CLIENT_CA_FILE),
        expected="a non-empty path",
        remediation=_AKS_MANAGED,
        check=check_client_ca_file,
    ),
    Control(
        id="3.2.4",
        title="Ensure that the --read-only-port is secured",
        level=1,
        paths=kf.paths(kf.READ_ONLY_PORT),
        expected="0",
        remediation=_AKS_MANAGED,
        check=check_read_only_port,
    ),
    Control(
        id="3.2.5",
        title=("Ensure that the --streaming-connection-idle-timeout argument is not set to 0"),
        level=1,
        paths=kf.paths(kf.STREAMING_IDLE_TIMEOUT),
        expected="not 0",
        remediation=_AKS_MANAGED,
        check=check_streaming_idle_timeout,
    ),
    Control(
        id="3.2.6",
        title="Ensure that the --make-iptables-util-chains argument is set to true",
        level=1,
        paths=kf.paths(kf.IPTABLES_UTIL_CHAINS),
        expected="true",
        remediation=_AKS_MANAGED,
        check=check_iptables_util_chains,
    ),
    Control(
        id="3.2.7",
        title=(
            "Ensure that the --eventRecordQPS argument is set to 0 or a level which "
            "ensures appropriate event capture"
        ),
        level=2,
        paths=kf.paths(kf.EVENT_RECORD_QPS),
        expected="0 or >= EVENT_RECORD_QPS_MIN",
        remediation=(
            "AKS sets --event-qps=0 on its node images; a different value means a custom or "
            "outdated node image. Upgrade the node image; if it persists, raise it with "
            "Microsoft support with this row as evidence. If your policy accepts the value, "
            "set EVENT_RECORD_QPS_MIN accordingly and record why."
        ),
        check=check_event_record_qps,
    ),
    Control(
        id="3.2.8",
        title="Ensure that the --rotate-certificates argument is not set to false",
        level=1,
        paths=kf.paths(kf.ROTATE_CERTIFICATES),
        expected="true",
        remediation=_AKS_MANAGED,
        check=check_rotate_certificates,
    ),
    Control(
        id="3.2.9",
        title="Ensure that the RotateKubeletServerCertificate argument is set to true",
        level=1,
        paths=kf.paths(kf.SERVER_CERT_ROTATION_GATE, kf.SERVER_TLS_BOOTSTRAP),
        expected="gate not false and serverTLSBootstrap true",
        remediation=(
            "Kubelet serving-certificate rotation is on by default for AKS node pools on "
            "Kubernetes 1.27 and later (it needs Kubernetes RBAC) and cannot be switched on "
            "by hand. A pool tagged aks-disable-kubelet-serving-certificate-rotation=true "
            "had it turned off on purpose; AKS stops honouring that tag on 1 April 2027 and "
            "turns rotation on at the pool's next reimage. To comply sooner, create a node "
            "pool without the tag and move workloads to it; on older Kubernetes versions, "
            "upgrade the cluster and node pools first. (Microsoft Learn: AKS certificate "
            "rotation, kubelet serving certificate rotation.)"
        ),
        check=check_server_cert_rotation,
    ),
)

AUDIT_LOGS_TITLE = "Enable audit Logs"
KUBECONFIG_PERMISSIONS_TITLE = (
    "Ensure that the kubeconfig file permissions are set to 644 or more restrictive"
)
KUBECONFIG_OWNERSHIP_TITLE = "Ensure that the kubelet kubeconfig file ownership is set to root:root"
AZURE_JSON_PERMISSIONS_TITLE = (
    "Ensure that the azure.json file has permissions set to 644 or more restrictive"
)
AZURE_JSON_OWNERSHIP_TITLE = "Ensure that the azure.json file ownership is set to root:root"
IMAGE_SCANNING_TITLE = (
    "Ensure Image Vulnerability Scanning using Microsoft Defender for Cloud (MDC) image scanning "
    "or a third party provider"
)
ACR_USER_ACCESS_TITLE = "Minimize user access to Azure Container Registry (ACR)"
ACR_READ_ONLY_TITLE = "Minimize cluster access to read-only for Azure Container Registry (ACR)"
APPROVED_REGISTRIES_TITLE = "Minimize Container Registries to only those approved"
SERVICE_ACCOUNTS_TITLE = "Prefer using dedicated AKS Service Accounts"
SECRETS_KMS_TITLE = "Ensure Kubernetes Secrets are encrypted"
ENDPOINT_RESTRICTED_TITLE = "Restrict Access to the Control Plane Endpoint"
PRIVATE_ENDPOINT_TITLE = (
    "Ensure clusters are created with Private Endpoint Enabled and Public Access Disabled"
)
PRIVATE_NODES_TITLE = "Ensure clusters are created with Private Nodes"
NETWORK_POLICY_TITLE = "Ensure Network Policy is Enabled and set as appropriate"
LB_TLS_TITLE = "Encrypt traffic to HTTPS load balancers with TLS certificates"
ENTRA_RBAC_TITLE = "Manage Kubernetes RBAC users with Azure AD"
AZURE_RBAC_TITLE = "Use Azure RBAC for Kubernetes Authorization"

#: Section 2 and 3.1 of v1.8.0 (v1.7.0 is identical), before the kubelet section.
LEADING_ROWS: tuple[Row, ...] = (
    ("2.1.1", AUDIT_LOGS_TITLE, 1, mc.AUDIT_LOGS),
    ("3.1.1", KUBECONFIG_PERMISSIONS_TITLE, 1, mc.KUBECONFIG_PERMISSIONS),
    ("3.1.2", KUBECONFIG_OWNERSHIP_TITLE, 1, mc.KUBECONFIG_OWNERSHIP),
    ("3.1.3", AZURE_JSON_PERMISSIONS_TITLE, 1, mc.AZURE_JSON_PERMISSIONS),
    ("3.1.4", AZURE_JSON_OWNERSHIP_TITLE, 1, mc.AZURE_JSON_OWNERSHIP),
)
#: Section 5 of v1.8.0 (v1.7.0 is identical).
MANAGED_SERVICES_ROWS: tuple[Row, ...] = (
    ("5.1.1", IMAGE_SCANNING_TITLE, 1, mc.IMAGE_SCANNING),
    ("5.1.2", ACR_USER_ACCESS_TITLE, 1, mc.ACR_USER_ACCESS),
    ("5.1.3", ACR_READ_ONLY_TITLE, 1, mc.ACR_READ_ONLY),
    ("5.1.4", APPROVED_REGISTRIES_TITLE, 2, k8s.APPROVED_REGISTRIES),
    ("5.2.1", SERVICE_ACCOUNTS_TITLE, 1, k8s.SERVICE_ACCOUNTS),
    ("5.3.1", SECRETS_KMS_TITLE, 1, mc.SECRETS_KMS),
    ("5.4.1", ENDPOINT_RESTRICTED_TITLE, 1, mc.ENDPOINT_RESTRICTED),
    ("5.4.2", PRIVATE_ENDPOINT_TITLE, 2, mc.PRIVATE_ENDPOINT),
    ("5.4.3", PRIVATE_NODES_TITLE, 1, mc.PRIVATE_NODES),
    ("5.4.4", NETWORK_POLICY_TITLE, 1, mc.NETWORK_POLICY),
    ("5.4.5", LB_TLS_TITLE, 2, k8s.LB_TLS),
    ("5.5.1", ENTRA_RBAC_TITLE, 2, mc.ENTRA_RBAC),
    ("5.5.2", AZURE_RBAC_TITLE, 2, mc.AZURE_RBAC),
)


def _rows(rows: tuple[Row, ...]) -> tuple[Control, ...]:
    return tuple(rec.control(cid, title, level) for cid, title, level, rec in rows)


BENCHMARK = Benchmark(
    name="cis-aks-1.8",
    title="CIS Azure Kubernetes Service (AKS) Benchmark v1.8.0",
    controls=(
        *_rows(LEADING_ROWS),
        *KUBELET,
        *_rows(k8s.SECTION4_18_ROWS),
        *_rows(MANAGED_SERVICES_ROWS),
    ),
)
