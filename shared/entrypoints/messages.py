"""The Functions app's two input documents, validated before anything runs.

``ScanRequest``: the body of ``POST /api/scan`` (all keys optional): ``subscriptions`` (list of
subscription ids), ``clusters`` (list of AKS resource ids), ``wait`` (bool). An empty body (no
bytes at all) is ``{}``. Anything else is a ``BadInputError`` naming the field (or ``body``, or
``Content-Type``), answered with a JSON problem body (RFC 9457) and no scan.

``ClusterMessage``: the queue message of the fan-out, a small versioned JSON document::

    {"v": 1, "runId": "<uuid>", "clusterId": "/subscriptions/.../managedClusters/<name>",
     "benchmark": "cis-aks-1.8", "policy": {"eventRecordQpsMin": 5, "eventRecordQpsMode": "cis"}}

Both are read by shared.core.documents (UTF-8, no duplicate keys, no NaN, bounded numbers and
depth) and validated by the strict models of shared.entrypoints.schemas (imported on first use,
so pydantic is not loaded by ``import function_app``): types are exact (``1`` is not ``true``,
``"5"`` is not ``5``), identifiers match whole strings, unknown keys are refused.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shared.core.documents import DocumentError, load_json
from shared.core.errors import ScannerError
from shared.core.identifiers import ClusterId
from shared.core.model import Policy, QpsMode
from shared.entrypoints.limits import (
    JSON_MEDIA_TYPE,
    MAX_BODY_BYTES,
    MAX_MESSAGE_BYTES,
    MESSAGE_VERSION,
)

if TYPE_CHECKING:
    from pydantic import BaseModel


class BadInputError(ScannerError):
    """An input document is not acceptable; ``field`` names where."""

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(f"{field}: {detail}")
        self.field = field
        self.detail = detail

    def problem(self) -> dict[str, Any]:
        """An RFC 9457 problem document."""
        return {
            "type": "about:blank",
            "title": "Bad Request",
            "status": 400,
            "detail": f"{self.field}: {self.detail}",
            "field": self.field,
        }


@dataclass(frozen=True, slots=True)
class ScanRequest:
    """A validated manual scan request."""

    subscriptions: tuple[str, ...] = ()
    clusters: tuple[ClusterId, ...] = ()
    wait: bool = False


def parse_scan_request(body: bytes, content_type: str | None = JSON_MEDIA_TYPE) -> ScanRequest:
    """Validate a ``POST /api/scan`` body; BadInputError names the offending field."""
    if len(body) > MAX_BODY_BYTES:
        raise BadInputError("body", f"larger than {MAX_BODY_BYTES} bytes")
    if not body:
        return ScanRequest()
    check_content_type(content_type)
    try:
        document = load_json(body)
    except DocumentError as exc:
        raise BadInputError("body", str(exc)) from None
    from shared.entrypoints.schemas import ScanRequestBody  # noqa: PLC0415 - pydantic on first use

    parsed = _validated(ScanRequestBody, document, "body")
    clusters = [ClusterId.parse(text) for text in parsed.clusters]
    return ScanRequest(
        tuple(dict.fromkeys(parsed.subscriptions)), tuple(dict.fromkeys(clusters)), parsed.wait
    )


def check_content_type(content_type: str | None) -> None:
    """A body must be sent as ``application/json`` (a ``charset`` parameter, if any, utf-8)."""
    media, *parameters = (content_type or "").split(";")
    refused = media.strip().lower() != JSON_MEDIA_TYPE
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() != "charset" or value.strip().strip('"').lower() != "utf-8":
            refused = True
    if refused:
        shown = repr(content_type[:100]) if content_type else "missing"
        raise BadInputError(
            "Content-Type",
            f"{shown}; send the body as {JSON_MEDIA_TYPE} (charset utf-8 if a charset is given)",
        )


def _validated(model: type[BaseModel], document: Any, root: str) -> Any:
    """``document`` as an instance of ``model``; BadInputError names the first wrong field."""
    from pydantic import ValidationError  # noqa: PLC0415 - loaded only to validate a document

    from shared.core.validation import first_problem  # noqa: PLC0415

    try:
        return model.model_validate(document)
    except ValidationError as exc:
        field, detail = first_problem(exc, model, document)
        raise BadInputError(field or root, detail) from None


@dataclass(frozen=True, slots=True)
class ClusterMessage:
    """One cluster to scan as part of a fanned-out run."""

    run_id: str
    cluster: ClusterId
    benchmark: str
    policy: Policy

    def to_json(self) -> str:
        """The queue message text."""
        return json.dumps(
            {
                "v": MESSAGE_VERSION,
                "runId": self.run_id,
                "clusterId": str(self.cluster),
                "benchmark": self.benchmark,
                "policy": {
                    "eventRecordQpsMin": self.policy.event_record_qps_min,
                    "eventRecordQpsMode": self.policy.event_record_qps_mode.value,
                },
            },
            separators=(",", ":"),
        )

    @classmethod
    def parse(cls, body: bytes | str) -> ClusterMessage:
        """Validate a queue message (its bytes, as the host decoded them); BadInputError says why."""
        size = len(body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body)
        if size > MAX_MESSAGE_BYTES:
            raise BadInputError("message", f"larger than {MAX_MESSAGE_BYTES} bytes")
        try:
            document = load_json(body)
        except DocumentError as exc:
            raise BadInputError("message", str(exc)) from None
        from shared.entrypoints.schemas import ClusterMessageBody  # noqa: PLC0415 - on first use

        parsed = _validated(ClusterMessageBody, document, "message")
        return cls(
            parsed.runId,
            ClusterId.parse(parsed.clusterId),
            parsed.benchmark,
            Policy(parsed.policy.eventRecordQpsMin, QpsMode(parsed.policy.eventRecordQpsMode)),
        )


POISON_EXCERPT_CHARS = 4096


def poison_document(message_id: str, body: bytes, reason: str) -> str:
    """What a refused message leaves in the poison queue: the reason, the id, an excerpt.

    Bounded to fit a queue message after the host's base64 encoding (48 KiB of text): the
    excerpt is the first POISON_EXCERPT_CHARS characters of the body, bytes that are not UTF-8
    shown as ``\\xNN`` (never replaced silently), with the body's full size beside it.
    """
    text = body.decode("utf-8", "backslashreplace")
    return json.dumps(
        {
            "reason": reason[:2000],
            "messageId": message_id[:200],
            "bodyBytes": len(body),
            "body": text[:POISON_EXCERPT_CHARS],
            "bodyTruncated": len(text) > POISON_EXCERPT_CHARS,
        }
    )
