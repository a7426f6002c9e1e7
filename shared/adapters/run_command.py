"""Private clusters: read configz through the AKS run command API when the API server is out of reach.

A private cluster's API server has only a private address; a scanner outside the cluster's network
gets no HTTP answer at all (connection refused, DNS, timeout). ``PrivateClusterSession`` tries the
API server first (the Functions app may be VNet-integrated) and, on that silence only, either
reports the cluster (``PRIVATE_CLUSTER_MODE=report``: an ERROR that names the private FQDN and the
fix) or switches to ``RunCommandSession`` (``run-command``).

The run command contract (Microsoft docs and azure-mgmt-containerservice 41.8.0):

* ``POST .../managedClusters/{name}/runCommand`` with ``{"command", "context", "clusterToken"}``
  answers 202 with a ``Location`` of ``.../commandResults/{commandId}`` ("you never get 200 from
  this api", https://learn.microsoft.com/rest/api/aks/managed-clusters/run-command); ``GET`` on
  it answers 202 while the command runs and 200 with ``RunCommandResult {id, properties:
  {provisioningState, exitCode, startedAt, finishedAt, logs, reason}}`` when it is over
  (operations ``begin_run_command`` / ``get_command_result``; examples RunCommandRequest.json and
  RunCommandResultFailed.json in Azure/azure-rest-api-specs ``.../aks/stable/2025-10-01``).
* The Azure CLI (``aks_runcommand`` in azure-cli ``acs/custom.py``) passes, for clusters with
  AKS-managed Entra ID, a token for the AKS server app as ``clusterToken`` so the command's
  kubectl runs as the caller, submits with ``retry_total=0`` and polls every 5 s; this adapter
  does the same with the scanner's managed identity and polls itself, so the run's deadline
  bounds the wait.
* https://learn.microsoft.com/azure/aks/access-private-cluster: the feature is "not designed for
  programmatic access", the pod must be scheduled within 60 s, output is capped at 512 kB, the
  pod has kubectl and jq, and ``apiServerAccessProfile.disableRunCommand`` turns it off; the caller
  needs ``runcommand/action`` and ``commandResults/read``. ``az aks update --enable-run-command``
  turns it back on (azure-cli 2.76.0, Azure/azure-cli PR #31854).

One command per cluster reads everything it can: the script (``configz_script``) lists the nodes
and prints one marked block per node (its compacted configz, or kubectl's error and exit code).
``parse_output`` reads that back; a node whose block is missing or cut short (the 512 kB cap) is
read again by follow-up commands that name only the missing nodes, sized so their output fits,
for a bounded number of rounds. The cluster token is sent in the request body and nowhere else:
never logged, never part of an error message.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from azure.core.exceptions import AzureError
from azure.core.polling import PollingMethod

from shared.adapters.azure_errors import azure_reason
from shared.core.errors import (
    ApiServerError,
    ApiServerUnreachableError,
    ConfigzFetchError,
    RunCommandError,
)
from shared.core.model import Cluster, Node
from shared.ports import ClusterSession, CommandOutput, CommandRunner

if TYPE_CHECKING:
    from azure.mgmt.containerservice import ContainerServiceClient
    from azure.mgmt.containerservice.models import RunCommandResult

log = logging.getLogger(__name__)

#: The documented output cap ("512 kB"; read here as KiB, the larger reading: the budget below
#: keeps a wide margin under either).
OUTPUT_LIMIT_BYTES = 512 * 1024
#: What a follow-up command aims to print, leaving room under the cap for an estimate that is off.
OUTPUT_BUDGET_BYTES = 384 * 1024
#: Expected size of one node's block before any has been seen (configz is a few kB).
DEFAULT_BLOCK_BYTES = 8 * 1024
#: Follow-up rounds for nodes the first command did not print; each round halves the batch.
MAX_FOLLOW_UP_ROUNDS = 3
#: Poll interval when the service sends no Retry-After (the Azure CLI polls every 5 s).
DEFAULT_POLL_SECONDS = 5.0
MAX_POLL_SECONDS = 30.0
#: Longest wait for one command when the run has no deadline (the Azure CLI waits 300 s).
COMMAND_TIMEOUT_SECONDS = 300.0
#: kubectl error text kept per node (the script cuts it there too).
ERROR_TEXT_BYTES = 2000

SCRIPT_HEADER = "# aks-kubelet-scanner: read kubelet configz (script format 1)"
NODE_FIELDS_JQ = (
    ".items[] | [.metadata.name, "
    '(.metadata.labels["kubernetes.azure.com/agentpool"] // .metadata.labels.agentpool // ""), '
    '(.status.nodeInfo.kubeletVersion // ""), (.status.nodeInfo.osImage // ""), '
    '([.status.conditions[]? | select(.type == "Ready") | .status] | first // "")]'
)
_NODE_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
_COMMAND_ID = re.compile(r"/commandResults/([^/?#]+)", re.IGNORECASE)
_BEGIN = "@@configz-begin "
_END = "@@configz-end "


# -- the script ------------------------------------------------------------------------------


def configz_script(nodes: Sequence[str] | None = None) -> str:
    """The bash the run command pod executes: every node (``None``) or the named ones.

    Output, one item per line: ``@@nodes-begin``, one JSON array per node ``[name, pool,
    kubeletVersion, osImage, Ready status]``, ``@@nodes-end`` (whole-cluster form only); then per
    node ``@@configz-begin <node>``, the configz body compacted by jq (or kubectl's error text, at
    most 2000 bytes), ``@@configz-end <node> <kubectl exit code>``; and ``@@done`` last. A failed
    node list prints ``@@nodes-error`` and kubectl's error, and exits 3.
    """
    lines = [SCRIPT_HEADER, "set -u"]
    if nodes is None:
        lines += [
            "if ! kubectl get nodes -o json > /tmp/nodes.json 2> /tmp/nodes.err; then",
            '  echo "@@nodes-error"',
            f"  head -c {ERROR_TEXT_BYTES} /tmp/nodes.err; echo",
            "  exit 3",
            "fi",
            'echo "@@nodes-begin"',
            f"jq -c '{NODE_FIELDS_JQ}' /tmp/nodes.json",
            'echo "@@nodes-end"',
            "NODES=$(jq -r '.items[].metadata.name' /tmp/nodes.json)",
        ]
    else:
        bad = [n for n in nodes if not _NODE_NAME.match(n)]
        if bad or not nodes:
            raise ValueError(f"not node names: {bad!r}" if bad else "no nodes named")
        lines.append(f'NODES="{" ".join(nodes)}"')
    lines += [
        "for n in $NODES; do",
        '  echo "@@configz-begin $n"',
        '  if out=$(kubectl get --raw "/api/v1/nodes/$n/proxy/configz" 2>&1); then',
        "    rc=0",
        """    printf '%s' "$out" | jq -c . 2>/dev/null || printf '%s\\n' "$out\"""",
        "  else",
        "    rc=$?",
        f"""    printf '%s' "$out" | head -c {ERROR_TEXT_BYTES}; echo""",
        "  fi",
        '  echo "@@configz-end $n $rc"',
        "done",
        'echo "@@done"',
    ]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True, slots=True)
class NodeBlock:
    """One node's complete block: kubectl's exit code and what it printed."""

    exit_code: int
    text: str


@dataclass(frozen=True, slots=True)
class ScriptOutput:
    """What ``parse_output`` found in a command's logs.

    ``nodes`` is None when the node list is absent or cut short; ``finished`` is True only when
    the final ``@@done`` arrived (otherwise the output was truncated or the pod died).
    """

    nodes: list[Node] | None
    node_list_error: str | None
    blocks: dict[str, NodeBlock]
    finished: bool


def parse_output(logs: str) -> ScriptOutput:
    """Read a command's logs back into nodes and per-node blocks. Never raises on bad input:
    an incomplete or malformed part is simply absent from the result."""
    lines = logs.split("\n")
    nodes: list[Node] | None = None
    node_list_error: str | None = None
    blocks: dict[str, NodeBlock] = {}
    finished = False
    index = 0
    while index < len(lines):
        line = lines[index].rstrip("\r")
        index += 1
        if line == "@@nodes-error":
            node_list_error = "\n".join(lines[index:]).strip()[:ERROR_TEXT_BYTES]
            break
        if line == "@@nodes-begin":
            listed: list[Node] = []
            closed = False
            while index < len(lines):
                item = lines[index].rstrip("\r")
                index += 1
                if item == "@@nodes-end":
                    closed = True
                    break
                node = _listed_node(item)
                if node is None:
                    break  # a cut or garbled line: the list cannot be trusted
                listed.append(node)
            nodes = listed if closed else None
            continue
        if line.startswith(_BEGIN):
            name = line[len(_BEGIN) :].strip()
            body: list[str] = []
            while index < len(lines):
                item = lines[index].rstrip("\r")
                if item.startswith((_BEGIN, "@@done")):
                    break  # the next block began: this one lost its end marker
                index += 1
                if item.startswith(_END):
                    parts = item[len(_END) :].split()
                    if len(parts) == 2 and parts[0] == name and parts[1].isdigit():
                        blocks[name] = NodeBlock(int(parts[1]), "\n".join(body))
                    break
                body.append(item)
            continue
        if line == "@@done":
            finished = True
    return ScriptOutput(nodes, node_list_error, blocks, finished)


def _listed_node(line: str) -> Node | None:
    try:
        fields = json.loads(line)
    except ValueError:
        return None
    if (
        not isinstance(fields, list)
        or len(fields) != 5
        or not all(isinstance(f, str) for f in fields)
        or not fields[0]
    ):
        return None
    name, pool, kubelet_version, os_image, ready = fields
    return Node(name, pool, kubelet_version, os_image, ready == "True")


# -- the ARM calls ---------------------------------------------------------------------------


class _Submitted(PollingMethod[Any]):
    """Keeps runCommand's first answer; the runner polls ``commandResults`` itself."""

    def __init__(self) -> None:
        self.initial: Any = None
        self._deserialize: Callable[[Any], Any] | None = None

    def initialize(self, client: Any, initial_response: Any, deserialization_callback: Any) -> None:
        self.initial = initial_response
        self._deserialize = deserialization_callback

    def run(self) -> None:
        return None

    def status(self) -> str:
        return "Submitted"

    def finished(self) -> bool:
        return True

    def resource(self) -> Any:
        return None

    def result_now(self) -> RunCommandResult | None:
        """The result when the service answered 200 straight away (documented as never)."""
        if self.initial is None or self._deserialize is None:
            return None
        if self.initial.http_response.status_code != 200:
            return None
        result: RunCommandResult = self._deserialize(self.initial)
        return result


class ArmCommandRunner:
    """CommandRunner over azure-mgmt-containerservice, bounded by a monotonic deadline."""

    def __init__(
        self,
        aks: ContainerServiceClient,
        cluster: Cluster,
        cluster_token: Callable[[], str] | None,
        *,
        deadline: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._aks = aks
        self._cluster = cluster
        self._cluster_token = cluster_token
        self._deadline = deadline
        self._clock = clock
        self._sleep = sleep

    def run(self, script: str) -> CommandOutput:
        """Submit ``script``, poll until it finishes or the deadline, return its output."""
        started = self._clock()
        deadline = started + COMMAND_TIMEOUT_SECONDS
        if self._deadline is not None:
            deadline = min(deadline, self._deadline)
        if started >= deadline:
            raise RunCommandError("run command not started: the run's deadline was reached first")
        from azure.mgmt.containerservice.models import RunCommandRequest  # noqa: PLC0415

        request = RunCommandRequest(command=script)
        submitted = _Submitted()
        cluster = self._cluster
        try:
            if self._cluster_token is not None:
                request.cluster_token = self._cluster_token()
        except AzureError as exc:
            raise RunCommandError(
                azure_reason(exc, "getting an Entra ID token for the AKS server app (clusterToken)")
            ) from None
        try:
            self._aks.managed_clusters.begin_run_command(
                cluster.resource_group,
                cluster.name,
                request,
                polling=submitted,
                retry_total=0,  # as the Azure CLI: a repeated POST would start a second pod
            )
        except AzureError as exc:
            raise RunCommandError(_refused(exc, cluster)) from None
        result = submitted.result_now()
        command_id = ""
        if result is None:
            location = str(submitted.initial.http_response.headers.get("Location") or "")
            match = _COMMAND_ID.search(location)
            if match is None:
                raise RunCommandError(
                    "runCommand was accepted but its Location header names no commandResults "
                    f"resource ({location[:200]!r})"
                )
            command_id = match.group(1)
            wait = _retry_after(submitted.initial.http_response.headers)
            result = self._wait(command_id, wait, deadline)
        state = str(result.provisioning_state or "").lower()
        command_id = str(result.id or command_id)
        if state != "succeeded":
            reason = str(result.reason or "no reason given")[:300]
            raise RunCommandError(
                f"the run command {command_id} ended {result.provisioning_state or 'without a state'} "
                f"({reason}); AKS runs it in a pod that must be scheduled within 60 seconds"
            )
        return CommandOutput(command_id, int(result.exit_code or 0), str(result.logs or ""))

    def _wait(self, command_id: str, wait: float, deadline: float) -> RunCommandResult:
        cluster = self._cluster
        while True:
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise RunCommandError(
                    f"the run command {command_id} had not finished when the run's deadline "
                    "(or the 300 s per-command bound) was reached"
                )
            self._sleep(min(wait, remaining))
            try:
                # ``cls`` sees the raw response (for Retry-After); the SDK types only the model.
                answer: Any = self._aks.managed_clusters.get_command_result(
                    cluster.resource_group,
                    cluster.name,
                    command_id,
                    cls=lambda response, result, headers: (response.http_response, result),
                )
            except AzureError as exc:
                raise RunCommandError(
                    azure_reason(exc, "reading the run command's result (commandResults/read)")
                ) from None
            response, result = cast("tuple[Any, RunCommandResult | None]", answer)
            if result is not None and str(result.provisioning_state or "").lower() in (
                "succeeded",
                "failed",
                "canceled",
            ):
                return result
            wait = _retry_after(response.headers)


def _retry_after(headers: Any) -> float:
    try:
        value = float(str(headers.get("Retry-After")))
    except (TypeError, ValueError):
        return DEFAULT_POLL_SECONDS
    return min(max(value, 0.0), MAX_POLL_SECONDS)


def _refused(exc: AzureError, cluster: Cluster) -> str:
    reason = azure_reason(exc, "submitting the run command (runCommand)")
    status = getattr(exc, "status_code", None)
    if status == 403:
        return (
            f"{reason}; the scanner's identity needs "
            "Microsoft.ContainerService/managedClusters/runcommand/action and "
            "Microsoft.ContainerService/managedClusters/commandResults/read on the cluster "
            "(deploy with privateClusterMode=run-command)"
        )
    if status in (400, 409):
        return (
            f"{reason}; if run command is disabled on the cluster "
            "(apiServerAccessProfile.disableRunCommand), enable it (az aks update "
            "--enable-run-command) or give the scanner network access to the API server"
        )
    return reason


# -- the session -----------------------------------------------------------------------------


@dataclass
class _Reads:
    """Per-node outcome: the configz body, or why it could not be read."""

    bodies: dict[str, bytes] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    block_bytes: int = 0
    commands: int = 0

    def known(self, name: str) -> bool:
        return name in self.bodies or name in self.errors

    def absorb(self, parsed: ScriptOutput, wanted: set[str] | None = None) -> None:
        for name, block in parsed.blocks.items():
            if wanted is not None and name not in wanted:
                continue
            self.block_bytes = max(self.block_bytes, len(block.text.encode()) + 2 * len(name) + 40)
            if block.exit_code == 0:
                self.bodies[name] = block.text.encode()
                self.errors.pop(name, None)
            else:
                text = " ".join(block.text.split())[:300] or "no output"
                self.errors[name] = (
                    f"kubectl get --raw .../proxy/configz in the run command exited "
                    f"{block.exit_code}: {text}"
                )


class RunCommandSession:
    """ClusterSession that reads the node list and every configz through run commands.

    ``list_nodes`` runs the whole-cluster script once (in the loop's executor: the run command
    API blocks for tens of seconds); a configz is answered from its output and, the first time
    a node is missing, the follow-up commands for every missing node run (in the executor,
    under a lock, so concurrent readers wait for the same commands instead of issuing their own).
    """

    def __init__(
        self,
        runner: CommandRunner,
        cluster: Cluster,
        *,
        budget_bytes: int = OUTPUT_BUDGET_BYTES,
        max_rounds: int = MAX_FOLLOW_UP_ROUNDS,
    ) -> None:
        self._runner = runner
        self._cluster = cluster
        self._budget = budget_bytes
        self._max_rounds = max_rounds
        self._nodes: list[Node] = []
        self._reads = _Reads()
        self._followed_up = False
        self._lock = threading.Lock()

    @property
    def commands(self) -> int:
        """Run commands issued so far."""
        return self._reads.commands

    async def list_nodes(self) -> list[Node]:
        """The nodes, from the first command's output. Raises ClusterError subclasses."""
        return await asyncio.to_thread(self.list_nodes_now)

    def list_nodes_now(self) -> list[Node]:
        """``list_nodes``, blocking the caller."""
        if self._cluster.run_command_disabled:
            raise RunCommandError(
                "the cluster is private and run command is disabled on it "
                "(apiServerAccessProfile.disableRunCommand=true); enable it (az aks update "
                "--enable-run-command) or give the scanner network access to the API server"
            )
        output = self._run(configz_script(None))
        parsed = parse_output(output.logs)
        if parsed.node_list_error is not None:
            raise ApiServerError(
                "kubectl get nodes failed inside the run command: "
                + (" ".join(parsed.node_list_error.split())[:300] or f"exit {output.exit_code}")
            )
        if parsed.nodes is None:
            if output.exit_code != 0:
                tail = " ".join(output.logs.split())[-300:] or "no output"
                raise RunCommandError(
                    f"the run command {output.command_id} exited {output.exit_code}: {tail}"
                )
            raise RunCommandError(
                "the run command's output has no complete node list (cut by the 512 kB output "
                f"limit at {len(output.logs.encode())} bytes?)"
            )
        if output.exit_code != 0:  # the list is whole: what is missing is read again below
            log.warning(
                "cluster %s: the run command %s exited %d after listing the nodes",
                self._cluster.resource_id,
                output.command_id,
                output.exit_code,
            )
        self._nodes = parsed.nodes
        self._reads.absorb(parsed, {n.name for n in parsed.nodes})
        return list(parsed.nodes)

    def read_configz_now(self, node_name: str) -> bytes:
        """The node's configz from the commands' output, blocking while follow-up commands run.
        Raises ConfigzFetchError."""
        if not self._reads.known(node_name):
            with self._lock:
                if not self._reads.known(node_name) and not self._followed_up:
                    self._followed_up = True
                    self._follow_up()
        if node_name in self._reads.bodies:
            return self._reads.bodies[node_name]
        raise ConfigzFetchError(
            self._reads.errors.get(node_name)
            or f"node {node_name} was not in the cluster's node list when run command read it"
        )

    async def read_configz(self, node_name: str) -> bytes:
        """``read_configz_now`` without blocking the loop: answered at once from the output
        already read; a node the output lacks waits in the executor for the follow-up commands
        (they can take tens of seconds)."""
        if self._reads.known(node_name) or node_name not in {n.name for n in self._nodes}:
            return self.read_configz_now(node_name)
        return await asyncio.to_thread(self.read_configz_now, node_name)

    async def close(self) -> None:
        """Nothing to release (a command in flight finishes on its own)."""

    def _run(self, script: str) -> CommandOutput:
        self._reads.commands += 1
        return self._runner.run(script)

    def _follow_up(self) -> None:
        """Read the nodes the first command did not print, in batches that fit the output cap."""
        missing = [n.name for n in self._nodes if not self._reads.known(n.name)]
        estimate = self._reads.block_bytes or DEFAULT_BLOCK_BYTES
        batch = max(1, self._budget // estimate)
        for round_number in range(1, self._max_rounds + 1):
            if not missing:
                return
            log.info(
                "cluster %s: %d nodes not in the run command output yet; round %d, %d per command",
                self._cluster.resource_id,
                len(missing),
                round_number,
                batch,
            )
            for start in range(0, len(missing), batch):
                chunk = missing[start : start + batch]
                try:
                    output = self._run(configz_script(chunk))
                except RunCommandError as exc:
                    for name in missing[start:]:
                        self._reads.errors[name] = f"follow-up run command failed: {exc}"
                    return
                parsed = parse_output(output.logs)
                if output.exit_code != 0 and not parsed.blocks:
                    tail = " ".join(output.logs.split())[-300:] or "no output"
                    for name in chunk:
                        self._reads.errors[name] = (
                            f"follow-up run command {output.command_id} exited "
                            f"{output.exit_code}: {tail}"
                        )
                    continue
                self._reads.absorb(parsed, set(chunk))
            missing = [n for n in missing if not self._reads.known(n)]
            batch = max(1, math.ceil(batch / 2))
        for name in missing:
            self._reads.errors[name] = (
                f"its configz block was cut off by the run command's 512 kB output limit in "
                f"{self._max_rounds + 1} attempts (output limit)"
            )


# -- private clusters ------------------------------------------------------------------------


def private_cluster_reason(cluster: Cluster, cause: Exception) -> str:
    """The ERROR reason for a private cluster the scanner cannot reach in ``report`` mode."""
    fqdn = cluster.private_fqdn or "(ARM reports no privateFQDN)"
    return (
        f"the cluster is private (apiServerAccessProfile.enablePrivateCluster) and its API server "
        f"{fqdn} is not reachable from the scanner's network ({cause}); set "
        "PRIVATE_CLUSTER_MODE=run-command to read configz through the AKS run command API, or run "
        "the scanner in a network that reaches the API server (VNet integration with the "
        "cluster's private DNS zone linked, or a private endpoint)"
    )


class PrivateClusterSession:
    """ClusterSession for a private cluster: the API server if it answers, else the fallback."""

    def __init__(
        self,
        cluster: Cluster,
        direct: ClusterSession,
        mode: str,
        fallback: Callable[[], ClusterSession],
    ) -> None:
        self._cluster = cluster
        self._direct = direct
        self._mode = mode
        self._fallback = fallback
        self._active: ClusterSession = direct

    async def list_nodes(self) -> list[Node]:
        """Nodes from the API server; on no answer at all, report or switch to run command."""
        try:
            return await self._direct.list_nodes()
        except ApiServerUnreachableError as exc:
            if self._mode != "run-command":
                raise ApiServerError(private_cluster_reason(self._cluster, exc)) from None
            log.info(
                "cluster %s is private and its API server did not answer (%s); reading configz "
                "through run command",
                self._cluster.resource_id,
                exc,
            )
        self._active = self._fallback()
        return await self._active.list_nodes()

    async def read_configz(self, node_name: str) -> bytes:
        """Read configz through whichever way listed the nodes."""
        return await self._active.read_configz(node_name)

    async def close(self) -> None:
        """Close both ways."""
        await self._direct.close()
        if self._active is not self._direct:
            await self._active.close()
