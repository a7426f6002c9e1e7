"""Fixtures for end-to-end tests: the simulated estate, and the process environment it needs.

azure-identity and requests read ``os.environ`` (IDENTITY_ENDPOINT, REQUESTS_CA_BUNDLE), so the
estate's variables are set for the duration of each test with monkeypatch.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sim import SimulatedEstate, default_estate


@pytest.fixture(name="sim", scope="module")
def _sim() -> Iterator[SimulatedEstate]:
    with SimulatedEstate(default_estate()).start() as sim:
        yield sim


@pytest.fixture(name="env")
def _env(sim: SimulatedEstate, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    sim.faults.clear()
    values = {**sim.env, "DEADLETTER_DIR": str(tmp_path / "deadletter")}
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the fault matrix's figures when its cases ran in this process."""
    from tests.e2e.test_fault_matrix import figures_line  # noqa: PLC0415 - only when it ran

    line = figures_line()
    if line:
        terminalreporter.write_line(line)
