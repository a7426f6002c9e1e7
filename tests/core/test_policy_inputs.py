"""Hostile policy files: every document is a Policy that says exactly what it says, or a
SettingsError naming SCAN_POLICY and the field; nothing else escapes, nothing is trimmed.

Generated: whole documents of any shape; valid documents with one field replaced by a hostile
value (wrong types, dates and timestamps of every form, controls the benchmark does not have,
scopes that are not resource ids); YAML and JSON text of any kind (aliases, depth, duplicates).
The defects these found each have their own example in ``TestRegressions``.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
import yaml
from hypothesis import assume, given
from hypothesis import strategies as st

from shared.core.controls import Benchmark
from shared.core.controls.kubernetes import ALLOW_LISTS
from shared.core.controls.registry import benchmark_names, get_benchmark
from shared.core.errors import SettingsError
from shared.core.model import Policy, QpsMode
from shared.core.policy import load_policy, parse_policy
from shared.settings import Settings
from tests.hypothesis_profiles import count, examples

pytestmark = pytest.mark.inputs

SUB = "0b1f6471-1bf0-4dda-aec3-111122223333"
CLUSTER = f"/subscriptions/{SUB}/resourceGroups/rg-batch/providers/Microsoft.ContainerService/managedClusters/aks-batch-neu"
BENCH = get_benchmark("cis-aks-1.8")
BENCHMARKS = st.sampled_from(benchmark_names()).map(get_benchmark)
DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
PREFIX = "SCAN_POLICY: the policy: "

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True)
    | st.text(max_size=20)
    | st.dates()
    | st.datetimes()
)
ANY: st.SearchStrategy[Any] = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=12) | st.integers(), inner, max_size=5)
    ),
    max_leaves=25,
)
PLAIN: st.SearchStrategy[Any] = st.recursive(  # what YAML and JSON text both hold: no dates
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=25,
)
SECTIONS = ("version", "eventRecordQPS", "levels", "kubernetes", "exemptions")
KEYS = st.sampled_from(SECTIONS) | st.text(max_size=10)

ISO_DATES = st.dates().map(date.isoformat)
DATE_LIKE = st.builds(
    lambda y, m, d: f"{y:04d}-{m:02d}-{d:02d}",
    st.integers(0, 9999),
    st.integers(0, 13),
    st.integers(0, 32),
)
TIMESTAMPS = st.builds(
    lambda moment, sep, zone: moment.isoformat(sep=sep) + zone,
    st.datetimes(),
    st.sampled_from(["T", " ", "t"]),
    st.sampled_from(["", "Z", "+00:00", "-05:30"]),
)
OTHER_DATES = st.sampled_from(
    [
        "20270331",
        "2027-W13-3",
        "2027-090",
        "2027/03/31",
        "31.03.2027",
        "2027-3-31",
        "2027-03-31 ",
        " 2027-03-31",
        "2027-03-31\n",
        "\uff12\uff10\uff12\uff17-\uff10\uff13-\uff13\uff11",  # full-width digits
        "+2027-03-31",
        "",
    ]
)
EXPIRES = ISO_DATES | DATE_LIKE | TIMESTAMPS | OTHER_DATES | st.dates() | st.datetimes() | SCALARS
CONTROLS = (
    st.sampled_from([c.id for name in benchmark_names() for c in get_benchmark(name).controls])
    | st.sampled_from(["3.2.10", "3.2.07", "3.2.7 ", " 3.2.7", "3.2.7\n", "3.2", "4.1.1", "*"])
    | st.text(max_size=8)
    | SCALARS
)
GLOB_OR = st.sampled_from(["", "*", "?"])
SCOPES = (
    st.builds(
        lambda sub, glob, rg, name, pool, depth: "/".join(
            [
                f"/subscriptions/{sub}{glob}",
                f"resourceGroups/{rg}/providers/Microsoft.ContainerService/managedClusters/{name}",
                f"agentPools/{pool}",
            ][:depth]
        ),
        st.sampled_from([SUB, SUB.upper(), "*", "0b1f6471-*"]),
        GLOB_OR,
        st.from_regex(r"[-\w.()*]{1,12}", fullmatch=True),
        st.from_regex(r"[-\w*]{1,12}", fullmatch=True),
        st.from_regex(r"[a-z0-9*]{1,12}", fullmatch=True),
        st.integers(1, 3),
    )
    | st.sampled_from(
        [
            f"/subscriptions/{SUB}/",
            f"/subscriptions/{SUB}/resourceGroups/rg-batch",
            f" /subscriptions/{SUB}",
            f"/subscriptions/{SUB}\n",
            f"{CLUSTER}/agentPools",
            f"{CLUSTER}/agentPools/gpu/extra",
            CLUSTER.replace("Microsoft.ContainerService", "Microsoft.Compute"),
            "/subscriptions/not-a-guid",
            "aks-*",
            "/",
            "*",
        ]
    )
    | st.text(max_size=40)
    | SCALARS
)
REASONS = st.text(max_size=30) | st.sampled_from(["ok", "   ", "a b", "x" * 1001]) | SCALARS
LEVELS = st.lists(st.integers(0, 3) | st.booleans() | SCALARS, max_size=3) | SCALARS
QPS = (
    st.fixed_dictionaries(
        {},
        optional={
            "mode": st.sampled_from(["cis", "zero-only", "CIS", "lenient", " cis"]) | SCALARS,
            "minimum": st.integers(-5, 20_000) | SCALARS,
        },
    )
    | ANY
)


NAMESPACE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")  # an RFC 1123 label
NAMESPACES = (
    st.lists(
        st.from_regex(NAMESPACE, fullmatch=True)
        | st.sampled_from(["kube-system", "Kube-System", "-ops", "ops-", "a" * 63, "a" * 64, "a.b", " ops", "ops\n", ""])
        | st.text(max_size=12)
        | SCALARS,
        max_size=4,
    )
    | SCALARS
)  # fmt: skip
ALLOW_KEYS = (
    st.sampled_from(sorted(ALLOW_LISTS))
    | st.sampled_from(["4.1.5", "4.2.1", "5.1.4", "4.1.13", " 4.1.1", "4.1.1 ", "4.1"])
    | st.text(max_size=6)
    | st.integers(0, 5)
)
PATTERNS = (
    st.lists(
        st.sampled_from(["Group ops", "ServiceAccount ci/*", "Azure ServicePrincipal *", " Group ops", "Group ops ", "", " ", "x" * 300, "x" * 301])
        | st.text(max_size=20)
        | SCALARS,
        max_size=3,
    )
    | SCALARS
)  # fmt: skip
VALID_K8S = st.fixed_dictionaries(
    {},
    optional={
        "systemNamespaces": st.lists(st.from_regex(NAMESPACE, fullmatch=True), max_size=3),
        "allow": st.dictionaries(
            st.sampled_from(sorted(ALLOW_LISTS)),
            st.lists(
                st.from_regex(r"[A-Za-z*][\w ./*?:-]{0,20}[\w*?]", fullmatch=True), max_size=3
            ),
            max_size=3,
        ),
        "countUnsetPrivilegeEscalation": st.booleans(),
    },
)
K8S = (
    VALID_K8S
    | st.fixed_dictionaries(
        {},
        optional={
            "systemNamespaces": NAMESPACES,
            "allow": st.dictionaries(ALLOW_KEYS, PATTERNS, max_size=3) | SCALARS,
            "countUnsetPrivilegeEscalation": st.booleans() | SCALARS,
        },
    )
    | st.dictionaries(st.sampled_from(["systemNamespaces", "allow", "extra"]), ANY, max_size=2)
    | ANY
)


def is_namespace(value: object) -> bool:
    return isinstance(value, str) and NAMESPACE.fullmatch(value) is not None


def is_pattern(value: object) -> bool:
    """A name or glob: not blank, no leading or trailing white space, at most 300 characters."""
    return isinstance(value, str) and value.strip() == value and 0 < len(value) <= 300


def is_allow(value: object) -> bool:
    """Allow-lists by the control ids that take one: lists of at most 1000 names or globs."""
    return isinstance(value, dict) and all(
        key in ALLOW_LISTS
        and isinstance(patterns, list)
        and len(patterns) <= 1000
        and all(is_pattern(p) for p in patterns)
        for key, patterns in value.items()
    )


def expected_kubernetes(section: object) -> Policy | None:
    """The oracle: the Policy the kubernetes section stands for, or None when it must be refused."""
    fields = {"systemNamespaces", "allow", "countUnsetPrivilegeEscalation"}
    if not isinstance(section, dict) or not set(section) <= fields:
        return None
    names = section.get("systemNamespaces", [])
    allow = section.get("allow", {})
    flag = section.get("countUnsetPrivilegeEscalation", False)
    valid = (
        isinstance(names, list)
        and all(is_namespace(n) for n in names)
        and is_allow(allow)
        and type(flag) is bool
    )
    if not valid:
        return None
    return Policy(
        system_namespaces=frozenset(names) if "systemNamespaces" in section else None,
        k8s_allow=tuple((key, tuple(patterns)) for key, patterns in sorted(allow.items())),
        count_unset_escalation=flag,
    )


def valid_exemption(control: str = "3.2.4", scope: str = CLUSTER) -> dict[str, Any]:
    return {
        "control": control,
        "scope": scope,
        "reason": "legacy exporter",
        "expires": "2027-03-31",
    }


def outcome(document: Any, benchmark: Benchmark = BENCH) -> Policy | str:
    """The Policy, or what a SettingsError says after SCAN_POLICY and the source: "field: detail"."""
    try:
        return parse_policy(document, Policy(), benchmark=benchmark)
    except SettingsError as exc:
        message = str(exc)
        assert message.startswith(PREFIX), message
        return message.removeprefix(PREFIX)


def names(result: Policy | str, field: str) -> bool:
    """True when ``result`` is an error naming exactly ``field``."""
    return isinstance(result, str) and result.startswith(f"{field}: ")


def expected_date(value: object) -> date | None:
    """The oracle: the date an ``expires`` value stands for, or None when it must be refused."""
    if isinstance(value, datetime):
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str) and DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def is_scope(value: object) -> bool:
    """The oracle for a scope: one of the three resource id forms, globs allowed."""
    if not isinstance(value, str):
        return False
    guid = r"(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f*?-]*[*?][0-9a-f*?-]*)"
    cluster = r"/resourcegroups/[-\w.()*?]{1,90}/providers/microsoft\.containerservice/managedclusters/[-\w*?]{1,63}"
    form = rf"/subscriptions/{guid}(?:{cluster}(?:/agentpools/[-\w*?]{{1,63}})?)?"
    return re.fullmatch(form, value.lower(), re.ASCII) is not None


class TestAnyDocument:
    @examples(300)
    @given(document=ANY | st.dictionaries(KEYS, ANY, max_size=5))
    def test_any_document_is_a_policy_or_names_a_field(self, document):
        """Any parsed document is a Policy or a SettingsError of the form SCAN_POLICY: source: field: detail."""
        count("policy")
        result = outcome(document)
        if isinstance(result, Policy):
            assert isinstance(document, dict)
            assert set(document) <= set(SECTIONS)
            assert len(result.exemptions) == len(document.get("exemptions", []))

    @examples(200)
    @given(text=st.text(max_size=200) | st.binary(max_size=200).map(lambda b: b.decode("latin-1")))
    def test_any_inline_text_is_a_policy_or_a_settings_error(self, text):
        """Any inline text (a { or a newline makes it inline) is a Policy or a SettingsError naming SCAN_POLICY."""
        count("policy")
        for inline in ("{" + text, "\n" + text):
            try:
                load_policy(inline, Policy(), benchmark=BENCH)
            except SettingsError as exc:
                message = str(exc)
            else:
                message = "SCAN_POLICY: the inline policy (accepted)"
            assert message.startswith("SCAN_POLICY: the inline policy")

    @examples(150)
    @given(
        document=st.dictionaries(KEYS, PLAIN, max_size=4), style=st.sampled_from(["yaml", "json"])
    )
    def test_documents_written_as_text_read_back_the_same(self, document, style):
        """A document written as YAML or JSON text gives the same outcome as the document itself."""
        count("policy")
        try:
            text = (
                yaml.safe_dump(document, default_flow_style=False, sort_keys=False)
                if style == "yaml"
                else json.dumps(document)
            )
            reread = yaml.safe_load(text)
        except (TypeError, ValueError, yaml.YAMLError):
            return  # not representable in that style
        assume(reread == document and "\n" in text + "\n")
        try:
            parsed: Policy | str = load_policy("\n" + text, Policy(), benchmark=BENCH)
        except SettingsError as exc:
            parsed = str(exc).removeprefix("SCAN_POLICY: the inline policy: ")
        assert parsed == outcome(document)


class TestOneHostileField:
    @examples(300)
    @given(value=EXPIRES)
    def test_expires_is_a_date_that_exists_or_named(self, value):
        """expires: a YYYY-MM-DD date that exists is that date; anything else names exemptions[0].expires."""
        count("policy")
        result = outcome({"exemptions": [{**valid_exemption(), "expires": value}]})
        want = expected_date(value)
        if want is None:
            assert names(result, "exemptions[0].expires"), result
        else:
            assert isinstance(result, Policy)
            assert result.exemptions[0].expires == want

    @examples(300)
    @given(value=CONTROLS, benchmark=BENCHMARKS, levels=st.sampled_from([None, [1], [2], [1, 2]]))
    def test_control_is_one_of_the_selected_benchmark_or_named(self, value, benchmark, levels):
        """control: exactly an id of the selected benchmark, of a selected level; else exemptions[0].control."""
        count("policy")
        document: dict[str, Any] = {"exemptions": [{**valid_exemption(), "control": value}]}
        if levels is not None:
            document["levels"] = levels
        result = outcome(document, benchmark)
        ids = {c.id: c.level for c in benchmark.controls}
        if isinstance(value, str) and value in ids and ids[value] in (levels or [1, 2]):
            assert isinstance(result, Policy)
            assert result.exemptions[0].control == value
        else:
            assert names(result, "exemptions[0].control"), result

    @examples(300)
    @given(value=SCOPES)
    def test_scope_is_a_resource_id_or_named(self, value):
        """scope: one of the three resource id forms (kept, lower-cased); anything else names exemptions[0].scope."""
        count("policy")
        result = outcome({"exemptions": [{**valid_exemption(), "scope": value}]})
        if is_scope(value):
            assert isinstance(result, Policy)
            assert result.exemptions[0].scope == value.lower()
        else:
            assert names(result, "exemptions[0].scope"), result

    @examples(200)
    @given(value=REASONS)
    def test_reason_is_kept_as_written_or_named(self, value):
        """reason: kept exactly as written when it says something; else exemptions[0].reason."""
        count("policy")
        result = outcome({"exemptions": [{**valid_exemption(), "reason": value}]})
        if isinstance(value, str) and len(value.strip()) >= 3 and len(value) <= 1000:
            assert isinstance(result, Policy)
            assert result.exemptions[0].reason == value
        else:
            assert names(result, "exemptions[0].reason"), result

    @examples(200)
    @given(value=LEVELS)
    def test_levels_are_one_and_or_two_or_named(self, value):
        """levels: a non-empty list of 1 and/or 2 (exact integers); anything else names levels."""
        count("policy")
        result = outcome({"levels": value})
        ok = (
            isinstance(value, list)
            and value
            and all(type(level) is int and level in (1, 2) for level in value)
        )
        if ok:
            assert isinstance(result, Policy)
            assert result.levels == frozenset(value)
        else:
            assert isinstance(result, str)
            assert result.startswith(("levels: ", "levels[")), result

    @examples(200)
    @given(value=QPS)
    def test_event_record_qps_overrides_exactly_or_named(self, value):
        """eventRecordQPS: mode cis|zero-only and minimum 1..10000 override the base; else a field under it."""
        count("policy")
        result = outcome({"eventRecordQPS": value})
        ok = (
            isinstance(value, dict)
            and set(value) <= {"mode", "minimum"}
            and value.get("mode", "cis") in ("cis", "zero-only")
            and type(value.get("minimum", 5)) is int
            and 1 <= value.get("minimum", 5) <= 10_000
        )
        if ok:
            assert isinstance(result, Policy)
            assert result.event_record_qps_mode == QpsMode(value.get("mode", "cis"))
            assert result.event_record_qps_min == value.get("minimum", 5)
        else:
            assert isinstance(result, str)
            assert result.startswith(("eventRecordQPS: ", "eventRecordQPS.")), result

    @examples(300)
    @given(value=K8S)
    def test_kubernetes_section_is_taken_exactly_or_named(self, value):
        """kubernetes: RFC 1123 namespaces, allow-lists of names or globs for the controls that take
        one, a boolean flag; taken exactly, or an error naming a field under kubernetes."""
        count("policy")
        result = outcome({"kubernetes": value})
        want = expected_kubernetes(value)
        if want is None:
            assert isinstance(result, str), result
            assert result.startswith(("kubernetes: ", "kubernetes.")), result
        else:
            assert result == want

    @examples(100)
    @given(value=ANY)
    def test_version_is_exactly_one_or_named(self, value):
        """version: the integer 1 (not true, not 1.0, not "1"); anything else names version."""
        count("policy")
        result = outcome({"version": value})
        assert isinstance(result, Policy) == (type(value) is int and value == 1)
        if not isinstance(result, Policy):
            assert names(result, "version"), result


BILLION_LAUGHS = "\n".join(
    ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    + ["exemptions: *a8"]
)


class TestRegressions:
    """Each defect the generators found, as its own example (the message is the fix)."""

    def test_expires_that_does_not_exist_is_named_not_a_traceback(self):
        """expires: 2027-02-30 (unquoted YAML) was a ValueError traceback (exit 1); now it names the field."""
        text = f"exemptions:\n  - control: '3.2.4'\n    scope: {CLUSTER}\n    reason: because\n    expires: 2027-02-30\n"
        with pytest.raises(
            SettingsError, match=r"exemptions\[0\]\.expires: '2027-02-30' is not a date that exists"
        ):
            load_policy(text, Policy(), benchmark=BENCH)

    @pytest.mark.parametrize(
        "written",
        ["2027-03-31T10:00:00Z", "2027-03-31 10:00:00", "2027-03-31t00:00:00+02:00"],
        ids=["iso-z", "space", "offset"],
    )
    def test_expires_timestamp_is_refused_not_accepted(self, written):
        """A timestamp passed validation as a datetime and crashed the run mid-way; now refused up front."""
        text = f"exemptions:\n  - control: '3.2.4'\n    scope: {CLUSTER}\n    reason: because\n    expires: {written}\n"
        with pytest.raises(
            SettingsError,
            match=r"exemptions\[0\]\.expires: .* is a timestamp; expires takes a date",
        ):
            load_policy(text, Policy(), benchmark=BENCH)

    def test_datetime_object_is_a_timestamp_too(self):
        """A datetime given by a caller (a date subclass) is refused like a timestamp."""
        moment = datetime(2027, 3, 31, 10, tzinfo=timezone(timedelta(hours=1)))
        result = outcome({"exemptions": [{**valid_exemption(), "expires": moment}]})
        assert names(result, "exemptions[0].expires"), result

    def test_control_the_benchmark_does_not_have_is_named(self):
        """An exemption for 4.3.1 under cis-aks-1.8 was accepted and could never match; now it names the field and the controls."""
        with pytest.raises(
            SettingsError,
            match=r"exemptions\[0\]\.control: '4\.3\.1' is not a control of cis-aks-1\.8 .* 3\.2\.1, 3\.2\.2",
        ):
            parse_policy({"exemptions": [valid_exemption("4.3.1")]}, Policy(), benchmark=BENCH)

    def test_allow_key_that_is_not_a_control_is_named_as_the_key(self):
        """kubernetes.allow with a control that takes no allow-list said ".'4.2.1'.'[key]'"; the key is the field now."""
        assert names(
            outcome({"kubernetes": {"allow": {"4.2.1": ["x"]}}}), "kubernetes.allow.'4.2.1'"
        )
        result = outcome({"kubernetes": {"allow": {4: ["x"]}}})
        assert result == (
            "kubernetes.allow.4: must map control ids such as '4.1.1' to lists of names or globs, "
            "got integer 4"
        )

    def test_control_with_spaces_is_not_trimmed(self):
        """' 3.2.4' was trimmed to 3.2.4 silently; ids match whole strings now."""
        assert names(outcome({"exemptions": [valid_exemption(" 3.2.4")]}), "exemptions[0].control")

    def test_control_of_a_level_not_selected_is_named(self):
        """Exempting the Level 2 control 3.2.7 with levels [1] could never apply (it is SKIPPED); now named."""
        with pytest.raises(
            SettingsError,
            match=r"exemptions\[0\]\.control: 3\.2\.7 is a Level 2 control and levels is \[1\]",
        ):
            parse_policy(
                {"levels": [1], "exemptions": [valid_exemption("3.2.7")]}, Policy(), benchmark=BENCH
            )

    def test_benchmark_is_the_selected_one(self):
        """Settings check exemptions against CIS_BENCHMARK: 3.2.10 exists in cis-aks-1.0, not in 1.8."""
        policy = json.dumps({"exemptions": [valid_exemption("3.2.10")]})
        assert Settings.from_env(
            {"CIS_BENCHMARK": "cis-aks-1.0", "SCAN_POLICY": policy}
        ).policy.exemptions
        with pytest.raises(
            SettingsError,
            match=r"exemptions\[0\]\.control: '3\.2\.10' is not a control of cis-aks-1\.8",
        ):
            Settings.from_env({"SCAN_POLICY": policy})

    @pytest.mark.parametrize(
        "scope",
        [
            f"/subscriptions/{SUB}/",
            f"/subscriptions/{SUB}/resourceGroups/rg-batch",
            f" /subscriptions/{SUB}",
        ],
        ids=["trailing-slash", "resource-group", "leading-space"],
    )
    def test_scope_that_is_not_one_of_the_forms_is_named(self, scope):
        """A trailing / or a space was stripped silently; a resource group scope never matched a row; all are named now."""
        assert names(
            outcome({"exemptions": [{**valid_exemption(), "scope": scope}]}), "exemptions[0].scope"
        )

    def test_reason_is_kept_as_written(self):
        """The reason was stripped; it is kept exactly (it is evidence an auditor reads)."""
        policy = outcome({"exemptions": [{**valid_exemption(), "reason": "  RISK-1 \n"}]})
        assert isinstance(policy, Policy)
        assert policy.exemptions[0].reason == "  RISK-1 \n"

    @pytest.mark.parametrize(
        ("text", "field"),
        [
            ("levels:\n", "levels"),
            ("eventRecordQPS:\n", "eventRecordQPS"),
            ("version:\n", "version"),
        ],
        ids=["levels", "eventRecordQPS", "version"],
    )
    def test_explicit_null_is_named_not_the_default(self, text, field):
        """levels: (null) was taken as "all levels" and eventRecordQPS: as "no override"; a null is named now."""
        with pytest.raises(SettingsError, match=rf"the inline policy: {field}: must not be null"):
            load_policy(text, Policy(), benchmark=BENCH)

    def test_duplicate_key_is_named_not_the_last_one(self):
        """Two levels: keys kept the last silently; the duplicate is named with its line."""
        with pytest.raises(
            SettingsError,
            match=r"SCAN_POLICY: the inline policy has a duplicate key 'levels' \(line 2\)",
        ):
            load_policy("levels: [1]\nlevels: [2]\n", Policy(), benchmark=BENCH)

    def test_billion_laughs_is_refused_quickly(self):
        """A few hundred bytes of aliases standing for 10^9 nodes are refused before they are expanded."""
        with pytest.raises(SettingsError, match="expands to more than 100000 YAML nodes"):
            load_policy(BILLION_LAUGHS, Policy(), benchmark=BENCH)

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("version: " + "1" * 5000 + "\n", "has a value that cannot be read"),
            ("levels: " + "[" * 200 + "]" * 200 + "\n", "nests deeper than 64 levels"),
            ("a: &a [*a]\n", "refers to itself"),
        ],
        ids=["5000-digit-int", "deep", "recursive-alias"],
    )
    def test_yaml_that_pyyaml_cannot_build_is_named(self, text, message):
        """A 5000-digit integer was a ValueError traceback; depth and recursion are bounded and named."""
        with pytest.raises(SettingsError, match=f"SCAN_POLICY: the inline policy {message}"):
            load_policy(text, Policy(), benchmark=BENCH)

    def test_file_that_is_not_utf8_is_named(self, tmp_path):
        """A Latin-1 policy file was a UnicodeDecodeError traceback; now it names the file."""
        path = tmp_path / "policy.yaml"
        path.write_bytes("levels: [1] # café\n".encode("latin-1"))
        with pytest.raises(
            SettingsError, match=rf"SCAN_POLICY: {re.escape(str(path))} is not UTF-8"
        ):
            load_policy(str(path), Policy(), benchmark=BENCH)

    def test_yaml_date_stays_a_date_and_a_string_date_too(self):
        """2027-03-31 unquoted (YAML) and quoted (JSON) give the same date."""
        base = f"exemptions:\n  - control: '3.2.4'\n    scope: {CLUSTER}\n    reason: because\n    expires: "
        unquoted = load_policy(base + "2027-03-31\n", Policy(), benchmark=BENCH)
        quoted = load_policy(base + '"2027-03-31"\n', Policy(), benchmark=BENCH)
        assert unquoted == quoted
        assert unquoted.exemptions[0].expires == date(2027, 3, 31)
