"""No findings lost: rows that Log Analytics did not accept wait in a dead-letter store.

``DeliveringSink`` wraps the Log Analytics sink. When an upload still fails after the SDK's own
retries, the rows that failed are written to the store as one blob (JSON: the stream and the
rows). Every run first calls ``replay``: each waiting blob is claimed with a lease, its rows are
uploaded, and the blob is deleted only after every one of them was accepted; rows that fail
again are written back as a new blob before the old one goes. Rows carry a deterministic
``RecordId``, so a row sent twice (a crash between upload and delete) can be removed in KQL.

Stores: ``BlobDeadLetterStore`` (the app's storage account, identity-based, or Azurite by
connection string in tests) and ``DirectoryDeadLetterStore`` (the CLI's local folder).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.core.errors import SinkError
from shared.core.records import Finding, RunRecord
from shared.core.rows import decode_rows, json_rows
from shared.ports import DeadLetterStore, JsonUploader, Letter, Uploader

log = logging.getLogger(__name__)


def _letter_name(stream: str) -> str:
    from datetime import UTC, datetime  # noqa: PLC0415

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{stamp}-{stream}-{uuid.uuid4().hex[:12]}.json"


def _encode(stream: str, rows: Sequence[Mapping[str, Any]]) -> bytes:
    return json.dumps(
        {"version": 1, "stream": stream, "rows": list(rows)}, separators=(",", ":")
    ).encode()


class CorruptLetterError(SinkError):
    """A stored letter cannot be read back; it is left in place for a person to inspect."""


def _decode(name: str, data: bytes) -> Letter:
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise CorruptLetterError(f"dead-letter {name} is not JSON") from None
    if not isinstance(document, dict) or document.get("version") != 1:
        raise CorruptLetterError(f"dead-letter {name} is not a version-1 letter")
    stream, rows = document.get("stream"), document.get("rows")
    if not isinstance(stream, str) or not isinstance(rows, list):
        raise CorruptLetterError(f"dead-letter {name} has no stream or rows")
    return Letter(name, stream, rows)


@dataclass
class DeliveryStats:
    """Row counts for the run record."""

    rows_sent: int = 0
    rows_dead_lettered: int = 0
    rows_replayed: int = 0


class DeliveringSink:
    """FindingSink: Log Analytics first, the dead-letter store for what it did not accept."""

    def __init__(
        self, inner: Uploader, store: DeadLetterStore, findings_stream: str, runs_stream: str
    ) -> None:
        self._inner = inner
        self._store = store
        self._streams = {"findings": findings_stream, "runs": runs_stream}
        self._lock = threading.Lock()
        self.stats = DeliveryStats()

    def write_findings(self, rows: Sequence[Finding]) -> None:
        """Upload; dead-letter the failures. SinkError only if the store fails too.

        Rows go out as the pipeline serialized them when the uploader takes JSON."""
        stream, serialized = self._streams["findings"], json_rows(rows)
        if not isinstance(self._inner, JsonUploader):
            self._deliver(stream, decode_rows(serialized))
            return
        try:
            self._inner.upload_json(stream, serialized)
        except SinkError as exc:
            self._dead_letter(stream, exc, len(serialized), lambda: decode_rows(serialized))
            return
        with self._lock:
            self.stats.rows_sent += len(serialized)

    def write_run(self, run: RunRecord) -> None:
        """Upload the run record the same way."""
        self._deliver(self._streams["runs"], [run.row()])

    def _deliver(self, stream: str, rows: list[dict[str, Any]]) -> None:
        try:
            self._inner.upload(stream, rows)
        except SinkError as exc:
            self._dead_letter(stream, exc, len(rows), lambda: rows)
            return
        with self._lock:
            self.stats.rows_sent += len(rows)

    def _dead_letter(
        self,
        stream: str,
        exc: SinkError,
        total: int,
        every_row: Callable[[], list[dict[str, Any]]],
    ) -> None:
        failed = exc.failed_rows or every_row()
        name = self._store.put(stream, failed)
        log.warning("dead-lettered %d rows for %s as %s (%s)", len(failed), stream, name, exc)
        with self._lock:
            self.stats.rows_dead_lettered += len(failed)
            self.stats.rows_sent += total - len(failed)

    @property
    def uploader(self) -> Uploader:
        """The sink rows go to first (Log Analytics)."""
        return self._inner

    def replay(self) -> int:
        """Re-send every waiting letter; return how many rows were accepted."""
        return replay(self._store, self._inner, self.stats, self._lock)


def replay(
    store: DeadLetterStore,
    uploader: Uploader,
    stats: DeliveryStats | None = None,
    lock: threading.Lock | None = None,
) -> int:
    """Re-send waiting letters, deleting each only after all its rows were accepted."""
    accepted = 0
    for name in store.names():
        try:
            accepted += _replay_one(store, uploader, name)
        except CorruptLetterError as exc:
            log.error("%s; left in place for inspection", exc)
    if stats is not None:
        with lock or threading.Lock():
            stats.rows_replayed += accepted
    return accepted


def _replay_one(store: DeadLetterStore, uploader: Uploader, name: str) -> int:
    with store.claim(name) as letter:
        if letter is None:
            return 0  # another run is replaying it
        try:
            uploader.upload(letter.stream, letter.rows)
        except SinkError as exc:
            failed = exc.failed_rows or letter.rows
            if len(failed) < len(letter.rows):
                store.put(letter.stream, failed)
                store.delete(name)
            log.warning("replay of %s: %d rows still not accepted (%s)", name, len(failed), exc)
            return len(letter.rows) - len(failed)
        store.delete(name)
        return len(letter.rows)


class DirectoryDeadLetterStore:
    """Letters as files in a local folder (the CLI); claims are exclusive lock files."""

    def __init__(self, directory: Path) -> None:
        self._dir = directory

    def put(self, stream: str, rows: Sequence[Mapping[str, Any]]) -> str:
        """Write a letter atomically."""
        name = _letter_name(stream)
        try:
            self._dir.mkdir(parents=True, exist_ok=True)
            tmp = self._dir / f".{name}.tmp"
            tmp.write_bytes(_encode(stream, rows))
            tmp.replace(self._dir / name)
        except OSError as exc:
            raise SinkError(
                f"could not write dead-letter file in {self._dir}: {exc}", list(map(dict, rows))
            ) from None
        return name

    def names(self) -> list[str]:
        """Waiting letters, oldest first."""
        if not self._dir.is_dir():
            return []
        return sorted(p.name for p in self._dir.glob("*.json"))

    @contextmanager
    def claim(self, name: str) -> Iterator[Letter | None]:
        """Exclusive claim through an O_EXCL lock file."""
        lock = self._dir / f".{name}.lock"
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            yield None
            return
        os.close(fd)
        try:
            path = self._dir / name
            yield _decode(name, path.read_bytes()) if path.exists() else None
        finally:
            lock.unlink(missing_ok=True)

    def delete(self, name: str) -> None:
        """Remove a letter."""
        (self._dir / name).unlink(missing_ok=True)


class BlobDeadLetterStore:
    """Letters as blobs in a container of the app's storage account; claims are blob leases."""

    LEASE_SECONDS = 60

    def __init__(self, container: Any) -> None:
        self._container = container  # azure.storage.blob.ContainerClient
        self._created = False
        self._leases: dict[str, Any] = {}

    def _ensure(self) -> None:
        from azure.core.exceptions import ResourceExistsError  # noqa: PLC0415

        if not self._created:
            with suppress(ResourceExistsError):  # another run created it first
                self._container.create_container()
            self._created = True

    def put(self, stream: str, rows: Sequence[Mapping[str, Any]]) -> str:
        """Upload a letter blob."""
        from azure.core.exceptions import AzureError  # noqa: PLC0415

        name = _letter_name(stream)
        try:
            self._ensure()
            self._container.upload_blob(name, _encode(stream, rows), overwrite=False)
        except AzureError as exc:
            raise SinkError(
                f"could not write dead-letter blob {name}: {type(exc).__name__}",
                list(map(dict, rows)),
            ) from None
        return name

    def names(self) -> list[str]:
        """Waiting letters, oldest first."""
        from azure.core.exceptions import ResourceNotFoundError  # noqa: PLC0415

        try:
            return sorted(b.name for b in self._container.list_blobs())
        except ResourceNotFoundError:
            return []

    @contextmanager
    def claim(self, name: str) -> Iterator[Letter | None]:
        """Lease the blob for the replay; None when another run holds the lease."""
        from azure.core.exceptions import HttpResponseError, ResourceNotFoundError  # noqa: PLC0415

        blob = self._container.get_blob_client(name)
        try:
            lease = blob.acquire_lease(lease_duration=self.LEASE_SECONDS)
        except ResourceNotFoundError:
            yield None
            return
        except HttpResponseError as exc:
            if exc.status_code == 409:  # leased by another run
                yield None
                return
            raise
        self._leases[name] = lease
        try:
            yield _decode(name, blob.download_blob(lease=lease).readall())
        finally:
            if self._leases.pop(name, None) is not None:
                try:
                    lease.release()
                except HttpResponseError:
                    log.debug("lease on %s already gone", name)

    def delete(self, name: str) -> None:
        """Delete the blob (under its lease when this run holds one)."""
        lease = self._leases.pop(name, None)
        self._container.get_blob_client(name).delete_blob(lease=lease)
