"""Identifiers the scanner accepts from outside, parsed once, as whole strings.

Every surface that takes a subscription or a cluster (settings, the HTTP body, the queue message,
the CLI, discovery results) parses it here, so one rule applies everywhere: the whole string must
match; nothing is trimmed, and a trailing newline or space is an error, not a silent fix. (A
regular expression's ``$`` also matches before a final newline; ``fullmatch`` does not.)

Case: Azure resource ids are case-insensitive. A ``ClusterId`` keeps the text as written for
display and compares by its lower-cased form; subscription ids are lower-cased.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_LOWER_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# Resource group: 1-90 letters, digits, underscores, hyphens, periods and parentheses (ARM naming
# rules); cluster name: 1-63 alphanumerics, hyphens and underscores, starting alphanumeric.
_CLUSTER_ID = re.compile(
    r"/subscriptions/(?P<sub>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})"
    r"/resourcegroups/(?P<rg>[-\w.()]{1,90})"
    r"/providers/microsoft\.containerservice/managedclusters/(?P<name>[a-zA-Z0-9][-_a-zA-Z0-9]{0,62})",
    re.IGNORECASE,
)
CLUSTER_ID_FORM = "/subscriptions/<id>/resourceGroups/<rg>/providers/Microsoft.ContainerService/managedClusters/<name>"


class IdentifierError(ValueError):
    """Text that is not the identifier it should be; the message says what was expected."""


def is_guid(text: str) -> bool:
    """True when ``text`` is exactly one GUID (either case), nothing before or after."""
    return _GUID.fullmatch(text) is not None


def is_lower_uuid(text: str) -> bool:
    """True when ``text`` is exactly one lower-case UUID (the run ids the scanner writes)."""
    return _LOWER_UUID.fullmatch(text) is not None


def subscription_id(text: str) -> str:
    """A subscription id, lower-cased; IdentifierError unless ``text`` is exactly a GUID."""
    if not is_guid(text):
        raise IdentifierError(f"{_shown(text)} is not a subscription id (GUID)")
    return text.lower()


@dataclass(frozen=True, slots=True)
class ClusterId:
    """An AKS managed cluster's resource id: subscription, resource group and name.

    Equal when the ids are equal ignoring case, as ARM compares them; ``str()`` gives the id.
    """

    subscription: str = field(compare=False)  # lower-cased GUID
    resource_group: str = field(compare=False)
    name: str = field(compare=False)
    text: str = field(compare=False)
    key: str = field(init=False, repr=False)  # the lower-cased id: equality and hash

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", self.text.lower())

    def __str__(self) -> str:
        return self.text

    @classmethod
    def parse(cls, text: str) -> ClusterId:
        """Parse a whole resource id; IdentifierError names what was expected."""
        match = _CLUSTER_ID.fullmatch(text) if isinstance(text, str) else None
        if match is None:
            raise IdentifierError(
                f"{_shown(text)} is not an AKS cluster resource id ({CLUSTER_ID_FORM})"
            )
        return cls(match["sub"].lower(), match["rg"], match["name"], text)


def parse_cluster_id(text: str) -> ClusterId | None:
    """The ClusterId of ``text``, or None when it is not one (for ids from Azure's own answers)."""
    try:
        return ClusterId.parse(text)
    except IdentifierError:
        return None


def _shown(value: object, limit: int = 300) -> str:
    text = repr(value) if isinstance(value, str) else type(value).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."
