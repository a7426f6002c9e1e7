"""Start ``bench.estate_server`` in its own process and talk to it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any


@dataclass(frozen=True, slots=True)
class EstateShape:
    """A generated estate: ``clusters`` clusters of ``nodes_per_cluster`` nodes, and latencies.

    ``pods_per_cluster`` > 0: each cluster also runs that many pods in ``namespaces`` namespaces
    (``sim.demo_workloads.scaled``, generated page by page as the lists are served); 0: only
    what every simulated cluster has (bootstrap RBAC, AKS objects, kube-system).
    """

    clusters: int
    nodes_per_cluster: int
    configz_ms: float
    list_ms: float
    arm_ms: float
    subscriptions: int = 4
    pods_per_cluster: int = 0
    namespaces: int = 50

    @property
    def nodes(self) -> int:
        """Nodes in the estate."""
        return self.clusters * self.nodes_per_cluster

    def label(self) -> str:
        """``100 x 100``, ``1 x 5000 + 100,000 pods``."""
        pods = f" + {self.pods_per_cluster:,} pods" if self.pods_per_cluster else ""
        return f"{self.clusters} x {self.nodes_per_cluster}{pods}"


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the estate answered so far."""

    counters: Counter[str]
    accepted: Counter[str]
    cpu_seconds: float

    @classmethod
    def parse(cls, document: Mapping[str, Any]) -> Snapshot:
        """From the server's JSON answer."""
        return cls(
            Counter({str(k): int(v) for k, v in document["counters"].items()}),
            Counter({str(k): int(v) for k, v in document["accepted"].items()}),
            float(document["cpu_seconds"]),
        )

    def since(self, before: Snapshot) -> Snapshot:
        """The difference: what happened between ``before`` and this snapshot."""
        counters = Counter(self.counters)
        counters.subtract(before.counters)
        accepted = Counter(self.accepted)
        accepted.subtract(before.accepted)
        return Snapshot(+counters, +accepted, round(self.cpu_seconds - before.cpu_seconds, 3))

    def count(self, endpoint: str | None = None, status: int | None = None) -> int:
        """Answers of ``endpoint`` (any: None) with ``status`` (any: None)."""
        total = 0
        for key, n in self.counters.items():
            name, _, code = key.split("|")
            if (endpoint is None or name == endpoint) and (status is None or int(code) == status):
                total += n
        return total

    def failures(self) -> dict[str, int]:
        """Answers with a status of 400 or more, by ``endpoint|status``."""
        bad: Counter[str] = Counter()
        for key, n in self.counters.items():
            name, _, code = key.split("|")
            if int(code) >= 400:
                bad[f"{name}|{code}"] += n
        return dict(bad)


class EstateProcess:
    """The simulated estate, running in a child process until ``stop``."""

    def __init__(
        self, shape: EstateShape, *, root: Path, log_path: Path, processes: int = 1
    ) -> None:
        self.shape = shape
        self._log_path = log_path
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log: IO[bytes] = log_path.open("wb")
        self._process = subprocess.Popen(  # noqa: S603 - fixed argv
            [
                sys.executable,
                "-m",
                "bench.estate_server",
                "--clusters",
                str(shape.clusters),
                "--nodes-per-cluster",
                str(shape.nodes_per_cluster),
                "--subscriptions",
                str(shape.subscriptions),
                "--configz-latency-ms",
                str(shape.configz_ms),
                "--list-latency-ms",
                str(shape.list_ms),
                "--arm-latency-ms",
                str(shape.arm_ms),
                "--processes",
                str(processes),
                "--pods-per-cluster",
                str(shape.pods_per_cluster),
                "--namespaces",
                str(shape.namespaces),
            ],
            cwd=root,
            env={**os.environ, "PYTHONPATH": str(root)},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )
        ready = self._read()
        self.env: dict[str, str] = dict(ready["env"])
        self.clusters: list[dict[str, Any]] = list(ready["clusters"])
        self.nodes = int(ready["nodes"])
        self.pid = int(ready["pid"])

    def _read(self) -> dict[str, Any]:
        assert self._process.stdout is not None  # noqa: S101 - stdout=PIPE
        line = self._process.stdout.readline()
        if not line:
            self._process.wait(timeout=30)
            tail = self._log_path.read_text(encoding="utf-8", errors="replace")[-3000:]
            raise RuntimeError(f"the simulated estate exited early; its log ends:\n{tail}")
        document: dict[str, Any] = json.loads(line)
        return document

    def _send(self, command: str) -> None:
        assert self._process.stdin is not None  # noqa: S101 - stdin=PIPE
        self._process.stdin.write(command + "\n")
        self._process.stdin.flush()

    def snapshot(self) -> Snapshot:
        """Counters, accepted rows and CPU so far."""
        self._send("stats")
        return Snapshot.parse(self._read())

    def stop(self) -> Snapshot | None:
        """Stop the estate; its last snapshot (None if it had already gone)."""
        if self._process.poll() is not None:
            self._close()
            return None
        try:
            self._send("stop")
            final = Snapshot.parse(self._read())
        except (OSError, ValueError, RuntimeError):
            final = None
        try:
            self._process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=30)
        self._close()
        return final

    def _close(self) -> None:
        for stream in (self._process.stdin, self._process.stdout):
            if stream is not None:
                stream.close()
        self._log.close()

    def __enter__(self) -> EstateProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
