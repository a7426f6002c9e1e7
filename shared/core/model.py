"""Plain values that cross module lines. No Azure or Kubernetes types appear here."""

from __future__ import annotations

import enum
import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from shared.core.errors import OutOfScopeError
from shared.core.identifiers import ClusterId


class Status(enum.StrEnum):
    """The closed set of verdicts. A row is PASS only when the value was read and complied."""

    PASS = "PASS"  # noqa: S105 - a verdict, not a password
    FAIL = "FAIL"
    ERROR = "ERROR"
    SKIPPED = "SKIPPED"
    MANUAL = (
        "MANUAL"  # a judgement, or something no API shows; Reason says what, Evidence what was seen
    )


class QpsMode(enum.StrEnum):
    """How the eventRecordQPS control (CIS AKS 1.8 3.2.7) is read; see controls.rules."""

    CIS = "cis"
    ZERO_ONLY = "zero-only"


@dataclass(frozen=True, slots=True)
class Exemption:
    """An accepted risk: a control's FAIL in a scope, with a reason, until a date.

    ``scope`` is a resource id, lower-cased, where ``*`` and ``?`` glob: a subscription
    (``/subscriptions/<id>``), a cluster (``…/managedClusters/<name>``) or a node pool
    (``…/managedClusters/<name>/agentPools/<pool>``).
    """

    control: str
    scope: str
    reason: str
    expires: date

    def covers(
        self, control_id: str, subscription_id: str, cluster_id: str, node_pool: str
    ) -> bool:
        """True when this exemption's control and scope match a row."""
        if control_id != self.control:
            return False
        targets = [f"/subscriptions/{subscription_id}".lower()]
        if cluster_id:
            targets.append(cluster_id.lower())
            if node_pool:
                targets.append(f"{cluster_id}/agentPools/{node_pool}".lower())
        return any(fnmatch.fnmatchcase(t, self.scope) for t in targets)

    def active(self, today: date) -> bool:
        """True until the end of the ``expires`` day."""
        return today <= self.expires


@dataclass(frozen=True, slots=True)
class Policy:
    """The judgement calls an operator may set (settings, or the SCAN_POLICY file)."""

    event_record_qps_min: int = 5
    event_record_qps_mode: QpsMode = QpsMode.CIS
    levels: frozenset[int] = frozenset({1, 2})
    exemptions: tuple[Exemption, ...] = ()
    #: 5.1.2: object ids (lower case) approved to hold write roles on a cluster's registries;
    #: None: no judgement given, so the row is MANUAL with the principals as evidence.
    acr_write_principals: frozenset[str] | None = None
    #: 5.1.4: approved registry login servers (lower case, ``*`` and ``?`` glob); None: MANUAL.
    approved_registries: tuple[str, ...] | None = None
    #: 5.1.1: a third-party image scanner the operator declares; without Defender for
    #: Containers the row is then MANUAL (verify that scanner) instead of FAIL.
    third_party_image_scanning: str = ""
    #: Section 4: namespaces left out of the pod and namespace controls; None: the default set
    #: (shared.core.workloads.DEFAULT_SYSTEM_NAMESPACES).
    system_namespaces: frozenset[str] | None = None
    #: Section 4 allow-lists by control id (globs on the names a row shows: ``Group ops``,
    #: ``ServiceAccount ci/*``, ``ClusterRole my-operator``, ``Deployment api/*``).
    k8s_allow: tuple[tuple[str, tuple[str, ...]], ...] = ()
    #: 4.2.5: count containers that leave allowPrivilegeEscalation unset (it then defaults to
    #: true for a non-root process); False: the CIS audit's ``== true`` only, unset ones noted.
    count_unset_escalation: bool = False

    def exemption_for(
        self, control_id: str, subscription_id: str, cluster_id: str, node_pool: str, today: date
    ) -> Exemption | None:
        """The first active exemption covering a row, if any."""
        for exemption in self.exemptions:
            if exemption.active(today) and exemption.covers(
                control_id, subscription_id, cluster_id, node_pool
            ):
                return exemption
        return None


@dataclass(frozen=True, slots=True)
class Cluster:
    """An AKS managed cluster as discovery sees it (Resource Graph row or ARM object)."""

    resource_id: str
    subscription_id: str
    resource_group: str
    name: str
    location: str = ""
    power_state: str = "Running"
    aad_managed: bool = False
    azure_rbac: bool = False
    local_accounts_disabled: bool = False
    private_cluster: bool = False
    fqdn: str = ""
    private_fqdn: str = ""
    kubernetes_version: str = ""
    run_command_disabled: bool = False
    #: The managed cluster's ARM JSON as discovery received it (Resource Graph row or ARM GET),
    #: the ``managedCluster`` read of the cluster-scoped controls; None when there is none
    #: (``scan --kubeconfig``). Not part of equality.
    arm: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)

    @property
    def stopped(self) -> bool:
        """True when the cluster's power state says it is stopped (no API server to contact)."""
        return self.power_state.lower() == "stopped"


@dataclass(frozen=True, slots=True)
class Node:
    """A Kubernetes node as the node list reports it."""

    name: str
    node_pool: str = ""
    kubelet_version: str = ""
    os_image: str = ""
    ready: bool = True


EvidenceValue = str | int | bool | None | tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Evidence:
    """What a check saw, for the row's ``Evidence`` column.

    ``values``: observed fields by name (the ARM path as ARM spells it), in the order the check
    read them. ``lists``: named lists of items (pool, registry, principal names), complete here;
    a row shows each list's first items in sorted order and its total (shared.core.records
    bounds the size). The first list is the one the verdict is about: its length is the row's
    ``EvidenceCount``. ``totals``: for a list already cut to its first names where it was
    collected (section 4 keeps the first 20 of any number), the list's full length by name.
    """

    values: tuple[tuple[str, EvidenceValue], ...] = ()
    lists: tuple[tuple[str, tuple[str, ...]], ...] = ()
    totals: tuple[tuple[str, int], ...] = ()

    def total(self, name: str, listed: tuple[str, ...]) -> int:
        """How many items the list ``name`` had in all (``listed`` may be its first ones)."""
        for key, count in self.totals:
            if key == name:
                return max(count, len(listed))
        return len(listed)

    @property
    def count(self) -> int:
        """Items in the first list (0 without lists)."""
        return self.total(*self.lists[0]) if self.lists else 0

    @property
    def empty(self) -> bool:
        """True when nothing was recorded."""
        return not self.values and not self.lists


NO_EVIDENCE = Evidence()


@dataclass(frozen=True, slots=True)
class Verdict:
    """One control evaluated against one target: a node's configz, or a cluster's facts."""

    control_id: str
    status: Status
    actual: str
    expected: str
    reason: str
    evidence: Evidence = NO_EVIDENCE


@dataclass(frozen=True, slots=True)
class ScanScope:
    """What one scan covers: subscriptions and/or explicit clusters (both empty: all visible).

    Subscription ids are lower-case GUIDs; clusters are parsed ids (shared.core.identifiers).
    """

    subscriptions: tuple[str, ...] = ()
    clusters: tuple[ClusterId, ...] = ()

    @property
    def everything(self) -> bool:
        """True when nothing narrows the scope: every subscription the identity can see."""
        return not self.subscriptions and not self.clusters

    def narrow(self, request: ScanScope) -> ScanScope:
        """``request`` inside this configured scope: it may narrow it, never widen it.

        An empty request means this scope. OutOfScopeError names the first subscription or
        cluster of the request that lies outside (``subscriptions[i]`` / ``clusters[i]``).
        """
        if request.everything:
            return self
        if self.everything:
            return request
        allowed = set(self.subscriptions)
        for index, sub in enumerate(request.subscriptions):
            if sub not in allowed:
                raise OutOfScopeError(
                    f"subscriptions[{index}]",
                    f"{sub} is not in the configured scope (SCAN_SUBSCRIPTIONS)",
                )
        for index, cluster in enumerate(request.clusters):
            if cluster.subscription not in allowed:
                raise OutOfScopeError(
                    f"clusters[{index}]",
                    f"{cluster} is in subscription {cluster.subscription}, which is not in the "
                    "configured scope (SCAN_SUBSCRIPTIONS)",
                )
        return request


@dataclass(slots=True)
class RunTotals:
    """Mutable counters a run accumulates; frozen into a RunRecord at the end."""

    subscriptions: set[str] = field(default_factory=set)
    clusters: int = 0
    clusters_failed: int = 0
    nodes: int = 0
    nodes_failed: int = 0
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    manual: int = 0
    rows_sent: int = 0
    rows_dead_lettered: int = 0
    rows_replayed: int = 0
    cluster_rows: int = 0

    def count(self, status: Status, rows: int = 1) -> None:
        """Count ``rows`` finding rows of one status."""
        if status is Status.PASS:
            self.passed += rows
        elif status is Status.FAIL:
            self.failed += rows
        elif status is Status.ERROR:
            self.errors += rows
        elif status is Status.MANUAL:
            self.manual += rows
        else:
            self.skipped += rows
