"""A ``--faults`` file (``python -m shared demo --faults``, ``python -m sim serve --faults``):
a JSON list of faults, each checked against the estate it will be switched on in.

Every fault either fires or is refused up front, naming the entry and the field: a fault for a
cluster, node, subscription or stream the estate does not have, a target its endpoint never
passes (a token fault for one cluster), or an action its endpoint does not perform (``wrong-ca``
on configz) could never fire, so the run would silently be a run without it. Types are exact
(``"status": "503"`` is refused, not converted), unknown keys are refused, and the file is read
by shared.core.documents (UTF-8, no duplicate keys, bounded).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, ClassVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    Field,
    ValidationError,
    ValidationInfo,
    model_validator,
)

from shared.core.documents import DocumentError, load_json
from shared.core.validation import STRICT, first_problem
from sim.estate import Estate
from sim.faults import Action, Endpoint, Fault

MAX_FAULTS_BYTES = 1024 * 1024

#: The section 4 list endpoints (sim.kubelists), one per resource.
SECTION4_LISTS = frozenset(
    e for e in Endpoint if e.value.endswith("-list") and e is not Endpoint.NODE_LIST
)
#: The coordinates each endpoint's server passes to FaultRegistry.take: a fault may target these.
TARGETS: dict[Endpoint, frozenset[str]] = {
    Endpoint.TOKEN: frozenset(),
    Endpoint.ARM: frozenset({"subscription", "cluster"}),
    Endpoint.RESOURCE_GRAPH: frozenset(),
    Endpoint.CREDENTIALS: frozenset({"subscription", "cluster"}),
    Endpoint.NODE_LIST: frozenset({"cluster"}),
    Endpoint.CONFIGZ: frozenset({"cluster", "node"}),
    Endpoint.INGESTION: frozenset({"stream"}),
    Endpoint.RUN_COMMAND: frozenset({"subscription", "cluster"}),
    Endpoint.COMMAND_RESULT: frozenset({"subscription", "cluster"}),
    # the cluster controls' ARM reads (sim.arm)
    Endpoint.DIAGNOSTIC_SETTINGS: frozenset({"subscription", "cluster"}),
    Endpoint.ROLE_DEFINITION: frozenset({"subscription"}),
    Endpoint.SECURITY_RESOURCES: frozenset(),
    Endpoint.AUTHORIZATION_RESOURCES: frozenset(),
    # the Entra tenant of the HTTP trigger (sim.entra)
    Endpoint.OPENID: frozenset(),
    Endpoint.JWKS: frozenset(),
    # the section 4 lists (sim.apiserver): per cluster, and `continued` (true: only requests
    # that carry a continue token, false: only first pages)
    **{e: frozenset({"cluster", "continued"}) for e in SECTION4_LISTS},
}
#: Actions only some endpoints perform (sim.faults' docstring).
ONLY_ON: dict[Action, frozenset[Endpoint]] = {
    Action.UNREACHABLE: frozenset({Endpoint.CONFIGZ}),
    Action.WRONG_CA: frozenset({Endpoint.CREDENTIALS}),
    Action.REFUSED: frozenset({Endpoint.CREDENTIALS}),
    Action.ENDLESS_CONTINUE: frozenset({Endpoint.NODE_LIST}),
    Action.SHORT_PAGES: SECTION4_LISTS,
}


def _seconds(value: object) -> object:
    """A JSON number (integer or not) as float; anything else is left for the type check."""
    return float(value) if type(value) is int else value


class FaultEntry(BaseModel):
    """One fault of the file; the fields of ``sim.faults.Fault``."""

    model_config = STRICT
    WHAT: ClassVar[str] = "must be a mapping with endpoint (and the fault's other fields)"

    endpoint: Annotated[
        Endpoint, Field(description=f"must be one of {', '.join(e.value for e in Endpoint)}")
    ]
    action: Annotated[
        Action, Field(description=f"must be one of {', '.join(a.value for a in Action)}")
    ] = Action.ERROR
    status: Annotated[int, Field(ge=100, le=599, description="must be an HTTP status, 100-599")] = (
        503
    )
    retry_after: Annotated[
        int | None, Field(ge=0, le=3600, description="must be seconds, 0-3600")
    ] = None
    cluster: Annotated[str | None, Field(description="must be a cluster name")] = None
    node: Annotated[str | None, Field(description="must be a node name")] = None
    stream: Annotated[str | None, Field(description="must be a stream name")] = None
    subscription: Annotated[str | None, Field(description="must be a subscription id")] = None
    times: Annotated[
        int | None,
        Field(ge=1, description="must be an integer of at least 1 (null: until removed)"),
    ] = None
    delay: Annotated[
        float, BeforeValidator(_seconds), Field(ge=0, le=600, description="must be seconds, 0-600")
    ] = 0.0
    body: Annotated[str, Field(description="must be a string")] = ""
    content_type: Annotated[str, Field(description="must be a string")] = "application/json"
    message: Annotated[str, Field(description="must be a string")] = ""
    chunk: Annotated[
        int, Field(ge=1, le=1 << 20, description="must be bytes (items for short-pages), 1-1048576")
    ] = 16
    continued: Annotated[
        bool | None,
        Field(description="must be true (continue requests only), false or null (any request)"),
    ] = None

    @model_validator(mode="before")
    @classmethod
    def _enums_from_text(cls, data: Any) -> Any:
        """endpoint and action are written as their values ("configz"), checked exactly."""
        if isinstance(data, dict):
            data = dict(data)
            for key, kind in (("endpoint", Endpoint), ("action", Action)):
                value = data.get(key)
                if isinstance(value, str) and value in {m.value for m in kind}:
                    data[key] = kind(value)
        return data

    @model_validator(mode="after")
    def _can_fire(self, info: ValidationInfo) -> FaultEntry:
        estate = (info.context or {}).get("estate")
        if not isinstance(estate, Estate):
            return self
        problem = _why_it_cannot_fire(self, estate)
        if problem:
            raise ValueError(problem)
        return self

    def fault(self) -> Fault:
        """The Fault the estate's servers act on."""
        values = self.model_dump()
        values["body"] = self.body.encode("utf-8")
        values["delay"] = float(self.delay)
        return Fault(**values)


def _why_it_cannot_fire(entry: FaultEntry, estate: Estate) -> str:
    targets = {
        name
        for name in ("cluster", "node", "stream", "subscription", "continued")
        if getattr(entry, name) is not None
    }
    useless = sorted(targets - TARGETS[entry.endpoint])
    if useless:
        return (
            f"{useless[0]}: a {entry.endpoint.value} fault cannot target a {useless[0]} "
            f"(it can target: {', '.join(sorted(TARGETS[entry.endpoint])) or 'nothing'})"
        )
    only = ONLY_ON.get(entry.action)
    if only is not None and entry.endpoint not in only:
        where = (
            "section 4 list" if only == SECTION4_LISTS else "/".join(sorted(e.value for e in only))
        )
        return f"action: {entry.action.value} is a {where} fault only"
    return _unknown_target(entry, estate)


def _unknown_target(entry: FaultEntry, estate: Estate) -> str:
    clusters = {c.name: c for _, c in estate.clusters()}
    if entry.cluster is not None and entry.cluster not in clusters:
        return f"cluster: {entry.cluster!r} is not a cluster of the estate ({', '.join(clusters)})"
    if entry.node is not None:
        owners = [name for name, c in clusters.items() if entry.node in {n.name for n in c.nodes()}]
        if not owners or (entry.cluster is not None and entry.cluster not in owners):
            where = f"cluster {entry.cluster!r}" if entry.cluster else "the estate"
            return f"node: {entry.node!r} is not a node of {where}"
    subscriptions = {s.id.lower() for s in estate.subscriptions}
    if entry.subscription is not None and entry.subscription.lower() not in subscriptions:
        return f"subscription: {entry.subscription!r} is not a subscription of the estate"
    if entry.stream is not None and entry.stream not in estate.dcr_streams:
        return f"stream: {entry.stream!r} is not a stream of the estate ({', '.join(estate.dcr_streams)})"
    return ""


class FaultFile(BaseModel):
    """The file: a JSON list of faults."""

    model_config = STRICT
    WHAT: ClassVar[str] = "must be a JSON list of faults"

    faults: Annotated[list[FaultEntry], Field(description="must be a JSON list of faults")]


def load_faults(path: str, estate: Estate, *, option: str = "--faults") -> list[Fault]:
    """The faults of ``path``; SettingsError naming ``option``, the entry and the field."""
    from shared.core.errors import SettingsError  # noqa: PLC0415 - the CLI's own error

    try:
        file = Path(path)
        if file.stat().st_size > MAX_FAULTS_BYTES:
            raise SettingsError(f"{option} {path}: larger than {MAX_FAULTS_BYTES} bytes")
        document = load_json(file.read_bytes())
    except OSError as exc:
        raise SettingsError(f"{option} {path}: cannot read it: {exc.strerror}") from None
    except DocumentError as exc:
        raise SettingsError(f"{option} {path}: {exc}") from None
    try:
        parsed = FaultFile.model_validate({"faults": document}, context={"estate": estate})
    except ValidationError as exc:
        field, detail = first_problem(exc, FaultFile, {"faults": document})
        where = field.removeprefix("faults") or "file"
        # A problem _can_fire found names its own field first ("node: ...").
        raise SettingsError(f"{option} {path}: {where}: {detail}") from None
    return [entry.fault() for entry in parsed.faults]
