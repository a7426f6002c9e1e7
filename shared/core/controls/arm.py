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
from typing import Any

from shared.core.controls.configz import Observed, is_str_list, lookup, typed
from shared.core.errors import FieldTypeError

__all__ = [
    "Field",
    "lookup",
    "read_bool",
    "read_object",
    "read_objects",
    "read_str",
    "read_str_list",
]


class Field(Observed):
    """A value read at ``path`` of an ARM object, or the default that applied (absent)."""

    __slots__ = ()

    def describe(self) -> str:
        """Reason text that says when a default applied."""
        if self.present:
            return super().describe()
        return f"{self.path} is absent, so its default {json.dumps(self.value)} applies"


def read_bool(obj: Mapping[str, Any], path: str, default: bool) -> Field:
    """A JSON boolean at ``path``; absent means ``default``."""
    return Field(path, *typed(obj, path, default, lambda v: isinstance(v, bool), "a boolean"))


def read_str(obj: Mapping[str, Any], path: str, default: str) -> Field:
    """A JSON string at ``path``; absent means ``default``."""
    return Field(path, *typed(obj, path, default, lambda v: isinstance(v, str), "a string"))


def read_str_list(obj: Mapping[str, Any], path: str) -> Field:
    """A JSON list of strings at ``path`` (as a tuple); absent means the empty list."""
    value, present = typed(obj, path, (), is_str_list, "a list of strings")
    return Field(path, tuple(value), present)


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
