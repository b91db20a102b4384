"""Columnar batches of records, ready for Store.append.

The live collector and the importers hand records to the native core a
batch at a time (consumed messages, blocks of dump lines, decoded segment
records); it extracts each record's fields and builds the Arrow columns of
both tables -- one row per record in ``events``, one per (record,
identifier) in ``identifiers`` -- which pyarrow takes over without a copy.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from choreo import _native
from choreo.collector.extract import Extractor, Header
from choreo.core.schema import EVENTS, IDENTIFIERS

EVENTS_SCHEMA = EVENTS.arrow_schema()
IDENTIFIERS_SCHEMA = IDENTIFIERS.arrow_schema()

TP = tuple[str, int]
# A raw record: (topic, partition, offset, ts_ms, ts_type, key, headers, payload).
Record = tuple[str, int, int, int | None, int, bytes | None, Sequence[Header] | None, bytes | None]


@dataclass(frozen=True)
class LinesAdded:
    lines: int  # lines read, blank ones included
    end: int  # where in the data the lines read end (the next call's begin)
    records: int
    poison: int
    bad: list[tuple[int, str]]  # (line number, why) of every line that is not a record


@dataclass(frozen=True)
class MessagesAdded:
    taken: int
    poison: int
    next_offsets: dict[TP, int]  # per partition, the offset after the last message read
    skipping_ended: list[TP]  # --from TIME: partitions that reached the time
    errors: list[Any]  # KafkaError of messages that carried one, in order


class EventBatch:
    """Records accumulated for one store append; ``tables()`` hands them over.

    ``notes`` counts what was noticed on the way (event times out of range,
    headers confluent-kafka could not read, ...), by message.
    """

    def __init__(self, extractor: Extractor, source: str) -> None:
        self._native = _native.Batch(extractor.native, source)
        self._pending: list[tuple[Any, ...]] = []  # add()ed, handed over on the next batch call
        self.notes: Counter[str] = Counter()
        self.poison = 0

    def __len__(self) -> int:
        return len(self._native) + len(self._pending)

    @property
    def nbytes(self) -> int:
        """Raw bytes held (payloads, keys, headers, topics)."""
        self._flush_pending()
        return self._native.nbytes

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
    ) -> None:
        """One record (tests and small tools); handed to the core with the next batch call."""
        self._pending.append(
            (topic, partition, offset, ts_ms, ts_type, key, list(headers) if headers else None, payload)
        )

    def add_records(self, records: Sequence[Record]) -> None:
        """Decoded records (a segment batch), in one call."""
        self._flush_pending()
        self._count(*self._native.add_records([_record(r) for r in records])[1:])

    def add_lines(
        self,
        decoder: _native.LineDecoder,
        data: bytes,
        first_lineno: int,
        begin: int = 0,
        end: int | None = None,
        max_records: int = 2**63,
    ) -> LinesAdded:
        """Whole dump lines ``data[begin:end]`` (ending with a line's end, or
        the input's last part), up to ``max_records`` records: the lines
        after those are left for the next call (from ``LinesAdded.end``)."""
        self._flush_pending()
        lines, stop, records, poison, bad, notes = self._native.add_lines(
            decoder, data, first_lineno, begin, len(data) if end is None else end, max_records
        )
        self._count(poison, notes)
        return LinesAdded(lines, stop, records, poison, bad)

    def add_messages(
        self, messages: list[Any], assigned: set[TP], skip_before: dict[TP, int]
    ) -> MessagesAdded:
        """Consumed confluent-kafka messages of the partitions in ``assigned``."""
        self._flush_pending()
        taken, poison, next_offsets, ended, errors, notes = self._native.add_messages(
            messages, assigned, skip_before
        )
        self._count(poison, notes)
        return MessagesAdded(taken, poison, next_offsets, ended, errors)

    def _count(self, poison: int, notes: dict[str, int]) -> None:
        self.poison += poison
        self.notes.update(notes)

    def _flush_pending(self) -> None:
        if self._pending:
            pending, self._pending = self._pending, []
            self._count(*self._native.add_records(pending)[1:])

    def tables(self) -> tuple[pa.Table, pa.Table]:
        """Everything held as (events, identifiers) tables; the batch is empty after."""
        self._flush_pending()
        now = int(time.time() * 1000)
        chunks = self._native.take(now)
        events = pa.Table.from_batches([pa.record_batch(e) for e, _ in chunks], schema=EVENTS_SCHEMA)
        ids = pa.Table.from_batches([pa.record_batch(i) for _, i in chunks], schema=IDENTIFIERS_SCHEMA)
        return events, ids

    def clear(self) -> None:
        self._native.clear()
        self._pending = []


def _record(r: Record) -> tuple[Any, ...]:
    topic, partition, offset, ts_ms, ts_type, key, headers, payload = r
    return (topic, partition, offset, ts_ms, ts_type, key, list(headers) if headers else None, payload)
