"""The dead-letter store against Azurite: letters survive, replay deletes only accepted ones."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from shared.adapters.deadletter import BlobDeadLetterStore, DeliveringSink, replay
from shared.bootstrap import blob_container
from shared.core.errors import SinkError
from shared.settings import StorageSettings
from tests.azurite import azurite

pytestmark = pytest.mark.azurite


@pytest.fixture(name="connection", scope="module")
def _connection() -> Iterator[str]:
    with azurite() as connection:
        yield connection


@pytest.fixture(name="store")
def _store(connection: str, request: pytest.FixtureRequest) -> BlobDeadLetterStore:
    container = "dl-" + request.node.name.replace("_", "-").lower()[:50]
    return BlobDeadLetterStore(blob_container(StorageSettings(connection), container))


class FlakyUploader:
    """Refuses rows whose RecordId is in ``refuse``; keeps what it accepts."""

    def __init__(self, refuse: set[str] | None = None, outage: bool = False) -> None:
        self.refuse = refuse or set()
        self.outage = outage
        self.accepted: list[dict[str, Any]] = []

    def upload(self, stream: str, rows: list[dict[str, Any]]) -> None:
        if self.outage:
            raise SinkError("HTTP 503: service unavailable", rows)
        failed = [r for r in rows if r["RecordId"] in self.refuse]
        self.accepted.extend(r for r in rows if r["RecordId"] not in self.refuse)
        if failed:
            raise SinkError("HTTP 500: partial", failed)


def rows(n: int, prefix: str = "r") -> list[dict[str, Any]]:
    return [{"RecordId": f"{prefix}{i}", "Status": "PASS"} for i in range(n)]


class TestBlobStore:
    def test_put_then_replay_deletes_after_acceptance(self, store):
        """A letter is re-sent and deleted once every row was accepted."""
        store.put("Custom-AksCisFindings", rows(3))
        up = FlakyUploader()
        assert replay(store, up) == 3
        assert [r["RecordId"] for r in up.accepted] == ["r0", "r1", "r2"]
        assert store.names() == []

    def test_outage_keeps_the_letter(self, store):
        """When the upload fails again the letter stays, whole."""
        store.put("Custom-AksCisFindings", rows(2))
        assert replay(store, FlakyUploader(outage=True)) == 0
        assert len(store.names()) == 1
        up = FlakyUploader()
        assert replay(store, up) == 2
        assert store.names() == []

    def test_partial_failure_keeps_only_the_failed_rows(self, store):
        """Rows accepted in a partial failure are not stored again; the rest wait."""
        store.put("Custom-AksCisFindings", rows(4))
        assert replay(store, FlakyUploader(refuse={"r1"})) == 3
        (name,) = store.names()
        with store.claim(name) as letter:
            assert letter is not None
            assert [r["RecordId"] for r in letter.rows] == ["r1"]

    def test_a_leased_letter_is_skipped_by_a_concurrent_replay(self, store):
        """A letter claimed by one run is not replayed by another at the same time."""
        store.put("Custom-AksCisFindings", rows(1))
        (name,) = store.names()
        with store.claim(name) as held:
            assert held is not None
            assert replay(store, FlakyUploader()) == 0
        assert replay(store, FlakyUploader()) == 1


class TestDeliveringSink:
    def test_outage_dead_letters_then_recovery_sends_exactly_once(self, store):
        """An ingestion outage of one run, then recovery: every row accepted once, no blob left."""
        from shared.core.records import FINDING_COLUMNS, Finding  # noqa: PLC0415

        def finding(i: int) -> Finding:
            values: dict[str, Any] = {name: "" for name, _ in FINDING_COLUMNS}
            values.update(Level=1, RecordId=f"id{i}")
            return Finding(**values)

        down = FlakyUploader(outage=True)
        sink = DeliveringSink(down, store, "Custom-AksCisFindings", "Custom-AksCisScanRuns")
        sink.write_findings([finding(i) for i in range(5)])
        assert sink.stats.rows_dead_lettered == 5
        up = FlakyUploader()
        recovered = DeliveringSink(up, store, "Custom-AksCisFindings", "Custom-AksCisScanRuns")
        assert recovered.replay() == 5
        assert recovered.stats.rows_replayed == 5
        assert sorted(r["RecordId"] for r in up.accepted) == [f"id{i}" for i in range(5)]
        assert store.names() == []
