"""The selectable benchmarks, by name (CIS_BENCHMARK / --benchmark).

Apart from shared.core.controls (the table types), so that the tables import the types and this
module imports the tables, without a cycle.
"""

from __future__ import annotations

from shared.core.controls import Benchmark, cis_aks_18, cis_aks_versions, cis_k8s_112
from shared.core.errors import SettingsError


def _registry() -> dict[str, Benchmark]:
    """Selectable benchmarks by name; the first (cis-aks-1.8) is the default."""
    ordered = (cis_aks_18.BENCHMARK, *cis_aks_versions.BENCHMARKS, cis_k8s_112.BENCHMARK)
    return {b.name: b for b in ordered}


def benchmark_names() -> tuple[str, ...]:
    """Names accepted by CIS_BENCHMARK / --benchmark."""
    return tuple(_registry())


def get_benchmark(name: str) -> Benchmark:
    """The benchmark called ``name``; SettingsError naming the choices otherwise."""
    registry = _registry()
    try:
        return registry[name]
    except KeyError:
        choices = ", ".join(registry)
        raise SettingsError(
            f"CIS_BENCHMARK: unknown benchmark {name!r} (choose one of: {choices})"
        ) from None
