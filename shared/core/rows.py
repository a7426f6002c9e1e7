"""Rows at scan speed: each row serialized once, from per-control constants and per-node fields.

A scan writes nine rows per node, and nearly every node of a cluster has the same verdicts, so
the columns that depend only on the cluster, the control and its verdict (``target_columns``)
are serialized once per (cluster, verdicts) into a ``RowTemplate``; a node adds only its
``node_columns`` (node name and pool, time, record id, exemption). Both functions live in
``shared.core.records`` and are what ``findings`` uses too, and the template walks
``FINDING_COLUMNS`` in order, so a row's JSON is byte for byte ``orjson.dumps(finding.row())``
of the ``Finding`` that ``findings`` would build (tests check it), whatever columns the schema
gains. ``FindingBatch`` carries one cluster's rows to the sinks: their JSON, the status counts,
and the ``Finding`` objects on demand (decoded from the JSON, for the sinks that want objects).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any, overload

import orjson

from shared.core.controls import Control
from shared.core.model import Node, Policy, Status, Verdict
from shared.core.records import (
    FINDING_COLUMNS,
    NODE_COLUMNS,
    Finding,
    RowContext,
    node_columns,
    target_columns,
)


def _dumps(value: Any) -> bytes:
    """orjson's JSON; the standard library's (``\\u`` escapes) for what orjson refuses (lone
    surrogates in a string, integers past 64 bits), so no row is ever lost to its encoding."""
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        return json.dumps(value, separators=(",", ":")).encode()


def _loads(row: bytes) -> Any:
    try:
        return orjson.loads(row)
    except orjson.JSONDecodeError:  # a \\ud800 escape _dumps wrote for a lone surrogate
        return json.loads(row)


class RowTemplate:
    """The rows of one target (a cluster, or a subscription) for one tuple of verdicts.

    Per verdict, the serialized constants between the NODE_COLUMNS, in FINDING_COLUMNS order:
    ``b'{"TimeGenerated":'``, then the node's time, then ``b',"RecordId":'``, its record id,
    ``b',"Benchmark":"cis-aks-1.8","ControlId":"3.2.1",...,"NodePool":'``, and so on.
    """

    __slots__ = ("_context", "_rows", "cluster_rows", "statuses")

    def __init__(self, context: RowContext, verdicts: tuple[Verdict, ...]) -> None:
        controls = {c.id: c for c in context.benchmark.controls}
        self._context = context
        self._rows: list[tuple[Control, Verdict, tuple[bytes, ...], tuple[str, ...]]] = []
        counts: dict[Status, int] = {}
        self.cluster_rows = 0
        for verdict in verdicts:
            control = controls[verdict.control_id]
            constant = target_columns(context, control, verdict)
            self.cluster_rows += constant["Scope"] == "cluster"
            # constants[i] comes before names[i]; the last constant closes the object.
            constants: list[bytes] = []
            names: list[str] = []
            pending = b"{"
            for index, (name, _) in enumerate(FINDING_COLUMNS):
                key = (b"," if index else b"") + _dumps(name) + b":"
                if name in NODE_COLUMNS:
                    constants.append(pending + key)
                    names.append(name)
                    pending = b""
                else:
                    pending += key + _dumps(constant[name])
            constants.append(pending + b"}")
            self._rows.append((control, verdict, tuple(constants), tuple(names)))
            counts[verdict.status] = counts.get(verdict.status, 0) + 1
        self.statuses: tuple[tuple[Status, int], ...] = tuple(counts.items())

    def rows(
        self, node: Node, when: str, policy: Policy | None = None, today: date | None = None
    ) -> list[bytes]:
        """This node's rows as JSON objects, one per verdict."""
        out = []
        dumps = orjson.dumps
        for control, verdict, constants, names in self._rows:
            values = node_columns(self._context, node, control, verdict, when, policy, today)
            parts = [constants[0]]
            try:
                for name, constant in zip(names, constants[1:], strict=True):
                    parts += (dumps(values[name]), constant)
            except orjson.JSONEncodeError:  # rare: the standard library's escapes, per value
                parts = [constants[0]]
                for name, constant in zip(names, constants[1:], strict=True):
                    parts += (_dumps(values[name]), constant)
            out.append(b"".join(parts))
        return out


class FindingBatch(Sequence[Finding]):
    """Rows handed to the sinks together: their JSON (built once) and their status counts.

    As a ``Sequence[Finding]`` it decodes the objects on first use, for the sinks that want
    them (terminal and file outputs, tests); Log Analytics and the dead-letter store take the
    JSON as it is.
    """

    def __init__(self) -> None:
        self._json: list[bytes] = []
        self.counts: dict[Status, int] = {}
        self.cluster_rows = 0  # rows of cluster-scoped controls (the run record's ClusterRows)
        self._objects: list[Finding] | None = None

    @classmethod
    def of(cls, findings: Sequence[Finding]) -> FindingBatch:
        """A batch of rows built the slow way (rows that need no template)."""
        if isinstance(findings, FindingBatch):
            return findings
        batch = cls()
        for finding in findings:
            batch._json.append(_dumps(finding.row()))
            status = Status(finding.Status)
            batch.counts[status] = batch.counts.get(status, 0) + 1
            batch.cluster_rows += finding.Scope == "cluster"
        return batch

    def add(self, template: RowTemplate, rows: list[bytes]) -> None:
        """Append one target's rows, built by ``template``."""
        self._json.extend(rows)
        for status, count in template.statuses:
            self.counts[status] = self.counts.get(status, 0) + count
        self.cluster_rows += template.cluster_rows
        self._objects = None

    def json_rows(self) -> list[bytes]:
        """Every row, serialized (UTF-8 JSON objects)."""
        return self._json

    def _decoded(self) -> list[Finding]:
        if self._objects is None:
            self._objects = [Finding(**_loads(row)) for row in self._json]
        return self._objects

    def __len__(self) -> int:
        return len(self._json)

    @overload
    def __getitem__(self, index: int) -> Finding: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Finding]: ...

    def __getitem__(self, index: int | slice) -> Finding | Sequence[Finding]:
        return self._decoded()[index]

    def __iter__(self) -> Iterator[Finding]:
        return iter(self._decoded())


def serialize(row: dict[str, Any]) -> bytes:
    """One plain row as JSON (orjson; the standard library's escapes where orjson refuses)."""
    return _dumps(row)


def json_rows(rows: Sequence[Finding]) -> list[bytes]:
    """The rows' JSON: a batch's own, or each row serialized now."""
    if isinstance(rows, FindingBatch):
        return rows.json_rows()
    return [_dumps(row.row()) for row in rows]


def decode_rows(rows: Sequence[bytes]) -> list[dict[str, Any]]:
    """Serialized rows back to plain dicts (what a dead letter stores)."""
    return [_loads(row) for row in rows]
