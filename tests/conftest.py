"""Session-wide: the hypothesis profile (tests/hypothesis_profiles.py) and its case counts.

Under pytest-xdist each worker counts its own cases and hands them to the controller through
``workeroutput``; the controller prints the sum once.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from tests.hypothesis_profiles import CASES, summary

_MERGED: Counter[str] = Counter()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """A worker hands its counts to the controller."""
    output = getattr(session.config, "workeroutput", None)
    if output is not None:
        output["input_cases"] = dict(CASES)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """The controller adds a finished worker's counts."""
    _MERGED.update(getattr(node, "workeroutput", {}).get("input_cases", {}))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the generated cases per input surface, when any ran."""
    cases = _MERGED + CASES
    if cases:
        terminalreporter.write_line(summary(cases))
