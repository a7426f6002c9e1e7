"""Evaluation: what was read plus a benchmark and a policy give one verdict per control.

Pure: plain mappings in, frozen Verdicts out. A wrong-typed field makes that control ERROR and
leaves the others to be judged; nothing that was not read can PASS.

* ``evaluate``: a node's kubeletconfig against the benchmark's node-scoped controls.
* ``evaluate_cluster``: a cluster's facts (shared.core.facts) against cluster-scoped controls;
  a control whose read failed is ERROR (or SKIPPED) with the read's reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from shared.core.controls import Benchmark, Control
from shared.core.errors import FieldTypeError
from shared.core.facts import Facts
from shared.core.model import Policy, Status, Verdict


def evaluate(
    config: Mapping[str, Any], benchmark: Benchmark, policy: Policy
) -> tuple[Verdict, ...]:
    """One Verdict per node-scoped control of ``benchmark``, in benchmark order."""
    return tuple(_judge(control, config, policy) for control in benchmark.node_controls)


def evaluate_cluster(
    facts: Facts, controls: Iterable[Control], policy: Policy
) -> tuple[Verdict, ...]:
    """One Verdict per cluster-scoped control in ``controls``, from one cluster's facts."""
    verdicts: list[Verdict] = []
    for control in controls:
        failure = facts.failure_for(control.reads)
        if failure is not None and control.level in policy.levels:
            verdicts.append(
                Verdict(control.id, failure.status, "", control.expected, failure.reason)
            )
            continue
        verdicts.append(_judge(control, facts.values, policy))
    return tuple(verdicts)


def _judge(control: Control, data: Mapping[str, Any], policy: Policy) -> Verdict:
    if control.level not in policy.levels:
        reason = f"Level {control.level} is not selected by the scan policy (levels)"
        return Verdict(control.id, Status.SKIPPED, "", control.expected, reason)
    try:
        outcome = control.check(data, policy)
    except FieldTypeError as exc:
        return Verdict(control.id, Status.ERROR, "", control.expected, str(exc))
    return Verdict(
        control.id,
        outcome.status,
        outcome.actual,
        outcome.expected,
        outcome.reason,
        outcome.evidence,
    )


def uniform_verdicts(
    controls: Iterable[Control], status: Status, reason: str
) -> tuple[Verdict, ...]:
    """The same status and reason for every control: a target that was not evaluated."""
    if status in (Status.PASS, Status.FAIL):
        raise ValueError("only ERROR or SKIPPED can be given without evaluating")
    return tuple(Verdict(c.id, status, "", c.expected, reason) for c in controls)
