"""The ARM reads of the cluster-scoped controls, through the real SDKs against the simulated ARM.

The estate is the demo's with two changes: the dev subscription's Defender pricing is not
readable by the scanner (Resource Graph leaves it out), and a role assignment names a role
definition that no longer exists (deleted custom role). Pages of two make every Resource Graph
query follow its skip token.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from shared.bootstrap import DeadLetters, build
from shared.core.facts import (
    ARM_READS,
    DEFENDER_PRICING,
    DIAGNOSTIC_SETTINGS,
    MANAGED_CLUSTER,
    REGISTRIES,
    ROLE_ASSIGNMENTS,
    ROLE_DEFINITIONS,
)
from shared.core.model import Cluster, ScanScope
from shared.settings import Settings
from sim import SimulatedEstate, default_estate
from sim.estate import DEMO_SUB_DEV, Estate, RoleAssignment

DELETED_ROLE = "0b0b0b0b-1c1c-4d2d-8e3e-4f4f4f4f4f4f"


def estate() -> Estate:
    base = default_estate().with_paging(resource_graph=2)
    prod, dev = base.subscriptions
    orphan = RoleAssignment(
        "2a2a2a2a-3b3b-4c4c-8d5d-6e6e6e6e6e6e", "User", DELETED_ROLE, f"/subscriptions/{prod.id}"
    )
    prod = replace(prod, role_assignments=(*prod.role_assignments, orphan))
    dev = replace(dev, pricings_readable=False)
    return replace(base, subscriptions=(prod, dev))


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatedEstate]:
    with SimulatedEstate(estate()).start() as running:
        yield running


@pytest.fixture
def collected(sim, monkeypatch, tmp_path):
    """Every ARM read for every discovered cluster: {cluster name: Facts}, and the call counts."""
    for name, value in sim.env.items():
        monkeypatch.setenv(name, value)
    app = build(
        Settings.from_env({**sim.env, "DEADLETTER_DIR": str(tmp_path)}),
        dead_letters=DeadLetters.DIRECTORY,
    )
    try:
        clusters = [
            d for d in app.scanner.discovery.discover(ScanScope()) if isinstance(d, Cluster)
        ]
        assert app.scanner.facts is not None
        before = sim.snapshot()
        facts = {
            c.name: f
            for c, f in app.scanner.facts.collect(clusters, frozenset(ARM_READS), lambda: False)
        }
        after = sim.snapshot()
    finally:
        app.close()
    calls = {k.split("|")[0]: 0 for k in after}
    for key, n in after.items():
        calls[key.split("|")[0]] += n - before.get(key, 0)
    return facts, calls


class TestAzureClusterFacts:
    def test_every_read_for_every_cluster(self, collected):
        """Each cluster gets its ARM object, diagnostic settings and the tenant-wide reads."""
        facts, _ = collected
        assert sorted(facts) == sorted(
            ["aks-prod-weu", "aks-legacy-eus", "aks-local-only", "aks-dev-stopped", "aks-batch-neu"]
        )
        prod = facts["aks-prod-weu"]
        assert (
            prod.values[MANAGED_CLUSTER]["properties"]["networkProfile"]["networkPolicy"]
            == "cilium"
        )
        assert [s["name"] for s in prod.values[DIAGNOSTIC_SETTINGS]] == ["send-to-law"]
        assert prod.values[DEFENDER_PRICING]["properties"]["pricingTier"] == "Standard"
        assert sorted(r["name"] for r in prod.values[REGISTRIES]) == [
            "acrbatch",
            "acrcontosoprod",
            "acrlegacy",
        ]
        assert len(prod.values[ROLE_ASSIGNMENTS]) == 9  # one at aks-prod-weu's own scope
        assert prod.failures == {}

    def test_tenant_wide_reads_are_made_once_and_paged(self, collected):
        """One query per table (followed over pages of two), one GET per role, one per cluster."""
        _, calls = collected
        assert calls["security-resources"] == 1  # two rows at most: one page
        assert calls["authorization-resources"] == 5  # nine assignments, pages of two
        assert calls["resource-graph"] == 2  # three registries, pages of two
        assert (
            calls["role-definition"] == 6
        )  # AcrPull, AcrPush, Owner, Reader, AKS RBAC Cluster Admin, the deleted one
        assert calls["diagnostic-settings"] == 5

    def test_role_definitions_by_guid_without_the_deleted_one(self, collected):
        """Roles the assignments use, by lower-case GUID; a deleted role (404) is left out."""
        facts, _ = collected
        definitions = facts["aks-prod-weu"].values[ROLE_DEFINITIONS]
        assert {d["properties"]["roleName"] for d in definitions.values()} == {
            "AcrPull",
            "AcrPush",
            "Azure Kubernetes Service RBAC Cluster Admin",
            "Owner",
            "Reader",
        }
        assert DELETED_ROLE not in definitions

    def test_a_pricing_resource_graph_does_not_return_is_a_failure_naming_the_action(
        self, collected
    ):
        """No Containers pricing for the dev subscription: its clusters' read fails, saying why."""
        facts, _ = collected
        for name in ("aks-dev-stopped", "aks-batch-neu"):
            failure = facts[name].failures[DEFENDER_PRICING]
            assert DEMO_SUB_DEV in failure.reason
            assert "grant the scanner Microsoft.Security/pricings/read" in failure.reason
            assert DEFENDER_PRICING not in facts[name].values

    def test_refused_diagnostic_settings_fail_that_cluster_only(self, collected):
        """aks-local-only's settings answer 403: its read fails naming the action; others read."""
        facts, _ = collected
        failure = facts["aks-local-only"].failures[DIAGNOSTIC_SETTINGS]
        assert failure.reason.startswith(
            "grant the scanner Microsoft.Insights/diagnosticSettings/read: HTTP 403 AuthorizationFailed"
        )
        assert all(
            DIAGNOSTIC_SETTINGS in f.values for n, f in facts.items() if n != "aks-local-only"
        )

    def test_only_the_requested_reads_are_made(self, sim, monkeypatch, tmp_path):
        """Asking for the managed cluster only makes no call at all."""
        for name, value in sim.env.items():
            monkeypatch.setenv(name, value)
        app = build(
            Settings.from_env({**sim.env, "DEADLETTER_DIR": str(tmp_path)}),
            dead_letters=DeadLetters.DIRECTORY,
        )
        try:
            clusters = [
                d for d in app.scanner.discovery.discover(ScanScope()) if isinstance(d, Cluster)
            ]
            assert app.scanner.facts is not None
            before = sim.snapshot()
            facts = list(
                app.scanner.facts.collect(clusters, frozenset({MANAGED_CLUSTER}), lambda: False)
            )
            after = sim.snapshot()
        finally:
            app.close()
        assert before == after
        assert all(set(f.values) == {MANAGED_CLUSTER} for _, f in facts)

    def test_past_the_deadline_diagnostic_settings_are_not_read(self, sim, monkeypatch, tmp_path):
        """An expired run starts no per-cluster read: each says the deadline came first."""
        for name, value in sim.env.items():
            monkeypatch.setenv(name, value)
        app = build(
            Settings.from_env({**sim.env, "DEADLETTER_DIR": str(tmp_path)}),
            dead_letters=DeadLetters.DIRECTORY,
        )
        try:
            clusters = [
                d for d in app.scanner.discovery.discover(ScanScope()) if isinstance(d, Cluster)
            ]
            assert app.scanner.facts is not None
            facts = list(
                app.scanner.facts.collect(clusters, frozenset({DIAGNOSTIC_SETTINGS}), lambda: True)
            )
        finally:
            app.close()
        assert {f.failures[DIAGNOSTIC_SETTINGS].reason for _, f in facts} == {
            "not read: the run's deadline was reached first"
        }
