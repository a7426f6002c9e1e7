"""docs/reliability.md cannot drift from the fault matrix or the tests it cites."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.e2e.fault_matrix import CASES

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "reliability.md").read_text(encoding="utf-8")
CITED = sorted(set(re.findall(r"(tests/[\w/]+\.py)::([\w:]+)", DOC)))


class TestReliabilityDoc:
    @pytest.mark.parametrize("case_id", [c.id for c in CASES])
    def test_every_matrix_entry_has_a_row(self, case_id: str) -> None:
        """Each fault of the matrix is named (as `id`) in docs/reliability.md."""
        assert f"(`{case_id}`)" in DOC

    def test_matrix_ids_are_unique(self) -> None:
        """One entry per id, so a doc row cannot stand for two faults."""
        ids = [c.id for c in CASES]
        assert len(ids) == len(set(ids))

    @pytest.mark.parametrize(("path", "name"), CITED, ids=[f"{p}::{n}" for p, n in CITED])
    def test_cited_tests_exist(self, path: str, name: str) -> None:
        """Every test the doc cites (path::Class::test) is defined in that file."""
        source = (ROOT / path).read_text(encoding="utf-8")
        for part in name.split("::"):
            assert re.search(rf"^\s*(class|def) {re.escape(part)}\b", source, re.M), (path, part)
