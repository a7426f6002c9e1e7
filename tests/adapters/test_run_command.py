"""The run command path of private clusters, on hand-written command outputs.

The parser reads back what the configz script prints; the session decides which commands to run
from what came back (follow-ups for missing nodes, an ERROR for what never arrived); the private
cluster session decides between the API server, a report and the run command.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import threading
from collections.abc import Sequence
from typing import Any, cast

import pytest
from azure.core.exceptions import ClientAuthenticationError

from shared.adapters.run_command import (
    ERROR_TEXT_BYTES,
    SCRIPT_HEADER,
    ArmCommandRunner,
    PrivateClusterSession,
    RunCommandSession,
    configz_script,
    parse_output,
)
from shared.core.errors import (
    ApiServerError,
    ApiServerUnreachableError,
    ConfigzFetchError,
    RunCommandError,
)
from shared.core.model import Cluster, Node
from shared.ports import CommandOutput

CONFIGZ = '{"kubeletconfig":{"kind":"KubeletConfiguration","readOnlyPort":0}}'
CLUSTER = Cluster(
    resource_id="/subscriptions/00000000-0000-0000-0000-000000000001/resourcegroups/rg/providers/"
    "Microsoft.ContainerService/managedClusters/aks-private",
    subscription_id="00000000-0000-0000-0000-000000000001",
    resource_group="rg",
    name="aks-private",
    aad_managed=True,
    private_cluster=True,
    private_fqdn="aks-private-dns-1234.privatelink.westeurope.azmk8s.io",
)


def node_line(name: str, pool: str = "system", ready: str = "True") -> str:
    return json.dumps([name, pool, "v1.30.6", "Ubuntu 22.04.5 LTS", ready])


def block(name: str, body: str = CONFIGZ, code: int = 0) -> str:
    return f"@@configz-begin {name}\n{body}\n@@configz-end {name} {code}"


def whole(names: Sequence[str], blocks: Sequence[str], *, done: bool = True) -> str:
    parts = ["@@nodes-begin", *(node_line(n) for n in names), "@@nodes-end", *blocks]
    return "\n".join(parts + (["@@done"] if done else [])) + "\n"


class ScriptedRunner:
    """A CommandRunner that answers each command with the next hand-written output."""

    def __init__(self, *outputs: CommandOutput | Exception) -> None:
        self.outputs = list(outputs)
        self.scripts: list[str] = []

    def run(self, script: str) -> CommandOutput:
        self.scripts.append(script)
        answer = self.outputs.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def ok(logs: str, code: int = 0) -> CommandOutput:
    return CommandOutput("0e9872e6629349dc865e27ee6f8bab2d", code, logs)


class TestScript:
    def test_whole_cluster_form_lists_nodes_then_reads_each(self):
        """The first command lists the nodes with kubectl and jq, then loops over them."""
        script = configz_script()
        assert script.startswith(SCRIPT_HEADER + "\n")
        assert "kubectl get nodes -o json > /tmp/nodes.json" in script
        assert 'kubectl get --raw "/api/v1/nodes/$n/proxy/configz"' in script
        assert "jq -c ." in script
        assert script.rstrip().endswith('echo "@@done"')

    def test_named_form_reads_only_those_nodes(self):
        """A follow-up names its nodes and does not list the cluster again."""
        script = configz_script(["aks-a-1-vmss000000", "aks-a-1-vmss00000z"])
        assert 'NODES="aks-a-1-vmss000000 aks-a-1-vmss00000z"' in script
        assert "kubectl get nodes" not in script

    @pytest.mark.parametrize(
        "names",
        [[], ["ok", "bad name"], ["$(reboot)"], ['a"b']],
        ids=["none", "space", "substitution", "quote"],
    )
    def test_only_node_names_reach_the_script(self, names):
        """Anything that is not a DNS-1123 node name is refused before it reaches bash."""
        with pytest.raises(ValueError, match="node"):
            configz_script(names)


class TestParser:
    def test_complete_output(self):
        """Node list, one block per node, and the end marker."""
        parsed = parse_output(whole(["n1", "n2"], [block("n1"), block("n2")]))
        assert parsed.nodes == [
            Node("n1", "system", "v1.30.6", "Ubuntu 22.04.5 LTS", True),
            Node("n2", "system", "v1.30.6", "Ubuntu 22.04.5 LTS", True),
        ]
        assert parsed.blocks["n1"].text == CONFIGZ
        assert parsed.blocks["n2"].exit_code == 0
        assert parsed.finished

    def test_not_ready_node(self):
        """The Ready condition's status becomes Node.ready."""
        logs = "@@nodes-begin\n" + node_line("n1", ready="Unknown") + "\n@@nodes-end\n@@done\n"
        (node,) = parse_output(logs).nodes or []
        assert not node.ready

    def test_truncated_mid_block(self):
        """Output cut inside a block: that node is absent, earlier ones are kept, not finished."""
        logs = whole(["n1", "n2"], [block("n1")], done=False) + '@@configz-begin n2\n{"kubelet'
        parsed = parse_output(logs)
        assert set(parsed.blocks) == {"n1"}
        assert not parsed.finished

    def test_truncated_after_a_block_begins_without_body(self):
        """A begin marker with nothing after it is not a block."""
        parsed = parse_output(whole(["n1"], [], done=False) + "@@configz-begin n1\n")
        assert parsed.blocks == {}

    def test_missing_node(self):
        """A listed node with no block at all is simply not in blocks."""
        parsed = parse_output(whole(["n1", "n2"], [block("n1")]))
        assert set(parsed.blocks) == {"n1"}
        assert parsed.finished

    def test_error_text_and_exit_code(self):
        """kubectl's error text and exit code are kept for the node's reason."""
        error = (
            "Error from server (ServiceUnavailable): error trying to reach service: "
            "dial tcp 10.224.0.6:10250: connect: connection refused"
        )
        parsed = parse_output(whole(["n1"], [block("n1", error, 1)]))
        assert parsed.blocks["n1"].exit_code == 1
        assert parsed.blocks["n1"].text == error

    def test_block_without_its_end_marker_is_dropped(self):
        """A block followed by the next begin marker lost its end: not trusted."""
        logs = whole(["n1", "n2"], ["@@configz-begin n1\n" + CONFIGZ, block("n2")])
        parsed = parse_output(logs)
        assert set(parsed.blocks) == {"n2"}

    def test_end_marker_of_another_node_does_not_close_a_block(self):
        """An end marker must name the same node and a numeric exit code."""
        logs = whole(["n1"], [f"@@configz-begin n1\n{CONFIGZ}\n@@configz-end n2 0"])
        assert parse_output(logs).blocks == {}

    def test_node_list_cut_short(self):
        """A node list without its end marker is not a node list."""
        logs = "@@nodes-begin\n" + node_line("n1") + '\n["n2","sys'
        assert parse_output(logs).nodes is None

    def test_garbled_node_line_voids_the_list(self):
        """A line that is not the five-string array makes the list untrustworthy."""
        logs = "@@nodes-begin\n" + node_line("n1") + "\n[1,2]\n@@nodes-end\n@@done\n"
        assert parse_output(logs).nodes is None

    def test_node_list_error(self):
        """kubectl get nodes failing prints @@nodes-error and its message."""
        logs = "@@nodes-error\nerror: You must be logged in to the server (Unauthorized)\n"
        parsed = parse_output(logs)
        assert parsed.node_list_error == "error: You must be logged in to the server (Unauthorized)"
        assert parsed.nodes is None

    def test_multi_line_body_is_kept_whole(self):
        """A body jq could not compact (printed raw) keeps its lines."""
        parsed = parse_output(whole(["n1"], [block("n1", "<html>\n<body>oops</body>\n</html>")]))
        assert parsed.blocks["n1"].text == "<html>\n<body>oops</body>\n</html>"


class TestSession:
    def test_one_command_when_everything_fits(self):
        """Every node in the first output: one command, bodies served from it."""
        runner = ScriptedRunner(ok(whole(["n1", "n2"], [block("n1"), block("n2")])))
        session = RunCommandSession(runner, CLUSTER)
        assert [n.name for n in session.list_nodes_now()] == ["n1", "n2"]
        assert session.read_configz_now("n1") == CONFIGZ.encode()
        assert session.read_configz_now("n2") == CONFIGZ.encode()
        assert len(runner.scripts) == 1

    def test_truncated_output_is_followed_up_for_the_missing_nodes_only(self):
        """Nodes cut off by the cap are read by a second command that names only them."""
        first = whole(["n1", "n2", "n3"], [block("n1")], done=False) + "@@configz-begin n2\n{"
        runner = ScriptedRunner(ok(first), ok("\n".join([block("n2"), block("n3"), "@@done"])))
        session = RunCommandSession(runner, CLUSTER)
        session.list_nodes_now()
        assert {n: session.read_configz_now(n) for n in ("n1", "n2", "n3")} == dict.fromkeys(
            ("n1", "n2", "n3"), CONFIGZ.encode()
        )
        assert len(runner.scripts) == 2
        assert 'NODES="n2 n3"' in runner.scripts[1]

    def test_follow_ups_are_sized_to_fit_the_budget(self):
        """With blocks of ~1 kB and a 2.5 kB budget, follow-ups carry two nodes each."""
        body = '{"kubeletconfig":{"pad":"' + "x" * 1000 + '"}}'
        names = [f"n{i}" for i in range(6)]
        first = whole(names, [block("n0", body)], done=False)
        follow = [
            ok("\n".join([block(a, body), block(b, body), "@@done"]))
            for a, b in (("n1", "n2"), ("n3", "n4"))
        ]
        runner = ScriptedRunner(ok(first), *follow, ok(block("n5", body) + "\n@@done"))
        session = RunCommandSession(runner, CLUSTER, budget_bytes=2500)
        session.list_nodes_now()
        assert all(session.read_configz_now(n) == body.encode() for n in names)
        assert [s.count("@@configz-begin") for s in runner.scripts] == [1, 1, 1, 1]
        assert ['NODES="n1 n2"' in runner.scripts[1], 'NODES="n5"' in runner.scripts[3]] == [
            True,
            True,
        ]

    def test_a_node_that_never_fits_is_an_output_limit_error(self):
        """Rounds are bounded; what never arrived is an ERROR naming the output limit."""
        first = whole(["n1", "n2"], [block("n1")], done=False)
        cut = ok("@@configz-begin n2\n{", 0)
        runner = ScriptedRunner(ok(first), cut, cut)
        session = RunCommandSession(runner, CLUSTER, max_rounds=2)
        session.list_nodes_now()
        with pytest.raises(ConfigzFetchError, match="output limit"):
            session.read_configz_now("n2")
        assert session.read_configz_now("n1") == CONFIGZ.encode()
        assert len(runner.scripts) == 3

    def test_reads_answer_from_the_output_and_follow_up_off_the_loop(self):
        """On the scan's loop: a node in the output is answered at once, a missing one is read
        by the follow-up command in the loop's executor (it blocks for tens of seconds)."""
        first = whole(["n1", "n2"], [block("n1")], done=False)
        runner = ScriptedRunner(ok(first), ok(block("n2") + "\n@@done"))
        session = RunCommandSession(runner, CLUSTER)
        threads: list[str] = []
        original = runner.run

        def run(script: str) -> CommandOutput:
            threads.append(threading.current_thread().name)
            return original(script)

        runner.run = run  # type: ignore[method-assign]

        async def scan() -> None:
            assert [n.name for n in await session.list_nodes()] == ["n1", "n2"]
            assert await session.read_configz("n1") == CONFIGZ.encode()
            assert len(runner.scripts) == 1
            assert await session.read_configz("n2") == CONFIGZ.encode()
            assert len(runner.scripts) == 2
            with pytest.raises(ConfigzFetchError, match="not in the cluster's node list"):
                await session.read_configz("elsewhere")
            await session.close()

        asyncio.run(scan())
        assert threading.main_thread().name not in threads

    def test_kubectl_error_becomes_the_nodes_reason(self):
        """A node whose kubectl failed gets its error text, not a retry."""
        error = 'Error from server (Forbidden): nodes "n1" is forbidden: User "x" cannot get resource "nodes/proxy"'
        runner = ScriptedRunner(ok(whole(["n1"], [block("n1", error, 1)])))
        session = RunCommandSession(runner, CLUSTER)
        session.list_nodes_now()
        with pytest.raises(ConfigzFetchError, match=r"exited 1: Error from server \(Forbidden\)"):
            session.read_configz_now("n1")
        assert len(runner.scripts) == 1

    def test_failed_follow_up_names_its_cause_for_the_missing_nodes(self):
        """A follow-up refused by ARM: the nodes it was for get that reason."""
        first = whole(["n1", "n2"], [block("n1")], done=False)
        runner = ScriptedRunner(
            ok(first), RunCommandError("HTTP 403 AuthorizationFailed while ...")
        )
        session = RunCommandSession(runner, CLUSTER)
        session.list_nodes_now()
        with pytest.raises(ConfigzFetchError, match="follow-up run command failed: HTTP 403"):
            session.read_configz_now("n2")

    def test_disabled_run_command_is_not_even_tried(self):
        """disableRunCommand from ARM: an error naming the property and the fix, no call."""
        runner = ScriptedRunner()
        cluster = dataclasses.replace(CLUSTER, run_command_disabled=True)
        with pytest.raises(RunCommandError, match=r"disableRunCommand=true.*--enable-run-command"):
            RunCommandSession(runner, cluster).list_nodes_now()
        assert runner.scripts == []

    def test_node_list_error_is_an_api_server_error(self):
        """kubectl get nodes failing in the pod: the cluster's ERROR quotes kubectl."""
        logs = "@@nodes-error\nerror: You must be logged in to the server (Unauthorized)\n"
        session = RunCommandSession(ScriptedRunner(ok(logs, 3)), CLUSTER)
        with pytest.raises(ApiServerError, match=r"kubectl get nodes failed.*Unauthorized"):
            session.list_nodes_now()

    def test_non_zero_exit_without_the_script_output(self):
        """A command that exits non-zero for another reason names the exit code and output."""
        session = RunCommandSession(
            ScriptedRunner(ok("bash: jq: command not found\n", 127)), CLUSTER
        )
        with pytest.raises(RunCommandError, match="exited 127: bash: jq: command not found"):
            session.list_nodes_now()

    def test_non_zero_exit_after_a_whole_node_list_still_reads_the_rest(self):
        """A pod that dies after listing the nodes: what it missed is read by a follow-up."""
        first = ok(whole(["n1", "n2"], [block("n1")], done=False), 137)
        runner = ScriptedRunner(first, ok(block("n2") + "\n@@done\n"))
        session = RunCommandSession(runner, CLUSTER)
        assert [n.name for n in session.list_nodes_now()] == ["n1", "n2"]
        assert session.read_configz_now("n2") == CONFIGZ.encode()
        assert len(runner.scripts) == 2

    def test_no_node_list_in_the_output(self):
        """Output without a complete node list cannot be used: the cluster is an ERROR."""
        session = RunCommandSession(
            ScriptedRunner(ok("@@nodes-begin\n" + node_line("n1"))), CLUSTER
        )
        with pytest.raises(RunCommandError, match="no complete node list"):
            session.list_nodes_now()

    def test_error_text_is_cut(self):
        """A node's reason never carries more than a short excerpt of kubectl's output."""
        runner = ScriptedRunner(ok(whole(["n1"], [block("n1", "E" * ERROR_TEXT_BYTES, 1)])))
        session = RunCommandSession(runner, CLUSTER)
        session.list_nodes_now()
        with pytest.raises(ConfigzFetchError) as caught:
            session.read_configz_now("n1")
        assert len(str(caught.value)) < 500


class FakeDirect:
    """A ClusterSession whose list_nodes raises a given error."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.closed = False

    async def list_nodes(self) -> list[Node]:
        if self.error is not None:
            raise self.error
        return [Node("direct-1")]

    async def read_configz(self, node_name: str) -> bytes:
        return b"direct"

    async def close(self) -> None:
        self.closed = True


class TestPrivateClusterSession:
    UNREACHABLE = ApiServerUnreachableError("API server https://10.0.0.4:443 unreachable")

    def test_reachable_api_server_is_used(self):
        """A VNet-integrated scanner reaches the private API server: no run command."""
        session = PrivateClusterSession(CLUSTER, FakeDirect(), "run-command", _never)
        assert asyncio.run(session.list_nodes()) == [Node("direct-1")]
        assert asyncio.run(session.read_configz("direct-1")) == b"direct"

    def test_report_mode_names_the_private_fqdn_and_the_setting(self):
        """No answer in report mode: ERROR naming the cluster as private, its FQDN and the fix."""
        session = PrivateClusterSession(CLUSTER, FakeDirect(self.UNREACHABLE), "report", _never)
        with pytest.raises(ApiServerError) as caught:
            asyncio.run(session.list_nodes())
        message = str(caught.value)
        assert "the cluster is private" in message
        assert CLUSTER.private_fqdn in message
        assert "PRIVATE_CLUSTER_MODE=run-command" in message
        assert "VNet integration" in message

    def test_run_command_mode_switches_on_silence(self):
        """No answer in run-command mode: the run command session lists and reads."""
        runner = ScriptedRunner(ok(whole(["n1"], [block("n1")])))
        direct = FakeDirect(self.UNREACHABLE)
        session = PrivateClusterSession(
            CLUSTER, direct, "run-command", lambda: RunCommandSession(runner, CLUSTER)
        )
        assert [n.name for n in asyncio.run(session.list_nodes())] == ["n1"]
        assert asyncio.run(session.read_configz("n1")) == CONFIGZ.encode()
        asyncio.run(session.close())
        assert direct.closed

    @pytest.mark.parametrize("mode", ["report", "run-command"])
    def test_an_http_answer_is_not_silence(self, mode):
        """401/403/5xx from the API server are that cluster's error in either mode."""
        refused = ApiServerError("HTTP 403 while listing nodes: not authorized")
        session = PrivateClusterSession(CLUSTER, FakeDirect(refused), mode, _never)
        with pytest.raises(ApiServerError, match="HTTP 403") as caught:
            asyncio.run(session.list_nodes())
        assert "private" not in str(caught.value)


class TestRunner:
    def test_token_failure_is_a_run_command_error_without_the_token(self):
        """A failing clusterToken fetch names what failed; nothing reaches ARM."""

        def token() -> str:
            raise ClientAuthenticationError("ManagedIdentityCredential authentication unavailable")

        runner = ArmCommandRunner(cast(Any, None), CLUSTER, token)
        with pytest.raises(RunCommandError, match=r"getting an Entra ID token.*clusterToken"):
            runner.run(configz_script())

    def test_deadline_already_passed_submits_nothing(self):
        """After the run's deadline no command is started."""
        runner = ArmCommandRunner(cast(Any, None), CLUSTER, None, deadline=5.0, clock=lambda: 9.0)
        with pytest.raises(RunCommandError, match="deadline"):
            runner.run(configz_script())


def _never() -> RunCommandSession:
    raise AssertionError("the run command path must not be taken")
