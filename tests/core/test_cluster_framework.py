"""The cluster-scoped control framework: read failures, section selection, evidence rows, RBAC."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from typing import Any

import pytest

from shared.core import azure_rbac as rbac
from shared.core.controls import Control, Outcome, Scope
from shared.core.controls.registry import get_benchmark
from shared.core.errors import SettingsError
from shared.core.evaluate import evaluate, evaluate_cluster
from shared.core.facts import Facts, ReadFailure, failed
from shared.core.model import Cluster, Evidence, Exemption, Policy, Status
from shared.core.records import (
    EVIDENCE_ITEMS,
    EVIDENCE_MAX_CHARS,
    RowContext,
    findings,
    record_id,
    render_evidence,
)

BENCH = get_benchmark("cis-aks-1.8")
SUB = "3c5a7e91-2b4d-4f6a-8c0e-1a2b3c4d5e6f"
CLUSTER = Cluster(
    f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c1",
    SUB,
    "rg",
    "c1",
)


def _seen(facts: Mapping[str, Any], _: Policy) -> Outcome:
    """Always PASS, showing which reads it saw."""
    return Outcome(Status.PASS, ",".join(sorted(facts)), "x", "seen")


def control(cid: str, reads: tuple[str, ...], level: int = 1) -> Control:
    return Control(cid, f"control {cid}", level, (), "x", "fix", _seen, Scope.CLUSTER, reads)


class TestEvaluateCluster:
    def test_a_failed_read_errors_only_the_controls_that_need_it(self):
        """A refused read makes its controls ERROR with its reason; the others are judged."""
        facts = Facts(
            {"managedCluster": {}},
            {"diagnosticSettings": ReadFailure("HTTP 403 AuthorizationFailed: grant X/read")},
        )
        verdicts = evaluate_cluster(
            facts,
            [control("9.1", ("managedCluster",)), control("9.2", ("diagnosticSettings",))],
            Policy(),
        )
        assert [(v.control_id, v.status) for v in verdicts] == [
            ("9.1", Status.PASS),
            ("9.2", Status.ERROR),
        ]
        assert verdicts[1].reason == "HTTP 403 AuthorizationFailed: grant X/read"

    def test_a_read_nobody_collected_is_an_error_not_a_pass(self):
        """A control naming a read that is neither given nor failed is ERROR, saying so."""
        (verdict,) = evaluate_cluster(Facts({}), [control("9.1", ("k8s:pods",))], Policy())
        assert verdict.status is Status.ERROR
        assert "k8s:pods was not read" in verdict.reason

    def test_skipped_reads_give_skipped_rows(self):
        """A read that cannot exist in this wiring (no ARM) gives SKIPPED with its reason."""
        facts = failed(("managedCluster",), "scan --kubeconfig reads no ARM", Status.SKIPPED)
        (verdict,) = evaluate_cluster(facts, [control("9.1", ("managedCluster",))], Policy())
        assert (verdict.status, verdict.reason) == (
            Status.SKIPPED,
            "scan --kubeconfig reads no ARM",
        )

    def test_unselected_level_is_skipped_even_when_its_read_failed(self):
        """The level filter wins: a Level 2 control is SKIPPED under levels [1], read or not."""
        facts = failed(("managedCluster",), "refused")
        (verdict,) = evaluate_cluster(
            facts, [control("9.1", ("managedCluster",), level=2)], Policy(levels=frozenset({1}))
        )
        assert verdict.status is Status.SKIPPED
        assert "Level 2" in verdict.reason

    def test_node_evaluation_ignores_cluster_controls(self):
        """evaluate (configz) gives verdicts for node-scoped controls only."""
        ids = [v.control_id for v in evaluate({}, BENCH, Policy())]
        assert ids == [c.id for c in BENCH.controls if c.scope is Scope.NODE]
        assert all(i.startswith("3.2.") for i in ids)


class TestSections:
    @pytest.mark.parametrize(
        ("sections", "first", "count"),
        [
            (("3.2",), "3.2.1", 9),
            (("5",), "5.1.1", 13),
            (("2", "3.1"), "2.1.1", 5),
            (("5.4.1",), "5.4.1", 1),
            ((), "2.1.1", 27),
        ],
        ids=["kubelet-only", "managed-services", "two-sections", "one-control", "all"],
    )
    def test_select_keeps_benchmark_order(self, sections, first, count):
        """Selected sections keep their controls in benchmark order; none selected means all."""
        chosen = BENCH.select(sections)
        assert chosen.controls[0].id == first
        assert len(chosen.controls) == count
        assert chosen.name == BENCH.name

    def test_kubelet_only_has_no_cluster_controls(self):
        """CIS_SECTIONS=3.2 is today's scan: node controls only, so no ARM read is needed."""
        chosen = BENCH.select(("3.2",))
        assert chosen.arm_controls == ()
        assert len(chosen.node_controls) == 9

    def test_prefix_matches_whole_parts(self):
        """Section 3 covers 3.1 and 3.2, but 3.1 does not cover 3.10 (parts, not characters)."""
        assert {c.section for c in BENCH.select(("3",)).controls} == {"3.1", "3.2"}
        with pytest.raises(SettingsError, match=r"has no section 3\.10"):
            BENCH.select(("3.10",))

    def test_a_section_the_benchmark_lacks_says_so(self):
        """Asking cis-k8s-1.12 for section 5 names the benchmark, the section and what it has."""
        with pytest.raises(
            SettingsError,
            match=r"CIS_SECTIONS: cis-k8s-1.12 has no section 5 \(its sections: 4.2\)",
        ):
            get_benchmark("cis-k8s-1.12").select(("5",))


class TestEvidenceRendering:
    def test_lists_show_their_first_items_sorted_and_the_full_count(self):
        """A long list is cut to EVIDENCE_ITEMS sorted items; its count stays the real one."""
        items = tuple(f"pool{i:02d}" for i in range(25, 0, -1))
        text = render_evidence(Evidence(lists=(("pools", items),)))
        document = json.loads(text)
        assert document["pools"]["count"] == 25
        assert document["pools"]["first"] == [f"pool{i:02d}" for i in range(1, EVIDENCE_ITEMS + 1)]

    def test_values_keep_their_json_types(self):
        """Observed values stay booleans, strings, nulls and lists."""
        text = render_evidence(
            Evidence(values=(("a", True), ("b", None), ("c", "x"), ("d", ("1.2.3.4/32",))))
        )
        assert json.loads(text) == {"a": True, "b": None, "c": "x", "d": ["1.2.3.4/32"]}

    def test_a_long_value_list_says_how_long_it_was(self):
        """An observed list longer than EVIDENCE_ITEMS is cut, with its full count."""
        ranges = tuple(f"10.0.{i}.0/24" for i in range(12))
        document = json.loads(render_evidence(Evidence(values=(("ranges", ranges),))))
        assert document["ranges"] == {"count": 12, "first": list(ranges[:EVIDENCE_ITEMS])}

    def test_size_is_bounded(self):
        """Huge items are clipped and lists shortened until the whole value fits."""
        items = tuple("x" * 5000 + str(i) for i in range(200))
        text = render_evidence(Evidence(lists=(("a", items), ("b", items), ("c", items))))
        assert len(text) <= EVIDENCE_MAX_CHARS
        assert json.loads(text)["a"]["count"] == 200

    def test_nothing_renders_as_empty(self):
        """No evidence is an empty column, not '{}'."""
        assert render_evidence(Evidence()) == ""


class TestClusterRows:
    def test_one_row_per_control_with_no_node(self):
        """A cluster row carries Scope, Section and Evidence, and no node fields."""
        facts = Facts(
            {"managedCluster": {"properties": {"networkProfile": {"networkPolicy": "none"}}}}
        )
        verdicts = evaluate_cluster(facts, [BENCH.control("5.4.4")], Policy())
        (row,) = findings(RowContext.for_cluster("run", BENCH, CLUSTER), verdicts, "t", Policy())
        assert (row.Scope, row.Section, row.ControlId, row.Status) == (
            "cluster",
            "5.4",
            "5.4.4",
            "FAIL",
        )
        assert (row.NodeName, row.NodePool, row.KubeletVersion, row.OsImage) == ("", "", "", "")
        assert json.loads(row.Evidence)["networkProfile.networkPolicy"] == "none"
        assert row.EvidenceCount == 0
        assert row.RecordId == record_id("run", CLUSTER.resource_id, "", "5.4.4")
        assert row.Remediation

    def test_node_rows_keep_their_shape(self):
        """Node rows are Scope node, Section 3.2, with no Evidence column content."""
        rows = findings(
            RowContext.for_cluster("run", BENCH, CLUSTER), evaluate({}, BENCH, Policy()), "t"
        )
        assert {(r.Scope, r.Section, r.Evidence, r.EvidenceCount) for r in rows} == {
            ("node", "3.2", "", 0)
        }

    def test_exemptions_apply_to_cluster_rows(self):
        """An exemption scoped to the cluster marks its cluster-control FAIL Exempt."""
        exemption = Exemption(
            "5.4.4", CLUSTER.resource_id.lower(), "network team", date(2030, 1, 1)
        )
        policy = Policy(exemptions=(exemption,))
        facts = Facts({"managedCluster": {"properties": {}}})
        verdicts = evaluate_cluster(facts, [BENCH.control("5.4.4")], policy)
        (row,) = findings(RowContext.for_cluster("run", BENCH, CLUSTER), verdicts, "t", policy)
        assert (row.Status, row.Exempt, row.ExemptionReason) == ("FAIL", True, "network team")


def definition(
    actions: list[str], not_actions: list[str] | None = None, **data: list[str]
) -> dict[str, Any]:
    block = {"actions": actions, "notActions": not_actions or [], **data}
    return {"properties": {"roleName": "r", "permissions": [block]}}


class TestRbac:
    @pytest.mark.parametrize(
        ("role", "writes"),
        [
            (definition(["*"]), True),
            (
                definition(
                    ["*"], ["Microsoft.Authorization/*/Delete", "Microsoft.Authorization/*/Write"]
                ),
                True,
            ),
            (definition(["*/read"]), False),
            (definition(["Microsoft.ContainerRegistry/registries/pull/read"]), False),
            (definition(["Microsoft.ContainerRegistry/registries/push/write"]), True),
            (definition(["Microsoft.ContainerRegistry/*"]), True),
            (
                definition(["Microsoft.ContainerRegistry/*"], ["Microsoft.ContainerRegistry/*"]),
                False,
            ),
            (definition(["Microsoft.Storage/*"]), False),
            (
                definition(
                    [],
                    dataActions=[
                        "Microsoft.ContainerRegistry/registries/repositories/content/write"
                    ],
                ),
                True,
            ),
            (definition(["microsoft.containerregistry/registries/listcredentials/action"]), True),
        ],
        ids=[
            "owner",
            "contributor",
            "reader",
            "acr-pull",
            "acr-push",
            "acr-wildcard",
            "wildcard-minus-itself",
            "other-provider",
            "abac-data-action",
            "admin-credentials",
        ],
    )
    def test_writes_registry(self, role, writes):
        """Which roles can change a registry, after their notActions."""
        assert rbac.writes_registry(role) is writes

    @pytest.mark.parametrize(
        ("scope", "resource", "covered"),
        [
            ("/subscriptions/s", "/subscriptions/s/resourceGroups/rg/providers/x/y/z", True),
            ("/subscriptions/S/resourceGroups/RG", "/subscriptions/s/resourcegroups/rg/p/q", True),
            ("/subscriptions/s/resourceGroups/rg", "/subscriptions/s/resourceGroups/rg2/p", False),
            ("/", "/subscriptions/s/anything", True),
            ("/providers/Microsoft.Management/managementGroups/mg1", "/subscriptions/s/x", True),
            (
                "/subscriptions/s/resourceGroups/rg/providers/a/b/acr1",
                "/subscriptions/s/resourceGroups/rg/providers/a/b/acr10",
                False,
            ),
        ],
        ids=[
            "subscription",
            "case-insensitive",
            "sibling-group",
            "root",
            "management-group",
            "name-prefix",
        ],
    )
    def test_covers(self, scope, resource, covered):
        """A scope covers what lies under it at a '/' boundary; root and MG cover everything."""
        assert rbac.covers(scope, resource) is covered
