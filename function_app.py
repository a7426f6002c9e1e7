"""Azure Functions entry points (Python v2 programming model). Thin: parse, call, translate.

* ``scheduled_scan`` (timer, ``%SCAN_SCHEDULE%``): dispatch a run of the configured scope
  (SCAN_SUBSCRIPTIONS), one queue message per running cluster.
* ``scan_cluster`` (queue ``scan-cluster``): scan one cluster; a message that is not ours, or
  names a cluster outside the configured scope, goes straight to ``scan-cluster-poison`` with the
  reason, instead of being retried.
* ``manual_scan`` (``POST /api/scan``): the function key (host level), then an Entra ID access
  token with the app role (SCAN_API_ROLE; shared.core.auth), then dispatch (202) or, with
  ``wait``, scan at most ten clusters inline (200).

Heavy SDKs (and PyJWT with cryptography) load inside the handlers, so importing this module
stays cheap on a cold start.
"""

from __future__ import annotations

import json
import logging

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
QUEUE, POISON, STORAGE = "scan-cluster", "scan-cluster-poison", "AzureWebJobsStorage"
log = logging.getLogger("function_app")


@app.timer_trigger(schedule="%SCAN_SCHEDULE%", arg_name="timer", run_on_startup=False)
@app.queue_output(arg_name="messages", queue_name=QUEUE, connection=STORAGE)
def scheduled_scan(timer: func.TimerRequest, messages: func.Out[list[str]]) -> None:
    """Fan a scan of every cluster in scope out to the queue."""
    from shared.core.model import ScanScope  # noqa: PLC0415
    from shared.entrypoints.jobs import dispatch  # noqa: PLC0415

    if timer.past_due:
        log.warning("the timer is past due; running the missed scan now")
    result = dispatch(ScanScope(), trigger="timer")
    messages.set(list(result.messages))


@app.queue_trigger(arg_name="msg", queue_name=QUEUE, connection=STORAGE)
@app.queue_output(arg_name="poison", queue_name=POISON, connection=STORAGE)
def scan_cluster(msg: func.QueueMessage, poison: func.Out[str]) -> None:
    """Scan the one cluster the message names."""
    from shared.entrypoints.jobs import scan_cluster as scan  # noqa: PLC0415
    from shared.entrypoints.messages import BadInputError, ClusterMessage  # noqa: PLC0415

    text = msg.get_body().decode("utf-8", "replace")
    try:
        scan(ClusterMessage.parse(text))
    except BadInputError as exc:
        log.error("message %s refused (%s); moved to %s", msg.id, exc, POISON)
        poison.set(json.dumps({"reason": str(exc), "messageId": msg.id, "body": text[:60000]}))


@app.route(route="scan", methods=["POST"])
@app.queue_output(arg_name="messages", queue_name=QUEUE, connection=STORAGE)
def manual_scan(req: func.HttpRequest, messages: func.Out[list[str]]) -> func.HttpResponse:
    """Validate the request, then dispatch (202) or scan inline (200)."""
    from shared.entrypoints.httpapi import handle_scan_request  # noqa: PLC0415

    answer = handle_scan_request(req.get_body(), headers=req.headers, query=req.params.keys())
    if answer.messages:
        messages.set(list(answer.messages))
    return func.HttpResponse(
        json.dumps(answer.body),
        status_code=answer.status,
        headers=answer.headers,
        mimetype="application/problem+json" if answer.status >= 400 else "application/json",
    )
