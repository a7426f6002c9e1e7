"""The RBAC resolver: the authorizer's matching rules, bindings' scopes and the exclusion list."""

from __future__ import annotations

from typing import Any

import pytest

from shared.core.rbac import Access, RbacShapeError, RbacState, Rule, Subject, match_rules
from shared.core.rbac_defaults import DEFAULT_EXCLUSIONS
from tests.core.k8s_objects import AKS, DEFAULTS, cluster_role, crb, rb, role, rule, sa, user

SECRETS = Access("s", ("get", "list", "watch"), "", ("secrets",))


def parsed(**fields: Any) -> Rule:
    return Rule.parse(rule(**fields), "rule")


class TestVerbMatches:
    @pytest.mark.parametrize(
        ("verbs", "verb", "expected"),
        [
            (["get"], "get", True),
            (["*"], "create", True),
            (["list"], "get", False),
            ([], "get", False),
        ],
        ids=["exact", "star", "other", "none"],
    )
    def test_verb(self, verbs, verb, expected):
        """A verb matches itself or *, nothing else."""
        assert parsed(verbs=verbs, resources=["pods"]).verb_matches(verb) is expected


class TestApiGroupMatches:
    @pytest.mark.parametrize(
        ("groups", "group", "expected"),
        [([""], "", True), (["*"], "apps", True), (["apps"], "", False), ([""], "apps", False)],
        ids=["core", "star", "apps-not-core", "core-not-apps"],
    )
    def test_group(self, groups, group, expected):
        """The core group is the empty string; * matches every group."""
        assert (
            parsed(verbs=["get"], resources=["x"], groups=groups).api_group_matches(group)
            is expected
        )


class TestResourceMatches:
    @pytest.mark.parametrize(
        ("resources", "requested", "expected"),
        [
            (["*"], "nodes/proxy", True),
            (["nodes"], "nodes/proxy", False),
            (["nodes/proxy"], "nodes/proxy", True),
            (["*/proxy"], "nodes/proxy", True),
            (["*/scale"], "deployments/scale", True),
            (["*/scale"], "deployments", False),
            (["nodes/*"], "nodes/proxy", False),
            (["secret"], "secrets", False),
            (["*/prox"], "nodes/proxy", False),
        ],
        ids=[
            "star-covers-subresource",
            "parent-does-not-grant-subresource",
            "exact-subresource",
            "star-slash-subresource",
            "star-scale",
            "star-scale-not-parent",
            "no-trailing-wildcard",
            "singular-is-not-plural",
            "suffix-length-must-match",
        ],
    )
    def test_resource(self, resources, requested, expected):
        """ResourceMatches: *, exact combined name, or */subresource, as the authorizer defines them."""
        assert parsed(verbs=["get"], resources=resources).resource_matches(requested) is expected


class TestResourceNames:
    def test_names_limit_get_to_those_names(self):
        """A rule with resourceNames reaches only the named secrets for get."""
        assert parsed(verbs=["get"], resources=["secrets"], names=["a"]).reach(
            "get", "", "secrets"
        ) == ("a",)

    @pytest.mark.parametrize("verb", ["create", "deletecollection"])
    def test_nameless_requests_never_match_names(self, verb):
        """create and deletecollection carry no name, so a rule with resourceNames grants nothing."""
        assert parsed(verbs=[verb], resources=["pods"], names=["a"]).reach(verb, "", "pods") is None

    def test_allows_follows_rule_allows(self):
        """allows(name) needs the name listed; an unnamed request fails a named rule."""
        named = parsed(verbs=["get"], resources=["secrets"], names=["a"])
        assert (named.allows("get", "", "secrets", "a"), named.allows("get", "", "secrets")) == (
            True,
            False,
        )

    def test_one_rule_must_hold_every_condition(self):
        """Verb from one rule and resource from another do not combine (no flattening)."""
        rules = [
            parsed(verbs=["get"], resources=["configmaps"]),
            parsed(verbs=["delete"], resources=["secrets"]),
        ]
        assert match_rules(rules, SECRETS) is None


class TestParse:
    @pytest.mark.parametrize(
        "bad",
        [{"verbs": "get"}, {"verbs": ["get"], "resources": [1]}, "not-an-object"],
        ids=["str", "int", "str-rule"],
    )
    def test_wrong_types_name_the_field(self, bad):
        """A rule with wrong types is refused with the field's place named."""
        with pytest.raises(RbacShapeError, match="rules"):
            Rule.parse(bad, "ClusterRole x rules[0]")


class TestExclusionList:
    def test_bootstrap_needs_label_and_name(self):
        """cluster-admin with rbac-defaults is managed; without the label it is the customer's."""
        assert (
            DEFAULT_EXCLUSIONS.managed("ClusterRoleBinding", "", "cluster-admin", DEFAULTS)
            is not None
        )
        assert DEFAULT_EXCLUSIONS.managed("ClusterRoleBinding", "", "cluster-admin", {}) is None

    def test_label_alone_does_not_exclude(self):
        """A customer object with the bootstrap label but its own name is still evaluated."""
        assert DEFAULT_EXCLUSIONS.managed("ClusterRole", "", "my-admin", DEFAULTS) is None

    def test_aks_objects_need_the_addon_manager_label(self):
        """aks-cluster-admin-binding is AKS's only with addonmanager.kubernetes.io/mode."""
        managed = DEFAULT_EXCLUSIONS.managed(
            "ClusterRoleBinding", "", "aks-cluster-admin-binding", AKS
        )
        assert managed is not None
        assert managed.origin == "AKS"
        assert (
            DEFAULT_EXCLUSIONS.managed("ClusterRoleBinding", "", "aks-cluster-admin-binding", {})
            is None
        )

    def test_controller_roles_match_by_pattern(self):
        """system:controller:* ClusterRoles are bootstrap objects."""
        assert DEFAULT_EXCLUSIONS.managed(
            "ClusterRole", "", "system:controller:namespace-controller", DEFAULTS
        )

    def test_list_is_versioned(self):
        """Rows can say which list applied."""
        assert DEFAULT_EXCLUSIONS.version


class TestRbacState:
    def feed(self, **lists: list[dict[str, Any]]) -> RbacState:
        state = RbacState((SECRETS,))
        kinds = {
            "cluster_roles": "ClusterRole",
            "roles": "Role",
            "crbs": "ClusterRoleBinding",
            "rbs": "RoleBinding",
        }
        for key, items in lists.items():
            state.consumer(kinds[key]).feed(items)
        return state

    def test_rolebinding_to_clusterrole_grants_in_its_namespace(self):
        """A RoleBinding to a ClusterRole grants only in the binding's namespace."""
        state = self.feed(
            cluster_roles=[cluster_role("reader", rule(["get"], ["secrets"]))],
            rbs=[rb("team", "read", "ClusterRole", "reader", user("alice"))],
        )
        (grant,) = state.grants("s")
        assert (grant.subject, grant.binding.scope) == (
            Subject("User", "alice"),
            "in namespace team",
        )

    def test_role_is_found_in_the_bindings_namespace(self):
        """A RoleBinding's Role is looked up in the binding's own namespace, not another."""
        state = self.feed(
            roles=[role("a", "r", rule(["get"], ["secrets"]))],
            rbs=[rb("b", "x", "Role", "r", user("bob"))],
        )
        assert state.grants("s") == []
        assert "does not exist" in state.dangling()[0]

    def test_each_role_uses_its_own_rules(self):
        """Prowler's bug (last ClusterRole's rules reused for every Role) cannot happen: each role keeps its rules."""
        state = self.feed(
            cluster_roles=[cluster_role("wide", rule(["get"], ["secrets"]))],
            roles=[role("a", "narrow", rule(["get"], ["configmaps"]))],
            rbs=[rb("a", "x", "Role", "narrow", user("carol"))],
        )
        assert state.grants("s") == []

    def test_service_account_subject_is_namespaced(self):
        """A ServiceAccount subject is shown as namespace/name."""
        state = self.feed(
            cluster_roles=[cluster_role("reader", rule(["list"], ["secrets"]))],
            crbs=[crb("x", "reader", sa("ci", "deployer"))],
        )
        assert str(state.grants("s")[0].subject) == "ServiceAccount ci/deployer"

    def test_malformed_binding_is_recorded(self):
        """A binding without roleRef is not guessed: it is recorded as not evaluable."""
        state = self.feed(crbs=[{"metadata": {"name": "broken"}, "subjects": []}])
        assert "roleRef" in state.malformed["ClusterRoleBinding"][0]
