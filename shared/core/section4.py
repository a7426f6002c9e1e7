"""CIS AKS section 4 (with 5.1.4, 5.2.1, 5.4.5) from Kubernetes lists: pages in, facts out.

``Section4Scan`` owns one consumer per list of ``k8s_lists.READS``; a driver hands it pages
(``take``) or a list's failure (``failed``), then ``finish`` returns one ``ControlFacts`` per
control id in benchmark order. ``scan`` (a ``ListReader``) and ``scan_async`` (an
``AsyncListReader``) are the two drivers; the integration may instead read lists concurrently
and call ``take``/``failed`` itself: consumers join at the end, so order does not matter, but
pages of one list must be handed over in order.

A list that fails marks only the controls that need it ``NOT_READ``, with the error (a 403 names
the missing permission). An optional CRD list the server does not serve is a note, not an error.
A list restarted after its continue token expired (410) drops what it had taken and says so in
the notes of every control computed from it.

Judgement: where CIS asks a person (who may be cluster-admin, read secrets, create pods, which
registries are approved, which pods need a token...), ``Section4Params.allow`` supplies the
allow-list per control id; without it, what is found is ``NEEDS_JUDGEMENT`` with the evidence,
and with it, ``FOUND`` for what the list does not cover (or ``NONE_FOUND``).
"""

from __future__ import annotations

import asyncio
import fnmatch
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.core import k8s_lists as lists
from shared.core.errors import ListDeniedError, ListError, ListNotServedError
from shared.core.k8s_facts import DEFAULT_NAME_LIMIT, ControlFacts, Finding, Names, names_of
from shared.core.k8s_lists import AsyncListReader, Item, ListConsumer, ListReader, ListRef, Page
from shared.core.rbac import Access, Grant, RbacState, RoleMatch, Subject
from shared.core.rbac_defaults import DEFAULT_EXCLUSIONS, ExclusionList
from shared.core.workloads import (
    DEFAULT_SYSTEM_NAMESPACES,
    ControllersPass,
    Owner,
    PodRules,
    PodsPass,
    render_pod,
)

RBAC_API = "rbac.authorization.k8s.io"
NO_NAMES = Names()

#: The RBAC questions of 4.1.x: Access key -> (verbs, group, resources).
ACCESSES: tuple[Access, ...] = (
    Access("4.1.2", ("get", "list", "watch"), "", ("secrets",)),
    Access("4.1.4", ("create",), "", ("pods",)),
    Access("4.1.7/bind", ("bind",), RBAC_API, ("roles", "clusterroles")),
    Access("4.1.7/escalate", ("escalate",), RBAC_API, ("roles", "clusterroles")),
    Access("4.1.7/impersonate", ("impersonate",), "", ("users", "groups", "serviceaccounts")),
    Access("4.1.7/impersonate-uids", ("impersonate",), "authentication.k8s.io", ("uids",)),
    Access("4.1.8", ("create",), "", ("persistentvolumes",)),
    # every verb the node proxy maps an HTTP method to (GET, POST, PUT, PATCH, DELETE)
    Access("4.1.9", ("get", "create", "update", "patch", "delete"), "", ("nodes/proxy",)),
    Access(
        "4.1.10",
        ("update", "patch"),
        "certificates.k8s.io",
        ("certificatesigningrequests/approval",),
    ),
    Access(
        "4.1.11",
        ("create", "update", "patch", "delete", "deletecollection"),
        "admissionregistration.k8s.io",
        ("validatingwebhookconfigurations", "mutatingwebhookconfigurations"),
    ),
    Access("4.1.12", ("create",), "", ("serviceaccounts/token",)),
)
SUBJECT_CONTROLS: Mapping[str, tuple[str, ...]] = {
    "4.1.2": ("4.1.2",),
    "4.1.4": ("4.1.4",),
    "4.1.7": ("4.1.7/bind", "4.1.7/escalate", "4.1.7/impersonate", "4.1.7/impersonate-uids"),
    "4.1.8": ("4.1.8",),
    "4.1.9": ("4.1.9",),
    "4.1.10": ("4.1.10",),
    "4.1.11": ("4.1.11",),
    "4.1.12": ("4.1.12",),
}
RBAC_READS = (lists.CLUSTER_ROLES, lists.CLUSTER_ROLE_BINDINGS, lists.ROLES, lists.ROLE_BINDINGS)
CONTROLLER_READS = (
    lists.DEPLOYMENTS,
    lists.DAEMON_SETS,
    lists.STATEFUL_SETS,
    lists.REPLICA_SETS,
    lists.JOBS,
    lists.CRON_JOBS,
)
POLICY_READS = (
    lists.NETWORK_POLICIES,
    lists.CALICO_NETWORK_POLICIES,
    lists.CILIUM_NETWORK_POLICIES,
    lists.CILIUM_CLUSTERWIDE_POLICIES,
)
PSA_ENFORCE = "pod-security.kubernetes.io/enforce"
SCANNER_PROXY_REASON = (
    "the scanner's own identity: get nodes/proxy is how it reads each kubelet's configz "
    "(section 3.2), so it is allowed here"
)

#: The lists each control is computed from (a failure of one makes the control NOT_READ).
NEEDS: Mapping[str, tuple[ListRef, ...]] = {
    "4.1.1": (lists.CLUSTER_ROLE_BINDINGS, lists.ROLE_BINDINGS),
    **dict.fromkeys(SUBJECT_CONTROLS, RBAC_READS),
    "4.1.3": (lists.CLUSTER_ROLES, lists.ROLES),
    "4.1.5": (lists.SERVICE_ACCOUNTS, lists.CLUSTER_ROLE_BINDINGS, lists.ROLE_BINDINGS, lists.PODS),
    "4.1.6": (lists.SERVICE_ACCOUNTS, lists.PODS),
    **{f"4.2.{n}": (lists.PODS,) for n in range(1, 6)},
    "4.4.2": (lists.NAMESPACES, *POLICY_READS),
    "4.5.1": (lists.PODS, *CONTROLLER_READS),
    "4.6.1": (lists.NAMESPACES,),
    "4.6.2": (lists.PODS,),
    "4.6.3": (
        lists.PODS,
        lists.SERVICES,
        lists.DEFAULT_CONFIGMAPS,
        lists.SERVICE_ACCOUNTS,
        lists.INGRESSES,
        *CONTROLLER_READS,
    ),
    "5.1.4": (lists.PODS,),
    "5.2.1": (lists.CLUSTER_ROLE_BINDINGS, lists.ROLE_BINDINGS),
    "5.4.5": (lists.SERVICES, lists.INGRESSES),
}
#: Evidence-only reads: their failure is a note on these controls, never NOT_READ.
EVIDENCE_READS: Mapping[str, tuple[ListRef, ...]] = {
    **{
        f"4.2.{n}": (lists.NAMESPACES, lists.VALIDATING_WEBHOOKS, lists.MUTATING_WEBHOOKS)
        for n in range(1, 6)
    },
    "4.1.5": (lists.NAMESPACES,),
}
ORDER = (
    "4.1.1", "4.1.2", "4.1.3", "4.1.4", "4.1.5", "4.1.6", "4.1.7", "4.1.8", "4.1.9", "4.1.10",
    "4.1.11", "4.1.12", "4.2.1", "4.2.2", "4.2.3", "4.2.4", "4.2.5", "4.4.2", "4.5.1", "4.6.1",
    "4.6.2", "4.6.3", "5.1.4", "5.2.1", "5.4.5",
)  # fmt: skip
AUTO_CREATED_DEFAULT = {
    "Service": {"kubernetes"},
    "ConfigMap": {"kube-root-ca.crt"},
    "ServiceAccount": {"default"},
}


@dataclass(frozen=True, slots=True)
class Section4Params:
    """What the policy file will set; every default is the documented one.

    ``allow``: allow-lists per control id, globs on the displayed names: subjects for 4.1.1,
    4.1.2, 4.1.4, 4.1.7-4.1.12 (``Group my-admins``, ``ServiceAccount ci/*``), roles for 4.1.3
    (``ClusterRole my-operator``), pods or workloads for 4.1.6 (``Deployment api/*``, ``ns/pod``),
    registries for 5.1.4 (``myacr.azurecr.io``, ``*.azurecr.io``). A control missing here has no
    allow-list supplied.
    """

    system_namespaces: frozenset[str] = DEFAULT_SYSTEM_NAMESPACES
    network_policy_exempt: frozenset[str] = DEFAULT_SYSTEM_NAMESPACES | {
        "kube-public",
        "kube-node-lease",
    }
    allow: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    scanner_subjects: tuple[Subject, ...] = ()
    exclusions: ExclusionList = DEFAULT_EXCLUSIONS
    unset_escalation_counts: bool = False
    limit: int = DEFAULT_NAME_LIMIT


@dataclass(frozen=True, slots=True)
class ListReport:
    """How one list went: pages and objects taken, restarts, or why it failed."""

    ref: ListRef
    pages: int = 0
    objects: int = 0
    restarts: int = 0
    error: str = ""
    not_served: bool = False


@dataclass(frozen=True, slots=True)
class Section4Results:
    """Facts per control in benchmark order, and what was read."""

    controls: tuple[ControlFacts, ...]
    lists: tuple[ListReport, ...]

    def by_id(self, control_id: str) -> ControlFacts:
        """The facts of one control; KeyError if section 4 has no such id."""
        for facts in self.controls:
            if facts.control_id == control_id:
                return facts
        raise KeyError(control_id)

    @property
    def objects_read(self) -> int:
        """Objects taken from every list (restarted passes counted again)."""
        return sum(r.objects for r in self.lists)


@dataclass
class _NamesConsumer:
    """Keeps what a simple list is needed for: names, namespaces and a few fields per item."""

    take: Any  # Callable[[Item], None]
    clear: Any  # Callable[[], None]

    def feed(self, items: Sequence[Item]) -> None:
        for item in items:
            self.take(item)

    def reset(self) -> None:
        self.clear()


def _spec(item: Item) -> Mapping[str, Any]:
    spec = item.get("spec")
    return spec if isinstance(spec, Mapping) else {}


def _meta(item: Item) -> tuple[str, str, Mapping[str, Any]]:
    metadata = item.get("metadata")
    if not isinstance(metadata, Mapping):
        return "", "?", {}
    labels = metadata.get("labels")
    return (
        str(metadata.get("namespace") or ""),
        str(metadata.get("name", "?")),
        labels if isinstance(labels, Mapping) else {},
    )


class Section4Scan:
    """The consumers of every section 4 list, and the join into ControlFacts."""

    def __init__(self, params: Section4Params | None = None) -> None:
        self.params = params = params or Section4Params()
        self.rbac = RbacState(ACCESSES, params.exclusions)
        self.pods = PodsPass(
            PodRules(
                system_namespaces=params.system_namespaces,
                unset_escalation_counts=params.unset_escalation_counts,
                token_mount_allowed=params.allow.get("4.1.6"),
                limit=params.limit,
            )
        )
        self.controllers = ControllersPass(params.system_namespaces)
        self.accounts: dict[tuple[str, str], Any] = {}
        self.namespaces: dict[str, str] = {}  # name -> PSA enforce level ("" when unlabelled)
        self.policies: dict[ListRef, set[str]] = {}  # source -> namespaces with a policy
        self.clusterwide_policies: set[str] = set()
        self.services_default: set[str] = set()
        self.load_balancers: set[str] = set()
        self.ingresses_default: set[str] = set()
        self.ingresses_without_tls: set[str] = set()
        self.configmaps_default: set[str] = set()
        self.webhooks: dict[ListRef, set[str]] = {}
        self._reports: dict[ListRef, dict[str, Any]] = {ref: {} for ref in lists.READS}
        self._errors: dict[ListRef, ListError] = {}
        self.consumers: dict[ListRef, ListConsumer] = self._consumers()

    # -- consumers ------------------------------------------------------------------------

    def _consumers(self) -> dict[ListRef, ListConsumer]:
        rbac = self.rbac
        consumers: dict[ListRef, ListConsumer] = {
            lists.CLUSTER_ROLES: rbac.consumer("ClusterRole"),
            lists.ROLES: rbac.consumer("Role"),
            lists.CLUSTER_ROLE_BINDINGS: rbac.consumer("ClusterRoleBinding"),
            lists.ROLE_BINDINGS: rbac.consumer("RoleBinding"),
            lists.PODS: self.pods,
            lists.SERVICE_ACCOUNTS: _NamesConsumer(self._account, self.accounts.clear),
            lists.NAMESPACES: _NamesConsumer(self._namespace, self.namespaces.clear),
            lists.SERVICES: _NamesConsumer(self._service, self._clear_services),
            lists.INGRESSES: _NamesConsumer(self._ingress, self._clear_ingresses),
            lists.DEFAULT_CONFIGMAPS: _NamesConsumer(
                self._configmap, self.configmaps_default.clear
            ),
            lists.CILIUM_CLUSTERWIDE_POLICIES: _NamesConsumer(
                lambda item: self.clusterwide_policies.add(_meta(item)[1]),
                self.clusterwide_policies.clear,
            ),
        }
        for ref in CONTROLLER_READS:
            consumers[ref] = self.controllers.consumer(ref.resource)
        for ref in (
            lists.NETWORK_POLICIES,
            lists.CALICO_NETWORK_POLICIES,
            lists.CILIUM_NETWORK_POLICIES,
        ):
            found = self.policies.setdefault(ref, set())
            consumers[ref] = _NamesConsumer(
                lambda item, found=found: found.add(_meta(item)[0]), found.clear
            )
        for ref in (lists.VALIDATING_WEBHOOKS, lists.MUTATING_WEBHOOKS):
            names = self.webhooks.setdefault(ref, set())
            consumers[ref] = _NamesConsumer(
                lambda item, names=names: names.add(_meta(item)[1]), names.clear
            )
        return consumers

    def _account(self, item: Item) -> None:
        namespace, name, _ = _meta(item)
        self.accounts[(namespace, name)] = item.get("automountServiceAccountToken")

    def _namespace(self, item: Item) -> None:
        _, name, labels = _meta(item)
        self.namespaces[name] = str(labels.get(PSA_ENFORCE, ""))

    def _service(self, item: Item) -> None:
        namespace, name, _ = _meta(item)
        if namespace == "default" and name not in AUTO_CREATED_DEFAULT["Service"]:
            self.services_default.add(name)
        spec = _spec(item)
        if spec.get("type") == "LoadBalancer" and namespace not in self.params.system_namespaces:
            ports = [
                f"{p.get('port')}/{p.get('protocol', 'TCP')}"
                for p in spec.get("ports") or []
                if isinstance(p, Mapping)
            ]
            if any(not text.startswith("443/") for text in ports) or not ports:
                self.load_balancers.add(
                    f"Service {namespace}/{name} (LoadBalancer, ports {','.join(ports) or 'none'})"
                )

    def _clear_services(self) -> None:
        self.services_default.clear()
        self.load_balancers.clear()

    def _ingress(self, item: Item) -> None:
        namespace, name, _ = _meta(item)
        if namespace == "default":
            self.ingresses_default.add(name)
        spec = _spec(item)
        if not spec.get("tls") and namespace not in self.params.system_namespaces:
            self.ingresses_without_tls.add(f"Ingress {namespace}/{name} (no spec.tls)")

    def _clear_ingresses(self) -> None:
        self.ingresses_default.clear()
        self.ingresses_without_tls.clear()

    def _configmap(self, item: Item) -> None:
        _, name, _ = _meta(item)
        if name not in AUTO_CREATED_DEFAULT["ConfigMap"]:
            self.configmaps_default.add(name)

    # -- what drivers call ------------------------------------------------------------------

    def take(self, page: Page) -> None:
        """Hand over one page (in its list's order)."""
        consumer = self.consumers[page.ref]
        report = self._reports[page.ref]
        if page.restarted:
            consumer.reset()
            report["restarts"] = report.get("restarts", 0) + 1
        consumer.feed(page.items)
        report["pages"] = report.get("pages", 0) + 1
        report["objects"] = report.get("objects", 0) + len(page.items)

    def failed(self, ref: ListRef, error: ListError) -> None:
        """A list could not be read: its consumer's partial state is dropped."""
        self.consumers[ref].reset()
        self._errors[ref] = error

    # -- the join ---------------------------------------------------------------------------

    def finish(self) -> Section4Results:
        """One ControlFacts per control, in benchmark order."""
        build = {
            "4.1.1": self._cluster_admin,
            "4.1.3": self._wildcards,
            "4.1.5": self._default_accounts,
            "4.1.6": self._token_mounts,
            "4.2.1": lambda: self._pods_flag("4.2.1", self.pods.privileged),
            "4.2.2": lambda: self._pods_flag("4.2.2", self.pods.host_pid),
            "4.2.3": lambda: self._pods_flag("4.2.3", self.pods.host_ipc),
            "4.2.4": lambda: self._pods_flag("4.2.4", self.pods.host_network),
            "4.2.5": lambda: self._pods_flag("4.2.5", self.pods.escalation),
            "4.4.2": self._network_policies,
            "4.5.1": self._secret_env,
            "4.6.1": self._namespaces_evidence,
            "4.6.2": self._security_contexts,
            "4.6.3": self._default_namespace,
            "5.1.4": self._registries,
            "5.2.1": self._default_account_bindings,
            "5.4.5": self._tls,
        }
        controls = []
        for cid in ORDER:
            facts = build[cid]() if cid in build else self._subjects(cid)
            controls.append(self._finalize(facts))
        reports = []
        for ref in lists.READS:
            data = self._reports[ref]
            error = self._errors.get(ref)
            reports.append(
                ListReport(
                    ref,
                    pages=data.get("pages", 0),
                    objects=data.get("objects", 0),
                    restarts=data.get("restarts", 0),
                    error=str(error) if error is not None else "",
                    not_served=isinstance(error, ListNotServedError),
                )
            )
        return Section4Results(tuple(controls), tuple(reports))

    def _finalize(self, facts: ControlFacts) -> ControlFacts:
        """Apply list failures and restarts to a control computed from its lists."""
        cid = facts.control_id
        needs = NEEDS[cid]
        notes = list(facts.notes)
        errors = []
        for ref in needs:
            error = self._errors.get(ref)
            if error is None:
                restarts = self._reports[ref].get("restarts", 0)
                if restarts:
                    notes.append(
                        f"{ref.qualified}: the continue token expired (410 Gone); the list was "
                        "restarted from the beginning and read again"
                    )
                continue
            if isinstance(error, ListNotServedError) and ref in lists.OPTIONAL_READS:
                notes.append(f"{ref.qualified} is not served by this cluster (CRD not installed)")
                continue
            if isinstance(error, ListDeniedError):
                errors.append(
                    f"{ref.qualified} not read: the scanner lacks {error.permission} ({error})"
                )
            else:
                errors.append(f"{ref.qualified} not read: {error}")
        for ref in EVIDENCE_READS.get(cid, ()):
            error = self._errors.get(ref)
            if error is not None:
                notes.append(f"evidence from {ref.qualified} missing: {error}")
        if errors:
            return ControlFacts(
                cid,
                Finding.NOT_READ,
                evidence=facts.evidence,
                notes=tuple(notes),
                allow_list_supplied=facts.allow_list_supplied,
                error="; ".join(errors),
                reads=tuple(r.qualified for r in needs),
            )
        return ControlFacts(
            cid,
            facts.finding,
            offenders=facts.offenders,
            allowed=facts.allowed,
            evidence=facts.evidence,
            notes=tuple(notes),
            allow_list_supplied=facts.allow_list_supplied,
            error=facts.error,
            reads=tuple(r.qualified for r in needs),
        )

    # -- helpers ----------------------------------------------------------------------------

    def _judged(
        self,
        cid: str,
        offenders: Names,
        allowed: Names = NO_NAMES,
        evidence: Iterable[str] = (),
        notes: Iterable[str] = (),
        *,
        judgement: bool,
        malformed: Sequence[str] = (),
    ) -> ControlFacts:
        """The Finding for what was found: judgement controls need their allow-list."""
        supplied = (cid in self.params.allow) if judgement else None
        notes = list(notes)
        if malformed:
            notes.append(
                f"{len(malformed)} object(s) could not be evaluated: " + "; ".join(malformed[:5])
            )
        if offenders:
            finding = Finding.NEEDS_JUDGEMENT if judgement and not supplied else Finding.FOUND
        elif malformed:
            return ControlFacts(
                cid,
                Finding.NOT_READ,
                allowed=allowed,
                evidence=tuple(evidence),
                notes=tuple(notes),
                allow_list_supplied=supplied,
                error=f"{len(malformed)} object(s) have fields of the wrong type, so nothing can be "
                "said to be clean: " + "; ".join(malformed[:5]),
            )
        else:
            finding = Finding.NONE_FOUND
        return ControlFacts(
            cid,
            finding,
            offenders=offenders,
            allowed=allowed,
            evidence=tuple(evidence),
            notes=tuple(notes),
            allow_list_supplied=supplied,
        )

    def _names(self, values: Iterable[str]) -> Names:
        return names_of(set(values), self.params.limit)

    def _rbac_notes(self) -> list[str]:
        notes = []
        aggregated = self.rbac.aggregated()
        if aggregated:
            notes.append(
                "aggregated ClusterRoles are evaluated with the rules the apiserver filled in: "
                + ", ".join(aggregated[:10])
                + (f" and {len(aggregated) - 10} more" if len(aggregated) > 10 else "")
            )
        dangling = self.rbac.dangling()
        if dangling:
            notes.append(f"{len(dangling)} binding(s) grant nothing: " + "; ".join(dangling[:5]))
        return notes

    def _rbac_malformed(self, *kinds: str) -> list[str]:
        return [m for kind in kinds for m in self.rbac.malformed.get(kind, [])]

    # -- 4.1 --------------------------------------------------------------------------------

    def _cluster_admin(self) -> ControlFacts:
        allow = self.params.allow.get("4.1.1")
        offenders, allowed = set(), set()
        for binding in self.rbac.bindings():
            if binding.role_kind != "ClusterRole" or binding.role_name != "cluster-admin":
                continue
            for subject in binding.subjects:
                text = f"{subject} via {binding} ({binding.scope})"
                if binding.managed is not None:
                    allowed.add(f"{text} [{binding.managed.origin}-managed binding]")
                elif allow is not None and subject.matches(allow):
                    allowed.add(f"{text} [allow-listed]")
                else:
                    offenders.add(text)
        return self._judged(
            "4.1.1",
            self._names(offenders),
            self._names(allowed),
            notes=[
                "aks-cluster-admin-binding (AKS) gives cluster-admin to the local accounts "
                "clusterAdmin and clusterUser; disabling local accounts removes their use"
            ]
            if any("aks-cluster-admin-binding " in a for a in allowed)
            else [],
            judgement=True,
            malformed=self._rbac_malformed("ClusterRoleBinding", "RoleBinding"),
        )

    def _subjects(self, cid: str) -> ControlFacts:
        allow = self.params.allow.get(cid)
        offenders, allowed = set(), set()
        for key in SUBJECT_CONTROLS[cid]:
            for grant in self.rbac.grants(key):
                text = grant.describe()
                if grant.binding.managed is not None:
                    allowed.add(f"{text} [{grant.binding.managed.origin}-managed binding]")
                    continue
                if cid == "4.1.9" and grant.subject in self.params.scanner_subjects:
                    rest = tuple(v for v in grant.match.verbs if v != "get")
                    if "get" in grant.match.verbs:
                        allowed.add(f"{_only(grant, ('get',)).describe()} [{SCANNER_PROXY_REASON}]")
                    if not rest:
                        continue
                    text = _only(grant, rest).describe()
                if allow is not None and grant.subject.matches(allow):
                    allowed.add(f"{text} [allow-listed]")
                else:
                    offenders.add(text)
        return self._judged(
            cid,
            self._names(offenders),
            self._names(allowed),
            notes=self._rbac_notes(),
            judgement=True,
            malformed=self._rbac_malformed(
                "ClusterRole", "Role", "ClusterRoleBinding", "RoleBinding"
            ),
        )

    def _wildcards(self) -> ControlFacts:
        allow = self.params.allow.get("4.1.3")
        offenders, allowed = set(), set()
        roles = [*self.rbac.cluster_roles.values(), *self.rbac.roles.values()]
        for role in roles:
            for wildcard in role.wildcards:
                text = f"{role}: {wildcard}"
                if role.managed is not None:
                    allowed.add(f"{text} [{role.managed.origin}-managed role]")
                elif allow is not None and any(fnmatch.fnmatchcase(str(role), p) for p in allow):
                    allowed.add(f"{text} [allow-listed]")
                else:
                    offenders.add(text)
        return self._judged(
            "4.1.3",
            self._names(offenders),
            self._names(allowed),
            notes=self._rbac_notes(),
            judgement=True,
            malformed=self._rbac_malformed("ClusterRole", "Role"),
        )

    def _default_account_binding_texts(self) -> set[str]:
        found = set()
        for binding in self.rbac.bindings():
            if binding.managed is not None:
                continue
            for subject in binding.subjects:
                if (
                    subject.kind == "ServiceAccount"
                    and subject.name == "default"
                    and subject.namespace not in self.params.system_namespaces
                ):
                    found.add(
                        f"{subject} is bound by {binding} to {binding.role_kind} {binding.role_name}"
                    )
        return found

    def _default_accounts(self) -> ControlFacts:
        texts = self._default_account_binding_texts()
        for (namespace, name), automount in self.accounts.items():
            if (
                name == "default"
                and namespace not in self.params.system_namespaces
                and automount is not False
            ):
                shown = "absent, so true" if automount is None else str(automount).lower()
                texts.add(
                    f"ServiceAccount {namespace}/default: automountServiceAccountToken {shown}"
                )
        pods = self.pods.default_sa_pods.freeze(self._render())
        offenders = _combine([self._names(texts), _prefixed("pod ", pods)], self.params.limit)
        return self._judged(
            "4.1.5",
            offenders,
            evidence=[f"pods using a default service account: {pods.total}"],
            notes=[_excluded(self.params.system_namespaces)],
            judgement=False,
            malformed=[
                *self._rbac_malformed("ClusterRoleBinding", "RoleBinding"),
                *self.pods.malformed,
            ],
        )

    def _default_account_bindings(self) -> ControlFacts:
        return self._judged(
            "5.2.1",
            self._names(self._default_account_binding_texts()),
            notes=[_excluded(self.params.system_namespaces)],
            judgement=False,
            malformed=self._rbac_malformed("ClusterRoleBinding", "RoleBinding"),
        )

    def _token_mounts(self) -> ControlFacts:
        mounted = self.pods.mounted(self.accounts).freeze(self._render())
        return self._judged(
            "4.1.6",
            mounted,
            self.pods.token_allowed.freeze(self._render()),
            notes=[
                "a pod's automountServiceAccountToken wins; absent on the pod, its service "
                "account's applies; absent on both, the token is mounted",
                _excluded(self.params.system_namespaces),
            ],
            judgement=True,
            malformed=self.pods.malformed,
        )

    # -- 4.2, 4.6.2 -------------------------------------------------------------------------

    def _render(self) -> Any:
        return render_pod(self.controllers.owners)

    def _admission_evidence(self) -> list[str]:
        evidence = []
        user_namespaces = sorted(
            n for n in self.namespaces if n not in self.params.system_namespaces
        )
        unenforced = [
            n for n in user_namespaces if self.namespaces[n] not in ("baseline", "restricted")
        ]
        if self.namespaces:
            evidence.append(
                f"namespaces without pod-security.kubernetes.io/enforce baseline or restricted: "
                f"{self._names(unenforced).describe() or 'none'}"
            )
        hooks = sorted(
            self.webhooks.get(lists.VALIDATING_WEBHOOKS, set())
            | self.webhooks.get(lists.MUTATING_WEBHOOKS, set())
        )
        if hooks:
            evidence.append("admission webhooks: " + self._names(hooks).describe())
        return evidence

    def _pods_flag(self, cid: str, found: Any) -> ControlFacts:
        notes = [_excluded(self.params.system_namespaces)]
        if cid == "4.2.5":
            notes.append(
                f"{self.pods.escalation_unset} container(s) do not set allowPrivilegeEscalation; "
                + (
                    "counted, as the policy asks (Kubernetes then lets the process escalate)"
                    if self.params.unset_escalation_counts
                    else "not counted: the CIS audit selects == true only (Kubernetes then lets "
                    "the process escalate)"
                )
            )
        return self._judged(
            cid,
            found.freeze(self._render()),
            evidence=self._admission_evidence(),
            notes=notes,
            judgement=False,
            malformed=self.pods.malformed,
        )

    def _security_contexts(self) -> ControlFacts:
        return self._judged(
            "4.6.2",
            self.pods.no_security_context.freeze(self._render()),
            evidence=[
                f"containers without a securityContext: {self.pods.containers_without_context}"
            ],
            notes=[_excluded(self.params.system_namespaces)],
            judgement=True,
            malformed=self.pods.malformed,
        )

    # -- 4.4, 4.5, 4.6 ----------------------------------------------------------------------

    def _network_policies(self) -> ControlFacts:
        covered = set().union(*self.policies.values())
        missing = sorted(
            n
            for n in self.namespaces
            if n not in covered and n not in self.params.network_policy_exempt
        )
        evidence = [
            f"{ref.qualified}: {len(namespaces)} namespace(s) with a policy"
            for ref, namespaces in self.policies.items()
            if ref not in self._errors
        ]
        if self.clusterwide_policies:
            evidence.append(
                f"CiliumClusterwideNetworkPolicies (may also select these namespaces): "
                f"{self._names(self.clusterwide_policies).describe()}"
            )
        return self._judged(
            "4.4.2",
            self._names(missing),
            evidence=evidence,
            notes=[f"exempt namespaces: {', '.join(sorted(self.params.network_policy_exempt))}"],
            judgement=False,
        )

    def _secret_env(self) -> ControlFacts:
        owners = self.controllers.owners
        found: dict[str, str] = dict(self.controllers.secret_env)
        for workload, ref in self.pods.secret_env.items():
            name = (
                str(owners.resolve(workload)) if isinstance(workload, Owner) else f"Pod {workload}"
            )
            found.setdefault(name, ref)
        return self._judged(
            "4.5.1",
            self._names(f"{name}: {ref}" for name, ref in found.items()),
            evidence=[
                f"pods taking a Secret as environment variables: {self.pods.secret_env_pods}"
            ],
            notes=[
                "env[].valueFrom.secretKeyRef and envFrom[].secretRef both count, in containers, "
                "initContainers and ephemeralContainers; only names are shown",
                _excluded(self.params.system_namespaces),
            ],
            judgement=False,
            malformed=[*self.pods.malformed, *self.controllers.malformed],
        )

    def _namespaces_evidence(self) -> ControlFacts:
        user = sorted(n for n in self.namespaces if n not in self.params.network_policy_exempt)
        return ControlFacts(
            "4.6.1",
            Finding.NEEDS_JUDGEMENT,
            evidence=(
                f"namespaces other than system ones: {self._names(user).describe() or 'none'}",
                f"namespaces in all: {len(self.namespaces)}",
            ),
        )

    def _default_namespace(self) -> ControlFacts:
        texts = {
            f"{kind} default/{name}"
            for kind, names in self.controllers.default_namespace.items()
            for name in names
        }
        texts |= {f"Service default/{n}" for n in self.services_default}
        texts |= {f"ConfigMap default/{n}" for n in self.configmaps_default}
        texts |= {f"Ingress default/{n}" for n in self.ingresses_default}
        texts |= {
            f"ServiceAccount default/{name}"
            for (namespace, name) in self.accounts
            if namespace == "default" and name not in AUTO_CREATED_DEFAULT["ServiceAccount"]
        }
        pods = self.pods.default_namespace.freeze(self._render())
        return self._judged(
            "4.6.3",
            _combine([self._names(texts), _prefixed("Pod ", pods)], self.params.limit),
            notes=[
                "not counted: Service kubernetes, ConfigMap kube-root-ca.crt, ServiceAccount default"
            ],
            judgement=False,
            malformed=self.pods.malformed,
        )

    # -- 5.x --------------------------------------------------------------------------------

    def _registries(self) -> ControlFacts:
        approved = self.params.allow.get("5.1.4")
        used, offenders = [], []
        for registry, pods in sorted(self.pods.registries.items()):
            sample = pods.freeze()
            text = f"{registry}: {pods.total} pod(s), e.g. {', '.join(sample.first[:3])}"
            used.append(text)
            if approved is not None and not any(fnmatch.fnmatchcase(registry, p) for p in approved):
                offenders.append(text)
        if approved is None:
            return self._judged(
                "5.1.4",
                self._names(used),
                evidence=[f"registries in use: {len(used)}"],
                notes=["no approved registries supplied", _excluded(self.params.system_namespaces)],
                judgement=True,
                malformed=self.pods.malformed,
            )
        return self._judged(
            "5.1.4",
            self._names(offenders),
            evidence=["registries in use: " + "; ".join(used[:10])],
            notes=[f"approved: {', '.join(approved)}", _excluded(self.params.system_namespaces)],
            judgement=True,
            malformed=self.pods.malformed,
        )

    def _tls(self) -> ControlFacts:
        return self._judged(
            "5.4.5",
            self._names(self.load_balancers | self.ingresses_without_tls),
            notes=[
                "a LoadBalancer Service may terminate TLS in the application; whether each port "
                "is TLS is for a person to judge"
            ],
            judgement=True,
        )


def _only(grant: Grant, verbs: tuple[str, ...]) -> Grant:
    match = grant.match
    return Grant(
        grant.subject,
        grant.binding,
        grant.role,
        RoleMatch(verbs, match.resources, match.names, match.rules),
    )


def _prefixed(prefix: str, names: Names) -> Names:
    return Names(tuple(prefix + n for n in names.first), names.total)


def _combine(parts: Sequence[Names], limit: int) -> Names:
    """Names of several parts: each part's first names are its smallest, so the smallest of all
    are among them."""
    return Names(
        tuple(sorted(n for p in parts for n in p.first)[:limit]), sum(p.total for p in parts)
    )


def _excluded(namespaces: frozenset[str]) -> str:
    return f"excluded namespaces: {', '.join(sorted(namespaces))}"


def scan(reader: ListReader, params: Section4Params | None = None) -> Section4Results:
    """Read every list of section 4 in turn and evaluate it."""
    state = Section4Scan(params)
    for ref in lists.READS:
        try:
            for page in reader.pages(ref):
                state.take(page)
        except ListError as exc:
            state.failed(ref, exc)
    return state.finish()


async def scan_async(
    reader: AsyncListReader, params: Section4Params | None = None, concurrency: int = 1
) -> Section4Results:
    """``scan`` for an asyncio reader, ``concurrency`` lists at a time (1: one after another),
    each page taken as it arrives (consumers join at the end: see ``Section4Scan``)."""
    state = Section4Scan(params)
    permits = asyncio.Semaphore(max(1, concurrency))

    async def read(ref: ListRef) -> None:
        async with permits:
            try:
                async for page in reader.pages(ref):
                    state.take(page)
            except ListError as exc:
                state.failed(ref, exc)

    async with asyncio.TaskGroup() as group:
        for ref in lists.READS:
            group.create_task(read(ref))
    return state.finish()


def cni_facts(network_profile: Mapping[str, Any] | None) -> ControlFacts:
    """4.4.1 from ARM ``properties.networkProfile``: evidence only (AKS manages the CNI version)."""
    if not isinstance(network_profile, Mapping):
        return ControlFacts(
            "4.4.1", Finding.NOT_READ, error="networkProfile is absent from the cluster object"
        )
    shown = [
        f"{key}: {network_profile.get(key) if network_profile.get(key) is not None else '(absent)'}"
        for key in ("networkPlugin", "networkPluginMode", "networkDataplane", "networkPolicy")
    ]
    return ControlFacts(
        "4.4.1",
        Finding.NEEDS_JUDGEMENT,
        evidence=tuple(shown),
        notes=("the CNI version is managed by AKS and not visible through ARM",),
    )


def external_secrets_facts(addon_profiles: Mapping[str, Any] | None) -> ControlFacts:
    """4.5.2 from ARM ``properties.addonProfiles``: is the Key Vault secrets provider on?"""
    profiles = addon_profiles if isinstance(addon_profiles, Mapping) else {}
    provider = profiles.get("azureKeyvaultSecretsProvider")
    enabled = isinstance(provider, Mapping) and provider.get("enabled") is True
    return ControlFacts(
        "4.5.2",
        Finding.NEEDS_JUDGEMENT,
        evidence=(
            "azureKeyvaultSecretsProvider: "
            + ("enabled" if enabled else "not enabled (absent means off)"),
        ),
    )
