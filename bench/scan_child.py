"""One scan, as its own process: ``python -m bench.scan_child`` with the scanner's environment.

The wiring is the CLI's (``shared.entrypoints.cli.scan``) without a terminal/file output sink: settings
from the environment, ``shared.bootstrap.build``, Log Analytics behind ``DeliveringSink`` with
a dead-letter folder (``DEADLETTER_DIR``, replayed first), ``run_scan``. That is also what a
Functions invocation does. Prints one JSON line: phase times, the run record, delivery counts
and what waits in the dead-letter folder.

``import_seconds`` covers the modules ``build`` and the scan would otherwise import lazily
(Azure SDKs, the lean Kubernetes client, the event loop), so ``scan_seconds`` is the scan alone:
discovery, credentials, node lists, configz reads, evaluation and upload. ``loaded`` says
whether the kubernetes client package was loaded at all (it should not be, on this path).

``section4`` is what the scanner's own session fact reader (``shared.adapters.kube_objects``,
``SessionObjects``) did, timed around each call: per cluster the seconds from the call to its
``Section4Results``, the objects and pages it took from the lists, and which lists failed or
were not served. The reader is the one ``build`` wired, only wrapped by ``TimedSessionFacts``.
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import dataclasses  # noqa: E402 - the clock starts before any import
import json  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402


class TimedSessionFacts:
    """The scanner's ``session_facts``, timed: what each call read, and how long it took."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.calls: list[dict[str, Any]] = []

    async def __call__(self, session: Any, reads: frozenset[str]) -> Any:
        """Call the wired reader; record its time and its ``Section4Results``' counts."""
        import inspect  # noqa: PLC0415

        from shared.core.controls.kubernetes import K8S_OBJECTS  # noqa: PLC0415
        from shared.core.section4 import Section4Results  # noqa: PLC0415

        began = time.perf_counter()
        answer = self._inner(session, reads)
        facts = await answer if inspect.isawaitable(answer) else answer
        seconds = time.perf_counter() - began
        results = facts.values.get(K8S_OBJECTS)
        call: dict[str, Any] = {"seconds": round(seconds, 4)}
        if isinstance(results, Section4Results):
            call.update(
                objects=results.objects_read,
                pages=sum(r.pages for r in results.lists),
                lists=len(results.lists),
                by_list={r.ref.qualified: [r.objects, r.pages] for r in results.lists},
                not_served=sorted(r.ref.qualified for r in results.lists if r.not_served),
                failed=sorted(
                    f"{r.ref.qualified}: {r.error}"
                    for r in results.lists
                    if r.error and not r.not_served
                ),
            )
        else:
            call["unread"] = sorted(str(f) for f in facts.failures)
        self.calls.append(call)
        return facts

    def summary(self) -> dict[str, Any]:
        """Every call, and the slowest one's seconds (one cluster's section 4 read)."""
        return {
            "clusters": len(self.calls),
            "seconds_max": max((c["seconds"] for c in self.calls), default=0.0),
            "objects": sum(c.get("objects", 0) for c in self.calls),
            "pages": sum(c.get("pages", 0) for c in self.calls),
            "calls": self.calls if len(self.calls) <= 4 else self.calls[:4],
            "failed": sorted({f for c in self.calls for f in c.get("failed", [])}),
            "unread": sorted({u for c in self.calls for u in c.get("unread", [])}),
        }


def main() -> int:
    """Scan everything the environment's identity can see; print the measurements."""
    import azure.identity  # noqa: F401, PLC0415 - what build() imports lazily

    import shared.adapters.azure_arm  # noqa: PLC0415
    import shared.adapters.deadletter  # noqa: PLC0415
    import shared.adapters.kube_objects  # noqa: PLC0415 - the session fact reader, section 4
    import shared.adapters.log_analytics  # noqa: F401, PLC0415
    from shared.bootstrap import DeadLetters, build, load_settings  # noqa: PLC0415
    from shared.core.model import ScanScope  # noqa: PLC0415
    from shared.pipeline import _new_loop, run_scan  # noqa: PLC0415

    _new_loop().close()  # the event loop implementation (uvloop when installed)
    imported = time.perf_counter()
    rss_after_import = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    settings = load_settings()
    dead_letters = Path(settings.deadletter_dir)
    began = time.perf_counter()
    app = build(settings, dead_letters=DeadLetters.DIRECTORY)
    timed = TimedSessionFacts(app.scanner.session_facts)
    scanner = app.scanner
    if scanner.session_facts is not None:
        scanner = dataclasses.replace(scanner, session_facts=timed)
    try:
        if app.delivering is None:
            raise SystemExit("bench: LOGS_INGESTION_ENDPOINT and LOGS_DCR_IMMUTABLE_ID are needed")
        app.replay()  # as the CLI does first; a no-op on an empty folder
        outcome = run_scan(
            scanner, ScanScope(), app.sinks, trigger="cli", delivery=app.delivering.stats
        )
    finally:
        app.close()
    ended = time.perf_counter()
    waiting = sorted(dead_letters.glob("*.json")) if dead_letters.exists() else []
    print(
        json.dumps(
            {
                "import_seconds": round(imported - STARTED, 4),
                "rss_after_import_mb": round(rss_after_import, 1),
                "scan_seconds": round(ended - began, 4),
                "run": outcome.run.row(),
                "rows_sent": app.delivering.stats.rows_sent,
                "rows_dead_lettered": app.delivering.stats.rows_dead_lettered,
                "undelivered_rows": outcome.undelivered_rows,
                "sink_errors": list(outcome.sink_errors),
                "dead_letter_files": len(waiting),
                "kubernetes_loaded": "kubernetes" in sys.modules,
                "section4": timed.summary(),
                "sections": list(settings.sections),
                "limits": {
                    "concurrency": settings.concurrency,
                    "cluster_concurrency": settings.cluster_concurrency,
                },
            },
            separators=(",", ":"),
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
