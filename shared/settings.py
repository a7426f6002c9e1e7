"""Settings: every environment variable the scanner reads, validated before any call.

Each setting is documented once in ``DOCUMENTED`` (README "Configuration" lists the same), plus
the Functions host's storage connection (``AzureWebJobsStorage`` and its identity-based
``__blobServiceUri`` / ``__accountName`` / ``__clientId`` fields, set by the platform and infra/),
which the app also uses for its dead-letter store (``StorageSettings``). A missing or malformed value raises SettingsError naming the variable.
Only this module and shared.bootstrap look at the environment; everything else receives a
``Settings``.

Values are taken exactly as written. An empty value is the same as unset (the default); any
other value with leading or trailing whitespace, or with a control character, is an error
naming the setting rather than something trimmed. The few normalisations are documented with
the setting: SCAN_SUBSCRIPTIONS splits on commas, allows spaces around them, lower-cases and
drops repeated ids; booleans accept true/false, 1/0 and yes/no in any case; a trailing ``/``
of an endpoint URL is dropped; SCAN_POLICY holds a document or a path (see shared.core.policy).
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from shared.core.controls.registry import get_benchmark
from shared.core.errors import SettingsError
from shared.core.identifiers import IdentifierError, is_guid, subscription_id
from shared.core.model import Policy, QpsMode, ScanScope
from shared.core.records import FINDINGS_STREAM, RUNS_STREAM

if TYPE_CHECKING:
    from shared.core.controls import Benchmark

DCR_IMMUTABLE_ID = re.compile(r"dcr-[0-9a-f]{32}")
STREAM = re.compile(r"Custom-[A-Za-z0-9_]{1,100}")
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
        "Comma-separated subscription ids every trigger scans (spaces around commas allowed; an "
        "HTTP request may narrow them, never widen them; the CLI's --subscription replaces "
        "them); unset: every subscription the identity can see.",
    ),
    "DISCOVERY_MODE": (
        "auto",
        "How clusters are discovered: auto (Resource Graph, per-subscription ARM listing if it "
        "fails), resource-graph, or arm. The cluster controls' tenant-wide reads (registries, "
        "role assignments, Defender plans) are Resource Graph queries in every mode.",
    ),
    "CIS_BENCHMARK": ("cis-aks-1.8", "Benchmark whose controls are evaluated."),
    "CIS_SECTIONS": (
        "all",
        "Comma-separated CIS sections or control ids to evaluate (3.2: the kubelet only; 2,3.1,5: the cluster controls from ARM; 4: the policies from the Kubernetes API); all: every section.",
    ),
    "EVENT_RECORD_QPS_MODE": (
        "cis",
        "cis: 0 or >= EVENT_RECORD_QPS_MIN passes; zero-only: only 0 passes (kube-bench).",
    ),
    "EVENT_RECORD_QPS_MIN": ("5", "Lowest non-zero eventRecordQPS that passes 3.2.7 in cis mode."),
    "ALLOW_LOCAL_ACCOUNTS": (
        "false",
        "true: clusters without Entra ID are scanned with their kubeconfig's own credentials "
        "(true/false, 1/0 or yes/no, any case).",
    ),
    "PRIVATE_CLUSTER_MODE": (
        "report",
        "Private cluster whose API server the scanner cannot reach: report (ERROR rows naming the "
        "fix) or run-command (read configz through the AKS run command API).",
    ),
    "SCAN_CONCURRENCY": ("64", "configz requests in flight across the whole run."),
    "SCAN_CLUSTER_CONCURRENCY": (
        "8",
        "configz requests in flight per API server (section 4 reads at most 4 lists of it at once besides).",
    ),
    "SCAN_REQUEST_TIMEOUT": (
        "10",
        "Seconds per API server request: each attempt's whole time (connect, answer and body), for configz reads, node-list pages and section 4 list pages alike.",
    ),
    "SCAN_MAX_RETRIES": (
        "3",
        "Retries of a 429/5xx configz, node-list or section 4 list request (Retry-After honoured).",
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
    schedule: str = "0 0 */6 * * *"  # the host reads it (%SCAN_SCHEDULE%); validated here

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
        selected = get_benchmark(benchmark)
        selected.select(sections)  # SettingsError naming a section the benchmark lacks
        logs_endpoint = get.url("LOGS_INGESTION_ENDPOINT", required=False)
        logs_dcr_id = get.text("LOGS_DCR_IMMUTABLE_ID")
        if logs_dcr_id and not DCR_IMMUTABLE_ID.fullmatch(logs_dcr_id):
            raise SettingsError(
                f"LOGS_DCR_IMMUTABLE_ID: {_shown(logs_dcr_id)} is not a DCR immutable id (dcr- and 32 hex digits)"
            )
        if bool(logs_endpoint) != bool(logs_dcr_id):
            missing = "LOGS_DCR_IMMUTABLE_ID" if logs_endpoint else "LOGS_INGESTION_ENDPOINT"
            raise SettingsError(
                f"{missing}: must be set together with "
                f"{'LOGS_INGESTION_ENDPOINT' if logs_endpoint else 'LOGS_DCR_IMMUTABLE_ID'}"
            )
        client_id = get.text("AZURE_CLIENT_ID")
        if client_id and not is_guid(client_id):
            raise SettingsError(f"AZURE_CLIENT_ID: {_shown(client_id)} is not a GUID")
        return cls(
            azure_client_id=client_id,
            arm_endpoint=get.url("ARM_ENDPOINT", required=True),
            subscriptions=get.guids("SCAN_SUBSCRIPTIONS"),
            discovery_mode=get.choice("DISCOVERY_MODE", ("auto", "resource-graph", "arm")),
            benchmark=benchmark,
            policy=_policy(get, selected),
            allow_local_accounts=get.boolean("ALLOW_LOCAL_ACCOUNTS"),
            private_cluster_mode=get.choice("PRIVATE_CLUSTER_MODE", PRIVATE_CLUSTER_MODES),
            concurrency=get.integer("SCAN_CONCURRENCY", minimum=1, maximum=1024),
            cluster_concurrency=get.integer("SCAN_CLUSTER_CONCURRENCY", minimum=1, maximum=256),
            request_timeout=float(get.integer("SCAN_REQUEST_TIMEOUT", minimum=1, maximum=300)),
            max_retries=get.integer("SCAN_MAX_RETRIES", minimum=0, maximum=10),
            configz_max_bytes=get.integer(
                "CONFIGZ_MAX_BYTES", minimum=4096, maximum=64 * 1024 * 1024
            ),
            logs_endpoint=logs_endpoint,
            logs_dcr_id=logs_dcr_id,
            logs_findings_stream=get.stream("LOGS_FINDINGS_STREAM"),
            logs_runs_stream=get.stream("LOGS_RUNS_STREAM"),
            deadletter_container=get.container("DEADLETTER_CONTAINER"),
            deadletter_dir=get.text("DEADLETTER_DIR"),
            storage=_storage(env),
            sections=sections,
            schedule=get.schedule("SCAN_SCHEDULE"),
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
    get = _Reader(env)
    blob_uri = get.raw("AzureWebJobsStorage__blobServiceUri")
    account = get.raw("AzureWebJobsStorage__accountName")
    if blob_uri and urlsplit(blob_uri).scheme != "https":
        raise SettingsError(
            f"AzureWebJobsStorage__blobServiceUri: {_shown(blob_uri)} is not an https:// URL"
        )
    if not blob_uri and account:
        if not _ACCOUNT.fullmatch(account):
            raise SettingsError(
                f"AzureWebJobsStorage__accountName: {_shown(account)} is not a storage account name "
                "(3-24 lower-case letters and digits)"
            )
        blob_uri = f"https://{account}.blob.core.windows.net"
    client_id = get.raw("AzureWebJobsStorage__clientId")
    if client_id and not is_guid(client_id):
        raise SettingsError(f"AzureWebJobsStorage__clientId: {_shown(client_id)} is not a GUID")
    return StorageSettings(
        # A secret: never quoted in an error (a malformed one is refused where it is used).
        connection_string=env.get("AzureWebJobsStorage") or "",
        blob_service_uri=blob_uri.rstrip("/"),
        client_id=client_id,
    )


_ACCOUNT = re.compile(r"[a-z0-9]{3,24}")
_SECTION = re.compile(r"[1-9][0-9]?(\.[1-9][0-9]?){0,2}")
# Blob container names: 3-63 lower-case letters, digits and single hyphens, starting and ending
# with a letter or digit (Azure Storage naming rules).
_CONTAINER = re.compile(r"[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}")


def _policy(get: _Reader, benchmark: Benchmark) -> Policy:
    base = Policy(
        event_record_qps_min=get.integer("EVENT_RECORD_QPS_MIN", minimum=1, maximum=10_000),
        event_record_qps_mode=QpsMode(
            get.choice("EVENT_RECORD_QPS_MODE", tuple(m.value for m in QpsMode))
        ),
    )
    source = get.document("SCAN_POLICY")
    if not source:
        return base
    from shared.core.policy import load_policy  # noqa: PLC0415 - only when a policy file is set

    return load_policy(source, base, benchmark=benchmark)


# An endpoint URL: https://, a DNS name, IPv4 address or bracketed IPv6 literal, an optional port.
_URL = re.compile(
    r"https://(?P<host>[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::(?P<port>[0-9]{1,5}))?/?"
)
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_DIGITS = re.compile(r"[0-9]{1,12}")
_CRON_NAMES = {
    4: ("january february march april may june july august september october november december"),
    5: "sunday monday tuesday wednesday thursday friday saturday",
}
# NCRONTAB fields: {second} {minute} {hour} {day} {month} {day-of-week}, with their ranges
# (atifaziz/NCrontab, NCrontab/CrontabFieldImpl.cs, the parser the Functions timer uses).
_CRON_FIELDS = (
    ("second", 0, 59),
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day", 1, 31),
    ("month", 1, 12),
    ("day-of-week", 0, 6),
)


class _Reader:
    """Reads one setting at a time, exactly; each error names the setting."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def raw(self, name: str) -> str:
        """The value as set ("" when unset); blank or padded values and control characters refused."""
        value = self._env.get(name) or ""
        if value and value != value.strip():
            raise SettingsError(
                f"{name}: {_shown(value)} has leading or trailing whitespace; values are used "
                "exactly as written, so remove it (an empty value means the default)"
            )
        if any(unicodedata.category(char) == "Cc" for char in value):
            raise SettingsError(f"{name}: {_shown(value)} contains a control character")
        return value

    def text(self, name: str) -> str:
        """The value, or the documented default when it is unset or empty."""
        return self.raw(name) or DOCUMENTED[name][0]

    def document(self, name: str) -> str:
        """A value that may be a multi-line document (SCAN_POLICY): taken whole, never trimmed."""
        value = self._env.get(name) or ""
        if "\x00" in value:
            raise SettingsError(f"{name}: contains a NUL character")
        if value.strip() == "":
            if value:
                raise SettingsError(
                    f"{name}: is only whitespace; leave it empty or unset for no policy"
                )
            return DOCUMENTED[name][0]
        return value

    def url(self, name: str, *, required: bool) -> str:
        """An https:// endpoint: a host (DNS name or IP) and an optional port, nothing else.

        No user name or password, path, query or fragment; a single trailing ``/`` is dropped.
        """
        value = self.text(name)
        if not value:
            if required:
                raise SettingsError(f"{name}: required")
            return ""
        match = _URL.fullmatch(value)
        if match is None or not _host_ok(match["host"]) or not _port_ok(match["port"]):
            raise SettingsError(
                f"{name}: {_shown(value)} is not an https:// endpoint "
                "(https://host or https://host:port, no path, query or credentials)"
            )
        return value.removesuffix("/")

    def guids(self, name: str) -> tuple[str, ...]:
        """Comma-separated subscription ids; spaces around commas allowed, no empty item."""
        value = self.text(name)
        if not value:
            return ()
        ids: list[str] = []
        for index, item in enumerate(value.split(",")):
            item = item.strip(" ")  # noqa: PLW2901 - the one documented trim: spaces around commas
            if not item:
                raise SettingsError(
                    f"{name}: item {index + 1} is empty (two commas, or a comma at an end)"
                )
            try:
                ids.append(subscription_id(item))
            except IdentifierError as exc:
                raise SettingsError(f"{name}: {exc}") from None
        return tuple(dict.fromkeys(ids))

    def sections(self, name: str) -> tuple[str, ...]:
        value = self.text(name)
        if value.lower() == "all":
            return ()
        parts = [p.strip(" ") for p in value.split(",")]  # spaces around commas (documented)
        if all(not p for p in parts):
            raise SettingsError(f"{name}: {value!r} names no section (use all for every section)")
        if "" in parts:
            raise SettingsError(
                f"{name}: entry {parts.index('') + 1} of {value!r} is empty (a stray comma?)"
            )
        items = tuple(dict.fromkeys(parts))
        for item in items:
            if not _SECTION.fullmatch(item):
                raise SettingsError(
                    f"{name}: {item!r} is not a CIS section or control id (such as 3.2 or 5.4.1)"
                )
        return items

    def container(self, name: str) -> str:
        value = self.text(name)
        if not _CONTAINER.fullmatch(value):
            raise SettingsError(
                f"{name}: {_shown(value)} is not a blob container name (3-63 lower-case letters, "
                "digits and single hyphens)"
            )
        return value

    def choice(self, name: str, choices: tuple[str, ...]) -> str:
        value = self.text(name)
        if value not in choices:
            raise SettingsError(f"{name}: {_shown(value)} is not one of {', '.join(choices)}")
        return value

    def integer(self, name: str, *, minimum: int, maximum: int) -> int:
        """A decimal integer in ASCII digits (no sign, no _ separators, no other scripts' digits)."""
        value = self.text(name)
        if not _DIGITS.fullmatch(value):
            raise SettingsError(f"{name}: {_shown(value)} is not an integer (decimal digits 0-9)")
        number = int(value, 10)
        if not minimum <= number <= maximum:
            raise SettingsError(f"{name}: {number} is outside {minimum}..{maximum}")
        return number

    def boolean(self, name: str) -> bool:
        value = self.text(name)
        if value.lower() in ("true", "1", "yes"):
            return True
        if value.lower() in ("false", "0", "no"):
            return False
        raise SettingsError(f"{name}: {_shown(value)} is not true or false")

    def stream(self, name: str) -> str:
        value = self.text(name)
        if not STREAM.fullmatch(value):
            raise SettingsError(f"{name}: {_shown(value)} is not a DCR stream name (Custom-...)")
        return value

    def schedule(self, name: str) -> str:
        """A six-field NCRONTAB expression, fields separated by single spaces."""
        value = self.text(name)
        fields = value.split(" ")
        if len(fields) != len(_CRON_FIELDS):
            raise SettingsError(
                f"{name}: {_shown(value)} is not an NCRONTAB schedule: six fields "
                "{second} {minute} {hour} {day} {month} {day-of-week}, separated by single spaces"
            )
        for index, (text, (field_name, low, high)) in enumerate(
            zip(fields, _CRON_FIELDS, strict=True)
        ):
            if not _cron_field(text, low, high, _CRON_NAMES.get(index, "").split()):
                raise SettingsError(
                    f"{name}: {_shown(value)}: the {field_name} field {_shown(text)} is not "
                    f"*, a value {low}-{high}, a range a-b, a step x/n, or a list of them"
                )
        return value


def _cron_field(text: str, low: int, high: int, names: list[str]) -> bool:
    """One NCRONTAB field: a comma list of *, n, a-b, each with an optional /step."""
    for part in text.split(","):
        base, slash, step = part.partition("/")
        if slash and not (_DIGITS.fullmatch(step) and int(step) >= 1):
            return False
        if base == "*":
            continue
        ends = base.split("-")
        if len(ends) > 2 or not all(_cron_value(end, low, high, names) is not None for end in ends):
            return False
        values = [_cron_value(end, low, high, names) for end in ends]
        if len(values) == 2 and values[0] > values[1]:  # type: ignore[operator]  # both checked above
            return False
    return True


def _cron_value(text: str, low: int, high: int, names: list[str]) -> int | None:
    if _DIGITS.fullmatch(text):
        return int(text) if low <= int(text) <= high else None
    if len(text) >= 3 and text.isascii() and text.isalpha():
        for offset, name in enumerate(names):
            if name.startswith(text.lower()):
                return low + offset
    return None


def _host_ok(host: str) -> bool:
    """A DNS name of labels (letters, digits, inner hyphens), or a bracketed IPv6 address."""
    if host.startswith("["):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return False
        return True
    return all(_LABEL.fullmatch(label) for label in host.split("."))


def _port_ok(port: str | None) -> bool:
    return port is None or 1 <= int(port) <= 65535


def _shown(value: str, limit: int = 120) -> str:
    """A value quoted for an error message (escaped, cut when long)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"
