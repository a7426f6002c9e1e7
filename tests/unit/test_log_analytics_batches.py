"""Uploads stay inside the Logs Ingestion limit of 1 MB per call."""

from __future__ import annotations

import json

from shared.adapters.log_analytics import MAX_CALL_BYTES, batches


class TestBatches:
    def test_every_batch_is_under_the_limit_and_nothing_is_dropped(self):
        """1,800 rows of ~800 bytes (one 200-node cluster) split into calls under 900 kB, in order."""
        rows = [{"RecordId": f"{i:032d}", "Reason": "x" * 760} for i in range(1800)]
        parts = batches(rows)
        assert len(parts) > 1
        assert all(len(json.dumps(p, separators=(",", ":"))) <= MAX_CALL_BYTES for p in parts)
        assert [r for p in parts for r in p] == rows

    def test_small_upload_is_one_call(self):
        """A handful of rows is a single call."""
        assert batches([{"a": 1}, {"a": 2}]) == [[{"a": 1}, {"a": 2}]]
