"""Settings: every environment variable the scanner reads, validated before any call.

Each setting is documented once in ``DOCUMENTED`` (README "Configuration" lists the same), plus
the Functions host's storage connection (``AzureWebJobsStorage`` and its identity-based
``__blobServiceUri`` / ``__accountName`` / ``__clientId`` fields, set by the platform and infra/),
which the app also uses for its dead-letter store (``StorageSettings``). A missing or malformed value raises SettingsError naming the variable.
Only this module and shared.bootstrap look at the environment; everything else receives a
``Settings``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from shared.core.controls.registry import get_benchmark
from shared.core.errors import SettingsError
from shared.core.identifiers import IdentifierError, is_guid, subscription_id
from shared.core.model import Policy, QpsMode, ScanScope
from shared.core.records import FINDINGS_STREAM, RUNS_STREAM

DCR_IMMUTABLE_ID = re.compile(r"^dcr-[0-9a-f]{32}$")
STREAM = re.compile(r"^Custom-[A-Za-z0-9_]{1,100}$")
PRIVATE_CLUSTER_MODES = ("report", "run-command")

#: name -> (default, one-line description); README's settings table mirrors this.
DOCUMENTED: dict[str, tuple[str, str]] = {
    "AZURE_CLIENT_ID": (
        "",
        "Client id of the user-assigned managed identity; unset: DefaultAzureCredential (az login locally).",
    ),
    "ARM_ENDPOINT": (
        "https://management.azure.com",
        "Azure Resource Manager endpoint (sovereign clouds).",
    ),
    "SCAN_SUBSCRIPTIONS": (
        "",
        "Comma-separated subscription ids every trigger scans (an HTTP request may narrow them, "
        "never widen them; the CLI's --subscription replaces them); unset: every subscription "
        "the identity can see.",
    ),
    "DISCOVERY_MODE": (
        "auto",
        "auto (Resource Graph, per-subscription ARM listing if it fails), resource-graph, or arm.",
    ),
    "CIS_BENCHMARK": ("cis-aks-1.8", "Benchmark whose controls are evaluated."),
    "CIS_SECTIONS": (
        "all",
        "Comma-separated CIS sections or control ids to evaluate (3.2: the kubelet only; 2,3.1,5: the cluster controls); all: every section.",
    ),
    "EVENT_RECORD_QPS_MODE": (
        "cis",
        "cis: 0 or >= EVENT_RECORD_QPS_MIN passes; zero-only: only 0 passes (kube-bench).",
    ),
    "EVENT_RECORD_QPS_MIN": ("5", "Lowest non-zero eventRecordQPS that passes 3.2.7 in cis mode."),
    "ALLOW_LOCAL_ACCOUNTS": (
        "false",
        "true: clusters without Entra ID are scanned with their kubeconfig's own credentials.",
    ),
    "PRIVATE_CLUSTER_MODE": (
        "report",
        "Private cluster whose API server the scanner cannot reach: report (ERROR rows naming the "
        "fix) or run-command (read configz through the AKS run command API).",
    ),
    "SCAN_CONCURRENCY": ("64", "configz requests in flight across the whole run."),
    "SCAN_CLUSTER_CONCURRENCY": ("8", "configz requests in flight per API server."),
    "SCAN_REQUEST_TIMEOUT": (
        "10",
        "Seconds per API server request: each attempt's whole time (connect, answer and body), for configz reads and node-list pages alike.",
    ),
    "SCAN_MAX_RETRIES": (
        "3",
        "Retries of a 429/5xx configz or node-list request (Retry-After honoured).",
    ),
    "CONFIGZ_MAX_BYTES": (
        "1048576",
        "Largest configz body read; a larger one is an ERROR for that node.",
    ),
    "LOGS_INGESTION_ENDPOINT": (
        "",
        "Logs Ingestion endpoint of the data collection rule; with LOGS_DCR_IMMUTABLE_ID enables upload.",
    ),
    "LOGS_DCR_IMMUTABLE_ID": ("", "Immutable id (dcr-...) of the data collection rule."),
    "LOGS_FINDINGS_STREAM": (FINDINGS_STREAM, "DCR stream for finding rows."),
    "LOGS_RUNS_STREAM": (RUNS_STREAM, "DCR stream for run records."),
    "SCAN_POLICY": (
        "",
        "Policy file (path, or inline YAML/JSON): eventRecordQPS rule, levels, exemptions with expiry.",
    ),
    # Read by the Functions app only (the host resolves %SCAN_SCHEDULE%; jobs read the rest).
    "SCAN_SCHEDULE": (
        "0 0 */6 * * *",
        "NCRONTAB schedule of the timer trigger (UTC; every 6 hours).",
    ),
    "DEADLETTER_CONTAINER": (
        "findings-deadletter",
        "Blob container where rows wait when Log Analytics does not accept them.",
    ),
    # Read by the CLI only.
    "DEADLETTER_DIR": (
        ".deadletter",
        "CLI: folder where rows wait when Log Analytics does not accept them.",
    ),
    # Read by POST /api/scan only (ApiAuthSettings; see README "Calling the trigger").
    "SCAN_API_AUTH": (
        "entra",
        "POST /api/scan: entra (an Entra ID token with SCAN_API_ROLE is required) or off (no "
        "token checked; local use only, refused when the app runs in Azure).",
    ),
    "SCAN_API_TENANT_ID": ("", "Entra tenant id whose v2.0 tokens the trigger accepts (entra)."),
    "SCAN_API_CLIENT_ID": (
        "",
        "Application (client) id of the scanner API's app registration: the tokens' audience (entra).",
    ),
    "SCAN_API_ROLE": ("Scan.Run", "App role the caller's token must carry in its roles claim."),
    "SCAN_API_AUTHORITY": (
        "https://login.microsoftonline.com",
        "Entra authority host (sovereign clouds); issuer {authority}/{tenant}/v2.0.",
    ),
}

#: Variables the platform sets wherever the app runs in Azure: with any of them set,
#: SCAN_API_AUTH=off is refused. The Functions host itself tells Flex Consumption by
#: WEBSITE_SKU=FlexConsumption, or by LEGION_SERVICE_HOST with CONTAINER_NAME or
#: WEBSITE_POD_NAME, and App Service by WEBSITE_INSTANCE_ID, which Flex Consumption does not set
#: (Azure/azure-functions-host src/WebJobs.Script/Environment/EnvironmentExtensions.cs:
#: IsFlexConsumptionSku, IsLinuxConsumptionOnLegion, IsAppService); hence a list. CONTAINER_NAME
#: alone is not one: plenty of containers set it.
AZURE_HOST_MARKERS = (
    "WEBSITE_INSTANCE_ID",
    "WEBSITE_SITE_NAME",
    "WEBSITE_SKU",
    "WEBSITE_POD_NAME",
    "LEGION_SERVICE_HOST",
)
API_AUTH_MODES = ("entra", "off")
# App role values: printable ASCII without spaces (Entra refuses spaces in a role's value).
_ROLE = re.compile(r"[!-~]{1,250}")


@dataclass(frozen=True, slots=True)
class StorageSettings:
    """Where the Functions app's dead-letter container lives (the host's storage account)."""

    connection_string: str = field(default="", repr=False)  # a secret: never shown
    blob_service_uri: str = ""
    client_id: str = ""


@dataclass(frozen=True, slots=True)
class Settings:
    """Validated settings."""

    azure_client_id: str
    arm_endpoint: str
    subscriptions: tuple[str, ...]
    discovery_mode: str
    benchmark: str
    policy: Policy
    allow_local_accounts: bool
    private_cluster_mode: str
    concurrency: int
    cluster_concurrency: int
    request_timeout: float
    max_retries: int
    configz_max_bytes: int
    logs_endpoint: str
    logs_dcr_id: str
    logs_findings_stream: str
    logs_runs_stream: str
    deadletter_container: str = "findings-deadletter"
    deadletter_dir: str = ".deadletter"
    storage: StorageSettings = StorageSettings()
    #: CIS_SECTIONS: the sections (or control ids) to evaluate; empty: all of them.
    sections: tuple[str, ...] = ()

    @property
    def logs_enabled(self) -> bool:
        """True when findings go to Log Analytics."""
        return bool(self.logs_endpoint and self.logs_dcr_id)

    @property
    def default_scope(self) -> ScanScope:
        """What a scan covers unless a request narrows it: SCAN_SUBSCRIPTIONS, or everything."""
        return ScanScope(subscriptions=self.subscriptions)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Read and validate every setting from ``env`` (os.environ or a test dict)."""
        get = _Reader(env)
        benchmark = get.text("CIS_BENCHMARK")
        sections = get.sections("CIS_SECTIONS")
        get_benchmark(benchmark).select(sections)
        logs_endpoint = get.url("LOGS_INGESTION_ENDPOINT", required=False)
        logs_dcr_id = get.text("LOGS_DCR_IMMUTABLE_ID")
        if logs_dcr_id and not DCR_IMMUTABLE_ID.match(logs_dcr_id):
            raise SettingsError(
                f"LOGS_DCR_IMMUTABLE_ID: {logs_dcr_id!r} is not a DCR immutable id (dcr- and 32 hex digits)"
            )
        if bool(logs_endpoint) != bool(logs_dcr_id):
            missing = "LOGS_DCR_IMMUTABLE_ID" if logs_endpoint else "LOGS_INGESTION_ENDPOINT"
            raise SettingsError(
                f"{missing}: must be set together with "
                f"{'LOGS_INGESTION_ENDPOINT' if logs_endpoint else 'LOGS_DCR_IMMUTABLE_ID'}"
            )
        client_id = get.text("AZURE_CLIENT_ID")
        if client_id and not is_guid(client_id):
            raise SettingsError(f"AZURE_CLIENT_ID: {client_id!r} is not a GUID")
        return cls(
            azure_client_id=client_id,
            arm_endpoint=get.url("ARM_ENDPOINT", required=True).rstrip("/"),
            subscriptions=get.guids("SCAN_SUBSCRIPTIONS"),
            discovery_mode=get.choice("DISCOVERY_MODE", ("auto", "resource-graph", "arm")),
            benchmark=benchmark,
            policy=_policy(get),
            allow_local_accounts=get.boolean("ALLOW_LOCAL_ACCOUNTS"),
            private_cluster_mode=get.choice("PRIVATE_CLUSTER_MODE", PRIVATE_CLUSTER_MODES),
            concurrency=get.integer("SCAN_CONCURRENCY", minimum=1, maximum=1024),
            cluster_concurrency=get.integer("SCAN_CLUSTER_CONCURRENCY", minimum=1, maximum=256),
            request_timeout=float(get.integer("SCAN_REQUEST_TIMEOUT", minimum=1, maximum=300)),
            max_retries=get.integer("SCAN_MAX_RETRIES", minimum=0, maximum=10),
            configz_max_bytes=get.integer(
                "CONFIGZ_MAX_BYTES", minimum=4096, maximum=64 * 1024 * 1024
            ),
            logs_endpoint=logs_endpoint.rstrip("/"),
            logs_dcr_id=logs_dcr_id,
            logs_findings_stream=get.stream("LOGS_FINDINGS_STREAM"),
            logs_runs_stream=get.stream("LOGS_RUNS_STREAM"),
            deadletter_container=get.container("DEADLETTER_CONTAINER"),
            deadletter_dir=get.text("DEADLETTER_DIR"),
            storage=_storage(env),
            sections=sections,
        )


@dataclass(frozen=True, slots=True)
class ApiAuthSettings:
    """How POST /api/scan authenticates its callers (read by the HTTP trigger only).

    ``entra``: a v2.0 access token of ``tenant_id`` for the application ``client_id`` (its
    ``aud``), signed with a key the tenant publishes, carrying ``role``. ``off``: no token is
    checked; refused when the environment shows the app runs in Azure (AZURE_HOST_MARKERS).
    """

    mode: str
    tenant_id: str = ""
    client_id: str = ""
    role: str = DOCUMENTED["SCAN_API_ROLE"][0]
    authority: str = DOCUMENTED["SCAN_API_AUTHORITY"][0]

    @property
    def issuer(self) -> str:
        """The exact ``iss`` of the tenant's v2.0 tokens."""
        return f"{self.authority}/{self.tenant_id}/v2.0"

    @property
    def metadata_url(self) -> str:
        """The tenant's v2.0 OpenID Connect metadata document (it names ``jwks_uri``)."""
        return f"{self.issuer}/.well-known/openid-configuration"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ApiAuthSettings:
        """Read and validate the SCAN_API_* settings; SettingsError names the setting."""
        get = _Reader(env)
        mode = get.choice("SCAN_API_AUTH", API_AUTH_MODES)
        if mode == "off":
            markers = [name for name in AZURE_HOST_MARKERS if (env.get(name) or "").strip()]
            if markers:
                raise SettingsError(
                    f"SCAN_API_AUTH: off is for local use only and is refused here: {markers[0]} "
                    "is set, so the app runs in Azure; set SCAN_API_AUTH=entra"
                )
            return cls(mode)
        tenant_id = get.text("SCAN_API_TENANT_ID")
        client_id = get.text("SCAN_API_CLIENT_ID")
        for name, value in (("SCAN_API_TENANT_ID", tenant_id), ("SCAN_API_CLIENT_ID", client_id)):
            if not value:
                raise SettingsError(f"{name}: required with SCAN_API_AUTH=entra")
            if not is_guid(value):
                raise SettingsError(f"{name}: {value!r} is not a GUID")
        role = get.text("SCAN_API_ROLE")
        if not _ROLE.fullmatch(role):
            raise SettingsError(
                f"SCAN_API_ROLE: {role!r} is not an app role value (printable, no spaces)"
            )
        authority = get.url("SCAN_API_AUTHORITY", required=True).rstrip("/")
        if urlsplit(authority).path or urlsplit(authority).query:
            raise SettingsError(
                f"SCAN_API_AUTHORITY: {authority!r} must be the authority host only "
                "(https://login.microsoftonline.com), without a path"
            )
        return cls(mode, tenant_id.lower(), client_id.lower(), role, authority)


def _storage(env: Mapping[str, str]) -> StorageSettings:
    """The host storage fields, as the Functions host reads them (validated when used)."""
    blob_uri = (env.get("AzureWebJobsStorage__blobServiceUri") or "").strip()
    account = (env.get("AzureWebJobsStorage__accountName") or "").strip()
    if blob_uri and urlsplit(blob_uri).scheme != "https":
        raise SettingsError(
            f"AzureWebJobsStorage__blobServiceUri: {blob_uri!r} is not an https:// URL"
        )
    if not blob_uri and account:
        if not _ACCOUNT.fullmatch(account):
            raise SettingsError(
                f"AzureWebJobsStorage__accountName: {account!r} is not a storage account name "
                "(3-24 lower-case letters and digits)"
            )
        blob_uri = f"https://{account}.blob.core.windows.net"
    client_id = (env.get("AzureWebJobsStorage__clientId") or "").strip()
    if client_id and not is_guid(client_id):
        raise SettingsError(f"AzureWebJobsStorage__clientId: {client_id!r} is not a GUID")
    return StorageSettings(
        connection_string=(env.get("AzureWebJobsStorage") or "").strip(),
        blob_service_uri=blob_uri.rstrip("/"),
        client_id=client_id,
    )


_ACCOUNT = re.compile(r"[a-z0-9]{3,24}")
_SECTION = re.compile(r"[1-9][0-9]?(\.[1-9][0-9]?){0,2}")
# Blob container names: 3-63 lower-case letters, digits and single hyphens, starting and ending
# with a letter or digit (Azure Storage naming rules).
_CONTAINER = re.compile(r"[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}")


def _policy(get: _Reader) -> Policy:
    base = Policy(
        event_record_qps_min=get.integer("EVENT_RECORD_QPS_MIN", minimum=1, maximum=10_000),
        event_record_qps_mode=QpsMode(
            get.choice("EVENT_RECORD_QPS_MODE", tuple(m.value for m in QpsMode))
        ),
    )
    source = get.text("SCAN_POLICY")
    if not source:
        return base
    from shared.core.policy import load_policy  # noqa: PLC0415 - only when a policy file is set

    return load_policy(source, base)


class _Reader:
    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def text(self, name: str) -> str:
        value = self._env.get(name)
        if value is None or value.strip() == "":
            return DOCUMENTED[name][0]
        return value.strip()

    def url(self, name: str, *, required: bool) -> str:
        value = self.text(name)
        if not value:
            if required:
                raise SettingsError(f"{name}: required")
            return ""
        parts = urlsplit(value)
        if parts.scheme != "https" or not parts.hostname:
            raise SettingsError(f"{name}: {value!r} is not an https:// URL")
        return value

    def guids(self, name: str) -> tuple[str, ...]:
        raw = [p.strip() for p in self.text(name).split(",") if p.strip()]
        try:
            return tuple(dict.fromkeys(subscription_id(item) for item in raw))
        except IdentifierError as exc:
            raise SettingsError(f"{name}: {exc}") from None

    def sections(self, name: str) -> tuple[str, ...]:
        value = self.text(name)
        if value.lower() == "all":
            return ()
        items = tuple(dict.fromkeys(p.strip() for p in value.split(",") if p.strip()))
        for item in items:
            if not _SECTION.fullmatch(item):
                raise SettingsError(
                    f"{name}: {item!r} is not a CIS section or control id (such as 3.2 or 5.4.1)"
                )
        if not items:
            raise SettingsError(f"{name}: {value!r} names no section (use all for every section)")
        return items

    def container(self, name: str) -> str:
        value = self.text(name)
        if not _CONTAINER.fullmatch(value):
            raise SettingsError(
                f"{name}: {value!r} is not a blob container name (3-63 lower-case letters, "
                "digits and single hyphens)"
            )
        return value

    def choice(self, name: str, choices: tuple[str, ...]) -> str:
        value = self.text(name)
        if value not in choices:
            raise SettingsError(f"{name}: {value!r} is not one of {', '.join(choices)}")
        return value

    def integer(self, name: str, *, minimum: int, maximum: int) -> int:
        value = self.text(name)
        try:
            number = int(value, 10)
        except ValueError:
            raise SettingsError(f"{name}: {value!r} is not an integer") from None
        if not minimum <= number <= maximum:
            raise SettingsError(f"{name}: {number} is outside {minimum}..{maximum}")
        return number

    def boolean(self, name: str) -> bool:
        value = self.text(name).lower()
        if value in ("true", "1", "yes"):
            return True
        if value in ("false", "0", "no"):
            return False
        raise SettingsError(f"{name}: {value!r} is not true or false")

    def stream(self, name: str) -> str:
        value = self.text(name)
        if not STREAM.match(value):
            raise SettingsError(f"{name}: {value!r} is not a DCR stream name (Custom-...)")
        return value
