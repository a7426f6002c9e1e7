"""Expected verdicts for the demo estate, written by hand from the control table and the
estate's configurations (sim/estate.py), not computed by the scanner's code.

Node-scoped controls (3.2): per pool, control id -> status; node-control rows of a cluster that
was not reached (no node) per cluster. Cluster-scoped controls (2.1.1, 3.1.x, 5.x, from ARM):
per cluster, control id -> status, one row each.
"""

from __future__ import annotations

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


#: Cluster-scoped controls of cis-aks-1.8, one row per (cluster, control). 3.1.x, 5.2.1 and 5.4.5
#: are MANUAL everywhere (no API shows them); 5.1.2 and 5.1.4 are MANUAL without a policy file.
CLUSTER_CONTROLS = [
    "2.1.1",
    "3.1.1",
    "3.1.2",
    "3.1.3",
    "3.1.4",
    "5.1.1",
    "5.1.2",
    "5.1.3",
    "5.1.4",
    "5.2.1",
    "5.3.1",
    "5.4.1",
    "5.4.2",
    "5.4.3",
    "5.4.4",
    "5.4.5",
    "5.5.1",
    "5.5.2",
]
_ALWAYS_MANUAL = dict.fromkeys(["3.1.1", "3.1.2", "3.1.3", "3.1.4", "5.2.1", "5.4.5"], "MANUAL")
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
        "5.1.4": "MANUAL",
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
        "5.1.4": "MANUAL",
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
        "5.1.4": "MANUAL",
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
        "5.1.4": "MANUAL",
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
        "5.1.4": "MANUAL",
        "5.3.1": "FAIL",
        "5.4.1": "FAIL",
        "5.4.2": "FAIL",
        "5.4.3": "FAIL",
        "5.4.4": "FAIL",
        "5.5.1": "PASS",
        "5.5.2": "FAIL",
    },
}


def expected_cluster_status(cluster: str, control: str) -> str:
    """What one cluster-scoped row's Status must be."""
    return CLUSTER_VERDICTS[cluster][control]
