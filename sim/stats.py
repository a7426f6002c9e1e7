"""Request counters: how many calls each endpoint answered, per cluster and status code, and
the most requests of an endpoint that were in flight at once (per cluster and in total).

Peaks are this process's: exact for servers in the test process (``processes=1``, the default);
worker processes' peaks are not merged.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping


class Counters:
    """Thread-safe counts keyed by (endpoint, cluster, status)."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str, int], int] = {}
        self._lock = threading.Lock()
        self._in_flight: dict[tuple[str, str], int] = {}
        self._peaks: dict[tuple[str, str], int] = {}

    def enter(self, endpoint: str, cluster: str) -> None:
        """One more request of ``endpoint`` in flight (for ``cluster`` and in total)."""
        with self._lock:
            for key in ((str(endpoint), cluster), (str(endpoint), "")):
                self._in_flight[key] = self._in_flight.get(key, 0) + 1
                self._peaks[key] = max(self._peaks.get(key, 0), self._in_flight[key])

    def leave(self, endpoint: str, cluster: str) -> None:
        """That request was answered."""
        with self._lock:
            for key in ((str(endpoint), cluster), (str(endpoint), "")):
                self._in_flight[key] -= 1

    def peak(self, endpoint: str, cluster: str = "") -> int:
        """The most ``endpoint`` requests in flight at once for ``cluster`` ("" : all clusters)."""
        with self._lock:
            return self._peaks.get((str(endpoint), cluster), 0)

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
        """Forget every count and peak."""
        with self._lock:
            self._counts.clear()
            self._peaks.clear()
