"""Hypothesis profiles for the property tests, and the count of generated cases per surface.

* ``ci`` (the default; ``make test``): derandomized, so every run generates the same cases and a
  failure reproduces on any machine; no example database; a fixed budget per test
  (``examples(n)``: n cases) that keeps the input tests to about a minute on two cores.
* ``fuzz`` (``make fuzz``): random, ``FUZZ_FACTOR`` times the budget, the example database on, for
  a longer local run. A failure prints the ``@reproduce_failure`` blob to paste into the test.

Select with ``HYPOTHESIS_PROFILE=ci|fuzz`` (tests/conftest.py loads it). Each input property test
calls ``count(surface)`` once per generated case; the session prints the totals
("generated input cases per surface: ..."), which docs/reliability.md quotes.
"""

from __future__ import annotations

import os
from collections import Counter

from hypothesis import HealthCheck, settings

FUZZ_FACTOR = 20
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")

settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "fuzz",
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
if PROFILE not in ("ci", "fuzz"):
    raise RuntimeError(f"HYPOTHESIS_PROFILE={PROFILE!r}: expected ci or fuzz")
settings.load_profile(PROFILE)

#: Generated cases run in this process, per input surface.
CASES: Counter[str] = Counter()


def examples(budget: int) -> settings:
    """The settings of one property test: ``budget`` cases under ci, FUZZ_FACTOR times under fuzz."""
    return settings(max_examples=budget * (FUZZ_FACTOR if PROFILE == "fuzz" else 1))


def count(surface: str) -> None:
    """Count one generated case of ``surface`` (http, queue, policy, settings, ...)."""
    CASES[surface] += 1


def summary(cases: Counter[str]) -> str:
    """The figures line, surfaces in a fixed order."""
    parts = ", ".join(f"{surface} {n}" for surface, n in sorted(cases.items()))
    return f"generated input cases per surface ({PROFILE} profile): {parts}; total {sum(cases.values())}"
