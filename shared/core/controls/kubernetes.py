"""CIS AKS section 4 (with 5.1.4, 5.2.1 and 5.4.5) as controls: Kubernetes facts in, Outcomes out.

The lists are read and joined by ``shared.core.section4`` into one ``ControlFacts`` per control
id; this module turns each into a row's Outcome. The read is ``K8S_OBJECTS`` (a
``Section4Results``, what the session fact reader returns for the cluster); 4.4.1 and 4.5.2 are
CIS audits of ARM (``az aks show``) and read the managed cluster.

How a finding becomes a status:

====================  ===========  ===================================================================
Finding               Status       When
====================  ===========  ===================================================================
``none-found``        PASS         the lists were read and nothing matched
``found``             FAIL         offenders, and no judgement is needed (or the allow-list was
                                   supplied and they are not on it)
``needs-judgement``   MANUAL       CIS asks a person (who may be cluster-admin, which registries)
                                   and the policy file gives no allow-list: the offenders are the
                                   evidence
``not-read``          ERROR        a list the control needs was refused or failed: the reason
                                   names the list and, for a 403, the permission to grant
====================  ===========  ===================================================================

Evidence is names, never content: each row's first evidence list (``found``) holds at most the
first 20 names in sorted order, with the full count in ``EvidenceCount``; what was found but is
allowed (defaults, AKS-managed objects, the allow-list, the scanner's own ``get nodes/proxy``) is
the ``allowed`` list.

On clusters with Azure RBAC for Kubernetes Authorization, 4.1.1 also counts the Azure role
assignments that cover the cluster with a role whose data actions are all of
``Microsoft.ContainerService/managedClusters/*`` (Azure Kubernetes Service RBAC Cluster Admin, or
a custom role as broad): Azure's cluster-admin. Those reads are optional: a scan that holds no
role assignments says so in the row instead of failing it.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.core import azure_rbac
from shared.core.controls import Check, Outcome, Recommendation, Row, Scope
from shared.core.controls.arm import read_bool, read_object
from shared.core.controls.section4 import CIS_AKS_17_POLICIES, CIS_AKS_18_POLICIES, PolicyControl
from shared.core.errors import FieldTypeError
from shared.core.facts import MANAGED_CLUSTER, ROLE_ASSIGNMENTS, ROLE_DEFINITIONS
from shared.core.k8s_facts import DEFAULT_NAME_LIMIT, ControlFacts, Finding, Names
from shared.core.model import Evidence, Policy, Status
from shared.core.section4 import (
    Section4Params,
    Section4Results,
    cni_facts,
    external_secrets_facts,
)
from shared.core.workloads import DEFAULT_SYSTEM_NAMESPACES

#: The read of every Kubernetes-evaluated control: the cluster's Section4Results.
K8S_OBJECTS = "k8s:objects"
#: Azure's cluster-admin: a role whose data actions cover every managed-cluster data action.
AZURE_CLUSTER_ADMIN_ACTION = "microsoft.containerservice/managedclusters/*"
#: The optional reads of 4.1.1 (Azure role assignments at the cluster's scope).
AZURE_ACCESS_READS = (ROLE_ASSIGNMENTS, ROLE_DEFINITIONS)
_ARM_EVALUATED = {"4.4.1", "4.5.2"}
_SUBJECTS = "subjects (``Group <id>``, ``User <name>``, ``ServiceAccount <ns>/<name>``)"
#: The controls the policy file's ``kubernetes.allow`` takes a list for, and what it names
#: (5.1.4 takes ``registries.approved``).
ALLOW_LISTS: Mapping[str, str] = {
    "4.1.1": "subjects allowed to hold cluster-admin (``Group <id>``, ``User <name>``, "
    "``ServiceAccount <ns>/<name>``, ``Azure <principalType> <object id>``)",
    "4.1.2": _SUBJECTS,
    "4.1.3": "roles (``ClusterRole <name>``, ``Role <ns>/<name>``)",
    "4.1.4": _SUBJECTS,
    "4.1.6": "workloads or pods (``Deployment <ns>/<name>``, ``<ns>/<pod>``)",
    **dict.fromkeys(("4.1.7", "4.1.8", "4.1.9", "4.1.10", "4.1.11", "4.1.12"), _SUBJECTS),
}
_LEARN = "https://learn.microsoft.com/azure/aks/"


def allow_list_key(control_id: str) -> str:
    """Where the policy file takes this control's allow-list ("" when it takes none)."""
    if control_id == "5.1.4":
        return "registries.approved"
    return f'kubernetes.allow."{control_id}"' if control_id in ALLOW_LISTS else ""


_CIS_K8S = "https://kubernetes.io/docs/concepts/security/"


def params_for(policy: Policy, scanner_subjects: tuple[Any, ...] = ()) -> Section4Params:
    """The section 4 parameters the policy sets (system namespaces, allow-lists)."""
    allow: dict[str, tuple[str, ...]] = dict(policy.k8s_allow)
    if policy.approved_registries is not None:
        allow["5.1.4"] = policy.approved_registries
    system = (
        policy.system_namespaces
        if policy.system_namespaces is not None
        else DEFAULT_SYSTEM_NAMESPACES
    )
    return Section4Params(
        system_namespaces=system,
        network_policy_exempt=system | {"kube-public", "kube-node-lease"},
        allow=allow,
        scanner_subjects=tuple(scanner_subjects),
        unset_escalation_counts=policy.count_unset_escalation,
    )


def _results(facts: Mapping[str, Any]) -> Section4Results:
    results = facts[K8S_OBJECTS]
    if not isinstance(results, Section4Results):
        raise FieldTypeError(K8S_OBJECTS, "the section 4 results of the cluster", results)
    return results


def _sentence(parts: list[str]) -> str:
    return "; ".join(p for p in parts if p)


def outcome(control: PolicyControl, facts: ControlFacts) -> Outcome:
    """The Outcome of one control's facts (see the module docstring's table)."""
    found, allowed = facts.offenders, facts.allowed
    lists: list[tuple[str, tuple[str, ...]]] = [("found", found.first)]
    totals = [("found", found.total)]
    if allowed:
        lists.append(("allowed", allowed.first))
        totals.append(("allowed", allowed.total))
    values = tuple(
        ("evidence" if i == 0 else f"evidence{i + 1}", e) for i, e in enumerate(facts.evidence)
    )
    evidence = Evidence(values=values, lists=tuple(lists), totals=tuple(totals))
    notes = list(facts.notes)
    if allowed:
        notes.append(f"allowed: {allowed.describe()}")
    expected = control.absent
    if facts.finding is Finding.NOT_READ:
        return Outcome(Status.ERROR, "", expected, _sentence([facts.error, *notes]), evidence)
    if facts.finding is Finding.NONE_FOUND:
        return Outcome(
            Status.PASS, "none found", expected, _sentence(["none found", *notes]), evidence
        )
    if facts.finding is Finding.FOUND:
        reason = f"{found.total} found: {found.describe()}"
        return Outcome(
            Status.FAIL, f"{found.total} found", expected, _sentence([reason, *notes]), evidence
        )
    if found:
        ask = (
            f"CIS leaves this to a person ({control.judgement}): {found.total} to review: "
            f"{found.describe()}"
        )
        where = allow_list_key(control.id)
        if facts.allow_list_supplied is False and where:
            ask += f"; list the approved ones in the policy file ({where}) and the rest FAIL"
        return Outcome(
            Status.MANUAL, f"{found.total} to review", expected, _sentence([ask, *notes]), evidence
        )
    shown = "; ".join(facts.evidence)
    ask = f"CIS leaves this to a person ({control.judgement or 'review'}): {shown or 'no evidence'}"
    return Outcome(Status.MANUAL, "evidence", expected, _sentence([ask, *notes]), evidence)


# -- 4.1.1 on Azure-RBAC clusters -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AzureAdmins:
    """Azure role assignments that make a principal cluster-admin of one cluster."""

    found: tuple[str, ...]
    allowed: tuple[str, ...]
    note: str
    #: False when a read it needs is missing: Azure's cluster-admins are then unknown, so the
    #: row cannot PASS (MANUAL, naming the read).
    complete: bool = True


_ASSIGNMENTS_READ = "role assignments (Microsoft.Authorization/roleAssignments/read)"
_DEFINITIONS_READ = "role definitions (Microsoft.Authorization/roleDefinitions/read)"


def azure_admins(facts: Mapping[str, Any], allow: tuple[str, ...] | None) -> AzureAdmins | None:
    """4.1.1's Azure half; None when the cluster does not authorize with Azure RBAC."""
    cluster = facts.get(MANAGED_CLUSTER)
    if not isinstance(cluster, Mapping):
        return None
    props = read_object(cluster, "properties")
    if not read_bool(props, "aadProfile.enableAzureRBAC", False).value:
        return None
    assignments = facts.get(ROLE_ASSIGNMENTS)
    definitions = facts.get(ROLE_DEFINITIONS)
    if not isinstance(assignments, list) or not isinstance(definitions, Mapping):
        missing = [] if isinstance(assignments, list) else [_ASSIGNMENTS_READ]
        if not isinstance(definitions, Mapping):
            missing.append(_DEFINITIONS_READ)
        return AzureAdmins(
            (),
            (),
            "the cluster authorizes with Azure RBAC, and this scan could not read its Azure "
            f"{' or '.join(missing)}, so Azure's cluster-admins are unknown: review them "
            "(az role assignment list --scope <cluster id> --include-inherited)",
            complete=False,
        )
    cluster_id = str(cluster.get("id", ""))
    found, allowed = [], []
    for item in azure_rbac.assignments(assignments):
        if not azure_rbac.covers(item.scope, cluster_id):
            continue
        definition = definitions.get(item.role_id)
        if not isinstance(definition, Mapping) or not azure_rbac.holds_every_data_action(
            definition, AZURE_CLUSTER_ADMIN_ACTION
        ):
            continue
        subject = f"Azure {item.principal_type or 'Principal'} {item.principal_id}"
        text = f"{subject} via {azure_rbac.role_name(definition)} at {item.scope}"
        # ARM compares object ids and principal types without case; so does the allow-list here
        if allow is not None and any(
            fnmatch.fnmatchcase(subject.lower(), p.lower()) for p in allow
        ):
            allowed.append(f"{text} [allow-listed]")
        else:
            found.append(text)
    return AzureAdmins(
        tuple(sorted(found)),
        tuple(sorted(allowed)),
        "Azure role assignments covering the cluster with every managedClusters data action "
        "are counted (Azure RBAC for Kubernetes Authorization)",
    )


def _merge(facts: ControlFacts, azure: AzureAdmins, limit: int) -> ControlFacts:
    """4.1.1's Kubernetes facts with Azure's cluster-admins added."""
    if facts.finding is Finding.NOT_READ:
        return facts

    def names(kept: Names, extra: tuple[str, ...]) -> Names:
        merged = sorted({*kept.first, *extra})
        return Names(tuple(merged[:limit]), kept.total + len(extra))

    found = names(facts.offenders, azure.found)
    finding = facts.finding
    if found and finding is Finding.NONE_FOUND:
        finding = Finding.NEEDS_JUDGEMENT if not facts.allow_list_supplied else Finding.FOUND
    evidence = facts.evidence
    if not azure.complete and finding is Finding.NONE_FOUND:
        finding = Finding.NEEDS_JUDGEMENT  # nothing in Kubernetes, Azure's half unknown
        evidence = (*evidence, "no Kubernetes binding to cluster-admin beyond the defaults")
    return ControlFacts(
        facts.control_id,
        finding,
        offenders=found,
        allowed=names(facts.allowed, azure.allowed),
        evidence=evidence,
        notes=(*facts.notes, azure.note),
        allow_list_supplied=facts.allow_list_supplied,
        reads=facts.reads,
    )


# -- the checks -----------------------------------------------------------------------------


def _k8s_check(control: PolicyControl) -> Check:
    def check(facts: Mapping[str, Any], policy: Policy) -> Outcome:
        found = _results(facts).by_id(control.id)
        if control.id == "4.1.1":
            allow = dict(policy.k8s_allow).get("4.1.1")
            azure = azure_admins(facts, allow)
            if azure is not None:
                found = _merge(found, azure, DEFAULT_NAME_LIMIT)
        return outcome(control, found)

    check.__name__ = f"check_{control.id.replace('.', '_')}"
    check.__doc__ = _doc(control)
    return check


def _arm_check(control: PolicyControl) -> Check:
    def check(facts: Mapping[str, Any], _: Policy) -> Outcome:
        cluster = facts[MANAGED_CLUSTER]
        if not isinstance(cluster, Mapping):
            raise FieldTypeError("managedCluster", "an object", cluster)
        props = read_object(cluster, "properties")
        if control.id == "4.4.1":
            # a wrong-typed networkProfile is ERROR naming it, not "absent"
            return outcome(control, cni_facts(read_object(props, "networkProfile") or None))
        # a wrong-typed addon or flag is ERROR naming it, never read as "off"
        read_bool(props, "addonProfiles.azureKeyvaultSecretsProvider.enabled", False)
        return outcome(control, external_secrets_facts(read_object(props, "addonProfiles")))

    check.__name__ = f"check_{control.id.replace('.', '_')}"
    check.__doc__ = _doc(control)
    return check


#: Always MANUAL: what they read is evidence for a person, never offenders.
_EVIDENCE_ONLY = frozenset({"4.4.1", "4.5.2", "4.6.1"})


def _doc(control: PolicyControl) -> str:
    """The check's docstring (the catalogue page): a synopsis, then what decides the row."""
    details = [f"What absence means: {control.absent}."]
    if where := allow_list_key(control.id):
        details.append(
            f"CIS asks a person: {control.judgement}. Without that list in the policy file "
            f"({where}) what is found makes the row MANUAL, with the names as evidence; with "
            "it, what the list does not cover is FAIL."
        )
    elif control.id in _EVIDENCE_ONLY:
        details.append(
            f"CIS leaves it to a person ({control.judgement}): the row is MANUAL, with what "
            "was read as evidence."
        )
    elif control.judgement:
        details.append(
            f"CIS leaves it to a person ({control.judgement}): what is found makes the row "
            "MANUAL, with the names as evidence; nothing found is PASS."
        )
    if control.id == "4.4.1":
        details.append(
            "Read from the managed cluster object ARM returns, not from a list; an object "
            "without networkProfile makes the row ERROR."
        )
    elif control.id in _ARM_EVALUATED:
        details.append("Read from the managed cluster object ARM returns, not from a list.")
    else:
        details.append(
            "A list that could not be read makes the row ERROR naming it (and the permission, "
            "for a 403)."
        )
    return f"Reads {control.reads}.\n\n" + " ".join(details)


def _recommendation(control: PolicyControl) -> Recommendation:
    arm = control.id in _ARM_EVALUATED
    return Recommendation(
        paths=(),
        expected=control.absent,
        remediation=control.remediation,
        check=_arm_check(control) if arm else _k8s_check(control),
        scope=Scope.CLUSTER,
        reads=(MANAGED_CLUSTER,) if arm else (K8S_OBJECTS,),
        links=(_LEARN + "operator-best-practices-cluster-security", _CIS_K8S),
        optional_reads=(MANAGED_CLUSTER, *AZURE_ACCESS_READS) if control.id == "4.1.1" else (),
    )


#: One Recommendation per control id of section 4 (and 5.1.4, 5.2.1, 5.4.5), CIS AKS 1.8 ids.
RECOMMENDATIONS: Mapping[str, Recommendation] = {
    c.id: _recommendation(c) for c in CIS_AKS_18_POLICIES
}

#: In section 5, read from the Kubernetes API like section 4 (their rows stay in section 5).
SECTION5_IDS = frozenset({"5.1.4", "5.2.1", "5.4.5"})


def section4_rows(table: tuple[PolicyControl, ...]) -> tuple[Row, ...]:
    """Section 4 of one version's table as benchmark rows (5.1.4, 5.2.1, 5.4.5 left to section 5)."""
    return tuple(
        (c.id, c.title, c.level, RECOMMENDATIONS[c.id]) for c in table if c.id not in SECTION5_IDS
    )


APPROVED_REGISTRIES = RECOMMENDATIONS["5.1.4"]
SERVICE_ACCOUNTS = RECOMMENDATIONS["5.2.1"]
LB_TLS = RECOMMENDATIONS["5.4.5"]

SECTION4_18_ROWS = section4_rows(CIS_AKS_18_POLICIES)
SECTION4_17_ROWS = section4_rows(CIS_AKS_17_POLICIES)
