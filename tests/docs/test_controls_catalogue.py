"""docs/controls/ is the control tables rendered: regenerate with `make controls-docs`."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.core.catalogue import pages
from shared.core.controls.registry import get_benchmark

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "controls"
PAGES = pages()


class TestCatalogue:
    def test_no_page_missing_or_extra(self):
        """One page per control of cis-aks-1.8 plus the index; nothing else in the folder."""
        assert sorted(p.name for p in DOCS.glob("*.md")) == sorted(PAGES)

    @pytest.mark.parametrize("name", sorted(PAGES))
    def test_page_is_current(self, name):
        """The file equals what the tables render (run `make controls-docs` after a change)."""
        assert (DOCS / name).read_text(encoding="utf-8") == PAGES[name], (
            f"docs/controls/{name} is stale: run make controls-docs"
        )

    @pytest.mark.parametrize("control", get_benchmark("cis-aks-1.8").controls, ids=lambda c: c.id)
    def test_page_has_the_catalogue_shape(self, control):
        """Front matter (id, level, section, scope, data source), synopsis, description,
        recommendation, versions and links, each non-empty."""
        text = PAGES[f"{control.id}.md"]
        front, body = text.split("\n---\n", 1)
        for key in ("id:", "level:", "section:", "scope:", "data source:"):
            assert key in front, key
        for heading in (
            "## Synopsis",
            "## Description",
            "## Recommendation",
            "## In each benchmark version",
            "## Links",
        ):
            section = body.split(heading, 1)[1].split("\n## ", 1)[0].strip()
            assert section, (control.id, heading)
        assert control.remediation in body
