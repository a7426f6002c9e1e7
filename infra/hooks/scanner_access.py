#!/usr/bin/env python3
"""The azd hooks of this project (azure.yaml): the scanner's subscriptions, checked and revoked.

``preprovision`` runs before every ``azd provision`` / ``azd up``:

1. SCAN_SUBSCRIPTION_IDS must be empty (the deployment subscription) or a comma-separated list
   of subscription IDs, none empty, malformed or repeated. main.bicep reads it the same way
   (spaces removed, split on commas); without this check an empty or repeated entry fails the
   deployment with an opaque ARM error.
2. The scanner role is revoked in every subscription the previous provisioning granted it in and
   the new list no longer names. ARM's incremental mode deletes nothing, so without this step the
   scanner's identity would keep node-proxy access there; and the deployment itself would fail,
   since narrowing the custom role's assignable scopes is refused while assignments exist under a
   removed scope (RoleScopeBeingRemovedContainsAssignments). So the assignments go first.
   Which subscriptions had the role: the role definition's own assignableScopes (it is assignable
   in exactly the targets of the last provisioning), found through the azd environment's outputs
   SCANNER_ROLE_DEFINITION_ID and SCANNER_PRINCIPAL_ID. Nothing recorded: the first provisioning,
   nothing to revoke, and Azure is not called.

``postdown`` runs after ``azd down`` (which deletes the resource group only): it deletes the
scanner role's assignments in every subscription the role is assignable in, then the role.

Azure is reached through ``az rest`` (the Azure CLI, signed in as the deployer) and only when there
is something to look up. The standard library only, Python 3.9 or later. Exit status 0, or 1
with the reason on stderr.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

API_VERSION = "2022-04-01"  # Microsoft.Authorization roleDefinitions / roleAssignments
_GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
GUID = re.compile(f"^{_GUID}$")
ROLE_DEFINITION_ID = re.compile(
    rf"^/subscriptions/({_GUID})/providers/Microsoft\.Authorization/roleDefinitions/({_GUID})$",
    re.IGNORECASE,
)
SUBSCRIPTION_SCOPE = re.compile(rf"^/subscriptions/({_GUID})/?$", re.IGNORECASE)
EXAMPLE = "00000000-0000-0000-0000-000000000000"


class HookError(Exception):
    """The hook stops azd: the message says what is wrong and what to do."""


def parse_targets(raw: str | None) -> list[str]:
    """The subscriptions SCAN_SUBSCRIPTION_IDS names, as main.bicep reads it; HookError if malformed.

    Empty or unset: [] (main.bicep then targets the deployment subscription). IDs are returned as
    written; repeats are found case-insensitively (ARM compares subscription IDs that way).
    """
    if raw is None or not raw.strip():
        return []
    entries = raw.replace(" ", "").split(",")
    problems = []
    first_seen: dict[str, int] = {}
    for number, entry in enumerate(entries, start=1):
        if not entry:
            problems.append(f"entry {number} is empty")
        elif not GUID.match(entry):
            problems.append(
                f"entry {number} {entry!r} is not a subscription ID (a GUID like {EXAMPLE})"
            )
        elif entry.lower() in first_seen:
            problems.append(f"entry {number} {entry} repeats entry {first_seen[entry.lower()]}")
        else:
            first_seen[entry.lower()] = number
    if problems:
        raise HookError(
            f"SCAN_SUBSCRIPTION_IDS={raw!r}: {'; '.join(problems)}. Set a comma-separated list of "
            f'subscription IDs (azd env set SCAN_SUBSCRIPTION_IDS "<id-1>,<id-2>"), or an empty '
            "value for the deployment subscription only."
        )
    return entries


@dataclass(frozen=True)
class Scanner:
    """What the last provisioning recorded in the azd environment (main.bicep outputs)."""

    role_definition_id: str
    principal_id: str

    @property
    def role_name(self) -> str:
        """The role definition's name (a GUID), the last segment of its ID."""
        return self.role_definition_id.rsplit("/", 1)[1].lower()


def recorded_scanner(env: Mapping[str, str]) -> Scanner | None:
    """The scanner role and identity of the last provisioning, or None before the first one."""
    role = env.get("SCANNER_ROLE_DEFINITION_ID", "").strip()
    principal = env.get("SCANNER_PRINCIPAL_ID", "").strip()
    if not role and not principal:
        return None
    if not ROLE_DEFINITION_ID.match(role):
        raise HookError(
            f"SCANNER_ROLE_DEFINITION_ID={role!r} in the azd environment is not a role definition ID "
            "(/subscriptions/<id>/providers/Microsoft.Authorization/roleDefinitions/<guid>): run "
            "`azd env refresh` to restore the last provisioning's outputs"
        )
    if not GUID.match(principal):
        raise HookError(
            f"SCANNER_PRINCIPAL_ID={principal!r} in the azd environment is not an object ID: run "
            "`azd env refresh` to restore the last provisioning's outputs"
        )
    return Scanner(role, principal)


class Azure:
    """ARM through ``az rest``: the deployer's own Azure CLI sign-in and cloud."""

    def __init__(self, az: str | None = None) -> None:
        found = az or shutil.which("az")
        if found is None:
            raise HookError(
                "the Azure CLI (az) is not on PATH: this step revokes the scanner role in "
                "subscriptions removed from SCAN_SUBSCRIPTION_IDS through `az rest`. Install it and "
                "run `az login` (same tenant as azd), or see docs/infra.md for the manual commands"
            )
        self._az = found

    def _rest(self, method: str, url: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 - fixed arguments, no shell
            [self._az, "rest", "--method", method, "--url", url, "--output", "json"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def _fail(self, method: str, url: str, done: subprocess.CompletedProcess[str]) -> HookError:
        reason = (
            done.stderr.strip().splitlines()[-1]
            if done.stderr.strip()
            else f"exit {done.returncode}"
        )
        return HookError(f"az rest --method {method} {url}: {reason}")

    def get(self, url: str, missing: str = "") -> dict[str, Any] | None:
        """The JSON body; None when ARM's error code is ``missing`` (the resource does not exist)."""
        done = self._rest("get", url)
        if done.returncode != 0:
            if missing and f'"code":"{missing}"' in done.stderr.replace(" ", ""):
                return None
            raise self._fail("get", url, done)
        body: dict[str, Any] = json.loads(done.stdout or "{}")
        return body

    def delete(self, url: str) -> None:
        """Delete a resource; an error stops the hook."""
        done = self._rest("delete", url)
        if done.returncode != 0:
            raise self._fail("delete", url, done)


def assignable_subscriptions(azure: Azure, scanner: Scanner) -> list[str] | None:
    """The subscriptions the scanner role is assignable in, or None if the role no longer exists."""
    role = azure.get(
        f"{scanner.role_definition_id}?api-version={API_VERSION}", "RoleDefinitionDoesNotExist"
    )
    if role is None:
        return None
    subscriptions = []
    for scope in role.get("properties", {}).get("assignableScopes", []):
        match = SUBSCRIPTION_SCOPE.match(scope)
        if match is None:
            raise HookError(
                f"the scanner role has the assignable scope {scope!r}, not a subscription"
            )
        subscriptions.append(match.group(1))
    return subscriptions


def scanner_assignments(azure: Azure, scanner: Scanner, subscription: str) -> list[str]:
    """IDs of the scanner role's assignments to the scanner identity in one subscription."""
    url = (
        f"/subscriptions/{subscription}/providers/Microsoft.Authorization/roleAssignments"
        f"?api-version={API_VERSION}&$filter=principalId eq '{scanner.principal_id}'"
    )
    found = []
    prefix = f"/subscriptions/{subscription.lower()}"
    while url:
        page = azure.get(url) or {}
        for assignment in page.get("value", []):
            properties = assignment.get("properties", {})
            role = str(properties.get("roleDefinitionId", "")).lower()
            scope = str(properties.get("scope", "")).lower()
            if role.endswith(f"/{scanner.role_name}") and (
                scope == prefix or scope.startswith(f"{prefix}/")
            ):
                found.append(str(assignment["id"]))
        url = page.get("nextLink") or ""
    return found


def revoke(azure: Azure, scanner: Scanner, subscriptions: Sequence[str], why: str) -> int:
    """Delete the scanner's role assignments in these subscriptions; the number deleted."""
    deleted = 0
    for subscription in subscriptions:
        assignments = scanner_assignments(azure, scanner, subscription)
        for assignment in assignments:
            azure.delete(f"{assignment}?api-version={API_VERSION}")
            print(f"revoked: the scanner role in subscription {subscription} ({why}): {assignment}")
            deleted += 1
        if not assignments:
            print(f"revoked: nothing left in subscription {subscription} ({why})")
    return deleted


def preprovision(env: Mapping[str, str], azure: type[Azure] = Azure) -> None:
    """Validate SCAN_SUBSCRIPTION_IDS, then revoke the role where the new list dropped it."""
    targets = parse_targets(env.get("SCAN_SUBSCRIPTION_IDS"))
    if targets:
        print(f"SCAN_SUBSCRIPTION_IDS: {len(targets)} subscription(s): {', '.join(targets)}")
    else:
        print("SCAN_SUBSCRIPTION_IDS: empty: the scanner targets the deployment subscription")
    scanner = recorded_scanner(env)
    if scanner is None:
        print("scanner access: no earlier provisioning in this azd environment, nothing to revoke")
        return
    if not targets:
        deployment = env.get("AZURE_SUBSCRIPTION_ID", "").strip()
        if not GUID.match(deployment):
            raise HookError(
                f"AZURE_SUBSCRIPTION_ID={deployment!r}: the deployment subscription is needed to know "
                "which subscriptions keep the scanner role (azd sets it; azd env set AZURE_SUBSCRIPTION_ID <id>)"
            )
        targets = [deployment]
    client = azure()
    granted = assignable_subscriptions(client, scanner)
    if granted is None:
        print(
            f"scanner access: the role {scanner.role_definition_id} no longer exists, nothing to revoke"
        )
        return
    keep = {t.lower() for t in targets}
    removed = [s for s in granted if s.lower() not in keep]
    if not removed:
        print(
            f"scanner access: every subscription that has the role is still a target ({len(granted)})"
        )
        return
    count = revoke(client, scanner, removed, "no longer in SCAN_SUBSCRIPTION_IDS")
    print(
        f"scanner access: {count} assignment(s) revoked in {len(removed)} removed subscription(s)"
    )


def postdown(env: Mapping[str, str], azure: type[Azure] = Azure) -> None:
    """After azd down: revoke the role everywhere it is assignable, then delete it."""
    scanner = recorded_scanner(env)
    if scanner is None:
        print("scanner access: no provisioning recorded in this azd environment, nothing to delete")
        return
    client = azure()
    granted = assignable_subscriptions(client, scanner)
    if granted is None:
        print(f"scanner access: the role {scanner.role_definition_id} no longer exists")
        return
    count = revoke(client, scanner, granted, "azd down")
    client.delete(f"{scanner.role_definition_id}?api-version={API_VERSION}")
    print(
        f"scanner access: {count} assignment(s) revoked; role {scanner.role_definition_id} deleted"
    )


HOOKS = {"preprovision": preprovision, "postdown": postdown}


def main(argv: Sequence[str]) -> int:
    """``scanner_access.py preprovision|postdown``, with the azd environment in os.environ."""
    if len(argv) != 1 or argv[0] not in HOOKS:
        print(f"usage: scanner_access.py {'|'.join(HOOKS)}", file=sys.stderr)
        return 2
    try:
        HOOKS[argv[0]](os.environ)
    except HookError as exc:
        print(f"{argv[0]}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
