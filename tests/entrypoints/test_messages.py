"""The Functions app's input documents: the HTTP scan request and the queue message."""

from __future__ import annotations

import json

import pytest

from shared.core.identifiers import ClusterId
from shared.core.model import Policy, QpsMode
from shared.entrypoints.messages import (
    BadInputError,
    ClusterMessage,
    ScanRequest,
    parse_scan_request,
)

SUB = "0b1f6471-1bf0-4dda-aec3-111122223333"
CLUSTER = f"/subscriptions/{SUB}/resourceGroups/rg-aks/providers/Microsoft.ContainerService/managedClusters/aks-1"
RUN = "5f0c7c4e-2a53-4a8e-9a4c-0c4c2d1e9f10"


class TestScanRequest:
    @pytest.mark.parametrize(
        ("body", "expected"),
        [
            (b"", ScanRequest()),
            (b"{}", ScanRequest()),
            (
                json.dumps({"subscriptions": [SUB.upper()]}).encode(),
                ScanRequest(subscriptions=(SUB,)),
            ),
            (
                json.dumps({"clusters": [CLUSTER, CLUSTER], "wait": True}).encode(),
                ScanRequest(clusters=(ClusterId.parse(CLUSTER),), wait=True),
            ),
        ],
        ids=["empty", "empty-object", "subscription-lowercased", "clusters-deduplicated"],
    )
    def test_valid_bodies(self, body, expected):
        """Valid bodies become a ScanRequest; ids are normalised."""
        assert parse_scan_request(body) == expected

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            (b"not json", "body"),
            (b"[1, 2]", "body"),
            (b'"text"', "body"),
            (json.dumps({"subscription": [SUB]}).encode(), "subscription"),
            (json.dumps({"wait": "yes"}).encode(), "wait"),
            (json.dumps({"wait": 1}).encode(), "wait"),
            (json.dumps({"subscriptions": SUB}).encode(), "subscriptions"),
            (json.dumps({"subscriptions": ["nope"]}).encode(), "subscriptions[0]"),
            (json.dumps({"subscriptions": [SUB, 7]}).encode(), "subscriptions[1]"),
            (
                json.dumps({"clusters": ["/subscriptions/x/resourceGroups/y"]}).encode(),
                "clusters[0]",
            ),
            (
                json.dumps(
                    {"clusters": [CLUSTER.replace("managedClusters", "virtualMachines")]}
                ).encode(),
                "clusters[0]",
            ),
            (json.dumps({"subscriptions": [SUB] * 1001}).encode(), "subscriptions"),
            (json.dumps({"clusters": [CLUSTER] * 1001}).encode(), "clusters"),
            (b"\xff\xfe", "body"),
        ],
        ids=[
            "not-json",
            "array",
            "string",
            "unknown-key",
            "wait-string",
            "wait-int",
            "subs-not-list",
            "sub-malformed",
            "sub-not-string",
            "cluster-truncated",
            "cluster-wrong-type",
            "too-many-subs",
            "too-many-clusters",
            "not-utf8",
        ],
    )
    def test_bad_bodies_name_the_field(self, body, field):
        """Each bad body raises BadInputError naming the offending field, with a problem document."""
        with pytest.raises(BadInputError) as caught:
            parse_scan_request(body)
        assert caught.value.field == field
        problem = caught.value.problem()
        assert problem["status"] == 400
        assert problem["detail"].startswith(field)


class TestClusterMessage:
    def test_round_trip(self):
        """A message survives to_json and parse unchanged."""
        message = ClusterMessage(
            RUN, ClusterId.parse(CLUSTER), "cis-aks-1.8", Policy(7, QpsMode.ZERO_ONLY)
        )
        assert ClusterMessage.parse(message.to_json()) == message

    @pytest.mark.parametrize(
        ("mutate", "field"),
        [
            (lambda d: d.update(v=2), "v"),
            (lambda d: d.pop("runId"), "runId"),
            (lambda d: d.update(runId="RUN"), "runId"),
            (lambda d: d.update(clusterId="/subscriptions/x"), "clusterId"),
            (lambda d: d.update(benchmark="cis-aks-9"), "benchmark"),
            (lambda d: d.update(policy={"eventRecordQpsMin": 5}), "policy.eventRecordQpsMode"),
            (lambda d: d["policy"].update(eventRecordQpsMin=True), "policy.eventRecordQpsMin"),
            (
                lambda d: d["policy"].update(eventRecordQpsMode="lenient"),
                "policy.eventRecordQpsMode",
            ),
            (lambda d: d.update(extra=1), "extra"),
        ],
        ids=[
            "version",
            "no-run",
            "bad-run",
            "bad-cluster",
            "bad-benchmark",
            "policy-keys",
            "qps-bool",
            "mode",
            "extra-key",
        ],
    )
    def test_bad_messages_name_the_field(self, mutate, field):
        """A message that is not ours names what is wrong."""
        document = json.loads(
            ClusterMessage(RUN, ClusterId.parse(CLUSTER), "cis-aks-1.8", Policy()).to_json()
        )
        mutate(document)
        with pytest.raises(BadInputError) as caught:
            ClusterMessage.parse(json.dumps(document))
        assert caught.value.field == field

    @pytest.mark.parametrize(
        "text", ["", "hello", "[]", "null"], ids=["empty", "text", "array", "null"]
    )
    def test_non_json_messages(self, text):
        """Text that is not a JSON object is refused as a whole message."""
        with pytest.raises(BadInputError, match="message"):
            ClusterMessage.parse(text)
