"""The Function App gets every setting the code reads, with the values the code expects."""

from __future__ import annotations

import json
import re
import sys
from typing import Any

import pytest

import function_app
from shared.settings import DOCUMENTED
from tests.infra.bicep import ROOT, Opaque, main

#: Settings the Functions app and its host read beyond shared.settings.DOCUMENTED. The Functions
#: app (function_app.py, shared/entrypoints/jobs.py, shared/adapters/deadletter.py) adds these: identity-based host
#: storage for the triggers and the dead-letter store, and Entra-authenticated telemetry.
FUNCTIONS_APP_SETTINGS = (
    "AzureWebJobsStorage__accountName",
    "AzureWebJobsStorage__credential",
    "AzureWebJobsStorage__clientId",
    "APPLICATIONINSIGHTS_CONNECTION_STRING",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
)

#: Settings the code reads that infra/ leaves unset on purpose, each with the reason.
INTENTIONALLY_DEFAULTED = {
    "DEADLETTER_DIR": "read by the CLI only (a local folder); the Functions app dead-letters to blobs",
}

#: Settings Flex Consumption rejects or ignores (runtime and deployment come from functionAppConfig).
NOT_ON_FLEX = (
    "FUNCTIONS_WORKER_RUNTIME",
    "FUNCTIONS_EXTENSION_VERSION",
    "WEBSITE_RUN_FROM_PACKAGE",
    "WEBSITE_CONTENTSHARE",
    "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
    "SCM_DO_BUILD_DURING_DEPLOYMENT",
    "ENABLE_ORYX_BUILD",
    "WEBSITE_TIME_ZONE",
    "AzureWebJobsStorage",
)

MAIN = main()
APP = MAIN.module("functionApp")


def _site() -> dict[str, Any]:
    (symbol,) = APP.resources_of_type("Microsoft.Web/sites")
    return APP.resource_body(symbol)


def _settings() -> list[dict[str, Any]]:
    settings: list[dict[str, Any]] = _site()["properties"]["siteConfig"]["appSettings"]
    return settings


def _deployed() -> dict[str, object]:
    """Setting name -> value with main.bicep's parameters at their defaults."""
    return {s["name"]: APP.evaluate(s["value"]) for s in _settings()}


class TestEverySettingIsSet:
    @pytest.mark.parametrize("name", sorted(set(DOCUMENTED) | set(FUNCTIONS_APP_SETTINGS)))
    def test_set_or_intentionally_defaulted(self, name):
        """Each setting the code reads is in appSettings, or listed as defaulted with a reason."""
        names = {s["name"] for s in _settings()}
        if name in INTENTIONALLY_DEFAULTED:
            assert name not in names, f"{name} is set: remove it from INTENTIONALLY_DEFAULTED"
        else:
            assert name in names, f"{name} is read by the code but not set by infra/"

    def test_nothing_unknown_or_duplicated(self):
        """Every setting infra/ sets is one the code reads, and none is set twice."""
        names = [s["name"] for s in _settings()]
        assert len(names) == len(set(names))
        assert set(names) <= set(DOCUMENTED) | set(FUNCTIONS_APP_SETTINGS)

    @pytest.mark.parametrize("name", NOT_ON_FLEX)
    def test_no_setting_flex_consumption_rejects(self, name):
        """Flex Consumption takes runtime and deployment from functionAppConfig; no keys either."""
        assert name not in {s["name"] for s in _settings()}

    def test_defaulted_reasons_are_given(self):
        """An intentionally defaulted setting is one the code reads, and says why."""
        for name, reason in INTENTIONALLY_DEFAULTED.items():
            assert name in DOCUMENTED
            assert len(reason) > 20


class TestValues:
    @pytest.mark.parametrize(
        "name",
        [
            "ARM_ENDPOINT",
            "DISCOVERY_MODE",
            "CIS_BENCHMARK",
            "CIS_SECTIONS",
            "EVENT_RECORD_QPS_MODE",
            "EVENT_RECORD_QPS_MIN",
            "SCAN_POLICY",
            "ALLOW_LOCAL_ACCOUNTS",
            "PRIVATE_CLUSTER_MODE",
            "SCAN_CONCURRENCY",
            "SCAN_CLUSTER_CONCURRENCY",
            "SCAN_REQUEST_TIMEOUT",
            "SCAN_MAX_RETRIES",
            "CONFIGZ_MAX_BYTES",
            "SCAN_SCHEDULE",
            "DEADLETTER_CONTAINER",
            "SCAN_API_AUTH",
            "SCAN_API_ROLE",
        ],
    )
    def test_default_deployment_uses_the_code_defaults(self, name):
        """With main.bicep's defaults, a setting has the value the code would assume anyway."""
        value = _deployed()[name]
        if name == "ARM_ENDPOINT":  # environment().resourceManager: the cloud's own ARM endpoint
            assert value == Opaque("environment().resourceManager")
        else:
            assert value == DOCUMENTED[name][0], name

    def test_identity_settings_name_the_user_assigned_identity(self):
        """The SDKs and the host use the one user-assigned identity, keyless."""
        deployed = _deployed()
        client_id = Opaque("identity.outputs.clientId")
        assert deployed["AZURE_CLIENT_ID"] == client_id
        assert deployed["AzureWebJobsStorage__clientId"] == client_id
        assert deployed["AzureWebJobsStorage__credential"] == "managedidentity"
        assert deployed["AzureWebJobsStorage__accountName"] == Opaque("storage.outputs.name")
        assert deployed["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] == Opaque(
            "ClientId=${identityClientId};Authorization=AAD"
        )
        assert APP.param("identityClientId") == client_id

    def test_the_trigger_accepts_this_tenants_tokens_for_the_hooks_app_registration(self):
        """Entra validation is on, for the deployment's tenant, the cloud's authority and the
        app registration the preprovision hook created (its client id, from the azd env)."""
        deployed = _deployed()
        assert deployed["SCAN_API_AUTH"] == "entra"
        assert deployed["SCAN_API_TENANT_ID"] == Opaque("tenant().[Token('STRING', 'tenantId')]")
        assert deployed["SCAN_API_AUTHORITY"] == Opaque(
            "environment().authentication.loginEndpoint"
        )
        client_id = "11111111-2222-3333-4444-555555555555"
        bound = MAIN.with_bindings(scanApiClientId=client_id).module("functionApp")
        assert bound.param("scanApiClientId") == client_id
        parameters = json.loads((ROOT / "infra/main.parameters.json").read_text(encoding="utf-8"))
        assert parameters["parameters"]["scanApiClientId"]["value"] == "${SCAN_API_CLIENT_ID}"

    def test_scan_subscriptions_are_the_role_subscriptions(self):
        """The app scans exactly the subscriptions the scanner role is assigned in."""
        assert MAIN.evaluate("targetSubscriptions") == [Opaque("subscription().subscriptionId")]
        with_targets = MAIN.with_bindings(targetSubscriptionIds="sub-a, sub-b")
        assert with_targets.module("functionApp").param("scanSubscriptions") == "sub-a,sub-b"
        assert with_targets.evaluate("targetSubscriptions") == ["sub-a", "sub-b"]
        assert with_targets.module("scannerRole").param("assignableSubscriptionIds") == [
            "sub-a",
            "sub-b",
        ]

    def test_names_agree_with_the_code(self):
        """Queue and container names are the ones function_app.py and the settings use."""
        storage = MAIN.module("storage")
        assert storage.param("queueNames") == [function_app.QUEUE, function_app.POISON]
        assert storage.param("deadLetterContainerName") == DOCUMENTED["DEADLETTER_CONTAINER"][0]


class TestSchedule:
    def test_default_schedule_is_the_documented_one(self):
        """scanIntervalHours' default gives SCAN_SCHEDULE's documented default."""
        assert APP.param("scanSchedule") == DOCUMENTED["SCAN_SCHEDULE"][0]

    @pytest.mark.parametrize("hours", [1, 2, 3, 4, 6, 8, 12])
    def test_every_allowed_interval_is_an_even_ncrontab_schedule(self, hours):
        """Each allowed interval yields a six-field NCRONTAB with 24/hours evenly spaced runs."""
        assert hours in MAIN.decorators("parameters", "scanIntervalHours")["allowed"]
        schedule = (
            MAIN.with_bindings(scanIntervalHours=hours).module("functionApp").param("scanSchedule")
        )
        fields = schedule.split()
        assert len(fields) == 6
        assert fields[:2] == ["0", "0"]
        assert fields[3:] == ["*", "*", "*"]
        step = int(re.fullmatch(r"\*/(\d+)", fields[2]).group(1))  # type: ignore[union-attr]
        assert step == hours
        assert 24 % step == 0

    def test_alerts_use_the_same_period(self):
        """The alerts measure periods of the schedule's interval."""
        assert MAIN.module("alerts").param("scanIntervalHours") == MAIN.param("scanIntervalHours")


class TestHosting:
    def test_flex_consumption_plan(self):
        """FC1 / FlexConsumption, Linux."""
        (symbol,) = APP.resources_of_type("Microsoft.Web/serverfarms")
        plan = APP.resource_body(symbol)
        assert plan["sku"] == {"tier": "FlexConsumption", "name": "FC1"}
        assert plan["properties"]["reserved"] is True

    def test_python_runtime_is_the_one_the_tests_run_on(self):
        """functionAppConfig.runtime is Python at this interpreter's version (and pyproject's)."""
        runtime = APP.evaluate(_site()["properties"]["functionAppConfig"]["runtime"])
        version = f"{sys.version_info.major}.{sys.version_info.minor}"
        assert runtime == {"name": "python", "version": version}
        pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
        assert f'target-version = "py{version.replace(".", "")}"' in pyproject

    def test_runs_as_the_user_assigned_identity(self):
        """The app, its deployment storage and its settings use the user-assigned identity."""
        site = _site()
        assert site["identity"]["type"] == "UserAssigned"
        storage = site["properties"]["functionAppConfig"]["deployment"]["storage"]
        assert storage["type"] == "blobContainer"
        assert storage["authentication"]["type"] == "UserAssignedIdentity"
        assert site["properties"]["httpsOnly"] is True
        assert site["properties"]["siteConfig"]["minTlsVersion"] == "1.2"

    def test_azd_finds_the_app(self):
        """azure.yaml's service is the app's azd-service-name, deployed as a Python function."""
        azure_yaml = (ROOT / "azure.yaml").read_text(encoding="utf-8")
        service = MAIN.module_body("functionApp")["params"]["serviceName"]
        assert re.search(
            rf"^  {service}:.*\n    project: \.\n    language: python\n    host: function$",
            azure_yaml,
            re.M,
        )
        assert "path: infra" in azure_yaml

    def test_the_package_ships_hash_checked_bytecode(self, tmp_path):
        """azure.yaml's prepackage hook, run on a copy, leaves an unchecked-hash .pyc for every
        module (valid whatever the zip does to timestamps); .funcignore keeps them."""
        import shutil  # noqa: PLC0415
        import subprocess  # noqa: PLC0415

        import yaml  # noqa: PLC0415

        hook = yaml.safe_load((ROOT / "azure.yaml").read_text(encoding="utf-8"))["services"]
        command = hook["scanner"]["hooks"]["prepackage"]["run"].split()
        assert command[0] == "python3.11"
        shutil.copytree(
            ROOT / "shared", tmp_path / "shared", ignore=shutil.ignore_patterns("__pycache__")
        )
        shutil.copy(ROOT / "function_app.py", tmp_path)
        subprocess.run([sys.executable, *command[1:]], cwd=tmp_path, check=True)
        sources = [*sorted((tmp_path / "shared").rglob("*.py")), tmp_path / "function_app.py"]
        tag = sys.implementation.cache_tag
        for source in sources:
            compiled = source.parent / "__pycache__" / f"{source.stem}.{tag}.pyc"
            flags = int.from_bytes(compiled.read_bytes()[4:8], "little")
            assert flags == 0b01, (source, flags)  # hash-based, source not checked (PEP 552)
        ignored = (ROOT / ".funcignore").read_text(encoding="utf-8").splitlines()
        assert "__pycache__/" not in ignored
        assert "*.pyc" not in ignored
