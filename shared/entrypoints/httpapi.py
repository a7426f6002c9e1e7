"""``POST /api/scan`` as a function of the body: status code, JSON body, messages to enqueue."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from shared.core.errors import SettingsError
from shared.core.model import ScanScope
from shared.entrypoints.messages import JSON_MEDIA_TYPE, BadInputError, parse_scan_request

log = logging.getLogger(__name__)


def handle_scan_request(
    body: bytes,
    env: Mapping[str, str] | None = None,
    *,
    content_type: str | None = JSON_MEDIA_TYPE,
) -> tuple[int, dict[str, Any], tuple[str, ...]]:
    """400 with a problem body for bad input (nothing scanned); 202 dispatched; 200 inline.

    The body is validated before anything else is loaded or read (settings, SDKs). The request
    may narrow the configured scope (SCAN_SUBSCRIPTIONS), never widen it: a subscription or
    cluster outside it is a 400 naming it. Settings that cannot be read are a 500 problem
    naming the setting (the app is misconfigured, not the request), logged as an error.
    """
    try:
        request = parse_scan_request(body, content_type)
        from shared.entrypoints.jobs import dispatch, scan_inline  # noqa: PLC0415 - after the body

        scope = ScanScope(request.subscriptions, request.clusters)
        if request.wait:
            result = scan_inline(scope, env=env)
            return (
                200,
                {"run": result.run.row(), "findings": [f.row() for f in result.findings]},
                (),
            )
        dispatched = dispatch(scope, trigger="http", env=env)
    except BadInputError as exc:
        return 400, exc.problem(), ()
    except SettingsError as exc:
        log.error("scan not started: %s", exc)
        return (
            500,
            {"type": "about:blank", "title": "Misconfigured", "status": 500, "detail": str(exc)},
            (),
        )
    return (
        202,
        {
            "runId": dispatched.run.RunId,
            "clustersQueued": len(dispatched.messages),
            "run": dispatched.run.row(),
        },
        dispatched.messages,
    )
