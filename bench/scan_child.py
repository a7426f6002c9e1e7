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
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import json  # noqa: E402 - the clock starts before any import
import resource  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402


def main() -> int:
    """Scan everything the environment's identity can see; print the measurements."""
    import azure.identity  # noqa: F401, PLC0415 - what build() imports lazily

    import shared.adapters.azure_arm  # noqa: PLC0415
    import shared.adapters.deadletter  # noqa: PLC0415
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
    try:
        if app.delivering is None:
            raise SystemExit("bench: LOGS_INGESTION_ENDPOINT and LOGS_DCR_IMMUTABLE_ID are needed")
        app.replay()  # as the CLI does first; a no-op on an empty folder
        outcome = run_scan(
            app.scanner, ScanScope(), app.sinks, trigger="cli", delivery=app.delivering.stats
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
