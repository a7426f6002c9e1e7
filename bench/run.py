"""The benchmark driver: ``python -m bench [--profile full|tiny] [--kubectl PATH] [--output FILE]``.

Phases, each against a simulated estate in its own process:

1. estate: the scanner (default limits) on ``clusters x nodes`` with the configured latencies,
   ``repeats`` times; wall time, nodes/s, CPU, peak RSS; every run is verified (every configz
   answered 200, every row accepted by the Logs Ingestion endpoint, nothing dead-lettered).
2. floor: the latency floor of that estate for the limits used (bench.floor), and the ratio.
3. baselines on one cluster: the ``kubectl get --raw`` loop, the sequential kubernetes-client
   loop and the scanner, same latencies.
4. growth: the same shape at fewer clusters (and the estate run), per-node cost and memory.
5. cold start: ``import function_app`` in fresh interpreters; which heavy modules it loads.
6. limits sweep: the scanner on the estate under other (concurrency, cluster concurrency).
7. section 4: one cluster of 5,000 nodes running 100,000 pods, and the same shape with 10,000,
   scanned with ``CIS_SECTIONS=4``: the section 4 lists' wall time, objects read per second,
   peak RSS and the memory ratio.

The node scan of phases 1-4 and 6 is what issue #15 measured: ``CIS_SECTIONS`` = every control
of the default benchmark that reads no Kubernetes list (``NODE_SCAN``); each estate run is
followed by one with every section (the default selection, section 4's 22 lists per cluster
included), so the table says what the lists cost the node scan.

Prints the table, writes the results file (JSON, the table included), and exits 1 when a run
could not be verified (a benchmark of a scan that lost rows measures nothing). Missed targets
do not fail it: they are reported, with what bounds them.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.floor import PREFETCH_WORKERS, Latencies, floor
from bench.machine import describe
from bench.processes import Measured, measure
from bench.simulator import EstateProcess, EstateShape, Snapshot
from shared.adapters.kube_policy import NODE_PAGE_SIZE
from shared.core import k8s_lists
from shared.core.controls import Benchmark
from shared.core.records import FINDINGS_STREAM, RUNS_STREAM

ROOT = Path(__file__).resolve().parents[1]
AKS_SERVER_APP_ID = "6dae42f8-4368-4678-94ff-3960e28e3630"
#: Environment variables that would change what the scanner or azure-identity does.
FOREIGN = ("IDENTITY_SERVER_THUMBPRINT", "MSI_ENDPOINT", "MSI_SECRET", "IMDS_ENDPOINT")
HEAVY_MODULES = (
    "kubernetes",
    "azure.mgmt",
    "azure.identity",
    "azure.monitor",
    "azure.storage",
    "msal",
    "urllib3",
    "requests",
    "yaml",
    "rich",
    "pydantic",
    "cryptography",
)
#: Modules the issue says ``import function_app`` must not load.
FORBIDDEN_AT_IMPORT = ("kubernetes", "azure.mgmt")


@dataclass(frozen=True, slots=True)
class Section4Case:
    """One cluster of ``nodes`` nodes running ``pods`` pods, and the same shape at ``small_pods``
    (the memory ratio), each in ``namespaces`` namespaces."""

    nodes: int
    pods: int
    small_pods: int
    namespaces: int = 50


@dataclass(frozen=True, slots=True)
class Profile:
    """Sizes and repeats of one benchmark run."""

    name: str
    estate: EstateShape
    growth_clusters: tuple[int, ...]
    baseline_nodes: int
    sweep: tuple[tuple[int, int], ...]
    repeats: int
    cold_start_repeats: int
    section4: Section4Case | None = None
    sim_processes: int = 1


CONFIGZ_MS, LIST_MS, ARM_MS = 50.0, 50.0, 20.0
LATENCY = {"configz_ms": CONFIGZ_MS, "list_ms": LIST_MS, "arm_ms": ARM_MS}


def default_benchmark() -> Benchmark:
    """The benchmark a scan evaluates without ``CIS_BENCHMARK``."""
    from shared.core.controls.registry import get_benchmark  # noqa: PLC0415
    from shared.settings import DOCUMENTED  # noqa: PLC0415

    return get_benchmark(DOCUMENTED["CIS_BENCHMARK"][0])


#: Issue #15's node scan: every control of the default benchmark that reads no Kubernetes list
#: (the kubelet and the ARM-evaluated ones), as ``CIS_SECTIONS`` control ids.
NODE_SCAN: tuple[str, ...] = tuple(
    c.id for c in default_benchmark().controls if not c.needs_session
)
#: The default selection (``CIS_SECTIONS`` unset: every section).
ALL_SECTIONS: tuple[str, ...] = ()
#: The section 4 case.
SECTION4: tuple[str, ...] = ("4",)


def selected(sections: tuple[str, ...]) -> Benchmark:
    """The default benchmark under ``CIS_SECTIONS=sections`` (empty: every section)."""
    return default_benchmark().select(sections)


def sections_label(sections: tuple[str, ...]) -> str:
    """How the table names a selection."""
    if not sections:
        return "every section"
    if sections == NODE_SCAN:
        return "#15's node scan"
    return f"CIS_SECTIONS={','.join(sections)}"


def list_endpoints() -> dict[str, bool]:
    """The simulator's endpoint of each section 4 list, and whether its 404 means "not installed"
    (an optional CRD: Calico, Cilium), from ``k8s_lists.READS``."""
    from sim.kubelists import TYPES  # noqa: PLC0415

    return {
        TYPES[(ref.group, ref.version, ref.resource)].endpoint.value: (
            ref in k8s_lists.OPTIONAL_READS
        )
        for ref in k8s_lists.READS
    }


def shaped(clusters: int, nodes_per_cluster: int) -> EstateShape:
    """An estate of this size with the benchmark's latencies."""
    return EstateShape(clusters, nodes_per_cluster, CONFIGZ_MS, LIST_MS, ARM_MS)


PROFILES = {
    "full": Profile(
        name="full",
        estate=shaped(100, 100),
        growth_clusters=(10,),
        baseline_nodes=200,
        sweep=((32, 8), (128, 8), (128, 16), (256, 16)),
        repeats=3,
        cold_start_repeats=5,
        section4=Section4Case(nodes=5000, pods=100_000, small_pods=10_000),
    ),
    "tiny": Profile(
        name="tiny",
        estate=shaped(2, 5),
        growth_clusters=(1,),
        baseline_nodes=5,
        sweep=(),
        repeats=1,
        cold_start_repeats=1,
        section4=Section4Case(nodes=5, pods=200, small_pods=20, namespaces=5),
    ),
}


# -- one scan ---------------------------------------------------------------------------------


@dataclass
class ScanRun:
    """One scanner process against one estate, measured and verified."""

    shape: EstateShape
    process: Measured
    report: dict[str, Any]
    server: Snapshot
    sections: tuple[str, ...] = ()
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    load_average: float = 0.0  # the machine's 1-minute load average when the scan started

    @property
    def scan_seconds(self) -> float:
        """Discovery to the last upload, inside the scanner process."""
        return float(self.report["scan_seconds"])

    @property
    def nodes(self) -> int:
        """Nodes the run record counted."""
        return int(self.report["run"]["Nodes"])

    @property
    def limits(self) -> tuple[int, int]:
        """(concurrency, cluster concurrency) the scanner ran with."""
        return int(self.report["limits"]["concurrency"]), int(
            self.report["limits"]["cluster_concurrency"]
        )

    @property
    def list_requests(self) -> int:
        """Section 4 list requests the estate answered (any status; node lists not counted)."""
        return sum(self.server.count(endpoint) for endpoint in list_endpoints())

    def section4(self) -> dict[str, Any]:
        """What the session fact reader did (bench.scan_child): objects, pages, seconds, and
        the lists' latency floor: the longest list's pages one after another, or every page
        at LIST_CONCURRENCY at a time, whichever is longer."""
        from shared.adapters.kube_objects import LIST_CONCURRENCY  # noqa: PLC0415

        read = dict(self.report.get("section4") or {})
        seconds = float(read.get("seconds_max") or 0.0)
        objects = int(read.get("objects") or 0)
        calls = read.get("calls") or [{}]
        pages = [int(p) for _, p in (calls[0].get("by_list") or {}).values()]
        rounds = max(max(pages, default=0), math.ceil(sum(pages) / LIST_CONCURRENCY))
        return {
            **read,
            "objects_per_second": round(objects / seconds) if seconds else 0,
            "list_requests": self.list_requests,
            "floor_seconds": round(rounds * self.shape.list_ms / 1000, 3),
        }

    def floor(self) -> dict[str, Any]:
        """The latency floor of this run's estate and limits."""
        concurrency, cluster_concurrency = self.limits
        return floor(
            [self.shape.nodes_per_cluster] * self.shape.clusters,
            concurrency,
            cluster_concurrency,
            latencies(self.shape),
            subscriptions=self.shape.subscriptions,
        ).as_dict()

    def summary(self) -> dict[str, Any]:
        """For the results file."""
        run = self.report["run"]
        the_floor = self.floor()
        return {
            "estate": self.shape.label(),
            "sections": sections_label(self.sections),
            "nodes": self.nodes,
            "limits": {"concurrency": self.limits[0], "cluster_concurrency": self.limits[1]},
            "process": self.process.summary(),
            "import_seconds": self.report["import_seconds"],
            "scan_seconds": self.scan_seconds,
            "nodes_per_second": round(self.nodes / self.scan_seconds, 1),
            "floor": the_floor,
            "ratio_to_floor": round(self.scan_seconds / the_floor["ideal"], 3),
            "ratio_to_pipeline_model": round(self.scan_seconds / the_floor["pipeline_model"], 3),
            "scanner_cores_busy": round(self.process.cpu_seconds / self.process.wall_seconds, 2),
            "cpu_ms_per_node": round(self.process.cpu_seconds / max(self.nodes, 1) * 1000, 3),
            "rss_after_import_mb": self.report.get("rss_after_import_mb"),
            "load_average_1m": self.load_average,
            "kubernetes_loaded": self.report.get("kubernetes_loaded"),
            "simulator_cpu_seconds": self.server.cpu_seconds,
            "rows_accepted": dict(self.server.accepted),
            "server_answers": {
                "configz_200": self.server.count("configz", 200),
                "section4_lists": self.list_requests,
                "failures": self.server.failures(),
            },
            "section4": self.section4(),
            "run_record": {
                k: run[k]
                for k in ("Clusters", "ClustersFailed", "Nodes", "NodesFailed", "RowsSent")
            },
            "rows_dead_lettered": self.report["rows_dead_lettered"],
            "verified": not self.problems,
            "problems": self.problems,
            "warnings": self.warnings,
        }


def latencies(shape: EstateShape) -> Latencies:
    """Seconds per call of an estate shape."""
    return Latencies(shape.arm_ms / 1000, shape.list_ms / 1000, shape.configz_ms / 1000)


def expected_rows(shape: EstateShape, sections: tuple[str, ...] = ALL_SECTIONS) -> int:
    """Finding rows of a whole scan with the default benchmark under ``sections``: one per node
    and node-scoped control, one per cluster and cluster-scoped control (ARM and session)."""
    benchmark = selected(sections)
    per_cluster = len(benchmark.arm_controls) + len(benchmark.session_controls)
    return shape.nodes * len(benchmark.node_controls) + shape.clusters * per_cluster


def scanner_env(
    sim: EstateProcess,
    dead_letters: Path,
    limits: tuple[int, int] | None,
    sections: tuple[str, ...] = ALL_SECTIONS,
) -> dict[str, str]:
    """The environment of a scanner process: the estate's, nothing of the caller's settings
    (``CIS_SECTIONS`` from ``sections``: empty is every section)."""
    from shared.settings import DOCUMENTED  # noqa: PLC0415

    env = {k: v for k, v in os.environ.items() if k not in DOCUMENTED and k not in FOREIGN}
    env.update(sim.env)
    env["PYTHONPATH"] = str(ROOT)
    env["DEADLETTER_DIR"] = str(dead_letters)
    if limits is not None:
        env["SCAN_CONCURRENCY"], env["SCAN_CLUSTER_CONCURRENCY"] = str(limits[0]), str(limits[1])
    env["CIS_SECTIONS"] = ",".join(sections) or "all"
    return env


def scan(
    sim: EstateProcess,
    work: Path,
    label: str,
    limits: tuple[int, int] | None = None,
    *,
    sections: tuple[str, ...],
) -> ScanRun:
    """Run the scanner once against ``sim`` under ``CIS_SECTIONS=sections`` and verify that
    nothing was lost: every node, every configz the selection needs (none without a node
    control), every section 4 list of every cluster (none without a session control), every row."""
    dead_letters = work / f"deadletter-{label}"
    shutil.rmtree(dead_letters, ignore_errors=True)
    load = os.getloadavg()[0]
    before = sim.snapshot()
    process = measure(
        [sys.executable, "-m", "bench.scan_child"],
        env=scanner_env(sim, dead_letters, limits, sections),
        cwd=ROOT,
        stderr_path=work / f"scan-{label}.stderr",
    )
    server = sim.snapshot().since(before)
    report = process.last_json()
    run = ScanRun(sim.shape, process, report, server, sections, load_average=round(load, 2))
    rows = expected_rows(sim.shape, sections)
    benchmark = selected(sections)
    record = report["run"]
    dead_lettered = int(report["rows_dead_lettered"])
    checks = {
        "run record Nodes": (record["Nodes"], sim.nodes),
        "run record NodesFailed": (record["NodesFailed"], 0),
        "run record ClustersFailed": (record["ClustersFailed"], 0),
        "run record Errors": (record["Errors"], 0),
        "configz answered 200": (
            server.count("configz", 200),
            sim.nodes if benchmark.node_controls else 0,
        ),
        # Every row is either in Log Analytics or waiting in the dead-letter folder.
        "rows accepted by Logs Ingestion + rows dead-lettered": (
            server.accepted[FINDINGS_STREAM] + server.accepted[RUNS_STREAM] + dead_lettered,
            rows + 1,
        ),
        "rows the scanner counted as accepted": (
            report["rows_sent"],
            server.accepted[FINDINGS_STREAM] + server.accepted[RUNS_STREAM],
        ),
        "undelivered rows": (report["undelivered_rows"], 0),
    }
    for name, (got, want) in checks.items():
        if got != want:
            run.problems.append(f"{name}: {got}, expected {want}")
    run.problems += _list_problems(run, benchmark, len(sim.clusters))
    refused = {k: n for k, n in server.failures().items() if k.startswith("ingestion|")}
    # An optional CRD's list (Calico, Cilium) answers 404: not installed in the simulator.
    optional = {f"{endpoint}|404" for endpoint, yes in list_endpoints().items() if yes}
    others = {k: n for k, n in server.failures().items() if k not in refused and k not in optional}
    if others:
        run.problems.append(f"error answers from the estate: {others}")
    if dead_lettered or refused:
        run.warnings.append(
            f"Logs Ingestion refused uploads {refused}: {dead_lettered} of {rows + 1} rows went "
            f"to the dead-letter folder ({report['dead_letter_files']} files) instead of Log "
            "Analytics (not lost, but not delivered in this run)"
        )
    return run


def _list_problems(run: ScanRun, benchmark: Benchmark, clusters: int) -> list[str]:
    """Section 4's reads, verified: with session controls, every list of every cluster answered
    (200, or 404 for an optional CRD) and the reader reported each cluster with no failed list;
    without, not one list request."""
    found: list[str] = []
    read = run.report.get("section4") or {}
    if not benchmark.session_controls:
        if run.list_requests:
            found.append(
                f"section 4 lists requested without a session control: {run.list_requests}"
            )
        return found
    for endpoint, optional in list_endpoints().items():
        answered = run.server.count(endpoint, 200) + (
            run.server.count(endpoint, 404) if optional else 0
        )
        if answered < clusters:
            found.append(f"{endpoint}: {answered} clusters answered, expected {clusters}")
    if read.get("clusters") != clusters:
        found.append(f"section 4 read on {read.get('clusters')} clusters, expected {clusters}")
    for failure in [*read.get("failed", []), *read.get("unread", [])]:
        found.append(f"section 4 list not read: {failure}")
    pods = run.shape.pods_per_cluster * clusters
    calls = read.get("calls") or []
    pods_read = sum((c.get("by_list") or {}).get("pods", [0, 0])[0] for c in calls)
    if len(calls) == clusters and pods_read < pods:
        found.append(f"section 4 read {pods_read} pods, expected at least {pods}")
    return found


# -- baselines ----------------------------------------------------------------------------------


def token_for(sim: EstateProcess, resource: str) -> str:
    """A token from the estate's managed-identity endpoint, as kubelogin or az would get one."""
    query = urllib.parse.urlencode(
        {"api-version": "2019-08-01", "resource": resource, "client_id": sim.env["AZURE_CLIENT_ID"]}
    )
    request = urllib.request.Request(  # noqa: S310 - the estate's loopback http endpoint
        f"{sim.env['IDENTITY_ENDPOINT']}?{query}",
        headers={"X-IDENTITY-HEADER": sim.env["IDENTITY_HEADER"]},
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
        token: str = json.loads(response.read())["access_token"]
    return token


def write_kubeconfig(directory: Path, server: str, ca_pem: str, token: str) -> Path:
    """A kubeconfig (mode 0600) for one simulated API server with a bearer token."""
    import base64  # noqa: PLC0415

    import yaml  # noqa: PLC0415

    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "bench",
                "cluster": {
                    "server": server,
                    "certificate-authority-data": base64.b64encode(ca_pem.encode()).decode(),
                },
            }
        ],
        "users": [{"name": "bench", "user": {"token": token}}],
        "contexts": [{"name": "bench", "context": {"cluster": "bench", "user": "bench"}}],
        "current-context": "bench",
    }
    path = directory / "kubeconfig"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        yaml.safe_dump(document, handle)
    return path


KUBECTL_LOOP = """
set -u
"$KUBECTL" get --raw /api/v1/nodes > /dev/null || exit 1
ok=0
while read -r name; do
  "$KUBECTL" get --raw "/api/v1/nodes/$name/proxy/configz" > /dev/null && ok=$((ok + 1))
done < "$NODE_NAMES"
echo "{\\"configz_read\\": $ok}"
"""


def kubectl_version(kubectl: str) -> dict[str, str]:
    """The client's own version and, where known, the Debian package it came from."""
    info: dict[str, str] = {"path": kubectl}
    result = subprocess.run(  # noqa: S603 - the kubectl binary we were given
        [kubectl, "version", "--client", "-o", "json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    try:
        info["gitVersion"] = json.loads(result.stdout)["clientVersion"]["gitVersion"]
    except (ValueError, KeyError, TypeError):
        info["gitVersion"] = result.stdout.strip()[:100] or "unknown"
    origin = Path(kubectl).resolve().parents[2] / "debian-package"
    if origin.exists():
        info["debian_package"] = origin.read_text(encoding="utf-8").strip()
    else:
        owner = subprocess.run(  # noqa: S603 - dpkg query, read-only
            ["dpkg-query", "-S", str(Path(kubectl).resolve())],  # noqa: S607
            capture_output=True,
            text=True,
            check=False,
        )
        package = owner.stdout.split(":", 1)[0].strip()
        if package:
            version = subprocess.run(  # noqa: S603 - dpkg query, read-only
                ["dpkg-query", "-W", "-f=${Version}", package],  # noqa: S607
                capture_output=True,
                text=True,
                check=False,
            )
            info["debian_package"] = f"{package} {version.stdout.strip()}"
    return info


def node_names(sim: EstateProcess) -> list[str]:
    """Node names of the estate's clusters, from the estate definition."""
    from sim import generated_estate  # noqa: PLC0415

    shape = sim.shape
    estate = generated_estate(
        shape.clusters, shape.nodes_per_cluster, subscriptions=shape.subscriptions
    )
    return [node.name for _, cluster in estate.clusters() for node in cluster.nodes()]


def baselines(profile: Profile, work: Path, kubectl: str | None, log: Any) -> dict[str, Any]:
    """kubectl loop, sequential client loop and the scanner on one cluster."""
    shape = shaped(1, profile.baseline_nodes)
    result: dict[str, Any] = {"estate": shape.label(), "nodes": shape.nodes}
    private = Path(tempfile.mkdtemp(prefix="bench-kube-"))
    try:
        with EstateProcess(
            shape, root=ROOT, log_path=work / "estate-baseline.log", processes=profile.sim_processes
        ) as sim:
            cluster = sim.clusters[0]
            kubeconfig = write_kubeconfig(
                private, cluster["server"], cluster["ca_pem"], token_for(sim, AKS_SERVER_APP_ID)
            )
            names = private / "nodes.txt"
            names.write_text("\n".join(node_names(sim)) + "\n", encoding="utf-8")
            if kubectl:
                log(f"baseline: kubectl get --raw loop over {shape.nodes} nodes ...")
                before = sim.snapshot()
                loop = measure(
                    ["bash", "-c", KUBECTL_LOOP],
                    env={
                        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                        "HOME": str(private),
                        "KUBECONFIG": str(kubeconfig),
                        "KUBECTL": kubectl,
                        "NODE_NAMES": str(names),
                    },
                    cwd=private,
                    stderr_path=work / "kubectl-loop.stderr",
                    timeout=1200,
                )
                served = sim.snapshot().since(before)
                result["kubectl"] = {
                    "client": kubectl_version(kubectl),
                    "process": loop.summary(),
                    "configz_read": loop.last_json()["configz_read"],
                    "configz_served_200": served.count("configz", 200),
                }
            else:
                result["kubectl"] = {"skipped": "no kubectl given (--kubectl)"}
            log(f"baseline: sequential kubernetes-client loop over {shape.nodes} nodes ...")
            client = measure(
                [sys.executable, "-m", "bench.client_loop", str(kubeconfig)],
                env={**os.environ, "PYTHONPATH": str(ROOT), "HOME": str(private)},
                cwd=ROOT,
                stderr_path=work / "client-loop.stderr",
            )
            report = client.last_json()
            result["client_loop"] = {"process": client.summary(), **report}
            log("baseline: the scanner on the same cluster ...")
            scanner = scan(sim, work, "baseline", sections=NODE_SCAN)
            result["scanner"] = scanner.summary()
    finally:
        shutil.rmtree(private, ignore_errors=True)
    return result


# -- cold start ---------------------------------------------------------------------------------

COLD_START = """
import json, sys, time
began = time.perf_counter()
import function_app
took = time.perf_counter() - began
names = sorted(sys.modules)
heavy = {h: sorted(m for m in names if m == h or m.startswith(h + ".")) for h in HEAVY}
print(json.dumps({"seconds": took, "modules": len(names),
                  "heavy": {h: len(m) for h, m in heavy.items() if m}}))
"""


#: What a scan imports before it can run: the CLI's scan path (the entry point, the composition
#: root and what ``build`` loads lazily, the event loop); a trigger's is the same without the CLI.
SCAN_PATH_MODULES = (
    "shared.entrypoints.cli",
    "shared.bootstrap",
    "shared.adapters.azure_arm",
    "shared.adapters.log_analytics",
    "shared.adapters.deadletter",
    "azure.identity",
    "shared.pipeline",
)
#: The generated clients the scan path no longer needs (azure.mgmt.core, the ARM pipeline, it does).
SCAN_PATH_FORBIDDEN = (
    "kubernetes",
    "azure.mgmt.containerservice",
    "azure.mgmt.resourcegraph",
    "azure.mgmt.subscription",
)
SCAN_PATH = """
import json, sys, time
began = time.perf_counter()
for name in MODULES:
    __import__(name)
sys.modules["shared.pipeline"]._new_loop().close()
took = time.perf_counter() - began
names = sorted(sys.modules)
print(json.dumps({"seconds": took, "modules": len(names),
                  "loaded": [h for h in FORBIDDEN if any(m == h or m.startswith(h + ".") for m in names)]}))
"""


def scan_path(repeats: int, work: Path, env: dict[str, str]) -> dict[str, Any]:
    """The scan path's imports in fresh interpreters: time, modules, what heavy ones load."""
    code = f"MODULES = {SCAN_PATH_MODULES!r}\nFORBIDDEN = {SCAN_PATH_FORBIDDEN!r}\n{SCAN_PATH}"
    runs = [
        measure(
            [sys.executable, "-c", code], env=env, cwd=ROOT, stderr_path=work / "scan-path.stderr"
        ).last_json()
        for _ in range(repeats)
    ]
    statement = "; ".join(f"import {m}" for m in SCAN_PATH_MODULES)
    importtime = measure(
        [sys.executable, "-X", "importtime", "-c", statement],
        env=env,
        cwd=ROOT,
        stderr_path=work / "scan-path-importtime.stderr",
    )
    return {
        "modules_imported": list(SCAN_PATH_MODULES),
        "import_seconds_median": round(statistics.median(r["seconds"] for r in runs), 4),
        "import_seconds_runs": [round(r["seconds"], 4) for r in runs],
        "modules_loaded": runs[-1]["modules"],
        "forbidden_loaded": runs[-1]["loaded"],
        "slowest_imports": slowest_imports(Path(importtime.stderr_path)),
    }


def cold_start(repeats: int, work: Path) -> dict[str, Any]:
    """``import function_app`` in fresh interpreters: time, modules, heavy packages loaded."""
    code = f"HEAVY = {HEAVY_MODULES!r}\n{COLD_START}"
    env = {k: v for k, v in os.environ.items() if k not in FOREIGN}
    env["PYTHONPATH"] = str(ROOT)
    runs = []
    for index in range(repeats):
        process = measure(
            [sys.executable, "-c", code],
            env=env,
            cwd=ROOT,
            stderr_path=work / f"cold-start-{index}.stderr",
        )
        runs.append((process, process.last_json()))
    bare = measure(
        [sys.executable, "-c", "pass"], env=env, cwd=ROOT, stderr_path=work / "bare.stderr"
    )
    importtime = measure(
        [sys.executable, "-X", "importtime", "-c", "import function_app"],
        env=env,
        cwd=ROOT,
        stderr_path=work / "importtime.stderr",
    )
    heavy = runs[-1][1]["heavy"]
    return {
        "import_seconds_median": round(statistics.median(r["seconds"] for _, r in runs), 4),
        "import_seconds_runs": [round(r["seconds"], 4) for _, r in runs],
        "process_wall_seconds_median": round(statistics.median(p.wall_seconds for p, _ in runs), 4),
        "bare_interpreter_seconds": round(bare.wall_seconds, 4),
        "max_rss_mb": round(max(p.max_rss_mb for p, _ in runs), 1),
        "modules_loaded": runs[-1][1]["modules"],
        "heavy_packages_loaded": heavy,
        "forbidden_loaded": [m for m in FORBIDDEN_AT_IMPORT if m in heavy],
        "slowest_imports": slowest_imports(Path(importtime.stderr_path)),
        "scan_path": scan_path(repeats, work, env),
    }


def slowest_imports(path: Path, count: int = 8) -> list[dict[str, Any]]:
    """Top-level imports by cumulative time, from ``python -X importtime`` output."""
    top: list[tuple[int, str]] = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = (part.strip() for part in line[len("import time:") :].split("|"))
        if cumulative.isdigit() and name and not name.startswith(" ") and "." not in name:
            top.append((int(cumulative), name))
    top.sort(reverse=True)
    return [{"module": name, "cumulative_ms": round(us / 1000, 1)} for us, name in top[:count]]


# -- the whole benchmark --------------------------------------------------------------------------


def median_run(runs: Sequence[ScanRun]) -> ScanRun:
    """The median of ``runs`` by scan time."""
    ordered = sorted(runs, key=lambda r: r.scan_seconds)
    return ordered[len(ordered) // 2]


@dataclass
class Results:
    """Everything measured, in the order it is printed."""

    profile: Profile
    machine: dict[str, Any]
    estate_runs: list[ScanRun] = field(default_factory=list)
    #: Each estate run's twin with every section (the default selection), run right after it.
    all_sections: list[ScanRun] = field(default_factory=list)
    growth: list[ScanRun] = field(default_factory=list)
    #: The section 4 case: the small cluster, then the large one.
    section4: list[ScanRun] = field(default_factory=list)
    sweep: list[ScanRun] = field(default_factory=list)
    baselines: dict[str, Any] = field(default_factory=dict)
    budget: dict[str, Any] = field(default_factory=dict)
    cold_start: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    load: dict[str, list[float]] = field(default_factory=dict)

    def main_run(self) -> ScanRun:
        """The median estate run by scan time."""
        return median_run(self.estate_runs)

    def all_runs(self) -> list[ScanRun]:
        """Every scan, for verification."""
        return [*self.estate_runs, *self.all_sections, *self.growth, *self.sweep, *self.section4]

    def problems(self) -> list[str]:
        """Verification failures of any scan, baselines included."""
        found = [f"{r.shape.label()}: {p}" for r in self.all_runs() for p in r.problems]
        scanner = self.baselines.get("scanner") or {}
        found += [f"baseline scanner: {p}" for p in scanner.get("problems", [])]
        kubectl = self.baselines.get("kubectl") or {}
        if "configz_read" in kubectl and kubectl["configz_read"] != self.baselines["nodes"]:
            found.append(
                f"kubectl loop read {kubectl['configz_read']} of {self.baselines['nodes']} configz"
            )
        client = self.baselines.get("client_loop") or {}
        if client and client.get("configz_read") != self.baselines["nodes"]:
            found.append(
                f"client loop read {client.get('configz_read')} of {self.baselines['nodes']} configz"
            )
        return found

    def warnings(self) -> list[str]:
        """What a scan did that is not lost data but still worth a fix (dead-lettered rows)."""
        found = [f"{r.shape.label()}: {w}" for r in self.all_runs() for w in r.warnings]
        scanner = self.baselines.get("scanner") or {}
        found += [
            f"baseline scanner ({scanner.get('estate')}): {w}" for w in scanner.get("warnings", [])
        ]
        return found


def run(profile: Profile, kubectl: str | None, work: Path, log: Any) -> Results:
    """Every phase of the profile."""
    began = time.perf_counter()
    results = Results(profile, describe(ROOT))
    results.load["start"] = [round(x, 2) for x in os.getloadavg()]
    shape = profile.estate
    log(f"estate: {shape.label()} nodes, starting the simulated estate ...")
    with EstateProcess(
        shape, root=ROOT, log_path=work / "estate-main.log", processes=profile.sim_processes
    ) as sim:
        for index in range(profile.repeats):
            log(f"estate: scan {index + 1}/{profile.repeats} with the default limits ...")
            results.estate_runs.append(scan(sim, work, f"estate-{index}", sections=NODE_SCAN))
            log(f"  {describe_run(results.estate_runs[-1])}")
            log(f"estate: scan {index + 1}/{profile.repeats} with every section ...")
            twin = scan(sim, work, f"estate-all-{index}", sections=ALL_SECTIONS)
            results.all_sections.append(twin)
            log(f"  {describe_run(twin)}")
        log("budget: CPU per node, stage by stage ...")
        results.budget = measure(
            [sys.executable, "-m", "bench.budget_child"],
            env=scanner_env(sim, work / "deadletter-budget", None, NODE_SCAN),
            cwd=ROOT,
            stderr_path=work / "budget.stderr",
        ).last_json()
        for limits in profile.sweep:
            log(f"sweep: concurrency={limits[0]} cluster_concurrency={limits[1]} ...")
            label = f"sweep-{limits[0]}-{limits[1]}"
            results.sweep.append(scan(sim, work, label, limits, sections=NODE_SCAN))
            log(f"  {describe_run(results.sweep[-1])}")
    for clusters in profile.growth_clusters:
        smaller = shaped(clusters, shape.nodes_per_cluster)
        log(f"growth: {smaller.label()} nodes ...")
        with EstateProcess(
            smaller,
            root=ROOT,
            log_path=work / f"estate-growth-{clusters}.log",
            processes=profile.sim_processes,
        ) as sim:
            results.growth.append(scan(sim, work, f"growth-{clusters}", sections=NODE_SCAN))
            log(f"  {describe_run(results.growth[-1])}")
    if profile.section4 is not None:
        results.section4 = section4_runs(profile.section4, profile.sim_processes, work, log)
    results.baselines = baselines(profile, work, kubectl, log)
    log("cold start: import function_app ...")
    results.cold_start = cold_start(profile.cold_start_repeats, work)
    results.seconds = time.perf_counter() - began
    results.load["end"] = [round(x, 2) for x in os.getloadavg()]
    return results


def section4_shape(case: Section4Case, pods: int) -> EstateShape:
    """One cluster of the case's nodes running ``pods`` pods, with the benchmark's latencies."""
    return EstateShape(
        1,
        case.nodes,
        CONFIGZ_MS,
        LIST_MS,
        ARM_MS,
        pods_per_cluster=pods,
        namespaces=case.namespaces,
    )


def section4_runs(case: Section4Case, processes: int, work: Path, log: Any) -> list[ScanRun]:
    """``CIS_SECTIONS=4`` on the small cluster, then the large one, each in a fresh estate and a
    fresh scanner process (its own peak RSS)."""
    runs = []
    for pods in (case.small_pods, case.pods):
        shape = section4_shape(case, pods)
        log(f"section 4: {shape.label()} ...")
        with EstateProcess(
            shape, root=ROOT, log_path=work / f"estate-section4-{pods}.log", processes=processes
        ) as sim:
            runs.append(scan(sim, work, f"section4-{pods}", sections=SECTION4))
        read = runs[-1].section4()
        log(
            f"  {describe_run(runs[-1])}; section 4 {read['seconds_max']:.2f}s, "
            f"{read['objects']:,} objects ({read['objects_per_second']:,}/s)"
        )
    return runs


def describe_run(run: ScanRun) -> str:
    """One line for the progress log."""
    return (
        f"{run.nodes} nodes: scan {run.scan_seconds:.2f}s ({run.nodes / run.scan_seconds:.0f} nodes/s), "
        f"process {run.process.wall_seconds:.2f}s, CPU {run.process.cpu_seconds:.1f}s, "
        f"RSS {run.process.max_rss_mb:.0f} MB"
        + (" NOT VERIFIED" if run.problems else "")
        + (f", {run.report['rows_dead_lettered']} rows dead-lettered" if run.warnings else "")
    )


# -- the table ----------------------------------------------------------------------------------


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(str(c)) for c in column) for column in zip(headers, *rows, strict=True)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return out


def _f(value: float, digits: int = 2) -> str:
    return f"{value:,.{digits}f}"


def budget_text(budget: dict[str, Any]) -> str:
    """The CPU budget in one sentence."""
    read = budget["configz_async"]["cpu_ms"]
    text = (
        f"configz HTTP {read} ms CPU per read with {budget['concurrency']} in flight on the "
        f"{budget['loop']} loop ({budget['configz_sequential']['cpu_ms']} ms one at a time; TLS "
        "handshakes of each API server's new connections included), parse+evaluate+rows "
        f"{budget['evaluate']['cpu_ms']} ms ({budget['evaluate_unmemoized']['cpu_ms']} ms "
        "without the verdict memo)"
    )
    if "upload" in budget:
        text += f", upload {budget['upload']['cpu_ms']} ms per node"
    return text + (
        f"; per cluster: connect {budget['connect']['cpu_ms']} ms, node list "
        f"{budget['list']['cpu_ms']} ms"
    )


#: The issue's targets (#15), on the 2-core machine with the simulator sharing it.
NODES_PER_SECOND = 1000
RATIO_TO_FLOOR = 1.25
CPU_MS_PER_NODE = 0.5
HIGH_LIMITS = (256, 16)
HIGH_NODES_PER_SECOND = 1800
KUBECTL_RATIO, CLIENT_RATIO = 100, 30
RSS_MB, RSS_GROWTH = 150, 1.5
#: Issue #14: memory follows the page size, not the cluster's objects.
SECTION4_RSS_GROWTH = 1.5
SCAN_PATH_SECONDS = 0.4


def _load(results: Results) -> str:
    start, end = results.load.get("start"), results.load.get("end")
    if not start:
        return ""
    return f"machine load average {start[0]} at the start, {end[0] if end else '?'} at the end"


def _why_slow(run: dict[str, Any], results: Results) -> str:
    """What bounds one scan's time, from its own measurements."""
    the_floor = run["floor"]
    wall = run["scan_seconds"]
    cpu = run["process"]["cpu_seconds"]
    sim = run["simulator_cpu_seconds"]
    cores = results.machine.get("cores") or 2
    both = (cpu + sim) / run["process"]["wall_seconds"]
    parts = [
        f"{wall} s against a floor of {the_floor['ideal']} s (the pipeline's schedule needs "
        f"{the_floor['pipeline_model']} s at zero CPU)",
        f"the scanner used {cpu:.1f} s of CPU ({run['scanner_cores_busy']} cores busy, "
        f"{run['cpu_ms_per_node']} ms per node) and the simulator {sim:.1f} s: together "
        f"{both:.2f} of the machine's {cores} cores over the scanner's wall time",
    ]
    if run["scanner_cores_busy"] >= 0.8:
        parts.append("the scanner's one event loop is the bound (CPU)")
    elif both >= cores * 0.8:
        parts.append("the machine's cores are the bound (scanner and simulator together)")
    else:
        parts.append(
            "neither process kept a core busy: the reads waited on the simulator's answers "
            f"(its one process serves every API server) and on the cores other work on this "
            f"shared machine took ({run['load_average_1m']} load average when the scan started)"
        )
    if results.budget:
        parts.append(budget_text(results.budget))
    return "; ".join(parts)


def targets(results: Results) -> list[dict[str, Any]]:
    """Each target of the issue: the measured value, met or not, and what bounds it."""
    main = results.main_run().summary()
    slow = _why_slow(main, results)
    found: list[dict[str, Any]] = [
        {
            "target": f"estate: >= {NODES_PER_SECOND:,} nodes/s at the default limits "
            "(scan, evaluate, upload)",
            "value": main["nodes_per_second"],
            "met": main["nodes_per_second"] >= NODES_PER_SECOND,
            "bound": slow,
        },
        {
            "target": f"estate: <= {RATIO_TO_FLOOR}x the latency floor (default limits)",
            "value": main["ratio_to_floor"],
            "met": main["ratio_to_floor"] <= RATIO_TO_FLOOR,
            "bound": slow,
        },
        {
            "target": f"estate: scanner CPU <= {CPU_MS_PER_NODE} ms per node (whole process)",
            "value": main["cpu_ms_per_node"],
            "met": main["cpu_ms_per_node"] <= CPU_MS_PER_NODE,
            "bound": (
                f"{main['process']['cpu_seconds']:.2f} s for {main['nodes']:,} nodes, of which "
                f"interpreter start and imports ~{main['import_seconds']} s"
                + (f"; {budget_text(results.budget)}" if results.budget else "")
            ),
        },
    ]
    high = [r.summary() for r in results.sweep if r.limits == HIGH_LIMITS]
    if high:
        found.append(
            {
                "target": f"estate: >= {HIGH_NODES_PER_SECOND:,} nodes/s at SCAN_CONCURRENCY="
                f"{HIGH_LIMITS[0]}, SCAN_CLUSTER_CONCURRENCY={HIGH_LIMITS[1]}",
                "value": high[0]["nodes_per_second"],
                "met": high[0]["nodes_per_second"] >= HIGH_NODES_PER_SECOND,
                "bound": _why_slow(high[0], results),
            }
        )
    found += _baseline_targets(results, main)
    found += _memory_targets(results, main)
    found += _section4_targets(results)
    cold = results.cold_start
    if cold:
        path = cold["scan_path"]
        found.append(
            {
                "target": f"cold start: scan-path import <= {SCAN_PATH_SECONDS} s",
                "value": path["import_seconds_median"],
                "met": path["import_seconds_median"] <= SCAN_PATH_SECONDS,
                "bound": "slowest: "
                + ", ".join(
                    f"{i['module']} {i['cumulative_ms']} ms" for i in path["slowest_imports"]
                )
                + (f"; {_load(results)}" if _load(results) else ""),
            }
        )
        found.append(
            {
                "target": "cold start: import function_app loads neither kubernetes nor azure.mgmt",
                "value": ", ".join(cold["forbidden_loaded"]) or "neither",
                "met": not cold["forbidden_loaded"],
                "bound": f"{cold['import_seconds_median']} s; heavy packages loaded: "
                f"{', '.join(cold['heavy_packages_loaded']) or 'none'}",
            }
        )
    return found


def at_estate_scale(results: Results) -> dict[str, Any]:
    """The baselines' per-node cost measured on one cluster, times the estate's nodes, beside
    the scanner's measured estate run (process wall time, start and imports included)."""
    base, main = results.baselines, results.main_run().summary()
    nodes, scanner_wall = main["nodes"], main["process"]["wall_seconds"]
    out: dict[str, Any] = {"nodes": nodes, "scanner_seconds": scanner_wall}
    for key in ("kubectl", "client_loop"):
        loop = base.get(key) or {}
        if "process" in loop:
            per_node = loop["process"]["wall_seconds"] / base["nodes"]
            out[key] = {
                "seconds_per_node": round(per_node, 4),
                "seconds": round(per_node * nodes, 1),
                "ratio": round(per_node * nodes / scanner_wall, 1),
            }
    return out


def _baseline_targets(results: Results, main: dict[str, Any]) -> list[dict[str, Any]]:
    scale = at_estate_scale(results)
    found = []
    for key, label, want in (
        ("kubectl", "the kubectl loop", KUBECTL_RATIO),
        ("client_loop", "the sequential client loop", CLIENT_RATIO),
    ):
        if key in scale:
            entry = scale[key]
            found.append(
                {
                    "target": f"baseline: >= {want}x faster than {label} at estate scale",
                    "value": entry["ratio"],
                    "met": entry["ratio"] >= want,
                    "bound": f"{label}: {entry['seconds_per_node'] * 1000:.0f} ms per node "
                    f"measured on {results.baselines['nodes']} nodes, x {scale['nodes']:,} = "
                    f"{entry['seconds']:,.0f} s, against the scanner's {scale['scanner_seconds']} s "
                    f"for the estate ({main['floor']['ideal']} s floor)",
                }
            )
    return found


def _memory_targets(results: Results, main: dict[str, Any]) -> list[dict[str, Any]]:
    if not results.growth:
        return []
    small = results.growth[0].summary()
    rss, small_rss = main["process"]["max_rss_mb"], small["process"]["max_rss_mb"]
    base = main.get("rss_after_import_mb") or 0.0
    concurrency, per_cluster = main["limits"]["concurrency"], main["limits"]["cluster_concurrency"]
    width = math.ceil(concurrency / per_cluster) + PREFETCH_WORKERS
    held = (
        f"the process holds {base:.0f} MB once imported; the scan adds what its open TLS "
        f"connections hold (each with the TLS layer's 256 KiB read buffer): {width} clusters "
        f"read at once, up to {per_cluster} connections each, while as many wait prepared and "
        f"as many are being listed (one connection each); {small['estate']} has only "
        f"{small['estate'].split(' ')[0]} clusters in all, so it never fills that pipeline "
        f"({small_rss:.0f} MB against {rss:.0f} MB)"
    )
    return [
        {
            "target": f"memory: peak RSS <= {RSS_MB} MB at {main['nodes']:,} nodes",
            "value": rss,
            "met": rss <= RSS_MB,
            "bound": held,
        },
        {
            "target": f"memory: RSS at {main['nodes']:,} <= {RSS_GROWTH}x RSS at "
            f"{small['nodes']:,} nodes",
            "value": round(rss / small_rss, 2),
            "met": rss / small_rss <= RSS_GROWTH,
            "bound": held,
        },
    ]


def _section4_targets(results: Results) -> list[dict[str, Any]]:
    if len(results.section4) < 2:
        return []
    small, large = (r.summary() for r in results.section4[:2])
    rss, small_rss = large["process"]["max_rss_mb"], small["process"]["max_rss_mb"]
    base = large.get("rss_after_import_mb") or 0.0
    read = large["section4"]
    return [
        {
            "target": f"section 4: RSS with {results.section4[1].shape.pods_per_cluster:,} pods "
            f"<= {SECTION4_RSS_GROWTH}x RSS with {results.section4[0].shape.pods_per_cluster:,} "
            f"pods (one cluster of {results.section4[1].shape.nodes_per_cluster:,} nodes)",
            "value": round(rss / small_rss, 2),
            "met": rss / small_rss <= SECTION4_RSS_GROWTH,
            "bound": (
                f"{small_rss:.0f} MB against {rss:.0f} MB ({base:.0f} MB once imported): the lists "
                f"are read a page at a time and each page is dropped once evaluated; "
                f"{read['objects']:,} objects in {read['pages']:,} pages"
            ),
        }
    ]


def _render_estate(results: Results) -> list[str]:
    machine = results.machine
    main = results.main_run()
    shape = results.profile.estate
    out = [
        f"make bench ({results.profile.name}): {machine['cores']} cores ({machine['cpu']}), "
        f"{machine['memory_mb']} MB, Python {machine['python']}, httptools "
        f"{machine['packages'].get('httptools', '?')}, uvloop {machine['packages'].get('uvloop', '?')}, "
        f"orjson {machine['packages'].get('orjson', '?')}, commit {machine['git_commit']}"
        f"{' (dirty)' if machine['git_dirty'] else ''}",
        f"{_load(results)} (other work shares these cores: compare ratios and CPU per node "
        "measured in one run)",
        f"latency added by the simulator: configz {shape.configz_ms:g} ms, node-list page "
        f"{shape.list_ms:g} ms, ARM {shape.arm_ms:g} ms; the simulator and the scanner share "
        "the same cores",
        "",
        f"1. Estate {shape.label()} = {shape.nodes:,} nodes, default limits "
        f"(concurrency {main.limits[0]}, per cluster {main.limits[1]}), "
        f"{len(results.estate_runs)} runs; scan = discovery .. last upload",
        f"   node scan (#15's targets, sections 1-4 and 6): CIS_SECTIONS={','.join(NODE_SCAN)} "
        "(every control that reads no Kubernetes list); each run followed by one with every "
        "section (the default selection)",
    ]
    rows = []
    twins = results.all_sections
    ordered = [(f"run {i + 1}", r) for i, r in enumerate(results.estate_runs)]
    ordered += [(f"run {i + 1}, every section", r) for i, r in enumerate(twins)]
    for name, run in ordered:
        s = run.summary()
        median = run is main or (bool(twins) and run is median_run(twins))
        rows.append(
            [
                f"{name}{' (median)' if median else ''}",
                _f(s["scan_seconds"]),
                _f(s["process"]["wall_seconds"]),
                _f(s["nodes_per_second"], 0),
                _f(s["process"]["cpu_seconds"], 1),
                _f(s["cpu_ms_per_node"], 3),
                _f(s["scanner_cores_busy"]),
                _f(s["process"]["max_rss_mb"], 0),
                _f(s["simulator_cpu_seconds"], 1),
                _f(s["load_average_1m"]),
                f"{run.list_requests:,}",
                ("yes" if s["verified"] else "NO")
                + (f", {s['rows_dead_lettered']} dead-lettered" if s["warnings"] else ""),
            ]
        )
    out += _table(
        [
            "",
            "scan s",
            "process s",
            "nodes/s",
            "scanner CPU s",
            "CPU ms/node",
            "cores busy",
            "peak RSS MB",
            "sim CPU s",
            "load",
            "list requests",
            "verified",
        ],
        rows,
    )
    change = all_sections_change(results)
    if change:
        out.append(
            f"   every section against the node scan (medians): scan {change['scan_seconds'][0]} "
            f"-> {change['scan_seconds'][1]} s ({change['scan_percent']:+.1f} %), nodes/s "
            f"{change['nodes_per_second'][0]:,} -> {change['nodes_per_second'][1]:,}, CPU ms/node "
            f"{change['cpu_ms_per_node'][0]} -> {change['cpu_ms_per_node'][1]} "
            f"({change['cpu_ms_per_node_added']:+.3f}), peak RSS {change['max_rss_mb'][0]:.0f} -> "
            f"{change['max_rss_mb'][1]:.0f} MB, sim CPU {change['simulator_cpu_seconds'][0]} -> "
            f"{change['simulator_cpu_seconds'][1]} s; {change['list_requests']:,} more requests "
            f"({change['list_requests_per_cluster']:g} per cluster: section 4's "
            f"{len(k8s_lists.READS)} lists, of which {change['not_installed']} optional CRDs "
            "answer 404), read beside the configz reads"
        )
    return out


def all_sections_change(results: Results) -> dict[str, Any]:
    """The median run with every section against the median node scan: what section 4's lists
    (and 5.1.4, 5.2.1, 5.4.5 from them) add to the estate scan. Empty without twins."""
    if not results.all_sections:
        return {}
    base, every = results.main_run().summary(), median_run(results.all_sections).summary()
    twin = median_run(results.all_sections)
    optional = sum(1 for yes in list_endpoints().values() if yes)

    def pair(key: str, *path: str) -> list[Any]:
        values = []
        for summary in (base, every):
            value: Any = summary
            for step in (*path, key):
                value = value[step]
            values.append(value)
        return values

    clusters = results.profile.estate.clusters
    return {
        "scan_seconds": pair("scan_seconds"),
        "scan_percent": round((every["scan_seconds"] / base["scan_seconds"] - 1) * 100, 1),
        "nodes_per_second": pair("nodes_per_second"),
        "ratio_to_floor": pair("ratio_to_floor"),
        "cpu_ms_per_node": pair("cpu_ms_per_node"),
        "cpu_ms_per_node_added": round(every["cpu_ms_per_node"] - base["cpu_ms_per_node"], 3),
        "max_rss_mb": pair("max_rss_mb", "process"),
        "simulator_cpu_seconds": pair("simulator_cpu_seconds"),
        "list_requests": twin.list_requests - results.main_run().list_requests,
        "list_requests_per_cluster": round(twin.list_requests / max(clusters, 1), 2),
        "not_installed": optional,
        "section4_seconds_max": twin.section4().get("seconds_max", 0.0),
    }


def _render_floor(results: Results) -> list[str]:
    main = results.main_run()
    out: list[str] = []
    summary = main.summary()
    the_floor = summary["floor"]
    out += [
        "",
        "2. Floor (zero CPU, latency only) for these limits",
        f"   ideal client {the_floor['ideal']} s  |  pipeline schedule model "
        f"{the_floor['pipeline_model']} s  |  global bound (configz x latency / concurrency) "
        f"{the_floor['global_bound']} s",
        f"   measured / ideal = {summary['ratio_to_floor']}x; measured / pipeline model = "
        f"{summary['ratio_to_pipeline_model']}x",
    ]
    runs = sorted([main, *results.sweep], key=lambda r: r.limits)
    by_concurrency = [
        f"{r.limits[0]}/{r.limits[1]} {r.summary()['ratio_to_floor']}x "
        f"({r.scan_seconds:.2f} s vs {r.floor()['ideal']} s)"
        for r in runs
        if r.limits[0] in (64, 128, 256)
    ]
    if by_concurrency:
        out.append("   ratio to the floor by SCAN_CONCURRENCY: " + "  |  ".join(by_concurrency))
    if results.budget:
        out.append(
            "   CPU per node by stage (bench.budget_child, one stage at a time): "
            + budget_text(results.budget)
        )
    return out


def _render_baselines(results: Results) -> list[str]:
    base = results.baselines
    out = ["", f"3. Baselines on one cluster of {base['nodes']} nodes (same latency)"]
    rows = []
    scanner_wall = base["scanner"]["process"]["wall_seconds"]
    scanner_scan = base["scanner"]["scan_seconds"]
    kubectl = base["kubectl"]
    if "process" in kubectl:
        p = kubectl["process"]
        rows.append(
            [
                f"kubectl get --raw loop ({kubectl['client'].get('gitVersion', '?')})",
                _f(p["wall_seconds"]),
                "-",
                _f(p["cpu_seconds"], 1),
                _f(p["max_rss_mb"], 0),
                f"{p['wall_seconds'] / scanner_wall:,.1f}x",
            ]
        )
    else:
        rows.append(["kubectl loop", "skipped", "-", "-", "-", kubectl.get("skipped", "")])
    client = base["client_loop"]
    rows.append(
        [
            "sequential kubernetes-client loop",
            _f(client["process"]["wall_seconds"]),
            _f(client["loop_seconds"]),
            _f(client["process"]["cpu_seconds"], 1),
            _f(client["process"]["max_rss_mb"], 0),
            f"{client['process']['wall_seconds'] / scanner_wall:,.1f}x "
            f"(work only {client['loop_seconds'] / scanner_scan:,.1f}x)",
        ]
    )
    rows.append(
        [
            "scanner (default limits)",
            _f(scanner_wall),
            _f(scanner_scan),
            _f(base["scanner"]["process"]["cpu_seconds"], 1),
            _f(base["scanner"]["process"]["max_rss_mb"], 0),
            f"1x (floor {base['scanner']['floor']['ideal']} s)",
        ]
    )
    out += _table(
        ["", "process s", "work s", "CPU s", "peak RSS MB", "slower than the scanner"], rows
    )
    scale = at_estate_scale(results)
    lines = [
        f"{label} {scale[key]['seconds_per_node'] * 1000:.0f} ms/node x {scale['nodes']:,} = "
        f"{scale[key]['seconds']:,.0f} s ({scale[key]['ratio']:,.1f}x the scanner)"
        for key, label in (("kubectl", "kubectl loop"), ("client_loop", "client loop"))
        if key in scale
    ]
    if lines:
        out.append(
            f"   at estate scale (the scanner: {scale['scanner_seconds']} s for "
            f"{scale['nodes']:,} nodes, process to process): " + "; ".join(lines)
        )
    return out


def _render_growth(results: Results) -> list[str]:
    main = results.main_run()
    out = ["", "4. Growth (same cluster shape, default limits)"]
    rows = []
    for run in sorted([*results.growth, main], key=lambda r: r.nodes):
        s = run.summary()
        rows.append(
            [
                f"{s['estate']} = {s['nodes']:,} nodes",
                _f(s["scan_seconds"]),
                _f(s["nodes_per_second"], 0),
                _f(s["process"]["cpu_seconds"] / s["nodes"] * 1000, 2),
                _f(s["process"]["max_rss_mb"], 0),
                f"{s['floor']['ideal']} s / {s['ratio_to_floor']}x",
            ]
        )
    out += _table(["", "scan s", "nodes/s", "CPU ms/node", "peak RSS MB", "floor / ratio"], rows)
    return out


def _render_cold_start(results: Results) -> list[str]:
    cold = results.cold_start
    return [
        "",
        "5. Cold start: import function_app in a fresh interpreter",
        f"   {cold['import_seconds_median']} s (median of {len(cold['import_seconds_runs'])}; "
        f"bare interpreter {cold['bare_interpreter_seconds']} s), {cold['modules_loaded']} modules, "
        f"RSS {cold['max_rss_mb']} MB",
        "   heavy packages loaded: "
        + (", ".join(f"{k} ({v})" for k, v in cold["heavy_packages_loaded"].items()) or "none"),
        f"   kubernetes / azure.mgmt loaded: {', '.join(cold['forbidden_loaded']) or 'neither'}",
        "   slowest: "
        + ", ".join(f"{i['module']} {i['cumulative_ms']} ms" for i in cold["slowest_imports"]),
        f"   scan path (the CLI's scan: entry point, build's adapters, event loop): "
        f"{cold['scan_path']['import_seconds_median']} s (median of "
        f"{len(cold['scan_path']['import_seconds_runs'])}), {cold['scan_path']['modules_loaded']} "
        f"modules; kubernetes / generated azure.mgmt clients loaded: "
        f"{', '.join(cold['scan_path']['forbidden_loaded']) or 'none'}",
        "   slowest on the scan path: "
        + ", ".join(
            f"{i['module']} {i['cumulative_ms']} ms" for i in cold["scan_path"]["slowest_imports"]
        ),
    ]


def _render_sweep(results: Results) -> list[str]:
    main = results.main_run()
    shape = results.profile.estate
    out: list[str] = []
    if results.sweep:
        out += ["", f"6. Limits on the {shape.label()} estate (one run each)"]
        rows = []
        for run in sorted([main, *results.sweep], key=lambda r: r.limits):
            s = run.summary()
            rows.append(
                [
                    f"{run.limits[0]} / {run.limits[1]}{' (default)' if run is main else ''}",
                    _f(s["scan_seconds"]),
                    _f(s["nodes_per_second"], 0),
                    _f(s["process"]["cpu_seconds"], 1),
                    _f(s["process"]["max_rss_mb"], 0),
                    f"{s['floor']['ideal']} s",
                    f"{s['ratio_to_floor']}x",
                    f"{run.limits[1] * 1000 / shape.configz_ms:,.0f}",
                ]
            )
        out += _table(
            [
                "concurrency / per cluster",
                "scan s",
                "nodes/s",
                "CPU s",
                "RSS MB",
                "floor",
                "ratio",
                "max req/s per API server",
            ],
            rows,
        )
    return out


def _render_section4(results: Results) -> list[str]:
    if not results.section4:
        return []
    case = results.profile.section4
    assert case is not None  # noqa: S101 - section4 runs come from the profile's case
    out = [
        "",
        f"7. Section 4: one cluster of {case.nodes:,} nodes, CIS_SECTIONS=4 (no configz read), "
        f"lists of {NODE_PAGE_SIZE} objects a page (the lean client's limit=), "
        f"{LIST_MS:g} ms a page, 4 lists at a time; section 4 s = the session fact reader's call "
        "(connect .. Section4Results), scan s = discovery .. last upload",
    ]
    rows = []
    for run in results.section4:
        s = run.summary()
        read = s["section4"]
        rows.append(
            [
                f"{run.shape.pods_per_cluster:,} pods",
                _f(read["seconds_max"]),
                f"{read['floor_seconds']:g} s",
                f"{read['objects']:,}",
                f"{read['pages']:,}",
                f"{read['objects_per_second']:,}",
                f"{read['list_requests']:,}",
                _f(s["scan_seconds"]),
                _f(s["process"]["cpu_seconds"], 1),
                _f(s["process"]["max_rss_mb"], 0),
                _f(s["process"]["max_rss_mb"] - (s["rss_after_import_mb"] or 0.0), 0),
                _f(s["simulator_cpu_seconds"], 1),
                "yes" if s["verified"] else "NO",
            ]
        )
    out += _table(
        [
            "",
            "section 4 s",
            "lists floor",
            "objects read",
            "pages",
            "objects/s",
            "list requests",
            "scan s",
            "scanner CPU s",
            "peak RSS MB",
            "over import MB",
            "sim CPU s",
            "verified",
        ],
        rows,
    )
    return out


def _render_targets(results: Results) -> list[str]:
    out: list[str] = []
    out += ["", "Targets"]
    for target in targets(results):
        out.append(
            f"  [{'met' if target['met'] else 'MISSED'}] {target['target']}: {target['value']}"
            + ("" if target["met"] else f" -- bound: {target['bound']}")
        )
    warnings = results.warnings()
    if warnings:
        out += ["", "Warnings (rows not lost, but not delivered):", *(f"  {w}" for w in warnings)]
    problems = results.problems()
    if problems:
        out += ["", "NOT VERIFIED:", *(f"  {p}" for p in problems)]
    out += ["", f"benchmark took {results.seconds:.0f} s"]
    return out


def render(results: Results) -> str:
    """The printed table."""
    sections = (
        _render_estate,
        _render_floor,
        _render_baselines,
        _render_growth,
        _render_cold_start,
        _render_sweep,
        _render_section4,
        _render_targets,
    )
    return "\n".join(line for section in sections for line in section(results))


def to_json(results: Results, table: str) -> dict[str, Any]:
    """The results file."""
    main = results.main_run()
    return {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "profile": results.profile.name,
        "machine": results.machine,
        "latency_ms": LATENCY,
        "estate": {
            "shape": results.profile.estate.label(),
            "median_run": results.estate_runs.index(main),
            "sections": sections_label(NODE_SCAN),
            "cis_sections": ",".join(NODE_SCAN),
            "runs": [r.summary() for r in results.estate_runs],
            "every_section_runs": [r.summary() for r in results.all_sections],
            "every_section_change": all_sections_change(results),
        },
        "floor": {
            "formula": (
                "ideal = D + L_arm + P x L_list + max(ceil(N / min(C, K x c)), max ceil(n_k / c))"
                " x L_configz; D = discovery ARM calls x L_arm; P = node-list pages"
            ),
            **main.summary()["floor"],
        },
        "baselines": results.baselines,
        "growth": [r.summary() for r in sorted([*results.growth, main], key=lambda r: r.nodes)],
        "cpu_budget_ms": results.budget,
        "at_estate_scale": at_estate_scale(results) if results.baselines else {},
        "load_average": results.load,
        "cold_start": results.cold_start,
        "limits_sweep": [r.summary() for r in results.sweep],
        "section4": [r.summary() for r in results.section4],
        "targets": targets(results),
        "problems": results.problems(),
        "warnings": results.warnings(),
        "seconds": round(results.seconds, 1),
        "table": table.splitlines(),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run, print, write."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=sorted(PROFILES), default="full")
    parser.add_argument(
        "--kubectl", help="kubectl binary for the kubectl baseline (skipped without)"
    )
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results.json")
    parser.add_argument(
        "--work", type=Path, default=ROOT / "bench" / "out", help="logs of every process"
    )
    args = parser.parse_args(argv)
    profile = PROFILES[args.profile]
    args.work.mkdir(parents=True, exist_ok=True)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    kubectl = str(Path(args.kubectl).resolve()) if args.kubectl else None
    results = run(profile, kubectl, args.work, log)
    table = render(results)
    print(table)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(to_json(results, table), indent=2) + "\n", encoding="utf-8")
    log(f"results written to {args.output}")
    return 1 if results.problems() else 0


if __name__ == "__main__":
    sys.exit(main())
