"""The Log Analytics edge: rows to a data collection rule through the Logs Ingestion API.

azure-monitor-ingestion splits each upload into gzip chunks of at most 1 MiB and retries
throttling and server errors (azure-core's RetryPolicy); chunks that still fail are collected
through ``on_error`` and raised as one SinkError carrying exactly the rows that were not
accepted, so a dead-letter store can keep them. The HTTP Data Collector API is not used: it
stopped working in September 2026.
"""

from __future__ import annotations

import json
import logging
from collections.abc import MutableMapping, Sequence
from typing import Any

from azure.core.credentials import TokenCredential
from azure.core.exceptions import AzureError
from azure.monitor.ingestion import LogsIngestionClient, LogsUploadError

from shared.errors import SinkError
from shared.records import Finding, RunRecord

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
        self.upload(self._findings_stream, [r.row() for r in rows])

    def write_run(self, run: RunRecord) -> None:
        """Upload the run record."""
        self.upload(self._runs_stream, [run.row()])

    def upload(self, stream: str, rows: list[dict[str, Any]]) -> None:
        """Upload plain rows to ``stream``; SinkError carries every row that failed."""
        failed: list[dict[str, Any]] = []
        errors: list[str] = []

        def on_error(error: LogsUploadError) -> None:
            failed.extend(dict(item) for item in error.failed_logs)
            errors.append(_describe(error.error))

        for batch in batches(rows):
            try:
                logs: list[MutableMapping[str, Any]] = list(batch)
                self._client.upload(self._rule_id, stream, logs, on_error=on_error)
            except AzureError as exc:  # raised before any chunk was attempted (e.g. no token)
                failed.extend(batch)
                errors.append(_describe(exc))
        self.rows_sent += len(rows) - len(failed)
        if failed:
            raise SinkError(
                f"Logs Ingestion did not accept {len(failed)} of {len(rows)} rows for {stream}: "
                f"{errors[0]}",
                failed,
            )

    def close(self) -> None:
        """Close the HTTP pipeline."""
        self._client.close()


def batches(rows: list[dict[str, Any]], limit: int = 0) -> list[list[dict[str, Any]]]:
    """Split rows so each upload's JSON array stays under ``limit`` bytes (MAX_CALL_BYTES).

    The SDK chunks at 1 MiB of summed item sizes, which can exceed the service's "1 MB per
    call"; batching below it here keeps every call inside the documented limit.
    """
    limit = limit or MAX_CALL_BYTES
    out: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    size = 2
    for row in rows:
        row_size = len(json.dumps(row, separators=(",", ":"))) + 1
        if current and size + row_size > limit:
            out.append(current)
            current, size = [], 2
        current.append(row)
        size += row_size
    if current:
        out.append(current)
    return out


def _describe(error: Exception) -> str:
    status = getattr(error, "status_code", None)
    first = str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__
    return f"HTTP {status}: {first}" if status else f"{type(error).__name__}: {first}"
