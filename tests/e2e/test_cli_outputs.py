"""The CLI against the simulated estate: every format read back, the exit codes, the terminal report."""

from __future__ import annotations

import csv
import fcntl
import io
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

import jsonschema
import junitparser
import pytest

from shared.entrypoints.cli import main
from tests.e2e.test_scan_estate import DEV_SUB, PROD_SUB

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "tests" / "data" / "schemas"
TOKENS = re.compile(r"\x1b\[([0-9;?]*)([A-Za-z])|\x1b[()][0-9A-Za-z]|\r|\n|[^\x1b\r\n]+")


def screen(shown: str) -> list[str]:
    """What a terminal shows after ``shown``: text, CR, LF, erase-line and cursor-up applied.

    Lines do not wrap here (a long line stays one line), which is how rich counts a one-line bar.
    """
    lines = [""]
    row = col = 0
    for match in TOKENS.finditer(shown):
        token = match.group(0)
        if token == "\n":
            row += 1
            col = 0
            if row == len(lines):
                lines.append("")
        elif token == "\r":
            col = 0
        elif match.group(2) == "K":  # erase in line (rich uses 2: the whole line)
            lines[row] = ""
        elif match.group(2) == "A":  # cursor up
            row = max(0, row - int(match.group(1) or 1))
        elif token.startswith("\x1b"):
            continue  # colours, cursor visibility: nothing to show
        else:
            line = lines[row].ljust(col)
            lines[row] = line[:col] + token + line[col + len(token) :]
            col += len(token)
    return lines


def scan_to(tmp_path: Path, fmt: str, *extra: str) -> tuple[int, str]:
    out = tmp_path / f"out.{fmt}"
    code = main(["scan", "--subscription", DEV_SUB, "--format", fmt, "--output", str(out), *extra])
    return code, out.read_text(encoding="utf-8")


class TestFormats:
    def test_every_format_holds_the_same_rows(self, env, tmp_path):
        """json, csv, junit and sarif of the same subscription hold the same (cluster, node, control, status) set."""
        _, text = scan_to(tmp_path, "json")
        want = sorted(
            (f["ClusterName"], f["NodeName"], f["ControlId"], f["Status"])
            for f in json.loads(text)["findings"]
        )
        assert want
        _, text = scan_to(tmp_path, "csv")
        got_csv = sorted(
            (r["ClusterName"], r["NodeName"], r["ControlId"], r["Status"])
            for r in csv.DictReader(io.StringIO(text))
        )
        _, text = scan_to(tmp_path, "sarif")
        document = json.loads(text)
        jsonschema.Draft4Validator(
            json.loads((SCHEMAS / "sarif-schema-2.1.0.json").read_text())
        ).validate(document)
        got_sarif = sorted(
            (p["ClusterName"], p["NodeName"], p["ControlId"], p["Status"])
            for p in (r["properties"] for r in document["runs"][0]["results"])
        )
        _, text = scan_to(tmp_path, "junit")
        cases = [case for suite in junitparser.JUnitXml.fromstring(text) for case in suite]
        assert got_csv == want
        assert got_sarif == want
        assert len(cases) == len(want)
        assert {c.classname for c in cases} == {w[0] for w in want}

    def test_html_report_names_every_cluster(self, env, tmp_path):
        """The HTML report of a scan is one file naming each cluster and the run id."""
        code, text = scan_to(tmp_path, "html")
        assert code == 0
        assert "aks-batch-neu" in text
        assert "aks-dev-stopped" in text
        assert "<script" not in text


class TestExitCodes:
    def test_nothing_reached_exits_4(self, env, capsys):
        """A scan whose one cluster does not exist reached nothing: exit 4, with or without --fail-on."""
        cid = f"/subscriptions/{PROD_SUB}/resourceGroups/rg-x/providers/Microsoft.ContainerService/managedClusters/nope"
        assert main(["scan", "--cluster", cid, "--format", "json", "--output", os.devnull]) == 4
        assert "reached no cluster" in capsys.readouterr().err
        assert (
            main(
                [
                    "scan",
                    "--cluster",
                    cid,
                    "--fail-on",
                    "FAIL,ERROR",
                    "--format",
                    "json",
                    "--output",
                    os.devnull,
                ]
            )
            == 4
        )

    def test_fail_on_error(self, env, tmp_path):
        """--fail-on ERROR exits 1 on the ERROR rows of the dev subscription."""
        assert scan_to(tmp_path, "json", "--fail-on", "ERROR")[0] == 1

    def test_exempted_fails_do_not_fail_the_gate(self, env, tmp_path):
        """Every FAIL of the dev subscription exempted: --fail-on FAIL exits 0, --fail-on FAIL,ERROR still 1."""
        exemptions = "".join(
            f'  - {{control: "{c}", scope: "/subscriptions/{DEV_SUB}", reason: "RISK-9", expires: 2099-12-31}}\n'
            for c in ("3.2.2", "3.2.3", "3.2.5", "3.2.9")
        )
        policy = tmp_path / "policy.yaml"
        policy.write_text(f"version: 1\nexemptions:\n{exemptions}")
        # The kubelet section only: the cluster controls have FAILs the policy does not exempt.
        code, text = scan_to(
            tmp_path, "json", "--fail-on", "FAIL", "--policy", str(policy), "--sections", "3.2"
        )
        findings = json.loads(text)["findings"]
        assert {f["Exempt"] for f in findings if f["Status"] == "FAIL"} == {True}
        assert code == 0
        code, _ = scan_to(
            tmp_path,
            "json",
            "--fail-on",
            "FAIL,ERROR",
            "--policy",
            str(policy),
            "--sections",
            "3.2",
        )
        assert code == 1

    def test_output_that_cannot_be_opened_exits_2(self, env, tmp_path, capsys):
        """An --output in a folder that does not exist exits 2 naming --output."""
        assert main(["scan", "--output", str(tmp_path / "no" / "such.json")]) == 2
        assert "--output" in capsys.readouterr().err


def demo(columns: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shared", "demo", "--format", "table"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        env={**os.environ, "COLUMNS": str(columns)},
        cwd=ROOT,
    )


def in_terminal(columns: int, argv: list[str]) -> str:
    """Run ``argv`` with stdout and stderr on a pseudo-terminal ``columns`` wide; what it showed."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    process = subprocess.Popen(
        argv,
        stdin=follower,
        stdout=follower,
        stderr=follower,
        cwd=ROOT,
        env={**env, "TERM": "xterm"},
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    assert process.wait(timeout=120) == 0
    os.close(leader)
    return b"".join(chunks).decode("utf-8", "replace")


class TestTerminalReport:
    def test_piped_demo_follows_columns(self):
        """`COLUMNS=80 python -m shared demo | cat`: no stdout line over 80, statuses whole."""
        out = demo(80).stdout
        lines = out.splitlines()
        assert max(len(line) for line in lines) <= 80
        assert "…" not in out
        # the unreadable node: an ERROR in each kubelet column (the cluster controls' columns blank)
        assert any(re.fullmatch(r"  \.\.\.vmss000002 +(E ){8}E", line) for line in lines)
        assert "5 clusters (1 not reached), 13 nodes (1 unreadable)" in " ".join(out.split())

    def test_piped_demo_at_120_columns_is_wider(self):
        """COLUMNS=120 lays the report out for 120 (the old code fixed 160 whatever COLUMNS said)."""
        lines = demo(120).stdout.splitlines()
        assert 80 < max(len(line) for line in lines) <= 120

    def test_warnings_never_land_on_the_progress_bar(self):
        """In an 80-column terminal the bar shows, and the warning starts its own line, whole."""
        shown = in_terminal(80, [sys.executable, "-m", "shared", "demo"])
        assert "nodes \x1b[90m━" in shown, "the progress bar never showed"
        lines = screen(shown)
        (line,) = [line for line in lines if "aks-local-only not scanned" in line]
        assert line.startswith("WARNING shared.pipeline: cluster /subscriptions/")
        assert not [x for x in lines if "━" in x], "the bar is left on the screen"
        assert max(len(x) for x in lines if not x.startswith("WARNING")) <= 80


class TestOutputFailures:
    @pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux)")
    @pytest.mark.parametrize("fmt", ["table", "csv", "sarif"], ids=["table", "csv", "sarif"])
    def test_a_write_that_fails_exits_3(self, env, capsys, fmt):
        """Writing the output fails (disk full): the rows were not delivered there, exit 3 naming it."""
        code = main(["scan", "--subscription", DEV_SUB, "--format", fmt, "--output", "/dev/full"])
        assert code == 3
        assert "output: No space left on device" in capsys.readouterr().err
