"""Who may trigger a scan: the pure half of POST /api/scan's Entra ID check.

The trigger answers only to a caller whose Entra ID access token carries the app role
(``SCAN_API_ROLE``, default ``Scan.Run``) in its ``roles`` claim. The signature, algorithm,
issuer, audience and lifetime need the tenant's published keys and are checked with PyJWT in
``shared.adapters.entra_auth``; this module holds what needs no key and no network:

* ``bearer_token``: the one ``Authorization: Bearer <token>`` header, nothing else (RFC 6750
  section 2.1 only; a token in the query string is refused, never read), capped in size
  before anything parses it;
* ``caller_from_claims``: the tenant, the caller's object id and the app role, from claims
  whose signature already verified;
* ``Caller``: who asked, as the run record's ``TriggeredBy`` and the log line that starts a run
  show it (object id, application id, display name: never the token);
* ``refusal``: the 401/403/503 answer (status, ``WWW-Authenticate``, RFC 9457 problem body).

Claim facts (MicrosoftDocs/entra-docs ``docs/identity-platform/access-token-claims-reference.md``
at 003f1aad): ``roles`` is "the set of permissions exposed by the application that the
requesting application or user has been given permission to call"; the client credential flow
uses it "in place of user scopes for application tokens", and for user tokens it holds "the
assigned roles of the user on the target application", so one check covers people and
pipelines. ``oid`` is "the immutable identifier for the requestor ... user or service
principal"; ``azp`` (v2.0) replaces ``appid`` (v1.0) as "the application ID of the client using
the token"; ``name`` and ``preferred_username`` are for display only and are never used to
decide anything here. ``scp`` and ``groups`` are not roles: a role name found there grants
nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from shared.core.errors import AuthError, ForbiddenError, UnauthenticatedError
from shared.core.identifiers import is_guid

DEFAULT_ROLE = "Scan.Run"
#: Largest token accepted, checked before any parsing. Entra access tokens are a few kB; group
#: claims past 200 groups are replaced by an overage claim (access-token-claims-reference.md,
#: "Groups overage claim"), which keeps them far below this.
MAX_TOKEN_BYTES = 16 * 1024
#: Clock skew allowed on ``exp``, ``nbf`` and ``iat``: a minute either way.
CLOCK_SKEW_SECONDS = 60
#: ``realm`` of every WWW-Authenticate challenge.
REALM = "aks-kubelet-scanner"
#: Longest display name kept in a run record or a log line.
MAX_NAME_CHARS = 256

# RFC 6750 section 2.1: credentials = "Bearer" 1*SP b64token, b64token = 1*( ALPHA / DIGIT /
# "-" / "." / "_" / "~" / "+" / "/" ) *"="; the scheme is case-insensitive (RFC 9110 11.1).
# Exactly one space: a header the front end joined from two ("Bearer a, Bearer b") never matches.
_BEARER = re.compile(r"(?i:bearer) ([A-Za-z0-9\-._~+/]+=*)")
_SCHEME = re.compile(r"\s*([!#$%&'*+\-.^_`|~0-9A-Za-z]+)(?:\s|$)")
# RFC 6750 section 3: error_description is limited to %x20-21 / %x23-5B / %x5D-7E.
_NOT_DESCRIPTION = re.compile(r"[^\x20-\x21\x23-\x5b\x5d-\x7e]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True, slots=True)
class Caller:
    """Who started a run. ``kind``: user, app (Entra callers), timer, queue, cli, or anonymous
    (``SCAN_API_AUTH=off``). Identifiers are empty for callers without a token."""

    kind: str
    object_id: str = ""
    app_id: str = ""
    name: str = ""
    tenant_id: str = ""

    @classmethod
    def system(cls, trigger: str) -> Caller:
        """A run nobody asked for by HTTP: the timer, a queue message, the CLI."""
        return cls(trigger)

    def triggered_by(self) -> str:
        """The run record's ``TriggeredBy``: compact JSON (``kind``, then the identifiers set)."""
        document = {"kind": self.kind}
        for key, value in (
            ("objectId", self.object_id),
            ("appId", self.app_id),
            ("name", self.name),
            ("tenantId", self.tenant_id),
        ):
            if value:
                document[key] = value
        return json.dumps(document, separators=(",", ":"), ensure_ascii=False)

    def describe(self) -> str:
        """For a log line: ``user 'Ada' (oid ..., app ...)``, or just the kind."""
        if not self.object_id:
            return self.kind
        name = f" {self.name!r}" if self.name else ""
        return f"{self.kind}{name} (oid {self.object_id}, app {self.app_id or '?'})"


def bearer_token(headers: Mapping[str, str], query: Collection[str] = ()) -> str:
    """The token of the request's one ``Authorization: Bearer`` header; UnauthenticatedError if not.

    ``headers`` may use any case for names; two names that differ only in case are two headers,
    and are refused. ``query`` holds the request's query parameter names: a token offered as
    ``access_token`` there is refused without reading it (RFC 6750 section 2.3 is not offered).
    """
    if "access_token" in query:
        raise UnauthenticatedError(
            "invalid_request",
            "access tokens are accepted only in the Authorization header, not in the query string",
        )
    values = [value for name, value in headers.items() if name.lower() == "authorization"]
    if len(values) > 1:
        raise UnauthenticatedError("invalid_request", "more than one Authorization header")
    value = values[0] if values else ""
    if not value.strip():
        raise UnauthenticatedError(
            "", "an Entra ID access token is required: Authorization: Bearer <token>"
        )
    if len(value) > MAX_TOKEN_BYTES + len("Bearer "):
        raise UnauthenticatedError(
            "invalid_token",
            f"the token is longer than {MAX_TOKEN_BYTES} bytes, which no Entra access token is",
            f"Authorization header of {len(value)} characters refused before parsing",
        )
    match = _BEARER.fullmatch(value)
    if match is not None:
        return match.group(1)
    scheme = _SCHEME.match(value)
    if scheme is not None and scheme.group(1).lower() != "bearer":
        raise UnauthenticatedError(
            "invalid_request",
            f"only Bearer tokens are accepted (the request used the {scheme.group(1)!r} scheme)",
        )
    raise UnauthenticatedError(
        "invalid_request", "the Authorization header is not exactly one 'Bearer <token>'"
    )


def caller_from_claims(claims: Mapping[str, Any], *, tenant_id: str, role: str) -> Caller:
    """The caller of a token whose signature, issuer, audience and lifetime verified.

    UnauthenticatedError when the token is not of ``tenant_id`` or names no object id;
    ForbiddenError (naming ``role``) when its ``roles`` claim lacks the role.
    """
    tid = claims.get("tid")
    if not isinstance(tid, str) or tid.lower() != tenant_id.lower():
        raise UnauthenticatedError(
            "invalid_token",
            "the token is not from the tenant this API belongs to",
            f"tid {_shown(tid)} is not the configured tenant {tenant_id}",
        )
    oid = claims.get("oid")
    if not isinstance(oid, str) or not is_guid(oid):
        raise UnauthenticatedError(
            "invalid_token",
            "the token names no caller object id (oid)",
            f"oid {_shown(oid)} is not a GUID",
        )
    caller = Caller(
        kind=_kind(claims),
        object_id=oid.lower(),
        app_id=_text(claims.get("azp") or claims.get("appid")),
        name=_text(
            claims.get("name") or claims.get("preferred_username") or claims.get("app_displayname")
        ),
        tenant_id=tid.lower(),
    )
    roles = claims.get("roles")
    if not isinstance(roles, list) or role not in [r for r in roles if isinstance(r, str)]:
        raise ForbiddenError(
            "insufficient_scope",
            f"the token does not grant the app role {role!r} (roles claim); an administrator "
            "assigns it to the user or application on the scanner API's enterprise application",
            f"{caller.describe()} has no {role!r} in roles {_shown(roles)}",
        )
    return caller


def _kind(claims: Mapping[str, Any]) -> str:
    """``idtyp`` (an optional claim: app or user) when present; else a token without ``scp``
    (delegated scopes) is an application's own (client credentials), one with it a user's."""
    idtyp = claims.get("idtyp")
    if idtyp in ("app", "user"):
        return str(idtyp)
    return "user" if "scp" in claims else "app"


def _text(value: object) -> str:
    """A claim as a display string: control characters replaced, length capped."""
    if not isinstance(value, str):
        return ""
    return _CONTROL.sub("?", value)[:MAX_NAME_CHARS]


def _shown(value: object) -> str:
    return _CONTROL.sub("?", repr(value))[:120]


def refusal(error: AuthError) -> tuple[int, dict[str, str], dict[str, Any]]:
    """The HTTP answer to a refused caller: status, headers, RFC 9457 problem body.

    401 and 403 carry an RFC 6750 ``WWW-Authenticate: Bearer`` challenge; 401 without any
    credentials carries no error code (RFC 6750 section 3.1). 503 (keys unavailable) asks the
    caller to retry instead: its token was not judged.
    """
    titles = {401: "Unauthorized", 403: "Forbidden", 503: "Service Unavailable"}
    headers: dict[str, str]
    if error.status == 503:
        headers = {"Retry-After": "30"}
    else:
        challenge = f'Bearer realm="{REALM}"'
        if error.error:
            description = _NOT_DESCRIPTION.sub("?", error.detail)
            challenge += f', error="{error.error}", error_description="{description}"'
        headers = {"WWW-Authenticate": challenge}
    body = {
        "type": "about:blank",
        "title": titles[error.status],
        "status": error.status,
        "detail": error.detail,
    }
    return error.status, headers, body
