"""The paged list reader contract between the Kubernetes edge and the section 4 evaluators.

An adapter (the lean async client, or anything else) implements ``ListReader`` or
``AsyncListReader``; the evaluators in ``shared.core.section4`` only ever see ``Page`` values of
plain dicts. The contract, which every implementation keeps:

* **Paging.** ``pages(ref)`` issues ``GET <ref.path>?limit=N`` and follows ``metadata.continue``
  until it is empty, yielding one ``Page`` per answer, in order, as each arrives. Nothing is kept
  after a page is yielded: memory follows the page size, not the list.
* **410 Gone, once.** When a continue token has expired (``410``, reason ``Expired``), the reader
  starts the list again from the beginning without a token, **once**, and marks the first page
  of the new pass ``restarted=True``: a consumer drops what it took from that list before (see
  ``ListConsumer.reset``) and the run says so. A second 410 in the same list raises
  ``ListExpiredError``. The expired answer's own ``metadata.continue`` (the apiserver offers an
  "inconsistent" continuation) is never followed: a consistent list is worth one more pass.
* **403** raises ``ListDeniedError`` whose ``permission`` is ``ref.permission`` (``list pods in
  API group ""``): the controls that needed that list become ERROR naming it, the others stand.
* **404** for a group/version the server does not serve raises ``ListNotServedError`` (a CRD
  that is not installed: Calico and Cilium kinds are optional reads).
* **429/5xx** are retried with ``Retry-After`` honoured, as the node list is today; what still
  fails is ``ListFetchError``.
* Items are passed on as decoded; a reader may drop ``metadata.managedFields`` (the evaluators
  never read it), and must not add or rename anything.

``ListRef`` values for every read of section 4 are in ``READS``; ``ListRef.path`` is the URL path.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

Item = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ListRef:
    """One list call: API group (``""`` for core), version, resource (plural), optional namespace.

    ``metadata_only``: ask for ``PartialObjectMetadataList`` (``Accept: application/json;
    as=PartialObjectMetadataList;g=meta.k8s.io;v=v1``), so object bodies (a ConfigMap's data)
    never reach the scanner; each item then has only ``metadata``.
    """

    group: str
    version: str
    resource: str
    namespace: str = ""
    metadata_only: bool = False

    @property
    def path(self) -> str:
        """The URL path of the list (``/api/v1/pods``, ``/apis/apps/v1/namespaces/default/deployments``)."""
        root = "/api/v1" if self.group == "" else f"/apis/{self.group}/{self.version}"
        scope = f"/namespaces/{self.namespace}" if self.namespace else ""
        return f"{root}{scope}/{self.resource}"

    @property
    def qualified(self) -> str:
        """The resource as the apiserver names it in messages: ``pods``, ``deployments.apps``."""
        return self.resource if self.group == "" else f"{self.resource}.{self.group}"

    @property
    def permission(self) -> str:
        """The RBAC grant this list needs, worded as the apiserver's denial words it."""
        where = f' in namespace "{self.namespace}"' if self.namespace else ""
        return f'list {self.resource} in API group "{self.group}"{where}'

    def __str__(self) -> str:
        return self.path


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a list: its items (plain dicts) and whether it starts a restarted pass."""

    ref: ListRef
    items: Sequence[Item]
    restarted: bool = False


class ListReader(Protocol):
    """Synchronous paged reads (see the module docstring for the contract)."""

    def pages(self, ref: ListRef) -> Iterator[Page]:
        """The pages of ``ref`` in order; raises a ``ListError`` subclass on failure."""
        ...


class AsyncListReader(Protocol):
    """The same contract for an asyncio client."""

    def pages(self, ref: ListRef) -> AsyncIterator[Page]:
        """The pages of ``ref`` in order; raises a ``ListError`` subclass on failure."""
        ...


class ListConsumer(Protocol):
    """What the evaluators expose per list: take a page, or drop everything taken so far."""

    def feed(self, items: Sequence[Item]) -> None:
        """Take one page's items."""
        ...

    def reset(self) -> None:
        """Forget what was taken from this list (its continue token expired; it starts again)."""
        ...


RBAC = "rbac.authorization.k8s.io"
NETWORKING = "networking.k8s.io"
ADMISSION = "admissionregistration.k8s.io"
CALICO = "crd.projectcalico.org"
CILIUM = "cilium.io"

CLUSTER_ROLES = ListRef(RBAC, "v1", "clusterroles")
CLUSTER_ROLE_BINDINGS = ListRef(RBAC, "v1", "clusterrolebindings")
ROLES = ListRef(RBAC, "v1", "roles")
ROLE_BINDINGS = ListRef(RBAC, "v1", "rolebindings")
SERVICE_ACCOUNTS = ListRef("", "v1", "serviceaccounts")
PODS = ListRef("", "v1", "pods")
NAMESPACES = ListRef("", "v1", "namespaces")
SERVICES = ListRef("", "v1", "services")
DEFAULT_CONFIGMAPS = ListRef("", "v1", "configmaps", namespace="default", metadata_only=True)
NETWORK_POLICIES = ListRef(NETWORKING, "v1", "networkpolicies")
INGRESSES = ListRef(NETWORKING, "v1", "ingresses")
DEPLOYMENTS = ListRef("apps", "v1", "deployments")
DAEMON_SETS = ListRef("apps", "v1", "daemonsets")
STATEFUL_SETS = ListRef("apps", "v1", "statefulsets")
REPLICA_SETS = ListRef("apps", "v1", "replicasets")
JOBS = ListRef("batch", "v1", "jobs")
CRON_JOBS = ListRef("batch", "v1", "cronjobs")
VALIDATING_WEBHOOKS = ListRef(ADMISSION, "v1", "validatingwebhookconfigurations")
MUTATING_WEBHOOKS = ListRef(ADMISSION, "v1", "mutatingwebhookconfigurations")
CALICO_NETWORK_POLICIES = ListRef(CALICO, "v1", "networkpolicies")
CILIUM_NETWORK_POLICIES = ListRef(CILIUM, "v2", "ciliumnetworkpolicies")
CILIUM_CLUSTERWIDE_POLICIES = ListRef(CILIUM, "v2", "ciliumclusterwidenetworkpolicies")

#: Every read section 4 makes, in the order the sync driver reads them (RBAC and service
#: accounts before pods is not required: every consumer joins at the end).
READS: tuple[ListRef, ...] = (
    CLUSTER_ROLES,
    CLUSTER_ROLE_BINDINGS,
    ROLES,
    ROLE_BINDINGS,
    SERVICE_ACCOUNTS,
    NAMESPACES,
    NETWORK_POLICIES,
    CALICO_NETWORK_POLICIES,
    CILIUM_NETWORK_POLICIES,
    CILIUM_CLUSTERWIDE_POLICIES,
    SERVICES,
    INGRESSES,
    DEFAULT_CONFIGMAPS,
    VALIDATING_WEBHOOKS,
    MUTATING_WEBHOOKS,
    DEPLOYMENTS,
    DAEMON_SETS,
    STATEFUL_SETS,
    REPLICA_SETS,
    JOBS,
    CRON_JOBS,
    PODS,
)

#: Reads whose 404 means "not installed" rather than an error.
OPTIONAL_READS = frozenset(
    {CALICO_NETWORK_POLICIES, CILIUM_NETWORK_POLICIES, CILIUM_CLUSTERWIDE_POLICIES}
)
