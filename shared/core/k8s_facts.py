"""What the section 4 evaluators hand to the integration: status-neutral facts per control.

A ``ControlFacts`` never says PASS or FAIL. It says what was found (``offenders``), what matched
but is allowed and why (``allowed``), other names-only evidence, and a ``Finding`` that tells the
integration which decision is left: none (``NONE_FOUND`` / ``FOUND`` are deterministic),
``NEEDS_JUDGEMENT`` (CIS asks a person, e.g. who may be cluster-admin, and no allow-list was
supplied), or ``NOT_READ`` (a list it needed failed; ``error`` names why, for an ERROR row).

Evidence is names, never content: ``namespace/name``, subject kind/name, a rule summary. No
object body, environment variable value or secret data is ever put here. Lists of names are
bounded (``BoundedNames``): the first ``limit`` in sorted order, plus the total count.
"""

from __future__ import annotations

import enum
import heapq
from collections.abc import Callable, Iterable
from dataclasses import dataclass

#: Names kept per list of offenders; the total is always counted.
DEFAULT_NAME_LIMIT = 20


@dataclass(frozen=True, slots=True)
class Names:
    """At most ``limit`` names in sorted order, and how many there were in all."""

    first: tuple[str, ...] = ()
    total: int = 0

    def __bool__(self) -> bool:
        return self.total > 0

    def describe(self) -> str:
        """``a, b, c`` or ``a, b, c and 17 more``."""
        shown = ", ".join(self.first)
        rest = self.total - len(self.first)
        return f"{shown} and {rest} more" if rest > 0 else shown


class BoundedNames:
    """Collects names while keeping only the ``limit`` smallest: memory is bounded by ``limit``.

    ``add`` counts every call; a name added twice is kept once among the first but counted
    twice, so callers that can repeat (one workload, many pods) de-duplicate before adding.
    Each kept name may carry a ``detail`` that ``freeze`` renders (an owner resolved at the end).
    """

    __slots__ = ("_heap", "_kept", "limit", "total")

    def __init__(self, limit: int = DEFAULT_NAME_LIMIT) -> None:
        self.limit = limit
        self.total = 0
        self._heap: list[_Reverse] = []  # max-heap of the kept names, by way of _Reverse
        self._kept: dict[str, object] = {}

    def add(self, name: str, detail: object = None) -> None:
        """Count ``name`` and keep it if it is among the ``limit`` smallest so far."""
        self.total += 1
        if name in self._kept or self.limit <= 0:
            return
        if len(self._heap) < self.limit:
            heapq.heappush(self._heap, _Reverse(name))
            self._kept[name] = detail
        elif name < self._heap[0].name:
            dropped = heapq.heapreplace(self._heap, _Reverse(name)).name
            del self._kept[dropped]
            self._kept[name] = detail

    def merge(self, other: BoundedNames) -> None:
        """Add ``other``'s kept names and count its total (both keep their smallest names)."""
        extra = other.total - len(other._kept)
        for name, detail in other._kept.items():
            self.add(name, detail)
        self.total += extra

    def kept(self) -> list[tuple[str, object]]:
        """The kept (name, detail) pairs, sorted by name."""
        return sorted(self._kept.items())

    def freeze(self, render: Callable[[str, object], str] | None = None) -> Names:
        """The kept names (rendered with their detail when ``render`` is given), sorted, and the total."""
        names = [render(n, d) if render else n for n, d in self.kept()]
        return Names(tuple(names), self.total)


@dataclass(frozen=True, slots=True)
class _Reverse:
    """A name ordered backwards, so ``heapq`` (a min-heap) keeps the largest kept name on top."""

    name: str

    def __lt__(self, other: _Reverse) -> bool:
        return self.name > other.name


def names_of(values: Iterable[str], limit: int = DEFAULT_NAME_LIMIT) -> Names:
    """``Names`` of strings the caller has already de-duplicated (a set, dict keys)."""
    collected = BoundedNames(limit)
    for value in values:
        collected.add(value)
    return collected.freeze()


class Finding(enum.StrEnum):
    """Which decision the facts leave to the integration (never a verdict by itself)."""

    NONE_FOUND = "none-found"  # nothing matched: the data was read and is clean
    FOUND = "found"  # offenders, and no judgement is needed to call them so
    NEEDS_JUDGEMENT = "needs-judgement"  # CIS asks a person; no allow-list was supplied
    NOT_READ = "not-read"  # a list this control needs could not be read (see error)


@dataclass(frozen=True, slots=True)
class ControlFacts:
    """Everything section 4 established for one control, by its CIS AKS 1.8 id."""

    control_id: str
    finding: Finding
    offenders: Names = Names()
    allowed: Names = Names()
    evidence: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    allow_list_supplied: bool | None = None  # None: this control takes no allow-list
    error: str = ""
    reads: tuple[str, ...] = ()  # the lists it was computed from (qualified resources)
