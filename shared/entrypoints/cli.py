"""``python -m shared``: scan from a terminal, or run the demo on the simulated estate.

Exit codes: 0 the scan completed; 1 ``--fail-on-findings`` and a FAIL row exists; 2 bad usage
or settings (nothing was called); 3 the scan completed but rows could not be delivered to a
sink (they are still in the terminal/file output).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING

from shared.core.errors import SettingsError
from shared.core.identifiers import ClusterId, IdentifierError, subscription_id
from shared.core.model import ScanScope
from shared.pipeline import Progress, ScanOutcome
from shared.ports import FindingSink

if TYPE_CHECKING:
    from shared.bootstrap import App
    from shared.settings import Settings

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_UNDELIVERED = 0, 1, 2, 3


def _given(text: str) -> str:
    """An option's value: anything but empty (an empty value would silently mean "not given").

    A NUL cannot reach us from a shell (an OS argument cannot hold one), but ``main(argv)`` can be
    given one, and no path or name may contain it.
    """
    if not text:
        raise argparse.ArgumentTypeError("must not be empty")
    if "\x00" in text:
        raise argparse.ArgumentTypeError("must not contain a NUL character")
    return text


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m shared", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (
        ("scan", "scan the AKS clusters the Azure identity can see"),
        ("demo", "start the embedded simulated estate and scan it"),
    ):
        sub = commands.add_parser(name, help=text, description=text)
        sub.add_argument("--format", choices=("table", "json", "jsonl"), default="table")
        sub.add_argument(
            "--output", type=_given, metavar="FILE", help="write the output here instead of stdout"
        )
        sub.add_argument(
            "--fail-on-findings", action="store_true", help="exit 1 when any row is FAIL"
        )
        sub.add_argument(
            "-v", "--verbose", action="store_true", help="log progress details to stderr"
        )
        sub.add_argument(
            "--policy",
            type=_given,
            metavar="FILE",
            help="scan policy file (YAML or JSON); sets SCAN_POLICY",
        )
        sub.add_argument(
            "--benchmark",
            type=_given,
            metavar="NAME",
            help="benchmark to evaluate (sets CIS_BENCHMARK), e.g. cis-aks-1.0",
        )
        if name == "demo":
            sub.add_argument(
                "--faults",
                type=_given,
                metavar="FILE",
                help="JSON list of faults to inject (see docs/reliability.md), e.g. "
                '[{"endpoint": "configz", "status": 403, "cluster": "aks-prod-weu"}]',
            )
        if name == "scan":
            sub.add_argument(
                "--subscription",
                action="append",
                default=[],
                type=_given,
                metavar="ID",
                help="subscription id to scan (repeatable; default: all visible)",
            )
            sub.add_argument(
                "--cluster",
                action="append",
                default=[],
                type=_given,
                metavar="RESOURCE_ID",
                help="AKS cluster resource id to scan (repeatable)",
            )
            sub.add_argument(
                "--kubeconfig",
                type=_given,
                metavar="PATH",
                help="scan the one cluster of this kubeconfig instead of discovering AKS clusters",
            )
            sub.add_argument(
                "--context",
                type=_given,
                metavar="NAME",
                help="kubeconfig context (default: current)",
            )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, run, map errors to exit codes."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("azure").setLevel(logging.WARNING)
    try:
        _check_output(args.output)
        if args.command == "demo":
            return _demo(args)
        scope = scope_from(args.subscription, args.cluster)
        settings = _settings(args)
        app = _kubeconfig_app(args, settings)
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    # A person chose --subscription/--cluster: they replace SCAN_SUBSCRIPTIONS, not narrow it.
    scope = scope if not scope.everything else settings.default_scope
    return scan(
        settings,
        scope,
        fmt=args.format,
        output=args.output,
        fail_on_findings=args.fail_on_findings,
        app=app,
    )


def _check_output(path: str | None) -> None:
    """--output must be a file that can be written, known before anything is called."""
    if path is None:
        return
    try:
        with open(path, "a", encoding="utf-8"):
            pass
    except OSError as exc:
        raise SettingsError(f"--output: cannot write {path}: {exc.strerror}") from None


def _settings(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> Settings:
    """Settings from the environment, with what the command line sets on top."""
    from shared.bootstrap import load_settings  # noqa: PLC0415

    return load_settings(env, SCAN_POLICY=args.policy, CIS_BENCHMARK=args.benchmark)


def _demo(args: argparse.Namespace) -> int:
    """Start the simulated estate (development code, not in the deployed package) and scan it."""
    try:
        from sim.demo import demo_estate  # noqa: PLC0415 - the simulator is dev-only
    except ImportError:
        raise SettingsError(
            "demo: the simulated estate (sim/) is not installed here; run it from a clone of "
            "the repository"
        ) from None
    with demo_estate(args.faults) as estate:
        code = scan(
            _settings(args, estate.env),
            ScanScope(),
            fmt=args.format,
            output=args.output,
            fail_on_findings=args.fail_on_findings,
        )
        estate.report(to_stdout=args.format == "table" and args.output is None)
    return code


def _kubeconfig_app(args: argparse.Namespace, settings: Settings) -> App | None:
    """The one-cluster wiring of ``--kubeconfig``, or None; SettingsError for bad combinations."""
    if not args.kubeconfig:
        if args.context:
            raise SettingsError("--context: only with --kubeconfig")
        return None
    if args.subscription or args.cluster:
        raise SettingsError("--kubeconfig: scans one cluster; drop --subscription/--cluster")
    from shared.bootstrap import build_for_kubeconfig  # noqa: PLC0415

    return build_for_kubeconfig(settings, args.kubeconfig, args.context)


def scope_from(subscriptions: Sequence[str], clusters: Sequence[str]) -> ScanScope:
    """Validate --subscription/--cluster values; SettingsError names the bad one."""
    try:
        subs = tuple(dict.fromkeys(subscription_id(s) for s in subscriptions))
    except IdentifierError as exc:
        raise SettingsError(f"--subscription: {exc}") from None
    try:
        ids = tuple(dict.fromkeys(ClusterId.parse(c) for c in clusters))
    except IdentifierError as exc:
        raise SettingsError(f"--cluster: {exc}") from None
    return ScanScope(subs, ids)


def scan(
    settings: Settings,
    scope: ScanScope,
    *,
    fmt: str,
    output: str | None,
    fail_on_findings: bool,
    app: App | None = None,
) -> int:
    """Run one scan with terminal/file output and, if configured, Log Analytics.

    Rows Log Analytics refuses wait in DEADLETTER_DIR and go first next time.
    """
    from shared.bootstrap import DeadLetters, build  # noqa: PLC0415
    from shared.pipeline import run_scan  # noqa: PLC0415

    app = app or build(settings, dead_letters=DeadLetters.DIRECTORY)
    try:
        with _open(output) as stream:
            app.replay()
            with _progress(enabled=sys.stderr.isatty()) as progress:
                outcome = run_scan(
                    app.scanner,
                    scope,
                    [_output_sink(fmt, stream), *app.sinks],
                    trigger="cli",
                    progress=progress,
                    delivery=app.delivering.stats if app.delivering else None,
                )
    finally:
        app.close()
    return exit_code(outcome, fail_on_findings)


def exit_code(outcome: ScanOutcome, fail_on_findings: bool) -> int:
    """Map a finished scan to the documented exit code."""
    if outcome.undelivered_rows or outcome.sink_errors:
        print(
            f"error: {outcome.undelivered_rows} rows were not delivered: "
            f"{outcome.sink_errors[0] if outcome.sink_errors else ''}",
            file=sys.stderr,
        )
        return EXIT_UNDELIVERED
    if fail_on_findings and outcome.run.Failed:
        return EXIT_FINDINGS
    return EXIT_OK


def _output_sink(fmt: str, stream: IO[str]) -> FindingSink:
    from shared.adapters.output import JsonLinesSink, JsonSink, TableSink  # noqa: PLC0415

    if fmt == "json":
        return JsonSink(stream)
    if fmt == "jsonl":
        return JsonLinesSink(stream)
    from rich.console import Console  # noqa: PLC0415

    return TableSink(Console(file=stream, width=160 if not stream.isatty() else None))


@contextmanager
def _open(path: str | None) -> Iterator[IO[str]]:
    if path is None:
        yield sys.stdout
        return
    with open(path, "w", encoding="utf-8") as handle:
        yield handle


class _RichProgress(Progress):
    def __init__(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn  # noqa: PLC0415
        from rich.progress import Progress as Bar  # noqa: PLC0415

        self._bar = Bar(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=None,
            transient=True,
        )
        self._task = self._bar.add_task("nodes", total=0)

    def clusters_found(self, count: int) -> None:
        self._bar.update(self._task, description=f"{count} clusters · nodes")

    def nodes_found(self, count: int) -> None:
        total = (self._bar.tasks[0].total or 0) + count
        self._bar.update(self._task, total=total)

    def node_done(self) -> None:
        self._bar.advance(self._task)


@contextmanager
def _progress(*, enabled: bool) -> Iterator[Progress]:
    if not enabled:
        yield Progress()
        return
    bar = _RichProgress()
    with bar._bar:
        yield bar
