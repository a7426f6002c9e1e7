"""Reading ARM JSON: the values a cluster-scoped check judges, with what absence means.

ARM omits a property that was never set (and Resource Graph returns what ARM returns), so each
reader takes the documented default that applies when a field is absent, and says so. JSON null
counts as absent. Types are never coerced: a string where ARM has a boolean raises
FieldTypeError, and that control is ERROR rather than guessed. Paths are dotted, relative to
the object given (a managed cluster's ``properties``, a registry's, a role definition's).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.core.errors import FieldTypeError

ABSENT_TEXT = "(absent)"


@dataclass(frozen=True, slots=True)
class Field:
    """A value read at ``path``, or the default that applied because it was absent."""

    path: str
    value: Any
    present: bool

    def show(self) -> str:
        """Evidence text: the JSON value as read, or ``(absent)``."""
        return json.dumps(self.value) if self.present else ABSENT_TEXT

    def describe(self) -> str:
        """Reason text that says when a default applied."""
        if self.present:
            return f"{self.path} is {json.dumps(self.value)}"
        return f"{self.path} is absent, so its default {json.dumps(self.value)} applies"


def lookup(obj: Mapping[str, Any], path: str) -> tuple[Any, bool]:
    """The value at ``path`` and whether it is there; FieldTypeError when a parent is no object."""
    node: Any = obj
    walked: list[str] = []
    for part in path.split("."):
        if node is None:
            return None, False
        if not isinstance(node, Mapping):
            raise FieldTypeError(".".join(walked), "an object", node)
        if part not in node:
            return None, False
        node = node[part]
        walked.append(part)
    return (node, node is not None)


def read_bool(obj: Mapping[str, Any], path: str, default: bool) -> Field:
    """A JSON boolean at ``path``; absent means ``default``."""
    value, present = lookup(obj, path)
    if not present:
        return Field(path, default, present=False)
    if not isinstance(value, bool):
        raise FieldTypeError(path, "a boolean", value)
    return Field(path, value, present=True)


def read_str(obj: Mapping[str, Any], path: str, default: str) -> Field:
    """A JSON string at ``path``; absent means ``default``."""
    value, present = lookup(obj, path)
    if not present:
        return Field(path, default, present=False)
    if not isinstance(value, str):
        raise FieldTypeError(path, "a string", value)
    return Field(path, value, present=True)


def read_str_list(obj: Mapping[str, Any], path: str) -> Field:
    """A JSON list of strings at ``path`` (as a tuple); absent means the empty list."""
    value, present = lookup(obj, path)
    if not present:
        return Field(path, (), present=False)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise FieldTypeError(path, "a list of strings", value)
    return Field(path, tuple(value), present=True)


def read_objects(obj: Mapping[str, Any], path: str) -> list[Mapping[str, Any]]:
    """A JSON list of objects at ``path``; absent means none."""
    value, present = lookup(obj, path)
    if not present:
        return []
    if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
        raise FieldTypeError(path, "a list of objects", value)
    return value


def read_object(obj: Mapping[str, Any], path: str) -> Mapping[str, Any]:
    """A JSON object at ``path``; absent means the empty object."""
    value, present = lookup(obj, path)
    if not present:
        return {}
    if not isinstance(value, Mapping):
        raise FieldTypeError(path, "an object", value)
    return value
