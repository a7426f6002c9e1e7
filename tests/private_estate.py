"""An estate of private clusters for the run command tests (tests/sim, tests/e2e).

One subscription; every cluster has AKS-managed Entra ID:

* ``aks-private-small``: private, pool ``system`` (2 compliant nodes) and pool ``legacy`` (1 node
  failing several controls); ``aks-public-twin`` has the same pools and a reachable API server,
  so the two must give the same verdicts.
* ``aks-private-big``: private, 200 compliant nodes, instance 7 unreachable: more configz than the
  512 kB run command output holds, so a second command is needed.
* ``aks-private-locked``: private, ``disableRunCommand``.
* ``aks-private-norole``: private, the identity lacks runcommand/action.
"""

from __future__ import annotations

from dataclasses import replace

from sim.estate import (
    COMPLIANT,
    LEGACY,
    Estate,
    NodeOverride,
    NodePool,
    SimCluster,
    generated_estate,
)

SMALL = "aks-private-small"
TWIN = "aks-public-twin"
BIG = "aks-private-big"
LOCKED = "aks-private-locked"
NOROLE = "aks-private-norole"
BIG_NODES = 200
BIG_UNREACHABLE = 7

_POOLS = (
    NodePool("system", 2, COMPLIANT, mode="System"),
    NodePool("legacy", 1, LEGACY, kubelet_version="v1.29.9"),
)


def private_estate() -> Estate:
    """The estate described in the module docstring."""
    base = generated_estate(0, 0, subscriptions=1)
    clusters = (
        SimCluster(SMALL, "rg-private", "westeurope", pools=_POOLS, private_cluster=True),
        SimCluster(TWIN, "rg-public", "westeurope", pools=_POOLS),
        SimCluster(
            BIG,
            "rg-private",
            "westeurope",
            pools=(
                NodePool(
                    "big",
                    BIG_NODES,
                    COMPLIANT,
                    mode="System",
                    overrides={BIG_UNREACHABLE: NodeOverride(unreachable=True)},
                ),
            ),
            private_cluster=True,
        ),
        SimCluster(
            LOCKED,
            "rg-private",
            "westeurope",
            pools=(NodePool("system", 1, COMPLIANT, mode="System"),),
            private_cluster=True,
            run_command_disabled=True,
        ),
        SimCluster(
            NOROLE,
            "rg-private",
            "westeurope",
            pools=(NodePool("system", 1, COMPLIANT, mode="System"),),
            private_cluster=True,
            run_command_allowed=False,
        ),
    )
    (subscription,) = base.subscriptions
    return replace(base, subscriptions=(replace(subscription, clusters=clusters),))
