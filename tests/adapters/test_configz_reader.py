"""The configz reader over real TLS on loopback: answers, retries, caps, bounds and reasons.

A small scripted HTTPS server answers each request with the next action of the test's script,
so every failure the reader classifies is produced on the wire, not mocked.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import CancelledError
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import trustme

from shared.adapters.configz_reader import ConfigzReader, LoopThread
from shared.adapters.kube_api import KubeSession
from shared.adapters.kube_policy import RequestPolicy, node_gone_hint, slow_body_reason
from shared.adapters.kubeconfig import KubeEndpoint
from shared.core.errors import ConfigzFetchError

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
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next(self, handler: BaseHTTPRequestHandler) -> Action:
        with self.lock:
            self.paths.append(handler.path)
            self.authorization.append(handler.headers.get("Authorization", ""))
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


@pytest.fixture(name="loop")
def _loop() -> Iterator[LoopThread]:
    loop = LoopThread()
    yield loop
    loop.close()


def session(server: Server, loop: LoopThread, **policy: float) -> KubeSession:
    tokens = iter(f"token-{i}" for i in range(1000))
    defaults: dict[str, float] = {"timeout": 5.0, "backoff": 0.01, "max_body_bytes": 4096}
    defaults.update(policy)
    return KubeSession(
        KubeEndpoint(server.url, server.ca_pem),
        RequestPolicy(**defaults),  # type: ignore[arg-type]
        lambda: next(tokens),
        loop=loop,
    )


def read(server: Server, loop: LoopThread, node: str = "n1", **policy: float) -> bytes:
    kube = session(server, loop, **policy)
    try:
        return kube.start_configz(node).result(timeout=30)
    finally:
        kube.close()


class TestAnswers:
    def test_body_is_returned_with_the_sessions_bearer_token(self, server, loop):
        """A 200 gives the raw body; the request carries the credential's current token."""
        server.script.actions = [answer(200, b'{"kubeletconfig":{}}')]
        assert read(server, loop) == b'{"kubeletconfig":{}}'
        assert server.script.paths == ["/api/v1/nodes/n1/proxy/configz"]
        assert server.script.authorization[0].startswith("Bearer token-")

    def test_node_name_is_quoted_into_the_path(self, server, loop):
        """A node name cannot add path segments."""
        read(server, loop, node="a/b c")
        assert server.script.paths == ["/api/v1/nodes/a%2Fb%20c/proxy/configz"]

    def test_not_found_names_the_status_message(self, server, loop):
        """A 404 is not retried; the reason carries the Status message."""
        server.script.actions = [answer(404, NOT_FOUND)]
        with pytest.raises(ConfigzFetchError) as caught:
            read(server, loop)
        assert str(caught.value) == (
            f'HTTP 404 while reading configz: {node_gone_hint()}: nodes "n1" not found'
        )
        assert len(server.script.paths) == 1


class TestRetries:
    def test_throttling_is_retried_honouring_retry_after(self, server, loop):
        """429 with Retry-After, then 200: the body, after two requests."""
        server.script.actions = [answer(429, b"{}", (("Retry-After", "0"),)), answer(200, b"ok")]
        assert read(server, loop) == b"ok"
        assert len(server.script.paths) == 2

    def test_kubelet_unreachable_is_retried_once(self, server, loop):
        """ "error trying to reach service" is retried once, then named."""
        server.script.actions = [answer(503, UNREACHABLE)] * 5
        with pytest.raises(ConfigzFetchError) as caught:
            read(server, loop)
        assert str(caught.value).startswith(
            "HTTP 503 while reading configz after 1 retry: the API server could not reach the "
            "node's kubelet"
        )
        assert len(server.script.paths) == 2

    def test_server_errors_stop_after_max_retries(self, server, loop):
        """A 500 that persists is retried max_retries times and reported with the count."""
        server.script.actions = [answer(500, b"{}")] * 10
        with pytest.raises(
            ConfigzFetchError, match="HTTP 500 while reading configz after 2 retries"
        ):
            read(server, loop, max_retries=2)
        assert len(server.script.paths) == 3

    def test_a_reset_is_retried_once(self, server, loop):
        """A connection reset before the answer is retried once."""
        server.script.actions = [reset, answer(200, b"ok")]
        assert read(server, loop) == b"ok"

    def test_resets_that_persist_are_named(self, server, loop):
        """Resets that persist: two requests in all, and the reason says the connection broke."""
        server.script.actions = [reset] * 6
        with pytest.raises(ConfigzFetchError, match="broke while reading configz") as caught:
            read(server, loop)
        assert "Connection reset" in str(caught.value)
        assert len(server.script.paths) == 2

    def test_a_body_cut_short_is_retried_once(self, server, loop):
        """A body shorter than its Content-Length (connection closed mid-body) is read again."""
        server.script.actions = [truncated, answer(200, b"whole")]
        assert read(server, loop) == b"whole"
        assert len(server.script.paths) == 2

    def test_bodies_cut_short_twice_are_named(self, server, loop):
        """Cut short twice: the connection broke, named as such."""
        server.script.actions = [truncated, truncated, truncated]
        with pytest.raises(ConfigzFetchError, match="broke while reading configz"):
            read(server, loop)
        assert len(server.script.paths) == 2


class TestBounds:
    def test_body_over_the_cap_is_not_read_further(self, server, loop):
        """A body past CONFIGZ_MAX_BYTES fails that read, naming the setting."""
        server.script.actions = [endless]
        with pytest.raises(ConfigzFetchError, match=r"exceeds 4096 bytes \(CONFIGZ_MAX_BYTES\)"):
            read(server, loop)

    def test_a_body_that_never_ends_is_bounded_in_total(self, server, loop):
        """A body trickling a byte at a time (each recv quick) still ends at the timeout."""
        server.script.actions = [trickle]
        with pytest.raises(ConfigzFetchError) as caught:
            read(server, loop, timeout=0.5)
        assert str(caught.value) == slow_body_reason(0.5)

    def test_no_answer_at_all_is_a_timeout(self, server, loop):
        """No headers within the bound: a timeout, not a slow body."""
        server.script.actions = [silent]
        with pytest.raises(ConfigzFetchError) as caught:
            read(server, loop, timeout=0.5)
        assert "timed out after 0.5s while reading configz (SCAN_REQUEST_TIMEOUT)" in str(
            caught.value
        )

    def test_cancelling_abandons_the_read(self, server, loop):
        """A cancelled future does not wait for the answer."""
        server.script.actions = [trickle]
        kube = session(server, loop)
        try:
            future = kube.start_configz("n1")
            assert future.cancel()
            with pytest.raises(CancelledError):
                future.result(timeout=5)
        finally:
            kube.close()


class TestReasons:
    def test_wrong_ca_is_a_tls_error(self, server, loop):
        """A server certificate from another CA is refused, and named TLS verification."""
        other = Server(server.url, trustme.CA().cert_pem.bytes().decode(), server.script)
        with pytest.raises(ConfigzFetchError, match="TLS verification of the API server"):
            read(other, loop)
        assert server.script.paths == []

    def test_unusable_ca_is_a_tls_error(self, server, loop):
        """A CA that is not a certificate fails every read with the TLS reason."""
        broken = Server(server.url, "not a certificate", server.script)
        with pytest.raises(ConfigzFetchError, match="TLS verification of the API server"):
            read(broken, loop)

    def test_nothing_listening_is_a_refusal(self, loop, ca):
        """A refused connection says nothing listens at the API server's address."""
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        closed = Server(f"https://127.0.0.1:{port}", ca.cert_pem.bytes().decode(), Script())
        with pytest.raises(ConfigzFetchError, match="refused the connection while reading configz"):
            read(closed, loop)


class TestSession:
    def test_read_configz_is_the_same_read_blocking(self, server, loop):
        """read_configz gives what start_configz's future gives."""
        server.script.actions = [answer(200, b"same")]
        kube = session(server, loop)
        try:
            assert kube.read_configz("n1") == b"same"
        finally:
            kube.close()

    def test_a_session_without_a_loop_runs_and_closes_its_own(self, server):
        """KubeSession works without a shared loop, and close() stops the one it started."""
        before = {t.name for t in threading.enumerate()}
        kube = KubeSession(KubeEndpoint(server.url, server.ca_pem), RequestPolicy(), lambda: "t")
        assert kube.read_configz("n1") == b"{}"
        kube.close()
        after = {t.name for t in threading.enumerate() if t.is_alive()}
        assert "configz-loop" not in after - before


def has_open_session(reader: ConfigzReader) -> bool:
    return reader._session is not None


class TestLoopThread:
    def test_closing_the_loop_closes_sessions_left_open(self, server):
        """A session still open when the scan's loop closes (a worker past the deadline) is closed."""
        loop = LoopThread()
        kube = session(server, loop)
        assert kube.start_configz("n1").result(timeout=30) == b"{}"
        reader = kube._reader
        assert reader is not None
        assert has_open_session(reader)
        loop.close()
        assert not has_open_session(reader)
        kube.close()  # afterwards: nothing left to do, and no error

    def test_a_closed_loop_refuses_new_reads(self):
        """Submitting to a closed loop is refused, not silently dropped."""
        loop = LoopThread()
        loop.close()
        with pytest.raises(RuntimeError, match="closed"):
            loop.submit(asyncio.sleep(0))
