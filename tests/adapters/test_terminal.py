"""The terminal report at any width and any estate size."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from shared.adapters.output import output_sink
from shared.adapters.terminal import (
    EXEMPT_GLYPH,
    GLYPH,
    LEGEND,
    MATRIX_ALL_MAX,
    TableSink,
    common_prefix,
)
from shared.core.records import Finding
from tests.rows import cluster_rows, node_rows, row, run_for, sample_rows


def report(rows: list[Finding], width: int = 80, matrix: str = "auto") -> list[str]:
    stream = io.StringIO()
    sink = TableSink(Console(file=stream, width=width, color_system=None), matrix=matrix)
    sink.write_findings(rows)
    sink.write_run(run_for(rows))
    return stream.getvalue().splitlines()


def large_estate(nodes: int) -> list[Finding]:
    """``nodes`` nodes in one pool: all PASS but every tenth node, which fails 3.2.4."""
    rows: list[Finding] = []
    for i in range(nodes):
        failing = {"3.2.4": "FAIL"} if i % 10 == 0 else {}
        rows.extend(node_rows("aks-big", "user", f"aks-user-11112222-vmss{i:06d}", failing))
    return rows


def many_controls() -> list[Finding]:
    """One node with 45 controls in five sections (as when more sections are evaluated)."""
    return [
        row(f"{section}.{n}", "FAIL" if n == 3 else "PASS")
        for section in ("2.1", "3.1", "3.2", "4.1", "5.1")
        for n in range(1, 10)
    ]


class TestWidth:
    @pytest.mark.parametrize("width", [40, 60, 80, 120, 200], ids=lambda w: f"{w}-columns")
    def test_no_line_is_wider_than_the_console(self, width):
        """Every line fits the width, whatever the width."""
        lines = report(sample_rows(), width)
        assert max(len(line) for line in lines) <= width

    def test_statuses_are_never_truncated(self):
        """At 80 columns each cell is a whole one-letter code from the legend; no ellipsis anywhere."""
        text = "\n".join(report(sample_rows(), 80))
        assert "…" not in text
        assert "PA…" not in text
        assert "FA…" not in text
        assert set(GLYPH.values()) | {EXEMPT_GLYPH} <= set(text)
        assert " ".join(LEGEND.split()) in " ".join(text.split())

    def test_long_names_wrap_and_are_kept_whole(self):
        """A 70-character cluster name is wrapped, never cut: all of it is in the report."""
        name = "aks-" + "very-long-cluster-name-" * 3 + "weu"
        rows = node_rows(name, "system", "aks-system-1-vmss000000", {"3.2.1": "FAIL"})
        lines = report(rows, 40)
        assert max(len(line) for line in lines) <= 40
        assert name in "".join(line.strip() for line in lines)

    def test_many_controls_print_in_blocks_that_fit(self):
        """45 controls do not fit 80 columns: the matrix is printed in parts, each line fits."""
        lines = report(many_controls(), 80)
        assert max(len(line) for line in lines) <= 80
        parts = [line for line in lines if line.startswith("controls ")]
        assert len(parts) >= 2
        assert parts[0].startswith("controls 2.1.1 to")

    def test_table_width_comes_from_columns(self, monkeypatch):
        """Piped (no terminal), the table's width is COLUMNS."""
        monkeypatch.setenv("COLUMNS", "100")
        sink = output_sink("table", io.StringIO())
        assert isinstance(sink, TableSink)
        assert sink.width == 100


class TestMatrix:
    def test_pool_prefix_is_written_once(self):
        """Nodes of one pool are shown by what follows their common prefix, named in the heading."""
        lines = report(sample_rows())
        assert any("aks-a / system  (nodes aks-system-12345678-...)" in line for line in lines)
        assert any(line.startswith("  ...vmss000001") for line in lines)

    def test_cluster_level_target(self):
        """A target without a node is shown as (cluster) under its cluster."""
        lines = report(cluster_rows("aks-stopped", "SKIPPED", "stopped"))
        assert (
            "aks-stopped"
            in lines[lines.index(next(x for x in lines if x.startswith("  (cluster)"))) - 1]
        )

    @pytest.mark.parametrize(
        ("prefix_of", "expected"),
        [
            (["aks-cpu-1-vmss000000", "aks-cpu-1-vmss000001"], "aks-cpu-1-"),
            (["node-a", "other-b"], ""),
            (["only-one"], ""),
            (["ab-x", "ab-y"], ""),
        ],
        ids=["aks-pool", "nothing-common", "single-node", "too-short"],
    )
    def test_common_prefix(self, prefix_of, expected):
        """The prefix ends at a dash and is at least four characters; one node has none."""
        assert common_prefix(prefix_of) == expected

    def test_small_estate_shows_every_node(self):
        """Up to MATRIX_ALL_MAX nodes, auto shows every node, all-PASS ones too."""
        lines = report(large_estate(MATRIX_ALL_MAX))
        assert sum(1 for line in lines if line.startswith("  ...vmss")) == MATRIX_ALL_MAX
        assert not any(line.startswith("By cluster") for line in lines)

    def test_large_estate_summarises_and_shows_only_non_passing(self):
        """Above MATRIX_ALL_MAX, auto prints the summaries and only non-PASS nodes, identical ones on one line."""
        lines = report(large_estate(500))
        assert len(lines) < 80
        assert any(line.startswith("By cluster") for line in lines)
        assert any(line.startswith("By control") for line in lines)
        (collapsed,) = [line for line in lines if line.startswith("  ...vmss")]
        assert collapsed.startswith("  ...vmss000000 +49")
        assert "(450 all-PASS targets not shown; --matrix all shows every one)" in " ".join(
            " ".join(lines).split()
        )
        by_control = lines[next(i for i, x in enumerate(lines) if x.startswith("By control")) :]
        assert any(line.split()[:3] == ["3.2.4", "450", "50"] for line in by_control)

    def test_matrix_all_on_request(self):
        """--matrix all shows every node of a large estate."""
        lines = report(large_estate(60), matrix="all")
        assert sum(1 for line in lines if line.startswith("  ...vmss")) == 60

    def test_exempted_fail_has_its_own_code(self):
        """An exempted FAIL is x in the matrix, and its reason names the exemption."""
        text = "\n".join(report(sample_rows()))
        assert "exempt until 2027-03-31: GPU image; RISK-1" in " ".join(text.split())

    def test_unknown_mode_is_refused(self):
        """A matrix mode that does not exist is a ValueError naming it."""
        with pytest.raises(ValueError, match="sideways"):
            TableSink(Console(file=io.StringIO()), matrix="sideways")
