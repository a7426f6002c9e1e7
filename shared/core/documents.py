"""Reading the YAML and JSON documents the scanner accepts from outside, with bounds.

Every surface that takes a document (the policy file, a kubeconfig, the ``POST /api/scan`` body,
the queue message, the demo's ``--faults`` file) reads it here, so one set of rules applies:

* **JSON** is UTF-8 (RFC 8259 section 8.1; no byte order mark), has no duplicate keys (the
  standard library would keep the last silently), no ``NaN``/``Infinity`` (not JSON), no
  number longer than ``MAX_NUMBER_DIGITS`` digits, no lone surrogate escape (``"\\ud800"``),
  and nests at most ``MAX_DEPTH`` deep.
* **YAML** is read with PyYAML's safe loader, plus: no duplicate keys, at most ``MAX_DEPTH``
  levels, and at most ``max_nodes`` nodes once aliases are expanded (a "billion laughs"
  document of a few hundred bytes stands for billions of nodes). Timestamps are not
  constructed: ``2027-03-31`` and ``2027-03-31T10:00:00Z`` stay strings, so the model that reads
  the document decides what a date is (PyYAML would raise on ``2027-02-30`` and turn a
  timestamp into a ``datetime``).

A document that breaks a rule raises ``DocumentError``, whose message completes a sentence about
the document ("body: not valid JSON: ...", "SCAN_POLICY: policy.yaml has a duplicate key ...").
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, SequenceNode

MAX_DEPTH = 64
MAX_NUMBER_DIGITS = 100
MAX_YAML_NODES = 100_000


class DocumentError(ValueError):
    """A document is not acceptable as JSON or YAML; the message says why (and where)."""


# -- JSON -----------------------------------------------------------------------------------


def load_json(data: bytes | str) -> Any:
    """Parse one JSON document under the rules above; DocumentError says what is wrong."""
    if isinstance(data, bytes):
        if data.startswith(b"\xef\xbb\xbf"):
            raise DocumentError("starts with a byte order mark (send UTF-8 without one)")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DocumentError(f"not UTF-8 (byte {exc.start} is not valid UTF-8)") from None
    else:
        text = data
    try:
        document = json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_constant=_no_constant,
            parse_int=_bounded_int,
            parse_float=_finite_float,
        )
    except json.JSONDecodeError as exc:
        raise DocumentError(
            f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from None
    except RecursionError:
        raise DocumentError(f"nests deeper than {MAX_DEPTH} levels") from None
    _inspect(document)
    return document


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for key, value in pairs:
        if key in document:
            raise DocumentError(f"not valid JSON: duplicate key {_shown(key)}")
        document[key] = value
    return document


def _no_constant(name: str) -> Any:
    raise DocumentError(f"not valid JSON: {name} is not a JSON number")


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise DocumentError(f"has a number with more than {MAX_NUMBER_DIGITS} digits")
    return int(text)


def _finite_float(text: str) -> float:
    if len(text) > MAX_NUMBER_DIGITS + 10:
        raise DocumentError(f"has a number with more than {MAX_NUMBER_DIGITS} digits")
    value = float(text)
    if not math.isfinite(value):
        raise DocumentError(f"has a number too large for a float ({text[:40]})")
    return value


def _inspect(document: Any) -> None:
    """Depth at most MAX_DEPTH and no lone surrogate in a key or string, without recursion.

    JSON's ``\\ud800`` escape can stand for half a surrogate pair, which is not a character
    (RFC 8259 section 8.2): such text cannot be encoded, logged or compared reliably.
    """
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        value, level = stack.pop()
        if isinstance(value, str):
            _whole_characters(value)
        elif isinstance(value, dict | list):
            if level > MAX_DEPTH:
                raise DocumentError(f"nests deeper than {MAX_DEPTH} levels")
            if isinstance(value, dict):
                for key in value:
                    _whole_characters(key)
            children: Iterable[Any] = value.values() if isinstance(value, dict) else value
            stack.extend((child, level + 1) for child in children)


def _whole_characters(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise DocumentError(
            f"not valid JSON: a string holds a lone surrogate ({text[exc.start]!r}), "
            "half of a UTF-16 pair"
        ) from None


# -- YAML -----------------------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """SafeLoader without timestamps, with a depth bound and duplicate keys refused."""

    max_depth = MAX_DEPTH
    _level = 0

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        self._level += 1
        try:
            if self._level > self.max_depth:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]  # untyped upstream
                raise DocumentError(
                    f"nests deeper than {self.max_depth} levels (line {mark.line + 1})"
                )
            return super().compose_node(parent, index)
        finally:
            self._level -= 1

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        # Keys written in this mapping must be distinct; keys a merge (<<) brings in may be
        # overridden by them, as YAML's merge key allows.
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=deep)
            try:
                duplicate = key in seen
                seen.add(key)
            except TypeError:  # an unhashable key: the base class names it
                break
            if duplicate:
                raise DocumentError(
                    f"has a duplicate key {_shown(key)} (line {key_node.start_mark.line + 1})"
                )
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return mapping


# Resolvers are class data: copy them before removing the timestamp resolver, so that PyYAML's
# own SafeLoader keeps it.
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_yaml(text: str, *, max_nodes: int = MAX_YAML_NODES) -> Any:
    """Parse one YAML (or JSON) document under the rules above; DocumentError says why not."""
    try:
        loader = _Loader(text)  # the reader refuses unprintable characters here
    except yaml.YAMLError as exc:
        raise DocumentError(f"is not valid YAML or JSON: {_problem(exc)}") from None
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_size(node, max_nodes)
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise DocumentError(f"is not valid YAML or JSON{where}: {_problem(exc)}") from None
    except DocumentError:
        raise
    except (
        ValueError
    ) as exc:  # a scalar PyYAML cannot build: !!timestamp 2027-02-30, a 5000-digit int
        raise DocumentError(f"has a value that cannot be read: {_shown(str(exc))}") from None
    finally:
        loader.dispose()


def _problem(exc: yaml.YAMLError) -> str:
    """PyYAML's own words for the problem, without the excerpt of the document it may add."""
    problem = getattr(exc, "problem", None) or getattr(exc, "reason", None)
    return str(problem) if problem else "not valid YAML"


def _check_size(node: Node, max_nodes: int) -> None:
    if _expanded_size(node, max_nodes) > max_nodes:
        raise DocumentError(
            f"expands to more than {max_nodes} YAML nodes (aliases that repeat other nodes); "
            "write it out without anchors and aliases"
        )


def _expanded_size(root: Node, limit: int) -> int:
    """Nodes of the document with every alias expanded, counted once per distinct node.

    Aliases make the node graph a DAG whose expansion can be exponential in its size; the
    size of each node is computed once (children first), so this is linear in the graph.
    """
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()  # pushed for expansion, not yet sized: the current path
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if id(node) in sizes:
            continue
        children = _children(node)
        if expanded or not children:
            total = 1 + sum(sizes[id(child)] for child in children)
            sizes[id(node)] = min(total, limit + 1)
            open_nodes.discard(id(node))
            continue
        if id(node) in open_nodes:
            raise DocumentError("refers to itself (a recursive alias)")
        open_nodes.add(id(node))
        stack.append((node, True))
        stack.extend((child, False) for child in children if id(child) not in sizes)
    return sizes[id(root)]


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []  # a ScalarNode


def _shown(value: object, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
