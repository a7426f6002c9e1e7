"""Expected verdicts for the demo estate, written by hand from the control table and the
estate's configurations (sim/estate.py), not computed by the scanner's code.

Per pool: control id -> status. Cluster-level rows (no node) are listed per cluster.
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
