"""Benchmarks as reviewable tables of controls.

A ``Control`` is one CIS recommendation: its id in that benchmark version, the title as the
benchmark words it, the profile level, what it reads and a pure ``check`` that turns what was
read into an ``Outcome``. ``Benchmark`` keeps its controls in benchmark order. Nothing here
imports Azure or Kubernetes.

Two scopes:

* ``Scope.NODE``: evaluated once per node from its kubeletconfig (configz); ``paths`` names
  the configz fields. One row per (node, control).
* ``Scope.CLUSTER``: evaluated once per cluster from its facts, a mapping from read name to
  what that read returned (shared.core.facts names the reads: ``managedCluster``,
  ``diagnosticSettings``, ...). ``reads`` says which the check needs; a read that failed makes
  this control ERROR (shared.core.evaluate) and leaves the others alone. Reads named
  ``k8s:<resource>`` need the cluster's API server session and are evaluated where the
  pipeline holds one (``session_controls``); the others come from ARM and are evaluated for
  every discovered cluster, stopped ones included (``arm_controls``). One row per
  (cluster, control), node columns empty.
"""

from __future__ import annotations

import enum
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.core.errors import SettingsError
from shared.core.model import NO_EVIDENCE, Evidence, Policy, Status

#: Prefix of the reads that need a session to the cluster's API server (section 4: shared.core.controls.kubernetes).
SESSION_READ_PREFIX = "k8s:"


class Scope(enum.StrEnum):
    """What one row of a control is about."""

    NODE = "node"
    CLUSTER = "cluster"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a check decided, with its evidence."""

    status: Status
    actual: str
    expected: str
    reason: str
    evidence: Evidence = NO_EVIDENCE


Check = Callable[[Mapping[str, Any], Policy], Outcome]


@dataclass(frozen=True, slots=True)
class Control:
    """One CIS recommendation and how the scanner evaluates it."""

    id: str
    title: str
    level: int
    paths: tuple[str, ...]
    expected: str
    remediation: str
    check: Check
    scope: Scope = Scope.NODE
    reads: tuple[str, ...] = ()
    links: tuple[str, ...] = ()
    #: Reads the check uses when the run has them and reports itself when it has not (never an
    #: ERROR by their absence): the Azure role assignments 4.1.1 adds on Azure-RBAC clusters.
    optional_reads: tuple[str, ...] = ()

    @property
    def section(self) -> str:
        """The section the id belongs to: its first two parts (``3.2`` for ``3.2.10``)."""
        return ".".join(self.id.split(".")[:2])

    @property
    def needs_session(self) -> bool:
        """True for a cluster control that reads the cluster's Kubernetes API."""
        return any(r.startswith(SESSION_READ_PREFIX) for r in self.reads)

    @property
    def description(self) -> str:
        """What the check does and what absence means: its docstring."""
        return inspect.getdoc(self.check) or ""


@dataclass(frozen=True, slots=True)
class Recommendation:
    """What a CIS recommendation asks, whatever id, title and level a version gives it."""

    paths: tuple[str, ...]
    expected: str
    remediation: str
    check: Check
    scope: Scope = Scope.NODE
    reads: tuple[str, ...] = ()
    links: tuple[str, ...] = ()
    optional_reads: tuple[str, ...] = ()

    @classmethod
    def of(cls, control: Control) -> Recommendation:
        """The recommendation an existing control evaluates (its reads, check, remediation)."""
        return cls(
            control.paths,
            control.expected,
            control.remediation,
            control.check,
            control.scope,
            control.reads,
            control.links,
            control.optional_reads,
        )

    def control(self, control_id: str, title: str, level: int) -> Control:
        """This recommendation under one version's id, title and level."""
        return Control(
            id=control_id,
            title=title,
            level=level,
            paths=self.paths,
            expected=self.expected,
            remediation=self.remediation,
            check=self.check,
            scope=self.scope,
            reads=self.reads,
            links=self.links,
            optional_reads=self.optional_reads,
        )


Row = tuple[str, str, int, Recommendation]


@dataclass(frozen=True, slots=True)
class Benchmark:
    """A named, versioned list of controls in benchmark order."""

    name: str
    title: str
    controls: tuple[Control, ...]
    node_controls: tuple[Control, ...] = field(init=False, repr=False, compare=False)
    arm_controls: tuple[Control, ...] = field(init=False, repr=False, compare=False)
    session_controls: tuple[Control, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        cluster = [c for c in self.controls if c.scope is Scope.CLUSTER]
        object.__setattr__(
            self, "node_controls", tuple(c for c in self.controls if c.scope is Scope.NODE)
        )
        object.__setattr__(self, "arm_controls", tuple(c for c in cluster if not c.needs_session))
        object.__setattr__(self, "session_controls", tuple(c for c in cluster if c.needs_session))

    def control(self, control_id: str) -> Control:
        """The control with this id; KeyError when the benchmark has none."""
        for control in self.controls:
            if control.id == control_id:
                return control
        raise KeyError(control_id)

    @property
    def sections(self) -> tuple[str, ...]:
        """The sections this benchmark's controls belong to, in benchmark order."""
        return tuple(dict.fromkeys(c.section for c in self.controls))

    def select(self, sections: tuple[str, ...]) -> Benchmark:
        """Only the controls under ``sections`` (ids or id prefixes such as ``3.2`` or ``5``).

        Empty means all. SettingsError names a section this benchmark has no control under.
        """
        if not sections:
            return self
        for wanted in sections:
            if not any(_under(c.id, wanted) for c in self.controls):
                raise SettingsError(
                    f"CIS_SECTIONS: {self.name} has no section {wanted} "
                    f"(its sections: {', '.join(self.sections)})"
                )
        chosen = tuple(c for c in self.controls if any(_under(c.id, s) for s in sections))
        return Benchmark(self.name, self.title, chosen)


def _under(control_id: str, section: str) -> bool:
    """True when ``control_id`` is ``section`` or lies under it (``3.2.1`` under ``3``)."""
    return control_id == section or control_id.startswith(section + ".")


def benchmark(name: str, title: str, rows: tuple[Row, ...]) -> Benchmark:
    """A benchmark from rows of (id, title, level, recommendation), in benchmark order."""
    return Benchmark(
        name=name,
        title=title,
        controls=tuple(rec.control(cid, text, level) for cid, text, level, rec in rows),
    )
