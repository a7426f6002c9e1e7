"""No secret leaves the scanner: full runs with faults, everything they emit searched (issue #6).

Every run here goes through a real entry point (the CLI in-process, ``demo``, ``scan
--kubeconfig``, the jobs, the Functions handlers) against the simulated estate with faults
switched on, while every log record of every logger is kept at DEBUG. Afterwards each secret
the estate handed out is searched for, in several encodings, in all of it: log lines (message,
arguments, exception and stack text), stdout and stderr, output files, the rows and run records
the Logs Ingestion endpoint received, dead-letter files and blobs, exceptions, HTTP answers.

Secrets: every access token the managed-identity endpoint issued, the X-IDENTITY-HEADER value,
every credential in the kubeconfigs listClusterUserCredential returns (static token, client
certificate and key), the cluster CA and API server keys, a Functions key sent as
``x-functions-key`` and ``?code=``, and the storage account key of AzureWebJobsStorage.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import azure.functions as func
import pytest
import yaml
from azure.functions.timer import TimerRequest
from azure.storage.blob import ContainerClient

import function_app
import sim.demo
from shared.adapters.deadletter import DirectoryDeadLetterStore
from shared.adapters.output import FORMATS
from shared.core.errors import SettingsError
from shared.core.model import ScanScope
from shared.entrypoints.cli import main
from shared.entrypoints.jobs import dispatch, scan_cluster, scan_inline
from shared.entrypoints.messages import ClusterMessage
from sim import (
    AKS_SERVER_APP_ID,
    FINDINGS_STREAM,
    RUNS_STREAM,
    Action,
    Endpoint,
    Fault,
    SimulatedEstate,
)
from tests.azurite import ACCOUNT_KEY, azurite

PROD_SUB = "3c5a7e91-2b4d-4f6a-8c0e-1a2b3c4d5e6f"
DEV_SUB = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"
PROD_LEGACY = (
    f"/subscriptions/{PROD_SUB}/resourceGroups/rg-legacy-eus"
    "/providers/Microsoft.ContainerService/managedClusters/aks-legacy-eus"
)
PEM_KEY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.+?-----END [A-Z ]*PRIVATE KEY-----", re.S)
FRAGMENT = 20  # characters of a secret's middle that count as a leak on their own (>= 16)
FUNCTION_KEY = base64.urlsafe_b64encode(os.urandom(40)).decode().rstrip("=")


# -- what a secret looks like in text ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Needle:
    """One form of one secret to look for."""

    secret: str
    encoding: str
    text: str = field(repr=False)


def _middle(text: str, size: int = FRAGMENT) -> str:
    start = max(0, (len(text) - size) // 2)
    return text[start : start + size]


def needles(name: str, value: str) -> list[Needle]:
    """``value`` raw, in base64 (standard and URL-safe), a middle fragment of each, and for PEM
    every body line: a partial leak of any of these is found too."""
    raw = value.strip()
    encoded = base64.b64encode(raw.encode()).decode()
    found = [
        Needle(name, "raw", raw),
        Needle(name, "base64", encoded.rstrip("=")),
        Needle(name, "base64url", base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")),
        Needle(name, "fragment", _middle(raw)),
        Needle(name, "base64 fragment", _middle(encoded)),
    ]
    if "-----BEGIN" in raw:
        body = [line for line in raw.splitlines() if line and not line.startswith("-----")]
        found += [Needle(name, f"PEM line {i + 1}", line) for i, line in enumerate(body)]
        found.append(Needle(name, "PEM body fragment", _middle("".join(body))))
    return [n for n in found if len(n.text) >= 16]


class Haystack:
    """Everything a run emitted, by source; ``leaks`` searches it."""

    def __init__(self) -> None:
        self.parts: list[tuple[str, str]] = []

    def add(self, source: str, text: str | bytes) -> None:
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        self.parts.append((source, text))

    def add_json(self, source: str, value: Any) -> None:
        self.add(source, json.dumps(value, default=str))

    def add_tree(self, source: str, root: Path) -> int:
        """Every file under ``root``; returns how many."""
        files = [p for p in sorted(root.rglob("*")) if p.is_file()] if root.exists() else []
        for path in files:
            self.add(f"{source}:{path.name}", path.read_bytes())
        return len(files)

    def leaks(self, wanted: list[Needle]) -> list[tuple[str, str, str]]:
        """(source, secret, encoding) of every needle found."""
        blob = "\x00".join(text for _, text in self.parts)  # one search per needle
        found = []
        for needle in wanted:
            if needle.text in blob:
                found += [
                    (source, needle.secret, needle.encoding)
                    for source, text in self.parts
                    if needle.text in text
                ]
        return found


# -- every log record of every logger, at DEBUG ------------------------------------------------


class _Keep(logging.Handler):
    """Formats each record in full (message with its arguments, exception and stack text)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(threadName)s %(message)s"))
        self.lines: list[str] = []
        self.names: set[str] = set()

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))
        self.names.add(record.name)


@pytest.fixture(name="logs")
def _logs(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Keep]:
    """Root and every existing logger at DEBUG for the test; entry points cannot raise a level
    (the CLI sets ``azure`` to WARNING), so azure-core's HttpLoggingPolicy, urllib3, msal,
    azure.identity and kubernetes all emit."""
    keep = _Keep()
    root = logging.getLogger()
    loggers = [root] + [
        lg for lg in logging.root.manager.loggerDict.values() if isinstance(lg, logging.Logger)
    ]
    saved = [(lg, lg.level, lg.disabled) for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.NOTSET if lg is not root else logging.DEBUG)
        lg.disabled = False
        if not lg.propagate:
            lg.addHandler(keep)
    root.addHandler(keep)
    monkeypatch.setattr(logging.Logger, "setLevel", lambda self, level: None)
    try:
        yield keep
    finally:
        monkeypatch.undo()
        root.removeHandler(keep)
        for lg, level, disabled in saved:
            lg.removeHandler(keep)
            lg.setLevel(level)
            lg.disabled = disabled


# -- the secrets of a run ------------------------------------------------------------------------


def estate_secrets(sim: SimulatedEstate) -> dict[str, str]:
    """Every secret the estate handed out or holds, by name."""
    found = {"X-IDENTITY-HEADER": sim.identity_header}
    for index, token in enumerate(sim.issued_tokens()):
        found[f"issued token {index}"] = token
    for _, cluster in sim.estate.clusters():
        pki = sim.cluster_pki(cluster.name)
        found[f"{cluster.name} static token"] = pki.static_token
        found[f"{cluster.name} client certificate"] = pki.client_cert_pem.decode()
        found[f"{cluster.name} client key"] = pki.client_key_pem.decode()
        found[f"{cluster.name} CA key"] = pki.ca_key_pem.decode()
        server_key = PEM_KEY.search(pki.server.key_and_chain_pem.decode())
        assert server_key is not None, "the API server's key and chain hold no private key"
        found[f"{cluster.name} API server key"] = server_key.group(0)
        if cluster.running:
            kubeconfig = yaml.safe_load(sim.kubeconfig(cluster.name))
            for user in kubeconfig["users"]:
                for key in ("client-certificate-data", "client-key-data", "token"):
                    if key in user["user"]:
                        found[f"{cluster.name} kubeconfig {key}"] = user["user"][key]
    return found


def all_needles(secrets: dict[str, str]) -> list[Needle]:
    return [n for name, value in secrets.items() for n in needles(name, value)]


@dataclass
class Figures:
    """What the module checked, printed at the end (``pytest -s``) for docs/reliability.md."""

    runs: int = 0
    log_lines: int = 0
    parts: int = 0
    secrets: set[str] = field(default_factory=set)
    needles: int = 0
    leaks: int = 0


FIGURES = Figures()


@pytest.fixture(scope="module", autouse=True)
def _report() -> Iterator[None]:
    yield
    print(
        f"\nsecrets: {FIGURES.runs} runs, {FIGURES.log_lines} log lines and {FIGURES.parts} "
        f"captured texts searched for {len(FIGURES.secrets)} secrets ({FIGURES.needles} forms); "
        f"{FIGURES.leaks} leaks"
    )


class Watch:
    """The logs and captured output of a test, searched for the estate's secrets at the end."""

    def __init__(
        self, sim: SimulatedEstate, logs: _Keep, capfd: pytest.CaptureFixture[str]
    ) -> None:
        self.sim = sim
        self._logs = logs
        self._capfd = capfd

    def assert_no_leak(
        self,
        haystack: Haystack,
        *,
        runs: int,
        extra: dict[str, str] | None = None,
        sim: SimulatedEstate | None = None,
    ) -> None:
        """Add the logs and captured output, then fail naming each secret found and where."""
        sim = sim or self.sim
        out, err = self._capfd.readouterr()
        haystack.add("stdout", out)
        haystack.add("stderr", err)
        lines = self._logs.lines
        for index, line in enumerate(lines):
            haystack.add(f"log line {index}", line)
        haystack.add_json(f"ingestion {FINDINGS_STREAM}", sim.accepted(FINDINGS_STREAM))
        haystack.add_json(f"ingestion {RUNS_STREAM}", sim.accepted(RUNS_STREAM))
        secrets = {**estate_secrets(sim), **(extra or {})}
        wanted = all_needles(secrets)
        leaks = haystack.leaks(wanted)
        FIGURES.runs += runs
        FIGURES.log_lines += len(lines)
        FIGURES.parts += len(haystack.parts)
        FIGURES.secrets |= {f"{id(sim)}:{name}" for name in secrets}
        FIGURES.needles += len(wanted)
        FIGURES.leaks += len(leaks)
        for sdk in ("azure.core.pipeline.policies.http_logging_policy", "urllib3", "msal"):
            assert any(n.startswith(sdk) for n in self._logs.names), f"{sdk} logged nothing"
        assert any(name.startswith("issued token") for name in secrets), "no token was issued"
        assert not leaks, "\n".join(f"{name} ({form}) in {src}" for src, name, form in leaks)


@pytest.fixture(name="watch")
def _watch(sim: SimulatedEstate, logs: _Keep, capfd: pytest.CaptureFixture[str]) -> Watch:
    return Watch(sim, logs, capfd)


# -- faults ---------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Local accounts on, so the local-only cluster is read with its kubeconfig's certificate
    and key; one configz/node-list retry (not three): the retry path runs, the wait is short."""
    monkeypatch.setenv("ALLOW_LOCAL_ACCOUNTS", "true")
    monkeypatch.setenv("SCAN_MAX_RETRIES", "1")


def arm_faults(sim: SimulatedEstate) -> None:
    """The usual failures, spread over the estate so that every cluster still runs some path."""
    sim.faults.clear()
    sim.faults.add(Fault(Endpoint.TOKEN, Action.ERROR, 500, times=1))
    sim.faults.arm_throttle(retry_after=1, times=1)
    sim.faults.node_unreachable("aks-prod-weu", "aks-system-53367501-vmss000001")
    sim.faults.configz_error("aks-prod-weu", "aks-system-53367501-vmss000000", status=500)
    sim.faults.add(
        Fault(Endpoint.CONFIGZ, Action.ERROR, 403, cluster="aks-prod-weu", node=None, times=2)
    )
    sim.faults.add(Fault(Endpoint.NODE_LIST, Action.ERROR, 403, cluster="aks-legacy-eus"))
    sim.faults.add(Fault(Endpoint.CREDENTIALS, Action.ERROR, 500, cluster="aks-batch-neu"))
    sim.faults.add(Fault(Endpoint.CONFIGZ, Action.ERROR, 500, cluster="aks-local-only", times=1))
    # 403: the identity lost its role on the rule; not retried, so the runs stay quick (the
    # jobs test keeps the retried 503).
    sim.faults.ingestion_outage(True, status=403)


# -- the runs -------------------------------------------------------------------------------------


class TestCommandLine:
    @pytest.mark.parametrize("fmt", list(FORMATS))
    @pytest.mark.parametrize("to_file", [False, True], ids=["stdout", "output-file"])
    def test_scan_with_faults_leaks_nothing(self, env, watch, tmp_path, fmt, to_file):
        """`scan` in every format, to stdout and to a file, with faults and local accounts on."""
        arm_faults(watch.sim)
        out = tmp_path / f"out.{fmt}"
        argv = ["scan", "--format", fmt, "-v"] + (["--output", str(out)] if to_file else [])
        code = main(argv)
        assert code == 0  # Log Analytics was down: the rows wait as dead letters
        haystack = Haystack()
        if to_file:
            haystack.add("output file", out.read_bytes())
        assert haystack.add_tree("dead letters", Path(env["DEADLETTER_DIR"])) > 0
        watch.assert_no_leak(haystack, runs=1)

    @pytest.mark.parametrize("fmt", list(FORMATS))
    def test_demo_with_faults_leaks_nothing(self, watch, monkeypatch, fmt):
        """`demo` on its own estate, with the same faults, in every format."""
        started: list[SimulatedEstate] = []

        class FaultyEstate(SimulatedEstate):
            def start(self) -> SimulatedEstate:
                super().start()
                arm_faults(self)
                started.append(self)
                return self

        monkeypatch.setattr(sim.demo, "SimulatedEstate", FaultyEstate)
        assert main(["demo", "--format", fmt]) == 0
        (demo,) = started
        watch.assert_no_leak(Haystack(), runs=1, sim=demo)

    def test_kubeconfig_with_token_and_client_key_leaks_nothing(self, env, watch, tmp_path):
        """`scan --kubeconfig` with a kubeconfig holding a token, a client certificate and key."""
        sim = watch.sim
        sim.faults.clear()
        cluster = "aks-prod-weu"
        sim.faults.node_unreachable(cluster, "aks-system-53367501-vmss000001")
        sim.faults.add(Fault(Endpoint.CONFIGZ, Action.ERROR, 403, cluster=cluster, times=1))
        sim.faults.ingestion_outage(True)
        pki = sim.cluster_pki(cluster)
        token = sim.token(AKS_SERVER_APP_ID)
        document = {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": "person",
            "clusters": [
                {
                    "name": cluster,
                    "cluster": {
                        "server": sim.api_server_url(cluster),
                        "certificate-authority-data": base64.b64encode(
                            sim.cluster_ca_pem(cluster).encode()
                        ).decode(),
                    },
                }
            ],
            "contexts": [{"name": "person", "context": {"cluster": cluster, "user": "me"}}],
            "users": [
                {
                    "name": "me",
                    "user": {
                        "token": token,
                        "client-certificate-data": base64.b64encode(pki.client_cert_pem).decode(),
                        "client-key-data": base64.b64encode(pki.client_key_pem).decode(),
                    },
                }
            ],
        }
        path = tmp_path / "kubeconfig"
        path.write_text(yaml.safe_dump(document))
        out = tmp_path / "out.json"
        argv = ["scan", "--kubeconfig", str(path), "--format", "json", "--output", str(out), "-v"]
        assert main(argv) == 0
        findings = json.loads(out.read_text())["findings"]
        assert {f["Status"] for f in findings} >= {"ERROR", "PASS"}, {f["Reason"] for f in findings}
        haystack = Haystack()
        haystack.add("output file", out.read_bytes())
        haystack.add_tree("dead letters", Path(env["DEADLETTER_DIR"]))
        watch.assert_no_leak(haystack, runs=1, extra={"kubeconfig token": token})


class TestJobs:
    def test_dispatch_queue_and_inline_leak_nothing(self, env, watch, tmp_path):
        """dispatch, scan_cluster for each message and scan_inline, with faults and an outage."""
        sim = watch.sim
        arm_faults(sim)
        sim.faults.ingestion_outage(False)  # first a 503 that azure-core retries, then 403s
        sim.faults.add(Fault(Endpoint.INGESTION, Action.ERROR, 503, times=1 + 3))
        sim.faults.add(Fault(Endpoint.INGESTION, Action.ERROR, 403))
        store = DirectoryDeadLetterStore(tmp_path / "letters")
        haystack = Haystack()
        dispatched = dispatch(ScanScope(), trigger="timer", env=env, store=store)
        haystack.add_json("dispatch run", dispatched.run.row())
        haystack.add_json("queue messages", list(dispatched.messages))
        assert dispatched.messages
        for text in dispatched.messages:
            outcome = scan_cluster(ClusterMessage.parse(text), env=env, store=store)
            haystack.add_json("scan_cluster run", outcome.run.row())
            haystack.add_json("scan_cluster sink errors", outcome.sink_errors)
        inline = scan_inline(ScanScope(subscriptions=(PROD_SUB,)), env=env, store=store)
        haystack.add_json("inline rows", [f.row() for f in inline.findings])
        with pytest.raises(SettingsError) as caught:
            dispatch(ScanScope(), trigger="timer", env={**env, "LOGS_DCR_IMMUTABLE_ID": "dcr-0"})
        haystack.add("exception", "".join(traceback.format_exception(caught.value)))
        assert haystack.add_tree("dead letters", tmp_path / "letters") > 0
        watch.assert_no_leak(haystack, runs=2 + len(dispatched.messages))


@pytest.fixture(name="storage", scope="module")
def _storage() -> Iterator[str]:
    with azurite() as connection:
        yield connection


class Out:
    """func.Out as the Functions host provides it."""

    def __init__(self) -> None:
        self.value: Any = None

    def set(self, value: Any) -> None:
        self.value = value


def http_request(body: bytes, token: str) -> func.HttpRequest:
    """A request as the host hands it over after checking the function key (header and query),
    with a caller's Entra bearer token."""
    return func.HttpRequest(
        method="POST",
        url=f"https://scanner.azurewebsites.net/api/scan?code={FUNCTION_KEY}",
        body=body,
        headers={
            "content-type": "application/json",
            "x-functions-key": FUNCTION_KEY,
            "authorization": f"Bearer {token}",
        },
        params={"code": FUNCTION_KEY},
    )


@pytest.mark.azurite
class TestFunctions:
    def test_triggers_with_faults_leak_nothing(self, env, watch, storage, monkeypatch):
        """Timer, queue (with a poison message) and HTTP (400, 202, 200) handlers, dead letters as blobs."""
        container = "dl-secrets"
        monkeypatch.setenv("AzureWebJobsStorage", storage)
        monkeypatch.setenv("DEADLETTER_CONTAINER", container)
        arm_faults(watch.sim)
        haystack = Haystack()
        timer_fn = function_app.scheduled_scan.build().get_user_function()
        queue_fn = function_app.scan_cluster.build().get_user_function()
        http_fn = function_app.manual_scan.build().get_user_function()
        queued = Out()
        timer_fn(TimerRequest(past_due=True), queued)
        messages = [*queued.value, '{"v": 9, "note": "not ours"}']
        for index, text in enumerate(messages):
            poison = Out()
            queue_fn(func.QueueMessage(id=f"m{index}", body=text.encode()), poison)
            haystack.add_json("poison", poison.value)
        bodies = [
            b"{nope",
            json.dumps({"subscriptions": ["x"]}).encode(),
            json.dumps({"subscriptions": [DEV_SUB]}).encode(),
            json.dumps({"clusters": [PROD_LEGACY], "wait": True}).encode(),
        ]
        statuses = []
        token = watch.sim.entra.token()
        for body in bodies:
            out = Out()
            response = http_fn(http_request(body, token), out)
            statuses.append(response.status_code)
            haystack.add("http answer", response.get_body())
            haystack.add_json("http answer headers", dict(response.headers))
            haystack.add_json("http queued", out.value)
        assert statuses == [400, 400, 202, 200]
        blobs = ContainerClient.from_connection_string(storage, container)
        names = [b.name for b in blobs.list_blobs()]
        assert names, "the outage wrote no dead-letter blob"
        for name in names:
            haystack.add(f"blob {name}", blobs.download_blob(name).readall())
        blobs.close()
        watch.assert_no_leak(
            haystack,
            runs=len(messages) + 3,
            extra={
                "function key": FUNCTION_KEY,
                "storage account key": ACCOUNT_KEY,
                "trigger bearer token": token,
            },
        )


# -- the search itself can fail -------------------------------------------------------------------


def _fail_with(message: str) -> None:
    raise RuntimeError(message)


class TestTheSearchFindsLeaks:
    @pytest.mark.parametrize(
        "encoding", ["raw", "base64", "fragment", "base64 fragment", "PEM line 3"]
    )
    def test_a_planted_secret_in_a_log_line_is_found(self, sim, logs, encoding):
        """A key planted in a log record, in any searched form, is reported with its source."""
        key = sim.cluster_pki("aks-prod-weu").client_key_pem.decode()
        (planted,) = [n for n in needles("client key", key) if n.encoding == encoding]
        logging.getLogger("shared.pipeline").debug("connecting with %s", planted.text)
        haystack = Haystack()
        for index, line in enumerate(logs.lines):
            haystack.add(f"log line {index}", line)
        leaks = haystack.leaks(all_needles({"client key": key}))
        assert ("client key", encoding) in {(s, e) for _, s, e in leaks}

    def test_a_token_inside_an_exception_traceback_is_found(self, sim, logs):
        """A token carried by a logged exception is found in the formatted record."""
        token = sim.token(AKS_SERVER_APP_ID)
        try:
            _fail_with(f"GET failed with Authorization: Bearer {token}")
        except RuntimeError:
            logging.getLogger("azure.core").debug("request failed", exc_info=True)
        haystack = Haystack()
        haystack.add("log", "\n".join(logs.lines))
        assert haystack.leaks(all_needles({"token": token}))

    def test_the_estate_secrets_include_what_was_issued(self, env, sim):
        """After a scan the secret list holds the issued tokens and each running cluster's kubeconfig key."""
        main(["scan", "--subscription", DEV_SUB, "--format", "json", "--output", os.devnull])
        secrets = estate_secrets(sim)
        assert any(name.startswith("issued token") for name in secrets)
        assert "aks-local-only kubeconfig client-key-data" in secrets
        assert "aks-prod-weu CA key" in secrets
