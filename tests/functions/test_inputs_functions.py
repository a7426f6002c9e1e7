"""Hostile input through the real Functions objects, the simulated estate and Azurite behind.

* ``POST /api/scan`` (``manual_scan`` with ``azure.functions.HttpRequest``): JSON of any shape and
  depth, numbers of any size, strings with control characters and lone surrogates, whitespace
  around the document, other encodings and content types. Invariant: 200/202 with the scope
  asked for (never narrowed, never widened), or 400 ``application/problem+json`` naming the
  field, and then not one request reached the estate (its request counters are unchanged).
  Never a 500.
* ``scan-cluster`` (``scan_cluster`` with ``func.QueueMessage``): bodies another producer could
  write: other versions, extra or missing keys, wrong types, bytes that are not UTF-8, a base64
  layer too many, duplicate keys, huge bodies. Invariant: scanned (its run record arrives), or
  moved to ``scan-cluster-poison`` with a reason naming the field, the size and an excerpt
  that fit a queue message, and nothing scanned.
* Bad settings under each trigger: the timer logs the setting and fails without a scan; HTTP
  answers a 500 problem naming it; the queue moves the message to poison with it as the reason.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterator
from typing import Any

import azure.functions as func
import pytest
from azure.functions.timer import TimerRequest
from hypothesis import given
from hypothesis import strategies as st

import function_app
from shared.core.errors import SettingsError
from shared.entrypoints.limits import MAX_BODY_BYTES, MAX_MESSAGE_BYTES
from shared.entrypoints.messages import ClusterMessage
from sim import RUNS_STREAM, SimulatedEstate, default_estate
from sim.estate import DEMO_SUB_DEV, DEMO_SUB_PROD
from tests.azurite import azurite
from tests.hypothesis_profiles import count, examples
from tests.test_settings_inputs import CASES as SETTING_CASES
from tests.test_settings_inputs import REFUSE, expected, hostile

pytestmark = [pytest.mark.azurite, pytest.mark.inputs]
CLUSTER_ID = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ContainerService/managedClusters/{name}"
LEGACY = CLUSTER_ID.format(sub=DEMO_SUB_PROD, rg="rg-legacy-eus", name="aks-legacy-eus")
BATCH = CLUSTER_ID.format(sub=DEMO_SUB_DEV, rg="rg-batch-neu", name="aks-batch-neu")
RUNNING = {
    DEMO_SUB_PROD: {"aks-prod-weu", "aks-legacy-eus", "aks-local-only"},
    DEMO_SUB_DEV: {"aks-batch-neu"},
}
RUN_ID = "5f0c7c4e-2a53-4a8e-9a4c-0c4c2d1e9f10"
POISON_LIMIT = 48 * 1024  # a queue message's 64 KiB, after the host's base64 encoding

timer_fn = function_app.scheduled_scan.build().get_user_function()
queue_fn = function_app.scan_cluster.build().get_user_function()
http_fn = function_app.manual_scan.build().get_user_function()


class Out:
    """func.Out as the host provides it."""

    def __init__(self) -> None:
        self.value: Any = None

    def set(self, value: Any) -> None:
        self.value = value

    def get(self) -> Any:
        return self.value


@pytest.fixture(name="sim", scope="module")
def _sim() -> Iterator[SimulatedEstate]:
    with (
        azurite() as connection,
        SimulatedEstate(default_estate()).start() as sim,
        pytest.MonkeyPatch.context() as patch,
    ):
        env = {
            **sim.env,
            "AzureWebJobsStorage": connection,
            "DEADLETTER_CONTAINER": "dl-inputs",
        }
        for key, value in env.items():
            patch.setenv(key, value)
        # Every request carries a valid token of the simulated tenant (the trigger's first
        # check, tests/functions/test_http_auth.py); its keys are read once, here, so the
        # estate's counters below see only what a request's body makes the app call.
        TOKEN["value"] = sim.entra.token()
        post(b"{}", authorization=f"Bearer {sim.entra.token(roles=())}")
        yield sim


def settable(value: str) -> bool:
    """True when a process environment can hold ``value`` (no NUL, encodable)."""
    try:
        value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return False
    return "\x00" not in value


TOKEN: dict[str, str] = {}


def post(
    body: bytes, content_type: str | None = "application/json", authorization: str | None = None
) -> tuple[func.HttpResponse, Any]:
    headers = {"authorization": authorization or f"Bearer {TOKEN['value']}"}
    if content_type is not None:
        headers["content-type"] = content_type
    request = func.HttpRequest(method="POST", url="/api/scan", body=body, headers=headers)
    out = Out()
    response: func.HttpResponse = http_fn(request, out)
    return response, out.value


def deliver(body: bytes, message_id: str = "m1") -> Any:
    poison = Out()
    queue_fn(func.QueueMessage(id=message_id, body=body), poison)
    return poison.value


def refused_without_calls(
    sim: SimulatedEstate, response: func.HttpResponse, queued: Any, before: dict[str, int]
) -> str:
    """Assert the 400 contract; return the field it names."""
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    problem = json.loads(response.get_body())
    assert problem["status"] == 400
    assert problem["type"] == "about:blank"
    field = problem["field"]
    assert isinstance(field, str)
    assert field
    assert problem["detail"].startswith(f"{field}: ")
    assert queued is None
    assert sim.snapshot() == before, "a refused request reached the estate"
    return str(field)


# -- generators ------------------------------------------------------------------------------

# Letters, digits, punctuation, spaces, control characters and lone surrogates.
TEXT = st.text(alphabet=st.characters(categories=["L", "N", "P", "Zs", "Cc", "Cs"]), max_size=12)
NUMBERS = st.integers(min_value=-(10**400), max_value=10**400) | st.floats(
    allow_nan=True, allow_infinity=True
)
JSONISH: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | NUMBERS | TEXT,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["subscriptions", "clusters", "wait"]) | TEXT, inner, max_size=4
        )
    ),
    max_leaves=12,
)
IDS = st.sampled_from(
    [
        DEMO_SUB_DEV,
        DEMO_SUB_DEV.upper(),
        DEMO_SUB_DEV + "\n",
        " " + DEMO_SUB_DEV,
        "{" + DEMO_SUB_DEV + "}",
        LEGACY,
        LEGACY + "/",
        LEGACY.lower(),
        LEGACY + "\x00",
    ]
)
CONTENT_TYPES = st.sampled_from(
    [
        "application/json",
        "application/json; charset=utf-8",
        'Application/JSON;charset="UTF-8"',
        "application/json; charset=latin-1",
        "application/json; boundary=x",
        "application/problem+json",
        "text/plain",
        "application/x-www-form-urlencoded",
        "",
        None,
    ]
)


def encoded(document: Any) -> st.SearchStrategy[bytes]:
    text = json.dumps(document, allow_nan=True)
    return st.sampled_from(
        [
            text.encode("utf-8", "surrogatepass"),
            json.dumps(document, ensure_ascii=False, allow_nan=True).encode(
                "utf-8", "surrogatepass"
            ),
            text.encode("utf-16"),
            text.encode("utf-32"),
            b"\xef\xbb\xbf" + text.encode(),
            (" \n\t" + text + "\r\n").encode(),
        ]
    )


BODIES = st.one_of(
    JSONISH.flatmap(encoded),
    st.dictionaries(
        st.sampled_from(["subscriptions", "clusters", "wait"]),
        st.lists(IDS, max_size=3) | JSONISH,
        max_size=3,
    ).flatmap(encoded),
    st.integers(1, 3000).map(lambda depth: b"[" * depth + b"]" * depth),
    st.integers(1, 3000).map(lambda depth: b'{"wait":' + b"[" * depth + b"]" * depth + b"}"),
    st.integers(90, 6000).map(lambda digits: b'{"wait": ' + b"9" * digits + b"}"),
    st.sampled_from(
        [
            b'{"wait": NaN}',
            b'{"wait": -Infinity}',
            b'{"wait": true, "wait": false}',
            b"{}\x00",
            b"   ",
            b"\n",
        ]
    ),
    st.binary(max_size=64),
    st.just(b" " * (MAX_BODY_BYTES + 1)),
)
VALID = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "subscriptions": st.lists(
                st.sampled_from([DEMO_SUB_DEV, DEMO_SUB_PROD, DEMO_SUB_DEV.upper()]), max_size=3
            )
        },
    ),
    st.fixed_dictionaries({"clusters": st.just([LEGACY]), "wait": st.booleans()}),
    st.fixed_dictionaries(
        {
            "clusters": st.lists(
                st.sampled_from([LEGACY, BATCH, LEGACY.upper()]), min_size=1, max_size=3
            )
        }
    ),
)


class TestScanRequestBody:
    @examples(150)
    @given(body=BODIES, content_type=CONTENT_TYPES)
    def test_any_body_is_a_scan_or_a_400_naming_the_field_and_no_call(
        self, sim, body, content_type
    ):
        """Any body and content type: 200/202, or a 400 problem naming the field with no request to the estate; never a 500."""
        count("http")
        before = sim.snapshot()
        response, queued = post(body, content_type)
        assert response.status_code in (200, 202, 400), response.get_body()[:300]
        if response.status_code == 400:
            refused_without_calls(sim, response, queued, before)
        else:
            assert response.mimetype == "application/json"
            json.loads(response.get_body())

    @examples(25)
    @given(
        document=VALID,
        content_type=st.sampled_from(["application/json", "application/json; charset=utf-8"]),
    )
    def test_valid_request_scans_exactly_the_scope_asked(self, sim, document, content_type):
        """A valid request is dispatched or scanned for exactly its subscriptions or clusters: not narrowed, not widened."""
        count("http")
        response, queued = post(json.dumps(document).encode(), content_type)
        body = json.loads(response.get_body())
        subscriptions = {s.lower() for s in document.get("subscriptions", [])}
        clusters = {c.lower().rsplit("/", 1)[1] for c in document.get("clusters", [])}
        if document.get("wait"):
            assert response.status_code == 200, body
            assert {row["ClusterName"] for row in body["findings"]} == clusters
            return
        assert response.status_code == 202, body
        names = {ClusterMessage.parse(m).cluster.name for m in queued or []}
        assert body["clustersQueued"] == len(queued or [])
        if clusters:
            assert names == clusters
        else:
            wanted = subscriptions or set(RUNNING)
            assert names == set().union(*(RUNNING[s] for s in wanted))

    @pytest.mark.parametrize(
        ("body", "content_type", "field"),
        [
            (b"[" * 5000 + b"]" * 5000, "application/json", "body"),
            (b'{"wait": ' + b"1" * 5000 + b"}", "application/json", "body"),
            (b'{"wait": true, "wait": false}', "application/json", "body"),
            ('{"wait": true}'.encode("utf-16"), "application/json", "body"),
            (b'\xef\xbb\xbf{"wait": true}', "application/json", "body"),
            (b'{"wait": NaN}', "application/json", "body"),
            (b"  \n", "application/json", "body"),
            (b'{"wait": true}', "text/plain", "Content-Type"),
            (b'{"wait": true}', None, "Content-Type"),
            (b'{"\\ud800": 1}', "application/json", "body"),
            (b'{"subscriptions": ["\\ud800"]}', "application/json", "body"),
        ],
        ids=[
            "depth-5000",
            "5000-digits",
            "duplicate-key",
            "utf-16",
            "utf-8-bom",
            "nan",
            "whitespace-only",
            "text-plain",
            "no-content-type",
            "surrogate-key",
            "surrogate-id",
        ],
    )
    def test_regressions(self, sim, body, content_type, field):
        """Depth and 5000 digits were 500s (RecursionError, ValueError); a duplicate key (last kept), UTF-16, a BOM, NaN, a blank body (dispatched everything), any content type and lone surrogates were accepted; now each is a 400 naming the field."""
        before = sim.snapshot()
        response, queued = post(body, content_type)
        assert refused_without_calls(sim, response, queued, before) == field

    def test_empty_body_still_means_the_configured_scope(self, sim):
        """No bytes at all (curl -X POST without -d) is {} whatever the content type: a dispatch of everything in scope."""
        response, queued = post(b"", None)
        assert response.status_code == 202
        assert {ClusterMessage.parse(m).cluster.name for m in queued} == set().union(
            *RUNNING.values()
        )


def message(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "v": 1,
        "runId": RUN_ID,
        "clusterId": LEGACY,
        "benchmark": "cis-aks-1.8",
        "policy": {"eventRecordQpsMin": 5, "eventRecordQpsMode": "cis"},
    }
    document.update(changes)
    return document


FIELD_VALUES = {
    "v": st.sampled_from([0, 2, "1", 1.0, True, None, -1, 10**30, [1]]),
    "runId": st.sampled_from([RUN_ID.upper(), RUN_ID + "\n", "{" + RUN_ID + "}", "", None, 5])
    | TEXT,
    "clusterId": st.sampled_from([LEGACY + "/", LEGACY + " ", "/subscriptions/x", None, [LEGACY]])
    | TEXT,
    "benchmark": st.sampled_from(["CIS-AKS-1.8", "cis-aks-1.1", "", None, 1.8]) | TEXT,
    "policy": st.sampled_from(
        [
            None,
            {},
            {"eventRecordQpsMin": 5},
            {"eventRecordQpsMin": True, "eventRecordQpsMode": "cis"},
            {"eventRecordQpsMin": 5, "eventRecordQpsMode": "CIS"},
            {"eventRecordQpsMin": 0, "eventRecordQpsMode": "cis"},
            {"eventRecordQpsMin": 5, "eventRecordQpsMode": "cis", "levels": [1]},
            [],
        ]
    ),
}
BAD_MESSAGES = st.one_of(
    st.sampled_from(sorted(FIELD_VALUES)).flatmap(
        lambda key: FIELD_VALUES[key].map(
            lambda value: json.dumps({**message(), key: value}).encode()
        )
    ),
    st.sampled_from(sorted(FIELD_VALUES)).map(
        lambda key: json.dumps({k: v for k, v in message().items() if k != key}).encode()
    ),
    TEXT.map(lambda key: json.dumps({**message(), key: 1}).encode()),
    st.just(base64.b64encode(json.dumps(message()).encode())),
    st.just(json.dumps(message()).encode("utf-16")),
    st.just(json.dumps(message()).replace('"v": 1', '"v": 1, "v": 1').encode()),
    st.binary(max_size=80).filter(lambda b: b[:1] != b"{"),
    st.just(json.dumps(message(pad="x" * MAX_MESSAGE_BYTES)).encode()),
    st.just("\u00e9".encode("latin-1") + json.dumps(message()).encode()),
    JSONISH.map(lambda d: json.dumps(d, allow_nan=True).encode("utf-8", "surrogatepass")),
)


class TestQueueMessage:
    @examples(120)
    @given(body=BAD_MESSAGES)
    def test_a_message_that_is_not_ours_is_poison_with_the_reason_and_scans_nothing(
        self, sim, body
    ):
        """Any message another producer could write is scanned, or poison with a reason, the size and a bounded excerpt, and no call."""
        count("queue")
        before = sim.snapshot()
        moved = deliver(body)
        if moved is None:  # it was a valid message after all: scanned
            assert sim.snapshot() != before
            return
        assert len(moved) <= POISON_LIMIT
        poison = json.loads(moved)
        assert poison["messageId"] == "m1"
        assert poison["bodyBytes"] == len(body)
        assert poison["reason"]
        assert len(poison["body"]) <= 4096
        assert sim.snapshot() == before, "a refused message reached the estate"

    def test_valid_message_is_scanned_with_its_run_id(self, sim):
        """The message the dispatcher writes is scanned: its run record arrives under its runId."""
        run_id = "0c2d9e5a-7f3b-4c1e-8a6d-5b4e3f2a1d0c"
        assert deliver(json.dumps(message(runId=run_id)).encode()) is None
        records = [r for r in sim.accepted(RUNS_STREAM) if r["RunId"] == run_id]
        assert [r["Trigger"] for r in records] == ["queue"]

    @pytest.mark.parametrize(
        ("body", "reason"),
        [
            (
                json.dumps(message(v=True)).encode(),
                "v: must be the message version 1 (an integer), got boolean",
            ),
            (
                json.dumps(message(v=1.0)).encode(),
                "v: must be the message version 1 (an integer), got number",
            ),
            (b"\xff" + json.dumps(message()).encode(), "message: not UTF-8"),
            (b"[" * 5000 + b"]" * 5000, "message: nests deeper than 64 levels"),
            (
                json.dumps(message(v=int("9" * 200))).encode(),
                "message: has a number with more than 100 digits",
            ),
            (base64.b64encode(json.dumps(message()).encode()), "message: not valid JSON"),
            (
                json.dumps(message(pad="x" * MAX_MESSAGE_BYTES)).encode(),
                f"message: larger than {MAX_MESSAGE_BYTES} bytes",
            ),
        ],
        ids=["v-true", "v-float", "not-utf8", "depth", "big-number", "double-base64", "huge"],
    )
    def test_regressions(self, sim, body, reason):
        """v: true and 1.0 were accepted as version 1; bytes that are not UTF-8 were replaced before parsing (the reason said "not valid JSON"); depth and 5000 digits raised (three host retries, then poison without a reason); a huge body was copied into a poison message too large for the queue; now each is poison with its own reason, bounded."""
        before = sim.snapshot()
        poison = json.loads(deliver(body))
        assert poison["reason"].startswith(reason), poison["reason"]
        assert sim.snapshot() == before

    def test_poison_excerpt_shows_bytes_that_are_not_utf8(self, sim):
        """An excerpt keeps invalid bytes visible as \\xNN instead of replacing them."""
        poison = json.loads(deliver(b'{"v": 1, "runId": "\xff"}'))
        assert "\\xff" in poison["body"]


class TestBadSettingsUnderEachTrigger:
    # The SCAN_API_* settings are the HTTP trigger's; the timer does not read them.
    @pytest.mark.parametrize(
        "name", sorted(n for n in SETTING_CASES if not n.startswith("SCAN_API_"))
    )
    def test_timer_logs_the_setting_and_fails_without_a_scan(self, sim, name, caplog):
        """A hostile value of each setting: the timer logs the setting's name, fails, sends no message and calls nothing."""
        getter, oracle, samples = SETTING_CASES[name]

        @examples(6)
        @given(value=hostile(samples))
        def check(value: str) -> None:
            if expected(name, value, getter, oracle) is not REFUSE or not settable(value):
                return  # a value the setting accepts, or one no process environment can hold
            count("settings-triggers")
            before = sim.snapshot()
            out = Out()
            caplog.clear()
            with (
                pytest.MonkeyPatch.context() as patch,
                caplog.at_level(logging.ERROR, "function_app"),
            ):
                patch.setenv(name, value)
                with pytest.raises(SettingsError, match=f"^{name}: "):
                    timer_fn(TimerRequest(past_due=False), out)
            assert out.value is None
            assert any(
                r.levelno == logging.ERROR and f"nothing scanned: {name}: " in r.getMessage()
                for r in caplog.records
            ), [r.getMessage() for r in caplog.records]
            assert sim.snapshot() == before

        check()

    def test_http_is_a_500_problem_naming_the_setting(self, sim, monkeypatch):
        """With a bad setting, a valid request is a 500 problem naming the setting (the app, not the request, is wrong) and nothing is called."""
        monkeypatch.setenv("SCAN_CONCURRENCY", "64 ")
        before = sim.snapshot()
        response, queued = post(b"{}")
        assert response.status_code == 500
        assert response.mimetype == "application/problem+json"
        assert json.loads(response.get_body())["detail"].startswith("SCAN_CONCURRENCY: ")
        assert queued is None
        assert sim.snapshot() == before

    def test_queue_moves_the_message_to_poison_naming_the_setting(self, sim, monkeypatch):
        """With a bad setting, a valid message goes to poison with the setting as its reason (not three silent retries)."""
        monkeypatch.setenv(
            "SCAN_POLICY",
            "exemptions:\n  - control: '3.2.4'\n    scope: /subscriptions/*\n    reason: legacy\n    expires: 2027-02-30\n",
        )
        before = sim.snapshot()
        poison = json.loads(deliver(json.dumps(message()).encode()))
        assert poison["reason"].startswith(
            "SCAN_POLICY: the inline policy: exemptions[0].expires: "
        )
        assert sim.snapshot() == before

    def test_timestamp_expiry_stops_the_timer_before_any_call(self, sim, monkeypatch, caplog):
        """The reported defect: an expires timestamp passed, the run called the estate and crashed, writing no rows; now the timer stops before any call, naming the field."""
        monkeypatch.setenv(
            "SCAN_POLICY",
            "exemptions:\n  - control: '3.2.4'\n    scope: /subscriptions/*\n    reason: legacy\n    expires: 2027-03-01T10:00:00Z\n",
        )
        before = sim.snapshot()
        with (
            caplog.at_level(logging.ERROR, "function_app"),
            pytest.raises(SettingsError, match=r"exemptions\[0\]\.expires: .* is a timestamp"),
        ):
            timer_fn(TimerRequest(past_due=False), Out())
        assert sim.snapshot() == before
        assert "scheduled scan not started" in caplog.text

    def test_queue_message_benchmark_without_an_exempted_control_is_poison(self, sim, monkeypatch):
        """A message for cis-k8s-1.12 while SCAN_POLICY exempts 3.2.4 (cis-aks-1.8) would never apply the exemption: poison, naming it."""
        monkeypatch.setenv(
            "SCAN_POLICY",
            '{"exemptions": [{"control": "3.2.4", "scope": "/subscriptions/*", "reason": "legacy", "expires": "2027-03-01"}]}',
        )
        before = sim.snapshot()
        poison = json.loads(deliver(json.dumps(message(benchmark="cis-k8s-1.12")).encode()))
        assert poison["reason"].startswith("benchmark: cis-k8s-1.12 has no control 3.2.4")
        assert sim.snapshot() == before
