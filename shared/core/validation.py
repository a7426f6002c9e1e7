"""pydantic's validation errors in the scanner's own words: a field path and what it must be.

The input models (the policy file, the ``POST /api/scan`` body, the queue message, the demo's
``--faults`` file) are strict pydantic models. When one refuses a document, ``first_problem``
turns pydantic's first error into ``(field, detail)``: the path as a reader writes it
(``exemptions[2].expires``) and the sentence the field's model gives for it, so the messages stay
those of the rest of the scanner rather than pydantic's own text. Each model field says what it
must be in its ``description`` ("must be a list of subscription ids"); a validator that refuses a
value raises ``ValueError`` with the whole sentence.

Imported only by the modules that define models, so that pydantic loads when a document is
validated and never at import time of the Functions app.
"""

from __future__ import annotations

import re
import types
import typing
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.fields import FieldInfo

#: Every input model: exact types (no "5" for 5, no 1 for true), unknown keys refused.
STRICT = ConfigDict(strict=True, extra="forbid", frozen=True, hide_input_in_errors=True)

_TYPE_ERRORS = {
    "string_type",
    "int_type",
    "bool_type",
    "float_type",
    "list_type",
    "dict_type",
    "model_type",
    "model_attributes_type",
    "literal_error",
    "enum",
    "is_instance_of",
    "date_type",
    "int_from_float",
    "none_required",
}
_PLAIN = re.compile(r"[A-Za-z0-9_-]{1,100}")
_TYPE_WORDS = {
    "string_type": "must be a string",
    "int_type": "must be an integer",
    "int_from_float": "must be an integer",
    "bool_type": "must be true or false",
    "float_type": "must be a number",
    "list_type": "must be a list",
    "dict_type": "must be a mapping",
    "model_type": "must be a mapping",
}
_FIXED = {"missing": "required", "invalid_key": "keys must be strings"}
#: The last part of pydantic's ``loc`` when a ``dict[K, V]`` refused a key (not its value).
_KEY = "[key]"
_JSON_TYPES = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    list: "list",
    dict: "mapping",
    type(None): "null",
}


def first_problem(
    error: ValidationError, model: type[BaseModel], document: object
) -> tuple[str, str]:
    """``(field path, detail)`` of the first problem pydantic found in ``document``."""
    details = error.errors(include_url=False, include_input=False)
    item = details[0]
    loc = tuple(item["loc"])
    kind = item["type"]
    field = field_path(loc)
    refused_key = bool(loc) and loc[-1] == _KEY
    if refused_key:  # a mapping's key was refused: name it as a key, and show it as what was got
        loc = loc[:-1]
    if kind == "invalid_key" or refused_key:  # the last part is the key itself, not an index
        prefix = field_path(loc[:-1])
        field = f"{prefix}.{shown_key(loc[-1])}" if prefix else shown_key(loc[-1])
    if kind == "extra_forbidden":
        parent = _model_at(model, loc[:-1])
        allowed = ", ".join(_fields(parent)) if parent is not None else ""
        return field, f"unknown key (allowed: {allowed})" if allowed else "unknown key"
    if kind in _FIXED:
        return field, _FIXED[kind]
    if kind in ("value_error", "assertion_error"):
        ctx = item.get("ctx") or {}
        return field, str(ctx.get("error", item["msg"]))
    description = _description(model, loc)
    got = f", got {_got(loc[-1] if refused_key else _value_at(document, loc))}"
    if kind in _TYPE_ERRORS:
        return field, f"{description or _TYPE_WORDS.get(kind, 'has the wrong type')}{got}"
    if kind == "too_long":
        ctx = item.get("ctx") or {}
        return field, f"has {ctx.get('actual_length')} entries; at most {ctx.get('max_length')}"
    return field, description or str(item["msg"])


def field_path(loc: tuple[int | str, ...]) -> str:
    """``("exemptions", 2, "expires")`` as ``exemptions[2].expires``; keys shown safely."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            name = shown_key(part)
            path += f".{name}" if path else name
    return path


def shown_key(key: object) -> str:
    """A key as written when it is a plain name (letters, digits, _ and -), else quoted.

    Quoting (``ascii()``) keeps a path unambiguous (a key may hold ``.``, ``[`` or ``: ``) and
    printable as JSON and in a log line (a key may hold a control character or a lone
    surrogate); long keys are cut.
    """
    if isinstance(key, str) and _PLAIN.fullmatch(key):
        return key
    shown = ascii(key)
    return shown if len(shown) <= 100 else shown[:96] + "...'"


def _got(value: object) -> str:
    """What was found instead: its JSON type, and the value itself when it is a short scalar."""
    kind = _json_type(value)
    if value is None or isinstance(value, list | dict):
        return kind
    if isinstance(value, bool):
        return f"{kind} {str(value).lower()}"
    shown = ascii(value)  # escaped: a value may hold control characters or lone surrogates
    return f"{kind} {shown if len(shown) <= 40 else shown[:36] + '...' + shown[-1]}"


def _json_type(value: object) -> str:
    for kind, name in _JSON_TYPES.items():
        if type(value) is kind:
            return name
    return type(value).__name__


def _value_at(document: object, loc: tuple[int | str, ...]) -> object:
    value = document
    for part in loc:
        in_list = isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value)
        if not (in_list or (isinstance(value, dict) and part in value)):
            return None
        value = value[part]  # type: ignore[index]  # a list index or a key checked just above
    return value


def _model_at(model: type[BaseModel], loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The model class that validates the mapping at ``loc`` (None if it is not a model)."""
    current: type[BaseModel] | None = model
    for part in loc:
        if current is None:
            return None
        if isinstance(part, int):
            continue
        info = _fields(current).get(part)
        if info is None:
            return None
        current = _inner_model(info.annotation)
    return current


def _description(model: type[BaseModel], loc: tuple[int | str, ...]) -> str:
    """What the value at ``loc`` must be: the deepest field's description, or the model's WHAT.

    A list item takes its list field's description, unless the items are models that say what
    they must be themselves (``exemptions[0]``: "must be a mapping with control, ...").
    """
    current: type[BaseModel] | None = model
    description = _model_description(model)
    for part in loc:
        if isinstance(part, int):
            if current is not None and _model_description(current):
                description = _model_description(current)
            continue
        info = _fields(current).get(part) if current is not None else None
        if info is None:
            break
        current = _inner_model(info.annotation)
        description = info.description or (_model_description(current) if current else "")
    return description


def _fields(model: type[BaseModel]) -> dict[str, FieldInfo]:
    """A model's fields by the key a document uses (the alias, when there is one)."""
    return {info.alias or name: info for name, info in model.model_fields.items()}


def _model_description(model: type[BaseModel]) -> str:
    return str(getattr(model, "WHAT", ""))


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    """The model inside ``annotation`` (``Model``, ``list[Model]``, ``Model | None``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = get_origin(annotation)
    if origin in (list, tuple, typing.Union, types.UnionType, typing.Annotated):
        for arg in get_args(annotation):
            found = _inner_model(arg)
            if found is not None:
                return found
    return None
