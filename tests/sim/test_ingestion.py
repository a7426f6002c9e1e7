"""The Logs Ingestion endpoint through azure-monitor-ingestion."""

from __future__ import annotations

import gzip
import http.client
import json
import ssl
from collections.abc import MutableMapping
from typing import Any

import pytest
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from azure.identity import ManagedIdentityCredential
from azure.monitor.ingestion import LogsIngestionClient, LogsUploadError

from sim import FINDINGS_STREAM, RUNS_STREAM, Endpoint, SimulatedEstate
from tests.sim.conftest import arm_error


def rows(n: int, pad: int = 0, start: int = 0) -> list[MutableMapping[str, Any]]:
    return [
        {
            "TimeGenerated": "2026-11-26T10:00:00Z",
            "NodeName": f"aks-system-1-vmss{i:06d}",
            "ControlId": "3.2.1",
            "Status": "PASS",
            "Pad": "x" * pad,
        }
        for i in range(start, start + n)
    ]


def header_of(error: HttpResponseError, name: str) -> str:
    """A response header of a failed SDK call."""
    response: Any = error.response
    assert response is not None
    return str(response.headers[name])


class _ArmTokenCredential:
    """Hands out ARM tokens whatever is asked: a credential with the wrong audience."""

    def __init__(self, inner: ManagedIdentityCredential, arm: str) -> None:
        self._inner, self._arm = inner, arm

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        token: AccessToken = self._inner.get_token(f"{self._arm}/.default", **kwargs)
        return token


def post_raw(
    sim: SimulatedEstate,
    body: bytes,
    *,
    stream: str = FINDINGS_STREAM,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, Any]]:
    context = ssl.create_default_context(cafile=sim.ca_bundle)
    host, port = sim.ingestion_endpoint.removeprefix("https://").split(":")
    connection = http.client.HTTPSConnection(host, int(port), context=context, timeout=5)
    try:
        connection.request(
            "POST",
            f"/dataCollectionRules/{sim.estate.dcr_immutable_id}/streams/{stream}?api-version=2023-01-01",
            body=body,
            headers={
                "Authorization": f"Bearer {sim.token('https://monitor.azure.com')}",
                "Content-Type": "application/json",
                **(headers or {}),
            },
        )
        response = connection.getresponse()
        data = response.read()
        return response.status, json.loads(data) if data else {}
    finally:
        connection.close()


class TestUpload:
    def test_rows_land_in_their_stream(self, sim, credential):
        """upload() gzips the rows; the endpoint answers 204 and keeps them per stream."""
        before = len(sim.accepted(FINDINGS_STREAM))
        with LogsIngestionClient(sim.ingestion_endpoint, credential) as client:
            client.upload(sim.estate.dcr_immutable_id, FINDINGS_STREAM, rows(3))
            client.upload(sim.estate.dcr_immutable_id, RUNS_STREAM, [{"RunId": "r1"}])
        assert sim.accepted(FINDINGS_STREAM)[before:] == rows(3)
        assert sim.accepted(RUNS_STREAM)[-1] == {"RunId": "r1"}
        assert sim.counters.count(Endpoint.INGESTION, cluster=FINDINGS_STREAM, status=204) >= 1

    def test_large_upload_is_chunked_by_the_sdk_and_accepted(self, sim, credential):
        """2.5 MB of rows: the SDK splits them into <= 1 MiB chunks; every row arrives."""
        batch = rows(250, pad=10_000, start=1000)
        calls = sim.ingestion_calls(FINDINGS_STREAM)
        before = len(sim.accepted(FINDINGS_STREAM))
        with LogsIngestionClient(sim.ingestion_endpoint, credential) as client:
            client.upload(sim.estate.dcr_immutable_id, FINDINGS_STREAM, batch)
        assert sim.ingestion_calls(FINDINGS_STREAM) - calls == 3
        assert sim.accepted(FINDINGS_STREAM)[before:] == batch

    def test_a_single_row_over_1_mb_is_413(self, sim, credential):
        """A row the SDK cannot split: 413 ContentLengthLimitExceeded, reported through on_error."""
        errors: list[LogsUploadError] = []
        with LogsIngestionClient(sim.ingestion_endpoint, credential) as client:
            client.upload(
                sim.estate.dcr_immutable_id,
                FINDINGS_STREAM,
                [{"Pad": "y" * (1024 * 1024 + 10)}],
                on_error=errors.append,
            )
        assert len(errors) == 1
        error = errors[0].error
        assert isinstance(error, HttpResponseError)
        status, code, message = arm_error(error)
        assert (status, code) == (413, "ContentLengthLimitExceeded")
        assert message.startswith("Maximum allowed content length: 1048576 bytes (1 MB).")

    def test_unknown_dcr_is_404(self, sim, credential):
        """An immutable id that does not exist: 404 'Data collection rule ... not found.'"""
        with (
            LogsIngestionClient(sim.ingestion_endpoint, credential) as client,
            pytest.raises(HttpResponseError) as caught,
        ):
            client.upload("dcr-00000000000000000000000000000000", FINDINGS_STREAM, rows(1))
        assert arm_error(caught.value) == (
            404,
            "NotFound",
            "Data collection rule with immutable Id 'dcr-00000000000000000000000000000000' not found.",
        )

    def test_unknown_stream_is_400(self, sim, credential):
        """A stream the DCR does not declare is refused."""
        with (
            LogsIngestionClient(sim.ingestion_endpoint, credential) as client,
            pytest.raises(HttpResponseError) as caught,
        ):
            client.upload(sim.estate.dcr_immutable_id, "Custom-Nope", rows(1))
        assert arm_error(caught.value)[:2] == (400, "InvalidStream")

    def test_token_for_another_audience_is_401(self, sim, credential):
        """An ARM token is refused with InvalidAudience."""
        with (
            LogsIngestionClient(
                sim.ingestion_endpoint, _ArmTokenCredential(credential, sim.arm_endpoint)
            ) as client,
            pytest.raises(ClientAuthenticationError) as caught,
        ):
            client.upload(sim.estate.dcr_immutable_id, FINDINGS_STREAM, rows(1))
        assert arm_error(caught.value)[:2] == (401, "InvalidAudience")


class TestOutage:
    def test_outage_on_then_off(self, sim, credential):
        """ingestion_outage(True): every upload is 503; (False): uploads work again."""
        sim.faults.ingestion_outage(True, retry_after=0)
        with LogsIngestionClient(sim.ingestion_endpoint, credential, retry_total=0) as client:
            with pytest.raises(HttpResponseError) as caught:
                client.upload(sim.estate.dcr_immutable_id, FINDINGS_STREAM, rows(1))
            assert caught.value.status_code == 503
            assert header_of(caught.value, "Retry-After") == "0"
            sim.faults.ingestion_outage(False)
            client.upload(sim.estate.dcr_immutable_id, FINDINGS_STREAM, rows(1, start=77))
        assert sim.accepted(FINDINGS_STREAM)[-1] == rows(1, start=77)[0]

    def test_transient_503_is_retried_by_the_sdk(self, sim, credential):
        """One 503: azure-core retries the POST and the rows land once."""
        from sim import Fault  # noqa: PLC0415 - local to the fault tests

        sim.faults.add(Fault(Endpoint.INGESTION, status=503, retry_after=0, times=1))
        before = len(sim.accepted(FINDINGS_STREAM))
        with LogsIngestionClient(sim.ingestion_endpoint, credential) as client:
            client.upload(sim.estate.dcr_immutable_id, FINDINGS_STREAM, rows(2, start=500))
        assert sim.accepted(FINDINGS_STREAM)[before:] == rows(2, start=500)


class TestWire:
    @pytest.mark.parametrize(
        ("body", "headers", "status", "code"),
        [
            pytest.param(b'{"a": 1}', {}, 400, "InvalidPayload", id="object-not-array"),
            pytest.param(b"[1, 2]", {}, 400, "InvalidPayload", id="array-of-scalars"),
            pytest.param(b"not json", {}, 400, "InvalidPayload", id="not-json"),
            pytest.param(
                b"\x1f\x8bnot gzip",
                {"Content-Encoding": "gzip"},
                400,
                "InvalidContentEncoding",
                id="bad-gzip",
            ),
            pytest.param(
                b"[" + b'"' + b"z" * (1024 * 1024) + b'"]',
                {},
                413,
                "ContentLengthLimitExceeded",
                id="over-1mb",
            ),
            pytest.param(
                gzip.compress(b'[{"a":"' + b"z" * (2 * 1024 * 1024) + b'"}]'),
                {"Content-Encoding": "gzip"},
                413,
                "ContentLengthLimitExceeded",
                id="over-1mb-after-gunzip",
            ),
        ],
    )
    def test_bad_bodies_are_refused(self, sim, body, headers, status, code):
        """The body must be a JSON array of objects of at most 1 MB, compressed or not."""
        got_status, answer = post_raw(sim, body, headers=headers)
        assert (got_status, answer["error"]["code"]) == (status, code)

    def test_uncompressed_array_is_accepted(self, sim):
        """Content-Encoding is optional."""
        assert post_raw(sim, b'[{"Plain": true}]')[0] == 204
        assert sim.accepted(FINDINGS_STREAM)[-1] == {"Plain": True}
