"""Request counters: how many calls each endpoint answered, per cluster and status code."""

from __future__ import annotations

import threading
from collections.abc import Mapping


class Counters:
    """Thread-safe counts keyed by (endpoint, cluster, status)."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str, int], int] = {}
        self._lock = threading.Lock()

    def add(self, endpoint: str, cluster: str, status: int, n: int = 1) -> None:
        """Count ``n`` answers."""
        key = (str(endpoint), cluster, status)
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + n

    def count(
        self, endpoint: str | None = None, *, cluster: str | None = None, status: int | None = None
    ) -> int:
        """Answers matching every given coordinate (``None``: any)."""
        with self._lock:
            items = list(self._counts.items())
        return sum(
            n
            for (e, c, s), n in items
            if (endpoint is None or e == str(endpoint))
            and (cluster is None or c == cluster)
            and (status is None or s == status)
        )

    def snapshot(self) -> dict[str, int]:
        """``{"endpoint|cluster|status": n}``: JSON-friendly, mergeable across processes."""
        with self._lock:
            return {f"{e}|{c}|{s}": n for (e, c, s), n in self._counts.items()}

    def merge(self, snapshot: Mapping[str, int]) -> None:
        """Add another process's snapshot."""
        for key, n in snapshot.items():
            endpoint, cluster, status = key.split("|")
            self.add(endpoint, cluster, int(status), n)

    def reset(self) -> None:
        """Forget every count."""
        with self._lock:
            self._counts.clear()
