"""What machine and software a benchmark ran on."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

RESULTS_EXCLUDED = ":(exclude)bench/results.json"
PACKAGES = (
    "httptools",
    "uvloop",
    "orjson",
    "azure-identity",
    "azure-core",
    "azure-mgmt-core",
    "azure-monitor-ingestion",
    "kubernetes",
)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_mb() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    except (OSError, ValueError):
        pass
    return None


def _git(root: Path, *args: str) -> str:
    try:
        result = subprocess.run(  # noqa: S603 - fixed argv
            ["git", *args],  # noqa: S607 - git from PATH, read-only query of this repository
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return result.stdout.strip() if result.returncode == 0 else ""


def describe(root: Path) -> dict[str, Any]:
    """Cores, CPU, memory, OS, Python and the versions of the packages on the hot path."""
    versions: dict[str, str] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        usable = os.cpu_count() or 0
    return {
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "cpu": _cpu_model(),
        "memory_mb": _memory_mb(),
        "os": platform.platform(),
        "python": sys.version.split()[0],
        "python_implementation": platform.python_implementation(),
        "packages": versions,
        "git_commit": _git(root, "rev-parse", "--short=12", "HEAD"),
        # The results file itself is rewritten by every run: it does not make the code dirty.
        "git_dirty": bool(
            _git(root, "status", "--porcelain", "--untracked-files=no", "--", ".", RESULTS_EXCLUDED)
        ),
    }
