"""A stand-in for ``az rest`` that answers like ARM's Microsoft.Authorization API, for the hook tests.

It keeps role definitions and role assignments in a JSON state file (FAKE_AZ_STATE) and records
every call there. What it serves, as ARM does (api-version 2022-04-01):

* GET a role definition by ID; 404 ``RoleDefinitionDoesNotExist`` when there is none;
* GET ``/subscriptions/{id}/providers/Microsoft.Authorization/roleAssignments`` with
  ``$filter=principalId eq '{id}'``: the principal's assignments at, above or below that
  subscription, in pages of two linked by ``nextLink``;
* DELETE a role assignment; DELETE a role definition (refused while assignments of it remain);
* 403 ``AuthorizationFailed`` for any call on a subscription listed in ``forbidden``.

Errors go to stderr the way the Azure CLI prints them (``ERROR: <reason>(<ARM error body>)``),
exit status 1. Run as ``python fake_az.py rest --method M --url U --output json``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

PAGE = 2


def _error(reason: str, code: str, message: str) -> int:
    body = json.dumps({"error": {"code": code, "message": message}}, separators=(",", ":"))
    print(f"ERROR: {reason}({body})", file=sys.stderr)
    return 1


def _is_under(scope: str, subscription: str) -> bool:
    prefix = f"/subscriptions/{subscription}".lower()
    scope = scope.lower()
    return (
        scope == prefix or scope.startswith(f"{prefix}/") or not scope.startswith("/subscriptions/")
    )


def _role_definition(state: dict[str, Any], method: str, path: str) -> tuple[int, Any]:
    definitions: dict[str, Any] = state["roleDefinitions"]
    name = path.rsplit("/", 1)[1]
    if path.lower() not in definitions:
        message = f"The specified role definition with ID '{name}' does not exist."
        return _error("Not Found", "RoleDefinitionDoesNotExist", message), None
    if method == "get":
        return 0, definitions[path.lower()]
    for assignment in state["roleAssignments"]:
        if assignment["properties"]["roleDefinitionId"].lower().endswith(f"/{name.lower()}"):
            return _error(
                "Conflict", "RoleDefinitionHasAssignments", "the role has assignments"
            ), None
    del definitions[path.lower()]
    return 0, None


def _list_assignments(
    state: dict[str, Any], url: str, subscription: str, query: dict[str, list[str]]
) -> tuple[int, Any]:
    (condition,) = query["$filter"]
    principal = condition.removeprefix("principalId eq '").removesuffix("'")
    matches = [
        a
        for a in state["roleAssignments"]
        if a["properties"]["principalId"] == principal
        and _is_under(a["properties"]["scope"], subscription)
    ]
    start = int(query.get("$skiptoken", ["0"])[0])
    page: dict[str, Any] = {"value": matches[start : start + PAGE]}
    if start + PAGE < len(matches):
        page["nextLink"] = f"{url}&$skiptoken={start + PAGE}"
    return 0, page


def _delete_assignment(state: dict[str, Any], path: str) -> tuple[int, Any]:
    assignments: list[dict[str, Any]] = state["roleAssignments"]
    for index, assignment in enumerate(assignments):
        if assignment["id"].lower() == path.lower():
            del assignments[index]
            return 0, None
    return _error("Not Found", "RoleAssignmentNotFound", f"{path} does not exist"), None


def serve(state: dict[str, Any], method: str, url: str) -> tuple[int, Any]:
    """(exit status, body) for one call; errors are printed."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    query = parse_qs(parts.query)
    if query.get("api-version") != ["2022-04-01"]:
        version = query.get("api-version")
        return _error("Bad Request", "InvalidApiVersionParameter", f"api-version {version}"), None
    segments = path.split("/")
    subscription = (
        segments[2].lower() if len(segments) > 2 and segments[1] == "subscriptions" else ""
    )
    if subscription in state.get("forbidden", []):
        return _error("Forbidden", "AuthorizationFailed", f"no access to {path}"), None
    if "/roleDefinitions/" in path and method in ("get", "delete"):
        return _role_definition(state, method, path)
    if path.endswith("/providers/Microsoft.Authorization/roleAssignments") and method == "get":
        return _list_assignments(state, url, subscription, query)
    if "/roleAssignments/" in path and method == "delete":
        return _delete_assignment(state, path)
    return _error("Bad Request", "UnsupportedByFake", f"{method} {path}"), None


def main(argv: list[str]) -> int:
    """Serve one ``az rest`` call from the state file."""
    if argv[:1] != ["rest"]:
        return _error("Bad Request", "UnsupportedByFake", " ".join(argv))
    options = dict(zip(argv[1::2], argv[2::2], strict=False))
    method, url = options["--method"], options["--url"]
    state_file = Path(os.environ["FAKE_AZ_STATE"])
    state = json.loads(state_file.read_text(encoding="utf-8"))
    state.setdefault("calls", []).append([method, url])
    status, body = serve(state, method, url)
    state_file.write_text(json.dumps(state), encoding="utf-8")
    if status == 0 and body is not None:
        print(json.dumps(body))
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
