"""Reading the kubelet's configz document.

``GET /api/v1/nodes/{node}/proxy/configz`` answers ``{"kubeletconfig": {...}}``: the kubelet's
effective ``kubelet.config.k8s.io/v1beta1`` KubeletConfiguration after flags were merged, written
by Go's encoding/json. Fields tagged ``omitempty`` disappear when they hold their zero value, so
absence has a meaning (``readOnlyPort`` absent is 0, ``rotateCertificates`` absent is false).
The readers here therefore return whether a value was present, and never coerce types: ``"5"``
where a number belongs raises FieldTypeError instead of being guessed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.core.errors import ConfigzParseError, FieldTypeError

ABSENT_TEXT = "(absent)"


@dataclass(frozen=True, slots=True)
class Observed:
    """A value read at ``path`` (dotted, under ``kubeletconfig``), or the default that applied."""

    path: str
    value: Any
    present: bool

    def show(self) -> str:
        """Evidence text: the JSON value as read, or ``(absent)``."""
        return json.dumps(self.value) if self.present else ABSENT_TEXT

    def describe(self) -> str:
        """Reason text that says when a default was applied."""
        if self.present:
            return f"{self.path} is {json.dumps(self.value)}"
        return (
            f"{self.path} is absent from configz, so the kubelet default "
            f"{json.dumps(self.value)} applies"
        )


def parse_configz(body: bytes) -> Mapping[str, Any]:
    """Return the ``kubeletconfig`` object of a configz body, or raise ConfigzParseError."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, bad UTF-8, int digit limit
        raise ConfigzParseError(f"configz body is not valid JSON ({_brief(exc)})") from exc
    if not isinstance(document, dict):
        raise ConfigzParseError(
            f"configz body is a JSON {type(document).__name__}, expected an object"
        )
    if "kubeletconfig" in document and document["kubeletconfig"] is None:
        raise ConfigzParseError("configz 'kubeletconfig' is null, expected an object")
    config = document.get("kubeletconfig")
    if config is None:
        keys = ", ".join(sorted(map(str, document))[:5]) or "none"
        raise ConfigzParseError(
            f"configz body has no 'kubeletconfig' object (top-level keys: {keys})"
        )
    if not isinstance(config, dict):
        raise ConfigzParseError(
            f"configz 'kubeletconfig' is a JSON {type(config).__name__}, expected an object"
        )
    return config


def _brief(exc: Exception) -> str:
    return str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__


def lookup(obj: Mapping[str, Any], path: str) -> tuple[Any, bool]:
    """The value at dotted ``path`` and whether it is there (JSON null anywhere on the way, or at
    the end, decodes to Go's zero value: the same as absent). FieldTypeError names the parent
    that is not an object."""
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
    return node, node is not None


def typed(
    obj: Mapping[str, Any], path: str, default: Any, accepts: Any, expected: str
) -> tuple[Any, bool]:
    """The value at ``path`` if ``accepts(value)``, or ``default`` when absent; no coercion:
    FieldTypeError (naming ``expected``) for a value of another type."""
    value, present = lookup(obj, path)
    if not present:
        return default, False
    if not accepts(value):
        raise FieldTypeError(path, expected, value)
    return value, True


def _is_bool(value: object) -> bool:
    return isinstance(value, bool)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_str(value: object) -> bool:
    return isinstance(value, str)


def is_str_list(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def read_bool(config: Mapping[str, Any], path: str, default: bool) -> Observed:
    """A JSON boolean at ``path``; absent means ``default``. JSON null counts as absent."""
    return Observed(path, *typed(config, path, default, _is_bool, "a boolean"))


def read_int(config: Mapping[str, Any], path: str, default: int) -> Observed:
    """A JSON integer at ``path`` (booleans and fractions are wrong types); absent means default."""
    return Observed(path, *typed(config, path, default, _is_int, "an integer"))


def read_str(config: Mapping[str, Any], path: str, default: str) -> Observed:
    """A JSON string at ``path``; absent means ``default``."""
    return Observed(path, *typed(config, path, default, _is_str, "a string"))


_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_UNIT_SECONDS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}


def parse_go_duration(text: str) -> float:
    """Seconds in a Go ``time.Duration`` string (``"4h0m0s"``, ``"0s"``, ``"1.5h"``, ``"-5m"``).

    Raises ValueError for anything Go's ``time.ParseDuration`` would reject.
    """
    sign = 1.0
    rest = text
    if rest[:1] in "+-" and rest:
        sign = -1.0 if rest[0] == "-" else 1.0
        rest = rest[1:]
    if rest == "0":
        return 0.0
    if not rest:
        raise ValueError(f"invalid duration {text!r}")
    total = 0.0
    position = 0
    while position < len(rest):
        match = _DURATION_PART.match(rest, position)
        if match is None:
            raise ValueError(f"invalid duration {text!r}")
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        position = match.end()
    return sign * total


def read_str_list(config: Mapping[str, Any], path: str, default: tuple[str, ...]) -> Observed:
    """A JSON list of strings at ``path``; absent (or null) means ``default``. No coercion."""
    value, present = typed(config, path, default, is_str_list, "a list of strings")
    return Observed(path, value, present)


def read_duration_at(config: Mapping[str, Any], path: str, default: str) -> tuple[Observed, float]:
    """A Go duration string at ``path`` and its value in seconds; absent means ``default``."""
    observed = read_str(config, path, default)
    try:
        seconds = parse_go_duration(observed.value)
    except ValueError as exc:
        raise FieldTypeError(path, 'a Go duration string such as "4h0m0s"', observed.value) from exc
    return observed, seconds
