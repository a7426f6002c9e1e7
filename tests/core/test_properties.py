"""Hostile input: arbitrary JSON never crashes parsing or evaluation, and never invents a PASS."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.core.controls.configz import parse_configz
from shared.core.controls.registry import get_benchmark
from shared.core.errors import ConfigzParseError
from shared.core.evaluate import evaluate
from shared.core.model import Policy, Status
from shared.entrypoints.messages import BadInputError, ClusterMessage, parse_scan_request

BENCH = get_benchmark("cis-aks-1.8")
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
        "streamingConnectionIdleTimeout",
        "makeIPTablesUtilChains",
        "eventRecordQPS",
        "rotateCertificates",
        "featureGates",
        "RotateKubeletServerCertificate",
        "serverTLSBootstrap",
    ]
) | st.text(max_size=8)
SCALARS = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12)
)
JSON: st.SearchStrategy[Any] = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=6),
    max_leaves=30,
)


class TestEvaluateNeverCrashes:
    @settings(max_examples=400, deadline=None)
    @given(config=st.dictionaries(KEYS, JSON, max_size=10))
    def test_any_object_gives_one_closed_status_per_control(self, config):
        """Any kubeletconfig object yields exactly one verdict per control, from the closed set."""
        verdicts = evaluate(config, BENCH, Policy())
        assert [v.control_id for v in verdicts] == [c.id for c in BENCH.node_controls]
        assert {v.status for v in verdicts} <= {Status.PASS, Status.FAIL, Status.ERROR}

    @settings(max_examples=300, deadline=None)
    @given(document=JSON)
    def test_any_json_body_parses_or_raises_our_error(self, document):
        """Any JSON body is either a kubeletconfig mapping or a ConfigzParseError."""
        body = json.dumps({"kubeletconfig": document}).encode()
        try:
            config = parse_configz(body)
        except ConfigzParseError:
            assert not isinstance(document, dict)
            return
        assert isinstance(config, dict)

    @settings(max_examples=200, deadline=None)
    @given(raw=st.binary(max_size=200))
    def test_any_bytes_parse_or_raise_our_error(self, raw):
        """Arbitrary bytes never raise anything but ConfigzParseError."""
        try:
            config = parse_configz(raw)
        except ConfigzParseError:
            return
        assert isinstance(config, dict)

    @settings(max_examples=200, deadline=None)
    @given(value=SCALARS | st.lists(SCALARS, max_size=2))
    def test_wrong_types_never_pass(self, value):
        """A non-integer eventRecordQPS is never PASS (it is ERROR)."""
        if isinstance(value, int) and not isinstance(value, bool):
            return
        (verdict,) = [
            v
            for v in evaluate({"eventRecordQPS": value}, BENCH, Policy())
            if v.control_id == "3.2.7"
        ]
        assert verdict.status is (Status.PASS if value is None else Status.ERROR)


class TestInputsThatAreNotOurs:
    @settings(max_examples=300, deadline=None)
    @given(document=JSON)
    def test_scan_request_accepts_or_names_a_field(self, document):
        """Any JSON body is a valid request or a BadInputError naming a field."""
        field = "(accepted)"
        try:
            parse_scan_request(json.dumps(document).encode())
        except BadInputError as exc:
            field = exc.field
        assert field

    @settings(max_examples=300, deadline=None)
    @given(document=JSON)
    def test_queue_message_accepts_or_names_a_field(self, document):
        """Any queue message text is a ClusterMessage or a BadInputError naming a field."""
        field = "(accepted)"
        try:
            ClusterMessage.parse(json.dumps(document))
        except BadInputError as exc:
            field = exc.field
        assert field
