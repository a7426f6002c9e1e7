"""The lean Kubernetes client over real TLS on loopback: configz reads and paged lists, their
answers, retries, caps, bounds and reasons.

A small scripted HTTPS server answers each request with the next action of the test's script,
so every failure the client classifies is produced on the wire, not mocked.
"""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

import pytest
import trustme

from shared.adapters import kube_client, kube_policy
from shared.adapters.kube_api import KubeSession
from shared.adapters.kube_client import HeaderSource
from shared.adapters.kube_policy import RequestPolicy, node_gone_hint, slow_body_reason
from shared.adapters.kubeconfig import KubeEndpoint
from shared.core.errors import (
    ApiServerError,
    ApiServerUnreachableError,
    ConfigzFetchError,
    CredentialsError,
)

T = TypeVar("T")

Action = Callable[[BaseHTTPRequestHandler], None]
NOT_FOUND = b'{"kind":"Status","message":"nodes \\"n1\\" not found","code":404}'
UNREACHABLE = (
    b'{"kind":"Status","message":"error trying to reach service: dial tcp 10.0.0.4:10250",'
    b'"code":503}'
)


def answer(status: int, body: bytes, headers: tuple[tuple[str, str], ...] = ()) -> Action:
    def act(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(body)

    return act


def reset(handler: BaseHTTPRequestHandler) -> None:
    handler.close_connection = True
    handler.connection.setsockopt(
        socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
    )
    handler.connection.close()


def truncated(handler: BaseHTTPRequestHandler) -> None:
    """Content-Length 1000, 10 bytes, then the connection closes."""
    handler.send_response(200)
    handler.send_header("Content-Length", "1000")
    handler.end_headers()
    handler.wfile.write(b'{"kubelet')
    handler.wfile.flush()
    handler.close_connection = True
    handler.connection.shutdown(socket.SHUT_RDWR)


def trickle(handler: BaseHTTPRequestHandler) -> None:
    """Headers at once, then one byte every 50 ms: each recv is quick, the whole never ends."""
    handler.send_response(200)
    handler.send_header("Content-Length", "100000")
    handler.end_headers()
    for _ in range(200):
        try:
            handler.wfile.write(b" ")
            handler.wfile.flush()
        except OSError:
            return
        time.sleep(0.05)


def silent(handler: BaseHTTPRequestHandler) -> None:
    """No answer at all for 2 s: not even the status line."""
    time.sleep(2.0)


def endless(handler: BaseHTTPRequestHandler) -> None:
    """A chunked body of 64 KiB chunks until the client goes away (5 MB at most)."""
    handler.send_response(200)
    handler.send_header("Transfer-Encoding", "chunked")
    handler.end_headers()
    chunk = b"x" * 65536
    for _ in range(80):
        try:
            handler.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        except OSError:
            return
    handler.wfile.write(b"0\r\n\r\n")


@dataclass
class Script:
    """What the server answers, request by request, and what it saw."""

    actions: list[Action] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    authorization: list[str] = field(default_factory=list)
    accept: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next(self, handler: BaseHTTPRequestHandler) -> Action:
        with self.lock:
            self.paths.append(handler.path)
            self.authorization.append(handler.headers.get("Authorization", ""))
            self.accept.append(handler.headers.get("Accept", ""))
            return self.actions.pop(0) if self.actions else answer(200, b"{}")


@dataclass
class Server:
    url: str
    ca_pem: str
    script: Script


@pytest.fixture(name="ca", scope="module")
def _ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(name="server")
def _server(ca: trustme.CA) -> Iterator[Server]:
    script = Script()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            script.next(self)(self)

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield Server(
        f"https://127.0.0.1:{httpd.server_address[1]}", ca.cert_pem.bytes().decode(), script
    )
    httpd.shutdown()
    httpd.server_close()


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run on a fresh event loop, as a scan does (with its default executor)."""
    return asyncio.run(coroutine)


def session(server: Server, **policy: float) -> KubeSession:
    tokens = iter(f"token-{i}" for i in range(1000))
    defaults: dict[str, float] = {"timeout": 5.0, "backoff": 0.01, "max_body_bytes": 4096}
    defaults.update(policy)
    return KubeSession.for_endpoint(
        KubeEndpoint(server.url, server.ca_pem),
        RequestPolicy(**defaults),  # type: ignore[arg-type]
        next(tokens),
        lambda: next(tokens),
    )


def read(server: Server, node: str = "n1", **policy: float) -> bytes:
    async def go() -> bytes:
        kube = session(server, **policy)
        try:
            return await kube.read_configz(node)
        finally:
            await kube.close()

    return run(go())


def list_nodes(server: Server, **policy: float) -> list[str]:
    async def go() -> list[str]:
        kube = session(server, **policy)
        try:
            return [node.name for node in await kube.list_nodes()]
        finally:
            await kube.close()

    return run(go())


def page(names: list[str], token: str = "") -> Action:
    document = {
        "items": [{"metadata": {"name": n}} for n in names],
        "metadata": {"continue": token},
    }
    return answer(200, json.dumps(document).encode())


class TestAnswers:
    def test_body_is_returned_with_the_sessions_bearer_token(self, server):
        """A 200 gives the raw body; the request carries the credential's current token."""
        server.script.actions = [answer(200, b'{"kubeletconfig":{}}')]
        assert read(server) == b'{"kubeletconfig":{}}'
        assert server.script.paths == ["/api/v1/nodes/n1/proxy/configz"]
        assert server.script.authorization[0].startswith("Bearer token-")

    def test_node_name_is_quoted_into_the_path(self, server):
        """A node name cannot add path segments."""
        read(server, node="a/b c")
        assert server.script.paths == ["/api/v1/nodes/a%2Fb%20c/proxy/configz"]

    def test_not_found_names_the_status_message(self, server):
        """A 404 is not retried; the reason carries the Status message."""
        server.script.actions = [answer(404, NOT_FOUND)]
        with pytest.raises(ConfigzFetchError) as caught:
            read(server)
        assert str(caught.value) == (
            f'HTTP 404 while reading configz: {node_gone_hint()}: nodes "n1" not found'
        )
        assert len(server.script.paths) == 1


class TestRetries:
    def test_throttling_is_retried_honouring_retry_after(self, server):
        """429 with Retry-After, then 200: the body, after two requests."""
        server.script.actions = [answer(429, b"{}", (("Retry-After", "0"),)), answer(200, b"ok")]
        assert read(server) == b"ok"
        assert len(server.script.paths) == 2

    def test_kubelet_unreachable_is_retried_once(self, server):
        """ "error trying to reach service" is retried once, then named."""
        server.script.actions = [answer(503, UNREACHABLE)] * 5
        with pytest.raises(ConfigzFetchError) as caught:
            read(server)
        assert str(caught.value).startswith(
            "HTTP 503 while reading configz after 1 retry: the API server could not reach the "
            "node's kubelet"
        )
        assert len(server.script.paths) == 2

    def test_server_errors_stop_after_max_retries(self, server):
        """A 500 that persists is retried max_retries times and reported with the count."""
        server.script.actions = [answer(500, b"{}")] * 10
        with pytest.raises(
            ConfigzFetchError, match="HTTP 500 while reading configz after 2 retries"
        ):
            read(server, max_retries=2)
        assert len(server.script.paths) == 3

    def test_a_reset_is_retried_once(self, server):
        """A connection reset before the answer is retried once."""
        server.script.actions = [reset, answer(200, b"ok")]
        assert read(server) == b"ok"

    def test_resets_that_persist_are_named(self, server):
        """Resets that persist: two requests in all, and the reason says the connection broke."""
        server.script.actions = [reset] * 6
        with pytest.raises(ConfigzFetchError, match="broke while reading configz") as caught:
            read(server)
        assert "Connection reset" in str(caught.value)
        assert len(server.script.paths) == 2

    def test_a_body_cut_short_is_retried_once(self, server):
        """A body shorter than its Content-Length (connection closed mid-body) is read again."""
        server.script.actions = [truncated, answer(200, b"whole")]
        assert read(server) == b"whole"
        assert len(server.script.paths) == 2

    def test_bodies_cut_short_twice_are_named(self, server):
        """Cut short twice: the connection broke, named as such."""
        server.script.actions = [truncated, truncated, truncated]
        with pytest.raises(ConfigzFetchError, match="broke while reading configz"):
            read(server)
        assert len(server.script.paths) == 2


class TestBounds:
    def test_body_over_the_cap_is_not_read_further(self, server):
        """A body past CONFIGZ_MAX_BYTES fails that read, naming the setting."""
        server.script.actions = [endless]
        with pytest.raises(ConfigzFetchError, match=r"exceeds 4096 bytes \(CONFIGZ_MAX_BYTES\)"):
            read(server)

    def test_a_body_that_never_ends_is_bounded_in_total(self, server):
        """A body trickling a byte at a time (each recv quick) still ends at the timeout."""
        server.script.actions = [trickle]
        with pytest.raises(ConfigzFetchError) as caught:
            read(server, timeout=0.5, max_body_bytes=200_000)
        assert str(caught.value) == slow_body_reason(0.5)

    def test_a_content_length_over_the_cap_is_refused_unread(self, server):
        """A body announced larger than CONFIGZ_MAX_BYTES fails at once, naming the setting."""
        server.script.actions = [answer(200, b"x" * 5000)]
        with pytest.raises(ConfigzFetchError, match=r"exceeds 4096 bytes \(CONFIGZ_MAX_BYTES\)"):
            read(server)

    def test_no_answer_at_all_is_a_timeout(self, server):
        """No headers within the bound: a timeout, not a slow body."""
        server.script.actions = [silent]
        with pytest.raises(ConfigzFetchError) as caught:
            read(server, timeout=0.5)
        assert "timed out after 0.5s while reading configz (SCAN_REQUEST_TIMEOUT)" in str(
            caught.value
        )

    def test_cancelling_abandons_the_read(self, server):
        """A cancelled read does not wait for the answer."""
        server.script.actions = [trickle]

        async def go() -> float:
            kube = session(server, max_body_bytes=200_000)
            task = asyncio.create_task(kube.read_configz("n1"))
            await asyncio.sleep(0.2)
            began = time.monotonic()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await kube.close()
            return time.monotonic() - began

        assert run(go()) < 1.0


class TestReasons:
    def test_wrong_ca_is_a_tls_error(self, server):
        """A server certificate from another CA is refused, and named TLS verification."""
        other = Server(server.url, trustme.CA().cert_pem.bytes().decode(), server.script)
        with pytest.raises(ConfigzFetchError, match="TLS verification of the API server"):
            read(other)
        assert server.script.paths == []

    def test_unusable_ca_is_a_tls_error(self, server):
        """A CA that is not a certificate fails every read with the TLS reason."""
        broken = Server(server.url, "not a certificate", server.script)
        with pytest.raises(ConfigzFetchError, match="TLS verification of the API server"):
            read(broken)

    def test_nothing_listening_is_a_refusal(self, ca):
        """A refused connection says nothing listens at the API server's address."""
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        closed = Server(f"https://127.0.0.1:{port}", ca.cert_pem.bytes().decode(), Script())
        with pytest.raises(ConfigzFetchError, match="refused the connection while reading configz"):
            read(closed)


class TestSession:
    def test_a_closed_session_refuses_new_reads(self, server):
        """After close a read fails with the session's reason, never a silent hang."""

        async def go() -> None:
            kube = session(server)
            assert await kube.read_configz("n1") == b"{}"
            await kube.close()
            with pytest.raises(ConfigzFetchError, match="is closed"):
                await kube.read_configz("n1")

        run(go())

    def test_a_connection_is_reused_and_close_drops_every_one(self, server):
        """Sequential reads share one kept-alive connection; a read cut at the cap drops its
        connection; close() leaves none open."""
        server.script.actions = [answer(200, b"{}"), answer(200, b"{}"), endless]

        async def go() -> tuple[int, int, int]:
            kube = session(server)
            await kube.read_configz("n1")
            await kube.read_configz("n2")
            reused = kube.client.connections
            with pytest.raises(ConfigzFetchError):
                await kube.read_configz("n3")
            after_cap = kube.client.connections
            assert await kube.read_configz("n4") == b"{}"
            await kube.close()
            return reused, after_cap, kube.client.connections

        assert run(go()) == (1, 0, 0)

    def test_a_header_with_a_line_break_is_refused_not_sent(self, server):
        """A credential that would split the request is the read's error; nothing is sent."""

        async def go() -> None:
            kube = KubeSession.for_endpoint(
                KubeEndpoint(server.url, server.ca_pem), RequestPolicy(), "a\r\nX-Evil: 1"
            )
            try:
                await kube.read_configz("n1")
            finally:
                await kube.close()

        with pytest.raises(ConfigzFetchError, match="holds a line break"):
            run(go())
        assert server.script.paths == []


class TestHeaders:
    def test_the_token_is_renewed_off_the_loop_after_its_ttl(self, server, monkeypatch):
        """The first token is used until the TTL passes; the renewal runs in the executor."""
        monkeypatch.setattr(kube_client, "HEADER_TTL_SECONDS", 0.0)
        renewed_in: list[str] = []

        def renew() -> str:
            renewed_in.append(threading.current_thread().name)
            return "second"

        async def go() -> None:
            kube = KubeSession.for_endpoint(
                KubeEndpoint(server.url, server.ca_pem), RequestPolicy(), "first", renew
            )
            await kube.read_configz("n1")
            await kube.close()

        run(go())
        assert server.script.authorization == ["Bearer second"]
        assert renewed_in
        assert threading.main_thread().name not in renewed_in

    def test_a_fixed_token_is_sent_as_it_is(self, server):
        """Without a refresh the first token is the only one."""
        source = HeaderSource.bearer("fixed")
        assert run(source.headers()) == {"Authorization": "Bearer fixed"}

    def test_a_renewal_that_fails_is_the_reads_error(self, server, monkeypatch):
        """A credential that cannot be renewed fails the read with its reason, not a crash."""
        monkeypatch.setattr(kube_client, "HEADER_TTL_SECONDS", 0.0)

        def renew() -> str:
            raise CredentialsError("the managed identity could not get a token")

        async def go() -> None:
            kube = KubeSession.for_endpoint(
                KubeEndpoint(server.url, server.ca_pem), RequestPolicy(), "first", renew
            )
            try:
                await kube.read_configz("n1")
            finally:
                await kube.close()

        with pytest.raises(ConfigzFetchError, match="could not get a token"):
            run(go())


class TestProxy:
    def test_a_kubeconfig_proxy_is_tunnelled_with_its_headers(self, server):
        """An http:// proxy-url: CONNECT to the server (with the proxy's headers), then TLS
        to the server itself, verified against the cluster CA, over the tunnel."""
        proxy = ConnectProxy()
        try:

            async def go() -> bytes:
                client = kube_client.KubeClient(
                    server.url,
                    kube_client.Tls(ca_pem=server.ca_pem),
                    RequestPolicy(),
                    HeaderSource.bearer("t"),
                    proxy=proxy.url,
                    proxy_headers={"Proxy-Authorization": "Basic cHJveHk6cHc="},
                )
                try:
                    return await KubeSession(client).read_configz("n1")
                finally:
                    await client.close()

            assert run(go()) == b"{}"
        finally:
            proxy.close()
        host = server.url.removeprefix("https://")
        assert proxy.requests == [(f"CONNECT {host} HTTP/1.1", "Basic cHJveHk6cHc=")]
        assert server.script.paths == ["/api/v1/nodes/n1/proxy/configz"]

    def test_a_refusing_proxy_is_named(self, server):
        """A proxy that answers 403 to CONNECT: the API server is unreachable, and why."""
        proxy = ConnectProxy(status=403)
        try:

            async def go() -> bytes:
                client = kube_client.KubeClient(
                    server.url,
                    kube_client.Tls(ca_pem=server.ca_pem),
                    RequestPolicy(),
                    HeaderSource.bearer("t"),
                    proxy=proxy.url,
                )
                try:
                    return await KubeSession(client).read_configz("n1")
                finally:
                    await client.close()

            with pytest.raises(ConfigzFetchError, match="proxy answered 403 to CONNECT"):
                run(go())
        finally:
            proxy.close()


class ConnectProxy:
    """A loopback HTTP proxy that answers CONNECT (``status``) and pipes the tunnel."""

    def __init__(self, status: int = 200) -> None:
        self.requests: list[tuple[str, str]] = []
        self._status = status
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._tunnel, args=(client,), daemon=True).start()

    def _tunnel(self, client: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = client.recv(4096)
            if not chunk:
                client.close()
                return
            head += chunk
        lines = head.split(b"\r\n\r\n")[0].decode().split("\r\n")
        auth = next(
            (ln.split(": ", 1)[1] for ln in lines if ln.startswith("Proxy-Authorization")), ""
        )
        self.requests.append((lines[0], auth))
        if self._status != 200:
            client.sendall(
                f"HTTP/1.1 {self._status} Forbidden\r\nContent-Length: 0\r\n\r\n".encode()
            )
            client.close()
            return
        host, port = lines[0].split()[1].rsplit(":", 1)
        upstream = socket.create_connection((host, int(port)))
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")

        def pipe(source: socket.socket, sink: socket.socket) -> None:
            try:
                while data := source.recv(65536):
                    sink.sendall(data)
            except OSError:
                pass
            finally:
                sink.close()
                source.close()

        threading.Thread(target=pipe, args=(upstream, client), daemon=True).start()
        pipe(client, upstream)

    def close(self) -> None:
        self._listener.close()


class TestLists:
    def test_pages_are_followed_with_limit_and_continue(self, server):
        """Every page's items, in order; each request carries limit and the last token."""
        server.script.actions = [page(["a", "b"], "t1"), page(["c"], "t/2"), page(["d"])]
        assert list_nodes(server) == ["a", "b", "c", "d"]
        assert server.script.paths == [
            "/api/v1/nodes?limit=500",
            "/api/v1/nodes?limit=500&continue=t1",
            "/api/v1/nodes?limit=500&continue=t%2F2",
        ]

    def test_an_expired_continue_token_restarts_the_list(self, server):
        """410 Gone on a later page starts the list again; nothing is listed twice."""
        gone = answer(
            410, b'{"kind":"Status","message":"The provided continue parameter is too old"}'
        )
        server.script.actions = [page(["a"], "t1"), gone, page(["a"], "t2"), page(["b"])]
        assert list_nodes(server) == ["a", "b"]
        assert len(server.script.paths) == 4

    def test_pages_come_as_they_arrive_and_say_where_a_pass_restarts(self, server):
        """The generic pager (the section 4 lists' too): one page per answer, the first page of
        a restarted pass marked, the Accept header replaced when asked."""
        gone = answer(410, b'{"kind":"Status","message":"too old"}')
        server.script.actions = [page(["a"], "t1"), gone, page(["a"], "t2"), page(["b"])]
        metadata = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"

        async def go() -> list[tuple[list[str], bool]]:
            kube = session(server)
            try:
                return [
                    ([item["metadata"]["name"] for item in items], restarted)
                    async for items, restarted in kube.client.pages(
                        "/api/v1/namespaces/default/configmaps",
                        "listing configmaps",
                        cap=1 << 20,
                        accept=metadata,
                    )
                ]
            finally:
                await kube.close()

        assert run(go()) == [(["a"], False), (["a"], True), (["b"], False)]
        assert set(server.script.accept) == {metadata}

    def test_a_token_that_keeps_expiring_is_named(self, server):
        """After LIST_RESTARTS restarts the list is the cluster's error, with the Status message."""
        gone = answer(410, b'{"kind":"Status","message":"too old"}')
        server.script.actions = [page(["a"], "t"), gone] * (kube_client.LIST_RESTARTS + 1)
        with pytest.raises(ApiServerError) as caught:
            list_nodes(server)
        assert str(caught.value) == kube_policy.expired_list_reason(
            "listing nodes", kube_client.LIST_RESTARTS, "too old"
        )

    def test_a_continue_token_that_comes_back_stops_the_pager(self, server):
        """The same token twice ends the list with an ERROR naming it, after two pages."""
        server.script.actions = [page(["a"], "same"), page(["b"], "same")]
        with pytest.raises(ApiServerError) as caught:
            list_nodes(server)
        assert "node list did not end" in str(caught.value)
        assert "continue token" in str(caught.value)
        assert len(server.script.paths) == 2

    def test_an_endless_section_4_list_names_that_list(self):
        """The same wording for any list, naming it: a pods list that never ends is the pods list's error, not the node list's."""
        nodes = kube_policy.endless_list_reason("on page 2")
        pods = kube_policy.endless_list_reason("on page 2", "listing pods")
        assert nodes.startswith("node list did not end")
        assert pods.startswith(
            "pods list did not end: the API server's continue token loops on page 2"
        )
        assert "node" not in pods

    def test_a_page_larger_than_the_configz_cap_is_read(self, server):
        """A node-list page far above CONFIGZ_MAX_BYTES is read (real Node objects are large)."""
        names = [f"n{i}" for i in range(200)]
        server.script.actions = [page(names)]
        assert list_nodes(server, max_body_bytes=1024) == names

    def test_a_page_over_its_own_cap_is_the_clusters_error(self, server, monkeypatch):
        """A page over NODE_LIST_MAX_BYTES is an ApiServerError (the cluster's), never a node's."""
        monkeypatch.setattr("shared.adapters.kube_api.NODE_LIST_MAX_BYTES", 1000)
        server.script.actions = [page([f"n{i}" for i in range(200)])]
        with pytest.raises(ApiServerError, match="exceeds 1000 bytes; not read further"):
            list_nodes(server)

    def test_a_page_that_is_not_a_list_is_named(self, server):
        """A 200 whose body is not a Kubernetes list is the cluster's error, with the cause."""
        server.script.actions = [answer(200, b"<html>proxy</html>")]
        with pytest.raises(ApiServerError, match="while listing nodes is not a Kubernetes list"):
            list_nodes(server)

    def test_forbidden_names_the_list_permission(self, server):
        """A 403 on the node list names get/list on nodes."""
        forbidden = b'{"kind":"Status","message":"nodes is forbidden: User \\"x\\" cannot list"}'
        server.script.actions = [answer(403, forbidden)]
        with pytest.raises(ApiServerError, match="get/list on nodes") as caught:
            list_nodes(server)
        assert "nodes is forbidden" in str(caught.value)
        assert not isinstance(caught.value, ApiServerUnreachableError)

    def test_silence_is_unreachable_and_a_reset_is_retried_once(self, server):
        """No answer in time is ApiServerUnreachableError (the private-cluster fallback's cue);
        resets that persist are too, after one retry."""
        server.script.actions = [silent]
        with pytest.raises(ApiServerUnreachableError, match=r"timed out after 0\.5s while listing"):
            list_nodes(server, timeout=0.5)
        server.script.actions, server.script.paths = [reset] * 4, []
        with pytest.raises(ApiServerUnreachableError, match="broke while listing nodes"):
            list_nodes(server)
        assert len(server.script.paths) == 2

    def test_a_trickling_page_is_cut_at_the_total_time_bound(self, server):
        """Headers at once, then a trickle: the page's slow-body reason, an ApiServerError."""
        server.script.actions = [trickle]
        with pytest.raises(ApiServerError) as caught:
            list_nodes(server, timeout=0.5, max_body_bytes=200_000)
        assert str(caught.value) == slow_body_reason(0.5, "node-list page")
        assert not isinstance(caught.value, ApiServerUnreachableError)

    def test_tls_and_refusal_keep_their_reasons(self, server, ca):
        """A wrong CA is a TLS ApiServerError (an answer); a refusal is unreachable (none)."""
        other = Server(server.url, trustme.CA().cert_pem.bytes().decode(), server.script)
        with pytest.raises(ApiServerError, match="TLS verification of the API server") as caught:
            list_nodes(other)
        assert not isinstance(caught.value, ApiServerUnreachableError)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        closed = Server(f"https://127.0.0.1:{port}", ca.cert_pem.bytes().decode(), Script())
        with pytest.raises(ApiServerUnreachableError, match="refused the connection while listing"):
            list_nodes(closed)
