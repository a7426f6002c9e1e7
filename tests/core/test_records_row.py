"""Record rows: every column, in schema order, with the field's own value."""

from __future__ import annotations

import dataclasses

from shared.core.records import FINDING_COLUMNS, RUN_COLUMNS, Finding, RunRecord


def _finding() -> Finding:
    values: list[object] = [f"v{i}" for i in range(len(FINDING_COLUMNS))]
    values[6] = 2  # Level
    values[20] = True  # Exempt
    return Finding(*values)  # type: ignore[arg-type]


class TestRow:
    def test_finding_row_is_the_flat_dict_of_its_fields(self):
        """Finding.row() equals dataclasses.asdict: every column, in order, same values."""
        finding = _finding()
        row = finding.row()
        assert row == dataclasses.asdict(finding)
        assert list(row) == [name for name, _ in FINDING_COLUMNS]

    def test_run_row_is_the_flat_dict_of_its_fields(self):
        """RunRecord.row() equals dataclasses.asdict, in schema order."""
        record = RunRecord(*[f"r{i}" for i in range(len(RUN_COLUMNS))])  # type: ignore[arg-type]
        row = record.row()
        assert row == dataclasses.asdict(record)
        assert list(row) == [name for name, _ in RUN_COLUMNS]

    def test_rows_are_independent_copies(self):
        """Changing a returned row does not change the record or the next row."""
        finding = _finding()
        first = finding.row()
        first["Status"] = "changed"
        assert finding.row()["Status"] == "v7"
