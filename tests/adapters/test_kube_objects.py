"""Section 4's lists through the lean client, against the simulated kube-apiserver over real TLS.

``ObjectLists`` (the AsyncListReader over ``KubeClient.pages``) and ``SessionObjects`` (the
scanner's session fact reader) talk to ``sim.apiserver.ApiServer``, the handler every simulated
cluster runs, served on loopback HTTPS by the simulator's own HTTP server, in the test's event
loop. The server side is wrapped by ``Recorder``, which keeps every request as it arrived
(method, path and query, Accept) and how many list requests were in flight at once, so what the
scanner sends is observed on the wire. Faults are ``sim.faults`` rules, answered with the
apiserver's own Status bodies.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import pytest

from shared.adapters.kube_api import KubeSession
from shared.adapters.kube_objects import (
    LIST_CONCURRENCY,
    METADATA_ONLY,
    ObjectLists,
    SessionObjects,
    read_objects,
)
from shared.adapters.kube_policy import RequestPolicy
from shared.adapters.kubeconfig import KubeEndpoint
from shared.core import k8s_lists as lists
from shared.core.controls.kubernetes import K8S_OBJECTS, params_for
from shared.core.controls.registry import get_benchmark
from shared.core.evaluate import evaluate_cluster
from shared.core.facts import Facts
from shared.core.k8s_lists import ListRef, Page
from shared.core.model import Policy, Status, Verdict
from shared.core.section4 import NEEDS, Section4Results
from sim import AKS_SERVER_APP_ID, Action, Endpoint, Fault, FaultRegistry, Latency, default_estate
from sim.apiserver import ApiServer, ApiServerSpec, parse_list_path
from sim.http import HttpServer, Request, Response
from sim.identity import TokenAuthority
from sim.pki import ClusterPki, cluster_pki, server_context
from sim.stats import Counters

T = TypeVar("T")
ESTATE = default_estate()
AUTHORITY = TokenAuthority(ESTATE.tenant_id)
LEGACY, BATCH = "aks-legacy-eus", "aks-batch-neu"
BENCH = get_benchmark("cis-aks-1.8")
PODS_CONTROLS = {cid for cid, needs in NEEDS.items() if lists.PODS in needs}
READ_PATHS = {ref.path for ref in lists.READS}


@pytest.fixture(name="pki", scope="module")
def _pki() -> dict[str, ClusterPki]:
    return {name: cluster_pki(name) for name in (LEGACY, BATCH)}


@dataclass
class Seen:
    """One request as the server received it, and when it arrived and was answered."""

    method: str
    target: str
    accept: str
    status: int
    arrived: float
    answered: float

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.target).query)


@dataclass
class Recorder:
    """The apiserver's handler, with a record of every request and the peak of list requests in flight."""

    handler: Any
    seen: list[Seen] = field(default_factory=list)
    in_flight: int = 0
    peak: int = 0

    async def handle(self, request: Request) -> Response:
        loop = asyncio.get_running_loop()
        listing = parse_list_path(request.path) is not None
        arrived = loop.time()
        if listing:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        try:
            response: Response = await self.handler(request)
        finally:
            if listing:
                self.in_flight -= 1
        accept = request.headers.get("accept", "")
        self.seen.append(
            Seen(request.method, request.target, accept, response.status, arrived, loop.time())
        )
        return response

    def to(self, ref: ListRef) -> list[Seen]:
        return [s for s in self.seen if s.path == ref.path]


@dataclass
class Served:
    session: KubeSession
    recorder: Recorder
    faults: FaultRegistry


@contextlib.asynccontextmanager
async def apiserver(
    pki: dict[str, ClusterPki],
    name: str = LEGACY,
    *faults: Fault,
    page_size: int = 500,
    list_ms: float = 0.0,
    timeout: float = 10.0,
) -> AsyncIterator[Served]:
    """One demo cluster's API server on loopback HTTPS, and a session to it as the scanner."""
    cluster = ESTATE.cluster(name)
    subscription = ESTATE.subscription_of(name)
    spec = ApiServerSpec(
        cluster, subscription.id, ESTATE.identity, pki[name], Latency(list_ms=list_ms)
    )
    registry = FaultRegistry()
    for fault in faults:
        registry.add(fault)
    recorder = Recorder(ApiServer(spec, AUTHORITY, registry, Counters()).handle)
    server = HttpServer(
        f"apiserver/{name}",
        recorder.handle,
        ssl_context=server_context(pki[name].server, request_client_cert=True),
    )
    await server.start()
    token, _ = AUTHORITY.mint(ESTATE.identity, AKS_SERVER_APP_ID)
    policy = RequestPolicy(timeout=timeout, backoff=0.001, page_size=page_size)
    session = KubeSession.for_endpoint(
        KubeEndpoint(server.url, pki[name].server.ca_pem.decode()), policy, token
    )
    try:
        yield Served(session, recorder, registry)
    finally:
        await session.close()
        await server.stop()


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


def read(
    pki: dict[str, ClusterPki], name: str = LEGACY, *faults: Fault, **options: Any
) -> tuple[Section4Results, Recorder]:
    """The cluster's k8s:objects read through SessionObjects, and what the server saw."""

    async def go() -> tuple[Section4Results, Recorder]:
        async with apiserver(pki, name, *faults, **options) as served:
            facts = await SessionObjects(Policy())(served.session, frozenset({K8S_OBJECTS}))
            return facts.values[K8S_OBJECTS], served.recorder

    return run(go())


def verdicts(results: Section4Results, policy: Policy | None = None) -> dict[str, Verdict]:
    facts = Facts({K8S_OBJECTS: results})
    return {
        v.control_id: v for v in evaluate_cluster(facts, BENCH.session_controls, policy or Policy())
    }


@dataclass
class Watching:
    """An AsyncListReader handing on another's pages, keeping each page it handed to the evaluators."""

    inner: ObjectLists
    handed: dict[ListRef, list[Page]] = field(default_factory=dict)

    async def pages(self, ref: ListRef) -> AsyncIterator[Page]:
        async for page in self.inner.pages(ref):
            self.handed.setdefault(ref, []).append(page)
            yield page


class TestPaging:
    def test_small_pages_give_what_one_page_gives(self, pki):
        """A page size of 2 (RequestPolicy.page_size): many pages, the same facts as pages of 500."""
        whole, _ = read(pki)
        paged, recorder = read(pki, page_size=2)
        assert paged.controls == whole.controls
        assert paged.objects_read == whole.objects_read > 0
        pods = {r.ref: r for r in paged.lists}[lists.PODS]
        assert pods.pages == -(-pods.objects // 2) > 1
        requests = recorder.to(lists.PODS)
        assert [s.query["limit"] for s in requests] == [["2"]] * len(requests)
        assert "continue" not in requests[0].query
        assert all("continue" in s.query for s in requests[1:])

    def test_the_scanners_own_proxy_get_is_allowed_by_the_sessions_user(self, pki):
        """4.1.9 on a Kubernetes-RBAC cluster: the session's token oid is the scanner, whose get nodes/proxy is allowed."""
        results, _ = read(pki)
        row = verdicts(results)["4.1.9"]
        assert f"User {ESTATE.identity.principal_id}" in row.reason
        assert "the scanner's own identity" in row.reason


class TestExpiredContinue:
    def test_one_410_restarts_the_list_and_every_control_from_it_says_so(self, pki):
        """An expired continue token on pods: the list is read again from the start, once; the
        rows keep their verdicts, and every control computed from pods carries the note."""
        clean, _ = read(pki, page_size=2)
        expired = Fault(Endpoint.POD_LIST, status=410, continued=True, times=1)
        results, recorder = read(pki, LEGACY, expired, page_size=2)
        pods = {r.ref: r for r in results.lists}[lists.PODS]
        assert (pods.restarts, pods.error) == (1, "")
        assert [s.status for s in recorder.to(lists.PODS)].count(410) == 1
        before, after = verdicts(clean), verdicts(results)
        note = "pods: the continue token expired (410 Gone); the list was restarted"
        for cid, row in after.items():
            assert row.status is before[cid].status, cid
            assert (note in row.reason) is (cid in PODS_CONTROLS), cid

    def test_a_second_410_errors_that_lists_controls_only(self, pki):
        """The token expiring again after the restart: pods' controls ERROR, the others judged."""
        expired = Fault(Endpoint.POD_LIST, status=410, continued=True, times=2)
        results, recorder = read(pki, LEGACY, expired, page_size=2)
        assert [s.status for s in recorder.to(lists.PODS)].count(410) == 2
        rows = verdicts(results)
        erred = {cid for cid, row in rows.items() if row.status is Status.ERROR}
        assert erred == PODS_CONTROLS
        assert rows["4.2.1"].reason.startswith(
            "pods not read: HTTP 410 while listing pods: the list's continue token expired before "
            "its last page, again after the list was started over once"
        )


class TestRefusals:
    def test_a_denied_list_errors_only_its_controls_naming_the_permission(self, pki):
        """A 403 on pods: exactly the pod controls are ERROR, naming list pods in API group ""."""
        results, _ = read(pki, LEGACY, Fault(Endpoint.POD_LIST, status=403))
        rows = verdicts(results)
        erred = {cid for cid, row in rows.items() if row.status is Status.ERROR}
        assert erred == PODS_CONTROLS
        for cid in erred:
            assert 'pods not read: the scanner lacks list pods in API group ""' in rows[cid].reason
            assert "pods is forbidden: User" in rows[cid].reason  # the apiserver's words
        assert rows["4.1.1"].status is Status.MANUAL  # ops-admins, read and judged

    def test_a_role_without_list_jobs_errors_what_needs_jobs(self, pki):
        """aks-batch-neu's scanner role lacks list jobs.batch: 4.5.1 and 4.6.3 ERROR, naming it."""
        results, _ = read(pki, BATCH)
        rows = verdicts(results)
        erred = {cid for cid, row in rows.items() if row.status is Status.ERROR}
        assert erred == {"4.5.1", "4.6.3"}
        assert 'the scanner lacks list jobs in API group "batch"' in rows["4.5.1"].reason

    def test_an_absent_crd_is_a_note_not_an_error(self, pki):
        """aks-legacy-eus has no Calico or Cilium: their lists are 404, noted on 4.4.2, never ERROR."""
        results, recorder = read(pki)
        reports = {r.ref: r for r in results.lists}
        for ref in lists.OPTIONAL_READS:
            assert reports[ref].not_served, ref
            assert [s.status for s in recorder.to(ref)] == [404]
        row = verdicts(results)["4.4.2"]
        assert row.status is Status.FAIL  # default and legacy have no policy
        assert "ciliumnetworkpolicies.cilium.io is not served by this cluster" in row.reason
        assert {v.status for v in verdicts(results).values()} <= {
            Status.PASS,
            Status.FAIL,
            Status.MANUAL,
        }

    def test_an_installed_crd_is_read(self, pki):
        """aks-batch-neu runs Cilium: its policy list is read and covers the batch namespace."""
        results, _ = read(pki, BATCH)
        reports = {r.ref: r for r in results.lists}
        assert reports[lists.CILIUM_NETWORK_POLICIES].objects == 1
        assert "batch" not in verdicts(results)["4.4.2"].evidence.lists[0][1]

    def test_a_server_error_that_persists_errors_that_list(self, pki):
        """services answering 500 after every retry: ERROR naming the list, the others judged."""
        results, recorder = read(pki, LEGACY, Fault(Endpoint.SERVICE_LIST, status=500))
        rows = verdicts(results)
        assert len(recorder.to(lists.SERVICES)) == 1 + RequestPolicy().max_retries
        assert {cid for cid, r in rows.items() if r.status is Status.ERROR} == {"4.6.3", "5.4.5"}
        assert rows["5.4.5"].reason.startswith("services not read: HTTP 500")

    def test_a_connection_reset_on_a_list_errors_that_list(self, pki):
        """pods' connection reset on every try: ERROR naming pods and the broken connection, after one retry."""
        results, recorder = read(pki, LEGACY, Fault(Endpoint.POD_LIST, Action.DROP))
        assert len(recorder.to(lists.PODS)) == 2
        rows = verdicts(results)
        assert {cid for cid, r in rows.items() if r.status is Status.ERROR} == PODS_CONTROLS
        assert rows["4.2.1"].reason.startswith("pods not read: ")
        assert "broke while listing pods" in rows["4.2.1"].reason

    def test_a_page_sent_too_slowly_is_named_as_that_lists_page(self, pki):
        """A pods page trickling past SCAN_REQUEST_TIMEOUT: ERROR naming the pods page, not the node list's."""
        slow = Fault(Endpoint.POD_LIST, Action.SLOW_BODY, delay=0.2, chunk=8)
        results, _ = read(pki, LEGACY, slow, timeout=0.5)
        reason = verdicts(results)["4.2.1"].reason
        assert reason.startswith("pods not read: pods list page not received in full within 0.5s")
        assert "node-list" not in reason

    def test_throttling_waits_for_retry_after(self, pki):
        """A 429 with Retry-After 1 on roles: the next request comes no sooner than a second later
        (the backoff alone is a millisecond), and the facts are those of an unthrottled read."""
        clean, _ = read(pki)
        throttled = Fault(Endpoint.ROLE_LIST, status=429, retry_after=1, times=1)
        results, recorder = read(pki, LEGACY, throttled)
        first, second = recorder.to(lists.ROLES)
        assert (first.status, second.status) == (429, 200)
        assert second.arrived - first.answered >= 0.9
        assert results.controls == clean.controls


class TestWhatIsSent:
    def test_configmaps_are_asked_for_metadata_only_and_no_data_reaches_the_evaluator(self, pki):
        """default's ConfigMaps: the PartialObjectMetadataList Accept, items with metadata only
        (the server holds data: {mode: legacy} for ConfigMap settings)."""

        async def go() -> tuple[Watching, Recorder, list[dict[str, Any]]]:
            async with apiserver(pki) as served:
                watching = Watching(ObjectLists(served.session.client))
                await read_objects(watching, params_for(Policy()))
                full = [
                    item
                    async for page, _ in served.session.client.pages(
                        lists.DEFAULT_CONFIGMAPS.path, "listing configmaps", cap=1 << 20
                    )
                    for item in page
                ]
                return watching, served.recorder, full

        watching, recorder, full = run(go())
        (request, _) = recorder.to(lists.DEFAULT_CONFIGMAPS)
        assert request.accept == METADATA_ONLY
        assert "as=PartialObjectMetadataList;g=meta.k8s.io;v=v1" in request.accept
        items = [i for page in watching.handed[lists.DEFAULT_CONFIGMAPS] for i in page.items]
        assert {i["metadata"]["name"] for i in items} == {"kube-root-ca.crt", "settings"}
        assert all(set(i) <= {"kind", "apiVersion", "metadata"} for i in items)
        assert "legacy" not in json.dumps(items)
        # the same list without the header carries the data: the header is what keeps it out
        assert {"mode": "legacy"} in [i.get("data") for i in full]

    @pytest.mark.parametrize("concurrency", [1, LIST_CONCURRENCY])
    def test_at_most_list_concurrency_lists_in_flight(self, pki, concurrency):
        """With 20 ms per list answer, the server never holds more list requests at once than the reader's concurrency."""

        async def go() -> int:
            async with apiserver(pki, list_ms=20) as served:
                reader = SessionObjects(Policy(), concurrency=concurrency)
                await reader(served.session, frozenset({K8S_OBJECTS}))
                return served.recorder.peak

        peak = run(go())
        assert peak == 1 if concurrency == 1 else 1 < peak <= concurrency

    def test_only_gets_of_the_section4_lists_and_never_secrets(self, pki):
        """Every request is a GET of a READS path with limit (and continue), and none is for Secrets."""
        _, recorder = read(pki, page_size=3)
        assert recorder.seen
        assert {s.method for s in recorder.seen} == {"GET"}
        assert {s.path for s in recorder.seen} == READ_PATHS
        assert not [s for s in recorder.seen if "secret" in s.target.lower()]
        assert all(set(s.query) <= {"limit", "continue"} for s in recorder.seen)


class TestSessionObjects:
    def test_reads_nothing_when_k8s_objects_is_not_asked_for(self, pki):
        """A selection without the section 4 controls makes no request."""

        async def go() -> tuple[Facts, int]:
            async with apiserver(pki) as served:
                facts = await SessionObjects(Policy())(served.session, frozenset({"k8s:other"}))
                return facts, len(served.recorder.seen)

        assert run(go()) == (Facts(), 0)

    def test_a_session_that_is_not_the_kubernetes_api_is_an_error_read(self):
        """Any other ClusterSession (a run-command one) cannot list: the read fails, saying so."""

        class Other:
            async def list_nodes(self) -> list[Any]:
                return []

            async def read_configz(self, node_name: str) -> bytes:
                return b"{}"

            async def close(self) -> None:
                return None

        facts = run(SessionObjects(Policy())(Other(), frozenset({K8S_OBJECTS})))
        failure = facts.failures[K8S_OBJECTS]
        assert failure.status is Status.ERROR
        assert "cannot list Kubernetes objects" in failure.reason

    def test_the_policy_reaches_the_evaluators(self, pki):
        """kubernetes.allow.\"4.1.1\" given to SessionObjects: ops-admins is allowed, 4.1.1 PASSes."""
        policy = Policy(k8s_allow=(("4.1.1", ("Group 5b2c7e4a-0f1d-4c3b-9a8e-2d6f0b1c3a7e",)),))

        async def go() -> Facts:
            async with apiserver(pki) as served:
                return await SessionObjects(policy)(served.session, frozenset({K8S_OBJECTS}))

        facts = run(go())
        (row,) = evaluate_cluster(facts, [BENCH.control("4.1.1")], policy)
        assert row.status is Status.PASS, row.reason
