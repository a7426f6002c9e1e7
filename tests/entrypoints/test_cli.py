"""The command line: help, version, flag errors and the exit code a CI gate sees."""

from __future__ import annotations

import pytest

from shared import __version__
from shared.adapters.output import FORMATS
from shared.core.controls.registry import benchmark_names
from shared.core.gate import GateTally
from shared.entrypoints.cli import EXIT_CODES, MAIN_SETTINGS, exit_code, main
from shared.pipeline import ScanOutcome
from tests.rows import cluster_rows, node_rows, run_for


def help_text(capsys, argv):
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 0
    return capsys.readouterr().out


class TestHelp:
    @pytest.mark.parametrize(
        "argv", [["--help"], ["scan", "--help"], ["demo", "--help"]], ids=["top", "scan", "demo"]
    )
    def test_help_lists_benchmarks_formats_exit_codes_and_settings(self, capsys, argv):
        """--help names every benchmark, format, exit code and main setting."""
        text = help_text(capsys, argv)
        for name in (*benchmark_names(), *FORMATS, *MAIN_SETTINGS):
            assert name in text, name
        for code, _ in EXIT_CODES:
            assert f"\n  {code} " in text

    def test_help_is_plain_text(self, capsys):
        """No reST markup: no double back-quotes, no :role: markup."""
        text = help_text(capsys, ["--help"])
        assert "``" not in text
        assert ":func:" not in text
        assert ":class:" not in text
        assert max(len(line) for line in text.splitlines()) <= 80

    def test_version(self, capsys):
        """--version prints the one version string."""
        assert help_text(capsys, ["--version"]).strip() == f"python -m shared {__version__}"


class TestFlagErrors:
    @pytest.mark.parametrize(
        ("argv", "flag"),
        [
            (["scan", "--fail-on", "PASS"], "--fail-on"),
            (["scan", "--fail-on", ""], "--fail-on"),
            (["scan", "--fail-on", "FAIL,\x00"], "--fail-on"),
            (["scan", "--format", "xlsx"], "--format"),
            (["scan", "--matrix", "sideways"], "--matrix"),
        ],
        ids=["pass-status", "empty", "nul", "unknown-format", "unknown-matrix"],
    )
    def test_bad_values_exit_2_naming_the_flag(self, capsys, argv, flag):
        """argparse refuses the value with exit 2 and names the flag."""
        with pytest.raises(SystemExit) as stopped:
            main(argv)
        assert stopped.value.code == 2
        assert flag in capsys.readouterr().err

    def test_matrix_without_table_exits_2(self, capsys):
        """--matrix with another format would do nothing: exit 2 naming it, before any call."""
        assert main(["scan", "--format", "json", "--matrix", "all"]) == 2
        assert "--matrix" in capsys.readouterr().err


def outcome(rows, **overrides):
    return ScanOutcome(run_for(rows), **overrides)


def gate(rows):
    tally = GateTally()
    tally.write_findings(rows)
    return tally


class TestExitCode:
    REACHED = node_rows("aks-a", "p", "n1", {"3.2.1": "FAIL", "3.2.2": "ERROR"})
    NOTHING = cluster_rows("aks-a", "ERROR", "403")

    @pytest.mark.parametrize(
        ("rows", "fail_on", "undelivered", "code"),
        [
            (REACHED, frozenset(), 0, 0),
            (REACHED, frozenset({"FAIL"}), 0, 1),
            (REACHED, frozenset({"ERROR"}), 0, 1),
            (NOTHING, frozenset(), 0, 4),
            (NOTHING, frozenset({"ERROR"}), 0, 4),
            ([], frozenset(), 0, 4),
            (REACHED, frozenset({"FAIL"}), 5, 3),
            (NOTHING, frozenset(), 5, 3),
        ],
        ids=[
            "findings-no-gate",
            "fail-on-fail",
            "fail-on-error",
            "nothing-reached",
            "nothing-reached-beats-fail-on",
            "no-cluster",
            "undelivered-beats-fail-on",
            "undelivered-beats-nothing-reached",
        ],
    )
    def test_precedence(self, rows, fail_on, undelivered, code, capsys):
        """3 (undelivered) before 4 (nothing reached) before 1 (--fail-on) before 0."""
        assert exit_code(outcome(rows, undelivered_rows=undelivered), gate(rows), fail_on) == code
        if code:
            assert capsys.readouterr().err
