"""Columnar batches of decoded records, ready for Store.append.

Both the live collector and the importers build these: one row per record in
``events`` and one per (record, identifier) in ``identifiers``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import pyarrow as pa

from choreo.collector.extract import Extracted, Extractor, Header
from choreo.core.schema import EVENTS, IDENTIFIERS

EVENTS_SCHEMA = EVENTS.arrow_schema()
IDENTIFIERS_SCHEMA = IDENTIFIERS.arrow_schema()


_CHUNK = 8192  # records held as Python objects before conversion to Arrow
_HEADER_TYPE = EVENTS_SCHEMA.field("headers").type
_HEADER_STRUCT = _HEADER_TYPE.value_type
_CHUNK_SCHEMA = pa.schema([f for f in EVENTS_SCHEMA if f.name != "ingested_ms"])

# A record as held until its chunk is converted (column order of the events table).
_Row = tuple[str, int, int, int | None, int, bytes | None, Sequence[Header] | None, bytes | None, Extracted]


class EventBatch:
    """Accumulates records; ``tables()`` returns Arrow tables for Store.append.

    Records are kept as Python objects only in chunks of ``_CHUNK`` and then
    converted to Arrow, so a large batch costs Arrow-sized memory (about the
    records' own size), not Python-object overhead.
    """

    def __init__(self, extractor: Extractor, source: str) -> None:
        self._extract = extractor.extract
        self._source = source
        self._rows: list[_Row] = []
        self._chunks: list[pa.RecordBatch] = []
        self._id_chunks: list[pa.RecordBatch] = []
        self._sealed = 0

    def __len__(self) -> int:
        return self._sealed + len(self._rows)

    def add(
        self,
        topic: str,
        partition: int,
        offset: int,
        ts_ms: int | None,
        ts_type: int,
        key: bytes | None,
        headers: Sequence[Header] | None,
        payload: bytes | None,
    ) -> Extracted:
        ex = self._extract(topic, key, headers, payload)
        self._rows.append((topic, partition, offset, ts_ms, ts_type, key, headers, payload, ex))
        if len(self._rows) >= _CHUNK:
            self._seal()
        return ex

    def _seal(self) -> None:
        rows = self._rows
        if not rows:
            return
        # Lists, not tuples: pyarrow converts lists several times faster.
        topic, partition, offset, ts_ms, ts_type, key, headers, payload, exs = (
            list(col) for col in zip(*rows, strict=True)
        )
        # headers: list<struct<name, value>> built from flat children (no per-row dicts).
        offsets = [0]
        names: list[str] = []
        values: list[bytes | None] = []
        total = 0
        for hs in headers:
            if hs:
                for n, v in hs:
                    names.append(n)
                    values.append(v)
                total += len(hs)
            offsets.append(total)
        header_array = pa.ListArray.from_arrays(
            pa.array(offsets, pa.int32()),
            pa.StructArray.from_arrays(
                [pa.array(names, pa.string()), pa.array(values, pa.binary())], fields=list(_HEADER_STRUCT)
            ),
            type=_HEADER_TYPE,
        )
        n = len(rows)
        columns = [
            pa.array(topic, pa.string()),
            pa.array(partition, pa.int32()),
            pa.array(offset, pa.int64()),
            pa.array(ts_ms, pa.int64()),
            pa.array(ts_type, pa.int8()),
            pa.array(key, pa.large_binary()).cast(pa.binary()),
            header_array,
            # large_binary converts from bytes objects ~3x faster; the cast is free.
            pa.array(payload, pa.large_binary()).cast(pa.binary()),
            pa.array([e.payload_kind for e in exs], pa.string()),
            pa.array([e.event_type for e in exs], pa.string()),
            pa.array([e.service for e in exs], pa.string()),
            pa.array([e.event_id for e in exs], pa.string()),
            pa.array([e.causation_id for e in exs], pa.string()),
            pa.array([e.trace_id for e in exs], pa.string()),
            pa.array([e.event_time_ms for e in exs], pa.int64()),
            pa.array([self._source] * n, pa.string()),
        ]
        self._chunks.append(pa.RecordBatch.from_arrays(columns, schema=_CHUNK_SCHEMA))

        # identifiers: one row per (record, identifier); the record's key columns by index.
        index: list[int] = []
        id_names: list[str] = []
        id_values: list[str] = []
        for i, e in enumerate(exs):
            for name, value in e.identifiers:
                index.append(i)
                id_names.append(name)
                id_values.append(value)
        take = pa.array(index, pa.int32())
        self._id_chunks.append(
            pa.RecordBatch.from_arrays(
                [
                    columns[0].take(take),
                    columns[1].take(take),
                    columns[2].take(take),
                    pa.array(id_names, pa.string()),
                    pa.array(id_values, pa.string()),
                ],
                schema=IDENTIFIERS_SCHEMA,
            )
        )
        self._sealed += n
        self._rows = []

    def tables(self) -> tuple[pa.Table, pa.Table]:
        self._seal()
        events = pa.Table.from_batches(self._chunks, schema=_CHUNK_SCHEMA)
        now = int(time.time() * 1000)
        events = events.append_column(
            EVENTS_SCHEMA.field("ingested_ms"), pa.array([now] * events.num_rows, pa.int64())
        )
        ids = pa.Table.from_batches(self._id_chunks, schema=IDENTIFIERS_SCHEMA)
        return events, ids

    def clear(self) -> None:
        self._rows = []
        self._chunks = []
        self._id_chunks = []
        self._sealed = 0
