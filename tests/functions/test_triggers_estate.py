"""The three functions invoked as the host would, against the simulated estate and Azurite."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

import azure.functions as func
import jwt
import pytest
from azure.functions.timer import TimerRequest
from azure.storage.blob import ContainerClient

import function_app
from sim import FINDINGS_STREAM, RUNS_STREAM, SimulatedEstate, default_estate
from sim.entra import AZURE_CLI_CLIENT_ID
from tests.azurite import azurite
from tests.e2e.expected import (
    ARM_CONTROLS,
    CLUSTER_CONTROLS,
    CLUSTER_VERDICTS,
    K8S_CONTROLS,
    K8S_VERDICTS,
)

pytestmark = pytest.mark.azurite
DEV_SUB = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"
PROD_LEGACY = (
    "/subscriptions/3c5a7e91-2b4d-4f6a-8c0e-1a2b3c4d5e6f/resourceGroups/rg-legacy-eus"
    "/providers/Microsoft.ContainerService/managedClusters/aks-legacy-eus"
)


class Out:
    """func.Out as the host provides it."""

    def __init__(self) -> None:
        self.value: Any = None

    def set(self, value: Any) -> None:
        self.value = value

    def get(self) -> Any:
        return self.value


@pytest.fixture(name="connection", scope="module")
def _connection() -> Iterator[str]:
    with azurite() as connection:
        yield connection


@pytest.fixture(name="sim", scope="module")
def _sim() -> Iterator[SimulatedEstate]:
    with SimulatedEstate(default_estate()).start() as sim:
        yield sim


@pytest.fixture(name="env")
def _env(
    sim: SimulatedEstate,
    connection: str,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> dict[str, str]:
    sim.faults.clear()
    container = "dl-" + re.sub("[^a-z0-9]+", "-", request.node.name.lower())[:40].strip("-")
    values = {**sim.env, "AzureWebJobsStorage": connection, "DEADLETTER_CONTAINER": container}
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values


timer_fn = function_app.scheduled_scan.build().get_user_function()
queue_fn = function_app.scan_cluster.build().get_user_function()
http_fn = function_app.manual_scan.build().get_user_function()


#: One row per cluster and cluster-scoped control (tests/e2e/expected.py), all five clusters.
CLUSTER_ROWS = len(CLUSTER_VERDICTS) * len(CLUSTER_CONTROLS)


def post(body: bytes, token: str) -> tuple[func.HttpResponse, list[str] | None]:
    request = func.HttpRequest(
        method="POST",
        url="/api/scan",
        body=body,
        headers={"content-type": "application/json", "authorization": f"Bearer {token}"},
    )
    out = Out()
    response: func.HttpResponse = http_fn(request, out)
    return response, out.value


def deliver(messages: list[str]) -> None:
    for index, text in enumerate(messages):
        poison = Out()
        queue_fn(func.QueueMessage(id=f"m{index}", body=text.encode()), poison)
        assert poison.value is None, poison.value


def rows_of(
    sim: SimulatedEstate, run_id: str, stream: str = FINDINGS_STREAM
) -> list[dict[str, Any]]:
    return [r for r in sim.accepted(stream) if r["RunId"] == run_id]


class TestFanOut:
    def test_timer_to_queue_to_rows_for_every_cluster(self, env, sim):
        """Timer → one message per running cluster → each scanned → rows for every cluster, each once."""
        out = Out()
        timer_fn(TimerRequest(past_due=True), out)
        messages = out.value
        assert len(messages) == 4  # five clusters, one stopped
        run_id = json.loads(messages[0])["runId"]
        deliver(messages)
        rows = rows_of(sim, run_id)
        assert {r["ClusterName"] for r in rows} == {
            "aks-prod-weu",
            "aks-legacy-eus",
            "aks-local-only",
            "aks-batch-neu",
            "aks-dev-stopped",
        }
        assert set(Counter(r["RecordId"] for r in rows).values()) == {1}
        assert len(rows) == (13 + 2) * 9 + CLUSTER_ROWS
        pairs = Counter((r["ClusterName"], r["NodeName"], r["ControlId"]) for r in rows)
        assert set(pairs.values()) == {1}
        runs = rows_of(sim, run_id, RUNS_STREAM)
        assert Counter(r["Trigger"] for r in runs) == {"timer": 1, "queue": 4}
        assert {r["Trigger"]: json.loads(r["TriggeredBy"]) for r in runs} == {
            "timer": {"kind": "timer"},
            "queue": {"kind": "queue"},
        }
        # the dispatcher writes every cluster's ARM rows and the stopped one's Kubernetes rows;
        # each job its cluster's Kubernetes rows (section 4, read through its session)
        cluster_rows = {r["Trigger"]: r["ClusterRows"] for r in runs if r["Trigger"] == "timer"}
        assert cluster_rows == {"timer": 5 * len(ARM_CONTROLS) + len(K8S_CONTROLS)}
        assert [r["ClusterRows"] for r in runs if r["Trigger"] == "queue"] == [
            len(K8S_CONTROLS)
        ] * 4
        assert sum(r["Scope"] == "cluster" for r in rows) == CLUSTER_ROWS

    def test_message_that_is_not_ours_goes_to_poison_with_reason(self, env, sim):
        """An unparseable message is moved to the poison queue at once, naming the problem, and scans nothing."""
        before = sim.snapshot()
        poison = Out()
        queue_fn(func.QueueMessage(id="x1", body=b'{"v": 9}'), poison)
        moved = json.loads(poison.value)
        assert moved["reason"].startswith("v:")
        assert moved["messageId"] == "x1"
        assert sim.snapshot() == before


class TestHttp:
    @pytest.mark.parametrize(
        ("body", "field"),
        [
            (b"{nope", "body"),
            (b'{"subscriptions": ["x"]}', "subscriptions[0]"),
            (b'{"clusters": "all"}', "clusters"),
            (b'{"wait": "true"}', "wait"),
            (b'{"everything": true}', "everything"),
            (json.dumps({"subscriptions": [DEV_SUB] * 1001}).encode(), "subscriptions"),
        ],
        ids=["not-json", "bad-id", "not-list", "wait-string", "unknown-key", "too-many"],
    )
    def test_bad_input_is_400_problem_and_starts_no_scan(self, env, sim, body, field):
        """Bad bodies answer 400 with a JSON problem naming the field; no request reaches the estate."""
        post(b"{}", sim.entra.token(roles=()))  # the tenant's keys are read (and cached) here
        before = sim.snapshot()
        response, queued = post(body, sim.entra.token())
        assert response.status_code == 400
        assert response.mimetype == "application/problem+json"
        assert json.loads(response.get_body())["field"] == field
        assert queued is None
        assert sim.snapshot() == before

    def test_without_wait_dispatches_202_and_the_record_names_the_user(self, env, sim, caplog):
        """A person's token with the role: 202, one message per running cluster in scope, and
        the run record and the log line that starts the run name the caller, never the token."""
        token = sim.entra.token("user")
        caplog.set_level("INFO")
        response, queued = post(json.dumps({"subscriptions": [DEV_SUB]}).encode(), token)
        assert response.status_code == 202
        body = json.loads(response.get_body())
        assert body["clustersQueued"] == 1
        assert [json.loads(m)["runId"] for m in queued or []] == [body["runId"]]
        claims = jwt.decode(token, options={"verify_signature": False})
        (record,) = rows_of(sim, body["runId"], RUNS_STREAM)
        assert json.loads(record["TriggeredBy"]) == {
            "kind": "user",
            "objectId": claims["oid"],
            "appId": AZURE_CLI_CLIENT_ID,
            "name": "Ada Lovelace",
            "tenantId": claims["tid"],
        }
        assert record["Trigger"] == "http"
        (started,) = [
            r.getMessage() for r in caplog.records if "started (trigger http)" in r.getMessage()
        ]
        assert f"oid {claims['oid']}" in started
        assert "Ada Lovelace" in started
        assert token not in caplog.text
        assert token.split(".")[2] not in json.dumps(sim.accepted(RUNS_STREAM))

    def test_wait_scans_inline_for_an_application_and_returns_rows(self, env, sim):
        """wait=true with one cluster and a pipeline's (client credentials) token: 200 with the
        run record, naming the application, and every row."""
        token = sim.entra.token("app")
        response, _queued = post(
            json.dumps({"clusters": [PROD_LEGACY], "wait": True}).encode(), token
        )
        assert response.status_code == 200
        body = json.loads(response.get_body())
        assert len(body["findings"]) == 2 * 9 + len(CLUSTER_CONTROLS)
        assert body["run"]["ClusterRows"] == len(CLUSTER_CONTROLS)
        legacy = CLUSTER_VERDICTS["aks-legacy-eus"]
        k8s_failed = sum(v.status == "FAIL" for v in K8S_VERDICTS["aks-legacy-eus"].values())
        assert body["run"]["Failed"] == 12 + sum(s == "FAIL" for s in legacy.values()) + k8s_failed
        assert {r["RecordId"] for r in rows_of(sim, body["run"]["RunId"])} == {
            f["RecordId"] for f in body["findings"]
        }
        claims = jwt.decode(token, options={"verify_signature": False})
        caller = json.loads(body["run"]["TriggeredBy"])
        assert caller == {
            "kind": "app",
            "objectId": claims["oid"],
            "appId": claims["azp"],
            "tenantId": claims["tid"],
        }
        (record,) = rows_of(sim, body["run"]["RunId"], RUNS_STREAM)
        assert record["TriggeredBy"] == body["run"]["TriggeredBy"]

    def test_wait_with_more_than_ten_clusters_is_400(self, env, sim, monkeypatch):
        """wait is refused when the scope holds more than ten running clusters (nothing scanned)."""
        monkeypatch.setattr("shared.entrypoints.jobs.MAX_WAIT_CLUSTERS", 2)
        response, _queued = post(b'{"wait": true}', sim.entra.token())
        assert response.status_code == 400
        assert json.loads(response.get_body())["field"] == "wait"


class TestNoFindingsLost:
    def test_outage_then_recovery_every_row_once_and_no_blob_left(self, env, sim, connection):
        """Log Analytics down for one run: rows wait as blobs; the next dispatch re-sends them; 0 lost, 0 duplicated."""
        sim.faults.ingestion_outage(True)
        out = Out()
        timer_fn(TimerRequest(past_due=False), out)
        run_id = json.loads(out.value[0])["runId"]
        deliver(out.value)
        container = ContainerClient.from_connection_string(connection, env["DEADLETTER_CONTAINER"])
        waiting = [b.name for b in container.list_blobs()]
        assert waiting
        assert rows_of(sim, run_id) == []
        sim.faults.ingestion_outage(False)
        again = Out()
        timer_fn(TimerRequest(past_due=False), again)  # the next run replays first
        rows = rows_of(sim, run_id)
        counts = Counter(r["RecordId"] for r in rows)
        assert len(rows) == (13 + 2) * 9 + CLUSTER_ROWS
        assert set(counts.values()) == {1}
        assert list(container.list_blobs()) == []
        next_run = json.loads(again.value[0])["runId"]
        (record,) = [r for r in rows_of(sim, next_run, RUNS_STREAM) if r["Trigger"] == "timer"]
        assert record["RowsReplayed"] >= len(rows)
        container.close()


PROD_SUB = "3c5a7e91-2b4d-4f6a-8c0e-1a2b3c4d5e6f"
PROD_CLUSTERS = {"aks-prod-weu", "aks-legacy-eus", "aks-local-only"}
DEV_BATCH = (
    f"/subscriptions/{DEV_SUB}/resourceGroups/rg-batch-neu"
    "/providers/Microsoft.ContainerService/managedClusters/aks-batch-neu"
)


class TestConfiguredScope:
    """SCAN_SUBSCRIPTIONS is what every trigger scans: requests narrow it, never widen it."""

    @pytest.fixture(autouse=True)
    def _prod_only(self, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("SCAN_SUBSCRIPTIONS", PROD_SUB)

    def test_timer_scans_exactly_the_configured_subscriptions(self, sim):
        """The timer dispatches only clusters of SCAN_SUBSCRIPTIONS, and rows come only from them."""
        out = Out()
        timer_fn(TimerRequest(past_due=False), out)
        clusters = {json.loads(m)["clusterId"].rsplit("/", 1)[1] for m in out.value}
        assert clusters == PROD_CLUSTERS
        run_id = json.loads(out.value[0])["runId"]
        deliver(out.value)
        rows = rows_of(sim, run_id)
        assert {r["SubscriptionId"] for r in rows} == {PROD_SUB}
        (record,) = [r for r in rows_of(sim, run_id, RUNS_STREAM) if r["Trigger"] == "timer"]
        assert record["Subscriptions"] == 1

    def test_queue_message_for_a_cluster_outside_is_poison_and_scans_nothing(self, sim):
        """A message naming a cluster outside SCAN_SUBSCRIPTIONS goes to poison with the reason."""
        before = sim.snapshot()
        text = json.dumps(
            {
                "v": 1,
                "runId": "00000000-0000-4000-8000-000000000001",
                "clusterId": DEV_BATCH,
                "benchmark": "cis-aks-1.8",
                "policy": {"eventRecordQpsMin": 5, "eventRecordQpsMode": "cis"},
            }
        )
        poison = Out()
        queue_fn(func.QueueMessage(id="q1", body=text.encode()), poison)
        moved = json.loads(poison.value)
        assert moved["reason"].startswith("clusterId: ")
        assert DEV_SUB in moved["reason"]
        assert "SCAN_SUBSCRIPTIONS" in moved["reason"]
        assert sim.snapshot() == before

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"subscriptions": [DEV_SUB]}, "subscriptions[0]"),
            ({"subscriptions": [PROD_SUB, DEV_SUB]}, "subscriptions[1]"),
            ({"clusters": [DEV_BATCH]}, "clusters[0]"),
            ({"clusters": [DEV_BATCH], "wait": True}, "clusters[0]"),
        ],
        ids=["other-subscription", "one-of-two-outside", "cluster-outside", "inline-outside"],
    )
    def test_http_request_outside_the_scope_is_400_naming_it(self, sim, body, field):
        """An HTTP request cannot widen the scope: 400 naming the item, nothing called."""
        post(b"{}", sim.entra.token(roles=()))  # the tenant's keys are read (and cached) here
        before = sim.snapshot()
        response, queued = post(json.dumps(body).encode(), sim.entra.token())
        assert response.status_code == 400
        problem = json.loads(response.get_body())
        assert problem["field"] == field
        assert "SCAN_SUBSCRIPTIONS" in problem["detail"]
        assert queued is None
        assert sim.snapshot() == before

    def test_http_request_may_narrow_the_scope(self, sim):
        """A cluster inside the configured scope is scanned alone."""
        response, _queued = post(
            json.dumps({"clusters": [PROD_LEGACY], "wait": True}).encode(), sim.entra.token()
        )
        assert response.status_code == 200
        findings = json.loads(response.get_body())["findings"]
        assert {f["ClusterName"] for f in findings} == {"aks-legacy-eus"}

    def test_http_request_without_scope_dispatches_the_configured_scope(self, sim):
        """An empty body dispatches exactly the configured subscriptions' running clusters."""
        response, queued = post(b"", sim.entra.token())
        assert response.status_code == 202
        assert {json.loads(m)["clusterId"].rsplit("/", 1)[1] for m in queued or []} == (
            PROD_CLUSTERS
        )
