"""A first-class fake of the paged list reader (``shared.core.k8s_lists.ListReader``).

It serves pages from plain dicts and keeps the reader contract the way a real one must, so the
evaluators are tested through the same behaviour they will see from the API server:

* ``limit``-sized pages, in the order given, each a ``Page`` of the items;
* ``expire``: the continue token of that list expires after the given page number (410 Gone);
  the fake restarts the list once and marks the first page of the new pass ``restarted``; a
  list set to expire twice raises ``ListExpiredError`` (the second 410);
* ``deny``: a 403, raised as ``ListDeniedError`` naming the missing permission, worded as the
  apiserver's RBAC denial (``pods is forbidden: User "..." cannot list resource "pods" in API
  group "" at the cluster scope``);
* lists it does not hold answer 404 (``ListNotServedError``), as a server without that CRD does.

``served`` counts what was handed out, so a test can check that a restart re-read the list.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.core.errors import ListDeniedError, ListExpiredError, ListNotServedError
from shared.core.k8s_lists import ListRef, Page

SCANNER = "0e9d8c7b-6a5f-4e3d-9c2b-1a0f9e8d7c6b"


@dataclass
class FakeListReader:
    """Serves ``lists[ref]`` in pages of ``limit``; see the module docstring."""

    lists: Mapping[ListRef, Sequence[Mapping[str, Any]]]
    limit: int = 2
    expire: Mapping[ListRef, Sequence[int]] = field(default_factory=dict)
    deny: frozenset[ListRef] = frozenset()
    user: str = SCANNER
    served: dict[ListRef, int] = field(default_factory=dict)
    requests: dict[ListRef, int] = field(default_factory=dict)

    def pages(self, ref: ListRef) -> Iterator[Page]:
        """The pages of ``ref``, restarting once on an expired continue token."""
        if ref in self.deny:
            self._count(ref)
            scope = (
                f'in the namespace "{ref.namespace}"' if ref.namespace else "at the cluster scope"
            )
            raise ListDeniedError(
                f'{ref.qualified} is forbidden: User "{self.user}" cannot list resource '
                f'"{ref.resource}" in API group "{ref.group}" {scope}',
                ref.qualified,
                ref.permission,
            )
        if ref not in self.lists:
            self._count(ref)
            raise ListNotServedError(
                f"{ref.path}: the server could not find the requested resource (404)", ref.qualified
            )
        items = list(self.lists[ref])
        expiries = list(self.expire.get(ref, ()))
        restarted = False
        while True:
            expired = yield from self._pass(
                ref, items, expiries[0] if expiries else None, restarted
            )
            if not expired:
                return
            expiries.pop(0)
            if restarted:
                raise ListExpiredError(
                    f"{ref.qualified}: the continue token expired (410 Gone) again after the list "
                    "was restarted once",
                    ref.qualified,
                )
            restarted = True

    def _pass(
        self,
        ref: ListRef,
        items: list[Mapping[str, Any]],
        expire_after: int | None,
        restarted: bool,
    ) -> Generator[Page, None, bool]:
        """One pass from the start; returns True when the token expired mid-way."""
        size = max(1, self.limit)
        chunks = [items[i : i + size] for i in range(0, len(items), size)] or [[]]
        for number, chunk in enumerate(chunks, start=1):
            if expire_after is not None and number == expire_after + 1:
                self._count(ref)
                return True  # this continue request answered 410
            self._count(ref)
            self.served[ref] = self.served.get(ref, 0) + len(chunk)
            yield Page(ref, tuple(chunk), restarted=restarted and number == 1)
        return False

    def _count(self, ref: ListRef) -> None:
        self.requests[ref] = self.requests.get(ref, 0) + 1


@dataclass
class AsyncFakeListReader:
    """``FakeListReader`` behind the ``AsyncListReader`` protocol."""

    sync: FakeListReader

    async def pages(self, ref: ListRef) -> AsyncIterator[Page]:
        """The same pages, asynchronously."""
        for page in self.sync.pages(ref):
            yield page
