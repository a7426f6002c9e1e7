"""infra/hooks/scanner-api.sh: the azd preprovision hook that creates the scanner API's app
registration, run against a fake ``az`` and ``azd`` that speak the CLIs' contract (arguments
in, TSV out, exit status) and record every call."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from shared.settings import DOCUMENTED
from tests.infra.bicep import ROOT

HOOK = ROOT / "infra/hooks/scanner-api.sh"
MANIFEST = ROOT / "infra/hooks/scanner-api.json"
PREAUTHORIZE = ROOT / "infra/hooks/scanner-api-preauthorize.json"
AZURE_CLI = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
NEW_APP = "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a"

FAKE = textwrap.dedent(
    """\
    import json, os, sys
    state_file = os.environ["FAKE_STATE"]
    state = json.load(open(state_file)) if os.path.exists(state_file) else {"apps": [], "sps": []}
    args = sys.argv[1:]
    record = {"tool": os.path.basename(sys.argv[0]), "args": args}
    if "--body" in args:
        record["body"] = json.load(open(args[args.index("--body") + 1].lstrip("@")))
    with open(os.environ["FAKE_LOG"], "a") as log:
        log.write(json.dumps(record) + "\\n")
    def value(flag):
        return args[args.index(flag) + 1]
    def save():
        json.dump(state, open(state_file, "w"))
    out = ""
    if record["tool"] == "az":
        if args[:2] == ["account", "show"]:
            out = "tenant"
        elif args[:2] == ["cloud", "show"]:
            out = "https://graph.microsoft.com/"
        elif args[:3] == ["ad", "app", "create"]:
            state["apps"].append(os.environ["FAKE_NEW_APP"]); save(); out = os.environ["FAKE_NEW_APP"]
        elif args[:3] == ["ad", "app", "show"]:
            if value("--id") not in state["apps"]:
                sys.stderr.write("Resource does not exist\\n"); sys.exit(3)
            out = value("--id") if value("--query") == "appId" else "object-" + value("--id")
        elif args[:3] == ["ad", "sp", "show"]:
            if value("--id") not in state["sps"]:
                sys.exit(3)
            out = "sp-" + value("--id")
        elif args[:3] == ["ad", "sp", "create"]:
            state["sps"].append(value("--id")); save(); out = "sp-" + value("--id")
    print(out)
    """
)


def run_hook(
    tmp_path: Path, env: dict[str, str], apps: list[str] | None = None
) -> list[dict[str, Any]]:
    """Run the hook with the fakes first on PATH; every CLI call it made, in order."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for tool in ("az", "azd"):
        fake = bin_dir / tool
        fake.write_text(f"#!{sys.executable}\n{FAKE}", encoding="utf-8")
        fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"apps": apps or [], "sps": list(apps or [])}), encoding="utf-8")
    log = tmp_path / "calls.jsonl"
    log.unlink(missing_ok=True)
    shell = shutil.which("sh")
    assert shell is not None
    subprocess.run(
        [shell, str(HOOK)],
        env={
            "PATH": f"{bin_dir}:/usr/bin:/bin",
            "FAKE_STATE": str(state),
            "FAKE_LOG": str(log),
            "FAKE_NEW_APP": NEW_APP,
            **env,
        },
        check=True,
        capture_output=True,
        text=True,
    )
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]


def commands(calls: list[dict[str, Any]]) -> list[str]:
    return [" ".join([c["tool"], *c["args"][:3]]) for c in calls]


class TestFirstProvision:
    def test_creates_the_registration_its_principal_and_sets_the_azd_value(self, tmp_path):
        """No SCAN_API_CLIENT_ID yet: create, two PATCHes, the principal, assignment required, azd env set."""
        calls = run_hook(tmp_path, {"AZURE_ENV_NAME": "prod"})
        made = commands(calls)
        assert "az ad app create" in made
        create = next(c for c in calls if c["args"][:3] == ["ad", "app", "create"])
        assert "AKS kubelet CIS scanner API (prod)" in create["args"]
        assert create["args"][create["args"].index("--sign-in-audience") + 1] == "AzureADMyOrg"
        patches = [c for c in calls if c["args"][:1] == ["rest"]]
        assert [p["args"][p["args"].index("--uri") + 1] for p in patches] == [
            f"https://graph.microsoft.com/v1.0/applications/object-{NEW_APP}"
        ] * 2
        assert patches[0]["body"]["identifierUris"] == [f"api://{NEW_APP}"]
        assert "preAuthorizedApplications" in patches[1]["body"]["api"]
        assert "az ad sp create" in made
        update = next(c for c in calls if c["args"][:3] == ["ad", "sp", "update"])
        assert update["args"][-2:] == ["--set", "appRoleAssignmentRequired=true"]
        assert calls[-1] == {"tool": "azd", "args": ["env", "set", "SCAN_API_CLIENT_ID", NEW_APP]}

    def test_refuses_to_run_outside_azd(self, tmp_path):
        """Without AZURE_ENV_NAME the hook stops before any call."""
        with pytest.raises(subprocess.CalledProcessError) as failed:
            run_hook(tmp_path, {})
        assert "AZURE_ENV_NAME" in failed.value.stderr


class TestAgain:
    def test_an_existing_registration_is_updated_not_duplicated(self, tmp_path):
        """SCAN_API_CLIENT_ID names an existing app: no create, the same PATCHes, no new principal."""
        existing = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
        calls = run_hook(
            tmp_path, {"AZURE_ENV_NAME": "prod", "SCAN_API_CLIENT_ID": existing}, apps=[existing]
        )
        made = commands(calls)
        assert "az ad app create" not in made
        assert "az ad sp create" not in made
        patches = [c for c in calls if c["args"][:1] == ["rest"]]
        assert patches[0]["body"]["identifierUris"] == [f"api://{existing}"]
        assert calls[-1]["args"] == ["env", "set", "SCAN_API_CLIENT_ID", existing]

    def test_a_stale_client_id_makes_a_new_registration(self, tmp_path):
        """SCAN_API_CLIENT_ID of a registration that is gone: a new one is created and recorded."""
        calls = run_hook(
            tmp_path,
            {
                "AZURE_ENV_NAME": "prod",
                "SCAN_API_CLIENT_ID": "0" * 8 + "-0000-0000-0000-" + "0" * 12,
            },
        )
        assert calls[-1]["args"] == ["env", "set", "SCAN_API_CLIENT_ID", NEW_APP]


class TestManifest:
    def test_v2_tokens_and_the_role_the_code_requires(self):
        """requestedAccessTokenVersion 2 (the app accepts only v2.0 issuers) and the app role
        SCAN_API_ROLE's default, enabled, for users and applications."""
        manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
        assert manifest["api"]["requestedAccessTokenVersion"] == 2
        (role,) = manifest["appRoles"]
        assert role["value"] == DOCUMENTED["SCAN_API_ROLE"][0]
        assert sorted(role["allowedMemberTypes"]) == ["Application", "User"]
        assert role["isEnabled"] is True
        assert manifest["identifierUris"] == ["api://__APP_ID__"]

    def test_azure_cli_is_preauthorized_for_the_one_scope(self):
        """The second PATCH repeats the api block and pre-authorizes Azure CLI for its scope."""
        manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
        second = json.loads(PREAUTHORIZE.read_text(encoding="utf-8"))["api"]
        preauthorized = second.pop("preAuthorizedApplications")
        assert second == manifest["api"]
        (scope,) = manifest["api"]["oauth2PermissionScopes"]
        assert preauthorized == [{"appId": AZURE_CLI, "delegatedPermissionIds": [scope["id"]]}]

    def test_azure_yaml_runs_the_hook_before_provisioning(self):
        """azure.yaml's preprovision hook is this script, and it stops azd when it fails."""
        text = (ROOT / "azure.yaml").read_text(encoding="utf-8")
        assert "preprovision:" in text
        hook = yaml.safe_load(text)["hooks"]["preprovision"]
        # After the subscription check (test_hooks.py), on both shells.
        assert hook["posix"]["run"].endswith("&& sh infra/hooks/scanner-api.sh")
        assert "sh infra/hooks/scanner-api.sh" in hook["windows"]["run"]
        assert "continueOnError: false" in text
        assert os.access(HOOK, os.X_OK)
