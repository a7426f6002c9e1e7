"""Hostile values of every documented setting: each is taken exactly, or refused naming it.

For every name in settings.DOCUMENTED a generator produces valid values, valid values padded
with whitespace or carrying control characters, look-alikes (other scripts' digits, signs,
separators, wrong case, trailing newlines) and arbitrary text; an oracle written from the
documented rule says what the value must become. The property: ``Settings.from_env`` gives
exactly that, or raises a SettingsError whose message starts with the setting's name. Nothing is
trimmed or normalised except what README's table documents. The CLI's exit 2 and the
Functions triggers' refusal for the same values are in tests/e2e/test_settings_effect.py and
tests/functions/test_inputs_functions.py.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.core.controls.registry import benchmark_names, get_benchmark
from shared.core.errors import SettingsError
from shared.settings import DOCUMENTED, ApiAuthSettings, Settings
from tests.hypothesis_profiles import count, examples

pytestmark = pytest.mark.inputs

GUID = "0b1f6471-1bf0-4dda-aec3-111122223333"
DCR = "dcr-" + "0123456789abcdef" * 2
ENDPOINT = "https://dce-1.westeurope-1.ingest.monitor.azure.com"
ARABIC_FIVE, FULLWIDTH_EIGHT = "\u0665", "\uff18"  # digits int() would accept
REFUSE = object()  # the oracle's "must be a SettingsError naming the setting"


def oracle_url(value: str) -> object:
    """An https:// endpoint: host and optional port only; one trailing / dropped."""
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        return REFUSE
    host, netloc = parts.hostname or "", parts.netloc
    plain = (
        value.startswith("https://")
        and value.isascii()
        and netloc
        and "@" not in netloc
        and not netloc.endswith(":")
        and parts.path in ("", "/")
        and "?" not in value
        and "#" not in value
        and port != 0
    )
    return (
        value.removesuffix("/")
        if plain and host_ok(host, bracketed=netloc.startswith("["))
        else REFUSE
    )


def host_ok(host: str, *, bracketed: bool) -> bool:
    if bracketed:
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return False
        return True
    label = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
    return len(host) <= 253 and all(re.fullmatch(label, part) for part in host.split("."))


def oracle_int(low: int, high: int) -> Callable[[str], object]:
    def parse(value: str) -> object:
        if not (value.isascii() and value.isdigit() and len(value) <= 12):
            return REFUSE
        return int(value) if low <= int(value) <= high else REFUSE

    return parse


def oracle_choice(*choices: str) -> Callable[[str], object]:
    return lambda value: value if value in choices else REFUSE


def oracle_bool(value: str) -> object:
    lowered = value.lower()
    return (
        True
        if lowered in ("true", "1", "yes")
        else False
        if lowered in ("false", "0", "no")
        else REFUSE
    )


def oracle_subscriptions(value: str) -> object:
    ids: list[str] = []
    for item in value.split(","):
        item = item.strip(" ")  # noqa: PLW2901 - the documented trim
        if not re.fullmatch(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}", item):
            return REFUSE
        ids.append(item.lower())
    return tuple(dict.fromkeys(ids))


def oracle_regex(pattern: str) -> Callable[[str], object]:
    return lambda value: value if re.fullmatch(pattern, value) else REFUSE


def oracle_container(value: str) -> object:
    ok = (
        3 <= len(value) <= 63
        and re.fullmatch(r"[a-z0-9-]+", value)
        and value[0] != "-"
        and value[-1] != "-"
        and "--" not in value
    )
    return value if ok else REFUSE


def oracle_text(value: str) -> object:
    return value if not any(ord(c) < 32 or 127 <= ord(c) < 160 for c in value) else REFUSE


def oracle_guid(value: str) -> object:
    return (
        value
        if re.fullmatch(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}", value)
        else REFUSE
    )


_CRON_RANGES = ((0, 59), (0, 59), (0, 23), (1, 31), (1, 12), (0, 6))
_NAMES = {
    4: [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ],
    5: ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"],
}


def cron_value(text: str, index: int) -> int | None:
    low, high = _CRON_RANGES[index]
    if text.isascii() and text.isdigit() and len(text) <= 12:
        return int(text) if low <= int(text) <= high else None
    names = [
        n
        for n in _NAMES.get(index, [])
        if len(text) >= 3 and text.isalpha() and n.startswith(text.lower())
    ]
    return low + _NAMES[index].index(names[0]) if names else None


def oracle_schedule(value: str) -> object:
    """Six single-space-separated NCRONTAB fields: lists of *, n, a-b, each with /step."""
    fields = value.split(" ")
    if len(fields) != 6:
        return REFUSE
    for index, field in enumerate(fields):
        for part in field.split(","):
            base, slash, step = part.partition("/")
            if slash and not (
                step.isascii() and step.isdigit() and len(step) <= 12 and int(step) >= 1
            ):
                return REFUSE
            if base == "*":
                continue
            values = [cron_value(end, index) for end in base.split("-")]
            if len(values) > 2 or None in values or (len(values) == 2 and values[0] > values[1]):  # type: ignore[operator]  # None excluded
                return REFUSE
    return value


def oracle_sections(value: str) -> object:
    """all (any case), or comma-separated ids (spaces around commas) under which the default
    benchmark has a control; no empty entry; repeats dropped."""
    if value.lower() == "all":
        return ()
    parts = [part.strip(" ") for part in value.split(",")]
    ids = [c.id for c in get_benchmark(DOCUMENTED["CIS_BENCHMARK"][0]).controls]
    for part in parts:
        if not re.fullmatch(r"[1-9][0-9]?(\.[1-9][0-9]?){0,2}", part):
            return REFUSE
        if not any(i == part or i.startswith(part + ".") for i in ids):
            return REFUSE
    return tuple(dict.fromkeys(parts))


def oracle_lower_guid(value: str) -> object:
    checked = oracle_guid(value)
    return checked.lower() if isinstance(checked, str) else REFUSE


def oracle_authority(value: str) -> object:
    """SCAN_API_AUTHORITY: an https:// host (and port) only; one trailing / dropped."""
    return oracle_url(value)


#: setting -> (the Settings value it becomes, oracle, values around the valid ones); the
#: SCAN_API_* settings are read by ApiAuthSettings (the HTTP trigger only), the rest by Settings.
CASES: dict[str, tuple[Callable[[Any], object], Callable[[str], object], list[str]]] = {
    "AZURE_CLIENT_ID": (lambda s: s.azure_client_id, oracle_guid, [GUID, GUID.upper(), GUID[:-1]]),
    "ARM_ENDPOINT": (
        lambda s: s.arm_endpoint,
        oracle_url,
        [
            "https://management.azure.com",
            "https://management.azure.com/",
            "https://management.usgovcloudapi.net:443",
            "https://127.0.0.1:8443",
            "https://[::1]:8443",
            "https://[::1",
            "https://x:99999",
            "https://x:0",
            "https://x:",
            "https://user:pw@management.azure.com",
            "https://management.azure.com/path",
            "https://management.azure.com?x=1",
            "https://management.azure.com#",
            "http://management.azure.com",
            "HTTPS://management.azure.com",
            "https://-bad-.com",
            "https://exa mple.com",
            "https://management.azure.com.",
            "https://xn--bcher-kva.example",
            "https://bücher.example",
            "https:///path",
        ],
    ),
    "SCAN_SUBSCRIPTIONS": (
        lambda s: s.subscriptions,
        oracle_subscriptions,
        [
            GUID,
            f"{GUID},{GUID.upper()}",
            f"{GUID} , {GUID}",
            f"{GUID},",
            f",{GUID}",
            f"{GUID},,{GUID}",
            f"{GUID}\t,{GUID}",
            f"{{{GUID}}}",
        ],
    ),
    "DISCOVERY_MODE": (
        lambda s: s.discovery_mode,
        oracle_choice("auto", "resource-graph", "arm"),
        ["auto", "arm", "ARM", "resource_graph"],
    ),
    "CIS_BENCHMARK": (
        lambda s: s.benchmark,
        oracle_choice(*benchmark_names()),
        [*benchmark_names(), "CIS-AKS-1.8", "cis-aks-1.1", "cis-aks-1.8.0"],
    ),
    "EVENT_RECORD_QPS_MODE": (
        lambda s: s.policy.event_record_qps_mode.value,
        oracle_choice("cis", "zero-only"),
        ["cis", "zero-only", "CIS", "zero_only"],
    ),
    "EVENT_RECORD_QPS_MIN": (
        lambda s: s.policy.event_record_qps_min,
        oracle_int(1, 10_000),
        ["5", "0", "10000", "10001", "+5", "5_0", ARABIC_FIVE, "5.0", "0x10", "1e3", "05"],
    ),
    "ALLOW_LOCAL_ACCOUNTS": (
        lambda s: s.allow_local_accounts,
        oracle_bool,
        ["true", "FALSE", "Yes", "1", "0", "no", "on", "off", "tru", "y"],
    ),
    "PRIVATE_CLUSTER_MODE": (
        lambda s: s.private_cluster_mode,
        oracle_choice("report", "run-command"),
        ["report", "run-command", "Report", "runcommand"],
    ),
    "SCAN_CONCURRENCY": (
        lambda s: s.concurrency,
        oracle_int(1, 1024),
        ["1", "64", "1024", "1025", "0", "-1", "9" * 30],
    ),
    "SCAN_CLUSTER_CONCURRENCY": (
        lambda s: s.cluster_concurrency,
        oracle_int(1, 256),
        ["1", "256", "257", FULLWIDTH_EIGHT],
    ),
    "SCAN_REQUEST_TIMEOUT": (
        lambda s: s.request_timeout,
        oracle_int(1, 300),
        ["1", "300", "301", "1.5", "10s"],
    ),
    "SCAN_MAX_RETRIES": (lambda s: s.max_retries, oracle_int(0, 10), ["0", "10", "11", "-0"]),
    "CONFIGZ_MAX_BYTES": (
        lambda s: s.configz_max_bytes,
        oracle_int(4096, 64 * 1024 * 1024),
        ["4096", "4095", "67108864", "67108865", "1MiB"],
    ),
    "LOGS_INGESTION_ENDPOINT": (
        lambda s: s.logs_endpoint,
        oracle_url,
        [ENDPOINT, ENDPOINT + "/", ENDPOINT + "/dataCollectionRules"],
    ),
    "LOGS_DCR_IMMUTABLE_ID": (
        lambda s: s.logs_dcr_id,
        oracle_regex(r"dcr-[0-9a-f]{32}"),
        [DCR, DCR.upper(), DCR + "\n", DCR[:-1], "dcr-" + "g" * 32],
    ),
    "LOGS_FINDINGS_STREAM": (
        lambda s: s.logs_findings_stream,
        oracle_regex(r"Custom-[A-Za-z0-9_]{1,100}"),
        ["Custom-KubeletFindings", "Custom-X\n", "Microsoft-Syslog", "Custom-", "Custom-a-b"],
    ),
    "LOGS_RUNS_STREAM": (
        lambda s: s.logs_runs_stream,
        oracle_regex(r"Custom-[A-Za-z0-9_]{1,100}"),
        ["Custom-KubeletScanRuns", "custom-x", "Custom-" + "x" * 101],
    ),
    "SCAN_SCHEDULE": (
        lambda s: s.schedule,
        oracle_schedule,
        [
            "0 0 */6 * * *",
            "0 */5 * * * *",
            "0 30 9 * Jan Mon",
            "0 0 9-17 * * 1-5",
            "0,30 * * * * *",
            "0 0 */6 * *",
            "0 0 */6 * * * *",
            "0 0  */6 * * *",
            "0 0 24 * * *",
            "60 0 0 * * *",
            "0 0 0 0 * *",
            "0 0 0 * 13 *",
            "0 0 0 * * 7",
            "0 0 5-1 * * *",
            "0 0 */0 * * *",
            "0 0 0 * Ju *",
            "0 0 0 * * Funday",
            "00:05:00",
            "@daily",
        ],
    ),
    "DEADLETTER_CONTAINER": (
        lambda s: s.deadletter_container,
        oracle_container,
        ["findings-deadletter", "ab", "a--b", "-ab", "ab-", "AB", "a" * 63, "a" * 64],
    ),
    "DEADLETTER_DIR": (
        lambda s: s.deadletter_dir,
        oracle_text,
        [".deadletter", "/var/lib/scanner/dl", "dir with spaces", "dl\n", "dl\x00", "dl\x7f"],
    ),
    "CIS_SECTIONS": (
        lambda s: s.sections,
        oracle_sections,
        ["all", "ALL", "3.2", "3.2, 5.4.1", "2,3.1,5", "3.2,,5", ",", "4", "0.1", "3.x", "3.2,3.2"],
    ),
    "SCAN_API_AUTH": (lambda a: a.mode, oracle_choice("entra", "off"), ["entra", "off", "none"]),
    "SCAN_API_TENANT_ID": (
        lambda a: a.tenant_id,
        oracle_lower_guid,
        [GUID, GUID.upper(), "contoso"],
    ),
    "SCAN_API_CLIENT_ID": (lambda a: a.client_id, oracle_lower_guid, [GUID, "api://scanner"]),
    "SCAN_API_ROLE": (
        lambda a: a.role,
        oracle_regex(r"[!-~]{1,250}"),
        ["Scan.Run", "Scanner.Run", "Scan Run", "x" * 250, "x" * 251],
    ),
    "SCAN_API_AUTHORITY": (
        lambda a: a.authority,
        oracle_authority,
        [
            "https://login.microsoftonline.com",
            "https://login.microsoftonline.us/",
            "https://login.microsoftonline.com/common",
            "http://login.microsoftonline.com",
        ],
    ),
}
#: The HTTP trigger's settings, read with the other half of an Entra configuration beside them.
API = {"SCAN_API_TENANT_ID": GUID, "SCAN_API_CLIENT_ID": GUID}
#: Settings whose rule is a whole document, tested in their own module.
ELSEWHERE = {"SCAN_POLICY": "tests/core/test_policy_inputs.py"}
#: What a setting needs beside it to be read at all (the other half of a pair).
COMPANIONS = {
    "LOGS_INGESTION_ENDPOINT": {"LOGS_DCR_IMMUTABLE_ID": DCR},
    "LOGS_DCR_IMMUTABLE_ID": {"LOGS_INGESTION_ENDPOINT": ENDPOINT},
}


def hostile(samples: list[str]) -> st.SearchStrategy[str]:
    """Valid samples, the same padded or with a control character, look-alikes, any text."""
    sample = st.sampled_from(samples)
    pad = st.sampled_from([" ", "\t", "\n", "\r\n", "\u00a0", "\u2003", "\ufeff"])
    return st.one_of(
        sample,
        st.builds(lambda v, p: v + p, sample, pad),
        st.builds(lambda v, p: p + v, sample, pad),
        st.builds(
            lambda v, i, c: v[:i] + c + v[i:],
            sample,
            st.integers(0, 40),
            st.sampled_from(["\x00", "\x1b", "\x7f", "\u0085", " ", ",", "\n"]),
        ),
        st.builds(str.upper, sample),
        st.text(max_size=40),
        st.text(alphabet=st.characters(codec="ascii"), max_size=20),
    )


def expected(
    name: str, value: str, getter: Callable[[Any], object], oracle: Callable[[str], object]
) -> object:
    """The documented rule for every setting, then the setting's own oracle."""
    if value == "":  # the same as unset: the default (a pair's half alone is refused)
        if name.startswith("SCAN_API_"):
            empty = {**API, name: ""}
            required = name in ("SCAN_API_TENANT_ID", "SCAN_API_CLIENT_ID")
            return REFUSE if required else getter(ApiAuthSettings.from_env(empty))
        return REFUSE if name in COMPANIONS else getter(Settings.from_env({}))
    if value != value.strip() or any(unicodedata.category(c) == "Cc" for c in value):
        return REFUSE  # padded, or a control character: never trimmed
    return oracle(value)


def read(name: str, value: str) -> Settings | ApiAuthSettings | str:
    """The settings (the HTTP trigger's for SCAN_API_*), or the SettingsError message."""
    try:
        if name.startswith("SCAN_API_"):
            return ApiAuthSettings.from_env({**API, name: value})
        return Settings.from_env({**COMPANIONS.get(name, {}), name: value})
    except SettingsError as exc:
        return str(exc)


class TestEverySettingIsCovered:
    def test_every_documented_setting_has_a_generator_and_an_oracle(self):
        """settings.DOCUMENTED and this module's table list the same settings."""
        assert set(DOCUMENTED) == set(CASES) | set(ELSEWHERE)

    @pytest.mark.parametrize("name", sorted(CASES))
    def test_samples_reach_the_valid_side(self, name):
        """Each setting's samples include a value its oracle accepts, so the generator does not only refuse."""
        _getter, oracle, samples = CASES[name]
        assert any(oracle(sample) is not REFUSE for sample in samples)


class TestHostileValues:
    @pytest.mark.parametrize("name", sorted(CASES))
    def test_value_is_taken_exactly_or_refused_naming_the_setting(self, name):
        """Each generated value becomes what the documented rule says, or a SettingsError starting with the setting's name."""
        getter, oracle, samples = CASES[name]

        @examples(120)
        @given(value=hostile(samples))
        def check(value: str) -> None:
            count("settings")
            result = read(name, value)
            want = expected(name, value, getter, oracle)
            if want is REFUSE:
                assert isinstance(result, str), (value, result)
                assert result.startswith(f"{name}: "), result
            else:
                assert not isinstance(result, str), (value, result)
                assert getter(result) == want

        check()

    @pytest.mark.parametrize("name", sorted(set(DOCUMENTED) - set(ELSEWHERE)))
    @pytest.mark.parametrize("pad", [" ", "\n", "\t"], ids=["space", "newline", "tab"])
    def test_padding_is_refused_not_trimmed(self, name, pad):
        """A valid value with whitespace after it is refused naming the setting (SCAN_POLICY is a document: whitespace is content)."""
        value = (
            DOCUMENTED[name][0]
            or {"AZURE_CLIENT_ID": GUID, "SCAN_SUBSCRIPTIONS": GUID}.get(name, "x")
        ) + pad
        if name in COMPANIONS:
            value = {"LOGS_INGESTION_ENDPOINT": ENDPOINT, "LOGS_DCR_IMMUTABLE_ID": DCR}[name] + pad
        result = read(name, value)
        assert isinstance(result, str)
        assert result.startswith(f"{name}: "), result

    @examples(150)
    @given(
        value=st.text(max_size=60)
        | st.sampled_from([" ", "\n", "\n\n", "{", "{}", "levels: [1]", "\nlevels: [1]"])
    )
    def test_scan_policy_any_text_is_a_policy_or_names_it(self, value):
        """SCAN_POLICY: any text is a policy, or a SettingsError naming SCAN_POLICY."""
        count("settings")
        result = read("SCAN_POLICY", value)
        assert not isinstance(result, str) or result.startswith("SCAN_POLICY: "), result


class TestRegressions:
    """Values that were trimmed, widened or crashed before; each is exact or named now."""

    @pytest.mark.parametrize(
        ("name", "value", "message"),
        [
            ("SCAN_CONCURRENCY", " 8", "has leading or trailing whitespace"),
            ("SCAN_CONCURRENCY", "٨", "is not an integer"),
            ("SCAN_CONCURRENCY", "1_0", "is not an integer"),
            ("SCAN_CONCURRENCY", "+8", "is not an integer"),
            ("DISCOVERY_MODE", "arm\n", "has leading or trailing whitespace"),
            (
                "LOGS_FINDINGS_STREAM",
                "Custom-KubeletFindings\n",
                "has leading or trailing whitespace",
            ),
            ("ARM_ENDPOINT", "https://[::1", "is not an https:// endpoint"),
            (
                "ARM_ENDPOINT",
                "https://management.azure.com/subscriptions",
                "is not an https:// endpoint",
            ),
            (
                "ARM_ENDPOINT",
                "https://user:secret@management.azure.com",
                "is not an https:// endpoint",
            ),
            ("SCAN_SUBSCRIPTIONS", f"{GUID},", "item 2 is empty"),
            ("DEADLETTER_DIR", "dl\x00", "contains a control character"),
            ("SCAN_SCHEDULE", "0 0 */6 * *", "is not an NCRONTAB schedule"),
            ("SCAN_SCHEDULE", "0 0 25 * * *", "the hour field '25'"),
        ],
        ids=[
            "int-padded",
            "int-arabic-digit",
            "int-underscore",
            "int-sign",
            "choice-newline",
            "stream-newline",
            "url-bracket",
            "url-path",
            "url-credentials",
            "subscriptions-trailing-comma",
            "dir-nul",
            "schedule-five-fields",
            "schedule-hour-25",
        ],
    )
    def test_value_is_named_not_trimmed_or_crashing(self, name, value, message):
        """Each was trimmed, normalised, silently dropped or a traceback; now it is a SettingsError naming the setting."""
        result = read(name, value)
        assert isinstance(result, str)
        assert result.startswith(f"{name}: ")
        assert message in result

    def test_a_secret_storage_connection_string_is_never_quoted(self):
        """AzureWebJobsStorage is a secret: even padded, it is kept (the host reads it) and never shown."""
        settings = Settings.from_env({"AzureWebJobsStorage": "AccountKey=c2VjcmV0 "})
        assert "c2VjcmV0" not in repr(settings)

    def test_empty_is_the_default(self):
        """An empty value is the same as unset (Azure app settings cannot always be removed)."""
        assert Settings.from_env(dict.fromkeys(DOCUMENTED, "")) == Settings.from_env({})
