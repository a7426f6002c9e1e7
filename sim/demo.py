"""``python -m shared demo``: the simulated estate on loopback, for the CLI to scan for real.

The scan is the same code path as ``python -m shared scan``: azure-identity gets its token from
the estate's managed-identity endpoint, the Azure SDKs discover clusters through its ARM and
Resource Graph, the kubernetes client reads configz from one TLS API server per cluster, and
azure-monitor-ingestion uploads to its Logs Ingestion endpoint. ``--faults FILE`` switches
faults on for the run (per cluster or node; docs/reliability.md lists them).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import textwrap
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from shared.core.errors import SettingsError
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


@dataclass(frozen=True, slots=True)
class DemoEstate:
    """The running demo estate: the scanner's environment, and where its rows went."""

    env: Mapping[str, str]
    sim: SimulatedEstate

    def report(self, *, to_stdout: bool) -> None:
        """Say what the estate's Logs Ingestion endpoint accepted (stdout beside a table)."""
        sim = self.sim
        findings, runs = sim.accepted(FINDINGS_STREAM), sim.accepted(RUNS_STREAM)
        text = (
            f"Log Analytics: the Logs Ingestion endpoint {sim.env['LOGS_INGESTION_ENDPOINT']} "
            f"(rule {sim.env['LOGS_DCR_IMMUTABLE_ID']}) accepted {len(findings)} rows on "
            f"{FINDINGS_STREAM} and {len(runs)} on {RUNS_STREAM}, in "
            f"{sim.ingestion_calls()} gzip uploads."
        )
        # The table's width rule: COLUMNS, else the terminal's, else 80.
        width = shutil.get_terminal_size((80, 24)).columns
        print(
            "\n"
            + textwrap.fill(text, max(40, width), subsequent_indent="  ", break_on_hyphens=False),
            file=sys.stdout if to_stdout else sys.stderr,
        )


@contextmanager
def demo_estate(faults_path: str | None = None) -> Iterator[DemoEstate]:
    """Start the demo estate (with the faults of ``faults_path``) for one scan.

    The scanner's environment is the estate's: its managed-identity, ARM and Logs Ingestion
    endpoints, a private dead-letter folder, and the process environment for what the SDKs read
    themselves (azure-identity's IDENTITY_ENDPOINT, requests' CA bundle), set for the run only.
    """
    faults = load_faults(faults_path)
    print("starting the simulated estate on 127.0.0.1 ...", file=sys.stderr)
    with (
        SimulatedEstate(default_estate(), faults=faults).start() as sim,
        tempfile.TemporaryDirectory() as tmp,
    ):
        env = {**sim.env, "DEADLETTER_DIR": tmp}
        with _environment(env):
            yield DemoEstate({**os.environ, **env}, sim)
