"""Read infra/ the way checkov reads it (pycep-parser), and evaluate the literal parts.

No Bicep compiler installs here, so the tests read the same syntax tree that checkov builds.
``Template`` wraps one parsed file; ``Template.evaluate`` turns an expression of that tree into
a Python value where the value is known before deployment (literals, variables, parameter
defaults or the values a module call passes, ``loadTextContent``, ``replace``, ``string``,
``join``, ``split``, ``empty``, ``union``, ``concat``, string interpolation, ``==``, ``?:``) and into an ``Opaque``
holding the expression's text otherwise (a resource property, a module output).

One quirk of the parser: a bare identifier and a string literal both come out as a Python
``str``. A ``str`` that names a variable, a parameter or a loop item of the template is
therefore read as a reference; the templates never use such a name as a literal.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from pycep import BicepParser

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
MAIN = INFRA / "main.bicep"

_INTERPOLATION = re.compile(r"\$\{([^{}]+)\}")


class BicepParseError(AssertionError):
    """pycep-parser (so checkov too) cannot parse a file."""


@dataclass(frozen=True, slots=True)
class Opaque:
    """A value only Azure knows at deployment; ``text`` is the expression, for assertions."""

    text: str


def bicep_files() -> list[Path]:
    """Every .bicep file under infra/, sorted."""
    return sorted(INFRA.rglob("*.bicep"))


@functools.cache
def parse(path: Path) -> dict[str, Any]:
    """The pycep syntax tree of one file; BicepParseError names the file and the first error."""
    try:
        tree = cast(dict[str, Any], BicepParser().parse(text=path.read_text(encoding="utf-8")))
    except Exception as exc:  # noqa: BLE001 - lark raises several unrelated types; all mean "cannot parse"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        raise BicepParseError(f"{where}: {first}") from None
    return tree


def render(expr: Any) -> str:
    """Bicep-like text of an expression, for messages and for comparing references."""
    if isinstance(expr, dict):
        if "operator" in expr:
            operator = expr["operator"]
            operands = operator.get("operands", {})
            if operator["type"] == "property_accessor":
                return f"{render(operands['operand_1'])}.{render(operands['operand_2'])}"
            if operator["type"] == "index_accessor":
                return f"{render(operands['operand_1'])}[{render(operands['operand_2'])}]"
            return f"{operator['type']}({', '.join(render(v) for v in operands.values())})"
        if "function" in expr:
            function = expr["function"]
            arguments = ", ".join(
                render(v) for v in (function.get("parameters") or {}).values() if v is not None
            )
            text = f"{function['type']}({arguments})"
            if function.get("property_name"):
                text += f".{function['property_name']}"
            return text
    if isinstance(expr, str):
        return expr
    return json.dumps(expr, default=str)


@dataclass(frozen=True)
class Template:
    """One parsed .bicep file, with the parameter values a module call passes to it."""

    path: Path
    bindings: Mapping[str, Any] = field(default_factory=dict)

    @property
    def tree(self) -> dict[str, Any]:
        """The pycep syntax tree."""
        return parse(self.path)

    @property
    def name(self) -> str:
        """Path relative to the repository, for messages."""
        return str(self.path.relative_to(ROOT))

    def section(self, name: str) -> dict[str, Any]:
        """``parameters``, ``variables``, ``resources``, ``modules`` or ``outputs``."""
        value: dict[str, Any] = self.tree.get(name) or {}
        return value

    def resources_of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        """Symbolic name -> resource, for resources of one type (children named parent__child)."""
        return {
            symbol: resource
            for symbol, resource in self.section("resources").items()
            if resource["type"].lower() == resource_type.lower()
        }

    def resource_body(self, symbol: str) -> dict[str, Any]:
        """The resource's body, inside its loop if it has one."""
        config: dict[str, Any] = self.section("resources")[symbol]["config"]
        return config["config"] if "loop_type" in config else config

    def module(self, symbol: str) -> Template:
        """The template a module of this file deploys, bound to the values this file passes."""
        module = self.section("modules")[symbol]
        config = module["config"]
        loop = config.get("loop_type")
        body = config["config"] if loop else config
        scope: dict[str, Any] = {}
        if loop:  # bind the loop item to the first element, when the array is known
            items = self.evaluate(loop["detail"]["array_name"])
            first = items[0] if isinstance(items, list) and items else Opaque("loop item")
            scope[loop["detail"]["item_name"]] = first
        params = {k: self.evaluate(v, scope) for k, v in (body.get("params") or {}).items()}
        return Template((self.path.parent / module["detail"]["path"]).resolve(), params)

    def module_body(self, symbol: str) -> dict[str, Any]:
        """The module call's body (name, scope, params), inside its loop if it has one."""
        config: dict[str, Any] = self.section("modules")[symbol]["config"]
        return config["config"] if "loop_type" in config else config

    def with_bindings(self, **values: Any) -> Template:
        """The same file with some parameters set (as a module call would)."""
        return Template(self.path, {**self.bindings, **values})

    def param(self, name: str) -> Any:
        """A parameter's value: what the caller passed, else its default, else Opaque."""
        if name in self.bindings:
            return self.bindings[name]
        default = self.section("parameters")[name].get("default")
        return Opaque(f"param {name}") if default is None else self.evaluate(default)

    def decorators(self, section: str, name: str) -> dict[str, Any]:
        """Decorator type -> argument of a parameter or output."""
        entry = self.section(section)[name]
        return {d["type"]: d.get("argument") for d in entry.get("decorators", [])}

    def evaluate(self, expr: Any, scope: Mapping[str, Any] | None = None) -> Any:
        """The value of an expression, or Opaque where only the deployment knows it."""
        scope = scope or {}
        if expr is None or isinstance(expr, bool | int | float):
            return expr
        if isinstance(expr, list):
            return [self.evaluate(item, scope) for item in expr]
        if isinstance(expr, str):
            return self._reference(expr, scope)
        if "function" in expr and len(expr) == 1:
            return self._function(expr["function"], scope)
        if "operator" in expr and len(expr) == 1:
            return self._operator(expr, scope)
        return {self._key(k, scope): self.evaluate(v, scope) for k, v in expr.items()}

    def _key(self, key: str, scope: Mapping[str, Any]) -> Any:
        if len(key) >= 2 and key[0] == key[-1] == "'":  # pycep keeps the quotes of a quoted key
            return self._interpolate(key[1:-1], scope)
        return key

    def _reference(self, text: str, scope: Mapping[str, Any]) -> Any:
        if text in scope:
            return scope[text]
        if text in self.section("variables"):
            return self.evaluate(self.section("variables")[text]["value"], scope)
        if text in self.section("parameters"):
            return self.param(text)
        return self._interpolate(text, scope)

    def _interpolate(self, text: str, scope: Mapping[str, Any]) -> Any:
        parts: list[str] = []
        position = 0
        for match in _INTERPOLATION.finditer(text):
            value = self._reference(match.group(1).strip(), scope)
            if isinstance(value, bool):
                value = str(value).lower()
            if not isinstance(value, str | int):
                return Opaque(text)
            parts += [text[position : match.start()], str(value)]
            position = match.end()
        return "".join(parts) + text[position:]

    def _function(self, function: dict[str, Any], scope: Mapping[str, Any]) -> Any:
        args = {k: self.evaluate(v, scope) for k, v in (function.get("parameters") or {}).items()}
        handler = _FUNCTIONS.get(function["type"])
        if handler is None or any(_has_opaque(v) for v in args.values()):
            return Opaque(render({"function": function}))
        return handler(self, args)

    def _operator(self, expr: dict[str, Any], scope: Mapping[str, Any]) -> Any:
        operator = expr["operator"]
        if operator["type"] == "property_accessor":  # a.b.c arrives as a.(b.c)
            chain = render(expr).split(".")
            value = self._reference(chain[0], scope)
            for key in chain[1:]:
                if not isinstance(value, dict) or key not in value:
                    return Opaque(render(expr))
                value = value[key]
            return value
        if operator["type"] in ("equals", "not_equals"):
            operands = operator["operands"]
            left = self.evaluate(operands["operand_1"], scope)
            right = self.evaluate(operands["operand_2"], scope)
            if not _has_opaque([left, right]):
                return (left == right) == (operator["type"] == "equals")
        if operator["type"] == "conditional":
            operands = operator["operands"]
            condition = self.evaluate(operands["condition"], scope)
            if isinstance(condition, bool):
                branch = operands["true_value" if condition else "false_value"]
                return self.evaluate(branch, scope)
        return Opaque(render(expr))


def _union(args: dict[str, Any]) -> Any:
    merged: dict[str, Any] = {}
    for value in args.values():
        if not isinstance(value, dict):
            return Opaque("union(...)")
        merged.update(value)
    return merged


def _string(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


#: The Bicep functions the evaluator knows (pycep names), over already evaluated arguments.
_FUNCTIONS: dict[str, Callable[[Template, dict[str, Any]], Any]] = {
    "load_text_content": lambda t, a: (t.path.parent / a["file_path"]).read_text(encoding="utf-8"),
    "replace": lambda _, a: str(a["original_string"]).replace(a["old_string"], a["new_string"]),
    "string": lambda _, a: _string(a["value_to_convert"]),
    "join": lambda _, a: str(a["delimiter"]).join(a["input_array"]),
    "split": lambda _, a: str(a["input_string"]).split(a["delimiter"]),
    "empty": lambda _, a: not a["item_to_test"],
    "union": lambda _, a: _union(a),
    "concat": lambda _, a: _concat(a),
}


def _concat(args: dict[str, Any]) -> Any:
    values = [args[k] for k in sorted(args, key=lambda k: int(k.rsplit("_", 1)[-1]))]
    if all(isinstance(v, list) for v in values):
        return [item for value in values for item in value]
    if all(isinstance(v, str) for v in values):
        return "".join(values)
    return Opaque("concat(...)")


def _has_opaque(value: Any) -> bool:
    if isinstance(value, Opaque):
        return True
    if isinstance(value, list):
        return any(_has_opaque(v) for v in value)
    if isinstance(value, dict):
        return any(_has_opaque(v) for v in value.values())
    return False


def main() -> Template:
    """infra/main.bicep with its parameters at their defaults."""
    return Template(MAIN)


def walk(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every (path, value) pair of a syntax tree, depth first."""
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, f"{path}[{index}]")
