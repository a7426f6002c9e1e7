"""Every KQL query of the project, analysed by Microsoft's own KQL analyser.

The analyser is Kusto.Language, the parser and semantic checker behind the Azure portal's KQL
editors, from the npm package ``@kusto/language-service-next`` (pinned in package-lock.json);
``infra/kql/analyse.mjs`` runs it in Node, offline. This module gathers the queries, declares
the scanner's two tables to the analyser with their columns and types from shared/core/records.py
(through tests/infra/tables.py) plus the columns Log Analytics adds to every table, runs it once
for the whole set, and turns its answer into problems:

* every diagnostic of severity Error, with its code, message and position;
* an alert rule whose measure or dimension column is not in its query's result schema, or
  whose measure is not numeric;
* a query whose result is not a table.

The queries: the four alert rules as deployed (infra/modules/alerts.bicep, read with the same
parser as checkov), every query of the workbook with its parameters replaced by values of their
type, and every fenced ``kusto``/``kql`` block of README.md, docs/ and infra/.

``python -m tests.infra.kql [FILE.kql ...]`` (``make infra-check``) analyses that set, plus the
files given, prints one summary line and exits 1 on any problem.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.infra.bicep import ROOT
from tests.infra.bicep import main as main_template
from tests.infra.tables import COLUMNS

ANALYSER = ROOT / "infra/kql/analyse.mjs"
PACKAGE = "@kusto/language-service-next"
WORKBOOK = ROOT / "infra/workbook/aks-kubelet-compliance.workbook.json"

#: Columns Log Analytics adds to every table, custom tables included, with the types its table
#: reference gives them ("Standard columns in Azure Monitor Logs", MicrosoftDocs/azure-monitor-docs
#: articles/azure-monitor/logs/log-standard-columns.md).
STANDARD_COLUMNS: tuple[tuple[str, str], ...] = (
    ("TenantId", "string"),
    ("Type", "string"),
    ("_TimeReceived", "datetime"),
    ("_ItemId", "string"),
    ("_ResourceId", "string"),
    ("_SubscriptionId", "string"),
    ("_IsBillable", "string"),
    ("_BilledSize", "real"),
)

#: Log Analytics column type -> KQL scalar type.
KQL_TYPES = {
    "string": "string",
    "int": "int",
    "long": "long",
    "real": "real",
    "boolean": "bool",
    "datetime": "datetime",
    "guid": "guid",
    "dynamic": "dynamic",
}
NUMERIC = frozenset({"int", "long", "real", "decimal"})

#: A value of each workbook parameter that is neither a time range nor a fixed list, as the
#: workbook would substitute it (the Cluster drop-down yields an AKS resource id).
SAMPLE_VALUES = {
    "Cluster": "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-aks"
    "/providers/Microsoft.ContainerService/managedClusters/aks-prod",
}

#: Workbook parameter types (KqlParameterItem/1.0 "type") this module can substitute.
TEXT, DROPDOWN, TIME_RANGE = 1, 2, 4

_TOKEN = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::([A-Za-z]+))?\}")
_FENCE = re.compile(r"^```(kusto|kql)[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


class KqlError(Exception):
    """The analysis could not run: no Node, no analyser, or input it cannot take."""


@dataclass(frozen=True, slots=True)
class Query:
    """One query as it reaches Log Analytics; ``origin`` names where it is written."""

    name: str
    text: str
    origin: str


@dataclass(frozen=True, slots=True)
class AlertRule:
    """A log search alert rule: its query, the column it measures and its dimensions."""

    symbol: str
    query: Query
    measure: str
    dimensions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One diagnostic of the analyser, positioned in the query text."""

    severity: str
    code: str
    message: str
    start: int
    length: int

    def where(self, text: str) -> str:
        """``line L, column C`` of the diagnostic, and the line with the span marked."""
        line = text.count("\n", 0, self.start) + 1
        line_start = text.rfind("\n", 0, self.start) + 1
        line_end = text.find("\n", self.start)
        source = text[line_start : None if line_end < 0 else line_end]
        column = self.start - line_start + 1
        marker = " " * (column - 1) + "^" * max(1, min(self.length, len(source) - column + 1))
        return f"line {line}, column {column}\n      {source}\n      {marker}"


@dataclass(frozen=True, slots=True)
class Analysis:
    """The analyser's answer for one query."""

    query: Query
    diagnostics: tuple[Diagnostic, ...]
    columns: tuple[tuple[str, str], ...] | None  # the result schema; None: not a table

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        """Diagnostics of severity Error: the query would not run."""
        return tuple(d for d in self.diagnostics if d.severity == "Error")

    @property
    def column_types(self) -> dict[str, str]:
        """Result column -> KQL type."""
        return dict(self.columns or ())


@dataclass(frozen=True, slots=True)
class Report:
    """The analysis of a set of queries and the problems found in it."""

    analyser: str
    analyses: tuple[Analysis, ...]
    rules: tuple[AlertRule, ...]
    problems: tuple[str, ...]

    def summary(self) -> str:
        """The one line ``make infra-check`` prints."""
        origins = [a.query.origin for a in self.analyses]
        rule_names = {r.query.name for r in self.rules}
        kinds = {
            "alert rules": sum(a.query.name in rule_names for a in self.analyses),
            "workbook": sum(o == _relative(WORKBOOK) for o in origins),
            "docs": sum(o.endswith(".md") for o in origins),
        }
        kinds["other"] = len(origins) - sum(kinds.values())
        parts = ", ".join(f"{n} {k}" for k, n in kinds.items() if n)
        errors = sum(len(a.errors) for a in self.analyses)
        warnings = sum(d.severity == "Warning" for a in self.analyses for d in a.diagnostics)
        tables = ", ".join(
            f"{t} ({len(c) + len(STANDARD_COLUMNS)} columns)" for t, c in COLUMNS.items()
        )
        verdict = "passed" if not self.problems else f"FAILED, {len(self.problems)} problem(s)"
        return (
            f"kql: {len(self.analyses)} queries ({parts}) analysed by {self.analyser} against "
            f"{tables}: {errors} errors, {warnings} warnings; alert measure and dimension columns "
            f"checked for {len(self.rules)} rules: {verdict}"
        )


def _relative(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


# --------------------------------------------------------------------------- the queries


def alert_rules() -> list[AlertRule]:
    """The alert rules of infra/modules/alerts.bicep, each with its query as deployed."""
    alerts = main_template().module("alerts")
    rules = []
    for symbol in alerts.resources_of_type("Microsoft.Insights/scheduledQueryRules"):
        (condition,) = alerts.resource_body(symbol)["properties"]["criteria"]["allOf"]
        text = alerts.evaluate(condition["query"])
        if not isinstance(text, str):
            raise KqlError(f"alert {symbol}: its query is not known before deployment ({text})")
        rules.append(
            AlertRule(
                symbol=symbol,
                query=Query(f"alert {symbol}", text, alerts.name),
                measure=condition["metricMeasureColumn"],
                dimensions=tuple(d["name"] for d in condition.get("dimensions", [])),
            )
        )
    return rules


def workbook_queries(path: Path = WORKBOOK) -> list[Query]:
    """Every query of the workbook (tiles and parameter drop-downs), parameters substituted."""
    workbook = json.loads(path.read_text(encoding="utf-8"))
    items = list(_items(workbook["items"]))
    parameters = {
        p["name"]: p
        for item in items
        for p in item["content"].get("parameters", [])
        if item["content"].get("version") == "KqlParameterItem/1.0"
    }
    queries = []
    for item in items:
        content = item["content"]
        found = [(item["name"], content)] if "query" in content else []
        found += [(f"{item['name']}.{p['name']}", p) for p in content.get("parameters", [])]
        for name, holder in found:
            if "query" not in holder:
                continue
            where = f"workbook {name}"
            text = substitute(holder["query"], parameters, where)
            queries.append(Query(where, text, _relative(path)))
    return queries


def _items(items: Iterable[dict[str, Any]]) -> Iterable[dict[str, Any]]:
    """Every item of a workbook, those inside groups (type 12) included."""
    for item in items:
        yield item
        yield from _items(item["content"].get("items", []))


def substitute(query: str, parameters: Mapping[str, Mapping[str, Any]], where: str) -> str:
    """The query with each ``{Parameter}`` / ``{Parameter:format}`` replaced as workbooks do.

    Time range (type 4): ``{P}``, ``{P:query}`` and ``{P:value}`` become ``> ago(<default>)``,
    ``{P:start}``/``{P:end}`` a datetime and ``{P:grain}`` a timespan (Azure Monitor docs,
    "Workbook time parameters", articles/azure-monitor/visualize/workbooks-time.md). Text and
    single-select drop-down parameters (types 1, 2) become their value in SAMPLE_VALUES.
    Anything else is refused by name.
    """

    def replace(match: re.Match[str]) -> str:
        name, form = match.group(1), match.group(2)
        parameter = parameters.get(name)
        if parameter is None:
            raise KqlError(f"{where}: {match.group(0)} is not a parameter of the workbook")
        kind = parameter.get("type")
        if kind == TIME_RANGE:
            return _time_range(parameter, form, f"{where}: {match.group(0)}")
        if kind in (TEXT, DROPDOWN) and not parameter.get("multiSelect") and form is None:
            if name not in SAMPLE_VALUES:
                raise KqlError(
                    f"{where}: no sample value for parameter {name}: add one to SAMPLE_VALUES"
                )
            return SAMPLE_VALUES[name]
        raise KqlError(
            f"{where}: {match.group(0)}: a type-{kind} parameter in this form is not supported"
        )

    return _TOKEN.sub(replace, query)


def _time_range(parameter: Mapping[str, Any], form: str | None, where: str) -> str:
    duration_ms = (parameter.get("value") or {}).get("durationMs")
    if not isinstance(duration_ms, int) or duration_ms <= 0:
        raise KqlError(f"{where}: the time range parameter has no default durationMs")
    if form in (None, "query", "value"):
        return f"> ago({_timespan(duration_ms)})"
    if form == "start":
        return "datetime(2026-01-01T00:00:00Z)"
    if form == "end":
        return "datetime(2026-01-08T00:00:00Z)"
    if form == "grain":
        return "1h"  # what the workbook derives from the range is a timespan of this form
    raise KqlError(f"{where}: format {form!r} is not a KQL expression")


def _timespan(milliseconds: int) -> str:
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if milliseconds % size == 0:
            return f"{milliseconds // size}{unit}"
    return f"{milliseconds}ms"


def doc_files() -> list[Path]:
    """The Markdown files whose KQL examples are analysed: README.md, docs/, infra/."""
    return [
        ROOT / "README.md",
        *sorted((ROOT / "docs").glob("*.md")),
        *sorted((ROOT / "infra").rglob("*.md")),
    ]


def doc_queries(paths: Iterable[Path] | None = None) -> list[Query]:
    """Every fenced ``kusto`` or ``kql`` block, named by file and line."""
    queries = []
    for path in doc_files() if paths is None else paths:
        text = path.read_text(encoding="utf-8")
        for match in _FENCE.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            name = f"{_relative(path)}:{line}"
            queries.append(Query(name, match.group(2), _relative(path)))
    return queries


def file_queries(paths: Iterable[Path]) -> list[Query]:
    """Whole .kql files given on the command line, one query each."""
    return [Query(_relative(p), p.read_text(encoding="utf-8"), _relative(p)) for p in paths]


def project_queries() -> tuple[list[Query], list[AlertRule]]:
    """The project's whole set: alert rules, workbook, docs."""
    rules = alert_rules()
    return [r.query for r in rules] + workbook_queries() + doc_queries(), rules


# --------------------------------------------------------------------------- the analyser


def tables_json(columns: Mapping[str, Sequence[tuple[str, str]]] = COLUMNS) -> list[dict[str, Any]]:
    """The tables as the analyser takes them: KQL types, the standard columns appended."""
    tables = []
    for table, table_columns in columns.items():
        declared = []
        for name, la_type in (*table_columns, *STANDARD_COLUMNS):
            if la_type not in KQL_TYPES:
                raise KqlError(f"{table}.{name}: Log Analytics type {la_type!r} has no KQL type")
            declared.append([name, KQL_TYPES[la_type]])
        tables.append({"name": table, "columns": declared})
    return tables


def node() -> str:
    """The node executable, once the analyser package is installed; KqlError says what is missing."""
    found = shutil.which("node")
    if found is None:
        raise KqlError(
            "node (Node.js) is not on PATH: the KQL analysis runs Microsoft's analyser "
            f"({PACKAGE}) in Node; install Node.js and npm, then make installs the package"
        )
    if not (ROOT / "node_modules" / PACKAGE / "package.json").is_file():
        raise KqlError(
            f"{PACKAGE} is not installed: run `npm ci` (make does it from package-lock.json)"
        )
    return found


def analyse(
    queries: Sequence[Query], columns: Mapping[str, Sequence[tuple[str, str]]] = COLUMNS
) -> tuple[str, list[Analysis]]:
    """The analyser's name and version, and its analysis of each query (one Node run)."""
    names = [q.name for q in queries]
    if len(set(names)) != len(names):
        raise KqlError(
            f"query names must be unique: {sorted({n for n in names if names.count(n) > 1})}"
        )
    payload = {
        "tables": tables_json(columns),
        "queries": [{"name": q.name, "text": q.text} for q in queries],
    }
    process = subprocess.run(
        [node(), str(ANALYSER)],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=ROOT,
    )
    if process.returncode != 0:
        raise KqlError(
            f"{_relative(ANALYSER)} exited {process.returncode}: {process.stderr.strip()}"
        )
    answer = json.loads(process.stdout)
    by_name = {q.name: q for q in queries}
    analyses = []
    for result in answer["results"]:
        columns_out = result["columns"]
        analyses.append(
            Analysis(
                query=by_name[result["name"]],
                diagnostics=tuple(Diagnostic(**d) for d in result["diagnostics"]),
                columns=None if columns_out is None else tuple((n, t) for n, t in columns_out),
            )
        )
    if [a.query.name for a in analyses] != names:
        raise KqlError(f"{_relative(ANALYSER)} did not answer for every query")
    analyser = answer["analyser"]
    return f"{analyser['name']} {analyser['version']}", analyses


def problems(analyses: Iterable[Analysis], rules: Iterable[AlertRule]) -> list[str]:
    """What would break in Log Analytics: errors, non-tabular results, missing alert columns."""
    found = []
    by_name = {}
    for analysis in analyses:
        by_name[analysis.query.name] = analysis
        query = analysis.query
        for error in analysis.errors:
            found.append(
                f"{query.name} ({query.origin}): {error.code} {error.message} at "
                f"{error.where(query.text)}"
            )
        if analysis.columns is None:
            found.append(f"{query.name} ({query.origin}): the result is not a table")
    for rule in rules:
        analysis = by_name[rule.query.name]
        result = analysis.column_types
        shown = ", ".join(f"{n}:{t}" for n, t in result.items()) or "none"
        if rule.measure not in result:
            found.append(
                f"{rule.query.name}: measure column {rule.measure} is not in the result ({shown})"
            )
        elif result[rule.measure] not in NUMERIC:
            found.append(
                f"{rule.query.name}: measure column {rule.measure} is {result[rule.measure]}, not numeric"
            )
        for dimension in rule.dimensions:
            if dimension not in result:
                found.append(
                    f"{rule.query.name}: dimension column {dimension} is not in the result ({shown})"
                )
    return found


def check(queries: Sequence[Query], rules: Sequence[AlertRule]) -> Report:
    """Analyse the queries and list the problems."""
    analyser, analyses = analyse(queries)
    return Report(analyser, tuple(analyses), tuple(rules), tuple(problems(analyses, rules)))


@functools.cache
def project_report() -> Report:
    """The report on the project's own queries (computed once per process)."""
    queries, rules = project_queries()
    return check(queries, rules)


def main(argv: Sequence[str] | None = None) -> int:
    """``make infra-check``: the project's queries and any .kql files given; 1 on a problem."""
    extra = [Path(a).resolve() for a in (sys.argv[1:] if argv is None else argv)]
    missing = [str(p) for p in extra if not p.is_file()]
    if missing:
        print(f"kql: no such file: {', '.join(missing)}", file=sys.stderr)
        return 1
    try:
        queries, rules = project_queries()
        report = check(queries + file_queries(extra), rules)
    except KqlError as exc:
        print(f"kql: {exc}", file=sys.stderr)
        return 1
    for problem in report.problems:
        print(f"kql: {problem}", file=sys.stderr)
    print(report.summary())
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
