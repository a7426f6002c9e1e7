"""The policy file's ``kubernetes`` section does what it says, end to end on the simulated estate.

Each test runs ``python -m shared scan --format json`` in-process (as tests/e2e/
test_settings_effect.py does for every setting) against the demo estate, with a policy file
written to disk and given as ``--policy``, and compares the rows of one cluster with and without
it. What the demo clusters run is ``sim/demo_workloads.py``: aks-legacy-eus (Kubernetes RBAC)
binds cluster-admin to the Entra group 5b2c7e4a-... and runs a privileged Deployment in
``legacy``. A whole section is scanned (``--sections 4.1``...), so that the scan judges some row
PASS or FAIL and exits 0 (a scan of MANUAL rows only exits 4: nothing was judged).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shared.entrypoints.cli import main
from sim.estate import DEMO_SUB_PROD

LEGACY = f"/subscriptions/{DEMO_SUB_PROD}/resourceGroups/rg-legacy-eus/providers/Microsoft.ContainerService/managedClusters/aks-legacy-eus"
LEGACY_ADMINS = "Group 5b2c7e4a-0f1d-4c3b-9a8e-2d6f0b1c3a7e"


def scan(
    tmp_path: Path, cluster: str, policy: dict[str, Any] | None, sections: str
) -> dict[str, dict[str, Any]]:
    """One cluster scanned with ``policy`` (None: no policy file); its cluster rows by control id."""
    out = tmp_path / f"out-{len(list(tmp_path.iterdir()))}.json"
    args = ["scan", "--format", "json", "--output", str(out), "--cluster", cluster]
    args += ["--sections", sections]
    if policy is not None:
        path = tmp_path / f"policy-{len(list(tmp_path.iterdir()))}.yaml"
        path.write_text(json.dumps(policy), encoding="utf-8")  # JSON is YAML
        args += ["--policy", str(path)]
    assert main(args) == 0
    document = json.loads(out.read_text(encoding="utf-8"))
    return {f["ControlId"]: f for f in document["findings"] if f["Scope"] == "cluster"}


def allow(control_id: str, *patterns: str) -> dict[str, Any]:
    return {"kubernetes": {"allow": {control_id: list(patterns)}}}


class TestClusterAdminAllowList:
    """kubernetes.allow."4.1.1": who may hold cluster-admin."""

    @pytest.mark.parametrize(
        ("policy", "status", "count"),
        [
            (None, "MANUAL", 1),
            (allow("4.1.1", LEGACY_ADMINS), "PASS", 0),
            (allow("4.1.1", "Group 00000000-*"), "FAIL", 1),
            (allow("4.1.1"), "FAIL", 1),
        ],
        ids=["no-policy-manual", "listed-pass", "other-group-fail", "nobody-fail"],
    )
    def test_legacy_cluster_admin_turns_from_manual_into_pass_or_fail(
        self, env, tmp_path, policy, status, count
    ):
        """aks-legacy-eus's ops-admins binding: MANUAL without the list, PASS when it names the group, FAIL otherwise."""
        row = scan(tmp_path, LEGACY, policy, "4.1")["4.1.1"]
        assert (row["Status"], row["EvidenceCount"]) == (status, count), row["Reason"]
        evidence = json.loads(row["Evidence"])
        if status == "PASS":
            assert any(
                name.startswith(LEGACY_ADMINS) and name.endswith("[allow-listed]")
                for name in evidence["allowed"]["first"]
            ), evidence
        else:
            assert evidence["found"]["first"] == [
                f"{LEGACY_ADMINS} via ClusterRoleBinding ops-admins (cluster-wide)"
            ]
        if status == "MANUAL":
            assert 'kubernetes.allow."4.1.1"' in row["Reason"]
            assert row["Remediation"]


class TestOtherFields:
    def test_system_namespaces_replace_the_default_list(self, env, tmp_path):
        """systemNamespaces with ``legacy``: the privileged billing Deployment is left out of 4.2.1."""
        policy = {"kubernetes": {"systemNamespaces": ["kube-system", "legacy"]}}
        before = scan(tmp_path, LEGACY, None, "4.2")["4.2.1"]
        after = scan(tmp_path, LEGACY, policy, "4.2")["4.2.1"]
        assert before["Status"] == "FAIL"
        assert "legacy/billing" in before["Reason"]
        assert after["Status"] == "PASS", after["Reason"]
        assert "excluded namespaces: kube-system, legacy" in after["Reason"]

    def test_count_unset_escalation_counts_containers_that_leave_it_unset(self, env, tmp_path):
        """countUnsetPrivilegeEscalation: true adds the containers of aks-legacy-eus that do not set the field to 4.2.5."""
        policy = {"kubernetes": {"countUnsetPrivilegeEscalation": True}}
        before = scan(tmp_path, LEGACY, None, "4.2")["4.2.5"]
        after = scan(tmp_path, LEGACY, policy, "4.2")["4.2.5"]
        assert before["Status"] == after["Status"] == "FAIL"
        assert after["EvidenceCount"] > before["EvidenceCount"]
        assert "not counted" in before["Reason"]
        assert "counted, as the policy asks" in after["Reason"]
