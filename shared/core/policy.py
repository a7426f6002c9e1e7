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
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml

from shared.core.errors import SettingsError
from shared.core.identifiers import is_guid
from shared.core.model import Exemption, Policy, QpsMode

EXPIRY_WARNING_DAYS = 14
_SCOPE_PREFIX = "/subscriptions/"


def load_policy(value: str, base: Policy) -> Policy:
    """``base`` with the policy file applied; ``value`` is a path or inline YAML/JSON."""
    text, source = _read(value)
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise SettingsError(f"SCAN_POLICY: {source} is not valid YAML or JSON{where}") from None
    if not isinstance(document, dict):
        raise SettingsError(f"SCAN_POLICY: {source} must be a mapping")
    return parse_policy(document, base, source)


def _read(value: str) -> tuple[str, str]:
    stripped = value.strip()
    if stripped.startswith("{") or "\n" in stripped:
        return stripped, "the inline policy"
    path = Path(stripped)
    try:
        return path.read_text(encoding="utf-8"), str(path)
    except OSError as exc:
        raise SettingsError(f"SCAN_POLICY: cannot read {path}: {exc.strerror}") from None


def parse_policy(document: Mapping[str, Any], base: Policy, source: str = "the policy") -> Policy:
    """Validate a policy document; SettingsError names the field."""

    def fail(field: str, detail: str) -> SettingsError:
        return SettingsError(f"SCAN_POLICY: {source}: {field}: {detail}")

    allowed = ("version", "eventRecordQPS", "levels", "registries", "imageScanning", "exemptions")
    unknown = sorted(set(map(str, document)) - set(allowed))
    if unknown:
        raise fail(unknown[0], f"unknown key (allowed: {', '.join(allowed)})")
    if document.get("version", 1) != 1:
        raise fail("version", "only version 1 is supported")
    policy = base
    qps = document.get("eventRecordQPS")
    if qps is not None:
        if not isinstance(qps, dict) or not set(qps) <= {"mode", "minimum"}:
            raise fail("eventRecordQPS", "must be a mapping with mode and/or minimum")
        mode = qps.get("mode", policy.event_record_qps_mode.value)
        if mode not in {m.value for m in QpsMode}:
            raise fail("eventRecordQPS.mode", f"{mode!r} is not cis or zero-only")
        minimum = qps.get("minimum", policy.event_record_qps_min)
        if isinstance(minimum, bool) or not isinstance(minimum, int) or not 1 <= minimum <= 10_000:
            raise fail("eventRecordQPS.minimum", "must be an integer from 1 to 10000")
        policy = replace(policy, event_record_qps_mode=QpsMode(mode), event_record_qps_min=minimum)
    levels = document.get("levels")
    if levels is not None:
        if (
            not isinstance(levels, list)
            or not levels
            or any(isinstance(level, bool) or level not in (1, 2) for level in levels)
        ):
            raise fail("levels", "must be a non-empty list of 1 and/or 2")
        policy = replace(policy, levels=frozenset(levels))
    policy = _registries(document.get("registries"), policy, fail)
    scanning = document.get("imageScanning")
    if scanning is not None:
        if not isinstance(scanning, dict) or set(scanning) != {"thirdParty"}:
            raise fail("imageScanning", "must be a mapping with thirdParty")
        third = scanning["thirdParty"]
        if not isinstance(third, str) or len(third.strip()) < 3:
            raise fail("imageScanning.thirdParty", "must name the scanner (and where it runs)")
        policy = replace(policy, third_party_image_scanning=third.strip())
    exemptions = document.get("exemptions", [])
    if not isinstance(exemptions, list):
        raise fail("exemptions", "must be a list")
    parsed = tuple(_exemption(item, f"exemptions[{i}]", fail) for i, item in enumerate(exemptions))
    return replace(policy, exemptions=parsed)


def _registries(section: object, policy: Policy, fail: Any) -> Policy:
    """``registries.writePrincipals`` (object ids) and ``registries.approved`` (login servers)."""
    if section is None:
        return policy
    if (
        not isinstance(section, dict)
        or not section
        or not set(section)
        <= {
            "writePrincipals",
            "approved",
        }
    ):
        raise fail("registries", "must be a mapping with writePrincipals and/or approved")
    principals = section.get("writePrincipals")
    if principals is not None:
        if not isinstance(principals, list):
            raise fail("registries.writePrincipals", "must be a list of object ids")
        for index, item in enumerate(principals):
            if not isinstance(item, str) or not is_guid(item.strip()):
                raise fail(
                    f"registries.writePrincipals[{index}]", f"{item!r} is not an object id (a GUID)"
                )
        policy = replace(
            policy, acr_write_principals=frozenset(p.strip().lower() for p in principals)
        )
    approved = section.get("approved")
    if approved is not None:
        if not isinstance(approved, list):
            raise fail("registries.approved", "must be a list of registry login servers")
        for index, item in enumerate(approved):
            if (
                not isinstance(item, str)
                or not item.strip()
                or any(c.isspace() for c in item.strip())
            ):
                raise fail(
                    f"registries.approved[{index}]",
                    f"{item!r} is not a login server such as contoso.azurecr.io",
                )
        policy = replace(policy, approved_registries=tuple(a.strip().lower() for a in approved))
    return policy


def _exemption(item: object, where: str, fail: Any) -> Exemption:
    if not isinstance(item, dict):
        raise fail(where, "must be a mapping with control, scope, reason, expires")
    missing = [k for k in ("control", "scope", "reason", "expires") if k not in item]
    if missing:
        raise fail(f"{where}.{missing[0]}", "required")
    extra = sorted(set(map(str, item)) - {"control", "scope", "reason", "expires"})
    if extra:
        raise fail(f"{where}.{extra[0]}", "unknown key")
    control, scope, reason, expires = (
        item["control"],
        item["scope"],
        item["reason"],
        item["expires"],
    )
    if not isinstance(control, str) or not control.strip():
        raise fail(f"{where}.control", 'must be a control id such as "3.2.7"')
    if not isinstance(scope, str) or not scope.lower().startswith(_SCOPE_PREFIX):
        raise fail(
            f"{where}.scope",
            "must be a subscription, cluster or node pool resource id (globs allowed)",
        )
    if not isinstance(reason, str) or len(reason.strip()) < 3:
        raise fail(f"{where}.reason", "must say why the risk is accepted")
    if isinstance(expires, str):
        try:
            expires = date.fromisoformat(expires)
        except ValueError:
            raise fail(f"{where}.expires", f"{expires!r} is not a date (YYYY-MM-DD)") from None
    if not isinstance(expires, date):
        raise fail(f"{where}.expires", "must be a date (YYYY-MM-DD)")
    return Exemption(control.strip(), scope.strip().rstrip("/").lower(), reason.strip(), expires)


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
