"""The Functions app's two input documents, validated before anything runs.

``ScanRequest``: the body of ``POST /api/scan`` (all keys optional): ``subscriptions`` (list of
subscription ids), ``clusters`` (list of AKS resource ids), ``wait`` (bool). Anything else is a
``BadInputError`` naming the field, answered with a JSON problem body (RFC 9457) and no scan.

``ClusterMessage``: the queue message of the fan-out, a small versioned JSON document::

    {"v": 1, "runId": "<uuid>", "clusterId": "/subscriptions/.../managedClusters/<name>",
     "benchmark": "cis-aks-1.8", "policy": {"eventRecordQpsMin": 5, "eventRecordQpsMode": "cis"}}
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from shared.core.controls.registry import benchmark_names
from shared.core.errors import ScannerError
from shared.core.identifiers import ClusterId, IdentifierError, is_lower_uuid, subscription_id
from shared.core.model import Policy, QpsMode

MAX_ENTRIES = 1000
MAX_WAIT_CLUSTERS = 10
MAX_BODY_BYTES = 256 * 1024
MESSAGE_VERSION = 1
T = TypeVar("T")


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


def parse_scan_request(body: bytes) -> ScanRequest:
    """Validate a ``POST /api/scan`` body; BadInputError names the offending field."""
    if len(body) > MAX_BODY_BYTES:
        raise BadInputError("body", f"larger than {MAX_BODY_BYTES} bytes")
    if not body.strip():
        return ScanRequest()
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise BadInputError("body", "not valid JSON") from None
    if not isinstance(document, dict):
        raise BadInputError("body", f"must be a JSON object, got {type(document).__name__}")
    unknown = sorted(set(document) - {"subscriptions", "clusters", "wait"})
    if unknown:
        raise BadInputError(
            unknown[0] or '""', "unknown key (allowed: subscriptions, clusters, wait)"
        )
    wait = document.get("wait", False)
    if not isinstance(wait, bool):
        raise BadInputError("wait", "must be true or false")
    subscriptions = _id_list(document, "subscriptions", subscription_id)
    clusters = _id_list(document, "clusters", ClusterId.parse)
    return ScanRequest(tuple(subscriptions), tuple(clusters), wait)


def _id_list(document: dict[str, Any], key: str, parse: Callable[[str], T]) -> list[T]:
    value = document.get(key, [])
    if not isinstance(value, list):
        raise BadInputError(key, "must be a list of strings")
    if len(value) > MAX_ENTRIES:
        raise BadInputError(key, f"has {len(value)} entries; at most {MAX_ENTRIES}")
    parsed: list[T] = []
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise BadInputError(f"{key}[{index}]", f"must be a string, got {type(item).__name__}")
        try:
            parsed.append(parse(item))
        except IdentifierError as exc:
            raise BadInputError(f"{key}[{index}]", str(exc)) from None
    return list(dict.fromkeys(parsed))


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
    def parse(cls, text: str) -> ClusterMessage:
        """Validate a queue message; BadInputError names what is wrong."""
        try:
            document = json.loads(text)
        except json.JSONDecodeError:
            raise BadInputError("message", "not valid JSON") from None
        if not isinstance(document, dict):
            raise BadInputError("message", "not a JSON object")
        if document.get("v") != MESSAGE_VERSION:
            raise BadInputError(
                "v",
                f"unsupported message version {document.get('v')!r} (expected {MESSAGE_VERSION})",
            )
        unknown = sorted(set(document) - {"v", "runId", "clusterId", "benchmark", "policy"})
        if unknown:
            raise BadInputError(unknown[0] or '""', "unknown key")
        run_id = document.get("runId")
        if not isinstance(run_id, str) or not is_lower_uuid(run_id):
            raise BadInputError("runId", "must be a lower-case UUID")
        cluster_id = document.get("clusterId")
        if not isinstance(cluster_id, str):
            raise BadInputError("clusterId", "must be an AKS cluster resource id")
        try:
            cluster = ClusterId.parse(cluster_id)
        except IdentifierError as exc:
            raise BadInputError("clusterId", str(exc)) from None
        benchmark = document.get("benchmark")
        if benchmark not in benchmark_names():
            raise BadInputError("benchmark", f"unknown benchmark {benchmark!r}")
        policy = document.get("policy")
        if not isinstance(policy, dict) or set(policy) != {
            "eventRecordQpsMin",
            "eventRecordQpsMode",
        }:
            raise BadInputError(
                "policy", "must hold exactly eventRecordQpsMin and eventRecordQpsMode"
            )
        qps_min, mode = policy["eventRecordQpsMin"], policy["eventRecordQpsMode"]
        if isinstance(qps_min, bool) or not isinstance(qps_min, int) or not 1 <= qps_min <= 10_000:
            raise BadInputError("policy.eventRecordQpsMin", "must be an integer from 1 to 10000")
        if mode not in {m.value for m in QpsMode}:
            raise BadInputError("policy.eventRecordQpsMode", "must be cis or zero-only")
        return cls(run_id, cluster, str(benchmark), Policy(qps_min, QpsMode(mode)))
