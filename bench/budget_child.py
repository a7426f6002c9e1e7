"""Where the scanner's CPU goes, per node: ``python -m bench.budget_child`` (scanner environment).

Uses the scanner's own adapters, one stage at a time, and measures the process's user + system
CPU around each (``RUSAGE_SELF``; nothing else runs in this process):

* ``connect`` per cluster: listClusterUserCredential, kubeconfig, token, session;
* ``list`` per cluster: the node list;
* ``configz_async``: ``KubeSession.start_configz`` (the reads on the scan's one event loop) with
  SCAN_CONCURRENCY in flight, at most SCAN_CLUSTER_CONCURRENCY per cluster, round-robin over
  whole clusters (the HTTP layer alone, as the pipeline drives it: new connections, and so TLS
  handshakes, in the proportion a scan has them);
* ``configz_sequential``: ``read_configz`` one after another from one thread;
* ``evaluate``: parse_configz + evaluate + findings rows;
* ``row``: ``Finding.row()`` (what every sink calls per row);
* ``upload``: ``LogAnalyticsSink.upload`` of those rows in batches of one 100-node cluster.

Prints one JSON line: milliseconds of CPU per node (per cluster for connect and list).
"""

from __future__ import annotations

import json
import resource
import sys
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from typing import Any, TypeVar

T = TypeVar("T")
READS_IN_FLIGHT = 2000
READS_SEQUENTIAL = 200
BATCH_ROWS = 900


def cpu() -> float:
    """User + system CPU seconds of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(count: int, action: Callable[[], T]) -> tuple[T, dict[str, float]]:
    """Run ``action``; CPU and wall milliseconds per item of ``count``."""
    cpu0, wall0 = cpu(), time.perf_counter()
    result = action()
    cpu1, wall1 = cpu(), time.perf_counter()
    per = max(count, 1)
    return result, {
        "cpu_ms": round((cpu1 - cpu0) * 1000 / per, 3),
        "wall_ms": round((wall1 - wall0) * 1000 / per, 3),
        "items": count,
        "per_second": round(count / (wall1 - wall0), 1) if wall1 > wall0 else 0.0,
    }


def read_in_flight(
    sessions: list[Any], items: list[tuple[int, str]], concurrency: int, per_cluster_limit: int
) -> list[bytes]:
    """Every (session index, node) read through start_configz, within both limits; in order."""
    bodies: dict[int, bytes] = {}
    queues: list[deque[tuple[int, str]]] = [deque() for _ in sessions]
    for position, (index, name) in enumerate(items):
        queues[index].append((position, name))
    in_flight: dict[Future[bytes], tuple[int, int]] = {}  # future -> (item, session)
    per_cluster = [0] * len(sessions)
    while True:
        for index, queue in enumerate(queues):
            while queue and len(in_flight) < concurrency and per_cluster[index] < per_cluster_limit:
                position, name = queue.popleft()
                in_flight[sessions[index].start_configz(name)] = (position, index)
                per_cluster[index] += 1
        if not in_flight:
            break
        done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
        for future in done:
            position, index = in_flight.pop(future)
            per_cluster[index] -= 1
            bodies[position] = future.result()
    return [bodies[position] for position in range(len(items))]


def main() -> int:
    """Measure each stage; print the budget."""
    from kubernetes import client as k8s  # noqa: PLC0415

    from shared.bootstrap import DeadLetters, build, load_settings  # noqa: PLC0415
    from shared.core.controls.configz import parse_configz  # noqa: PLC0415
    from shared.core.evaluate import evaluate  # noqa: PLC0415
    from shared.core.model import Cluster, ScanScope  # noqa: PLC0415
    from shared.core.records import RowContext, findings, utc_now  # noqa: PLC0415

    _ = k8s.CoreV1Api
    settings = load_settings()
    wired = build(settings, dead_letters=DeadLetters.DIRECTORY)
    budget: dict[str, Any] = {"threads": settings.concurrency}
    try:
        scanner = wired.scanner
        clusters = [c for c in scanner.discovery.discover(ScanScope()) if isinstance(c, Cluster)]
        sessions, budget["connect"] = timed(
            len(clusters), lambda: [scanner.connector.connect(c) for c in clusters]
        )
        listed, budget["list"] = timed(len(sessions), lambda: [s.list_nodes() for s in sessions])
        # Whole clusters, as a scan reads them (each connection serves ~n / c reads, so the TLS
        # handshakes weigh as they do in a scan), round-robin over as many clusters as give
        # READS_IN_FLIGHT reads, since many clusters' windows are open at once.
        chosen, count = [], 0
        for index, nodes in enumerate(listed):
            if count >= READS_IN_FLIGHT:
                break
            chosen.append(index)
            count += len(nodes)
        items = []
        for depth in range(max((len(listed[i]) for i in chosen), default=0)):
            for index in chosen:
                if depth < len(listed[index]):
                    items.append((index, listed[index][depth]))
        threaded = items[:READS_IN_FLIGHT]

        bodies, budget["configz_async"] = timed(
            len(threaded),
            lambda: read_in_flight(
                sessions,
                [(index, node.name) for index, node in threaded],
                settings.concurrency,
                settings.cluster_concurrency,
            ),
        )
        sequential = items[:READS_SEQUENTIAL]
        _, budget["configz_sequential"] = timed(
            len(sequential),
            lambda: [sessions[i].start_configz(n.name).result() for i, n in sequential],
        )

        def rows_of() -> list[Any]:
            rows = []
            for (index, node), body in zip(threaded, bodies, strict=True):
                context = RowContext.for_cluster("bench", scanner.benchmark, clusters[index], node)
                verdicts = evaluate(parse_configz(body), scanner.benchmark, scanner.policy)
                rows.extend(findings(context, verdicts, utc_now(), scanner.policy))
            return rows

        rows, budget["evaluate"] = timed(len(threaded), rows_of)
        dicts, budget["row"] = timed(len(threaded), lambda: [r.row() for r in rows])
        sink = wired.log_analytics
        if sink is not None:

            def upload() -> None:
                for start in range(0, len(dicts), BATCH_ROWS):
                    sink.upload(settings.logs_findings_stream, dicts[start : start + BATCH_ROWS])

            _, budget["upload"] = timed(len(threaded), upload)
        for session in sessions:
            session.close()
    finally:
        wired.close()
    print(json.dumps(budget, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
