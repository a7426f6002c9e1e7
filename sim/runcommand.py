"""What the AKS run command pod would print for the scanner's configz script.

The simulator does not run bash. It recognizes the one script form the scanner sends
(``shared.adapters.run_command.configz_script``: a header line, ``NODES`` either from
``kubectl get nodes -o json`` or a quoted list of names, and the loop over
``kubectl get --raw "/api/v1/nodes/$n/proxy/configz"``) and prints what that script prints,
from the same estate model the API servers serve: the node list projected as the script's jq
does, each node's configz body compacted as ``jq -c .`` would, and kubectl's error lines where
the API server would refuse. Anything else exits 127 with a message that says so.

kubectl's error wording (``Error from server (Forbidden): ...``, ``error: You must be logged in to
the server (Unauthorized)``) is kubectl's usual form [I: widely seen, not re-read in kubectl's
source]. The 512 kB output cap is applied to the UTF-8 bytes of ``logs`` (the first 512 KiB are
kept) [I: the docs give the size, not which part survives].
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from sim.apiserver import AZURE_RBAC_DENIAL, node_json
from sim.estate import Identity, SimCluster, SimNode
from sim.kubeletconfig import configz_body

OUTPUT_LIMIT_BYTES = 512 * 1024
SCRIPT_HEADER = "# aks-kubelet-scanner: read kubelet configz (script format 1)"
_ALL_NODES = "NODES=$(jq -r '.items[].metadata.name' /tmp/nodes.json)"
_NAMED = re.compile(r'^NODES="(?P<names>[a-z0-9.\- ]+)"$')
_LOOP = 'if out=$(kubectl get --raw "/api/v1/nodes/$n/proxy/configz" 2>&1); then'
UNKNOWN_EXIT = 127
NODE_LIST_EXIT = 3


@dataclass(frozen=True, slots=True)
class ScriptForm:
    """The scanner script's one parameter: every node (None) or the named ones."""

    nodes: tuple[str, ...] | None


def recognize(command: str) -> ScriptForm | None:
    """The script's form, or None when ``command`` is not the scanner's configz script."""
    lines = [line.strip() for line in command.splitlines()]
    if not lines or lines[0] != SCRIPT_HEADER or _LOOP not in lines:
        return None
    if (
        _ALL_NODES in lines
        and "if ! kubectl get nodes -o json > /tmp/nodes.json 2> /tmp/nodes.err; then" in lines
    ):
        return ScriptForm(None)
    for line in lines:
        match = _NAMED.match(line)
        if match:
            return ScriptForm(tuple(match["names"].split()))
    return None


@dataclass(frozen=True, slots=True)
class Execution:
    """What the pod printed and how it exited."""

    exit_code: int
    logs: str
    truncated: bool = False


def execute(
    command: str,
    cluster: SimCluster,
    subscription_id: str,
    identity: Identity,
    principal: str | None,
) -> Execution:
    """Run the scanner's script against the estate as ``principal`` (None: not logged in)."""
    form = recognize(command)
    if form is None:
        first = command.strip().splitlines()[0][:120] if command.strip() else ""
        return Execution(
            UNKNOWN_EXIT,
            "sim: only the scanner's configz script (format 1) is simulated; this command is "
            f"not it (first line: {first!r})\n",
        )
    nodes = sorted(cluster.nodes(), key=lambda n: n.name)
    out: list[str] = []
    if form.nodes is None:
        refusal = _refusal(
            cluster,
            identity=identity,
            principal=principal,
            verb="list",
            resource="nodes",
            name=None,
        )
        if refusal is not None:
            return _capped(NODE_LIST_EXIT, f"@@nodes-error\n{refusal}\n")
        out.append("@@nodes-begin")
        for node in nodes:
            out.append(
                json.dumps(_projection(cluster, subscription_id, node), separators=(",", ":"))
            )
        out.append("@@nodes-end")
        names = [n.name for n in nodes]
    else:
        names = list(form.nodes)
    by_name = {n.name: n for n in nodes}
    for name in names:
        out.append(f"@@configz-begin {name}")
        code, text = _configz(cluster, identity, principal, by_name.get(name), name)
        out.append(text)
        out.append(f"@@configz-end {name} {code}")
    out.append("@@done")
    return _capped(0, "\n".join(out) + "\n")


def _capped(code: int, logs: str) -> Execution:
    raw = logs.encode("utf-8")
    if len(raw) <= OUTPUT_LIMIT_BYTES:
        return Execution(code, logs)
    return Execution(code, raw[:OUTPUT_LIMIT_BYTES].decode("utf-8", "ignore"), truncated=True)


def _projection(cluster: SimCluster, subscription_id: str, node: SimNode) -> list[str]:
    """The script's jq projection of the Node object the API server would list."""
    item = node_json(cluster, subscription_id, node)
    labels = item["metadata"]["labels"]
    info = item["status"]["nodeInfo"]
    ready = [c["status"] for c in item["status"]["conditions"] if c["type"] == "Ready"]
    pool = labels.get("kubernetes.azure.com/agentpool") or labels.get("agentpool") or ""
    return [
        item["metadata"]["name"],
        pool,
        info.get("kubeletVersion", ""),
        info.get("osImage", ""),
        ready[0] if ready else "",
    ]


def _refusal(
    cluster: SimCluster,
    *,
    identity: Identity,
    principal: str | None,
    verb: str,
    resource: str,
    name: str | None,
) -> str | None:
    """kubectl's error line when the API server would refuse the call, else None."""
    if cluster.aad_managed and principal is None:
        return "error: You must be logged in to the server (Unauthorized)"
    if principal is None:  # no Entra integration: the pod uses the cluster's own credentials
        return None
    if cluster.allowed(principal, identity, proxy=resource == "nodes/proxy"):
        return None
    subject = f'nodes "{name}"' if name is not None else "nodes"
    message = (
        f'Error from server (Forbidden): {subject} is forbidden: User "{principal}" cannot {verb} '
        f'resource "{resource}" in API group "" at the cluster scope'
    )
    return message + (AZURE_RBAC_DENIAL if cluster.azure_rbac else "")


def _configz(
    cluster: SimCluster,
    identity: Identity,
    principal: str | None,
    node: SimNode | None,
    name: str,
) -> tuple[int, str]:
    """(kubectl's exit code, what the script prints) for one node's configz."""
    refusal = _refusal(
        cluster,
        identity=identity,
        principal=principal,
        verb="get",
        resource="nodes/proxy",
        name=name,
    )
    if refusal is not None:
        return 1, refusal
    if node is None:
        return 1, f'Error from server (NotFound): nodes "{name}" not found'
    if node.override.unreachable:
        return 1, (
            "Error from server (ServiceUnavailable): error trying to reach service: dial tcp "
            f"{node.internal_ip}:10250: connect: connection refused"
        )
    body = node.override.body if node.override.body is not None else configz_body(node.configz)
    try:
        document = json.loads(body)
    except ValueError:
        return 0, body.decode("utf-8", "replace")  # jq failed: the script prints the raw body
    return 0, json.dumps(document, separators=(",", ":"), ensure_ascii=False)
