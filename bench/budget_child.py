"""Where the scanner's CPU goes, per node: ``python -m bench.budget_child`` (scanner environment).

Uses the scanner's own adapters, one stage at a time on one event loop (the scan's loop kind),
and measures the process's user + system CPU around each (``RUSAGE_SELF``; nothing else runs in
this process):

* ``connect`` per cluster: listClusterUserCredential, kubeconfig, token, session;
* ``list`` per cluster: the node list (the lean client's paged list);
* ``configz_async``: ``KubeSession.read_configz`` with SCAN_CONCURRENCY in flight, at most
  SCAN_CLUSTER_CONCURRENCY per cluster, over whole clusters (the HTTP layer alone, as the
  pipeline drives it: new connections, and so TLS handshakes, in the proportion a scan has them);
* ``configz_sequential``: one read after another;
* ``evaluate``: what the pipeline does with a body: parse_configz, the verdict memo, the row
  template's JSON rows; ``evaluate_unmemoized``: the same with ``evaluate`` every time;
* ``upload``: ``LogAnalyticsSink.upload_json`` of those rows in batches of one 100-node cluster.

Prints one JSON line: milliseconds of CPU per node (per cluster for connect and list).
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from collections.abc import Callable
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


async def read_in_flight(
    sessions: list[Any], items: list[tuple[int, str]], concurrency: int, per_cluster: int
) -> list[bytes]:
    """Every (session index, node) read, within both limits, as the pipeline bounds them."""
    permits = asyncio.Semaphore(concurrency)
    windows = [asyncio.Semaphore(per_cluster) for _ in sessions]

    async def one(index: int, name: str) -> bytes:
        async with windows[index], permits:
            body: bytes = await sessions[index].read_configz(name)
            return body

    return await asyncio.gather(*(one(index, name) for index, name in items))


async def read_sequentially(sessions: list[Any], items: list[tuple[int, str]]) -> list[bytes]:
    """The same reads, one after another."""
    return [await sessions[index].read_configz(name) for index, name in items]


def main() -> int:  # noqa: PLR0915 - one stage after another, each measured
    """Measure each stage; print the budget."""
    from shared.bootstrap import DeadLetters, build, load_settings  # noqa: PLC0415
    from shared.core.controls.configz import parse_configz  # noqa: PLC0415
    from shared.core.evaluate import VerdictMemo, evaluate  # noqa: PLC0415
    from shared.core.model import Cluster, ScanScope  # noqa: PLC0415
    from shared.core.records import RowContext, utc_now  # noqa: PLC0415
    from shared.core.rows import RowTemplate  # noqa: PLC0415
    from shared.pipeline import _new_loop  # noqa: PLC0415
    from shared.ports import JsonUploader  # noqa: PLC0415

    settings = load_settings()
    wired = build(settings, dead_letters=DeadLetters.DIRECTORY)
    loop = _new_loop()
    budget: dict[str, Any] = {"concurrency": settings.concurrency, "loop": type(loop).__module__}
    try:
        scanner = wired.scanner
        clusters = [c for c in scanner.discovery.discover(ScanScope()) if isinstance(c, Cluster)]
        sessions, budget["connect"] = timed(
            len(clusters), lambda: [scanner.connector.connect(c) for c in clusters]
        )

        async def list_all() -> list[Any]:
            return [await s.list_nodes() for s in sessions]

        listed, budget["list"] = timed(len(sessions), lambda: loop.run_until_complete(list_all()))
        chosen, count = [], 0
        for index, nodes in enumerate(listed):
            if count >= READS_IN_FLIGHT:
                break
            chosen.append(index)
            count += len(nodes)
        items = [(index, node) for index in chosen for node in listed[index]][:READS_IN_FLIGHT]
        names = [(index, node.name) for index, node in items]
        bodies, budget["configz_async"] = timed(
            len(names),
            lambda: loop.run_until_complete(
                read_in_flight(sessions, names, settings.concurrency, settings.cluster_concurrency)
            ),
        )
        sequential = names[:READS_SEQUENTIAL]
        _, budget["configz_sequential"] = timed(
            len(sequential),
            lambda: loop.run_until_complete(read_sequentially(sessions, sequential)),
        )

        def rows_of(memoized: bool) -> list[bytes]:
            memo = VerdictMemo(scanner.benchmark, scanner.policy)
            templates: dict[tuple[int, int], RowTemplate] = {}
            contexts = {
                i: RowContext.for_cluster("bench", scanner.benchmark, clusters[i]) for i in chosen
            }
            rows: list[bytes] = []
            for (index, node), body in zip(items, bodies, strict=True):
                config = parse_configz(body)
                if memoized:
                    verdicts = memo(config)
                else:
                    verdicts = evaluate(config, scanner.benchmark, scanner.policy)
                key = (index, id(verdicts))
                template = templates.get(key)
                if template is None:
                    template = templates[key] = RowTemplate(contexts[index], verdicts)
                rows += template.rows(node, utc_now(), scanner.policy)
            return rows

        rows, budget["evaluate"] = timed(len(items), lambda: rows_of(True))
        _, budget["evaluate_unmemoized"] = timed(len(items), lambda: rows_of(False))
        sink = wired.delivering.uploader if wired.delivering is not None else None
        if isinstance(sink, JsonUploader):

            def upload() -> None:
                for start in range(0, len(rows), BATCH_ROWS):
                    sink.upload_json(
                        settings.logs_findings_stream, rows[start : start + BATCH_ROWS]
                    )

            _, budget["upload"] = timed(len(items), upload)

        async def close_all() -> None:
            for session in sessions:
                await session.close()

        loop.run_until_complete(close_all())
    finally:
        loop.close()
        wired.close()
    print(json.dumps(budget, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
