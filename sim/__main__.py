"""``python -m sim serve``: run the simulated estate until SIGTERM (benchmarks).

Writes the scanner's environment (JSON object of strings) to ``--env-file`` once every server
listens, and request counters to ``--stats-file`` on exit.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from shared.core.errors import SettingsError
from sim.estate import Estate, Latency, default_estate, generated_estate
from sim.faults import Fault
from sim.runner import SimulatedEstate

log = logging.getLogger("sim")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sim", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the estate until SIGTERM or SIGINT")
    serve.add_argument(
        "--env-file",
        required=True,
        type=Path,
        help="where to write the scanner's environment (JSON) when ready",
    )
    serve.add_argument("--stats-file", type=Path, help="where to write request counters on exit")
    serve.add_argument(
        "--clusters", type=int, help="generate this many clusters (default: the demo estate)"
    )
    serve.add_argument("--nodes-per-cluster", type=int, default=10)
    serve.add_argument("--subscriptions", type=int, default=4)
    serve.add_argument("--configz-latency-ms", type=float, default=0.0)
    serve.add_argument("--list-latency-ms", type=float, default=0.0)
    serve.add_argument("--arm-latency-ms", type=float, default=0.0)
    serve.add_argument("--token-latency-ms", type=float, default=0.0)
    serve.add_argument("--ingestion-latency-ms", type=float, default=0.0)
    serve.add_argument(
        "--processes",
        type=int,
        default=1,
        help="worker processes that share the API servers (default 1: in-process)",
    )
    serve.add_argument(
        "--faults",
        type=Path,
        help="JSON list of faults active from the start (see sim.faults.Fault)",
    )
    serve.add_argument("--log-level", default="WARNING")
    return parser


def _estate(args: argparse.Namespace) -> Estate:
    latency = Latency(
        token_ms=args.token_latency_ms,
        arm_ms=args.arm_latency_ms,
        list_ms=args.list_latency_ms,
        configz_ms=args.configz_latency_ms,
        ingestion_ms=args.ingestion_latency_ms,
    )
    if args.clusters is None:
        return default_estate().with_latency(
            token_ms=latency.token_ms,
            arm_ms=latency.arm_ms,
            list_ms=latency.list_ms,
            configz_ms=latency.configz_ms,
            ingestion_ms=latency.ingestion_ms,
        )
    return generated_estate(
        args.clusters, args.nodes_per_cluster, subscriptions=args.subscriptions, latency=latency
    )


def _write_json(path: Path, value: Any) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(value, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def serve(args: argparse.Namespace) -> int:
    """Start, publish the environment, wait for a signal, stop."""
    estate = _estate(args)
    faults: list[Fault] = []
    if args.faults is not None:
        from sim.fault_file import load_faults  # noqa: PLC0415 - pydantic only with --faults

        faults = load_faults(str(args.faults), estate)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    with SimulatedEstate(estate, processes=args.processes, faults=faults).start() as sim:
        nodes = sum(len(c.nodes()) for _, c in estate.clusters() if c.running)
        _write_json(args.env_file, sim.env)
        log.warning(
            "simulated estate ready: %d clusters, %d nodes; environment in %s",
            sum(1 for _ in estate.clusters()),
            nodes,
            args.env_file,
        )
        while not done.wait(1.0):
            pass
        stats = sim.snapshot()
    if args.stats_file is not None:
        _write_json(args.stats_file, stats)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    try:
        return serve(args)
    except SettingsError as exc:  # a --faults file that cannot be used
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
