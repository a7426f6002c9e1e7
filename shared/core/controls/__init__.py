"""Benchmarks as reviewable tables of controls.

A ``Control`` is one CIS recommendation: its id in that benchmark version, the title as the
benchmark words it, the profile level, the configz fields it reads, and a pure ``check`` that
turns a kubeletconfig mapping into an ``Outcome``. ``Benchmark`` keeps its controls in benchmark
order. Nothing here imports Azure or Kubernetes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from shared.core.model import Policy, Status


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a check decided, with its evidence."""

    status: Status
    actual: str
    expected: str
    reason: str


Check = Callable[[Mapping[str, Any], Policy], Outcome]


@dataclass(frozen=True, slots=True)
class Control:
    """One CIS recommendation and how configz evaluates it."""

    id: str
    title: str
    level: int
    paths: tuple[str, ...]
    expected: str
    remediation: str
    check: Check


@dataclass(frozen=True, slots=True)
class Benchmark:
    """A named, versioned list of controls in benchmark order."""

    name: str
    title: str
    controls: tuple[Control, ...]

    def control(self, control_id: str) -> Control:
        """The control with this id; KeyError when the benchmark has none."""
        for control in self.controls:
            if control.id == control_id:
                return control
        raise KeyError(control_id)
