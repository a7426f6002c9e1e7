"""Baseline: the sequential loop a user would write with the kubernetes client.

``python -m bench.client_loop KUBECONFIG`` loads the kubeconfig the usual way, lists the nodes
(``list_node``, models and all), then reads each node's configz one after the other and parses
it. No evaluation, no upload: the baseline does less work than the scanner. Prints one JSON line.
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import json  # noqa: E402 - the clock starts before any import
import sys  # noqa: E402
from typing import cast  # noqa: E402

import urllib3  # noqa: E402
from kubernetes import client, config  # noqa: E402


def main(argv: list[str]) -> int:
    """Read every node's configz in turn; print counts and times."""
    (kubeconfig,) = argv
    _ = client.CoreV1Api  # loaded lazily by the package; count it as an import
    imported = time.perf_counter()
    config.load_kube_config(config_file=kubeconfig)  # type: ignore[no-untyped-call]
    api = client.CoreV1Api()
    names = [
        node.metadata.name
        for node in api.list_node().items
        if node.metadata is not None and node.metadata.name
    ]
    read = 0
    for name in names:
        response = cast(
            urllib3.BaseHTTPResponse,
            api.connect_get_node_proxy_with_path(name, "configz", _preload_content=False),
        )
        document = json.loads(response.data)
        if "kubeletconfig" in document:
            read += 1
    ended = time.perf_counter()
    print(
        json.dumps(
            {
                "import_seconds": round(imported - STARTED, 4),
                "loop_seconds": round(ended - imported, 4),
                "nodes": len(names),
                "configz_read": read,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
