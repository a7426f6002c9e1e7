"""The policy file as strict pydantic models: one class per section of the file.

``shared.core.policy`` reads the document (YAML or JSON, shared.core.documents) and validates it
with ``PolicyFile``; this module is imported only then, so pydantic loads only when a policy file
is set. A new section of the file is a new model class and one field of ``PolicyFile``.

Each field's ``description`` is what it must be, quoted in the error that names the field
(shared.core.validation); validators raise ValueError with the whole sentence. Explicit nulls
are refused (``levels:`` with nothing after it is a mistake, not "the default").
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from shared.core.controls import Benchmark
from shared.core.controls.kubernetes import ALLOW_LISTS
from shared.core.model import QpsMode
from shared.core.validation import STRICT

MAX_REASON = 1000
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ].*", re.DOTALL)
_GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
# A registry login server: a host name (contoso.azurecr.io), optionally with a port; * and ? glob.
_LOGIN_SERVER = re.compile(
    r"(?=[^:]{1,253}(?::[0-9]{1,5})?\Z)[A-Za-z0-9*?](?:[A-Za-z0-9.*?-]*[A-Za-z0-9*?])?(?::[0-9]{1,5})?"
)
_SUB_GLOB = r"[0-9a-fA-F*?-]*[*?][0-9a-fA-F*?-]*"
# The three scope forms; a segment may glob with * and ?. Resource group characters are ARM's
# (letters, digits, _ - . ( )); cluster and pool names are letters, digits, - and _.
_SCOPE = re.compile(
    rf"/subscriptions/(?:{_GUID}|{_SUB_GLOB})"
    r"(?:/resourceGroups/[-\w.()*?]{1,90}"
    r"/providers/Microsoft\.ContainerService/managedClusters/[-\w*?]{1,63}"
    r"(?:/agentPools/[-\w*?]{1,63})?)?",
    re.IGNORECASE | re.ASCII,
)
SCOPE_FORMS = (
    "/subscriptions/<id>, /subscriptions/<id>/resourceGroups/<rg>/providers/"
    "Microsoft.ContainerService/managedClusters/<name>, or that cluster id followed by "
    "/agentPools/<pool>; * and ? glob"
)


def _not_null(value: object) -> object:
    if value is None:
        raise ValueError("must not be null (leave the key out for the default)")
    return value


NotNull = BeforeValidator(_not_null)


def expiry_date(value: object) -> date:
    """A calendar date written YYYY-MM-DD (a ``date`` passes; a timestamp is refused)."""
    if isinstance(value, datetime):
        raise ValueError(f"{value.isoformat()!r} is a timestamp; {_DATE_RULE}")  # noqa: TRY004 - pydantic reports a ValueError (not a TypeError) as the field's error
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise ValueError(f"must be a date (YYYY-MM-DD), got {type(value).__name__}")  # noqa: TRY004 - as above
    shown = repr(value) if len(value) <= 60 else repr(value[:57] + "...")
    if _DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{shown} is not a date that exists (YYYY-MM-DD)") from None
    if _TIMESTAMP.fullmatch(value):
        raise ValueError(f"{shown} is a timestamp; {_DATE_RULE}")
    raise ValueError(f"{shown} is not a date (YYYY-MM-DD)")


_DATE_RULE = "expires takes a date (YYYY-MM-DD): the exemption holds to the end of that day"


class EventRecordQps(BaseModel):
    """``eventRecordQPS``: the 3.2.7 rule; overrides EVENT_RECORD_QPS_MODE / _MIN."""

    model_config = STRICT
    WHAT: ClassVar[str] = "must be a mapping with mode and/or minimum"

    mode: Annotated[QpsMode | None, NotNull, Field(description="must be cis or zero-only")] = None
    minimum: Annotated[
        int | None,
        NotNull,
        Field(ge=1, le=10_000, description="must be an integer from 1 to 10000"),
    ] = None

    @field_validator("mode", mode="before")
    @classmethod
    def _mode(cls, value: object) -> object:
        if isinstance(value, str) and value not in {m.value for m in QpsMode}:
            raise ValueError(f"{value[:40]!r} is not cis or zero-only")
        return QpsMode(value) if isinstance(value, str) else value


class Exemption(BaseModel):
    """One entry of ``exemptions``: an accepted FAIL of one control in a scope, until a date."""

    model_config = STRICT
    WHAT: ClassVar[str] = "must be a mapping with control, scope, reason, expires"

    control: Annotated[str, Field(description='must be a control id such as "3.2.7"')]
    scope: Annotated[str, Field(description=f"must be a resource id: {SCOPE_FORMS}")]
    reason: Annotated[
        str, Field(description="must say why the risk is accepted (at least 3 characters)")
    ]
    expires: Annotated[date, BeforeValidator(expiry_date)]

    @field_validator("control")
    @classmethod
    def _control(cls, value: str, info: ValidationInfo) -> str:
        benchmark = (info.context or {}).get("benchmark")
        if isinstance(benchmark, Benchmark):
            ids = [c.id for c in benchmark.controls]
            if value not in ids:
                raise ValueError(
                    f"{value[:40]!r} is not a control of {benchmark.name} (CIS_BENCHMARK), so "
                    f"it could never apply; its controls: {', '.join(ids)}"
                )
        return value

    @field_validator("scope")
    @classmethod
    def _scope(cls, value: str) -> str:
        if not _SCOPE.fullmatch(value):
            shown = repr(value) if len(value) <= 200 else repr(value[:197] + "...")
            raise ValueError(f"{shown} is not a resource id of the forms {SCOPE_FORMS}")
        return value

    @field_validator("reason")
    @classmethod
    def _reason(cls, value: str) -> str:
        if len(value.strip()) < 3:
            raise ValueError("must say why the risk is accepted (at least 3 characters)")
        if len(value) > MAX_REASON:
            raise ValueError(f"is {len(value)} characters long; at most {MAX_REASON}")
        return value


def _object_id(value: str) -> str:
    if not re.fullmatch(_GUID, value):
        raise ValueError(f"{value[:60]!r} is not an object id (a GUID)")
    return value


def _login_server(value: str) -> str:
    if not _LOGIN_SERVER.fullmatch(value):
        raise ValueError(
            f"{value[:60]!r} is not a registry login server such as contoso.azurecr.io "
            "(* and ? glob)"
        )
    return value


class Registries(BaseModel):
    """``registries``: the judgements of 5.1.2 and 5.1.4 (who may write, which registries).

    An empty list is a judgement too: nobody approved, so every writer (or registry) FAILs.
    """

    model_config = STRICT
    WHAT: ClassVar[str] = "must be a mapping with writePrincipals and/or approved"

    writePrincipals: Annotated[
        list[Annotated[str, AfterValidator(_object_id)]] | None,
        NotNull,
        Field(description="must be a list of Entra object ids (GUIDs)"),
    ] = None
    approved: Annotated[
        list[Annotated[str, AfterValidator(_login_server)]] | None,
        NotNull,
        Field(description="must be a list of registry login servers such as contoso.azurecr.io"),
    ] = None

    @model_validator(mode="after")
    def _something(self) -> Registries:
        if self.writePrincipals is None and self.approved is None:
            raise ValueError("must set writePrincipals and/or approved")
        return self


class ImageScanning(BaseModel):
    """``imageScanning``: a third-party scanner that stands in for Defender (5.1.1)."""

    model_config = STRICT
    WHAT: ClassVar[str] = "must be a mapping with thirdParty"

    thirdParty: Annotated[
        str, Field(description="must name the scanner (and where it runs), at least 3 characters")
    ]

    @field_validator("thirdParty")
    @classmethod
    def _named(cls, value: str) -> str:
        if len(value.strip()) < 3 or len(value) > MAX_REASON:
            raise ValueError(f"must name the scanner in 3 to {MAX_REASON} characters")
        return value


_NAMESPACE = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
MAX_ALLOW = 1000


def _allow_key(value: str) -> str:
    if value not in ALLOW_LISTS:
        raise ValueError(
            f"{value[:40]!r} is not a section 4 control that takes an allow-list "
            f"(those that do: {', '.join(ALLOW_LISTS)}; 5.1.4 takes registries.approved)"
        )
    return value


def _pattern(value: str) -> str:
    if not value.strip() or value != value.strip() or len(value) > 300:
        raise ValueError(
            f"{value[:60]!r} must be a name or glob such as 'Group my-admins' or "
            "'ServiceAccount ci/*', without leading or trailing spaces, at most 300 characters"
        )
    return value


def _namespace(value: str) -> str:
    if not _NAMESPACE.fullmatch(value):
        raise ValueError(f"{value[:70]!r} is not a namespace name (an RFC 1123 label)")
    return value


class Kubernetes(BaseModel):
    """``kubernetes``: the judgements of section 4 (what is a system namespace, who is allowed)."""

    model_config = STRICT
    WHAT: ClassVar[str] = (
        "must be a mapping with systemNamespaces, allow and/or countUnsetPrivilegeEscalation"
    )

    systemNamespaces: Annotated[
        list[Annotated[str, AfterValidator(_namespace)]] | None,
        NotNull,
        Field(description="must be a list of namespace names (it replaces the default list)"),
    ] = None
    allow: Annotated[
        dict[
            Annotated[str, AfterValidator(_allow_key)],
            Annotated[
                list[Annotated[str, AfterValidator(_pattern)]],
                Field(max_length=MAX_ALLOW),
            ],
        ]
        | None,
        NotNull,
        Field(description="must map control ids such as '4.1.1' to lists of names or globs"),
    ] = None
    countUnsetPrivilegeEscalation: Annotated[
        bool, NotNull, Field(description="must be true or false")
    ] = False


Level = Annotated[int, Field(ge=1, le=2)]


class PolicyFile(BaseModel):
    """The whole file (version 1); every section is optional."""

    model_config = STRICT
    WHAT: ClassVar[str] = "must be a mapping"

    version: Annotated[int, NotNull, Field(description="only version 1 is supported")] = 1
    eventRecordQPS: Annotated[EventRecordQps | None, NotNull] = None
    levels: Annotated[
        list[Level] | None,
        NotNull,
        Field(min_length=1, description="must be a non-empty list of 1 and/or 2"),
    ] = None
    registries: Annotated[Registries | None, NotNull] = None
    imageScanning: Annotated[ImageScanning | None, NotNull] = None
    kubernetes: Annotated[Kubernetes | None, NotNull] = None
    exemptions: Annotated[
        list[Exemption], NotNull, Field(description="must be a list of exemptions")
    ] = Field(default_factory=list)

    @field_validator("version")
    @classmethod
    def _version(cls, value: int) -> int:
        if value != 1:
            raise ValueError("only version 1 is supported")
        return value


def validate(document: Any, benchmark: Benchmark) -> PolicyFile:
    """``document`` as a PolicyFile whose exemptions name controls of ``benchmark``."""
    return PolicyFile.model_validate(document, context={"benchmark": benchmark})
