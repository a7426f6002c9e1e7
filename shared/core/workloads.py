"""Pods and workload controllers, walked once for every pod-based control of section 4.

One ``PodsPass`` consumes the pods list page by page and keeps bounded state only (counts, the
first names per finding, per-service-account groups, per-registry counts): 4.1.5, 4.1.6,
4.2.1-4.2.5, 4.5.1, 4.6.2, 4.6.3 (pods in ``default``) and 5.1.4 all come from that one pass.
``ControllersPass`` reads the pod templates of Deployments, DaemonSets, StatefulSets,
ReplicaSets, Jobs and CronJobs (4.5.1 for workloads with no running pod, 4.6.3) and keeps the
ReplicaSet -> Deployment and Job -> CronJob owner names used to attribute a pod.

What each field's absence means (Kubernetes API reference, ``core/v1`` PodSpec, Container and
SecurityContext):

* containers: ``containers``, ``initContainers`` **and** ``ephemeralContainers`` all count
  (ephemeral containers exist on pods only, never in a template).
* ``automountServiceAccountToken``: the pod's value wins; absent on the pod, the service
  account's value applies; absent on both, the token **is** mounted (4.1.5, 4.1.6).
* ``securityContext.privileged``: absent means false (4.2.1).
* ``hostPID`` / ``hostIPC`` / ``hostNetwork``: absent means false (4.2.2-4.2.4).
* ``securityContext.allowPrivilegeEscalation``: the CIS audit selects containers where it
  ``== true``, and so does 4.2.5 here. Absent, Kubernetes does not set ``no_new_privs``, so the
  process *may* escalate: such containers are counted in a note (``escalation_unset``), and a
  policy may count them (``PodRules.unset_escalation_counts``). A privileged container always may
  escalate (the API rejects ``privileged: true`` with ``allowPrivilegeEscalation: false``); it is
  4.2.1's finding.
* ``env[].valueFrom.secretKeyRef`` **and** ``envFrom[].secretRef`` both expose a Secret as
  environment variables (4.5.1); only the Secret's and the variable's *names* are reported.
* pod ``securityContext`` absent or ``{}``: 4.6.2's CIS audit lists such pods.
* ``serviceAccountName`` absent means ``default`` (the deprecated ``serviceAccount`` is read
  when ``serviceAccountName`` is absent).

Attribution: a pod is named with its controller from ``ownerReferences`` (the entry with
``controller: true``). A ReplicaSet's Deployment is taken from the ReplicaSets list when it was
read, else from the name (a Deployment's ReplicaSet is ``<deployment>-<pod-template-hash>``, the
pod's ``pod-template-hash`` label); a Job's CronJob from the Jobs list.

Images: the registry is the first path component when it contains ``.`` or ``:`` or is
``localhost`` (and is not upper-case), else ``docker.io``; ``index.docker.io`` is ``docker.io``
(distribution/reference ``normalize.go`` ``splitDockerDomain``, commit aeed5e66379b).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.core.k8s_facts import BoundedNames
from shared.core.k8s_lists import Item

CONTAINER_FIELDS = ("containers", "initContainers", "ephemeralContainers")
DEFAULT_SYSTEM_NAMESPACES = frozenset(
    {"kube-system", "gatekeeper-system", "azure-arc", "azure-extensions-usage-system"}
)
"""Excluded by default: the CIS AKS 1.8 4.2.x audit text's exclusions (kube-bench
``cfg/aks-1.8/policies.yaml`` 4.2.1 remediation, commit 0bc354a1cffd). The policy file sets them."""


@dataclass(frozen=True, slots=True)
class PodRules:
    """The parameters of the pod pass."""

    system_namespaces: frozenset[str] = DEFAULT_SYSTEM_NAMESPACES
    unset_escalation_counts: bool = (
        False  # 4.2.5: count containers without allowPrivilegeEscalation
    )
    token_mount_allowed: tuple[str, ...] | None = (
        None  # 4.1.6 allow-list (globs); None: not supplied
    )
    limit: int = 20


class PodShapeError(ValueError):
    """A pod or template whose fields have the wrong JSON types."""


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise PodShapeError(f"{where} is not an object")
    return value


def containers(spec: Mapping[str, Any], where: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(field, container) for every container of a PodSpec: containers, init, ephemeral."""
    for kind in CONTAINER_FIELDS:
        listed = spec.get(kind)
        if listed is None:
            continue
        if not isinstance(listed, list):
            raise PodShapeError(f"{where}.{kind} is not a list")
        for index, container in enumerate(listed):
            if not isinstance(container, Mapping):
                raise PodShapeError(f"{where}.{kind}[{index}] is not an object")
            yield kind, container


def container_label(kind: str, container: Mapping[str, Any]) -> str:
    """``container app`` / ``initContainer init`` / ``ephemeralContainer debugger``."""
    return f"{kind[:-1]} {container.get('name', '?')}"


def secret_env_refs(container: Mapping[str, Any]) -> list[str]:
    """How a container takes Secrets as environment variables, as names only."""
    found = []
    for entry in container.get("env") or []:
        if isinstance(entry, Mapping):
            source = entry.get("valueFrom")
            ref = source.get("secretKeyRef") if isinstance(source, Mapping) else None
            if isinstance(ref, Mapping):
                found.append(f"env {entry.get('name', '?')} from secret {ref.get('name', '?')}")
    for entry in container.get("envFrom") or []:
        ref = entry.get("secretRef") if isinstance(entry, Mapping) else None
        if isinstance(ref, Mapping):
            found.append(f"envFrom secret {ref.get('name', '?')}")
    return found


def image_registry(image: str) -> str:
    """The registry host of an image reference (``splitDockerDomain``)."""
    slash = image.find("/")
    first = image[:slash] if slash >= 0 else ""
    if slash < 0 or (
        not any(c in first for c in ".:") and first != "localhost" and first.lower() == first
    ):
        return "docker.io"
    return "docker.io" if first == "index.docker.io" else first


def effective_automount(pod_value: Any, account_value: Any) -> bool:
    """The token is mounted unless the pod, or (when the pod says nothing) its account, says false."""
    if isinstance(pod_value, bool):
        return pod_value
    if isinstance(account_value, bool):
        return account_value
    return True


def controller_of(metadata: Mapping[str, Any]) -> tuple[str, str] | None:
    """(kind, name) of the managing controller from ownerReferences, if any."""
    refs = metadata.get("ownerReferences") or []
    if not isinstance(refs, list):
        return None
    for ref in refs:
        if isinstance(ref, Mapping) and ref.get("controller") is True:
            return str(ref.get("kind", "")), str(ref.get("name", ""))
    return None


@dataclass(frozen=True, slots=True)
class Owner:
    """What a pod is attributed to: its controller as read, and the name to show."""

    kind: str
    namespace: str
    name: str
    template_hash: str = ""

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"


def pod_owner(namespace: str, metadata: Mapping[str, Any]) -> Owner | None:
    """The pod's controller (None for a bare pod)."""
    controller = controller_of(metadata)
    if controller is None:
        return None
    labels = metadata.get("labels") or {}
    template_hash = labels.get("pod-template-hash", "") if isinstance(labels, Mapping) else ""
    return Owner(controller[0], namespace, controller[1], str(template_hash))


@dataclass
class OwnerIndex:
    """ReplicaSet -> Deployment and Job -> CronJob, from the controllers' own ownerReferences."""

    parents: dict[tuple[str, str, str], tuple[str, str]] = field(default_factory=dict)

    def resolve(self, owner: Owner) -> Owner:
        """The top controller: a ReplicaSet's Deployment, a Job's CronJob, else ``owner``."""
        parent = self.parents.get((owner.kind, owner.namespace, owner.name))
        if parent is not None:
            return Owner(parent[0], owner.namespace, parent[1])
        if owner.kind == "ReplicaSet" and owner.template_hash:
            suffix = "-" + owner.template_hash
            if owner.name.endswith(suffix):  # the name a Deployment gives its ReplicaSet
                return Owner("Deployment", owner.namespace, owner.name[: -len(suffix)])
        return owner


def render_pod(index: OwnerIndex) -> Any:
    """A ``BoundedNames.freeze`` renderer: ``ns/pod (Deployment ns/app)``, plus any detail."""

    def render(name: str, detail: object) -> str:
        owner, extra = detail if isinstance(detail, tuple) else (None, "")
        text = name
        if isinstance(owner, Owner):
            text += f" ({index.resolve(owner)})"
        return f"{text}: {extra}" if extra else text

    return render


@dataclass
class PodsPass:
    """The one pass over the pods list."""

    rules: PodRules = PodRules()
    pods: int = 0
    excluded_pods: int = 0
    malformed: list[str] = field(default_factory=list)
    privileged: BoundedNames = field(init=False)
    host_pid: BoundedNames = field(init=False)
    host_ipc: BoundedNames = field(init=False)
    host_network: BoundedNames = field(init=False)
    escalation: BoundedNames = field(init=False)
    escalation_unset: int = 0
    secret_env: dict[Owner | str, str] = field(
        default_factory=dict
    )  # owner or bare pod -> first ref
    secret_env_pods: int = 0
    default_sa_pods: BoundedNames = field(init=False)
    token_direct: BoundedNames = field(init=False)  # pods with automountServiceAccountToken: true
    token_by_account: dict[tuple[str, str], BoundedNames] = field(default_factory=dict)
    token_allowed: BoundedNames = field(init=False)
    no_security_context: BoundedNames = field(init=False)
    containers_without_context: int = 0
    default_namespace: BoundedNames = field(init=False)
    registries: dict[str, BoundedNames] = field(default_factory=dict)

    def __post_init__(self) -> None:
        limit = self.rules.limit
        for name in (
            "privileged",
            "host_pid",
            "host_ipc",
            "host_network",
            "escalation",
            "default_sa_pods",
            "token_direct",
            "token_allowed",
            "no_security_context",
            "default_namespace",
        ):
            setattr(self, name, BoundedNames(limit))

    def reset(self) -> None:
        """Forget every page (the list restarted after a 410)."""
        fresh = PodsPass(self.rules)
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(fresh, name))

    def feed(self, items: Sequence[Item]) -> None:
        """Take one page of pods."""
        for item in items:
            try:
                self._pod(item)
            except PodShapeError as exc:
                self.malformed.append(str(exc))

    def _pod(self, item: Item) -> None:
        metadata = _mapping(item.get("metadata"), "pod.metadata")
        namespace = str(metadata.get("namespace", ""))
        key = f"{namespace}/{metadata.get('name', '?')}"
        where = f"pod {key} spec"
        spec = _mapping(item.get("spec"), where)
        self.pods += 1
        owner = pod_owner(namespace, metadata)
        if namespace == "default":
            self.default_namespace.add(key, (owner, ""))
        if namespace in self.rules.system_namespaces:
            self.excluded_pods += 1
            list(containers(spec, where))  # shape check only
            return
        listed = list(containers(spec, where))
        for flag, target in (
            ("hostPID", self.host_pid),
            ("hostIPC", self.host_ipc),
            ("hostNetwork", self.host_network),
        ):
            if spec.get(flag) is True:
                target.add(key, (owner, f"{flag}: true"))
        privileged, escalating, env_refs = self._containers(key, owner, listed, where)
        if privileged:
            self.privileged.add(key, (owner, ", ".join(privileged)))
        if escalating:
            self.escalation.add(key, (owner, ", ".join(escalating)))
        if env_refs:
            self.secret_env_pods += 1
            self.secret_env.setdefault(key if owner is None else owner, env_refs[0])
        if not _mapping(spec.get("securityContext"), f"{where}.securityContext"):
            self.no_security_context.add(key, (owner, ""))
        account = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
        if account == "default":
            self.default_sa_pods.add(key, (owner, ""))
        self._token(key, namespace, str(account), spec.get("automountServiceAccountToken"), owner)

    def _containers(
        self,
        key: str,
        owner: Owner | None,
        listed: Sequence[tuple[str, Mapping[str, Any]]],
        where: str,
    ) -> tuple[list[str], list[str], list[str]]:
        """Per-container findings of one pod: privileged, escalating, Secret env references."""
        privileged: list[str] = []
        escalating: list[str] = []
        env_refs: list[str] = []
        registries: set[str] = set()
        for kind, container in listed:
            label = container_label(kind, container)
            context = _mapping(container.get("securityContext"), f"{where} {label} securityContext")
            if not context:
                self.containers_without_context += 1
            if context.get("privileged") is True:
                privileged.append(label)
            escalation = context.get("allowPrivilegeEscalation")
            if escalation is True:
                escalating.append(label)
            elif escalation is None:
                self.escalation_unset += 1
                if self.rules.unset_escalation_counts:
                    escalating.append(f"{label} (unset)")
            env_refs.extend(f"{label}: {ref}" for ref in secret_env_refs(container))
            image = container.get("image")
            if isinstance(image, str) and image:
                registries.add(image_registry(image))
        for registry in sorted(registries):
            self.registries.setdefault(registry, BoundedNames(self.rules.limit)).add(
                key, (owner, "")
            )
        return privileged, escalating, env_refs

    def _token(
        self, key: str, namespace: str, account: str, pod_value: Any, owner: Owner | None
    ) -> None:
        if pod_value is False:
            return
        allowed = self.rules.token_mount_allowed
        if allowed is not None and _pod_allowed(key, owner, allowed):
            self.token_allowed.add(key, (owner, ""))
            return
        if pod_value is True:
            self.token_direct.add(key, (owner, "automountServiceAccountToken: true"))
            return
        group = self.token_by_account.get((namespace, account))
        if group is None:
            group = self.token_by_account[(namespace, account)] = BoundedNames(self.rules.limit)
        group.add(key, (owner, f"service account {account}"))

    def mounted(self, accounts: Mapping[tuple[str, str], Any]) -> BoundedNames:
        """4.1.6's pods with a mounted token, joined with the service accounts' own values."""
        result = BoundedNames(self.rules.limit)
        result.merge(self.token_direct)
        for (namespace, account), group in self.token_by_account.items():
            if effective_automount(None, accounts.get((namespace, account))):
                result.merge(group)
        return result


def _pod_allowed(key: str, owner: Owner | None, patterns: Sequence[str]) -> bool:
    targets = [key]
    if owner is not None:
        targets.append(str(owner))
        resolved = OwnerIndex().resolve(owner)
        targets.append(str(resolved))
    return any(fnmatch.fnmatchcase(t, p) for t in targets for p in patterns)


TEMPLATE_KINDS = {
    "deployments": "Deployment",
    "daemonsets": "DaemonSet",
    "statefulsets": "StatefulSet",
    "replicasets": "ReplicaSet",
    "jobs": "Job",
    "cronjobs": "CronJob",
}


def template_spec(kind: str, item: Item, where: str) -> Mapping[str, Any]:
    """The PodSpec of a controller's template (a CronJob's is one level deeper)."""
    spec = _mapping(item.get("spec"), f"{where}.spec")
    if kind == "CronJob":
        spec = _mapping(
            _mapping(spec.get("jobTemplate"), f"{where}.spec.jobTemplate").get("spec"), where
        )
    template = _mapping(spec.get("template"), f"{where} template")
    return _mapping(template.get("spec"), f"{where} template.spec")


@dataclass
class ControllersPass:
    """Pod templates of the workload controllers, and their owner links."""

    system_namespaces: frozenset[str] = DEFAULT_SYSTEM_NAMESPACES
    owners: OwnerIndex = field(default_factory=OwnerIndex)
    secret_env: dict[str, str] = field(default_factory=dict)  # "Kind ns/name" -> first reference
    default_namespace: dict[str, set[str]] = field(default_factory=dict)  # kind -> names
    malformed: list[str] = field(default_factory=list)
    read: set[str] = field(default_factory=set)

    def consumer(self, resource: str) -> _ControllerConsumer:
        """The ListConsumer of one controller list (``deployments`` ...)."""
        return _ControllerConsumer(self, resource)


@dataclass
class _ControllerConsumer:
    state: ControllersPass
    resource: str

    def feed(self, items: Sequence[Item]) -> None:
        state = self.state
        kind = TEMPLATE_KINDS[self.resource]
        state.read.add(self.resource)
        for item in items:
            try:
                metadata = _mapping(item.get("metadata"), f"{kind}.metadata")
                namespace = str(metadata.get("namespace", ""))
                name = str(metadata.get("name", "?"))
                controller = controller_of(metadata)
                if controller is not None:
                    state.owners.parents[(kind, namespace, name)] = controller
                if namespace == "default":
                    state.default_namespace.setdefault(kind, set()).add(name)
                if namespace in state.system_namespaces:
                    continue
                where = f"{kind} {namespace}/{name}"
                spec = template_spec(kind, item, where)
                if controller is not None and kind in ("ReplicaSet", "Job"):
                    continue  # its owner's template is read (or the pods name it)
                refs = [
                    f"{container_label(k, c)}: {ref}"
                    for k, c in containers(spec, where)
                    for ref in secret_env_refs(c)
                ]
                if refs:
                    state.secret_env.setdefault(f"{kind} {namespace}/{name}", refs[0])
            except PodShapeError as exc:
                state.malformed.append(str(exc))

    def reset(self) -> None:
        state = self.state
        kind = TEMPLATE_KINDS[self.resource]
        state.owners.parents = {k: v for k, v in state.owners.parents.items() if k[0] != kind}
        state.secret_env = {
            k: v for k, v in state.secret_env.items() if not k.startswith(kind + " ")
        }
        state.default_namespace.pop(kind, None)
