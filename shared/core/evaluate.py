"""Evaluation: a node's kubeletconfig plus a benchmark and a policy give one verdict per control.

Pure: plain mappings in, frozen Verdicts out. A wrong-typed field makes that control ERROR and
leaves the others to be judged; nothing that was not read can PASS.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.core.controls import Benchmark
from shared.core.errors import FieldTypeError
from shared.core.model import Policy, Status, Verdict


def evaluate(
    config: Mapping[str, Any], benchmark: Benchmark, policy: Policy
) -> tuple[Verdict, ...]:
    """One Verdict per control of ``benchmark``, in benchmark order."""
    verdicts: list[Verdict] = []
    for control in benchmark.controls:
        if control.level not in policy.levels:
            reason = f"Level {control.level} is not selected by the scan policy (levels)"
            verdicts.append(Verdict(control.id, Status.SKIPPED, "", control.expected, reason))
            continue
        try:
            outcome = control.check(config, policy)
        except FieldTypeError as exc:
            verdicts.append(Verdict(control.id, Status.ERROR, "", control.expected, str(exc)))
            continue
        verdicts.append(
            Verdict(control.id, outcome.status, outcome.actual, outcome.expected, outcome.reason)
        )
    return tuple(verdicts)


def uniform_verdicts(benchmark: Benchmark, status: Status, reason: str) -> tuple[Verdict, ...]:
    """The same status and reason for every control: a node or cluster that was not evaluated."""
    if status in (Status.PASS, Status.FAIL):
        raise ValueError("only ERROR or SKIPPED can be given without evaluating")
    return tuple(Verdict(c.id, status, "", c.expected, reason) for c in benchmark.controls)
