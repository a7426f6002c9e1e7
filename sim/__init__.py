"""The embedded simulated estate: loopback servers that speak the real Azure and Kubernetes
protocols, so the real SDKs (azure-identity, azure-mgmt-*, kubernetes, azure-monitor-ingestion)
run against them unchanged over real HTTP(S). Nothing here reaches the network.

    from sim import SimulatedEstate, default_estate

    with SimulatedEstate(default_estate()).start() as sim:
        env = sim.env          # IDENTITY_ENDPOINT, IDENTITY_HEADER, AZURE_CLIENT_ID, ARM_ENDPOINT,
                               # LOGS_INGESTION_ENDPOINT, LOGS_DCR_IMMUTABLE_ID, REQUESTS_CA_BUNDLE
        sim.faults.node_unreachable("aks-prod-weu", "aks-user-93773898-vmss000001")
        rows = sim.accepted("Custom-AksCisFindings")

Modules: ``estate`` (the data), ``kubeletconfig`` (configz bodies), ``identity`` (token
endpoint and token format), ``arm`` and ``resource_graph`` (ARM), ``apiserver`` (kube-apiserver
per cluster), ``kubeobjects`` (what a cluster holds beyond nodes: workloads, RBAC, policies, and
the bootstrap and AKS objects every cluster has), ``kubelists`` (the section 4 lists, pods
generated lazily), ``demo_workloads`` (the demo clusters' workloads, and ``scaled`` for
benchmarks), ``list_reader`` (the fake paged list reader for core tests), ``ingestion`` (Logs
Ingestion), ``faults``, ``stats``, ``pki``, ``http`` (the asyncio HTTP/1.1 server they share),
``runner`` (start/stop, worker processes). Serve mode for
benchmarks: ``python -m sim serve --help``.
"""

from shared.core.records import FINDINGS_STREAM, RUNS_STREAM
from sim.estate import (
    AKS_SERVER_APP_ID,
    Estate,
    Identity,
    Latency,
    NodeOverride,
    NodePool,
    Paging,
    SimCluster,
    SimNode,
    Subscription,
    default_estate,
    generated_estate,
)
from sim.faults import Action, Endpoint, Fault, FaultRegistry
from sim.runner import SimulatedEstate

__all__ = [
    "AKS_SERVER_APP_ID",
    "FINDINGS_STREAM",
    "RUNS_STREAM",
    "Action",
    "Endpoint",
    "Estate",
    "Fault",
    "FaultRegistry",
    "Identity",
    "Latency",
    "NodeOverride",
    "NodePool",
    "Paging",
    "SimCluster",
    "SimNode",
    "SimulatedEstate",
    "Subscription",
    "default_estate",
    "generated_estate",
]
