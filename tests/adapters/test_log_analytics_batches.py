"""Uploads stay inside the Logs Ingestion limit of 1 MB per call; each row is serialized once."""

from __future__ import annotations

import gzip
import json
from typing import Any

from shared.adapters.log_analytics import MAX_CALL_BYTES, batches, gzip_body
from shared.core.rows import serialize


def serialized(rows: list[dict[str, Any]]) -> list[bytes]:
    return [serialize(row) for row in rows]


class TestBatches:
    def test_every_batch_is_under_the_limit_and_nothing_is_dropped(self):
        """1,800 rows of ~800 bytes (one 200-node cluster) split into calls under 900 kB, in order."""
        rows = serialized([{"RecordId": f"{i:032d}", "Reason": "x" * 760} for i in range(1800)])
        parts = batches(rows)
        assert len(parts) > 1
        assert all(len(body) <= MAX_CALL_BYTES for _, body in parts)
        assert [r for p, _ in parts for r in p] == rows

    def test_the_body_is_exactly_the_batch_rows(self):
        """What is sent is the JSON array of the batch's rows (UTF-8), nothing more or less."""
        plain = [{"RecordId": f"{i:032d}", "Reason": 'é ü \u2028 "q"' * 40} for i in range(900)]
        parts = batches(serialized(plain), limit=20_000)
        assert len(parts) > 1
        decoded = []
        for batch, body in parts:
            assert len(body) <= 20_000
            assert json.loads(body) == [json.loads(row) for row in batch]
            decoded += json.loads(body)
        assert decoded == plain

    def test_small_upload_is_one_call(self):
        """A handful of rows is a single call."""
        rows = serialized([{"a": 1}, {"a": 2}])
        assert batches(rows) == [(rows, b'[{"a":1},{"a":2}]')]

    def test_a_row_over_the_limit_is_its_own_call_not_dropped(self):
        """A single row larger than the limit still goes out (and fails visibly), alone."""
        rows = serialized([{"a": 1}, {"big": "z" * 100}, {"a": 2}])
        parts = batches(rows, limit=50)
        assert [p for p, _ in parts] == [[rows[0]], [rows[1]], [rows[2]]]

    def test_gzip_body_is_a_gzip_member_of_the_body(self):
        """The compressed body starts with the gzip magic number and inflates to the JSON."""
        body = batches(serialized([{"a": 1}]))[0][1]
        packed = gzip_body(body)
        assert packed[:2] == b"\x1f\x8b"
        assert gzip.decompress(packed) == body

    def test_a_value_orjson_refuses_is_still_serialized(self):
        """A lone surrogate (from a hostile node name, say) is escaped, never a lost row."""
        (row,) = serialized([{"NodeName": "n\ud800"}])
        assert json.loads(row) == {"NodeName": "n\ud800"}
