"""The section 4 lists of each simulated API server: real shapes (deserialized into the
kubernetes client's typed models), paging, continue expiry, RBAC denials, throttling, discovery,
the bootstrap RBAC objects, and a cluster of 5,000 nodes and 100,000 pods served lazily."""

from __future__ import annotations

import contextlib
import json
import time
import tracemalloc
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client as k8s

from shared.core import k8s_lists as lists
from shared.core.k8s_facts import Finding
from shared.core.rbac import Subject
from shared.core.section4 import Section4Params, scan
from sim import AKS_SERVER_APP_ID, Endpoint, Fault, SimulatedEstate
from sim.apiserver import EXPIRED_CONTINUE, decode_continue
from sim.demo_workloads import scaled
from sim.kubelists import TYPES, ClusterLists
from sim.kubeobjects import KubeObjects
from tests.sim.k8s_reader import METADATA_ONLY, HttpListReader

LEGACY, PROD, BATCH, LOCAL = "aks-legacy-eus", "aks-prod-weu", "aks-batch-neu", "aks-local-only"
RUNNING = (PROD, LEGACY, LOCAL, BATCH)
MODELS = {
    "namespaces": "V1NamespaceList",
    "pods": "V1PodList",
    "serviceaccounts": "V1ServiceAccountList",
    "services": "V1ServiceList",
    "configmaps": "V1ConfigMapList",
    "clusterroles": "V1ClusterRoleList",
    "clusterrolebindings": "V1ClusterRoleBindingList",
    "roles": "V1RoleList",
    "rolebindings": "V1RoleBindingList",
    "ingresses": "V1IngressList",
    "deployments": "V1DeploymentList",
    "daemonsets": "V1DaemonSetList",
    "statefulsets": "V1StatefulSetList",
    "replicasets": "V1ReplicaSetList",
    "jobs": "V1JobList",
    "cronjobs": "V1CronJobList",
    "validatingwebhookconfigurations": "V1ValidatingWebhookConfigurationList",
    "mutatingwebhookconfigurations": "V1MutatingWebhookConfigurationList",
}


@contextlib.contextmanager
def client(sim: SimulatedEstate, cluster: str, *, local: bool = False) -> Iterator[HttpListReader]:
    """A reader as the scanner identity, or (``local``) as the cluster's local account where
    local accounts are enabled (it may list what the identity is denied)."""
    config = k8s.Configuration(host=sim.api_server_url(cluster))
    config.ca_cert_data = sim.cluster_ca_pem(cluster)
    config.retries = 0
    target = sim.estate.cluster(cluster)
    use_local = not target.aad_managed or (local and not target.local_accounts_disabled)
    token = sim.cluster_pki(cluster).static_token if use_local else sim.token(AKS_SERVER_APP_ID)
    with k8s.ApiClient(config) as api:
        yield HttpListReader(api, token)


def raw(reader: HttpListReader, path: str, **headers: str) -> tuple[int, dict[str, Any], Any]:
    response = reader.api.call_api(
        "GET",
        reader.api.configuration.host + path,
        header_params={"Authorization": f"Bearer {reader.token}", **headers},
    )
    response.read()
    return response.status, json.loads(response.data or b"{}"), response


def model_name(rtype_group: str, resource: str) -> str:
    return (
        "V1NetworkPolicyList"
        if (rtype_group, resource) == ("networking.k8s.io", "networkpolicies")
        else MODELS.get(resource, "")
    )


class TestShapes:
    @pytest.mark.parametrize("cluster", RUNNING)
    def test_every_list_deserializes_into_the_typed_models(self, sim, cluster):
        """Every page of every built-in list becomes the kubernetes client's typed List model."""
        with client(sim, cluster, local=True) as reader:
            for (group, version, resource), rtype in TYPES.items():
                if rtype.crd:
                    continue
                name = model_name(group, resource)
                token = ""
                while True:
                    query = f"?limit=4&continue={token}" if token else "?limit=4"
                    status, body, response = raw(
                        reader, lists.ListRef(group, version, resource).path + query
                    )
                    assert status == 200, (cluster, resource, body)
                    typed = reader.api.deserialize(response.data.decode(), name, "application/json")
                    assert (typed.kind, typed.api_version) == (
                        f"{rtype.kind}List",
                        rtype.api_version,
                    )
                    assert len(typed.items) == len(body["items"])
                    assert all(
                        "kind" not in item for item in body["items"]
                    )  # built-in items carry no kind
                    token = body["metadata"].get("continue", "")
                    if not token:
                        break

    def test_crd_items_carry_kind(self, sim):
        """Custom resources are served like the apiserver serves CRDs: items with apiVersion and kind."""
        with client(sim, BATCH) as reader:
            status, body, _ = raw(reader, lists.CILIUM_NETWORK_POLICIES.path)
        assert (status, body["kind"], body["apiVersion"]) == (
            200,
            "CiliumNetworkPolicyList",
            "cilium.io/v2",
        )
        assert body["items"][0]["kind"] == "CiliumNetworkPolicy"

    def test_pods_carry_owner_and_defaults(self, sim):
        """A Deployment's pod names its ReplicaSet, which names the Deployment; defaults are filled in."""
        with client(sim, LEGACY) as reader:
            _, pods, _ = raw(reader, "/api/v1/namespaces/legacy/pods")
            _, sets, _ = raw(reader, "/apis/apps/v1/namespaces/legacy/replicasets")
        billing = next(p for p in pods["items"] if p["metadata"]["name"].startswith("billing-"))
        (owner,) = billing["metadata"]["ownerReferences"]
        (replica_set,) = [r for r in sets["items"] if r["metadata"]["name"] == owner["name"]]
        assert replica_set["metadata"]["ownerReferences"][0]["name"] == "billing"
        assert billing["spec"]["serviceAccountName"] == "default"
        assert billing["spec"]["securityContext"] == {}

    def test_metadata_only_configmaps(self, sim):
        """Asked for PartialObjectMetadataList, configmaps come without their data."""
        with client(sim, LEGACY) as reader:
            _, body, _ = raw(reader, lists.DEFAULT_CONFIGMAPS.path, Accept=METADATA_ONLY)
        assert body["kind"] == "PartialObjectMetadataList"
        assert {i["metadata"]["name"] for i in body["items"]} == {"kube-root-ca.crt", "settings"}
        assert all(set(i) == {"kind", "apiVersion", "metadata"} for i in body["items"])


class TestPaging:
    def test_pages_cover_the_list_once(self, sim):
        """limit=2 pages, concatenated, are the unpaged list; remainingItemCount counts down."""
        with client(sim, LEGACY) as reader:
            _, whole, _ = raw(reader, "/api/v1/pods")
            names, remaining, token = [], [], ""
            while True:
                _, page, _ = raw(
                    reader, "/api/v1/pods?limit=2" + (f"&continue={token}" if token else "")
                )
                names += [
                    f"{i['metadata']['namespace']}/{i['metadata']['name']}" for i in page["items"]
                ]
                remaining.append(page["metadata"].get("remainingItemCount"))
                token = page["metadata"].get("continue", "")
                if not token:
                    break
        expected = [f"{i['metadata']['namespace']}/{i['metadata']['name']}" for i in whole["items"]]
        assert names == expected == sorted(expected)
        assert remaining[:-1] == sorted(remaining[:-1], reverse=True)
        assert remaining[-1] is None

    def test_namespaced_list(self, sim):
        """/namespaces/{ns}/pods lists that namespace only."""
        with client(sim, LEGACY) as reader:
            _, body, _ = raw(reader, "/api/v1/namespaces/kube-system/pods")
        assert {i["metadata"]["namespace"] for i in body["items"]} == {"kube-system"}


class TestFailures:
    def test_expired_continue_is_the_real_410(self, sim):
        """A continue request under an expiry fault gets the apiserver's Expired Status, with a
        token at resourceVersion -1; the first page is not affected."""
        sim.faults.list_expired(LEGACY, Endpoint.POD_LIST)
        with client(sim, LEGACY) as reader:
            first_status, first, _ = raw(reader, "/api/v1/pods?limit=2")
            status, body, _ = raw(
                reader, f"/api/v1/pods?limit=2&continue={first['metadata']['continue']}"
            )
        assert first_status == 200
        assert (status, body["reason"], body["code"], body["message"]) == (
            410,
            "Expired",
            410,
            EXPIRED_CONTINUE,
        )
        assert decode_continue(body["metadata"]["continue"])[0] == -1

    def test_reader_restarts_once_after_410(self, sim):
        """The test reader keeps the contract: one restart, the new pass marked."""
        sim.faults.list_expired(LEGACY, Endpoint.POD_LIST)
        with client(sim, LEGACY) as reader:
            pages = list(reader.pages(lists.PODS))
        assert [p.restarted for p in pages].count(True) == 1

    def test_denied_list_is_the_rbac_403(self, sim):
        """aks-batch-neu's scanner role lacks list jobs.batch: the RBAC denial, word for word."""
        with client(sim, BATCH) as reader:
            status, body, _ = raw(reader, "/apis/batch/v1/jobs")
        principal = sim.estate.identity.principal_id
        assert (status, body["reason"], body["details"]) == (
            403,
            "Forbidden",
            {"group": "batch", "kind": "jobs"},
        )
        assert body["message"] == (
            f'jobs.batch is forbidden: User "{principal}" cannot list resource "jobs" in API group "batch" at the cluster scope'
        )

    def test_throttled_list_has_retry_after(self, sim):
        """A 429 fault on a list answers Retry-After, as the node list does."""
        sim.faults.add(
            Fault(Endpoint.ROLE_LIST, status=429, retry_after=2, cluster=LEGACY, times=1)
        )
        with client(sim, LEGACY) as reader:
            status, body, response = raw(reader, lists.ROLES.path)
        assert (status, body["reason"], response.getheader("Retry-After")) == (
            429,
            "TooManyRequests",
            "2",
        )

    def test_crd_absent_is_404_and_missing_from_discovery(self, sim):
        """Without Cilium, its group is not in /apis and its list is 404."""
        with client(sim, PROD) as reader:
            _, groups, _ = raw(reader, "/apis")
            status, _, _ = raw(reader, lists.CILIUM_NETWORK_POLICIES.path)
        assert "cilium.io" not in {g["name"] for g in groups["groups"]}
        assert status == 404


class TestBootstrapObjects:
    def test_defaults_are_labelled_and_aggregated(self, sim):
        """cluster-admin carries rbac-defaults; admin's aggregated rules include edit's secrets."""
        with client(sim, PROD) as reader:
            _, roles, _ = raw(reader, lists.CLUSTER_ROLES.path)
        by_name = {r["metadata"]["name"]: r for r in roles["items"]}
        assert (
            by_name["cluster-admin"]["metadata"]["labels"]["kubernetes.io/bootstrapping"]
            == "rbac-defaults"
        )
        assert any("secrets" in r.get("resources", []) for r in by_name["admin"]["rules"])
        assert "aggregationRule" in by_name["admin"]

    @pytest.mark.parametrize(
        ("cluster", "present"),
        [(LEGACY, True), (PROD, False)],
        ids=["kubernetes-rbac", "azure-rbac"],
    )
    def test_scanner_binding_only_on_kubernetes_rbac_clusters(self, sim, cluster, present):
        """The infra/k8s ClusterRoleBinding exists where Kubernetes RBAC authorizes the scanner."""
        with client(sim, cluster) as reader:
            _, bindings, _ = raw(reader, lists.CLUSTER_ROLE_BINDINGS.path)
        names = {b["metadata"]["name"] for b in bindings["items"]}
        assert ("aks-kubelet-config-reader" in names) is present


class TestSection4OverHttp:
    def test_legacy_cluster_findings(self, sim):
        """The evaluators over real pages of aks-legacy-eus find what the estate declares."""
        principal = sim.estate.identity.principal_id
        params = Section4Params(scanner_subjects=(Subject("User", principal),))
        with client(sim, LEGACY) as reader:
            result = scan(reader, params)
        assert result.by_id("4.1.1").offenders.first == (
            "Group 5b2c7e4a-0f1d-4c3b-9a8e-2d6f0b1c3a7e via ClusterRoleBinding ops-admins (cluster-wide)",
        )
        proxy = result.by_id("4.1.9")
        assert any("the scanner's own identity" in a for a in proxy.allowed.first)
        assert proxy.offenders.total == 2  # ops-admins (cluster-admin) and the wildcard operator
        assert result.by_id("4.2.1").finding is Finding.FOUND
        assert result.by_id("4.5.1").offenders.total == 2  # billing (envFrom) and db (secretKeyRef)
        assert result.by_id("4.4.2").offenders.first == ("default", "legacy")
        assert result.by_id("4.6.3").finding is Finding.FOUND

    def test_prod_cluster_is_clean_where_it_can_be(self, sim):
        """aks-prod-weu: nothing found in the deterministic controls."""
        with client(sim, PROD) as reader:
            result = scan(reader)
        for control in ("4.1.5", "4.2.1", "4.2.2", "4.2.5", "4.4.2", "4.5.1", "4.6.3", "5.2.1"):
            assert result.by_id(control).finding is Finding.NONE_FOUND, (
                control,
                result.by_id(control),
            )

    def test_denied_jobs_touch_only_their_controls(self, sim):
        """aks-batch-neu: without list jobs.batch, 4.5.1 and 4.6.3 are not read; the rest are."""
        with client(sim, BATCH) as reader:
            result = scan(reader)
        not_read = {c.control_id for c in result.controls if c.finding is Finding.NOT_READ}
        assert not_read == {"4.5.1", "4.6.3"}
        assert 'lacks list jobs in API group "batch"' in result.by_id("4.5.1").error


class TestScale:
    def test_100k_pods_on_5000_nodes_are_lazy(self):
        """100,000 pods on 5,000 nodes: built and paged without holding 100,000 pod objects."""
        nodes = [f"aks-pool1-12345678-vmss{i:06d}" for i in range(5000)]
        tracemalloc.start()
        started = time.perf_counter()
        cluster = ClusterLists("aks-bench-0000", scaled(100_000), nodes)
        pods_type = TYPES[("", "v1", "pods")]
        listing = cluster.listings[pods_type]
        built = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert (
            len(listing) == 100_000 + 5000 + 4
        )  # + kube-proxy on each node, coredns, metrics-server
        assert peak < 64 * 1024 * 1024, peak  # the 100k pods as dicts alone would be several GB
        assert built < 10, built
        items, last, remaining = cluster.page(pods_type, "team-025/", 500)
        assert len(items) == 500
        assert last.startswith("team-025/")
        assert remaining > 0
        assert json.loads(items[0])["metadata"]["namespace"] == "team-025"

    def test_empty_cluster_has_system_objects(self):
        """A cluster with nothing declared still has its namespaces, defaults and kube-system pods."""
        cluster = ClusterLists("c", KubeObjects(), ["n0"])
        assert len(cluster.listings[TYPES[("", "v1", "pods")]]) == 1 + 2 + 2
