"""Run a child process and measure it alone: wall time, CPU seconds and peak RSS.

``os.wait4`` returns the resource usage of exactly the child it reaped (with the children *it*
reaped, so a shell loop's measurements include every kubectl it ran), never the driver's or
the simulator's.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class Measured:
    """One finished child process."""

    argv: tuple[str, ...]
    returncode: int
    wall_seconds: float
    user_seconds: float
    system_seconds: float
    max_rss_mb: float
    stdout: str
    stderr_path: str

    @property
    def cpu_seconds(self) -> float:
        """User + system CPU."""
        return self.user_seconds + self.system_seconds

    def last_json(self) -> dict[str, Any]:
        """The last stdout line, parsed (the children print their report last)."""
        lines = [line for line in self.stdout.splitlines() if line.strip()]
        if self.returncode != 0 or not lines:
            tail = Path(self.stderr_path).read_text(encoding="utf-8", errors="replace")[-3000:]
            raise RuntimeError(
                f"{' '.join(self.argv[:4])} exited {self.returncode}; stderr ends:\n{tail}"
            )
        document: dict[str, Any] = json.loads(lines[-1])
        return document

    def summary(self) -> dict[str, Any]:
        """For the results file."""
        return {
            "wall_seconds": round(self.wall_seconds, 3),
            "cpu_seconds": round(self.cpu_seconds, 3),
            "user_seconds": round(self.user_seconds, 3),
            "system_seconds": round(self.system_seconds, 3),
            "max_rss_mb": round(self.max_rss_mb, 1),
            "returncode": self.returncode,
        }


def measure(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path,
    stderr_path: Path,
    timeout: float = 600.0,
) -> Measured:
    """Run ``argv`` to completion; stdout is kept, stderr goes to ``stderr_path``."""
    stderr_path.parent.mkdir(parents=True, exist_ok=True)
    with stderr_path.open("wb") as stderr:
        began = time.perf_counter()
        process = subprocess.Popen(  # noqa: S603 - fixed argv built by the benchmark
            list(argv),
            env=dict(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
        )
        assert process.stdout is not None  # noqa: S101 - stdout=PIPE
        watchdog = threading.Timer(timeout, process.kill)
        watchdog.start()
        try:
            # Read stdout to the end (the child closes it when it exits), then reap with wait4.
            output = process.stdout.read()
            _, status, usage = os.wait4(process.pid, 0)
            ended = time.perf_counter()
        finally:
            watchdog.cancel()
        process.returncode = os.waitstatus_to_exitcode(status)
        process.stdout.close()
    return Measured(
        argv=tuple(argv),
        returncode=process.returncode,
        wall_seconds=ended - began,
        user_seconds=usage.ru_utime,
        system_seconds=usage.ru_stime,
        max_rss_mb=usage.ru_maxrss / 1024.0,  # KiB on Linux
        stdout=output.decode("utf-8", errors="replace"),
        stderr_path=str(stderr_path),
    )
