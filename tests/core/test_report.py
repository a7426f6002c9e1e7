"""What the reports compute from rows: summaries, non-passing groups, exemptions."""

from __future__ import annotations

from shared.core.records import FINDING_COLUMNS
from shared.core.report import (
    NAMED_COLUMNS,
    by_cluster_and_section,
    exemptions,
    extra_columns,
    not_passing,
    section_of,
)
from tests.rows import row, sample_rows


class TestSections:
    def test_section_is_the_id_without_its_last_part(self):
        """3.2.1 is in 3.2; a one-part id is its own section."""
        assert (section_of("3.2.1"), section_of("4.1.10"), section_of("2")) == ("3.2", "4.1", "2")

    def test_summary_counts_each_cluster_and_section(self):
        """Targets and statuses are counted per cluster and section."""
        summary = {(s.cluster, s.section): s.tally for s in by_cluster_and_section(sample_rows())}
        a = summary[("aks-a", "3.2")]
        assert (a.targets, a.nodes, a.get("PASS"), a.get("FAIL"), a.get("ERROR")) == (
            3,
            3,
            17,
            1,
            9,
        )

    def test_subscription_rows_are_labelled(self):
        """A row with no cluster is labelled by its subscription."""
        rows = [row("3.2.1", "ERROR", cluster="", node="")]
        (summary,) = by_cluster_and_section(rows)
        assert summary.cluster.startswith("subscription ")


class TestGroups:
    def test_same_reason_nodes_share_a_group(self):
        """Two nodes failing a control for the same reason are one group naming both."""
        rows = [
            row("3.2.4", "FAIL", node="n1"),
            row("3.2.4", "FAIL", node="n2"),
            row("3.2.4", "PASS", node="n3"),
        ]
        (group,) = not_passing(rows)
        assert (group.nodes, group.scope, group.rows) == (("n1", "n2"), "2 nodes", 2)

    def test_a_differing_extra_column_splits_the_group(self):
        """Nodes whose extra columns differ (kubelet version) stay in separate groups."""
        rows = [
            row("3.2.4", "FAIL", node="n1"),
            row("3.2.4", "FAIL", node="n2", KubeletVersion="v1.30.0"),
        ]
        assert len(not_passing(rows)) == 2

    def test_extra_columns_are_the_unnamed_schema_columns(self):
        """Any finding column the reports do not name is carried as an extra column."""
        assert set(extra_columns()) == {n for n, _ in FINDING_COLUMNS} - NAMED_COLUMNS

    def test_exemptions_soonest_first(self):
        """Exempted groups are listed by expiry date."""
        rows = [
            row("3.2.1", "FAIL", Exempt=True, ExemptionExpires="2027-05-01", ExemptionReason="b"),
            row("3.2.2", "FAIL", Exempt=True, ExemptionExpires="2027-01-01", ExemptionReason="a"),
            row("3.2.3", "FAIL"),
        ]
        assert [g.exemption_expires for g in exemptions(rows)] == ["2027-01-01", "2027-05-01"]
