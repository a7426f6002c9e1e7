"""The pieces around the section 4 evaluators: bounded names, the list contract and its fake,
the control metadata table, and the core's purity."""

from __future__ import annotations

import ast
import pathlib

import pytest

from shared.core import k8s_lists as lists
from shared.core.controls.section4 import CIS_AKS_17_POLICIES, CIS_AKS_18_POLICIES, policy_control
from shared.core.errors import ListDeniedError, ListExpiredError, ListNotServedError
from shared.core.k8s_facts import BoundedNames, names_of
from shared.core.section4 import ORDER
from sim.list_reader import FakeListReader

ROOT = pathlib.Path(__file__).resolve().parents[2]


class TestBoundedNames:
    def test_keeps_the_smallest_and_counts_all(self):
        """Only the `limit` smallest names are kept, in order; every add is counted."""
        names = BoundedNames(3)
        for value in ["e", "a", "d", "b", "c"]:
            names.add(value)
        assert (names.freeze().first, names.freeze().total) == (("a", "b", "c"), 5)

    def test_merge_keeps_order_and_total(self):
        """Merging two bounded sets gives the smallest of both and the sum of totals."""
        left, right = BoundedNames(2), BoundedNames(2)
        for value in ["b", "d", "f"]:
            left.add(value)
        for value in ["a", "c"]:
            right.add(value)
        left.merge(right)
        assert (left.freeze().first, left.freeze().total) == (("a", "b"), 5)

    def test_describe_says_how_many_more(self):
        """describe() names the first and how many are not shown."""
        assert names_of([f"n{i}" for i in range(5)], limit=2).describe() == "n0, n1 and 3 more"


class TestListRef:
    @pytest.mark.parametrize(
        ("ref", "path"),
        [
            (lists.PODS, "/api/v1/pods"),
            (lists.DEPLOYMENTS, "/apis/apps/v1/deployments"),
            (lists.DEFAULT_CONFIGMAPS, "/api/v1/namespaces/default/configmaps"),
            (lists.CILIUM_NETWORK_POLICIES, "/apis/cilium.io/v2/ciliumnetworkpolicies"),
        ],
        ids=["core", "apps", "namespaced", "crd"],
    )
    def test_paths(self, ref, path):
        """Each read's URL path is the apiserver's."""
        assert ref.path == path

    def test_permission_is_worded_as_the_denial(self):
        """The missing permission reads like the RBAC denial message."""
        assert lists.DEPLOYMENTS.permission == 'list deployments in API group "apps"'

    def test_no_secrets_read(self):
        """Section 4 never lists Secret objects."""
        assert all(ref.resource != "secrets" for ref in lists.READS)


class TestFakeListReader:
    ITEMS = tuple({"metadata": {"name": f"n{i}"}} for i in range(5))

    def test_pages_of_limit(self):
        """Five items at limit 2: three pages, nothing restarted."""
        pages = list(FakeListReader({lists.PODS: self.ITEMS}, limit=2).pages(lists.PODS))
        assert [len(p.items) for p in pages] == [2, 2, 1]
        assert not any(p.restarted for p in pages)

    def test_one_expiry_restarts_from_the_start(self):
        """The token expires after page 2: the list restarts once, its first page marked."""
        pages = list(
            FakeListReader({lists.PODS: self.ITEMS}, expire={lists.PODS: [2]}).pages(lists.PODS)
        )
        assert [p.restarted for p in pages] == [False, False, True, False, False]

    def test_second_expiry_raises(self):
        """A second 410 raises ListExpiredError."""
        with pytest.raises(ListExpiredError):
            list(
                FakeListReader({lists.PODS: self.ITEMS}, expire={lists.PODS: [1, 1]}).pages(
                    lists.PODS
                )
            )

    def test_denied_names_the_permission(self):
        """403: ListDeniedError with the permission and the apiserver's wording."""
        with pytest.raises(ListDeniedError) as caught:
            list(FakeListReader({lists.PODS: []}, deny=frozenset({lists.PODS})).pages(lists.PODS))
        assert caught.value.permission == 'list pods in API group ""'
        assert 'cannot list resource "pods" in API group "" at the cluster scope' in str(
            caught.value
        )

    def test_unknown_list_is_not_served(self):
        """A list the fake does not hold answers 404, like a server without the CRD."""
        with pytest.raises(ListNotServedError):
            list(FakeListReader({}).pages(lists.CILIUM_NETWORK_POLICIES))


class TestMetadataTable:
    def test_18_covers_every_evaluated_control_and_arm_ones(self):
        """The 1.8 table holds the section 4 ids, 5.1.4, 5.2.1 and 5.4.5, in order."""
        ids = [c.id for c in CIS_AKS_18_POLICIES]
        assert set(ORDER) | {"4.4.1", "4.5.2"} == set(ids)
        assert ids == sorted(ids, key=lambda i: [int(p) for p in i.split(".")])

    def test_17_has_4_1_1_to_4_1_6_only_and_automated(self):
        """1.7's section 4.1 stops at 4.1.6, and 4.1.x/4.2.x are Automated there."""
        ids = {c.id for c in CIS_AKS_17_POLICIES}
        assert {f"4.1.{n}" for n in range(1, 7)} <= ids
        assert not {f"4.1.{n}" for n in range(7, 13)} & ids
        assert policy_control("cis-aks-1.7", "4.2.1").automated
        assert not policy_control("cis-aks-1.8", "4.2.1").automated

    @pytest.mark.parametrize("control_id", ["4.4.2", "4.5.1", "4.6.3"])
    def test_automated_in_18(self, control_id):
        """Only 4.4.2, 4.5.1 and 4.6.3 are Automated in section 4 of 1.8."""
        assert policy_control("cis-aks-1.8", control_id).automated

    def test_every_control_says_what_absence_means(self):
        """Each control carries its absence semantics, title and remediation."""
        assert all(c.absent and c.title and c.remediation for c in CIS_AKS_18_POLICIES)


class TestCorePurity:
    NEW = (
        "k8s_lists.py",
        "k8s_facts.py",
        "rbac.py",
        "rbac_defaults.py",
        "workloads.py",
        "section4.py",
        "controls/section4.py",
    )

    @pytest.mark.parametrize("module", NEW)
    def test_imports_only_stdlib_and_core(self, module):
        """Section 4's core modules import nothing from SDKs, adapters, entry points or the simulator."""
        tree = ast.parse((ROOT / "shared/core" / module).read_text(encoding="utf-8"))
        imported = {
            (node.module or "") if isinstance(node, ast.ImportFrom) else alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import | ast.ImportFrom)
            for alias in node.names
        }
        banned = (
            "azure",
            "kubernetes",
            "aiohttp",
            "rich",
            "yaml",
            "sim",
            "shared.adapters",
            "shared.entrypoints",
        )
        assert not [m for m in imported if m.split(".")[0] in banned or m.startswith(banned[-2:])]
