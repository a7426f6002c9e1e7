"""The azd hooks (infra/hooks/scanner_access.py), run as azd runs them: a process with the azd
environment in its environment, and ``az`` answered by tests/infra/fake_az.py."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.infra.bicep import ROOT, main

HOOK = ROOT / "infra/hooks/scanner_access.py"
FAKE_AZ = ROOT / "tests/infra/fake_az.py"

_spec = importlib.util.spec_from_file_location("scanner_access", HOOK)
assert _spec is not None
assert _spec.loader is not None
scanner_access = importlib.util.module_from_spec(_spec)
sys.modules["scanner_access"] = scanner_access  # dataclasses look their module up there
_spec.loader.exec_module(scanner_access)

A = "11111111-1111-1111-1111-111111111111"
B = "22222222-2222-2222-2222-222222222222"
C = "33333333-3333-3333-3333-333333333333"
DEPLOY = "44444444-4444-4444-4444-444444444444"
PRINCIPAL = "aaaaaaaa-0000-0000-0000-000000000001"
OTHER_PRINCIPAL = "aaaaaaaa-0000-0000-0000-000000000002"
ROLE = "bbbbbbbb-0000-0000-0000-000000000001"
OTHER_ROLE = "acdd72a7-3385-48ef-bd42-f606fba81ae7"  # Reader
ROLE_ID = f"/subscriptions/{A}/providers/Microsoft.Authorization/roleDefinitions/{ROLE}"


def _assignment(
    subscription: str, name: str, role: str = ROLE, principal: str = PRINCIPAL
) -> dict[str, Any]:
    scope = f"/subscriptions/{subscription}"
    return {
        "id": f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}",
        "properties": {
            "roleDefinitionId": f"{scope}/providers/Microsoft.Authorization/roleDefinitions/{role}",
            "principalId": principal,
            "scope": scope,
        },
    }


def _state(scopes: list[str], assignments: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    role = {
        "id": ROLE_ID,
        "name": ROLE,
        "properties": {
            "roleName": "AKS kubelet compliance scanner (prod)",
            "assignableScopes": [f"/subscriptions/{s}" for s in scopes],
        },
    }
    return {"roleDefinitions": {ROLE_ID.lower(): role}, "roleAssignments": assignments, **extra}


class Azd:
    """Runs the hook like azd: the environment's values as environment variables."""

    def __init__(self, tmp_path: Path, state: dict[str, Any] | None = None, with_az: bool = True):
        self.bin = tmp_path / "bin"
        self.bin.mkdir()
        self.state_file = tmp_path / "az-state.json"
        if with_az:
            az = self.bin / "az"
            az.write_text(
                f'#!/bin/sh\nexec "{sys.executable}" "{FAKE_AZ}" "$@"\n', encoding="utf-8"
            )
            az.chmod(0o755)
            self.state_file.write_text(json.dumps(state or _state([], [])), encoding="utf-8")

    def run(self, hook: str, **env: str) -> subprocess.CompletedProcess[str]:
        """The hook's process, with only these azd values (and a PATH without a real az)."""
        environment = {
            "PATH": f"{self.bin}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}/usr/bin:/bin",
            "FAKE_AZ_STATE": str(self.state_file),
            **env,
        }
        return subprocess.run(
            [sys.executable, str(HOOK), hook],
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    @property
    def state(self) -> dict[str, Any]:
        """The fake ARM's state after the run."""
        state: dict[str, Any] = json.loads(self.state_file.read_text(encoding="utf-8"))
        return state

    def remaining(self) -> set[str]:
        """Names of the role assignments left."""
        return {a["id"].rsplit("/", 1)[1] for a in self.state["roleAssignments"]}

    def calls(self) -> list[tuple[str, str]]:
        """(method, url) of every az rest call."""
        return [(m, u) for m, u in self.state.get("calls", [])]


RECORDED = {"SCANNER_ROLE_DEFINITION_ID": ROLE_ID, "SCANNER_PRINCIPAL_ID": PRINCIPAL}


class TestSubscriptionList:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("", "empty: the scanner targets the deployment subscription"),
            (A, f"1 subscription(s): {A}"),
            (f"{A},{B}", f"2 subscription(s): {A}, {B}"),
            (f" {A} , {B} ", f"2 subscription(s): {A}, {B}"),
        ],
        ids=["empty", "one", "two", "spaces"],
    )
    def test_accepts(self, tmp_path, value, expected):
        """Empty or GUIDs: accepted, and with nothing recorded Azure is not called (no az needed)."""
        done = Azd(tmp_path, with_az=False).run("preprovision", SCAN_SUBSCRIPTION_IDS=value)
        assert done.returncode == 0, done.stderr
        assert f"SCAN_SUBSCRIPTION_IDS: {expected}\n" in done.stdout
        assert "no earlier provisioning in this azd environment, nothing to revoke" in done.stdout

    def test_unset_is_empty(self, tmp_path):
        """No SCAN_SUBSCRIPTION_IDS at all is the deployment subscription."""
        done = Azd(tmp_path, with_az=False).run("preprovision")
        assert done.returncode == 0, done.stderr
        assert "empty: the scanner targets the deployment subscription" in done.stdout

    @pytest.mark.parametrize(
        ("value", "problem"),
        [
            (f"{A},,{B}", "entry 2 is empty"),
            (f"{A},", "entry 2 is empty"),
            (f",{A}", "entry 1 is empty"),
            (f"{A},{A}", f"entry 2 {A} repeats entry 1"),
            (f"{A},{B},{A.upper()}", f"entry 3 {A.upper()} repeats entry 1"),
            (
                "prod-subscription",
                "entry 1 'prod-subscription' is not a subscription ID (a GUID like",
            ),
            (f"{A};{B}", f"entry 1 '{A};{B}' is not a subscription ID"),
            (f"{A}\t", f"entry 1 '{A}\\t' is not a subscription ID"),
        ],
        ids=[
            "empty-entry",
            "trailing-comma",
            "leading-comma",
            "repeat",
            "repeat-other-case",
            "not-a-guid",
            "semicolons",
            "tab",
        ],
    )
    def test_refuses_with_the_entry_named(self, tmp_path, value, problem):
        """A malformed list stops azd before provisioning; the message names the entry and the fix."""
        done = Azd(tmp_path, with_az=False).run("preprovision", SCAN_SUBSCRIPTION_IDS=value)
        assert done.returncode == 1
        assert done.stderr.startswith(f"preprovision: SCAN_SUBSCRIPTION_IDS={value!r}: ")
        assert problem in done.stderr
        assert 'azd env set SCAN_SUBSCRIPTION_IDS "<id-1>,<id-2>"' in done.stderr

    def test_every_problem_is_named_at_once(self):
        """All the list's problems in one message, not one per attempt."""
        with pytest.raises(scanner_access.HookError) as caught:
            scanner_access.parse_targets(f"{A},,x,{A}")
        message = str(caught.value)
        assert "entry 2 is empty; entry 3 'x' is not a subscription ID" in message
        assert f"entry 4 {A} repeats entry 1" in message

    @pytest.mark.parametrize("value", [f"{A},{B}", f" {A} ,{B} ", f"{A} , {B}"])
    def test_reads_the_list_as_main_bicep_does(self, value):
        """Same list as main.bicep's split(replace(targetSubscriptionIds, ' ', ''), ',')."""
        deployed = main().with_bindings(targetSubscriptionIds=value).evaluate("targetSubscriptions")
        assert scanner_access.parse_targets(value) == deployed


class TestRevokeRemovedSubscriptions:
    def test_revokes_exactly_the_removed_subscription(self, tmp_path):
        """B left the list: the scanner's assignment there goes; A, C and everything else stay."""
        azd = Azd(
            tmp_path,
            _state(
                [A, B, C],
                [
                    _assignment(A, "scanner-a"),
                    _assignment(B, "scanner-b"),
                    _assignment(C, "scanner-c"),
                    _assignment(B, "reader-b", role=OTHER_ROLE),
                    _assignment(B, "someone-else-b", principal=OTHER_PRINCIPAL),
                ],
            ),
        )
        done = azd.run("preprovision", SCAN_SUBSCRIPTION_IDS=f"{A},{C}", **RECORDED)
        assert done.returncode == 0, done.stderr
        assert azd.remaining() == {"scanner-a", "scanner-c", "reader-b", "someone-else-b"}
        assert (
            f"revoked: the scanner role in subscription {B} (no longer in SCAN_SUBSCRIPTION_IDS): "
            f"/subscriptions/{B}/providers/Microsoft.Authorization/roleAssignments/scanner-b"
        ) in done.stdout
        assert "1 assignment(s) revoked in 1 removed subscription(s)" in done.stdout
        assert [m for m, _ in azd.calls()] == ["get", "get", "delete"]

    def test_nothing_removed_nothing_deleted(self, tmp_path):
        """The same list again (or a longer one): reads the role, deletes nothing."""
        azd = Azd(
            tmp_path, _state([A, B], [_assignment(A, "scanner-a"), _assignment(B, "scanner-b")])
        )
        done = azd.run("preprovision", SCAN_SUBSCRIPTION_IDS=f"{B},{A},{C}", **RECORDED)
        assert done.returncode == 0, done.stderr
        assert azd.remaining() == {"scanner-a", "scanner-b"}
        assert azd.calls() == [("get", f"{ROLE_ID}?api-version=2022-04-01")]
        assert "every subscription that has the role is still a target (2)" in done.stdout

    def test_empty_list_keeps_only_the_deployment_subscription(self, tmp_path):
        """Back to the default: every other subscription loses the role."""
        azd = Azd(
            tmp_path,
            _state([DEPLOY, B], [_assignment(DEPLOY, "scanner-d"), _assignment(B, "scanner-b")]),
        )
        done = azd.run(
            "preprovision", SCAN_SUBSCRIPTION_IDS="", AZURE_SUBSCRIPTION_ID=DEPLOY, **RECORDED
        )
        assert done.returncode == 0, done.stderr
        assert azd.remaining() == {"scanner-d"}

    def test_every_page_of_assignments(self, tmp_path):
        """ARM pages its answer (nextLink): assignments on later pages are revoked too."""
        names = ["scanner-b1", "scanner-b2", "scanner-b3"]
        azd = Azd(
            tmp_path,
            _state([A, B], [_assignment(A, "scanner-a"), *(_assignment(B, n) for n in names)]),
        )
        done = azd.run("preprovision", SCAN_SUBSCRIPTION_IDS=A, **RECORDED)
        assert done.returncode == 0, done.stderr
        assert azd.remaining() == {"scanner-a"}
        assert "3 assignment(s) revoked" in done.stdout

    def test_a_role_that_no_longer_exists(self, tmp_path):
        """The role was deleted by hand: nothing to revoke, provisioning goes on."""
        state = _state([A], [])
        state["roleDefinitions"] = {}
        azd = Azd(tmp_path, state)
        done = azd.run("preprovision", SCAN_SUBSCRIPTION_IDS=A, **RECORDED)
        assert done.returncode == 0, done.stderr
        assert f"the role {ROLE_ID} no longer exists, nothing to revoke" in done.stdout

    def test_an_azure_refusal_stops_provisioning(self, tmp_path):
        """No right to delete in the removed subscription: azd stops, quoting ARM's answer."""
        azd = Azd(tmp_path, _state([A, B], [_assignment(B, "scanner-b")], forbidden=[B]))
        done = azd.run("preprovision", SCAN_SUBSCRIPTION_IDS=A, **RECORDED)
        assert done.returncode == 1
        assert done.stderr.startswith(
            f"preprovision: az rest --method get /subscriptions/{B}/providers/Microsoft.Authorization/roleAssignments"
        )
        assert '"code":"AuthorizationFailed"' in done.stderr
        assert azd.remaining() == {"scanner-b"}

    def test_no_az_when_there_is_something_to_revoke(self, tmp_path):
        """A recorded provisioning needs az to look the role up: a clear failure without it."""
        done = Azd(tmp_path, with_az=False).run("preprovision", SCAN_SUBSCRIPTION_IDS=A, **RECORDED)
        assert done.returncode == 1
        assert "the Azure CLI (az) is not on PATH" in done.stderr

    @pytest.mark.parametrize(
        ("variable", "value", "message"),
        [
            (
                "SCANNER_ROLE_DEFINITION_ID",
                "Reader",
                "SCANNER_ROLE_DEFINITION_ID='Reader' in the azd environment is not a role definition ID",
            ),
            (
                "SCANNER_PRINCIPAL_ID",
                "",
                "SCANNER_PRINCIPAL_ID='' in the azd environment is not an object ID",
            ),
        ],
        ids=["role", "principal"],
    )
    def test_malformed_outputs_are_named(self, tmp_path, variable, value, message):
        """A damaged azd environment is refused before any call, with the fix (azd env refresh)."""
        done = Azd(tmp_path).run(
            "preprovision", SCAN_SUBSCRIPTION_IDS=A, **{**RECORDED, variable: value}
        )
        assert done.returncode == 1
        assert message in done.stderr
        assert "azd env refresh" in done.stderr


class TestPostdown:
    def test_revokes_everywhere_then_deletes_the_role(self, tmp_path):
        """After azd down no assignment of the scanner role and no role are left."""
        azd = Azd(
            tmp_path,
            _state(
                [A, B],
                [
                    _assignment(A, "scanner-a"),
                    _assignment(B, "scanner-b"),
                    _assignment(B, "reader-b", role=OTHER_ROLE),
                ],
            ),
        )
        done = azd.run("postdown", **RECORDED)
        assert done.returncode == 0, done.stderr
        assert azd.remaining() == {"reader-b"}
        assert azd.state["roleDefinitions"] == {}
        assert f"2 assignment(s) revoked; role {ROLE_ID} deleted" in done.stdout

    def test_nothing_recorded(self, tmp_path):
        """An environment never provisioned: nothing to do, no az needed."""
        done = Azd(tmp_path, with_az=False).run("postdown")
        assert done.returncode == 0, done.stderr
        assert "nothing to delete" in done.stdout


class TestWiring:
    def test_azure_yaml_runs_the_hooks_on_every_os(self):
        """azure.yaml: preprovision and postdown, POSIX and Windows, each running this script."""
        config = yaml.safe_load((ROOT / "azure.yaml").read_text(encoding="utf-8"))
        for hook in ("preprovision", "postdown"):
            posix, windows = config["hooks"][hook]["posix"], config["hooks"][hook]["windows"]
            assert (posix["shell"], windows["shell"]) == ("sh", "pwsh")
            assert posix["run"].startswith(f"python3 infra/hooks/scanner_access.py {hook}")
            assert windows["run"].startswith(f"python infra/hooks/scanner_access.py {hook}")
            assert hook in scanner_access.HOOKS

    def test_main_bicep_outputs_what_the_hooks_read(self):
        """The outputs azd stores are the scanner role's ID and the identity's object ID."""
        outputs = main().section("outputs")
        assert main().evaluate(outputs["SCANNER_ROLE_DEFINITION_ID"]["value"]).text == (
            "scannerRole.outputs.roleDefinitionId"
        )
        assert (
            main().evaluate(outputs["SCANNER_PRINCIPAL_ID"]["value"]).text
            == "identity.outputs.principalId"
        )
        role = main().module("scannerRole")
        assert (
            role.evaluate(role.section("outputs")["roleDefinitionId"]["value"]).text
            == "scannerRole.id"
        )

    def test_the_assignment_is_at_subscription_scope(self):
        """The hook looks for assignments at /subscriptions/<id>: scanner-access.bicep makes them there."""
        access = main().module("scannerAccess")
        (symbol,) = access.resources_of_type("Microsoft.Authorization/roleAssignments")
        assert "scope" not in access.resource_body(symbol)
        assert access.tree["globals"]["scope"]["value"] == "subscription"

    def test_docs_give_the_deployer_what_the_deployment_and_hooks_do(self):
        """docs/infra.md lists, for target subscriptions, every action the nested deployment and the hooks need."""
        docs = (ROOT / "docs/infra.md").read_text(encoding="utf-8")
        section = docs.split("### The deployer's permissions", 1)[1].split("\n### ", 1)[0]
        targets = section.split("**Each target subscription**", 1)[1]
        for action in (
            "Microsoft.Resources/deployments/*",
            "Microsoft.Authorization/roleDefinitions/read`, `/write",
            "Microsoft.Authorization/roleAssignments/read`, `/write",
            "Microsoft.Authorization/roleAssignments/delete",
            "Microsoft.Authorization/roleDefinitions/delete",
        ):
            assert action in targets, action

    def test_usage(self, tmp_path):
        """An unknown hook name is a usage error."""
        done = Azd(tmp_path, with_az=False).run("predeploy")
        assert done.returncode == 2
        assert done.stderr == "usage: scanner_access.py preprovision|postdown\n"
