"""The ``--faults`` file: every entry is a fault that can fire in the estate, or a SettingsError
naming the entry and the field; never a traceback, never a fault that silently does nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.core.errors import SettingsError
from sim import Action, Endpoint, Fault, default_estate
from sim.demo import load_faults
from sim.fault_file import ONLY_ON, TARGETS
from tests.hypothesis_profiles import count, examples

pytestmark = pytest.mark.inputs

ESTATE = default_estate()
CLUSTERS = {c.name: c for _, c in ESTATE.clusters()}
NODES = {n.name: name for name, c in CLUSTERS.items() for n in c.nodes()}
SUBSCRIPTIONS = [s.id for s in ESTATE.subscriptions]
VALUES: dict[str, st.SearchStrategy[Any]] = {
    "endpoint": st.sampled_from([e.value for e in Endpoint])
    | st.sampled_from(["CONFIGZ", "kubelet", "", 1]),
    "action": st.sampled_from([a.value for a in Action])
    | st.sampled_from(["ERROR", "crash", None]),
    "status": st.integers(0, 700) | st.sampled_from(["503", 503.0, True, None]),
    "retry_after": st.integers(-1, 4000) | st.none() | st.just("1"),
    "cluster": st.sampled_from([*CLUSTERS, "aks-nope", "AKS-PROD-WEU", ""])
    | st.none()
    | st.just(5),
    "node": st.sampled_from([*NODES, "node-x"]) | st.none(),
    "stream": st.sampled_from(["Custom-KubeletFindings", "Custom-KubeletScanRuns", "Custom-Other"])
    | st.none(),
    "subscription": st.sampled_from(
        [*SUBSCRIPTIONS, SUBSCRIPTIONS[0].upper(), "00000000-0000-0000-0000-000000000000"]
    )
    | st.none(),
    "times": st.integers(-1, 3) | st.none() | st.just(1.5),
    "delay": st.floats(-1, 700) | st.integers(-1, 700) | st.just("x"),
    "body": st.text(max_size=10) | st.just(5),
    "content_type": st.text(max_size=10) | st.none(),
    "message": st.text(max_size=10),
    "chunk": st.integers(-1, 2 << 20) | st.just("16"),
    "statuss": st.just(503),
}
ENTRIES = st.fixed_dictionaries(
    {"endpoint": VALUES["endpoint"]},
    optional={key: value for key, value in VALUES.items() if key != "endpoint"},
)


def can_fire(entry: dict[str, Any]) -> bool:
    """The oracle: exact types and ranges, known names, targets and actions the endpoint has."""

    def exact(key: str, kind: type, low: float, high: float, *, nullable: bool = False) -> bool:
        value: Any = entry.get(key)
        if key not in entry or (nullable and value is None):
            return True
        types = (int, float) if kind is float else (kind,)
        return type(value) in types and bool(low <= value <= high)

    if set(entry) - (set(VALUES) - {"statuss"}):
        return False
    endpoint, action = entry["endpoint"], entry.get("action", "error")
    if endpoint not in {e.value for e in Endpoint} or action not in {a.value for a in Action}:
        return False
    numbers = (
        exact("status", int, 100, 599)
        and exact("retry_after", int, 0, 3600, nullable=True)
        and exact("times", int, 1, float("inf"), nullable=True)
        and exact("delay", float, 0, 600)
        and exact("chunk", int, 1, 1 << 20)
    )
    texts = all(
        type(entry.get(key, "")) is str for key in ("body", "content_type", "message")
    ) and all(
        entry.get(key) is None or type(entry[key]) is str
        for key in ("cluster", "node", "stream", "subscription")
    )
    if not (numbers and texts):
        return False
    targets = {k for k in ("cluster", "node", "stream", "subscription") if entry.get(k) is not None}
    if targets - TARGETS[Endpoint(endpoint)]:
        return False
    only = ONLY_ON.get(Action(action))
    if only is not None and endpoint not in {e.value for e in only}:
        return False
    cluster, node = entry.get("cluster"), entry.get("node")
    return (
        (cluster is None or cluster in CLUSTERS)
        and (node is None or (node in NODES and (cluster is None or NODES[node] == cluster)))
        and (entry.get("subscription") is None or entry["subscription"].lower() in SUBSCRIPTIONS)
        and (entry.get("stream") is None or entry["stream"] in ESTATE.dcr_streams)
    )


def loaded(tmp_path: Path, content: bytes) -> list[Fault] | str:
    path = tmp_path / "faults.json"
    path.write_bytes(content)
    try:
        return load_faults(str(path))
    except SettingsError as exc:
        message = str(exc)
        assert message.startswith(f"--faults {path}: "), message
        return message.removeprefix(f"--faults {path}: ")


class TestFaultFile:
    @examples(300)
    @given(entries=st.lists(ENTRIES, min_size=1, max_size=3))
    def test_each_entry_can_fire_or_is_named(self, tmp_path_factory, entries):
        """Each entry becomes a Fault only when it can fire in the demo estate; otherwise the error names its index."""
        count("faults")
        result = loaded(tmp_path_factory.mktemp("f"), json.dumps(entries).encode())
        bad = [i for i, entry in enumerate(entries) if not can_fire(entry)]
        if bad:
            assert isinstance(result, str)
            assert result.startswith(f"[{bad[0]}]"), result
        else:
            assert isinstance(result, list)
            assert [f.endpoint.value for f in result] == [e["endpoint"] for e in entries]

    @examples(150)
    @given(content=st.binary(max_size=100) | st.text(max_size=60).map(str.encode))
    def test_any_bytes_are_faults_or_a_settings_error(self, tmp_path_factory, content):
        """Arbitrary file contents: a list of faults, or a SettingsError naming --faults and the file."""
        count("faults")
        loaded(tmp_path_factory.mktemp("f"), content)


class TestRegressions:
    @pytest.mark.parametrize(
        ("entry", "message"),
        [
            (
                {"endpoint": "configz", "cluster": "aks-nope"},
                "[0]: cluster: 'aks-nope' is not a cluster of the estate",
            ),
            ({"endpoint": "configz", "times": 0}, "[0].times: must be an integer of at least 1"),
            (
                {"endpoint": "configz", "action": "delay", "delay": "x"},
                "[0].delay: must be seconds, 0-600",
            ),
            (
                {"endpoint": "configz", "status": "503"},
                "[0].status: must be an HTTP status, 100-599, got string",
            ),
            (
                {"endpoint": "token", "cluster": "aks-prod-weu"},
                "[0]: cluster: a token fault cannot target a cluster",
            ),
            (
                {"endpoint": "configz", "action": "wrong-ca"},
                "[0]: action: wrong-ca is a credentials fault only",
            ),
            ({"endpoint": "configz", "statuss": 403}, "[0].statuss: unknown key"),
        ],
        ids=[
            "unknown-cluster",
            "times-zero",
            "delay-text",
            "status-text",
            "token-target",
            "action-endpoint",
            "typo",
        ],
    )
    def test_entry_that_could_not_fire_is_named(self, tmp_path, entry, message):
        """An unknown cluster silently did nothing; times 0 was a traceback; a text delay made every configz a 500; now each names its field."""
        result = loaded(tmp_path, json.dumps([entry]).encode())
        assert isinstance(result, str)
        assert result.startswith(message), result

    def test_the_documented_example_loads(self, tmp_path):
        """docs/reliability.md's example file gives its two faults."""
        entries = [
            {
                "endpoint": "configz",
                "status": 403,
                "cluster": "aks-prod-weu",
                "node": "aks-user-93773898-vmss000000",
            },
            {"endpoint": "credentials", "action": "wrong-ca", "cluster": "aks-batch-neu"},
        ]
        result = loaded(tmp_path, json.dumps(entries).encode())
        assert isinstance(result, list)
        assert [(f.endpoint, f.action) for f in result] == [
            (Endpoint.CONFIGZ, Action.ERROR),
            (Endpoint.CREDENTIALS, Action.WRONG_CA),
        ]

    def test_not_a_list_is_named(self, tmp_path):
        """A JSON object instead of a list names the file."""
        assert loaded(tmp_path, b"{}") == "file: must be a JSON list of faults, got mapping"
