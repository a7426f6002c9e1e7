"""The latency floor: how long a scan must take when every call costs only its added latency.

Three numbers, all with zero CPU time and zero network time besides the simulator's added
latency (``L_arm`` per ARM call, ``L_list`` per node-list page, ``L`` per configz):

* ``global_bound``: total configz requests x ``L`` / ``concurrency``. No client that keeps at
  most ``concurrency`` configz requests in flight can read ``N`` nodes faster.
* ``ideal``: what a perfect client needs under both limits: discovery, then the first cluster's
  credential call and node list, then the configz reads packed perfectly into the two limits::

      D + L_arm + P x L_list + max(ceil(N / min(C, K x c)), max_k ceil(n_k / c)) x L

  with ``D`` = discovery calls x ``L_arm``, ``P`` = node-list pages of a cluster
  (``ceil(n / 500)``), ``K`` clusters of ``n_k`` nodes, ``C`` = SCAN_CONCURRENCY,
  ``c`` = SCAN_CLUSTER_CONCURRENCY. This is "the floor" the targets are measured against.
* ``pipeline_model``: the same latencies run through the schedule ``shared.pipeline`` actually
  uses (an event-driven model of it, computed here, not measured): with
  ``W = min(K, ceil(C / c) + PREFETCH_WORKERS)``, W preparers take clusters in discovery order
  and call listClusterUserCredential and list the nodes, then hand the cluster to a queue of at
  most W prepared clusters (a preparer waits while it is full), and after that first cluster
  only ``STEADY_PREPARERS`` of them go on; W readers each take the next
  prepared cluster and keep at most ``c`` of its configz reads wanting one of the ``C`` permits
  of the run (granted first come, first served), starting the next as one completes, and take
  the next prepared cluster when all reads of theirs are done. So credential calls and lists
  overlap the reads, and a reader never waits for a connect unless the preparers fall behind.
  What the model adds over ``ideal`` is the cost of that schedule (the first clusters'
  credential calls and lists; the last clusters run with fewer than ``C`` reads in flight).
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

NODE_PAGE_SIZE = 500  # shared.adapters.kube_policy.NODE_PAGE_SIZE
RESOURCE_GRAPH_PAGE = 1000  # shared.adapters.azure_arm.ARG_PAGE_SIZE
SUBSCRIPTION_CHUNK = 100  # shared.adapters.azure_arm.ARG_SUBSCRIPTION_CHUNK; also the sim's page
PREFETCH_WORKERS = 2  # shared.pipeline.PREFETCH_WORKERS
STEADY_PREPARERS = 3  # shared.pipeline.STEADY_PREPARERS


@dataclass(frozen=True, slots=True)
class Latencies:
    """Seconds added per call by the simulator."""

    arm: float
    node_list: float
    configz: float


@dataclass(frozen=True, slots=True)
class Floor:
    """The three floors of one estate and one pair of limits, in seconds."""

    global_bound: float
    ideal: float
    pipeline_model: float
    discovery_calls: int

    def as_dict(self) -> dict[str, Any]:
        """Rounded for the results file."""
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(self).items()}


def discovery_calls(clusters: int, subscriptions: int) -> int:
    """ARM calls of discovery without SCAN_SUBSCRIPTIONS: list subscriptions, Resource Graph."""
    chunks = math.ceil(subscriptions / SUBSCRIPTION_CHUNK)
    pages = max(1, math.ceil(clusters / RESOURCE_GRAPH_PAGE))
    return chunks + chunks * pages


def list_pages(nodes: int) -> int:
    """Node-list pages of one cluster (an empty list is one page)."""
    return max(1, math.ceil(nodes / NODE_PAGE_SIZE))


def floor(
    nodes_per_cluster: Sequence[int],
    concurrency: int,
    cluster_concurrency: int,
    latency: Latencies,
    *,
    subscriptions: int,
) -> Floor:
    """All three floors for clusters of the given sizes."""
    total = sum(nodes_per_cluster)
    calls = discovery_calls(len(nodes_per_cluster), subscriptions)
    lead = calls * latency.arm
    if not nodes_per_cluster:
        return Floor(0.0, lead, lead, calls)
    slots = min(concurrency, len(nodes_per_cluster) * cluster_concurrency)
    rounds = max(
        math.ceil(total / slots), *(math.ceil(n / cluster_concurrency) for n in nodes_per_cluster)
    )
    first = latency.arm + min(list_pages(n) for n in nodes_per_cluster) * latency.node_list
    return Floor(
        global_bound=total * latency.configz / concurrency,
        ideal=lead + first + rounds * latency.configz,
        pipeline_model=lead
        + pipeline_model(nodes_per_cluster, concurrency, cluster_concurrency, latency),
        discovery_calls=calls,
    )


@dataclass
class _Cluster:
    nodes: int
    to_submit: int
    done: int = 0


def pipeline_model(  # noqa: PLR0915 - one event-driven model, its handlers read together
    nodes_per_cluster: Sequence[int],
    concurrency: int,
    cluster_concurrency: int,
    latency: Latencies,
) -> float:
    """Seconds from the end of discovery to the last configz answer, under the pipeline's schedule."""
    clusters = [_Cluster(n, n) for n in nodes_per_cluster]
    width = min(len(clusters), math.ceil(concurrency / cluster_concurrency) + PREFETCH_WORKERS)
    waiting = deque(range(len(clusters)))
    ready: deque[int] = deque()  # prepared clusters waiting for a reader (at most ``width``)
    blocked: deque[tuple[int, int]] = deque()  # (cluster, preparer) waiting for room in ``ready``
    queue: deque[int] = deque()  # configz reads waiting for a permit
    idle_readers = width
    running = 0
    events: list[tuple[float, int, str, int, int]] = []
    sequence = 0
    end = 0.0

    def push(when: float, kind: str, cluster: int, preparer: int = -1) -> None:
        nonlocal sequence
        sequence += 1
        heapq.heappush(events, (when, sequence, kind, cluster, preparer))

    def prepare_next(now: float, preparer: int, first: bool = False) -> None:
        if waiting and (first or preparer < STEADY_PREPARERS):
            index = waiting.popleft()
            done = now + latency.arm + list_pages(clusters[index].nodes) * latency.node_list
            push(done, "prepared", index, preparer)

    def submit(now: float, index: int) -> None:
        nonlocal running
        clusters[index].to_submit -= 1
        if running < concurrency:
            running += 1
            push(now + latency.configz, "read", index)
        else:
            queue.append(index)

    def start_reading(now: float) -> None:
        nonlocal idle_readers
        while idle_readers and ready:
            index = ready.popleft()
            if blocked:  # room in the queue: a waiting preparer hands over and goes on
                cluster, preparer = blocked.popleft()
                ready.append(cluster)
                prepare_next(now, preparer)
            idle_readers -= 1
            for _ in range(min(cluster_concurrency, clusters[index].to_submit)):
                submit(now, index)

    for preparer in range(width):
        prepare_next(0.0, preparer, first=True)
    while events:
        now, _, kind, index, preparer = heapq.heappop(events)
        end = max(end, now)
        cluster = clusters[index]
        if kind == "prepared":
            if cluster.nodes == 0:  # SKIPPED at once: the preparer goes on
                prepare_next(now, preparer)
            elif len(ready) < width:
                ready.append(index)
                prepare_next(now, preparer)
            else:
                blocked.append((index, preparer))
            start_reading(now)
            continue
        running -= 1  # a read finished: its permit goes to the oldest waiting read first
        if queue:
            running += 1
            push(now + latency.configz, "read", queue.popleft())
        cluster.done += 1
        if cluster.to_submit:
            submit(now, index)
        elif cluster.done == cluster.nodes:
            idle_readers += 1
            start_reading(now)
    return end
