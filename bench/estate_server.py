"""The simulated estate as its own process, driven over stdin/stdout (one JSON line per answer).

``python -m bench.estate_server --clusters 100 --nodes-per-cluster 100 ...`` starts
``sim.SimulatedEstate`` on loopback and prints one line when every server listens::

    {"env": {...scanner environment...}, "clusters": [{"name", "server", "ca_pem"}...], "nodes": N}

Then it reads commands, one per line: ``stats`` answers with the request counters of every
process, the rows the Logs Ingestion endpoint accepted per stream, and the CPU seconds this
process and its API-server workers used so far; ``stop`` (or end of input) stops the estate and
answers with the same, last. This is ``python -m sim serve`` plus the accepted row
counts, which only the process holding the ingestion endpoint can see.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from typing import Any

import psutil

from sim import FINDINGS_STREAM, RUNS_STREAM, Latency, SimulatedEstate, generated_estate
from sim.demo_workloads import scaled


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.estate_server", description=__doc__)
    parser.add_argument("--clusters", type=int, required=True)
    parser.add_argument("--nodes-per-cluster", type=int, required=True)
    parser.add_argument("--subscriptions", type=int, default=4)
    parser.add_argument("--configz-latency-ms", type=float, default=0.0)
    parser.add_argument("--list-latency-ms", type=float, default=0.0)
    parser.add_argument("--arm-latency-ms", type=float, default=0.0)
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument(
        "--pods-per-cluster",
        type=int,
        default=0,
        help="each cluster runs this many pods (sim.demo_workloads.scaled); 0: only what every "
        "simulated cluster has (bootstrap RBAC, kube-system)",
    )
    parser.add_argument("--namespaces", type=int, default=50, help="namespaces of those pods")
    parser.add_argument("--log-level", default="WARNING")
    return parser


def cpu_seconds() -> float:
    """User + system CPU of this process and its live children (the API-server workers)."""
    me = psutil.Process()
    total = 0.0
    for process in [me, *me.children(recursive=True)]:
        try:
            times = process.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def stats(sim: SimulatedEstate) -> dict[str, Any]:
    """Counters, accepted rows per stream, CPU so far."""
    return {
        "counters": sim.snapshot(),
        "accepted": {
            FINDINGS_STREAM: len(sim.accepted(FINDINGS_STREAM)),
            RUNS_STREAM: len(sim.accepted(RUNS_STREAM)),
        },
        "cpu_seconds": round(cpu_seconds(), 3),
    }


def _say(value: Any) -> None:
    sys.stdout.write(json.dumps(value, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def main(argv: Sequence[str] | None = None) -> int:
    """Start, announce, answer commands, stop."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    latency = Latency(
        arm_ms=args.arm_latency_ms,
        list_ms=args.list_latency_ms,
        configz_ms=args.configz_latency_ms,
    )
    kube = scaled(args.pods_per_cluster, args.namespaces) if args.pods_per_cluster else None
    estate = generated_estate(
        args.clusters,
        args.nodes_per_cluster,
        subscriptions=args.subscriptions,
        latency=latency,
        kube=kube,
    )
    with SimulatedEstate(estate, processes=args.processes).start() as sim:
        clusters = [
            {
                "name": cluster.name,
                "server": sim.api_server_url(cluster.name),
                "ca_pem": sim.cluster_ca_pem(cluster.name),
                "nodes": len(cluster.nodes()),
            }
            for _, cluster in estate.clusters()
        ]
        _say(
            {
                "env": sim.env,
                "clusters": clusters,
                "nodes": sum(c["nodes"] for c in clusters),
                "pid": psutil.Process().pid,
            }
        )
        for line in sys.stdin:
            command = line.strip()
            if command == "stats":
                _say(stats(sim))
            elif command == "stop":
                break
        final = stats(sim)
    _say(final)
    return 0


if __name__ == "__main__":
    sys.exit(main())
