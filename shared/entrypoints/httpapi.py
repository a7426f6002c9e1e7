"""``POST /api/scan`` as a function of the request: who asks, then the body.

Order: the caller first (shared.core.auth; nothing of the body is read, nothing scanned or
queued for a refused caller), then the body (400 for bad input), then the scan.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.bootstrap import load_api_auth, token_verifier
from shared.core.auth import Caller, bearer_token, caller_from_claims, refusal
from shared.core.errors import AuthError, SettingsError
from shared.core.model import ScanScope
from shared.entrypoints.messages import BadInputError, parse_scan_request

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    """What the trigger answers: status, JSON body, extra headers, messages to enqueue."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    messages: tuple[str, ...] = ()


def authenticate(
    headers: Mapping[str, str], query: Collection[str], env: Mapping[str, str] | None = None
) -> Caller:
    """The caller of a request (SCAN_API_AUTH); AuthError or SettingsError if refused."""
    auth = load_api_auth(env)
    if auth.mode == "off":
        log.warning("SCAN_API_AUTH=off: POST /api/scan accepted without a token (local use only)")
        return Caller("anonymous")
    claims = token_verifier(auth).verify(bearer_token(headers, query))
    return caller_from_claims(claims, tenant_id=auth.tenant_id, role=auth.role)


def handle_scan_request(
    body: bytes,
    env: Mapping[str, str] | None = None,
    *,
    headers: Mapping[str, str] | None = None,
    query: Collection[str] = (),
) -> HttpAnswer:
    """401/403/503 for a refused caller and 400 for bad input (nothing scanned); 202
    dispatched; 200 inline.

    The request may narrow the configured scope (SCAN_SUBSCRIPTIONS), never widen it: a
    subscription or cluster outside it is a 400 naming it.
    """
    from shared.entrypoints.jobs import dispatch, scan_inline  # noqa: PLC0415

    try:
        caller = authenticate(headers or {}, query, env)
        request = parse_scan_request(body)
        scope = ScanScope(request.subscriptions, request.clusters)
        if request.wait:
            result = scan_inline(scope, env=env, caller=caller)
            return HttpAnswer(
                200, {"run": result.run.row(), "findings": [f.row() for f in result.findings]}
            )
        dispatched = dispatch(scope, trigger="http", env=env, caller=caller)
    except AuthError as exc:
        log.warning("POST /api/scan refused with %d: %s", exc.status, exc.reason)
        status, challenge, problem = refusal(exc)
        return HttpAnswer(status, problem, challenge)
    except BadInputError as exc:
        return HttpAnswer(400, exc.problem())
    except SettingsError as exc:
        log.error("scan not started: %s", exc)
        return HttpAnswer(
            500,
            {"type": "about:blank", "title": "Misconfigured", "status": 500, "detail": str(exc)},
        )
    return HttpAnswer(
        202,
        {
            "runId": dispatched.run.RunId,
            "clustersQueued": len(dispatched.messages),
            "run": dispatched.run.row(),
        },
        messages=dispatched.messages,
    )
