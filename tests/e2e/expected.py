"""Expected verdicts for the demo estate, written by hand from the control tables and the
estate's configurations (sim/estate.py, sim/demo_workloads.py, sim/kubeobjects.py), not computed
by the scanner's code.

Node-scoped controls (3.2): per pool, control id -> status; node-control rows of a cluster that
was not reached (no node) per cluster. Cluster-scoped controls, one row per (cluster, control):
those read from ARM (2.1.1, 3.1.x, 4.4.1, 4.5.2, 5.x) per cluster, control id -> status; those
read from the cluster's Kubernetes API (section 4, 5.1.4, 5.2.1, 5.4.5) per cluster, control id
-> ``Verdict``: the status, how many offenders the row counts and their key names.
"""

from __future__ import annotations

from dataclasses import dataclass

CONTROLS = [f"3.2.{i}" for i in range(1, 10)]
ALL_PASS = dict.fromkeys(CONTROLS, "PASS")

POOLS: dict[tuple[str, str], dict[str, str]] = {
    # compliant AKS-like configuration
    ("aks-prod-weu", "system"): ALL_PASS,
    ("aks-prod-weu", "user"): ALL_PASS,
    # anonymous on, read-only port 10255, iptables chains off, eventRecordQPS 3,
    # rotateCertificates and serverTLSBootstrap absent (false)
    ("aks-legacy-eus", "legacy"): {
        "3.2.1": "FAIL",
        "3.2.2": "PASS",
        "3.2.3": "PASS",
        "3.2.4": "FAIL",
        "3.2.5": "PASS",
        "3.2.6": "FAIL",
        "3.2.7": "FAIL",
        "3.2.8": "FAIL",
        "3.2.9": "FAIL",
    },
    # eventRecordQPS 50 passes; the RotateKubeletServerCertificate gate is off
    ("aks-batch-neu", "cpu"): {**ALL_PASS, "3.2.9": "FAIL"},
    # AlwaysAllow, no client CA, idle timeout 0s, eventRecordQPS "5" (a string)
    ("aks-batch-neu", "gpu"): {
        "3.2.1": "PASS",
        "3.2.2": "FAIL",
        "3.2.3": "FAIL",
        "3.2.4": "PASS",
        "3.2.5": "FAIL",
        "3.2.6": "PASS",
        "3.2.7": "ERROR",
        "3.2.8": "PASS",
        "3.2.9": "PASS",
    },
    # compliant, reachable only with ALLOW_LOCAL_ACCOUNTS=true
    ("aks-local-only", "nodes"): ALL_PASS,
}
UNREACHABLE_NODE = ("aks-prod-weu", "aks-user-93773898-vmss000002")
CLUSTER_ROWS = {"aks-dev-stopped": "SKIPPED", "aks-local-only": "ERROR"}
NODES_PER_POOL = {
    ("aks-prod-weu", "system"): 3,
    ("aks-prod-weu", "user"): 4,
    ("aks-legacy-eus", "legacy"): 2,
    ("aks-batch-neu", "cpu"): 2,
    ("aks-batch-neu", "gpu"): 2,
    ("aks-local-only", "nodes"): 2,
}


def expected_status(
    cluster: str, pool: str, node: str, control: str, *, local_accounts: bool = False
) -> str:
    """What one row's Status must be."""
    if not node:
        return "PASS" if local_accounts and cluster == "aks-local-only" else CLUSTER_ROWS[cluster]
    if (cluster, node) == UNREACHABLE_NODE:
        return "ERROR"
    return POOLS[(cluster, pool)][control]


#: The ARM-read cluster-scoped controls of cis-aks-1.8, one row per (cluster, control). 3.1.x are
#: MANUAL everywhere (no API shows them), 4.4.1 and 4.5.2 are evidence for a person (ARM's
#: networkProfile and addonProfiles: MANUAL wherever ARM answers, the stopped cluster too);
#: 5.1.2 is MANUAL without a policy file.
ARM_CONTROLS = [
    "2.1.1",
    "3.1.1",
    "3.1.2",
    "3.1.3",
    "3.1.4",
    "4.4.1",
    "4.5.2",
    "5.1.1",
    "5.1.2",
    "5.1.3",
    "5.3.1",
    "5.4.1",
    "5.4.2",
    "5.4.3",
    "5.4.4",
    "5.5.1",
    "5.5.2",
]
_ALWAYS_MANUAL = dict.fromkeys(["3.1.1", "3.1.2", "3.1.3", "3.1.4", "4.4.1", "4.5.2"], "MANUAL")
CLUSTER_VERDICTS: dict[str, dict[str, str]] = {
    # Defender Standard with VA; kube-audit-admin to a workspace; AcrPull on acrcontosoprod
    # (writers: a pipeline with AcrPush, a group owning the subscription); two authorized
    # ranges; Cilium; KMS; Entra + Azure RBAC; public API server.
    "aks-prod-weu": {
        **_ALWAYS_MANUAL,
        "2.1.1": "PASS",
        "5.1.1": "PASS",
        "5.1.2": "MANUAL",
        "5.1.3": "PASS",
        "5.3.1": "PASS",
        "5.4.1": "PASS",
        "5.4.2": "FAIL",
        "5.4.3": "FAIL",
        "5.4.4": "PASS",
        "5.5.1": "PASS",
        "5.5.2": "PASS",
    },
    # only kube-apiserver logs; AcrPush on acrlegacy, whose admin user is on; no ranges, no
    # network policy, no KMS; a pool with node public IPs; Entra without Azure RBAC.
    "aks-legacy-eus": {
        **_ALWAYS_MANUAL,
        "2.1.1": "FAIL",
        "5.1.1": "PASS",
        "5.1.2": "FAIL",
        "5.1.3": "FAIL",
        "5.3.1": "FAIL",
        "5.4.1": "FAIL",
        "5.4.2": "FAIL",
        "5.4.3": "FAIL",
        "5.4.4": "FAIL",
        "5.5.1": "PASS",
        "5.5.2": "FAIL",
    },
    # diagnostic settings refused (403): ERROR naming the action; no registry role; Azure
    # network policy; no ranges; no Entra ID.
    "aks-local-only": {
        **_ALWAYS_MANUAL,
        "2.1.1": "ERROR",
        "5.1.1": "PASS",
        "5.1.2": "MANUAL",
        "5.1.3": "MANUAL",
        "5.3.1": "FAIL",
        "5.4.1": "FAIL",
        "5.4.2": "FAIL",
        "5.4.3": "FAIL",
        "5.4.4": "PASS",
        "5.5.1": "FAIL",
        "5.5.2": "FAIL",
    },
    # stopped, but ARM still answers: Defender Free; no diagnostic setting; private with a public
    # FQDN; Calico; AcrPull on the production registry; Entra without Azure RBAC.
    "aks-dev-stopped": {
        **_ALWAYS_MANUAL,
        "2.1.1": "FAIL",
        "5.1.1": "FAIL",
        "5.1.2": "MANUAL",
        "5.1.3": "PASS",
        "5.3.1": "FAIL",
        "5.4.1": "PASS",
        "5.4.2": "FAIL",
        "5.4.3": "PASS",
        "5.4.4": "PASS",
        "5.5.1": "PASS",
        "5.5.2": "FAIL",
    },
    # Defender Free; allLogs to a workspace; ranges with 0.0.0.0/0; network policy "none";
    # AcrPull on acrbatch (nobody else writes there); Entra without Azure RBAC.
    "aks-batch-neu": {
        **_ALWAYS_MANUAL,
        "2.1.1": "PASS",
        "5.1.1": "FAIL",
        "5.1.2": "MANUAL",
        "5.1.3": "PASS",
        "5.3.1": "FAIL",
        "5.4.1": "FAIL",
        "5.4.2": "FAIL",
        "5.4.3": "FAIL",
        "5.4.4": "FAIL",
        "5.5.1": "PASS",
        "5.5.2": "FAIL",
    },
}

# -- section 4, with 5.1.4, 5.2.1 and 5.4.5: read from each cluster's Kubernetes API ----------
#
# Written from what each demo cluster runs (sim/demo_workloads.py) and what every cluster has
# besides (sim/kubeobjects.py: the bootstrap RBAC, AKS's objects and kube-system workloads, the
# scanner's own ClusterRole and default-namespace Role on Kubernetes-RBAC clusters, a default
# service account and kube-root-ca.crt per namespace), judged by the rules the controls document
# (shared/core/controls/section4.py, shared/core/controls/kubernetes.py): kube-system and the
# other CIS system namespaces are excluded from the pod controls, and kube-public and
# kube-node-lease from 4.4.2 as well; bootstrap and AKS-managed bindings are allowed; where CIS
# asks a person and the policy file gives no allow-list (the demo has none), what is found makes
# the row MANUAL; a list the scanner may not read makes the controls that need it ERROR.


@dataclass(frozen=True, slots=True)
class Verdict:
    """One cluster-scoped row as judged by hand.

    ``count``: how many entries the row's ``found`` evidence counts, in the scanner's unit (one
    per subject and grant for 4.1.x, so 4.1.7 counts a subject once per permission it holds;
    one per pod for the pod controls; one per workload for 4.5.1; one per registry for 5.1.4;
    one per namespace for 4.4.2). ``offenders``: key names; each must appear in one of the
    found entries the row shows and each entry shown must contain one of them. ``reason``:
    fragments the row's Reason holds (ERROR and SKIPPED rows).
    """

    status: str
    count: int = 0
    offenders: tuple[str, ...] = ()
    reason: tuple[str, ...] = ()


def _found(status: str, count: int, *offenders: str) -> Verdict:
    return Verdict(status, count, offenders)


PASS = Verdict("PASS")
#: 4.6.1 is evidence for a person on every cluster read: the namespaces, no offender.
NAMESPACES_FOR_A_PERSON = Verdict("MANUAL")
K8S_CONTROLS = [
    *(f"4.1.{n}" for n in range(1, 13)),
    *(f"4.2.{n}" for n in range(1, 6)),
    "4.4.2",
    "4.5.1",
    "4.6.1",
    "4.6.2",
    "4.6.3",
    "5.1.4",
    "5.2.1",
    "5.4.5",
]
ALL_PASS_K8S = dict.fromkeys(K8S_CONTROLS, PASS)

#: aks-prod-weu runs what a careful team runs: restricted Pod Security in shop and payments, a
#: default-deny NetworkPolicy in default, shop and payments, dedicated service accounts with
#: automountServiceAccountToken false (and false on every default service account), hardened
#: containers with a pod securityContext, TLS on its only Ingress, no LoadBalancer Service, one
#: Role (configmaps get/list) for its own service account. Azure RBAC: of the Azure role
#: assignments covering it, Owner (a group) and Reader (the scanner) at the subscription carry no
#: data action, but the on-call group holds Azure Kubernetes Service RBAC Cluster Admin at the
#: cluster's own scope (every managedClusters data action): Azure's cluster-admin, for a person
#: to judge (4.1.1, no allow-list). Left for a person too: the namespaces (4.6.1) and the one
#: registry its five pods pull from (no approved registries in the policy).
PROD_K8S: dict[str, Verdict] = {
    **ALL_PASS_K8S,
    "4.1.1": _found("MANUAL", 1, "Azure Group 9c8b7a6f-5e4d-4c3b-8a29-1f0e9d8c7b6a"),
    "4.6.1": NAMESPACES_FOR_A_PERSON,
    "5.1.4": _found("MANUAL", 1, "contosoacr.azurecr.io: 5 pod(s)"),
}

_OPS = "Group 5b2c7e4a-0f1d-4c3b-9a8e-2d6f0b1c3a7e"  # bound to cluster-admin
_OPERATOR = "ServiceAccount legacy/operator"  # bound to legacy-operator: * on * in *
_DEFAULT_SA = "ServiceAccount legacy/default"  # bound to edit in legacy
_BILLING = "Deployment legacy/billing"  # 2 pods: privileged, escalation true, envFrom a Secret
_LOG_AGENT = "DaemonSet legacy/log-agent"  # one pod per node (2): hostNetwork and hostPID
_DB = "StatefulSet legacy/db"  # db-0: env from a Secret
_DEBUG = "default/debug"  # a bare pod in default
_LEGACY_PODS = (_BILLING, _LOG_AGENT, _DB, _DEBUG)  # 6 pods, all on the default service account
_GRANTED_ALL = (_OPS, _OPERATOR)  # cluster-admin and legacy-operator grant every permission
_GRANTED_EDIT = (*_GRANTED_ALL, _DEFAULT_SA)  # edit also grants what 4.1.2/4.1.4/4.1.7/4.1.12 ask

#: aks-legacy-eus: every classic mistake. Each 4.1 control that asks who holds a permission
#: names the cluster-admin group and the operator's service account (cluster-admin and
#: legacy-operator grant everything); 4.1.2, 4.1.4, 4.1.7 and 4.1.12 also the default service
#: account of legacy, whose RoleBinding to edit lets it read secrets, create pods, impersonate
#: service accounts and create their tokens. 4.1.7 counts 9: bind, escalate, impersonate and
#: impersonate uids for each of the two, and impersonate for edit. The default service accounts
#: of default, kube-node-lease, kube-public and legacy say nothing about automounting (so true),
#: and all six user pods run as default: 4.1.5 counts the binding, the four accounts and the six
#: pods (11). No namespace has a NetworkPolicy (default and legacy count; kube-system's is
#: AKS's). The scanner's own Role and RoleBinding in default are not among the kinds 4.6.3 lists.
LEGACY_K8S: dict[str, Verdict] = {
    "4.1.1": _found("MANUAL", 1, _OPS),
    "4.1.2": _found("MANUAL", 3, *_GRANTED_EDIT),
    "4.1.3": _found("MANUAL", 1, "ClusterRole legacy-operator"),
    "4.1.4": _found("MANUAL", 3, *_GRANTED_EDIT),
    "4.1.5": _found(
        "FAIL",
        11,
        _DEFAULT_SA,
        "ServiceAccount default/default",
        "ServiceAccount kube-node-lease/default",
        "ServiceAccount kube-public/default",
        *_LEGACY_PODS,
    ),
    "4.1.6": _found("MANUAL", 6, *_LEGACY_PODS),
    "4.1.7": _found("MANUAL", 9, *_GRANTED_EDIT),
    "4.1.8": _found("MANUAL", 2, *_GRANTED_ALL),
    "4.1.9": _found("MANUAL", 2, *_GRANTED_ALL),  # the scanner's own get nodes/proxy is allowed
    "4.1.10": _found("MANUAL", 2, *_GRANTED_ALL),
    "4.1.11": _found("MANUAL", 2, *_GRANTED_ALL),
    "4.1.12": _found("MANUAL", 3, *_GRANTED_EDIT),
    "4.2.1": _found("FAIL", 2, _BILLING),
    "4.2.2": _found("FAIL", 2, _LOG_AGENT),
    "4.2.3": PASS,
    "4.2.4": _found("FAIL", 2, _LOG_AGENT),  # kube-proxy's hostNetwork is kube-system's
    "4.2.5": _found("FAIL", 2, _BILLING),
    "4.4.2": _found("FAIL", 2, "default", "legacy"),
    "4.5.1": _found("FAIL", 2, _BILLING, _DB),
    "4.6.1": NAMESPACES_FOR_A_PERSON,
    "4.6.2": _found("MANUAL", 6, *_LEGACY_PODS),  # none sets a pod securityContext
    "4.6.3": _found("FAIL", 2, "Pod default/debug", "ConfigMap default/settings"),
    "5.1.4": _found(
        "MANUAL", 2, "docker.io: 6 pod(s)", "contosoacr.azurecr.io: 2 pod(s)"
    ),  # nginx, fluent-bit, postgres, busybox; the billing pods' init container from the ACR
    "5.2.1": _found("FAIL", 1, _DEFAULT_SA),
    "5.4.5": _found("MANUAL", 2, "Service legacy/billing", "Ingress legacy/billing"),
}

_JOBS_DENIED = Verdict(
    "ERROR", reason=("jobs.batch not read", 'the scanner lacks list jobs in API group "batch"')
)
#: aks-batch-neu: the scanner's role lacks list jobs.batch, so 4.5.1 and 4.6.3 (which read Jobs)
#: are ERROR naming the permission. By CIS 4.5.1 is a FAIL there all the same: the CronJob
#: nightly-export, whose template the scanner did read, takes the Secret export-token through
#: env; the scanner's contract makes a control whose list failed ERROR whatever else it found
#: (shared/core/section4.py, Section4Scan._finalize). Its pods: backfill (hardened, its own
#: service account), two nightly-export Jobs' pods (service account batch-runner, token off; no
#: securityContext) and the bare pod inspect (default service account, token off in batch; its
#: ephemeral debug container privileged, from Docker Hub). kube-public's and kube-node-lease's
#: default service accounts say nothing about automounting. Only batch has a policy (Cilium).
BATCH_K8S: dict[str, Verdict] = {
    **ALL_PASS_K8S,
    "4.1.5": _found(
        "FAIL",
        3,
        "ServiceAccount kube-node-lease/default",
        "ServiceAccount kube-public/default",
        "pod batch/inspect",
    ),
    "4.2.1": _found("FAIL", 1, "batch/inspect: ephemeralContainer debugger"),
    "4.4.2": _found("FAIL", 1, "default"),
    "4.5.1": _JOBS_DENIED,
    "4.6.1": NAMESPACES_FOR_A_PERSON,
    "4.6.2": _found(
        "MANUAL",
        3,
        "batch/inspect",
        "batch/nightly-export-29104560",
        "batch/nightly-export-29104575",
    ),  # the Jobs' pods are named by their Job: without the Jobs list, not by the CronJob
    "4.6.3": _JOBS_DENIED,
    "5.1.4": _found("MANUAL", 2, "contosoacr.azurecr.io: 4 pod(s)", "docker.io: 1 pod(s)"),
}

#: aks-local-only, read with its local account (ALLOW_LOCAL_ACCOUNTS=true): one Deployment,
#: toolbox, on the default service account of tools, which says nothing about automounting (nor
#: do kube-public's and kube-node-lease's; default's says false); no pod securityContext; a
#: Calico policy in tools, none in default. 4.1.9 by hand: the only grant of nodes/proxy beside
#: the defaults is the scanner's own get (infra/k8s, bound to its managed identity), which the
#: control allows (the session is the local account's; the scanner knows its managed identity's
#: object id from its ARM token).
LOCAL_K8S: dict[str, Verdict] = {
    **ALL_PASS_K8S,
    "4.1.5": _found(
        "FAIL",
        4,
        "ServiceAccount kube-node-lease/default",
        "ServiceAccount kube-public/default",
        "ServiceAccount tools/default",
        "Deployment tools/toolbox",
    ),
    "4.1.6": _found("MANUAL", 1, "Deployment tools/toolbox"),
    "4.4.2": _found("FAIL", 1, "default"),
    "4.6.1": NAMESPACES_FOR_A_PERSON,
    "4.6.2": _found("MANUAL", 1, "Deployment tools/toolbox"),
    "5.1.4": _found("MANUAL", 1, "contosoacr.azurecr.io: 1 pod(s)"),
}

#: A cluster not read: every Kubernetes-read row says why.
UNREACHED_K8S: dict[str, Verdict] = {
    # no Entra ID, and local accounts not allowed
    "aks-local-only": Verdict("ERROR", reason=("ALLOW_LOCAL_ACCOUNTS",)),
    # stopped: no API server
    "aks-dev-stopped": Verdict("SKIPPED", reason=("stopped",)),
}
K8S_VERDICTS: dict[str, dict[str, Verdict]] = {
    "aks-prod-weu": PROD_K8S,
    "aks-legacy-eus": LEGACY_K8S,
    "aks-batch-neu": BATCH_K8S,
    **{name: dict.fromkeys(K8S_CONTROLS, v) for name, v in UNREACHED_K8S.items()},
}

#: Every cluster-scoped control of cis-aks-1.8, in benchmark order: 17 read from ARM, 25 from
#: the cluster's Kubernetes API.
CLUSTER_CONTROLS = sorted(
    [*ARM_CONTROLS, *K8S_CONTROLS], key=lambda c: tuple(int(p) for p in c.split("."))
)


def expected_cluster_verdict(
    cluster: str, control: str, *, local_accounts: bool = False
) -> Verdict:
    """What one cluster-scoped row must be (``local_accounts``: ALLOW_LOCAL_ACCOUNTS=true)."""
    if control in K8S_CONTROLS:
        if local_accounts and cluster == "aks-local-only":
            return LOCAL_K8S[control]
        return K8S_VERDICTS[cluster][control]
    return Verdict(CLUSTER_VERDICTS[cluster][control])


def expected_cluster_status(cluster: str, control: str, *, local_accounts: bool = False) -> str:
    """What one cluster-scoped row's Status must be."""
    return expected_cluster_verdict(cluster, control, local_accounts=local_accounts).status
