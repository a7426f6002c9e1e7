"""``python -m shared demo``: start the simulated estate on loopback and scan it for real.

The scan is the same code path as ``python -m shared scan``: azure-identity gets its token from
the estate's managed-identity endpoint, the Azure SDKs discover clusters through its ARM and
Resource Graph, the kubernetes client reads configz from one TLS API server per cluster, and
azure-monitor-ingestion uploads to its Logs Ingestion endpoint. ``--faults FILE`` switches
faults on for the run (per cluster or node; docs/reliability.md lists them).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from shared.core.errors import SettingsError
from shared.core.model import ScanScope
from shared.entrypoints.cli import scan
from shared.settings import Settings
from sim import FINDINGS_STREAM, RUNS_STREAM, Fault, SimulatedEstate, default_estate


@contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    """azure-identity and requests read os.environ; set the estate's values for the run only."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def load_faults(path: str | None) -> list[Fault]:
    """The faults of a ``--faults`` JSON file (a list of ``Fault.from_dict`` objects)."""
    if path is None:
        return []
    try:
        with open(path, encoding="utf-8") as handle:
            items = json.load(handle)
        faults = [Fault.from_dict(item) for item in items] if isinstance(items, list) else None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SettingsError(f"--faults {path}: {type(exc).__name__}: {exc}") from None
    if faults is None:
        raise SettingsError(f"--faults {path}: expected a JSON list of faults")
    return faults


def run_demo(args: argparse.Namespace) -> int:
    """Start the estate, scan it with the CLI's output, and say where the rows went."""
    faults = load_faults(getattr(args, "faults", None))
    print("starting the simulated estate on 127.0.0.1 ...", file=sys.stderr)
    with (
        SimulatedEstate(default_estate(), faults=faults).start() as sim,
        tempfile.TemporaryDirectory() as tmp,
    ):
        env = {**sim.env, "DEADLETTER_DIR": tmp}
        if args.policy:
            env["SCAN_POLICY"] = args.policy
        if args.benchmark:
            env["CIS_BENCHMARK"] = args.benchmark
        with _environment(env):
            settings = Settings.from_env({**os.environ, **env})
            code = scan(
                settings,
                ScanScope(),
                fmt=args.format,
                output=args.output,
                fail_on_findings=args.fail_on_findings,
            )
        findings, runs = sim.accepted(FINDINGS_STREAM), sim.accepted(RUNS_STREAM)
        where = sys.stdout if args.format == "table" and args.output is None else sys.stderr
        print(
            f"\nLog Analytics: the Logs Ingestion endpoint {sim.env['LOGS_INGESTION_ENDPOINT']} "
            f"(rule {sim.env['LOGS_DCR_IMMUTABLE_ID']}) accepted {len(findings)} rows on "
            f"{FINDINGS_STREAM} and {len(runs)} on {RUNS_STREAM}, in "
            f"{sim.ingestion_calls()} gzip uploads.",
            file=where,
        )
    return code
