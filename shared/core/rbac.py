"""Kubernetes RBAC, resolved per subject, for CIS AKS section 4.1 (and 5.2.1).

Matching follows the RBAC authorizer exactly (kubernetes/kubernetes
``pkg/apis/rbac/v1/evaluation_helpers.go``, commit 03bf11a309fd1369f5c2dc7f3b31d63a97a14d66, and
``RuleAllows`` in ``pkg/registry/rbac/validation``), with every condition on the **same** rule:

* ``VerbMatches``: a rule verb equals the verb, or is ``*``.
* ``APIGroupMatches``: a rule group equals the group (``""`` is core), or is ``*``.
* ``ResourceMatches``: a rule resource is ``*`` (every resource and subresource), or equals the
  combined ``resource/subresource`` (``nodes/proxy``: plain ``nodes`` does *not* grant it), or is
  ``*/<subresource>`` for that subresource (``*/scale``).
* ``ResourceNameMatches``: an empty ``resourceNames`` matches every name; otherwise the request's
  name must be listed. A request without a name (``create``, ``deletecollection``) therefore
  never matches a rule with ``resourceNames`` (kubernetes/website
  ``content/en/docs/reference/access-authn-authz/rbac.md``, "Referring to resources": "You cannot
  restrict create or deletecollection requests by their resource name"); ``get``, ``list``,
  ``watch`` and the rest can be limited to the named objects, and a grant so limited is reported
  with its names.

Bindings: a ClusterRoleBinding grants its ClusterRole everywhere; a RoleBinding grants its Role,
or the ClusterRole it references, **only in its own namespace**. A binding whose role does not
exist grants nothing (the authorizer skips it) and is noted. Subjects are reported as written
(``User``, ``Group``, ``ServiceAccount namespace/name``); a Group such as
``system:authenticated`` is itself the finding.

Aggregated ClusterRoles (``aggregationRule``): the apiserver's aggregation controller fills in
``rules``; they are used as served, and each such role is named in a note, because what it grants
changes when a labelled ClusterRole is added.

Memory: every role is reduced, as its page arrives, to the matches the controls ask about
(``Access``); bindings are kept as names (kind, namespace, name, roleRef, subjects). The join
happens at the end, so pages may arrive in any order.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.core.k8s_lists import Item
from shared.core.rbac_defaults import DEFAULT_EXCLUSIONS, ExclusionList, ManagedObject

ALL = "*"
#: Requests that carry no object name, so a rule with resourceNames never allows them.
NAMELESS_VERBS = frozenset({"create", "deletecollection"})


class RbacShapeError(ValueError):
    """An RBAC object whose fields have the wrong JSON types; it cannot be evaluated."""


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RbacShapeError(f"{where} is not a list of strings")
    return tuple(value)


@dataclass(frozen=True, slots=True)
class Rule:
    """One PolicyRule as served."""

    verbs: tuple[str, ...] = ()
    api_groups: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    resource_names: tuple[str, ...] = ()
    non_resource_urls: tuple[str, ...] = ()

    @classmethod
    def parse(cls, data: Any, where: str) -> Rule:
        """A Rule from its JSON; RbacShapeError naming ``where`` when a field has the wrong type."""
        if not isinstance(data, Mapping):
            raise RbacShapeError(f"{where} is not an object")
        return cls(
            verbs=_strings(data.get("verbs"), f"{where}.verbs"),
            api_groups=_strings(data.get("apiGroups"), f"{where}.apiGroups"),
            resources=_strings(data.get("resources"), f"{where}.resources"),
            resource_names=_strings(data.get("resourceNames"), f"{where}.resourceNames"),
            non_resource_urls=_strings(data.get("nonResourceURLs"), f"{where}.nonResourceURLs"),
        )

    def verb_matches(self, verb: str) -> bool:
        """VerbMatches."""
        return any(v in (ALL, verb) for v in self.verbs)

    def api_group_matches(self, group: str) -> bool:
        """APIGroupMatches."""
        return any(g in (ALL, group) for g in self.api_groups)

    def resource_matches(self, combined: str) -> bool:
        """ResourceMatches for ``resource`` or ``resource/subresource``."""
        subresource = combined.split("/", 1)[1] if "/" in combined else ""
        for resource in self.resources:
            if resource in (ALL, combined):
                return True
            if (
                subresource
                and len(resource) == len(subresource) + 2
                and resource.startswith("*/")
                and resource.endswith(subresource)
            ):
                return True
        return False

    def resource_name_matches(self, name: str) -> bool:
        """ResourceNameMatches (``name`` empty: a request that names no object)."""
        return not self.resource_names or name in self.resource_names

    def allows(self, verb: str, group: str, resource: str, name: str = "") -> bool:
        """RuleAllows for a resource request."""
        return (
            self.verb_matches(verb)
            and self.api_group_matches(group)
            and self.resource_matches(resource)
            and self.resource_name_matches(name)
        )

    def reach(self, verb: str, group: str, resource: str) -> tuple[str, ...] | None:
        """Which objects of ``group``/``resource`` this rule opens to ``verb``: None for none,
        ``()`` for every object, else only the named ones."""
        if not (
            self.verb_matches(verb)
            and self.api_group_matches(group)
            and self.resource_matches(resource)
        ):
            return None
        if not self.resource_names:
            return ()
        if verb in NAMELESS_VERBS:
            return None
        return self.resource_names

    def wildcards(self) -> tuple[str, ...]:
        """The fields of this rule that hold a ``*`` (verbs, apiGroups, resources), e.g.
        ``resources */scale``; CIS 4.1.3 reviews them."""
        found: list[str] = []
        for label, values in (
            ("verbs", self.verbs),
            ("apiGroups", self.api_groups),
            ("resources", self.resources),
        ):
            starred = [v for v in values if ALL in v]
            if starred:
                found.append(f"{label} {','.join(starred)}")
        return tuple(found)

    def summary(self) -> str:
        """``verbs=get,list apiGroups="" resources=secrets resourceNames=a``: names only."""
        parts = [f"verbs={','.join(self.verbs)}"]
        if self.api_groups:
            parts.append("apiGroups=" + ",".join(g or '""' for g in self.api_groups))
        if self.resources:
            parts.append(f"resources={','.join(self.resources)}")
        if self.resource_names:
            parts.append(f"resourceNames={','.join(self.resource_names)}")
        if self.non_resource_urls:
            parts.append(f"nonResourceURLs={','.join(self.non_resource_urls)}")
        return " ".join(parts)


@dataclass(frozen=True, slots=True)
class Subject:
    """A binding subject as written: kind ``User``, ``Group`` or ``ServiceAccount``."""

    kind: str
    name: str
    namespace: str = ""

    def __str__(self) -> str:
        if self.kind == "ServiceAccount":
            return f"ServiceAccount {self.namespace}/{self.name}"
        return f"{self.kind} {self.name}"

    def matches(self, patterns: Iterable[str]) -> bool:
        """True when ``str(self)`` matches one of ``patterns`` (globs: ``Group system:*``,
        ``ServiceAccount kube-system/*``)."""
        text = str(self)
        return any(fnmatch.fnmatchcase(text, p) for p in patterns)


@dataclass(frozen=True, slots=True)
class Access:
    """A question the controls ask: may a subject do any of ``verbs`` on any of ``resources``
    (``resource`` or ``resource/subresource``) in API ``group``?"""

    key: str
    verbs: tuple[str, ...]
    group: str
    resources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RoleMatch:
    """What one role grants for one Access: the verbs and resources reached, by which rules."""

    verbs: tuple[str, ...]
    resources: tuple[str, ...]
    names: tuple[str, ...]  # empty: every object; else only these
    rules: tuple[str, ...]  # rule summaries

    def describe(self) -> str:
        """``get,list secrets (only names: a, b) [rule verbs=... ]``."""
        names = f" (only names: {', '.join(self.names)})" if self.names else ""
        return f"{','.join(self.verbs)} {','.join(self.resources)}{names} [rule {'; '.join(self.rules)}]"


def match_rules(rules: Sequence[Rule], access: Access) -> RoleMatch | None:
    """What ``rules`` (one role) grant for ``access``, or None when nothing."""
    verbs: list[str] = []
    resources: list[str] = []
    names: set[str] = set()
    unrestricted = False
    summaries: list[str] = []
    for rule in rules:
        hit = False
        for verb in access.verbs:
            for resource in access.resources:
                reach = rule.reach(verb, access.group, resource)
                if reach is None:
                    continue
                hit = True
                if verb not in verbs:
                    verbs.append(verb)
                if resource not in resources:
                    resources.append(resource)
                if reach:
                    names.update(reach)
                else:
                    unrestricted = True
        if hit:
            summaries.append(rule.summary())
    if not summaries:
        return None
    return RoleMatch(
        tuple(verbs),
        tuple(resources),
        () if unrestricted else tuple(sorted(names)),
        tuple(summaries),
    )


@dataclass(frozen=True, slots=True)
class RoleFacts:
    """A Role or ClusterRole reduced to what the controls ask."""

    kind: str
    namespace: str
    name: str
    managed: ManagedObject | None
    aggregated: bool
    matches: Mapping[str, RoleMatch]  # Access.key -> match
    wildcards: tuple[str, ...]  # rule summaries with a "*" (4.1.3)

    def __str__(self) -> str:
        return (
            f"{self.kind} {self.namespace}/{self.name}"
            if self.namespace
            else f"{self.kind} {self.name}"
        )


@dataclass(frozen=True, slots=True)
class BindingFacts:
    """A RoleBinding or ClusterRoleBinding as names."""

    kind: str
    namespace: str
    name: str
    role_kind: str
    role_name: str
    subjects: tuple[Subject, ...]
    managed: ManagedObject | None

    def __str__(self) -> str:
        return (
            f"{self.kind} {self.namespace}/{self.name}"
            if self.namespace
            else f"{self.kind} {self.name}"
        )

    @property
    def scope(self) -> str:
        """Where the binding grants: cluster-wide, or its namespace."""
        return (
            "cluster-wide"
            if self.kind == "ClusterRoleBinding"
            else f"in namespace {self.namespace}"
        )


@dataclass(frozen=True, slots=True)
class Grant:
    """One subject reaching one Access through one binding."""

    subject: Subject
    binding: BindingFacts
    role: RoleFacts
    match: RoleMatch

    def describe(self) -> str:
        """``ServiceAccount a/b via RoleBinding a/x -> ClusterRole edit: get secrets (in namespace a)``."""
        return f"{self.subject} via {self.binding} -> {self.role}: {self.match.describe()} ({self.binding.scope})"


def _meta(item: Item, where: str) -> tuple[str, str, Mapping[str, str]]:
    metadata = item.get("metadata")
    if not isinstance(metadata, Mapping) or not isinstance(metadata.get("name"), str):
        raise RbacShapeError(f"{where}: metadata.name is missing")
    namespace = metadata.get("namespace") or ""
    labels = metadata.get("labels") or {}
    if not isinstance(namespace, str) or not isinstance(labels, Mapping):
        raise RbacShapeError(f"{where}: metadata.namespace or metadata.labels has the wrong type")
    return namespace, metadata["name"], labels


def parse_role(
    kind: str, item: Item, accesses: Sequence[Access], exclusions: ExclusionList
) -> RoleFacts:
    """A served Role or ClusterRole reduced to RoleFacts; RbacShapeError when malformed."""
    namespace, name, labels = _meta(item, kind.lower())
    where = f"{kind} {namespace + '/' if namespace else ''}{name}"
    raw_rules = item.get("rules")
    if raw_rules is not None and not isinstance(raw_rules, list):
        raise RbacShapeError(f"{where}: rules is not a list")
    rules = [Rule.parse(r, f"{where} rules[{i}]") for i, r in enumerate(raw_rules or [])]
    matches = {a.key: m for a in accesses if (m := match_rules(rules, a)) is not None}
    wildcards = tuple(
        f"{', '.join(r.wildcards())} [rule {r.summary()}]" for r in rules if r.wildcards()
    )
    return RoleFacts(
        kind=kind,
        namespace=namespace,
        name=name,
        managed=exclusions.managed(kind, namespace, name, labels),
        aggregated=isinstance(item.get("aggregationRule"), Mapping),
        matches=matches,
        wildcards=wildcards,
    )


def parse_binding(kind: str, item: Item, exclusions: ExclusionList) -> BindingFacts:
    """A served RoleBinding or ClusterRoleBinding as names; RbacShapeError when malformed."""
    namespace, name, labels = _meta(item, kind.lower())
    where = f"{kind} {namespace + '/' if namespace else ''}{name}"
    ref = item.get("roleRef")
    if not isinstance(ref, Mapping) or not isinstance(ref.get("name"), str):
        raise RbacShapeError(f"{where}: roleRef is missing or has no name")
    role_kind = ref.get("kind")
    if role_kind not in ("ClusterRole", "Role"):
        raise RbacShapeError(f"{where}: roleRef.kind is {role_kind!r}, not ClusterRole or Role")
    raw_subjects = item.get("subjects") or []
    if not isinstance(raw_subjects, list):
        raise RbacShapeError(f"{where}: subjects is not a list")
    subjects = []
    for index, raw in enumerate(raw_subjects):
        if (
            not isinstance(raw, Mapping)
            or not isinstance(raw.get("kind"), str)
            or not isinstance(raw.get("name"), str)
        ):
            raise RbacShapeError(f"{where}: subjects[{index}] has no kind or name")
        sub_namespace = raw.get("namespace") or ""
        if raw["kind"] == "ServiceAccount" and not sub_namespace:
            sub_namespace = namespace  # a RoleBinding's ServiceAccount without namespace is its own
        subjects.append(Subject(raw["kind"], raw["name"], str(sub_namespace)))
    return BindingFacts(
        kind=kind,
        namespace=namespace,
        name=name,
        role_kind=str(role_kind),
        role_name=ref["name"],
        subjects=tuple(subjects),
        managed=exclusions.managed(kind, namespace, name, labels),
    )


@dataclass
class RbacState:
    """The four RBAC lists, reduced as they arrive (see the module docstring)."""

    accesses: Sequence[Access]
    exclusions: ExclusionList = DEFAULT_EXCLUSIONS
    cluster_roles: dict[str, RoleFacts] = field(default_factory=dict)
    roles: dict[tuple[str, str], RoleFacts] = field(default_factory=dict)
    cluster_role_bindings: list[BindingFacts] = field(default_factory=list)
    role_bindings: list[BindingFacts] = field(default_factory=list)
    malformed: dict[str, list[str]] = field(default_factory=dict)  # list -> messages

    def consumer(self, kind: str) -> _RbacConsumer:
        """The ListConsumer of one list: ``ClusterRole``, ``Role``, ``ClusterRoleBinding`` or ``RoleBinding``."""
        return _RbacConsumer(self, kind)

    def role_of(self, binding: BindingFacts) -> RoleFacts | None:
        """The role a binding references, as the authorizer finds it."""
        if binding.role_kind == "ClusterRole":
            return self.cluster_roles.get(binding.role_name)
        if binding.kind == "ClusterRoleBinding":
            return None  # a ClusterRoleBinding cannot reference a Role
        return self.roles.get((binding.namespace, binding.role_name))

    def bindings(self) -> list[BindingFacts]:
        """Every binding, ClusterRoleBindings first, each list in served order."""
        return [*self.cluster_role_bindings, *self.role_bindings]

    def grants(self, key: str) -> list[Grant]:
        """Every (subject, binding) that reaches Access ``key``."""
        found: list[Grant] = []
        for binding in self.bindings():
            role = self.role_of(binding)
            if role is None:
                continue
            match = role.matches.get(key)
            if match is None:
                continue
            found.extend(Grant(subject, binding, role, match) for subject in binding.subjects)
        return found

    def dangling(self) -> list[str]:
        """Bindings whose role does not exist (they grant nothing)."""
        return [
            f"{b} references {b.role_kind} {b.role_name}, which does not exist"
            for b in self.bindings()
            if self.role_of(b) is None
        ]

    def aggregated(self) -> list[str]:
        """Aggregated ClusterRoles, by name."""
        return sorted(name for name, role in self.cluster_roles.items() if role.aggregated)


@dataclass
class _RbacConsumer:
    state: RbacState
    kind: str

    def feed(self, items: Sequence[Item]) -> None:
        state = self.state
        for item in items:
            try:
                if self.kind in ("ClusterRole", "Role"):
                    role = parse_role(self.kind, item, state.accesses, state.exclusions)
                    if self.kind == "ClusterRole":
                        state.cluster_roles[role.name] = role
                    else:
                        state.roles[(role.namespace, role.name)] = role
                else:
                    binding = parse_binding(self.kind, item, state.exclusions)
                    target = (
                        state.cluster_role_bindings
                        if self.kind == "ClusterRoleBinding"
                        else state.role_bindings
                    )
                    target.append(binding)
            except RbacShapeError as exc:
                state.malformed.setdefault(self.kind, []).append(str(exc))

    def reset(self) -> None:
        state = self.state
        if self.kind == "ClusterRole":
            state.cluster_roles.clear()
        elif self.kind == "Role":
            state.roles.clear()
        elif self.kind == "ClusterRoleBinding":
            state.cluster_role_bindings.clear()
        else:
            state.role_bindings.clear()
        state.malformed.pop(self.kind, None)
