"""Columnar batches of decoded records, ready for Store.append.

Both the live collector and the importers build these: one row per record in
``events`` and one per (record, identifier) in ``identifiers``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import pyarrow as pa

from collector.extract import Extracted, Extractor, Header

EVENTS_SCHEMA = pa.schema(
    [
        ("topic", pa.string()),
        ("partition", pa.int32()),
        ("offset", pa.int64()),
        ("ts_ms", pa.int64()),
        ("ts_type", pa.int8()),
        ("key", pa.binary()),
        ("headers", pa.list_(pa.struct([("name", pa.string()), ("value", pa.binary())]))),
        ("payload", pa.binary()),
        ("payload_kind", pa.string()),
        ("event_type", pa.string()),
        ("service", pa.string()),
        ("event_id", pa.string()),
        ("causation_id", pa.string()),
        ("trace_id", pa.string()),
        ("event_time_ms", pa.int64()),
        ("source", pa.string()),
        ("ingested_ms", pa.int64()),
    ]
)
IDENTIFIERS_SCHEMA = pa.schema(
    [
        ("topic", pa.string()),
        ("partition", pa.int32()),
        ("offset", pa.int64()),
        ("name", pa.string()),
        ("value", pa.string()),
    ]
)


class EventBatch:
    """Accumulates records; ``tables()`` returns Arrow tables for Store.append."""

    def __init__(self, extractor: Extractor, source: str) -> None:
        self._extractor = extractor
        self._source = source
        self._cols: dict[str, list[object]] = {n: [] for n in EVENTS_SCHEMA.names}
        self._ids: dict[str, list[object]] = {n: [] for n in IDENTIFIERS_SCHEMA.names}

    def __len__(self) -> int:
        return len(self._cols["topic"])

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
        ex = self._extractor.extract(topic, key, headers, payload)
        c = self._cols
        c["topic"].append(topic)
        c["partition"].append(partition)
        c["offset"].append(offset)
        c["ts_ms"].append(ts_ms)
        c["ts_type"].append(ts_type)
        c["key"].append(key)
        c["headers"].append([{"name": n, "value": v} for n, v in headers] if headers else [])
        c["payload"].append(payload)
        c["payload_kind"].append(ex.payload_kind)
        c["event_type"].append(ex.event_type)
        c["service"].append(ex.service)
        c["event_id"].append(ex.event_id)
        c["causation_id"].append(ex.causation_id)
        c["trace_id"].append(ex.trace_id)
        c["event_time_ms"].append(ex.event_time_ms)
        c["source"].append(self._source)
        c["ingested_ms"].append(0)  # stamped in tables()
        ids = self._ids
        for name, value in ex.identifiers:
            ids["topic"].append(topic)
            ids["partition"].append(partition)
            ids["offset"].append(offset)
            ids["name"].append(name)
            ids["value"].append(value)
        return ex

    def tables(self) -> tuple[pa.Table, pa.Table]:
        now = int(time.time() * 1000)
        self._cols["ingested_ms"] = [now] * len(self)
        events = pa.Table.from_pydict(self._cols, schema=EVENTS_SCHEMA)
        ids = pa.Table.from_pydict(self._ids, schema=IDENTIFIERS_SCHEMA)
        return events, ids

    def clear(self) -> None:
        for v in self._cols.values():
            v.clear()
        for v in self._ids.values():
            v.clear()
