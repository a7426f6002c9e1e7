"""The CI gate: which clusters a scan reached, and which rows fail --fail-on."""

from __future__ import annotations

import pytest

from shared.core.gate import GateTally, parse_fail_on
from tests.rows import cluster_rows, node_rows, row


def tally(rows):
    gate = GateTally()
    gate.write_findings(rows)
    return gate


class TestReached:
    def test_a_cluster_with_a_judged_row_is_reached(self):
        """One PASS or FAIL row makes its cluster reached."""
        gate = tally(node_rows("aks-a", "p", "n1", {"3.2.1": "FAIL"}))
        assert len(gate.reached) == 1

    @pytest.mark.parametrize(
        "rows",
        [
            [],
            cluster_rows("aks-a", "ERROR", "refused"),
            cluster_rows("aks-a", "SKIPPED", "stopped"),
            node_rows(
                "aks-a",
                "p",
                "n1",
                dict.fromkeys(
                    (
                        "3.2.1",
                        "3.2.2",
                        "3.2.3",
                        "3.2.4",
                        "3.2.5",
                        "3.2.6",
                        "3.2.7",
                        "3.2.8",
                        "3.2.9",
                    ),
                    "ERROR",
                ),
            ),
        ],
        ids=["no-cluster", "cluster-error", "stopped", "every-node-unreadable"],
    )
    def test_nothing_judged_is_nothing_reached(self, rows):
        """No cluster, or only ERROR/SKIPPED rows: no cluster reached."""
        assert tally(rows).reached == set()


class TestFailing:
    def test_exempted_fail_does_not_count(self):
        """An exempted FAIL is counted apart and never fails the gate."""
        gate = tally(
            [row("3.2.1", "FAIL", Exempt=True), row("3.2.2", "FAIL"), row("3.2.3", "ERROR")]
        )
        assert gate.failing(frozenset({"FAIL"})) == 1
        assert gate.failing(frozenset({"FAIL", "ERROR"})) == 2
        assert gate.failing(frozenset()) == 0
        assert gate.exempt == 1


class TestParseFailOn:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [("FAIL", {"FAIL"}), ("fail,error", {"FAIL", "ERROR"}), (" ERROR ", {"ERROR"})],
        ids=["fail", "both-lower-case", "spaces"],
    )
    def test_accepted(self, text, expected):
        """FAIL, ERROR or both, in any case."""
        assert parse_fail_on(text) == expected

    @pytest.mark.parametrize(
        "text",
        ["", "PASS", "FAIL,", "FAIL;ERROR", "\x00"],
        ids=["empty", "pass", "trailing-comma", "semicolon", "nul"],
    )
    def test_refused(self, text):
        """Anything else is a ValueError saying what is accepted."""
        with pytest.raises(ValueError, match="FAIL"):
            parse_fail_on(text)
