"""A column check for the KQL in infra/ (alert queries and the workbook), without a KQL engine.

The rule it enforces: every identifier that starts with an upper-case letter is a column of a
table the query reads, a table, or a name the query itself defines (``let X =``, ``X =`` in
``extend``/``summarize``/``project``/``print``, ``by X =``). KQL's operators, functions and
keywords are lower case, and so are the queries' own scalar ``let`` names (``period``), while
every column of the scanner's tables is PascalCase; so a misspelt or renamed column is caught.
Strings, comments and workbook parameter tokens (``{Cluster}``, ``{TimeRange:grain}``) are
removed first.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

_COMMENT = re.compile(r"//[^\n]*")
_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'')
_WORKBOOK_TOKEN = re.compile(r"\{[A-Za-z][A-Za-z0-9_]*(?::[A-Za-z]+)?\}")
_IDENTIFIER = re.compile(r"\b[A-Za-z_][A-Za-z0-9_]*\b")
_DEFINED = re.compile(r"\b([A-Za-z_][A-Za-z0-9_]*)\s*=(?![=~])")
_LET = re.compile(r"\blet\s+([A-Za-z_][A-Za-z0-9_]*)")
_TABLE = re.compile(r"\b[A-Za-z][A-Za-z0-9_]*_CL\b")


@dataclass(frozen=True, slots=True)
class ColumnReport:
    """What one query reads and what it names that no table has."""

    tables: frozenset[str]
    unknown_tables: frozenset[str]
    unknown_names: frozenset[str]
    defined: frozenset[str]


def strip(query: str) -> str:
    """The query without string literals, comments and workbook parameter tokens."""
    query = _STRING.sub('""', query)
    query = _COMMENT.sub("", query)
    return _WORKBOOK_TOKEN.sub("x", query)


def defined_names(query: str) -> frozenset[str]:
    """Names the query binds itself: let names and column aliases (``X = ...``)."""
    code = strip(query)
    return frozenset(_LET.findall(code)) | frozenset(_DEFINED.findall(code))


def check_columns(query: str, schema: Mapping[str, Sequence[str]]) -> ColumnReport:
    """Compare the PascalCase names of ``query`` with the columns of the tables it reads."""
    code = strip(query)
    tables = frozenset(_TABLE.findall(code))
    known_tables = tables & set(schema)
    columns = {column for table in known_tables for column in schema[table]}
    defined = defined_names(query)
    names = {name for name in _IDENTIFIER.findall(code) if name[0].isupper()}
    unknown = names - columns - defined - tables
    return ColumnReport(
        tables=tables,
        unknown_tables=frozenset(tables - set(schema)),
        unknown_names=frozenset(unknown),
        defined=defined,
    )
