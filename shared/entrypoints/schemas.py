"""The Functions app's input documents as strict pydantic models (see shared.entrypoints.messages).

Imported by the parsers in messages.py when a document arrives, so pydantic loads with the
first request or message and never with ``import function_app``. Field descriptions are what a
field must be; shared.core.validation quotes them in the error that names the field.
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import AfterValidator, BaseModel, Field

from shared.core.controls.registry import benchmark_names
from shared.core.identifiers import ClusterId, is_lower_uuid, subscription_id
from shared.core.model import QpsMode
from shared.core.validation import STRICT
from shared.entrypoints.limits import MAX_ENTRIES, MESSAGE_VERSION


def _cluster_id(text: str) -> str:
    ClusterId.parse(text)  # IdentifierError (a ValueError) names the expected form
    return text


def _run_id(text: str) -> str:
    if not is_lower_uuid(text):
        raise ValueError("must be a lower-case UUID")
    return text


def _benchmark(name: str) -> str:
    if name not in benchmark_names():
        raise ValueError(
            f"unknown benchmark {name[:60]!r} (one of: {', '.join(benchmark_names())})"
        )
    return name


def _version(number: int) -> int:
    if number != MESSAGE_VERSION:
        raise ValueError(f"unsupported message version {number} (expected {MESSAGE_VERSION})")
    return number


def _mode(text: str) -> str:
    if text not in {m.value for m in QpsMode}:
        raise ValueError("must be cis or zero-only")
    return text


SubscriptionId = Annotated[str, AfterValidator(subscription_id)]
ClusterIdText = Annotated[str, AfterValidator(_cluster_id)]


class ScanRequestBody(BaseModel):
    """The body of ``POST /api/scan``: every key optional."""

    model_config = STRICT
    WHAT: ClassVar[str] = "must be a JSON object with subscriptions, clusters and/or wait"

    subscriptions: Annotated[
        list[SubscriptionId],
        Field(max_length=MAX_ENTRIES, description="must be a list of subscription ids (strings)"),
    ] = Field(default_factory=list)
    clusters: Annotated[
        list[ClusterIdText],
        Field(
            max_length=MAX_ENTRIES,
            description="must be a list of AKS cluster resource ids (strings)",
        ),
    ] = Field(default_factory=list)
    wait: Annotated[bool, Field(description="must be true or false")] = False


class MessagePolicy(BaseModel):
    """The eventRecordQPS rule the dispatcher used."""

    model_config = STRICT
    WHAT: ClassVar[str] = "must hold exactly eventRecordQpsMin and eventRecordQpsMode"

    eventRecordQpsMin: Annotated[
        int, Field(ge=1, le=10_000, description="must be an integer from 1 to 10000")
    ]
    eventRecordQpsMode: Annotated[
        str, AfterValidator(_mode), Field(description="must be cis or zero-only")
    ]


class ClusterMessageBody(BaseModel):
    """One message of the ``scan-cluster`` queue (version 1); every key required."""

    model_config = STRICT
    WHAT: ClassVar[str] = "must be a JSON object (v, runId, clusterId, benchmark, policy)"

    v: Annotated[
        int,
        AfterValidator(_version),
        Field(description=f"must be the message version {MESSAGE_VERSION} (an integer)"),
    ]
    runId: Annotated[str, AfterValidator(_run_id), Field(description="must be a lower-case UUID")]
    clusterId: Annotated[
        str, AfterValidator(_cluster_id), Field(description="must be an AKS cluster resource id")
    ]
    benchmark: Annotated[
        str, AfterValidator(_benchmark), Field(description="must be a benchmark name")
    ]
    policy: MessagePolicy
