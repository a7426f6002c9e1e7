"""The scan policy file: validation, levels, and exemptions with expiry."""

from __future__ import annotations

import re
from datetime import date

import pytest

from shared.core.controls.registry import get_benchmark
from shared.core.errors import SettingsError
from shared.core.evaluate import evaluate
from shared.core.model import Cluster, Node, Policy, QpsMode, Status
from shared.core.policy import describe, expiring, load_policy, parse_policy
from shared.core.records import Finding, RowContext, findings
from shared.settings import Settings

SUB = "0b1f6471-1bf0-4dda-aec3-111122223333"
CLUSTER_ID = f"/subscriptions/{SUB}/resourceGroups/rg-batch/providers/Microsoft.ContainerService/managedClusters/aks-batch-neu"
BENCH = get_benchmark("cis-aks-1.8")
TODAY = date(2026, 11, 26)
EXAMPLE = f"""
version: 1
eventRecordQPS: {{mode: cis, minimum: 10}}
levels: [1, 2]
exemptions:
  - control: "3.2.7"
    scope: /subscriptions/{SUB}/resourceGroups/rg-batch/providers/Microsoft.ContainerService/managedClusters/aks-batch-*/agentPools/gpu
    reason: GPU vendor image sets eventRecordQPS; RISK-1234
    expires: 2027-03-31
  - control: "3.2.4"
    scope: /subscriptions/{SUB}
    reason: read-only port needed by a legacy exporter until migration
    expires: 2026-12-01
"""


def rows_for(
    policy: Policy, pool: str, config: dict[str, object], today: date = TODAY
) -> dict[str, Finding]:
    cluster = Cluster(CLUSTER_ID, SUB, "rg-batch", "aks-batch-neu")
    context = RowContext.for_cluster("run", BENCH, cluster, Node("n1", pool))
    return {
        r.ControlId: r
        for r in findings(context, evaluate(config, BENCH, policy), "t", policy, today)
    }


class TestLoading:
    def test_example_file_parses(self, tmp_path):
        """The README example loads: rule, levels and two exemptions."""
        path = tmp_path / "policy.yaml"
        path.write_text(EXAMPLE)
        policy = load_policy(str(path), Policy(), benchmark=BENCH)
        assert (policy.event_record_qps_mode, policy.event_record_qps_min) == (QpsMode.CIS, 10)
        assert policy.levels == frozenset({1, 2})
        assert [e.control for e in policy.exemptions] == ["3.2.7", "3.2.4"]

    def test_inline_json_is_accepted(self):
        """SCAN_POLICY may hold the document itself (an app setting)."""
        policy = load_policy('{"levels": [1]}', Policy(), benchmark=BENCH)
        assert policy.levels == frozenset({1})

    def test_settings_apply_the_file_over_the_variables(self, tmp_path):
        """The file's eventRecordQPS values win over EVENT_RECORD_QPS_* ."""
        path = tmp_path / "p.json"
        path.write_text('{"eventRecordQPS": {"mode": "zero-only"}}')
        settings = Settings.from_env({"SCAN_POLICY": str(path), "EVENT_RECORD_QPS_MIN": "7"})
        assert settings.policy.event_record_qps_mode is QpsMode.ZERO_ONLY
        assert settings.policy.event_record_qps_min == 7

    @pytest.mark.parametrize(
        ("document", "field"),
        [
            ({"level": [1]}, "level"),
            ({"version": 2}, "version"),
            ({"levels": [3]}, "levels[0]"),
            ({"levels": []}, "levels"),
            ({"eventRecordQPS": {"mode": "lenient"}}, "eventRecordQPS.mode"),
            ({"eventRecordQPS": {"minimum": "5"}}, "eventRecordQPS.minimum"),
            ({"exemptions": {}}, "exemptions"),
            ({"exemptions": [{"control": "3.2.7"}]}, "exemptions[0].scope"),
            (
                {
                    "exemptions": [
                        {
                            "control": "3.2.7",
                            "scope": "aks-*",
                            "reason": "why not",
                            "expires": "2027-01-01",
                        }
                    ]
                },
                "exemptions[0].scope",
            ),
            (
                {
                    "exemptions": [
                        {
                            "control": "3.2.7",
                            "scope": f"/subscriptions/{SUB}",
                            "reason": "",
                            "expires": "2027-01-01",
                        }
                    ]
                },
                "exemptions[0].reason",
            ),
            (
                {
                    "exemptions": [
                        {
                            "control": "3.2.7",
                            "scope": f"/subscriptions/{SUB}",
                            "reason": "because",
                            "expires": "soon",
                        }
                    ]
                },
                "exemptions[0].expires",
            ),
            (
                {
                    "exemptions": [
                        {
                            "control": "3.2.7",
                            "scope": f"/subscriptions/{SUB}",
                            "reason": "because",
                            "expires": "2027-01-01",
                            "owner": "x",
                        }
                    ]
                },
                "exemptions[0].owner",
            ),
        ],
        ids=[
            "unknown-key",
            "version",
            "level-3",
            "levels-empty",
            "mode",
            "minimum-string",
            "exemptions-map",
            "missing-scope",
            "scope-not-id",
            "no-reason",
            "bad-date",
            "extra-key",
        ],
    )
    def test_bad_documents_name_the_field(self, document, field):
        """Each invalid policy names SCAN_POLICY, the source and the field."""
        with pytest.raises(
            SettingsError, match="^SCAN_POLICY: the policy: " + re.escape(field) + ":"
        ):
            parse_policy(document, Policy(), benchmark=BENCH)

    @pytest.mark.parametrize(
        ("value", "message"),
        [("/nonexistent/policy.yaml", "cannot read"), ("{not: [valid", "not valid YAML")],
        ids=["missing-file", "bad-yaml"],
    )
    def test_unreadable_sources(self, value, message):
        """A missing file or broken YAML is a SettingsError naming SCAN_POLICY."""
        with pytest.raises(SettingsError, match=message):
            load_policy(value, Policy(), benchmark=BENCH)


class TestLevels:
    def test_level_two_unselected_is_skipped_visibly(self):
        """With levels [1], the Level 2 control is SKIPPED with a reason, the rest evaluated."""
        policy = parse_policy({"levels": [1]}, Policy(), benchmark=BENCH)
        verdicts = {v.control_id: v for v in evaluate({"eventRecordQPS": 1}, BENCH, policy)}
        assert verdicts["3.2.7"].status is Status.SKIPPED
        assert "Level 2" in verdicts["3.2.7"].reason
        assert verdicts["3.2.1"].status is Status.PASS


class TestExemptions:
    def test_exempted_fail_keeps_status_and_carries_reason(self):
        """A FAIL in the exempted pool stays FAIL with Exempt=true, the reason and the expiry."""
        policy = load_policy(EXAMPLE, Policy(), benchmark=BENCH)
        row = rows_for(policy, "gpu", {"eventRecordQPS": 3})["3.2.7"]
        assert (row.Status, row.Exempt, row.ExemptionExpires) == ("FAIL", True, "2027-03-31")
        assert "RISK-1234" in row.ExemptionReason

    def test_other_pool_is_not_exempt(self):
        """The glob scope does not reach another node pool."""
        policy = load_policy(EXAMPLE, Policy(), benchmark=BENCH)
        row = rows_for(policy, "cpu", {"eventRecordQPS": 3})["3.2.7"]
        assert (row.Status, row.Exempt) == ("FAIL", False)

    def test_expired_exemption_is_an_ordinary_fail(self):
        """The day after expires the row is an ordinary FAIL."""
        policy = load_policy(EXAMPLE, Policy(), benchmark=BENCH)
        row = rows_for(policy, "gpu", {"eventRecordQPS": 3}, today=date(2027, 4, 1))["3.2.7"]
        assert (row.Status, row.Exempt, row.ExemptionReason) == ("FAIL", False, "")

    def test_last_day_still_exempt(self):
        """An exemption holds through its expires day."""
        policy = load_policy(EXAMPLE, Policy(), benchmark=BENCH)
        assert rows_for(policy, "gpu", {"eventRecordQPS": 3}, today=date(2027, 3, 31))[
            "3.2.7"
        ].Exempt

    def test_pass_is_never_marked_exempt(self):
        """Exempt marks FAIL rows only."""
        policy = load_policy(EXAMPLE, Policy(), benchmark=BENCH)
        assert not rows_for(policy, "gpu", {"eventRecordQPS": 0})["3.2.7"].Exempt

    def test_subscription_scope_covers_every_cluster(self):
        """A subscription-scoped exemption covers rows of any cluster in it."""
        policy = load_policy(EXAMPLE, Policy(), benchmark=BENCH)
        assert rows_for(policy, "cpu", {"readOnlyPort": 10255})["3.2.4"].Exempt

    def test_exemptions_near_expiry_are_listed(self):
        """Exemptions ending within 14 days are reported; later ones are not."""
        policy = load_policy(EXAMPLE, Policy(), benchmark=BENCH)
        soon = expiring(policy, TODAY)
        assert [e.control for e in soon] == ["3.2.4"]
        assert "2026-12-01" in describe(soon)


PRINCIPAL = "5e3f8a61-0c2b-4d8e-9f1a-2b3c4d5e6f70"


class TestRegistryJudgements:
    """registries.writePrincipals / approved and imageScanning.thirdParty (sections 5.1.x)."""

    def test_absent_means_no_judgement(self):
        """Without the sections the judgements stay unset, so those rows are MANUAL."""
        policy = parse_policy({"version": 1}, Policy(), benchmark=BENCH)
        assert policy.acr_write_principals is None
        assert policy.approved_registries is None
        assert policy.third_party_image_scanning == ""

    def test_sections_parse_lower_cased(self):
        """Object ids and login servers are kept lower case (ARM and image references are)."""
        policy = parse_policy(
            {
                "registries": {
                    "writePrincipals": [PRINCIPAL.upper()],
                    "approved": ["Contoso.AzureCR.io", "*.contoso.io"],
                },
                "imageScanning": {"thirdParty": "Trivy in the release pipeline"},
            },
            Policy(),
            benchmark=BENCH,
        )
        assert policy.acr_write_principals == frozenset({PRINCIPAL})
        assert policy.approved_registries == ("contoso.azurecr.io", "*.contoso.io")
        assert policy.third_party_image_scanning == "Trivy in the release pipeline"

    def test_empty_lists_are_judgements_too(self):
        """An empty writePrincipals list approves nobody (every writer FAILs), unlike no list."""
        policy = parse_policy(
            {"registries": {"writePrincipals": [], "approved": []}}, Policy(), benchmark=BENCH
        )
        assert policy.acr_write_principals == frozenset()
        assert policy.approved_registries == ()

    @pytest.mark.parametrize(
        ("document", "field"),
        [
            ({"registries": []}, "registries"),
            ({"registries": {}}, "registries"),
            ({"registries": {"writers": []}}, "registries.writers"),
            ({"registries": {"writePrincipals": PRINCIPAL}}, "registries.writePrincipals"),
            ({"registries": {"writePrincipals": ["alice"]}}, "registries.writePrincipals[0]"),
            ({"registries": {"writePrincipals": [7]}}, "registries.writePrincipals[0]"),
            ({"registries": {"approved": "contoso.azurecr.io"}}, "registries.approved"),
            ({"registries": {"approved": ["contoso .io"]}}, "registries.approved[0]"),
            ({"registries": {"approved": [""]}}, "registries.approved[0]"),
            ({"imageScanning": "trivy"}, "imageScanning"),
            ({"imageScanning": {"thirdParty": ""}}, "imageScanning.thirdParty"),
            ({"imageScanning": {"thirdParty": "Trivy", "extra": 1}}, "imageScanning.extra"),
        ],
        ids=[
            "registries-list",
            "registries-empty",
            "registries-unknown-key",
            "principals-string",
            "principal-not-guid",
            "principal-number",
            "approved-string",
            "approved-space",
            "approved-empty",
            "scanning-string",
            "scanning-empty",
            "scanning-extra-key",
        ],
    )
    def test_bad_sections_name_the_field(self, document, field):
        """Each malformed judgement names SCAN_POLICY and the field."""
        with pytest.raises(
            SettingsError, match="^SCAN_POLICY: the policy: " + re.escape(field) + ":"
        ):
            parse_policy(document, Policy(), benchmark=BENCH)


class TestKubernetesSection:
    """``kubernetes``: section 4's system namespaces, allow-lists and unset escalation."""

    def test_absent_means_the_documented_defaults(self):
        """Without the section: default system namespaces, no allow-list, unset escalation not counted."""
        policy = parse_policy({"version": 1}, Policy(), benchmark=BENCH)
        assert (policy.system_namespaces, policy.k8s_allow, policy.count_unset_escalation) == (
            None,
            (),
            False,
        )

    @pytest.mark.parametrize(
        ("section", "namespaces", "allow", "count"),
        [
            ({}, None, (), False),
            ({"systemNamespaces": ["kube-system", "ops-2"]}, frozenset({"kube-system", "ops-2"}), (), False),
            ({"systemNamespaces": []}, frozenset(), (), False),
            (
                {"allow": {"4.1.6": ["Deployment api/*"], "4.1.1": ["Group ops", "Azure ServicePrincipal *"]}},
                None,
                (("4.1.1", ("Group ops", "Azure ServicePrincipal *")), ("4.1.6", ("Deployment api/*",))),
                False,
            ),
            ({"allow": {"4.1.2": []}}, None, (("4.1.2", ()),), False),
            ({"allow": {}}, None, (), False),
            ({"countUnsetPrivilegeEscalation": True}, None, (), True),
            ({"countUnsetPrivilegeEscalation": False}, None, (), False),
        ],
        ids=[
            "empty", "system-namespaces", "no-system-namespace", "allow-sorted-by-control",
            "allow-empty-list-approves-nobody", "allow-empty", "count-unset", "count-unset-false",
        ],
    )  # fmt: skip
    def test_valid_forms(self, section, namespaces, allow, count):
        """Each field as written: namespaces as a set, allow-lists by control id, the flag exactly."""
        policy = parse_policy({"kubernetes": section}, Policy(), benchmark=BENCH)
        assert policy.system_namespaces == namespaces
        assert policy.k8s_allow == allow
        assert policy.count_unset_escalation is count

    def test_the_yaml_example_loads(self):
        """The section as an operator writes it in the policy file."""
        text = (
            "kubernetes:\n"
            "  systemNamespaces: [kube-system, gatekeeper-system, monitoring]\n"
            "  allow:\n"
            '    "4.1.1": ["Group 5b2c7e4a-0f1d-4c3b-9a8e-2d6f0b1c3a7e"]\n'
            '    "4.1.9": ["ServiceAccount monitoring/*"]\n'
            "  countUnsetPrivilegeEscalation: true\n"
        )
        policy = load_policy(text, Policy(), benchmark=BENCH)
        assert policy.system_namespaces == frozenset(
            {"kube-system", "gatekeeper-system", "monitoring"}
        )
        assert dict(policy.k8s_allow) == {
            "4.1.1": ("Group 5b2c7e4a-0f1d-4c3b-9a8e-2d6f0b1c3a7e",),
            "4.1.9": ("ServiceAccount monitoring/*",),
        }
        assert policy.count_unset_escalation is True

    @pytest.mark.parametrize(
        ("section", "field", "detail"),
        [
            ([], "kubernetes", "must be a mapping with systemNamespaces, allow and/or countUnsetPrivilegeEscalation, got list"),
            (None, "kubernetes", "must not be null"),
            ({"allowList": {}}, "kubernetes.allowList", "unknown key (allowed: systemNamespaces, allow, countUnsetPrivilegeEscalation)"),
            ({"systemNamespaces": "kube-system"}, "kubernetes.systemNamespaces", "must be a list of namespace names"),
            ({"systemNamespaces": None}, "kubernetes.systemNamespaces", "must not be null"),
            ({"systemNamespaces": ["Kube-System"]}, "kubernetes.systemNamespaces[0]", "'Kube-System' is not a namespace name (an RFC 1123 label)"),
            ({"systemNamespaces": ["ok", "-bad"]}, "kubernetes.systemNamespaces[1]", "is not a namespace name"),
            ({"systemNamespaces": ["x" * 64]}, "kubernetes.systemNamespaces[0]", "is not a namespace name"),
            ({"systemNamespaces": [7]}, "kubernetes.systemNamespaces[0]", "got integer 7"),
            ({"allow": []}, "kubernetes.allow", "must map control ids such as '4.1.1' to lists of names or globs, got list"),
            ({"allow": None}, "kubernetes.allow", "must not be null"),
            ({"allow": {"4.1.1": "Group ops"}}, "kubernetes.allow.'4.1.1'", "got string 'Group ops'"),
            ({"allow": {"4.1.1": None}}, "kubernetes.allow.'4.1.1'", "got null"),
            ({"allow": {"4.2.1": ["x"]}}, "kubernetes.allow.'4.2.1'", "'4.2.1' is not a section 4 control that takes an allow-list (those that do: 4.1.1, 4.1.2, 4.1.3, 4.1.4, 4.1.6, 4.1.7"),
            ({"allow": {"5.1.4": ["*.azurecr.io"]}}, "kubernetes.allow.'5.1.4'", "5.1.4 takes registries.approved"),
            ({"allow": {" 4.1.1": ["x"]}}, "kubernetes.allow.' 4.1.1'", "is not a section 4 control"),
            ({"allow": {4: ["x"]}}, "kubernetes.allow.4", "must map control ids such as '4.1.1' to lists of names or globs, got integer 4"),
            ({"allow": {"4.1.1": [" Group ops"]}}, "kubernetes.allow.'4.1.1'[0]", "without leading or trailing spaces"),
            ({"allow": {"4.1.1": [""]}}, "kubernetes.allow.'4.1.1'[0]", "must be a name or glob such as 'Group my-admins'"),
            ({"allow": {"4.1.1": ["ok", 3]}}, "kubernetes.allow.'4.1.1'[1]", "got integer 3"),
            ({"allow": {"4.1.1": ["x" * 301]}}, "kubernetes.allow.'4.1.1'[0]", "at most 300 characters"),
            ({"allow": {"4.1.1": ["x"] * 1001}}, "kubernetes.allow.'4.1.1'", "has 1001 entries; at most 1000"),
            ({"countUnsetPrivilegeEscalation": "true"}, "kubernetes.countUnsetPrivilegeEscalation", "must be true or false, got string 'true'"),
            ({"countUnsetPrivilegeEscalation": 1}, "kubernetes.countUnsetPrivilegeEscalation", "must be true or false, got integer 1"),
            ({"countUnsetPrivilegeEscalation": None}, "kubernetes.countUnsetPrivilegeEscalation", "must not be null"),
        ],
        ids=[
            "section-list", "section-null", "unknown-key",
            "namespaces-string", "namespaces-null", "namespace-upper-case", "namespace-leading-dash",
            "namespace-64-chars", "namespace-number",
            "allow-list", "allow-null", "allow-string", "allow-null-list", "allow-key-no-list",
            "allow-key-5.1.4", "allow-key-space", "allow-key-number",
            "pattern-space", "pattern-empty", "pattern-number", "pattern-long", "patterns-too-many",
            "count-string", "count-number", "count-null",
        ],
    )  # fmt: skip
    def test_bad_values_name_the_field(self, section, field, detail):
        """Each wrong type or value is a SettingsError naming SCAN_POLICY, the field path and what it must be."""
        with pytest.raises(SettingsError) as caught:
            parse_policy({"kubernetes": section}, Policy(), benchmark=BENCH)
        message = str(caught.value)
        assert message.startswith(f"SCAN_POLICY: the policy: {field}: "), message
        assert detail in message, message
