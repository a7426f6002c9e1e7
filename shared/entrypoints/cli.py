"""python -m shared: scan AKS clusters from a terminal or a CI job, or run the demo.

The help text (``--help``) lists the benchmarks, the formats, the exit codes and the settings;
README "Running it from a terminal" says the same. Exit codes, highest precedence first:
3 rows not delivered, 4 no cluster reached, 1 a ``--fail-on`` status, 0 otherwise; 2 is bad
usage or settings, decided before anything is called.
"""

from __future__ import annotations

import argparse
import logging
import sys
import textwrap
from collections.abc import Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

from shared import __version__
from shared.core.errors import SettingsError, SinkError
from shared.core.gate import GateTally, parse_fail_on
from shared.core.identifiers import ClusterId, IdentifierError, subscription_id
from shared.core.model import ScanScope
from shared.pipeline import Progress, ScanOutcome

if TYPE_CHECKING:
    from rich.console import Console

    from shared.bootstrap import App
    from shared.core.controls import Benchmark
    from shared.core.records import Finding, RunRecord
    from shared.settings import Settings

LOG_FORMAT = "%(levelname)s %(name)s: %(message)s"

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_UNDELIVERED, EXIT_NOTHING_REACHED = 0, 1, 2, 3, 4

EXIT_CODES = (
    (
        EXIT_OK,
        "the scan completed and reached at least one cluster; with --fail-on, no row has "
        "one of its statuses",
    ),
    (
        EXIT_FINDINGS,
        "--fail-on (or --fail-on-findings): a row has one of its statuses "
        "(an exempted FAIL does not count)",
    ),
    (EXIT_USAGE, "bad usage or settings; nothing was called"),
    (
        EXIT_UNDELIVERED,
        "rows could not be delivered (to Log Analytics nor to the dead-letter "
        "folder); they are still in the output",
    ),
    (
        EXIT_NOTHING_REACHED,
        "the scan reached no cluster: none was found, or no control of any "
        "cluster was judged PASS or FAIL on data read from it (every row ERROR or SKIPPED)",
    ),
)

#: Settings the help lists (all of README "Configuration" is in shared.settings.DOCUMENTED).
MAIN_SETTINGS = (
    "AZURE_CLIENT_ID",
    "SCAN_SUBSCRIPTIONS",
    "CIS_BENCHMARK",
    "SCAN_POLICY",
    "ALLOW_LOCAL_ACCOUNTS",
    "PRIVATE_CLUSTER_MODE",
    "SCAN_CONCURRENCY",
    "LOGS_INGESTION_ENDPOINT",
    "LOGS_DCR_IMMUTABLE_ID",
    "DEADLETTER_DIR",
)


def _listing(title: str, items: Sequence[tuple[str, str]], width: int = 78) -> str:
    """A help section: a title, then each name with its wrapped text (plain text, no markup)."""
    pad = max(len(name) for name, _ in items) + 4
    lines = [f"{title}:"]
    for name, text in items:
        lines.extend(
            textwrap.wrap(
                text,
                width,
                initial_indent=f"  {name}".ljust(pad),
                subsequent_indent=" " * pad,
                break_on_hyphens=False,
            )
        )
    return "\n".join(lines)


def _epilog() -> str:
    from shared.adapters.output import FORMATS  # noqa: PLC0415
    from shared.core.controls.registry import benchmark_names, get_benchmark  # noqa: PLC0415
    from shared.settings import DOCUMENTED  # noqa: PLC0415

    benchmarks = [
        (name, f"{get_benchmark(name).title}{' (default)' if i == 0 else ''}")
        for i, name in enumerate(benchmark_names())
    ]
    settings = [
        (name, f"{DOCUMENTED[name][1]} Default: {DOCUMENTED[name][0] or '(unset)'}.")
        for name in MAIN_SETTINGS
    ]
    return "\n\n".join(
        (
            _listing("benchmarks (--benchmark NAME, or CIS_BENCHMARK)", benchmarks),
            _listing("formats (--format NAME)", list(FORMATS.items())),
            _listing("exit codes", [(str(code), text) for code, text in EXIT_CODES]),
            _listing(
                'main settings (environment variables; README "Configuration" has them all)',
                settings,
            ),
        )
    )


def _fail_on(text: str) -> frozenset[str]:
    try:
        return parse_fail_on(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


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
    from shared.adapters.output import FORMATS  # noqa: PLC0415
    from shared.adapters.terminal import MATRIX_ALL_MAX, MATRIX_MODES  # noqa: PLC0415

    epilog = _epilog()
    parser = argparse.ArgumentParser(
        prog="python -m shared",
        description=__doc__.splitlines()[0].removeprefix("python -m shared: "),
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (
        ("scan", "scan the AKS clusters the Azure identity can see"),
        ("demo", "start the embedded simulated estate and scan it"),
    ):
        sub = commands.add_parser(
            name,
            help=text,
            description=text,
            epilog=epilog,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        sub.add_argument("--format", choices=tuple(FORMATS), default="table")
        sub.add_argument(
            "--output", type=_given, metavar="FILE", help="write the output here instead of stdout"
        )
        sub.add_argument(
            "--fail-on",
            type=_fail_on,
            default=frozenset(),
            metavar="FAIL[,ERROR]",
            help="exit 1 when a row has one of these statuses (default: off)",
        )
        sub.add_argument(
            "--fail-on-findings", action="store_true", help="the same as --fail-on FAIL"
        )
        sub.add_argument(
            "--matrix",
            choices=MATRIX_MODES,
            help=f"table only: every target (all), only those with a non-PASS cell (non-passing),"
            f" or auto (all up to {MATRIX_ALL_MAX} nodes; the default)",
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
        sub.add_argument(
            "--sections",
            metavar="LIST",
            help="CIS sections or control ids to evaluate (sets CIS_SECTIONS), e.g. 3.2 for the "
            "kubelet only, 2,3.1,5 for the cluster controls from ARM or 4 for the policies from the "
            "Kubernetes API; default: all",
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
        format=LOG_FORMAT,
        stream=sys.stderr,
    )
    logging.getLogger("azure").setLevel(logging.WARNING)
    try:
        options = _options(args)
        _check_output(args.output)  # before the estate or anything else is called
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
    return scan(settings, scope, options, app=app)


@dataclass(frozen=True, slots=True)
class Options:
    """What the command line says about the output and the exit code."""

    fmt: str = "table"
    output: str | None = None
    fail_on: frozenset[str] = frozenset()
    matrix: str = "auto"


def _options(args: argparse.Namespace) -> Options:
    """The output options; SettingsError for a combination that would do nothing."""
    if args.matrix is not None and args.format != "table":
        raise SettingsError(f"--matrix: only with --format table (not {args.format})")
    fail_on = args.fail_on | ({"FAIL"} if args.fail_on_findings else set())
    return Options(args.format, args.output, frozenset(fail_on), args.matrix or "auto")


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

    return load_settings(
        env, SCAN_POLICY=args.policy, CIS_BENCHMARK=args.benchmark, CIS_SECTIONS=args.sections
    )


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
        code = scan(_settings(args, estate.env), ScanScope(), _options(args))
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
    options: Options,
    *,
    app: App | None = None,
) -> int:
    """Run one scan with terminal/file output and, if configured, Log Analytics.

    Rows Log Analytics refuses wait in DEADLETTER_DIR and go first next time.
    """
    from shared.bootstrap import DeadLetters, build  # noqa: PLC0415
    from shared.core.controls.registry import get_benchmark  # noqa: PLC0415
    from shared.pipeline import run_scan  # noqa: PLC0415

    app = app or build(settings, dead_letters=DeadLetters.DIRECTORY)
    gate = GateTally()
    with closing(app):
        try:
            stream = _open(options.output)
        except OSError as exc:
            print(f"error: --output {options.output}: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_USAGE
        output = _StopFirst(stream, options, get_benchmark(settings.benchmark))
        try:
            app.replay()
            with _progress(enabled=_bar_wanted(options, stream)) as progress:
                output.progress = progress
                outcome = run_scan(
                    app.scanner,
                    scope,
                    [output, gate, *app.sinks],
                    trigger="cli",
                    progress=progress,
                    delivery=app.delivering.stats if app.delivering else None,
                )
        finally:
            output.close()
    return exit_code(outcome, gate, options.fail_on)


def exit_code(outcome: ScanOutcome, gate: GateTally, fail_on: frozenset[str]) -> int:
    """Map a finished scan to the documented exit code (3, then 4, then 1, else 0)."""
    if outcome.undelivered_rows or outcome.sink_errors:
        print(
            f"error: {outcome.undelivered_rows} rows were not delivered: "
            f"{outcome.sink_errors[0] if outcome.sink_errors else ''}",
            file=sys.stderr,
        )
        return EXIT_UNDELIVERED
    if not gate.reached:
        print(
            f"error: the scan reached no cluster ({outcome.run.Clusters} discovered, "
            f"{outcome.run.ClustersFailed} not reached; {gate.describe()}): no control was "
            "judged on data read from a cluster; exit 4",
            file=sys.stderr,
        )
        return EXIT_NOTHING_REACHED
    failing = gate.failing(fail_on)
    if failing:
        print(
            f"--fail-on {','.join(sorted(fail_on))}: {failing} rows have one of these statuses "
            f"(exempted FAILs not counted); exit 1",
            file=sys.stderr,
        )
        return EXIT_FINDINGS
    return EXIT_OK


def _bar_wanted(options: Options, stream: IO[str]) -> bool:
    """A progress bar on a terminal's stderr, unless rows stream to that same terminal."""
    from shared.adapters.output import STREAMING_FORMATS  # noqa: PLC0415

    if not sys.stderr.isatty():
        return False
    return not (options.fmt in STREAMING_FORMATS and stream.isatty())


def _open(path: str | None) -> IO[str]:
    """stdout, or the --output file (OSError when it cannot be created)."""
    if path is None:
        return sys.stdout
    return open(path, "w", encoding="utf-8", newline="")  # closed by _StopFirst.close


class _StopFirst:
    """The output sink as the pipeline sees it: the bar stops before the report is written, and
    a write that fails (disk full, a closed pipe) is a SinkError, so the run counts it (exit 3)."""

    def __init__(self, stream: IO[str], options: Options, benchmark: Benchmark) -> None:
        from shared.adapters.output import output_sink  # noqa: PLC0415

        self._stream = stream
        self._sink = output_sink(options.fmt, stream, benchmark=benchmark, matrix=options.matrix)
        self.progress: Progress = Progress()
        self._failed = False

    def write_findings(self, rows: Sequence[Finding]) -> None:
        """Pass rows on."""
        try:
            self._sink.write_findings(rows)
        except OSError as exc:
            self._failed = True
            raise SinkError(f"output: {exc.strerror or exc}") from exc

    def write_run(self, run: RunRecord) -> None:
        """Stop the bar, then let the sink write its report, and flush it."""
        if isinstance(self.progress, _RichProgress):
            self.progress.stop()
        try:
            self._sink.write_run(run)
            self._stream.flush()
        except OSError as exc:
            self._failed = True
            raise SinkError(f"output: {exc.strerror or exc}") from exc

    def close(self) -> None:
        """Close an --output file. A failure already counted (exit 3) repeats on close: dropped."""
        if self._stream is sys.stdout:
            return
        try:
            self._stream.close()
        except OSError:
            if not self._failed:
                raise


class _ConsoleLogHandler(logging.Handler):
    """Log records printed through the progress bar's console, above the bar, never into it."""

    def __init__(self, console: Console) -> None:
        super().__init__()
        self._console = console

    def emit(self, record: logging.LogRecord) -> None:
        """Print one formatted record as plain text (no markup, no highlighting)."""
        from rich.text import Text  # noqa: PLC0415

        try:
            self._console.print(Text(self.format(record)), highlight=False, soft_wrap=True)
        except Exception:  # noqa: BLE001 - logging's own contract: a handler reports, never raises
            self.handleError(record)


class _RichProgress(Progress):
    def __init__(self) -> None:
        from rich.console import Console  # noqa: PLC0415
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn  # noqa: PLC0415
        from rich.progress import Progress as Bar  # noqa: PLC0415

        self._bar = Bar(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(file=sys.stderr),
            transient=True,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self._task = self._bar.add_task("nodes", total=0)
        self._saved: list[logging.Handler] = []
        self._running = False

    def start(self) -> None:
        """Show the bar; log records go through its console while it shows."""
        root = logging.getLogger()
        self._saved = list(root.handlers)
        handler = _ConsoleLogHandler(self._bar.console)
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        root.handlers = [handler]
        self._bar.start()
        self._running = True

    def stop(self) -> None:
        """Remove the bar and give logging its handlers back (idempotent)."""
        if not self._running:
            return
        self._running = False
        self._bar.stop()
        logging.getLogger().handlers = self._saved

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
    bar.start()
    try:
        yield bar
    finally:
        bar.stop()
