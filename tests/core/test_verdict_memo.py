"""The verdict memo: keyed by what the controls observe, so it is never wrong, and bounded."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.core.controls.registry import benchmark_names, get_benchmark
from shared.core.evaluate import MEMO_VALUE_LIMIT, VerdictMemo, evaluate
from shared.core.model import Policy, QpsMode

DATA = Path(__file__).resolve().parents[1] / "data" / "configz"
BASE = {
    "authentication": {"anonymous": {"enabled": False}, "x509": {"clientCAFile": "/ca.crt"}},
    "authorization": {"mode": "Webhook"},
    "eventRecordQPS": 0,
    "rotateCertificates": True,
    "serverTLSBootstrap": True,
    "providerID": "azure:///subscriptions/x/virtualMachineScaleSets/vmss/virtualMachines/0",
    "nodeIP": "10.224.0.4",
}


def real_configs() -> list[dict[str, Any]]:
    configs = []
    for path in sorted(DATA.glob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        configs.append(document.get("kubeletconfig", document))
    return configs


class Recording(Mapping[str, Any]):
    """A configz mapping that records every dotted path a check looked at."""

    def __init__(self, data: Mapping[str, Any], seen: set[str], prefix: str = "") -> None:
        self._data, self._seen, self._prefix = data, seen, prefix

    def _path(self, key: str) -> str:
        return f"{self._prefix}{key}"

    def __contains__(self, key: object) -> bool:
        self._seen.add(self._path(str(key)))
        return key in self._data

    def __getitem__(self, key: str) -> Any:
        self._seen.add(self._path(key))
        value = self._data[key]
        if isinstance(value, Mapping):
            return Recording(value, self._seen, f"{self._path(key)}.")
        return value

    def __iter__(self) -> Iterator[str]:
        self._seen.add(f"{self._prefix}*")  # a check that iterates reads every key
        return iter(self._data)

    def __len__(self) -> int:
        self._seen.add(f"{self._prefix}*")
        return len(self._data)


class TestDeclaredPaths:
    @pytest.mark.parametrize("name", benchmark_names())
    def test_every_check_reads_only_its_declared_paths(self, name):
        """What a node control reads is within its ``paths`` (and their prefixes): the memo keys on
        exactly those, so a check that read more could be served another node's verdict."""
        benchmark = get_benchmark(name)
        for config in [BASE, {}, *real_configs()]:
            for control in benchmark.node_controls:
                seen: set[str] = set()
                control.check(Recording(config, seen), Policy())
                allowed = {
                    ".".join(path.split(".")[: depth + 1])
                    for path in control.paths
                    for depth in range(len(path.split(".")))
                }
                assert seen <= allowed, (control.id, seen - allowed)


class TestMemo:
    def test_node_specific_fields_share_verdicts(self):
        """Two nodes that differ only outside the controls' paths: one evaluation."""
        memo = VerdictMemo(get_benchmark("cis-aks-1.8"), Policy())
        other = {**BASE, "nodeIP": "10.224.0.5", "providerID": "azure:///other"}
        first, second = memo(BASE), memo(other)
        assert second is first
        assert (memo.hits, memo.misses) == (1, 1)

    @pytest.mark.parametrize(
        ("path", "a", "b"),
        [
            pytest.param("readOnlyPort", 0, False, id="zero-vs-false"),
            pytest.param("readOnlyPort", 1, True, id="one-vs-true"),
            pytest.param("eventRecordQPS", 5, 5.0, id="int-vs-float"),
            pytest.param("eventRecordQPS", 5, "5", id="int-vs-string"),
            pytest.param("rotateCertificates", None, False, id="null-vs-false"),
            pytest.param("authentication", {"anonymous": None}, [], id="object-vs-list"),
        ],
    )
    def test_values_that_only_look_alike_never_share_verdicts(self, path, a, b):
        """Python's 1 == True == 1.0 must not make a wrong hit: each gets its own evaluation."""
        benchmark = get_benchmark("cis-aks-1.8")
        memo = VerdictMemo(benchmark, Policy())
        for value in (a, b):
            config = {**copy.deepcopy(BASE), path: value}
            assert memo(config) == evaluate(config, benchmark, Policy())
        assert memo.hits == 0

    def test_absent_and_null_inside_a_path_are_the_same_observation(self):
        """``authentication: null`` and no ``authentication`` read alike to every check."""
        benchmark = get_benchmark("cis-aks-1.8")
        memo = VerdictMemo(benchmark, Policy())
        without = {k: v for k, v in BASE.items() if k != "authentication"}
        assert memo(without) == evaluate(without, benchmark, Policy())
        nulled = {**without, "authentication": None}
        assert memo(nulled) == evaluate(nulled, benchmark, Policy())

    def test_the_memo_is_bounded(self):
        """Past max_entries the oldest key goes; large values are never keys."""
        memo = VerdictMemo(get_benchmark("cis-aks-1.8"), Policy(), max_entries=3)
        for qps in range(10):
            memo({**BASE, "eventRecordQPS": qps})
        assert len(memo._memo) == 3
        big = {**BASE, "authorization": {"mode": "x" * (MEMO_VALUE_LIMIT + 1)}}
        assert memo.key(big) is None
        memo(big)
        assert len(memo._memo) == 3

    @pytest.mark.parametrize("name", benchmark_names())
    def test_real_configs_get_the_verdicts_evaluate_gives(self, name):
        """Every public configz sample, twice through the memo: evaluate's verdicts each time."""
        benchmark = get_benchmark(name)
        policy = Policy(event_record_qps_mode=QpsMode.ZERO_ONLY)
        memo = VerdictMemo(benchmark, policy)
        for config in real_configs() * 2:
            assert memo(config) == evaluate(config, benchmark, policy)


KEYS = st.sampled_from(
    [
        "authentication",
        "anonymous",
        "enabled",
        "x509",
        "clientCAFile",
        "authorization",
        "mode",
        "readOnlyPort",
        "eventRecordQPS",
        "rotateCertificates",
        "featureGates",
        "RotateKubeletServerCertificate",
        "serverTLSBootstrap",
        "nodeIP",
        "tlsCipherSuites",
    ]
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.sampled_from([0.0, 1.0, -0.0])
    | st.sampled_from(["", "0s", "Webhook", "AlwaysAllow", "x"])
)
VALUES: st.SearchStrategy[Any] = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=12,
)


class TestMemoProperty:
    @settings(max_examples=300, deadline=None)
    @given(configs=st.lists(st.dictionaries(KEYS, VALUES, max_size=8), min_size=2, max_size=6))
    def test_a_memo_shared_by_many_nodes_always_agrees_with_evaluate(self, configs):
        """Whatever the nodes hold, the memo's verdicts are evaluate's, for every benchmark."""
        for name in ("cis-aks-1.8", "cis-k8s-1.12"):
            benchmark = get_benchmark(name)
            memo = VerdictMemo(benchmark, Policy())
            for config in configs:
                assert memo(config) == evaluate(config, benchmark, Policy())
