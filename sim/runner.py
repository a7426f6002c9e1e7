"""Start and stop the whole simulated estate on 127.0.0.1.

In-process (tests): one background thread runs an asyncio loop that serves the token endpoint
(HTTP, like App Service's local endpoint), ARM, Logs Ingestion and the Entra tenant's OpenID
metadata and keys (HTTPS, one "public" CA; ``sim.entra``) and
one API server per running public cluster (HTTPS, each with its own cluster CA; a private or
stopped cluster's kubeconfig points at a loopback port that refuses connections)::

    with SimulatedEstate(default_estate()).start() as sim:
        monkeypatch.setattr(os, "environ", {**os.environ, **sim.env})
        ...
        assert sim.accepted("Custom-AksCisFindings")

With ``processes > 1`` the API servers are sharded over that many worker processes (spawned,
each with its own loop); the parent keeps the token endpoint, ARM and ingestion. Faults given
at start reach the workers; faults added later only reach the parent's servers.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import multiprocessing
import multiprocessing.connection
import os
import secrets
import shutil
import signal
import socket
import tempfile
import threading
from collections.abc import Coroutine, Iterable, Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, TypeVar

from sim.apiserver import ApiServer, ApiServerSpec
from sim.arm import ArmService, KubeAccess, user_kubeconfig
from sim.entra import EntraIssuer
from sim.estate import SCANNER_API_CLIENT_ID, Estate, default_estate
from sim.faults import Fault, FaultRegistry
from sim.http import HttpServer
from sim.identity import IdentityService, TokenAuthority
from sim.ingestion import IngestionService
from sim.pki import ClusterPki, cluster_pki, impostor_pki, public_pki, server_context
from sim.stats import Counters

log = logging.getLogger(__name__)
T = TypeVar("T")


class _LoopThread:
    """An asyncio loop in a daemon thread; ``run`` executes a coroutine on it and waits."""

    def __init__(self, name: str) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._thread.start()

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_forever()

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def close(self) -> None:
        async def drain() -> None:
            await self._loop.shutdown_asyncgens()
            await self._loop.shutdown_default_executor()

        with contextlib.suppress(RuntimeError):
            self.run(drain(), timeout=10.0)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10.0)
        self._loop.close()


@dataclass(frozen=True, slots=True)
class Impostor:
    """A man-in-the-middle API server: its URL and the CA that signed its certificate."""

    url: str
    ca_pem: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class _WorkerPlan:
    specs: tuple[ApiServerSpec, ...]
    tenant_id: str
    secret: bytes
    faults: tuple[Fault, ...]
    log_level: int


def _api_server_http(
    spec: ApiServerSpec, authority: TokenAuthority, faults: FaultRegistry, counters: Counters
) -> HttpServer:
    handler = ApiServer(spec, authority, faults, counters)
    return HttpServer(
        f"apiserver/{spec.cluster.name}",
        handler.handle,
        ssl_context=server_context(spec.pki.server, request_client_cert=True),
    )


class SimulatedEstate:
    """The running estate. Use as a context manager around ``start()``."""

    def __init__(
        self,
        estate: Estate | None = None,
        *,
        processes: int = 1,
        faults: Iterable[Fault] = (),
    ) -> None:
        self.estate = estate if estate is not None else default_estate()
        self.faults = FaultRegistry()
        for fault in faults:
            self.faults.add(fault)
        self._initial_faults = tuple(faults)
        self.counters = Counters()
        self.authority = TokenAuthority(self.estate.tenant_id)
        self.entra = EntraIssuer(
            self.estate.tenant_id, SCANNER_API_CLIENT_ID, self.faults, self.counters
        )
        self.identity_header = secrets.token_hex(16)
        self._processes = max(1, processes)
        self._loop: _LoopThread | None = None
        self._servers: list[HttpServer] = []
        self._workers: list[
            tuple[multiprocessing.process.BaseProcess, multiprocessing.connection.Connection]
        ] = []
        self._tempdir: str | None = None
        self._refuser: socket.socket | None = None
        self._access: dict[str, KubeAccess] = {}
        self._pki: dict[str, ClusterPki] = {}
        self._specs: dict[str, ApiServerSpec] = {}
        self._identity: IdentityService | None = None
        self._ingestion: IngestionService | None = None
        self.env: dict[str, str] = {}
        self.ca_bundle = ""
        self.identity_endpoint = ""
        self.arm_endpoint = ""
        self.ingestion_endpoint = ""
        self.login_endpoint = ""

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> SimulatedEstate:
        """Bind every server on 127.0.0.1 and fill ``env``; returns self."""
        if self._loop is not None:
            raise RuntimeError("the simulated estate is already started")
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        self._tempdir = tempfile.mkdtemp(prefix="aks-sim-")
        public = public_pki()
        self.ca_bundle = os.path.join(self._tempdir, "ca-bundle.pem")
        with open(self.ca_bundle, "wb") as handle:
            handle.write(public.ca_pem)
        self._loop = _LoopThread("aks-sim-loop")
        specs: list[ApiServerSpec] = []
        for subscription, cluster in self.estate.clusters():
            pki = cluster_pki(cluster.name)
            self._pki[cluster.name] = pki
            if cluster.running and not cluster.private_cluster:
                spec = ApiServerSpec(
                    cluster, subscription.id, self.estate.identity, pki, self.estate.latency
                )
                specs.append(spec)
                self._specs[cluster.name] = spec
        ports = self._start_api_servers(specs)
        self._refuser = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._refuser.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        refused = f"https://127.0.0.1:{self._refuser.getsockname()[1]}"
        for _, cluster in self.estate.clusters():
            pki = self._pki[cluster.name]
            server = (
                f"https://127.0.0.1:{ports[cluster.name]}" if cluster.name in ports else refused
            )
            self._access[cluster.name] = KubeAccess(
                server, pki.server.ca_pem, pki.client_cert_pem, pki.client_key_pem, pki.static_token
            )
        self._identity = IdentityService(
            self.estate, self.authority, self.identity_header, self.faults, self.counters
        )
        arm = ArmService(
            self.estate,
            self.authority,
            self._access,
            self.faults,
            self.counters,
            refused_server=refused,
        )
        self._ingestion = IngestionService(self.estate, self.authority, self.faults, self.counters)
        identity_server = HttpServer("identity", self._identity.handle)
        arm_server = HttpServer("arm", arm.handle, ssl_context=server_context(public))
        ingestion_server = HttpServer(
            "ingestion", self._ingestion.handle, ssl_context=server_context(public)
        )
        login_server = HttpServer("login", self.entra.handle, ssl_context=server_context(public))
        for public_server in (identity_server, arm_server, ingestion_server, login_server):
            self._loop.run(public_server.start())
            self._servers.append(public_server)
        self.identity_endpoint = f"{identity_server.url}{IdentityService.path}"
        self.arm_endpoint = arm_server.url
        self.ingestion_endpoint = ingestion_server.url
        self.login_endpoint = login_server.url
        self.entra.base_url = login_server.url
        self.env = {
            "IDENTITY_ENDPOINT": self.identity_endpoint,
            "IDENTITY_HEADER": self.identity_header,
            "AZURE_CLIENT_ID": self.estate.identity.client_id,
            "ARM_ENDPOINT": self.arm_endpoint,
            "LOGS_INGESTION_ENDPOINT": self.ingestion_endpoint,
            "LOGS_DCR_IMMUTABLE_ID": self.estate.dcr_immutable_id,
            "REQUESTS_CA_BUNDLE": self.ca_bundle,
            # POST /api/scan trusts the simulated tenant's tokens for the simulated API.
            "SCAN_API_TENANT_ID": self.estate.tenant_id,
            "SCAN_API_CLIENT_ID": SCANNER_API_CLIENT_ID,
            "SCAN_API_AUTHORITY": self.login_endpoint,
        }
        log.info("simulated estate up: ARM %s, %d API servers", self.arm_endpoint, len(ports))

    def _start_api_servers(self, specs: list[ApiServerSpec]) -> dict[str, int]:
        assert self._loop is not None  # noqa: S101 - set by _start
        ports: dict[str, int] = {}
        if self._processes <= 1 or len(specs) < 2:
            for spec in specs:
                server = _api_server_http(spec, self.authority, self.faults, self.counters)
                ports[spec.cluster.name] = self._loop.run(server.start())
                self._servers.append(server)
            return ports
        context = multiprocessing.get_context("spawn")
        shards = [specs[i :: self._processes] for i in range(self._processes)]
        for shard in shards:
            if not shard:
                continue
            parent_end, child_end = context.Pipe()
            plan = _WorkerPlan(
                tuple(shard),
                self.estate.tenant_id,
                self.authority.secret,
                self._initial_faults,
                logging.getLogger().getEffectiveLevel(),
            )
            process: multiprocessing.process.BaseProcess = context.Process(
                target=worker_main, args=(child_end, plan), name="aks-sim-apiservers", daemon=True
            )
            process.start()
            child_end.close()
            self._workers.append((process, parent_end))
        for process, conn in self._workers:
            if not conn.poll(120):
                raise RuntimeError(f"API server worker {process.pid} did not start in time")
            message = conn.recv()
            if not isinstance(message, dict) or "ports" not in message:
                raise RuntimeError(f"API server worker {process.pid} failed: {message!r}")
            ports.update(message["ports"])
        return ports

    def stop(self) -> None:
        """Stop every server and worker and remove the temporary files. Idempotent."""
        for process, conn in self._workers:
            with contextlib.suppress(OSError, EOFError):
                conn.send("stop")
                if conn.poll(10):
                    message = conn.recv()
                    if isinstance(message, dict) and "counters" in message:
                        self.counters.merge(message["counters"])
            process.join(timeout=10)
            if process.is_alive():
                process.terminate()
                process.join(timeout=5)
            conn.close()
        self._workers.clear()
        if self._loop is not None:
            for server in reversed(self._servers):
                with contextlib.suppress(Exception):
                    self._loop.run(server.stop())
            self._servers.clear()
            self._loop.close()
            self._loop = None
        if self._refuser is not None:
            self._refuser.close()
            self._refuser = None
        if self._tempdir is not None:
            shutil.rmtree(self._tempdir, ignore_errors=True)
            self._tempdir = None

    def __enter__(self) -> SimulatedEstate:
        if self._loop is None:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- what tests look at ---------------------------------------------------------------

    def accepted(self, stream: str) -> list[dict[str, Any]]:
        """Rows the Logs Ingestion endpoint accepted on ``stream``."""
        return self._ingestion.accepted(stream) if self._ingestion is not None else []

    def ingestion_calls(self, stream: str | None = None) -> int:
        """Upload requests that reached ``stream`` (any stream: None)."""
        return self._ingestion.calls(stream) if self._ingestion is not None else 0

    def issued_tokens(self) -> tuple[str, ...]:
        """Every access token the identity endpoint issued so far (tests that hunt leaks)."""
        return self._identity.issued_tokens() if self._identity is not None else ()

    def tokens_issued(self, resource: str | None = None) -> int:
        """Tokens the identity endpoint issued (for ``resource``, or in total)."""
        if self._identity is None:
            return 0
        issued = dict(self._identity.issued)
        return sum(issued.values()) if resource is None else issued.get(resource, 0)

    def token(self, resource: str) -> str:
        """A valid token of the estate's identity for ``resource`` (tests that skip the SDK)."""
        return self.authority.mint(self.estate.identity, resource)[0]

    def api_server_url(self, cluster: str) -> str:
        """``https://127.0.0.1:<port>`` of a cluster's API server."""
        return self._access[cluster].server

    def cluster_ca_pem(self, cluster: str) -> str:
        """The cluster CA certificate (PEM), as its kubeconfig carries it."""
        return self._access[cluster].ca_pem.decode("ascii")

    def cluster_pki(self, cluster: str) -> ClusterPki:
        """A cluster's CA and local-account credentials (client certificate, key, token)."""
        return self._pki[cluster]

    def kubeconfig(self, cluster: str, *, admin: bool = False) -> bytes:
        """The user kubeconfig listClusterUserCredential returns for ``cluster``."""
        return user_kubeconfig(
            self.estate, self.estate.cluster(cluster), self._access[cluster], admin=admin
        )

    @contextlib.contextmanager
    def impostor(self, cluster: str) -> Iterator[Impostor]:
        """While open, ``cluster``'s kubeconfig (listClusterUserCredential) points at a second
        API server that answers exactly like the real one but presents a certificate from
        another CA; the kubeconfig still carries the cluster's own CA. Closing restores it.

        Only a client that verifies the server against the kubeconfig's CA refuses it: one
        that skipped verification would read every node as usual.
        """
        if self._loop is None:
            raise RuntimeError("the simulated estate is not started")
        spec = self._specs.get(cluster)
        if spec is None:
            raise ValueError(f"{cluster!r} is not a running cluster of the estate")
        pki = impostor_pki(cluster)
        handler = ApiServer(spec, self.authority, self.faults, self.counters)
        server = HttpServer(f"impostor/{cluster}", handler.handle, ssl_context=server_context(pki))
        self._loop.run(server.start())
        genuine = self._access[cluster]
        self._access[cluster] = dataclasses.replace(genuine, server=server.url)
        try:
            yield Impostor(server.url, pki.ca_pem)
        finally:
            self._access[cluster] = genuine
            self._loop.run(server.stop())

    def snapshot(self) -> dict[str, int]:
        """Request counts of this process and every worker (``endpoint|cluster|status``)."""
        merged = Counters()
        merged.merge(self.counters.snapshot())
        for _, conn in self._workers:
            with contextlib.suppress(OSError, EOFError):
                conn.send("counters")
                if conn.poll(10):
                    message = conn.recv()
                    if isinstance(message, dict) and "counters" in message:
                        merged.merge(message["counters"])
        return merged.snapshot()


# -- worker processes ---------------------------------------------------------------------


def worker_main(conn: multiprocessing.connection.Connection, plan: _WorkerPlan) -> None:
    """Entry point of an API server worker process (spawned)."""
    logging.basicConfig(
        level=plan.log_level, format="%(asctime)s %(processName)s %(levelname)s %(message)s"
    )
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    try:
        asyncio.run(_worker(conn, plan))
    finally:
        conn.close()


async def _worker(conn: multiprocessing.connection.Connection, plan: _WorkerPlan) -> None:
    authority = TokenAuthority(plan.tenant_id, plan.secret)
    faults = FaultRegistry()
    for fault in plan.faults:
        faults.add(fault)
    counters = Counters()
    servers: list[HttpServer] = []
    try:
        for spec in plan.specs:
            server = _api_server_http(spec, authority, faults, counters)
            await server.start()
            servers.append(server)
    except OSError as exc:
        conn.send({"error": str(exc)})
        return
    conn.send(
        {"ports": {s.cluster.name: srv.port for s, srv in zip(plan.specs, servers, strict=True)}}
    )
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def on_message() -> None:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            stop.set()  # the parent is gone
            return
        if message == "counters":
            conn.send({"counters": counters.snapshot()})
        elif message == "stop":
            stop.set()

    loop.add_reader(conn.fileno(), on_message)
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    loop.remove_reader(conn.fileno())
    for server in servers:
        await server.stop()
    with contextlib.suppress(OSError):
        conn.send({"counters": counters.snapshot()})
