"""The simulated AKS run command: ARM's runCommand / commandResults, and what the pod prints.

Through the real management SDK over HTTPS, and through the scanner's own ArmCommandRunner.
"""

from __future__ import annotations

import dataclasses
import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from azure.core.rest import HttpRequest
from azure.identity import ManagedIdentityCredential
from azure.mgmt.containerservice import ContainerServiceClient

from shared.adapters.azure_arm import AKS_SERVER_SCOPE, cluster_from_rest
from shared.adapters.kube_api import _node
from shared.adapters.run_command import ArmCommandRunner, configz_script, parse_output
from shared.core.errors import RunCommandError
from shared.core.model import Cluster
from sim import Endpoint, SimulatedEstate
from sim.apiserver import node_json
from sim.kubeletconfig import configz_body
from sim.runcommand import OUTPUT_LIMIT_BYTES, ScriptForm, recognize
from tests.private_estate import (
    BIG,
    BIG_NODES,
    BIG_UNREACHABLE,
    LOCKED,
    NOROLE,
    SMALL,
    private_estate,
)

SUB = private_estate().subscriptions[0].id


@pytest.fixture(scope="module")
def running() -> Iterator[SimulatedEstate]:
    """This module's estate; conftest's ``sim`` fixture sets its environment for each test."""
    with SimulatedEstate(private_estate()).start() as sim:
        yield sim


@pytest.fixture
def aks(sim: SimulatedEstate) -> Iterator[tuple[ContainerServiceClient, ManagedIdentityCredential]]:
    with (
        ManagedIdentityCredential(client_id=sim.env["AZURE_CLIENT_ID"]) as credential,
        ContainerServiceClient(
            credential,
            SUB,
            base_url=sim.arm_endpoint,
            credential_scopes=[f"{sim.arm_endpoint}/.default"],
        ) as client,
    ):
        yield client, credential


def cluster_of(client: ContainerServiceClient, name: str) -> Cluster:
    return cluster_from_rest(client.managed_clusters.get("rg-private", name).as_dict())


def runner(
    client: ContainerServiceClient,
    credential: ManagedIdentityCredential,
    cluster: Cluster,
    **kwargs: Any,
) -> ArmCommandRunner:
    return ArmCommandRunner(
        client, cluster, lambda: credential.get_token(AKS_SERVER_SCOPE).token, **kwargs
    )


def post(client: ContainerServiceClient, cluster: str, body: bytes) -> Any:
    path = (
        f"/subscriptions/{SUB}/resourceGroups/rg-private/providers/"
        f"Microsoft.ContainerService/managedClusters/{cluster}/runCommand?api-version=2026-08-01"
    )
    request = HttpRequest("POST", path, content=body, headers={"Content-Type": "application/json"})
    return client.send_request(request)


class TestPrivateClusterInArm:
    def test_arm_shows_private_cluster_and_its_fqdn(self, aks):
        """enablePrivateCluster and privateFQDN reach the scanner's Cluster."""
        client, _ = aks
        cluster = cluster_of(client, SMALL)
        assert cluster.private_cluster
        assert cluster.private_fqdn.endswith(".privatelink.westeurope.azmk8s.io")
        assert not cluster.run_command_disabled
        assert cluster_of(client, LOCKED).run_command_disabled

    def test_private_kubeconfig_server_refuses_connections(self, aks):
        """The private cluster's kubeconfig points at a loopback port nobody listens on."""
        client, _ = aks
        result = client.managed_clusters.list_cluster_user_credentials("rg-private", SMALL)
        assert result.kubeconfigs
        raw = result.kubeconfigs[0].value
        assert raw is not None
        server = yaml.safe_load(bytes(raw))["clusters"][0]["cluster"]["server"]
        host, port = server.removeprefix("https://").split(":")
        assert host == "127.0.0.1"
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((host, int(port)), timeout=5).close()


class TestRunCommandApi:
    def test_accepted_with_location_and_retry_after(self, aks):
        """POST answers 202, a Location under commandResults, and Retry-After."""
        client, credential = aks
        body = json.dumps(
            {
                "command": configz_script(),
                "clusterToken": credential.get_token(AKS_SERVER_SCOPE).token,
            }
        ).encode()
        response = post(client, SMALL, body)
        assert response.status_code == 202
        assert "/commandResults/" in response.headers["Location"]
        assert int(response.headers["Retry-After"]) >= 1

    @pytest.mark.parametrize(
        ("body", "code"),
        [(b"{not json", "InvalidRequestContent"), (b"{}", "InvalidParameter")],
        ids=["not-json", "no-command"],
    )
    def test_bad_body_is_a_400_with_an_arm_error(self, aks, body, code):
        """A body ARM cannot use is refused with ARM's error shape."""
        client, _ = aks
        response = post(client, SMALL, body)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == code

    def test_result_after_the_command_ran(self, aks, sim):
        """The runner polls commandResults and returns exit code and logs."""
        client, credential = aks
        before = sim.counters.count(Endpoint.RUN_COMMAND, cluster=SMALL)
        output = runner(client, credential, cluster_of(client, SMALL)).run(configz_script())
        assert output.exit_code == 0
        parsed = parse_output(output.logs)
        assert parsed.finished
        assert len(parsed.nodes or []) == 3
        assert sim.counters.count(Endpoint.RUN_COMMAND, cluster=SMALL) == before + 1
        assert sim.counters.count(Endpoint.COMMAND_RESULT, cluster=SMALL, status=200) >= 1

    def test_disabled_run_command_is_refused(self, aks):
        """disableRunCommand: ARM refuses, and the runner's error names the switch."""
        client, credential = aks
        cluster = cluster_of(client, LOCKED)
        unaware = dataclasses.replace(cluster, run_command_disabled=False)
        with pytest.raises(RunCommandError, match=r"HTTP 400.*disableRunCommand"):
            runner(client, credential, unaware).run(configz_script())

    def test_missing_permission_is_403_naming_both_actions(self, aks):
        """Without runcommand/action: AuthorizationFailed, and the fix names both actions."""
        client, credential = aks
        with pytest.raises(RunCommandError) as caught:
            runner(client, credential, cluster_of(client, NOROLE)).run(configz_script())
        message = str(caught.value)
        assert "HTTP 403 AuthorizationFailed" in message
        assert "managedClusters/runcommand/action" in message
        assert "managedClusters/commandResults/read" in message

    def test_failed_provisioning_state_is_an_error_with_its_reason(self, aks, sim):
        """A command AKS could not run (ImagePullBackoff) is a RunCommandError quoting the reason."""
        from sim import Action, Fault  # noqa: PLC0415

        failed = {
            "id": "def7b3ea71bd4f7e9d226ddbc0f00ad9",
            "properties": {"provisioningState": "failed", "reason": "ImagePullBackoff"},
        }
        sim.faults.add(
            Fault(
                Endpoint.COMMAND_RESULT,
                Action.BODY,
                status=200,
                body=json.dumps(failed).encode(),
                cluster=SMALL,
                times=1,
            )
        )
        client, credential = aks
        with pytest.raises(RunCommandError, match=r"ended failed \(ImagePullBackoff\)"):
            runner(client, credential, cluster_of(client, SMALL)).run(configz_script())

    def test_unknown_command_exits_non_zero_saying_so(self, aks):
        """Only the scanner's script is simulated; anything else exits 127 with a message."""
        client, credential = aks
        output = runner(client, credential, cluster_of(client, SMALL)).run("kubectl get pods -A")
        assert output.exit_code == 127
        assert "only the scanner's configz script" in output.logs

    def test_without_cluster_token_kubectl_is_not_logged_in(self, aks):
        """An Entra cluster's kubectl needs the caller's token; without it the list fails."""
        client, _ = aks
        output = ArmCommandRunner(client, cluster_of(client, SMALL), None).run(configz_script())
        assert output.exit_code == 3
        assert "You must be logged in to the server (Unauthorized)" in output.logs


class TestScriptOutput:
    def test_the_scanners_script_is_recognized_in_both_forms(self):
        """The sim understands exactly what the scanner sends."""
        assert recognize(configz_script()) == ScriptForm(None)
        assert recognize(configz_script(["aks-a-1-vmss000000"])) == ScriptForm(
            ("aks-a-1-vmss000000",)
        )
        assert recognize("echo hi") is None

    def test_node_list_and_bodies_equal_what_the_api_server_serves(self, aks):
        """Each listed node equals the API server's Node; each body equals its configz."""
        client, credential = aks
        cluster = cluster_of(client, SMALL)
        output = runner(client, credential, cluster).run(configz_script())
        parsed = parse_output(output.logs)
        model = private_estate().cluster(SMALL)
        nodes = sorted(model.nodes(), key=lambda n: n.name)
        assert parsed.nodes == [_node(node_json(model, SUB, n)) for n in nodes]
        for node in nodes:
            block = parsed.blocks[node.name]
            assert block.exit_code == 0
            assert json.loads(block.text) == json.loads(configz_body(node.configz))

    def test_big_cluster_output_is_cut_at_512_kib_and_unreachable_node_errs(self, aks):
        """The first command's logs stop at the cap; an unreachable node prints kubectl's error."""
        client, credential = aks
        cluster = cluster_of(client, BIG)
        output = runner(client, credential, cluster).run(configz_script())
        assert len(output.logs.encode()) == OUTPUT_LIMIT_BYTES
        parsed = parse_output(output.logs)
        assert not parsed.finished
        assert len(parsed.nodes or []) == BIG_NODES
        assert 0 < len(parsed.blocks) < BIG_NODES
        unreachable = sorted(private_estate().cluster(BIG).nodes(), key=lambda n: n.index)[
            BIG_UNREACHABLE
        ]
        block = parsed.blocks[unreachable.name]
        assert block.exit_code == 1
        assert "error trying to reach service" in block.text


class TestDeadline:
    def test_polling_stops_at_the_deadline(self, monkeypatch):
        """A command still running when the deadline comes is an error, not a hang."""
        estate = private_estate().with_latency(run_command_ms=600_000)
        with SimulatedEstate(estate).start() as slow:
            for name, value in slow.env.items():
                monkeypatch.setenv(name, value)
            with (
                ManagedIdentityCredential(client_id=slow.env["AZURE_CLIENT_ID"]) as credential,
                ContainerServiceClient(
                    credential,
                    SUB,
                    base_url=slow.arm_endpoint,
                    credential_scopes=[f"{slow.arm_endpoint}/.default"],
                ) as client,
            ):
                cluster = cluster_of(client, SMALL)
                bounded = runner(client, credential, cluster, deadline=time.monotonic() + 0.5)
                with pytest.raises(RunCommandError, match="had not finished"):
                    bounded.run(configz_script())
                running_results = slow.counters.count(
                    Endpoint.COMMAND_RESULT, cluster=SMALL, status=202
                )
        assert running_results >= 1
