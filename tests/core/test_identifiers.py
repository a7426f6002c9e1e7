"""Identifiers parsed once, as whole strings; the configured scope narrows, never widens."""

from __future__ import annotations

import pytest

from shared.core.errors import OutOfScopeError
from shared.core.identifiers import (
    ClusterId,
    IdentifierError,
    is_guid,
    parse_cluster_id,
    subscription_id,
)
from shared.core.model import ScanScope

SUB = "3c5a7e91-2b4d-4f6a-8c0e-1a2b3c4d5e6f"
OTHER = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"
ID = f"/subscriptions/{SUB}/resourceGroups/rg-1/providers/Microsoft.ContainerService/managedClusters/aks-1"


class TestSubscriptionId:
    def test_lower_cases_a_guid(self):
        """A GUID in either case is accepted and lower-cased."""
        assert subscription_id(SUB.upper()) == SUB

    @pytest.mark.parametrize(
        "text",
        [
            f"{SUB}\n",
            f" {SUB}",
            f"{SUB} ",
            SUB[:-1],
            f"{SUB}0",
            f"{{{SUB}}}",
            "",
            SUB.replace("-", ""),
        ],
        ids=[
            "newline",
            "leading-space",
            "trailing-space",
            "short",
            "long",
            "braces",
            "empty",
            "no-dashes",
        ],
    )
    def test_anything_but_exactly_a_guid_is_refused(self, text):
        """Nothing is trimmed: a GUID with anything around it is not a subscription id."""
        assert not is_guid(text)
        with pytest.raises(IdentifierError, match="is not a subscription id"):
            subscription_id(text)


class TestClusterId:
    def test_parts_and_text(self):
        """Subscription (lower-cased), resource group and name; str() is the id as written."""
        cluster = ClusterId.parse(ID)
        assert (cluster.subscription, cluster.resource_group, cluster.name) == (
            SUB,
            "rg-1",
            "aks-1",
        )
        assert str(cluster) == ID

    def test_equal_ignoring_case(self):
        """ARM ids compare case-insensitively: equal, and one set member."""
        assert ClusterId.parse(ID) == ClusterId.parse(ID.lower())
        assert len({ClusterId.parse(ID), ClusterId.parse(ID.upper())}) == 1

    def test_unicode_resource_group(self):
        """Resource group names may hold Unicode letters (ARM naming rules)."""
        assert ClusterId.parse(ID.replace("rg-1", "rg-ñandú")).resource_group == "rg-ñandú"

    @pytest.mark.parametrize(
        "text",
        [
            f"{ID}\n",
            f"{ID}/",
            f" {ID}",
            f"{ID}/agentPools/system",
            ID.replace("managedClusters", "virtualMachines"),
            ID.replace(SUB, "not-a-guid"),
            ID.replace("aks-1", "-aks"),
            ID.replace("aks-1", "a" * 64),
        ],
        ids=[
            "newline",
            "slash",
            "space",
            "child",
            "other-type",
            "bad-sub",
            "bad-name",
            "long-name",
        ],
    )
    def test_anything_but_exactly_a_cluster_id_is_refused(self, text):
        """The whole string must be a managed cluster id; the message shows the form."""
        with pytest.raises(IdentifierError, match="managedClusters/<name>"):
            ClusterId.parse(text)
        assert parse_cluster_id(text) is None


class TestNarrow:
    CONFIGURED = ScanScope(subscriptions=(SUB,))

    def test_an_empty_request_means_the_configured_scope(self):
        """No subscriptions and no clusters asked for: the configured scope."""
        assert self.CONFIGURED.narrow(ScanScope()) == self.CONFIGURED

    def test_nothing_configured_allows_any_request(self):
        """SCAN_SUBSCRIPTIONS unset: a request is taken as it is."""
        request = ScanScope(subscriptions=(OTHER,))
        assert ScanScope().narrow(request) == request

    def test_a_request_inside_is_kept(self):
        """A cluster of a configured subscription narrows the scope to that cluster."""
        request = ScanScope(clusters=(ClusterId.parse(ID),))
        assert self.CONFIGURED.narrow(request) == request

    @pytest.mark.parametrize(
        ("request_scope", "field"),
        [
            (ScanScope(subscriptions=(OTHER,)), "subscriptions[0]"),
            (ScanScope(subscriptions=(SUB, OTHER)), "subscriptions[1]"),
            (ScanScope(clusters=(ClusterId.parse(ID.replace(SUB, OTHER)),)), "clusters[0]"),
        ],
        ids=["subscription", "second-subscription", "cluster"],
    )
    def test_a_request_outside_names_the_item(self, request_scope, field):
        """Widening is refused, naming the first item outside and the setting."""
        with pytest.raises(OutOfScopeError) as caught:
            self.CONFIGURED.narrow(request_scope)
        assert caught.value.field == field
        assert "SCAN_SUBSCRIPTIONS" in caught.value.detail
