"""The Log Analytics edge: rows to a data collection rule through the Logs Ingestion API.

Each row is serialized to JSON once (by the pipeline, ``shared.core.rows``, as each node's rows
are built): ``batches`` measures the rows by those bytes, joins them into one JSON array per call (under MAX_CALL_BYTES, below the service's 1 MB per call) and the
gzip of that array is the body azure-monitor-ingestion sends as it is (its ``upload`` accepts a
stream; given a list it would serialize every row twice more, once to chunk and once to send).
azure-core's RetryPolicy retries throttling and server errors; a call that still fails is
collected, and one SinkError carries exactly the rows that were not accepted, so a dead-letter
store can keep them. The HTTP Data Collector API is not used: it stopped working in September
2026.
"""

from __future__ import annotations

import io
import logging
import zlib
from collections.abc import Sequence
from typing import Any

from azure.core.credentials import TokenCredential
from azure.core.exceptions import AzureError
from azure.monitor.ingestion import LogsIngestionClient

from shared.core.errors import SinkError
from shared.core.records import Finding, RunRecord
from shared.core.rows import decode_rows, json_rows, serialize

log = logging.getLogger(__name__)

UPLOAD_RETRIES = 3
#: Below the Logs Ingestion limit of 1 MB per call, with room for the SDK's own separators.
MAX_CALL_BYTES = 900_000


class LogAnalyticsSink:
    """FindingSink that uploads findings and run records to their DCR streams."""

    def __init__(
        self,
        credential: TokenCredential,
        endpoint: str,
        rule_id: str,
        findings_stream: str,
        runs_stream: str,
    ) -> None:
        # Bounded retries: azure-core's default (10 tries, backoff to 120 s) would hold a run for
        # many minutes in an outage; what still fails goes to the dead-letter store instead.
        self._client = LogsIngestionClient(
            endpoint,
            credential,
            retry_total=UPLOAD_RETRIES,
            retry_backoff_factor=0.5,
            retry_backoff_max=8,
        )
        self._rule_id = rule_id
        self._findings_stream = findings_stream
        self._runs_stream = runs_stream
        self.rows_sent = 0

    def write_findings(self, rows: Sequence[Finding]) -> None:
        """Upload one batch of finding rows; SinkError with the rows that were not accepted."""
        self.upload_json(self._findings_stream, json_rows(rows))

    def write_run(self, run: RunRecord) -> None:
        """Upload the run record."""
        self.upload(self._runs_stream, [run.row()])

    def upload(self, stream: str, rows: list[dict[str, Any]]) -> None:
        """Upload plain rows to ``stream``; SinkError carries every row that failed."""
        self.upload_json(stream, [serialize(row) for row in rows])

    def upload_json(self, stream: str, rows: list[bytes]) -> None:
        """Upload serialized rows to ``stream``; SinkError carries every row that failed."""
        failed: list[bytes] = []
        errors: list[str] = []
        for batch, body in batches(rows):
            try:
                # A gzip stream is sent as it is (the SDK recognises the gzip magic number).
                self._client.upload(self._rule_id, stream, io.BytesIO(gzip_body(body)))
            except (
                AzureError
            ) as exc:  # after azure-core's retries, or before any attempt (no token)
                failed.extend(batch)
                errors.append(_describe(exc))
        self.rows_sent += len(rows) - len(failed)
        if failed:
            raise SinkError(
                f"Logs Ingestion did not accept {len(failed)} of {len(rows)} rows for {stream}: "
                f"{errors[0]}",
                decode_rows(failed),
            )

    def close(self) -> None:
        """Close the HTTP pipeline."""
        self._client.close()


def batches(rows: list[bytes], limit: int = 0) -> list[tuple[list[bytes], bytes]]:
    """Split serialized rows into calls whose JSON array stays under ``limit`` bytes
    (MAX_CALL_BYTES).

    A call is its rows and the JSON array of exactly those bytes, which is what gets sent. The
    SDK's own chunking (1 MiB of summed item sizes, without the separators) can exceed the
    service's "1 MB per call"; batching below it here keeps every call inside the documented
    limit. A single row larger than ``limit`` is a call of its own (the service answers 413 for
    it and it is dead-lettered, not dropped).
    """
    limit = limit or MAX_CALL_BYTES
    out: list[tuple[list[bytes], bytes]] = []
    current: list[bytes] = []
    size = 2  # the brackets
    for row in rows:
        row_size = len(row) + 1  # and its comma
        if current and size + row_size > limit:
            out.append((current, _array(current)))
            current, size = [], 2
        current.append(row)
        size += row_size
    if current:
        out.append((current, _array(current)))
    return out


#: zlib level of the upload bodies: rows repeat most of their bytes, so the fastest level
#: already compresses them about tenfold, for a third of the default level's CPU.
GZIP_LEVEL = 1


def gzip_body(body: bytes) -> bytes:
    """The gzip member of ``body``, as the SDK compresses the chunks it builds itself."""
    compressor = zlib.compressobj(GZIP_LEVEL, wbits=16 + zlib.MAX_WBITS)
    return compressor.compress(body) + compressor.flush()


def _array(parts: list[bytes]) -> bytes:
    return b"[" + b",".join(parts) + b"]"


def _describe(error: Exception) -> str:
    status = getattr(error, "status_code", None)
    first = str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__
    return f"HTTP {status}: {first}" if status else f"{type(error).__name__}: {first}"
