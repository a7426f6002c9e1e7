"""The node-pool view: status counts per control and drifted nodes."""

from __future__ import annotations

from typing import Any

from shared.core.pools import Drift, summarize
from shared.core.records import FINDING_COLUMNS, Finding


def row(node: str, control: str, status: str, actual: str, pool: str = "system") -> Finding:
    values: dict[str, Any] = {name: "" for name, _ in FINDING_COLUMNS}
    values.update(
        Level=1,
        Exempt=False,
        ClusterId="/c",
        ClusterName="c",
        NodePool=pool,
        NodeName=node,
        ControlId=control,
        Status=status,
        Actual=actual,
    )
    return Finding(**values)


class TestSummarize:
    def test_minority_value_is_named_as_drift(self):
        """Two nodes say 0, one says 10: the one is drifted, with the pool's value."""
        rows = [
            row("a", "3.2.7", "PASS", "0"),
            row("b", "3.2.7", "PASS", "0"),
            row("c", "3.2.7", "PASS", "10"),
        ]
        (summary,) = summarize(rows)
        assert summary.drift == (Drift("c", "3.2.7", "10", "0"),)
        assert summary.counts == {"3.2.7": {"PASS": 3}}
        assert summary.nodes == 3

    def test_uniform_pool_has_no_drift(self):
        """Equal values everywhere: nothing drifted, nothing split."""
        rows = [row(n, "3.2.4", "FAIL", "10255") for n in "abc"]
        (summary,) = summarize(rows)
        assert (summary.drift, summary.split) == ((), ())

    def test_tie_is_split_not_guessed(self):
        """One node each way: no majority, reported as split."""
        (summary,) = summarize([row("a", "3.2.4", "PASS", "0"), row("b", "3.2.4", "FAIL", "10255")])
        assert summary.drift == ()
        assert summary.split == ("3.2.4",)

    def test_unread_nodes_do_not_drift(self):
        """An ERROR row (configz not read) is counted but never called drift."""
        rows = [
            row("a", "3.2.7", "PASS", "0"),
            row("b", "3.2.7", "PASS", "0"),
            row("c", "3.2.7", "ERROR", ""),
        ]
        (summary,) = summarize(rows)
        assert summary.drift == ()
        assert summary.counts["3.2.7"] == {"PASS": 2, "ERROR": 1}

    def test_pools_are_separate_and_cluster_rows_ignored(self):
        """Each pool is judged against itself; rows without a node are not part of any pool."""
        rows = [
            row("a", "3.2.7", "PASS", "0", "p1"),
            row("b", "3.2.7", "PASS", "50", "p2"),
            row("", "3.2.7", "ERROR", "", ""),
        ]
        assert [(s.pool, s.drift) for s in summarize(rows)] == [("p1", ()), ("p2", ())]
