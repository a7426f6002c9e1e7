"""The HTML report: self-contained, escaped, and read back from what headless Chromium rendered."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser

import pytest

from shared.adapters.html_report import HtmlSink, render_html
from tests.rows import HOSTILE, RUN_ID, run_for, sample_rows

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def chromium() -> str:
    """Debian's Chromium: $CHROMIUM (make test sets it from .ci/debian_chromium.sh) or on PATH."""
    found = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("chromium is missing: make test installs it (.ci/debian_chromium.sh)")
    pytest.skip("chromium is missing: run `bash .ci/debian_chromium.sh` (make test does)")


class Page(HTMLParser):
    """What a reader sees: headings, tables (rows of cell texts), every element and the text."""

    def __init__(self, markup: str) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str, str | None]] = []
        self.headings: list[str] = []
        self.tables: list[list[list[str]]] = []
        self.text: list[str] = []
        self._heading: list[str] | None = None
        self._cell: list[str] | None = None
        self.feed(markup)

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes.extend((tag, k, v) for k, v in attrs)
        if tag in ("h2", "h3"):
            self._heading = []
        elif tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("h2", "h3") and self._heading is not None:
            self.headings.append("".join(self._heading).strip())
            self._heading = None
        elif tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data):
        self.text.append(data)
        if self._heading is not None:
            self._heading.append(data)
        if self._cell is not None:
            self._cell.append(data)

    def table_after(self, heading: str) -> list[list[str]]:
        """The first table whose header row starts with ``heading``."""
        return next(t for t in self.tables if t and t[0] and t[0][0] == heading)


def render() -> str:
    rows = sample_rows()
    stream = io.StringIO()
    sink = HtmlSink(stream)
    sink.write_findings(rows)
    sink.write_run(run_for(rows))
    return stream.getvalue()


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Page:
    """The report as Chromium's DOM after loading the file (--dump-dom)."""
    folder = tmp_path_factory.mktemp("html")
    page = folder / "report.html"
    page.write_text(render(), encoding="utf-8")
    out = subprocess.run(
        [
            chromium(),
            *CHROMIUM_FLAGS,
            f"--user-data-dir={folder / 'profile'}",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "<html" in out.stdout, out.stderr[-2000:]
    return Page(out.stdout)


class TestSelfContained:
    def test_no_script_and_no_external_resource(self):
        """The page has no script and loads nothing: no src, no stylesheet link, no url()."""
        page = Page(render())
        assert "script" not in page.tags
        assert not [a for a in page.attributes if a[1] in ("src", "href")]
        assert "url(" not in render()

    def test_content_security_policy_forbids_everything_but_inline_style(self):
        """A CSP meta element allows nothing but the inline style sheet."""
        assert (
            '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
            "style-src 'unsafe-inline'\">"
        ) in render()

    def test_hostile_values_are_escaped(self):
        """A row value with markup is written as escaped text and never becomes an element."""
        markup = render()
        assert HOSTILE not in markup
        assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;amp;" in markup
        page = Page(markup)
        assert "img" not in page.tags
        assert HOSTILE in "".join(page.text)


class TestRenderedInChromium:
    def test_sections_in_order(self, rendered):
        """Chromium shows the summary, the non-passing rows, the exemptions and the run record."""
        h2 = [
            h
            for h in rendered.headings
            if h in ("Summary by cluster and section", "Not passing", "Exemptions", "Run record")
        ]
        assert h2 == ["Summary by cluster and section", "Not passing", "Exemptions", "Run record"]

    def test_summary_by_cluster_and_section(self, rendered):
        """One summary line per cluster and section with its counts."""
        table = rendered.table_after("Cluster")
        assert table[0][:8] == [
            "Cluster",
            "Section",
            "Targets",
            "PASS",
            "FAIL",
            "ERROR",
            "SKIPPED",
            "MANUAL",
        ]
        by_cluster = {r[0]: r for r in table[1:]}
        assert by_cluster["aks-a"][1:8] == ["3.2", "3", "17", "1", "9", "0", "0"]
        assert by_cluster["aks-stopped"][1:8] == ["3.2", "1", "0", "0", "0", "9", "0"]
        assert by_cluster["aks-b"][1:9] == ["3.2", "1", "0", "2", "0", "0", "1", "1"]

    def test_non_passing_rows_have_reason_and_remediation(self, rendered):
        """Each non-passing control has its heading, its remediation and a line per reason."""
        assert any(
            h.startswith("3.2.4 Ensure that the --read-only-port") for h in rendered.headings
        )
        text = " ".join("".join(rendered.text).split())
        assert "Remediation:" in text
        statuses = [r[0] for t in rendered.tables if t[0][0] == "Status" for r in t[1:]]
        assert sorted(set(statuses)) == ["ERROR", "FAIL", "FAIL (exempt)", "MANUAL", "SKIPPED"]
        hostile = [
            r
            for t in rendered.tables
            if t[0][0] == "Status"
            for r in t[1:]
            if r[0] == "FAIL" and "onerror" in r[3]
        ]
        assert hostile
        assert hostile[0][3] == " ".join(HOSTILE.split())
        assert "img" not in rendered.tags
        assert "script" not in rendered.tags

    def test_exemptions_with_their_expiry(self, rendered):
        """The exempted FAIL is listed with its expiry date and reason."""
        table = rendered.table_after("Expires")
        assert table[1][:5] == [
            "2027-03-31",
            "3.2.7",
            "aks-b/gpu",
            "1: aks-gpu-1-vmss000000",
            "GPU image; RISK-1",
        ]

    def test_run_record(self, rendered):
        """The run record's fields are listed, the run id among them."""
        table = rendered.table_after("TimeGenerated")
        fields = {r[0]: r[1] for r in table}
        assert fields["RunId"] == RUN_ID
        assert fields["Failed"] == "3"


class TestLargeGroups:
    def test_many_nodes_fold_into_details(self):
        """A reason shared by many nodes lists the first few and folds the rest (no script needed)."""
        from tests.rows import row  # noqa: PLC0415

        rows = [row("3.2.4", "FAIL", node=f"aks-system-1-vmss{i:06d}") for i in range(40)]
        markup = render_html(rows, run_for(rows))
        assert re.search(
            r"40: (<code>[^<]+</code>, ){4}<code>[^<]+</code><details><summary>35 more", markup
        )
