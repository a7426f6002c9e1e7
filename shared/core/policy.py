"""The scan policy file (``SCAN_POLICY`` / ``--policy``): YAML or JSON, validated with errors
that name the field.

::

    version: 1
    eventRecordQPS:            # optional; overrides EVENT_RECORD_QPS_MODE / _MIN
      mode: cis                # cis | zero-only
      minimum: 5
    levels: [1, 2]             # CIS profile levels to evaluate; others are SKIPPED
    registries:                # judgements CIS leaves to people (5.1.2, 5.1.4); else MANUAL
      writePrincipals: [<object id>, ...]    # who may hold write roles on a cluster's registries
      approved: [contoso.azurecr.io, "*.contoso.io"]  # registry login servers (globs)
    imageScanning:
      thirdParty: "Trivy in the release pipeline"    # 5.1.1 is MANUAL, not FAIL, without Defender
    exemptions:
      - control: "3.2.7"
        scope: /subscriptions/<id>/resourceGroups/rg-batch/providers/Microsoft.ContainerService/managedClusters/aks-batch-*/agentPools/gpu
        reason: "GPU pool vendor image; tracked in RISK-1234"
        expires: 2027-03-31

An exempted FAIL keeps its status and carries ``Exempt=true`` and the reason; from the day after
``expires`` it is an ordinary FAIL. Exemptions that end within ``EXPIRY_WARNING_DAYS`` are
listed in the run record.

The document is read by shared.core.documents (no duplicate keys, bounded size and depth, YAML
timestamps left as text) and validated by the strict models of shared.core.policy_schema, one
per section. Values are taken as written: ``control`` must be one of the selected benchmark's
control ids, of a level ``levels`` selects; ``expires`` is a date that exists, written
``YYYY-MM-DD`` (a timestamp is refused, not cut to its date); ``scope`` is one of the three
resource id forms (lower-cased, because ARM compares ids without case); ``reason`` is kept as
written. SCAN_POLICY holds the document itself when it starts with ``{`` or spans lines,
otherwise it is a path, used exactly.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shared.core.documents import DocumentError, load_yaml
from shared.core.errors import SettingsError
from shared.core.model import Exemption, Policy

if TYPE_CHECKING:
    from datetime import date

    from shared.core.controls import Benchmark

EXPIRY_WARNING_DAYS = 14
MAX_POLICY_BYTES = 1024 * 1024


def load_policy(value: str, base: Policy, *, benchmark: Benchmark) -> Policy:
    """``base`` with the policy file applied; ``value`` is a path or inline YAML/JSON.

    Exemptions must name controls of ``benchmark`` (the selected CIS_BENCHMARK).
    """
    text, source = _read(value)
    try:
        document = load_yaml(text)
    except DocumentError as exc:
        raise SettingsError(f"SCAN_POLICY: {source} {exc}") from None
    return parse_policy(document, base, source, benchmark=benchmark)


def _read(value: str) -> tuple[str, str]:
    """The document and how to name it: inline when it starts with { or spans lines."""
    if value.lstrip().startswith("{") or "\n" in value:
        return value, "the inline policy"
    if "\x00" in value:
        raise SettingsError("SCAN_POLICY: the path contains a NUL character")
    path = Path(value)
    try:
        if path.stat().st_size > MAX_POLICY_BYTES:
            raise SettingsError(f"SCAN_POLICY: {path} is larger than {MAX_POLICY_BYTES} bytes")
        return path.read_text(encoding="utf-8"), str(path)
    except OSError as exc:
        raise SettingsError(f"SCAN_POLICY: cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise SettingsError(
            f"SCAN_POLICY: {path} is not UTF-8 (byte {exc.start} is not valid UTF-8)"
        ) from None


def parse_policy(
    document: Any, base: Policy, source: str = "the policy", *, benchmark: Benchmark
) -> Policy:
    """Validate a policy document (shared.core.policy_schema); SettingsError names the field."""
    from pydantic import ValidationError  # noqa: PLC0415 - pydantic loads only with a policy file

    from shared.core.policy_schema import PolicyFile, validate  # noqa: PLC0415
    from shared.core.validation import first_problem  # noqa: PLC0415

    def fail(field: str, detail: str) -> SettingsError:
        return SettingsError(f"SCAN_POLICY: {source}: {field or 'document'}: {detail}")

    try:
        parsed = validate(document, benchmark)
    except ValidationError as exc:
        raise fail(*first_problem(exc, PolicyFile, document)) from None
    policy = base
    if parsed.eventRecordQPS is not None:
        qps = parsed.eventRecordQPS
        policy = replace(
            policy,
            event_record_qps_mode=qps.mode or policy.event_record_qps_mode,
            event_record_qps_min=qps.minimum or policy.event_record_qps_min,
        )
    if parsed.levels is not None:
        policy = replace(policy, levels=frozenset(parsed.levels))
    if parsed.registries is not None:
        if parsed.registries.writePrincipals is not None:
            # Object ids compare without case (GUIDs); login servers are host names.
            principals = frozenset(p.lower() for p in parsed.registries.writePrincipals)
            policy = replace(policy, acr_write_principals=principals)
        if parsed.registries.approved is not None:
            approved = tuple(a.lower() for a in parsed.registries.approved)
            policy = replace(policy, approved_registries=approved)
    if parsed.imageScanning is not None:
        policy = replace(policy, third_party_image_scanning=parsed.imageScanning.thirdParty)
    if parsed.kubernetes is not None:
        k8s = parsed.kubernetes
        if k8s.systemNamespaces is not None:
            policy = replace(policy, system_namespaces=frozenset(k8s.systemNamespaces))
        if k8s.allow is not None:
            allow = tuple((cid, tuple(names)) for cid, names in sorted(k8s.allow.items()))
            policy = replace(policy, k8s_allow=allow)
        policy = replace(policy, count_unset_escalation=k8s.countUnsetPrivilegeEscalation)
    exemptions = []
    for index, item in enumerate(parsed.exemptions):
        level = benchmark.control(item.control).level
        if level not in policy.levels:
            raise fail(
                f"exemptions[{index}].control",
                f"{item.control} is a Level {level} control and levels is "
                f"{sorted(policy.levels)}: it is SKIPPED, so the exemption could never apply",
            )
        # Resource ids compare without case (ARM's rule), so the scope is kept lower-cased.
        exemptions.append(Exemption(item.control, item.scope.lower(), item.reason, item.expires))
    return replace(policy, exemptions=tuple(exemptions))


def unknown_controls(policy: Policy, benchmark: Benchmark) -> list[tuple[int, str]]:
    """``(index, control)`` of each exemption whose control ``benchmark`` does not have."""
    ids = {c.id for c in benchmark.controls}
    return [(i, e.control) for i, e in enumerate(policy.exemptions) if e.control not in ids]


def expiring(policy: Policy, today: date, days: int = EXPIRY_WARNING_DAYS) -> list[Exemption]:
    """Active exemptions that end within ``days`` of ``today``."""
    horizon = today + timedelta(days=days)
    return [e for e in policy.exemptions if today <= e.expires <= horizon]


def describe(exemptions: list[Exemption]) -> str:
    """A compact JSON list for the run record."""
    return json.dumps(
        [
            {"control": e.control, "scope": e.scope, "expires": e.expires.isoformat()}
            for e in exemptions
        ],
        separators=(",", ":"),
    )
