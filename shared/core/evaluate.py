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


#: Distinct inputs a run's memo keeps (each a tuple of values at the controls' paths).
MEMO_ENTRIES = 256
#: Values larger than this (string characters, or elements of a list or object) are not keyed:
#: such a node is evaluated without the memo, so no key holds a large value.
MEMO_VALUE_LIMIT = 256


class VerdictMemo:
    """``evaluate`` (the node-scoped controls) memoized per distinct input, for one benchmark
    and policy.

    Every node of a pool usually has the same configz apart from node-specific fields (its
    name, address, provider id). The key is what the controls can observe: for each path the
    benchmark's controls declare (``Control.paths``), exactly what the configz readers see there
    (absent, the value with its JSON type, or the non-object that stops the walk), never the
    raw body. So two nodes share verdicts only when every control reads the same values, and a
    node-specific field can never produce a wrong hit. Bounded: at most MEMO_ENTRIES keys
    (oldest dropped first), and a node with a large value at a path is evaluated afresh.
    """

    def __init__(
        self, benchmark: Benchmark, policy: Policy, max_entries: int = MEMO_ENTRIES
    ) -> None:
        self._benchmark = benchmark
        self._policy = policy
        self._max = max_entries
        paths = sorted({path for control in benchmark.node_controls for path in control.paths})
        self._paths = tuple(tuple(path.split(".")) for path in paths)
        self._memo: dict[tuple[object, ...], tuple[Verdict, ...]] = {}
        self.hits = 0
        self.misses = 0

    def __call__(self, config: Mapping[str, Any]) -> tuple[Verdict, ...]:
        """The verdicts ``evaluate(config, benchmark, policy)`` gives."""
        key = self.key(config)
        if key is None:
            self.misses += 1
            return evaluate(config, self._benchmark, self._policy)
        verdicts = self._memo.get(key)
        if verdicts is not None:
            self.hits += 1
            return verdicts
        self.misses += 1
        verdicts = evaluate(config, self._benchmark, self._policy)
        if len(self._memo) >= self._max:
            del self._memo[next(iter(self._memo))]
        self._memo[key] = verdicts
        return verdicts

    def key(self, config: Mapping[str, Any]) -> tuple[object, ...] | None:
        """What the controls observe in ``config``; None when a value is too large to key."""
        key = []
        for parts in self._paths:
            seen = _observed(config, parts)
            if seen is None:
                return None
            key.append(seen)
        return tuple(key)


_ABSENT = ("absent",)


def _observed(config: Mapping[str, Any], parts: tuple[str, ...]) -> object | None:
    """What ``configz.lookup`` sees at ``parts``, as a hashable, type-tagged value."""
    node: Any = config
    for depth, part in enumerate(parts):
        if node is None:
            return _ABSENT
        if not isinstance(node, Mapping):
            tagged = _tagged(node, [MEMO_VALUE_LIMIT])
            return None if tagged is None else ("not-object", depth, tagged)
        if part not in node:
            return _ABSENT
        node = node[part]
    tagged = _tagged(node, [MEMO_VALUE_LIMIT])
    return None if tagged is None else ("value", tagged)


def _tagged(value: Any, budget: list[int]) -> object | None:  # noqa: PLR0911 - one per JSON type
    """``value`` with its JSON type (True is not 1, 1 is not 1.0); None past the budget."""
    if value is None or isinstance(value, bool):
        return (type(value).__name__, value)
    if isinstance(value, int | str):
        if isinstance(value, str):
            budget[0] -= len(value)
            if budget[0] < 0:
                return None
        return (type(value).__name__, value)
    if isinstance(value, float):
        return ("float", repr(value))  # repr keeps -0.0 and nan apart from 0.0
    if isinstance(value, list | dict):
        budget[0] -= len(value)
        if budget[0] < 0:
            return None
        items = value.items() if isinstance(value, dict) else enumerate(value)
        tagged = []
        for name, item in items:
            inner = _tagged(item, budget)
            if inner is None:
                return None
            tagged.append((name, inner))
        return (type(value).__name__, tuple(tagged))
    return None
