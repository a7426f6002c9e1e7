"""The fault matrix (issue #6): one entry per fault the simulated estate can inject.

Each entry names the faults to switch on, the targets they affect, what the operator must read
in those targets' ERROR rows, and how many requests the fault may catch (the retry bound).
tests/e2e/test_fault_matrix.py runs every entry against the demo estate and checks, for each:
the run ends before its deadline; every affected target has exactly one ERROR row per control
of the fault's scope whose Reason holds every fragment; every other row has the verdict of a run
without the fault;
the fault caught at most ``max_hits`` requests (at least ``min_hits``); and every row reaches
Log Analytics exactly once (after one dead-letter replay when the fault was on ingestion).

A target is ``(subscription, cluster, node)``; an empty field means "everything under it":
``("", "aks-batch-neu", "")`` is that cluster's rows (ERROR rows with an empty node name),
``("", "", "")`` the whole run (one set of ERROR rows with neither cluster nor node, or, for a
``controls`` case, those controls' rows everywhere). ``scope`` says which controls' rows a fault
can reach: ``node`` (the default) for faults on one node's configz, whose rows the node-scoped
(kubelet) controls are; ``apiserver`` for faults on the way to a cluster's API server (its
credentials, its TLS, its node list), which reach the node-scoped controls and the
cluster-scoped ones read from the Kubernetes API (section 4, 5.1.4, 5.2.1, 5.4.5);
``cluster`` for faults on one read of the cluster-scoped controls (an ARM read, or one section 4
list, with ``controls`` naming those that need it); None for a fault before discovery, which
leaves every control unevaluated. ``noted`` lists rows that keep their verdict but must say
something in their Reason (a list restarted after its continue token expired).
docs/reliability.md has a row per entry id (tests/docs/test_reliability_doc.py checks it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sim import Action, Endpoint, Fault, default_estate
from sim.faults import KUBELET_TLS_MESSAGE
from sim.kubeletconfig import configz_body

PROD_SUB = "3c5a7e91-2b4d-4f6a-8c0e-1a2b3c4d5e6f"
DEV_SUB = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"
PROD = "aks-prod-weu"
BATCH = "aks-batch-neu"
LEGACY = "aks-legacy-eus"
NODE = "aks-user-93773898-vmss000000"  # a compliant, reachable node of aks-prod-weu
NODE_IP = next(n.internal_ip for n in default_estate().cluster(PROD).nodes() if n.name == NODE)
#: A run must end well before this; a fault that makes the scanner wait it out fails the entry.
DEADLINE_SECONDS = 45.0
FIVE_MB = 5 * 1024 * 1024

Target = tuple[str, str, str]


@dataclass(frozen=True, slots=True)
class FaultCase:
    """One row of the matrix."""

    id: str
    summary: str
    faults: tuple[Fault, ...]
    affected: tuple[Target, ...] = ()
    reason: tuple[str, ...] = ()
    max_hits: int | None = None
    min_hits: int = 1
    settings: dict[str, str] = field(default_factory=dict)
    #: Only these controls of the affected targets are ERROR; the others keep their verdicts.
    controls: tuple[str, ...] | None = None
    #: Which controls' rows the fault reaches: "node", "apiserver", "cluster", or None for all.
    scope: str | None = "node"
    #: (target, controls, fragment): those rows keep their verdicts, and say ``fragment``.
    noted: tuple[tuple[Target, tuple[str, ...], str], ...] = ()


def _wrong_types_body() -> bytes:
    """NODE's real configz with eventRecordQPS as a string and authentication as a list."""
    node = next(n for n in default_estate().cluster(PROD).nodes() if n.name == NODE)
    config: dict[str, Any] = json.loads(configz_body(node.configz))["kubeletconfig"]
    config["eventRecordQPS"] = "5"
    config["authentication"] = [config["authentication"]]
    return json.dumps({"kubeletconfig": config}).encode()


def _big_body() -> bytes:
    """A 5 MB configz: a valid document padded far past CONFIGZ_MAX_BYTES."""
    return b'{"kubeletconfig":{"pad":"' + b"x" * FIVE_MB + b'"}}'


def configz(action: Action = Action.ERROR, status: int = 503, **kw: Any) -> Fault:
    """A fault on NODE's configz."""
    return Fault(Endpoint.CONFIGZ, action, status, cluster=PROD, node=NODE, **kw)


ON_NODE: Target = (PROD_SUB, PROD, NODE)
EVERYWHERE: Target = ("", "", "")
ON_BATCH: Target = (DEV_SUB, BATCH, "")
ON_PROD: Target = (PROD_SUB, PROD, "")
ON_LEGACY: Target = (PROD_SUB, LEGACY, "")
SHORT_TIMEOUT = {"SCAN_REQUEST_TIMEOUT": "1"}
#: The controls read from the pods list (CIS AKS 1.8): the default service accounts' use, token
#: mounts, the 4.2 pod flags, secrets in env, security contexts, the default namespace and the
#: registries in use; 4.6.1 reads namespaces only.
POD_CONTROLS = (
    "4.1.5",
    "4.1.6",
    "4.2.1",
    "4.2.2",
    "4.2.3",
    "4.2.4",
    "4.2.5",
    "4.5.1",
    "4.6.2",
    "4.6.3",
    "5.1.4",
)
#: aks-prod-weu runs 16 pods: 5 of its own and 11 in kube-system (coredns and metrics-server 2
#: each, kube-proxy on each of its 7 nodes): pages of 4 make 4 pages, 3 continue requests.
PER_PAGE = 4


def pods_expire(times: int) -> tuple[Fault, ...]:
    """aks-prod-weu's pods list in short pages, whose next ``times`` continue requests answer
    410 Expired (the 410 first: the first matching fault wins)."""
    return (
        Fault(Endpoint.POD_LIST, Action.ERROR, 410, cluster=PROD, continued=True, times=times),
        Fault(Endpoint.POD_LIST, Action.SHORT_PAGES, cluster=PROD, chunk=PER_PAGE),
    )


CASES: tuple[FaultCase, ...] = (
    # -- per node: configz through the API server's node proxy ------------------------------
    FaultCase(
        "configz-timeout",
        "configz answers nothing within the read timeout",
        (configz(Action.DELAY, delay=4.0),),
        (ON_NODE,),
        ("timed out after 1s", "SCAN_REQUEST_TIMEOUT"),
        max_hits=1,
        settings=SHORT_TIMEOUT,
    ),
    FaultCase(
        "configz-reset",
        "the connection is reset before an answer (DROP)",
        (configz(Action.DROP),),
        (ON_NODE,),
        ("connection to the API server", "broke while reading configz"),
        max_hits=2,
    ),
    FaultCase(
        "configz-slow-body",
        "headers at once, then 16 bytes every 0.3 s: each socket read is on time, the body never is",
        (configz(Action.SLOW_BODY, delay=0.3, chunk=16),),
        (ON_NODE,),
        ("configz body not received in full within 1s", "SCAN_REQUEST_TIMEOUT"),
        max_hits=1,
        settings=SHORT_TIMEOUT,
    ),
    FaultCase(
        "configz-500-kubelet-unreachable",
        "500 Status: error trying to reach service (kubelet dial fails)",
        (
            configz(
                status=500,
                message=f"error trying to reach service: dial tcp {NODE_IP}:10250: i/o timeout",
            ),
        ),
        (ON_NODE,),
        ("HTTP 500", "could not reach the node's kubelet", "dial tcp"),
        max_hits=2,
    ),
    FaultCase(
        "configz-503-kubelet-unreachable",
        "503 Status: error trying to reach service (connection refused)",
        (configz(Action.UNREACHABLE),),
        (ON_NODE,),
        ("HTTP 503", "could not reach the node's kubelet", "connection refused"),
        max_hits=2,
    ),
    FaultCase(
        "configz-429-retry-after",
        "429 with Retry-After twice, then the body",
        (configz(status=429, retry_after=1, times=2),),
        max_hits=2,
        min_hits=2,
    ),
    FaultCase(
        "configz-403-nodes-proxy",
        "403 Status: the identity may not get nodes/proxy",
        (configz(status=403),),
        (ON_NODE,),
        ("HTTP 403", "nodes/proxy", "grant", "is forbidden"),
        max_hits=1,
    ),
    FaultCase(
        "configz-404-node-gone",
        "404 Status: the node was deleted after the node list",
        (configz(status=404),),
        (ON_NODE,),
        ("HTTP 404", "no longer exists", "not found"),
        max_hits=1,
    ),
    FaultCase(
        "configz-not-json",
        "200 with an HTML body",
        (
            configz(
                Action.BODY, 200, body=b"<html>502 Bad Gateway</html>", content_type="text/html"
            ),
        ),
        (ON_NODE,),
        ("configz body is not valid JSON",),
        max_hits=1,
    ),
    FaultCase(
        "configz-truncated",
        "Content-Length of the whole body, 100 bytes sent, then the connection closes",
        (configz(Action.TRUNCATE, chunk=100),),
        (ON_NODE,),
        ("broke while reading configz", "received 100 of"),
        max_hits=2,
    ),
    FaultCase(
        "configz-wrong-types",
        "eventRecordQPS is a string and authentication a list: the controls that read them",
        (configz(Action.BODY, 200, body=_wrong_types_body()),),
        (ON_NODE,),
        ("has the wrong type", "not evaluated rather than guessed"),
        max_hits=1,
        controls=("3.2.1", "3.2.3", "3.2.7"),
    ),
    FaultCase(
        "configz-5mb",
        "a 5 MB body, over CONFIGZ_MAX_BYTES",
        (configz(Action.BODY, 200, body=_big_body()),),
        (ON_NODE,),
        ("exceeds 1048576 bytes", "CONFIGZ_MAX_BYTES"),
        max_hits=1,
    ),
    FaultCase(
        "configz-kubelet-tls",
        "503 Status: the API server cannot verify the kubelet's serving certificate",
        (configz(message=KUBELET_TLS_MESSAGE),),
        (ON_NODE,),
        ("kubelet's serving certificate", "x509: certificate signed by unknown authority"),
        max_hits=2,
    ),
    # -- per cluster -------------------------------------------------------------------------
    FaultCase(
        "credentials-403",
        "listClusterUserCredential: 403 AuthorizationFailed",
        (Fault(Endpoint.CREDENTIALS, Action.ERROR, 403, cluster=BATCH),),
        (ON_BATCH,),
        ("may not call listClusterUserCredential", "grant", "HTTP 403 AuthorizationFailed"),
        max_hits=1,
        scope="apiserver",
    ),
    FaultCase(
        "credentials-404",
        "listClusterUserCredential: 404 ResourceNotFound (cluster deleted after discovery)",
        (Fault(Endpoint.CREDENTIALS, Action.ERROR, 404, cluster=BATCH),),
        (ON_BATCH,),
        ("HTTP 404 ResourceNotFound", "was not found"),
        max_hits=1,
        scope="apiserver",
    ),
    FaultCase(
        "credentials-500",
        "listClusterUserCredential: 500 every time (ARM retries, then the cluster's rows)",
        (Fault(Endpoint.CREDENTIALS, Action.ERROR, 500, cluster=BATCH),),
        (ON_BATCH,),
        ("HTTP 500 InternalServerError", "listClusterUserCredential"),
        max_hits=5,
        scope="apiserver",
    ),
    FaultCase(
        "credentials-429-retry-after",
        "listClusterUserCredential: 429 with Retry-After once, then success",
        (Fault(Endpoint.CREDENTIALS, Action.ERROR, 429, 1, cluster=BATCH, times=1),),
        max_hits=1,
    ),
    FaultCase(
        "apiserver-wrong-ca",
        "the API server's certificate does not chain to the kubeconfig's CA",
        (Fault(Endpoint.CREDENTIALS, Action.WRONG_CA, cluster=BATCH),),
        (ON_BATCH,),
        ("TLS verification of the API server", "cluster CA from its kubeconfig"),
        max_hits=1,
        scope="apiserver",
    ),
    FaultCase(
        "apiserver-refused",
        "the API server refuses connections",
        (Fault(Endpoint.CREDENTIALS, Action.REFUSED, cluster=BATCH),),
        (ON_BATCH,),
        # the node rows say "while listing nodes", section 4's "<list> not read: ..."
        ("refused the connection",),
        max_hits=1,
        scope="apiserver",
    ),
    FaultCase(
        "node-list-403",
        "node list: 403 Status (the identity may not list nodes)",
        (Fault(Endpoint.NODE_LIST, Action.ERROR, 403, cluster=BATCH),),
        (ON_BATCH,),
        ("HTTP 403 while listing nodes", "is forbidden", "list"),
        max_hits=1,
        scope="node",  # nodes only: section 4's own lists are read and judged as usual
    ),
    FaultCase(
        "node-list-endless-continue",
        "node list: the last page's continue token leads back to the first",
        (Fault(Endpoint.NODE_LIST, Action.ENDLESS_CONTINUE, cluster=BATCH),),
        (ON_BATCH,),
        ("node list did not end", "continue token"),
        max_hits=3,
        scope="node",  # the node list only: section 4's lists end and are judged
    ),
    # -- the section 4 lists of one cluster ---------------------------------------------------
    FaultCase(
        "pod-list-403",
        "pods list: 403 Status (the identity may not list pods); the other lists are read",
        (Fault(Endpoint.POD_LIST, Action.ERROR, 403, cluster=PROD),),
        (ON_PROD,),
        ("pods not read", 'the scanner lacks list pods in API group ""', "is forbidden"),
        max_hits=1,
        controls=POD_CONTROLS,
        scope="cluster",
    ),
    FaultCase(
        "pod-list-410-once",
        "pods list in pages of 4: the continue token of page 2 expired (410) once; the list "
        "starts over and every verdict stands",
        pods_expire(1),
        max_hits=5,  # short pages: page 1, then pages 1-4 again
        noted=(
            (
                ON_PROD,
                POD_CONTROLS,
                "pods: the continue token expired (410 Gone); the list was restarted from the "
                "beginning and read again",
            ),
        ),
    ),
    FaultCase(
        "pod-list-410-twice",
        "pods list in pages of 4: the continue token expired (410) again after the restart",
        pods_expire(2),
        (ON_PROD,),
        ("HTTP 410 while listing pods", "again after the list was started over once"),
        max_hits=2,  # short pages: page 1 of each pass; the 410: both continue requests
        min_hits=2,
        controls=POD_CONTROLS,
        scope="cluster",
    ),
    FaultCase(
        "list-429-retry-after",
        "clusterrolebindings list: 429 with Retry-After twice, then the list",
        (Fault(Endpoint.CLUSTERROLEBINDING_LIST, Action.ERROR, 429, 1, cluster=LEGACY, times=2),),
        max_hits=2,
        min_hits=2,
    ),
    FaultCase(
        "service-list-reset",
        "services list: the connection is reset before an answer, every time",
        (Fault(Endpoint.SERVICE_LIST, Action.DROP, cluster=LEGACY),),
        (ON_LEGACY,),
        ("services not read", "broke while listing services"),
        max_hits=2,
        controls=("4.6.3", "5.4.5"),
        scope="cluster",
    ),
    # -- Azure Resource Manager and the token endpoint ---------------------------------------
    FaultCase(
        "arm-429-retry-after",
        "ARM cluster listing: 429 with Retry-After twice, then success",
        (Fault(Endpoint.ARM, Action.ERROR, 429, 1, subscription=DEV_SUB, times=2),),
        max_hits=2,
        min_hits=2,
        settings={"DISCOVERY_MODE": "arm"},
    ),
    FaultCase(
        "arm-500-discovery",
        "ARM cluster listing: 500 every time for one subscription",
        (Fault(Endpoint.ARM, Action.ERROR, 500, subscription=DEV_SUB),),
        ((DEV_SUB, "", ""),),
        ("discovery failed", "HTTP 500 InternalServerError", "listing managed clusters"),
        max_hits=5,
        settings={"DISCOVERY_MODE": "arm"},
        scope=None,
    ),
    FaultCase(
        "resource-graph-500",
        "Resource Graph (resources): 500 every time; discovery falls back to ARM, the registry "
        "controls are ERROR",
        (Fault(Endpoint.RESOURCE_GRAPH, Action.ERROR, 500),),
        (EVERYWHERE,),
        ("HTTP 500 InternalServerError", "querying Resource Graph for container registries"),
        max_hits=10,
        controls=("5.1.2", "5.1.3"),
        scope="cluster",
    ),
    # -- the ARM reads of the cluster-scoped controls ----------------------------------------
    FaultCase(
        "diagnostic-settings-403",
        "diagnostic settings: 403 AuthorizationFailed for one cluster",
        (Fault(Endpoint.DIAGNOSTIC_SETTINGS, Action.ERROR, 403, cluster=BATCH),),
        (ON_BATCH,),
        (
            "grant the scanner Microsoft.Insights/diagnosticSettings/read",
            "HTTP 403 AuthorizationFailed",
        ),
        max_hits=1,
        controls=("2.1.1",),
        scope="cluster",
    ),
    FaultCase(
        "diagnostic-settings-500",
        "diagnostic settings: 500 every time for one cluster (retried, then ERROR)",
        (Fault(Endpoint.DIAGNOSTIC_SETTINGS, Action.ERROR, 500, cluster=BATCH),),
        (ON_BATCH,),
        ("HTTP 500 InternalServerError", "diagnostic settings"),
        max_hits=5,
        controls=("2.1.1",),
        scope="cluster",
    ),
    FaultCase(
        "security-resources-403",
        "Resource Graph (securityresources): 403 for the Defender pricing query",
        (Fault(Endpoint.SECURITY_RESOURCES, Action.ERROR, 403),),
        (EVERYWHERE,),
        ("grant the scanner Microsoft.Security/pricings/read", "HTTP 403 AuthorizationFailed"),
        max_hits=1,
        controls=("5.1.1",),
        scope="cluster",
    ),
    FaultCase(
        "authorization-resources-429-retry-after",
        "Resource Graph (authorizationresources): 429 with Retry-After once, then the rows",
        (Fault(Endpoint.AUTHORIZATION_RESOURCES, Action.ERROR, 429, 1, times=1),),
        max_hits=1,
    ),
    FaultCase(
        "role-definition-403",
        "role definitions: 403 AuthorizationFailed on every GET",
        (Fault(Endpoint.ROLE_DEFINITION, Action.ERROR, 403),),
        (EVERYWHERE,),
        ("grant the scanner Microsoft.Authorization/roleDefinitions/read", "HTTP 403"),
        max_hits=5,
        controls=("5.1.2", "5.1.3"),
        scope="cluster",
    ),
    FaultCase(
        "token-500",
        "managed identity endpoint: 500 every time",
        (Fault(Endpoint.TOKEN, Action.ERROR, 500),),
        (EVERYWHERE,),
        ("managed identity", "500"),
        max_hits=10,
        scope=None,
    ),
    FaultCase(
        "token-400-error-body",
        "managed identity endpoint: 400 with its error JSON (unknown identity)",
        (
            Fault(
                Endpoint.TOKEN,
                Action.ERROR,
                400,
                message="Unable to load the proper Managed Identity.",
            ),
        ),
        (EVERYWHERE,),
        ("managed identity", "Unable to load the proper Managed Identity."),
        max_hits=10,
        scope=None,
    ),
    # -- Logs Ingestion ----------------------------------------------------------------------
    FaultCase(
        "ingestion-429-retry-after",
        "Logs Ingestion: 429 with Retry-After twice, then accepted",
        (Fault(Endpoint.INGESTION, Action.ERROR, 429, 1, times=2),),
        max_hits=2,
        min_hits=2,
    ),
    FaultCase(
        "ingestion-413",
        "Logs Ingestion: 413 for one call (its rows are dead-lettered, then replayed)",
        (Fault(Endpoint.INGESTION, Action.ERROR, 413, times=1),),
        max_hits=1,
    ),
    FaultCase(
        "ingestion-500",
        "Logs Ingestion: 500 on every call of the run (retried, dead-lettered, replayed)",
        (Fault(Endpoint.INGESTION, Action.ERROR, 500),),
        max_hits=50,
    ),
    FaultCase(
        "ingestion-outage",
        "Logs Ingestion: 503 outage for the whole run (dead-lettered, replayed)",
        (Fault(Endpoint.INGESTION, Action.ERROR, 503),),
        max_hits=50,
    ),
)

IDS = tuple(case.id for case in CASES)
