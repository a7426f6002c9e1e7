"""The slice of Azure Resource Graph's query language the scanner's queries use.

No KQL engine: a query reads the table its first word names (``resources``,
``securityresources``, ``authorizationresources``; ``table_of``) and the rows of the type its
``where type =~ '<type>'`` (or ``==``) test names (``type_of``); rows of other types, or a query
with no type test, return nothing. ``extend`` and the last ``project`` are evaluated for the
expression forms the scanner's queries use: column names,
dotted or bracketed paths into dynamic columns (``properties.aadProfile.managed``,
``properties['fqdn']``), and the conversion functions ``tostring``, ``tobool``/``toboolean``,
``toint``/``tolong``, ``todouble``/``toreal``, ``tolower``, ``toupper``, ``todynamic``/
``parse_json``. Property names are case-sensitive, as in KQL. Other clauses (``where`` beyond the
type test, ``order by``, ``limit``) are not interpreted, so a narrowing ``where`` returns more rows
than Azure would (the scanner re-checks what it reads); rows always come ordered by ``id``.

A ``project`` this module cannot read raises ``UnsupportedQueryError``; the server then answers
every documented discovery column (``SUPERSET_COLUMNS``) plus the whole ``properties`` object
and logs a warning, so a new query shape degrades visibly instead of failing the scan.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

MANAGED_CLUSTERS = "microsoft.containerservice/managedclusters"

_IDENT = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_TYPE_TEST = re.compile(r"\bwhere\s+type\s*(?:=~|==)\s*['\"]([^'\"]+)['\"]", re.IGNORECASE)
TABLES = ("resources", "securityresources", "authorizationresources")
_CALL = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*\((.*)\)$", re.DOTALL)


class UnsupportedQueryError(ValueError):
    """The query uses syntax this simulator does not evaluate."""


def _tostring(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _tobool(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def _toint(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def _todouble(value: Any) -> Any:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _case(fn: Callable[[str], str]) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        return fn(value) if isinstance(value, str) else value

    return convert


def _dynamic(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


_FUNCTIONS: dict[str, Callable[[Any], Any]] = {
    "tostring": _tostring,
    "tobool": _tobool,
    "toboolean": _tobool,
    "toint": _toint,
    "tolong": _toint,
    "todouble": _todouble,
    "toreal": _todouble,
    "tolower": _case(str.lower),
    "toupper": _case(str.upper),
    "todynamic": _dynamic,
    "parse_json": _dynamic,
}

SUPERSET_COLUMNS: dict[str, str] = {
    "id": "id",
    "name": "name",
    "type": "type",
    "subscriptionId": "subscriptionId",
    "resourceGroup": "resourceGroup",
    "location": "location",
    "tenantId": "tenantId",
    "fqdn": "tostring(properties.fqdn)",
    "privateFqdn": "tostring(properties.privateFQDN)",
    "aadManaged": "tobool(properties.aadProfile.managed)",
    "azureRbac": "tobool(properties.aadProfile.enableAzureRBAC)",
    "disableLocalAccts": "tobool(properties.disableLocalAccounts)",
    "enableRbac": "tobool(properties.enableRBAC)",
    "privateCluster": "tobool(properties.apiServerAccessProfile.enablePrivateCluster)",
    "powerState": "tostring(properties.powerState.code)",
    "k8sVersion": "tostring(properties.currentKubernetesVersion)",
    "agentPools": "properties.agentPoolProfiles",
    "properties": "properties",
}


def _split_top(text: str, separator: str) -> list[str]:
    """Split on ``separator`` outside parentheses, brackets and quotes."""
    parts: list[str] = []
    depth = 0
    quote = ""
    current: list[str] = []
    for char in text:
        if quote:
            current.append(char)
            if char == quote:
                quote = ""
            continue
        if char in "'\"":
            quote = char
        elif char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char == separator and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return parts


def _path(expr: str) -> list[str | int]:
    """``properties.a['b'][0]`` -> ["properties", "a", "b", 0]; UnsupportedQueryError otherwise."""
    steps: list[str | int] = []
    rest = expr.strip()
    match = _IDENT.match(rest)
    if match is None:
        raise UnsupportedQueryError(f"cannot evaluate {expr!r}")
    steps.append(match.group(0))
    rest = rest[match.end() :]
    while rest:
        if rest.startswith("."):
            match = _IDENT.match(rest, 1)
            if match is None:
                raise UnsupportedQueryError(f"cannot evaluate {expr!r}")
            steps.append(match.group(0))
            rest = rest[match.end() :]
        elif rest.startswith("["):
            close = rest.find("]")
            if close < 0:
                raise UnsupportedQueryError(f"cannot evaluate {expr!r}")
            key = rest[1:close].strip()
            if len(key) >= 2 and key[0] == key[-1] and key[0] in "'\"":
                steps.append(key[1:-1])
            elif key.lstrip("-").isdigit():
                steps.append(int(key))
            else:
                raise UnsupportedQueryError(f"cannot evaluate {expr!r}")
            rest = rest[close + 1 :]
        else:
            raise UnsupportedQueryError(f"cannot evaluate {expr!r}")
    return steps


def evaluate(expr: str, row: Mapping[str, Any]) -> Any:
    """The value of a projection expression for one row (KQL null is None)."""
    text = expr.strip()
    call = _CALL.match(text)
    if call is not None:
        function = _FUNCTIONS.get(call.group(1).lower())
        if function is None:
            raise UnsupportedQueryError(f"function {call.group(1)!r} is not simulated")
        return function(evaluate(call.group(2), row))
    value: Any = row
    for step in _path(text):
        if isinstance(step, int):
            value = (
                value[step]
                if isinstance(value, list) and -len(value) <= step < len(value)
                else None
            )
        else:
            value = value.get(step) if isinstance(value, dict) else None
        if value is None:
            return None
    return value


def _assignments(clause: str) -> list[tuple[str, str]]:
    items: list[tuple[str, str]] = []
    for raw in _split_top(clause, ","):
        item = raw.strip()
        if not item:
            continue
        match = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)\s*=(?![=~])\s*(.+)$", item, re.DOTALL)
        if match is not None:
            items.append((match.group(1), match.group(2)))
        elif _IDENT.fullmatch(item):
            items.append((item, item))
        else:
            raise UnsupportedQueryError(
                f"projection item {item!r} needs a name (name = expression)"
            )
    return items


def table_of(query: str) -> str:
    """The table a query reads (its first word, lower case)."""
    match = _IDENT.match(query.strip())
    return match.group(0).lower() if match else ""


def type_of(query: str) -> str:
    """The resource type of the query's ``where type =~ '...'`` test (lower case), or ""."""
    match = _TYPE_TEST.search(query)
    return match.group(1).lower() if match else ""


def run_query(query: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows ``query`` returns from ``rows`` (Resource Graph rows of its table)."""
    wanted = type_of(query)
    if not wanted:
        return []
    rows = [row for row in rows if str(row.get("type", "")).lower() == wanted]
    stages = [s.strip() for s in _split_top(query, "|")]
    projection: list[tuple[str, str]] | None = None
    extensions: list[tuple[str, str]] = []
    for stage in stages[1:]:
        keyword, _, rest = stage.partition(" ")
        keyword = keyword.lower()
        if keyword == "project":
            projection = _assignments(rest)
        elif keyword == "extend":
            extensions.extend(_assignments(rest))
        elif keyword.startswith("project-") or keyword in (
            "summarize",
            "join",
            "union",
            "mv-expand",
        ):
            raise UnsupportedQueryError(f"{keyword} is not simulated")
    result: list[dict[str, Any]] = []
    for row in rows:
        current = dict(row)
        for name, expr in extensions:
            current[name] = evaluate(expr, current)
        if projection is None:
            result.append(current)
        else:
            result.append({name: evaluate(expr, current) for name, expr in projection})
    return result


def superset(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every documented discovery column plus ``properties`` (the fallback answer)."""
    return [{name: evaluate(expr, row) for name, expr in SUPERSET_COLUMNS.items()} for row in rows]


def as_table(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Rows in ``resultFormat: table`` shape: ``{"columns": [...], "rows": [[...]]}``."""
    names: list[str] = []
    for row in rows:
        for key in row:
            if key not in names:
                names.append(key)

    def kind(name: str) -> str:
        for row in rows:
            value = row.get(name)
            if isinstance(value, bool):
                return "boolean"
            if isinstance(value, int | float):
                return "integer" if isinstance(value, int) else "number"
            if isinstance(value, str):
                return "string"
            if isinstance(value, dict | list):
                return "object"
        return "string"

    return {
        "columns": [{"name": n, "type": kind(n)} for n in names],
        "rows": [[row.get(n) for n in names] for row in rows],
    }
