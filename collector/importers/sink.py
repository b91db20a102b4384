"""Where one file's records go on their way to the store."""

from __future__ import annotations

import queue
from collections import Counter
from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from choreo import _native
from choreo.collector.batch import EventBatch, Record
from choreo.collector.importers.prepare import Prepared
from choreo.collector.importers.report import FileReport
from choreo.collector.writer import Job, StoreWriter
from choreo.core.duck_memory import ROW_GROUP_ROWS


def source_of(p: Prepared) -> str:
    return f"import:{p.input.label}"


def with_partition(table: pa.Table, partition: int) -> pa.Table:
    """``table`` with every row's partition set to ``partition``."""
    i = table.schema.get_field_index("partition")
    field = table.schema.field(i)
    return table.set_column(i, field, pa.array(np.full(table.num_rows, partition), type=field.type))


class FileSink:
    """Where one file's records go: batches, bounded in records and in raw
    bytes, handed to the store writer; counts what the writer stored as it
    reports back."""

    def __init__(
        self,
        rep: FileReport,
        batch: EventBatch,
        writer: StoreWriter,
        batch_records: int,
        batch_bytes: int,
        stored_rows: int = 0,
    ) -> None:
        self._rep = rep
        self._batch = batch
        self._writer = writer
        self._limit_n = batch_records
        self._limit_b = batch_bytes
        # Events in the store: a batch ends where DuckDB's row group does, so
        # that each append writes whole row groups (ROW_GROUP_ROWS).
        self.stored_rows = stored_rows
        self._partition: int | None = None  # set by identify()

    @property
    def notes(self) -> Counter[str]:
        """What the core noticed in this file's records, by message."""
        return self._batch.notes

    def identify(self, partition: int | None) -> None:
        """Records without Kafka coordinates (plain lines): file them under
        this partition (importers/identity.py), and have the store check the
        records it does not insert against what it holds under that identity."""
        self._partition = partition

    def _submit(self, events: pa.Table, ids: pa.Table) -> None:
        """The one point where this file's batches go to the writer."""
        if self._partition is not None:
            events, ids = with_partition(events, self._partition), with_partition(ids, self._partition)
        self._writer.submit(Job(events, ids, verify=self._partition is not None))

    def add_lines(
        self, decoder: _native.LineDecoder, data: bytes, first_lineno: int, begin: int, end: int
    ) -> tuple[int, list[tuple[int, str]]]:
        """Lines ``data[begin:end]``, whole, flushed as batches fill (a batch
        ends exactly at a row group boundary); returns (lines, bad lines)."""
        lines = 0
        bad: list[tuple[int, str]] = []
        while begin < end:
            got = self._batch.add_lines(decoder, data, first_lineno + lines, begin, end, max(1, self._room()))
            lines += got.lines
            bad.extend(got.bad)
            begin = got.end
            self._rep.records += got.records
            self._maybe_flush()
        return lines, bad

    def add_records(self, records: Sequence[Record], size: int) -> None:
        """Decoded records (a segment batch of ``size`` bytes)."""
        if records:
            self._batch.add_records(records)
            self._rep.records += len(records)
            self._maybe_flush()

    def finish(self) -> None:
        """Store the rest and wait until all of the file is stored."""
        self._flush()
        self._writer.wait_idle()
        self._collect_done()

    def _room(self) -> int:
        """Records the batch takes before it is due."""
        to_boundary = ROW_GROUP_ROWS - self.stored_rows % ROW_GROUP_ROWS
        return min(self._limit_n, to_boundary) - len(self._batch)

    def _maybe_flush(self) -> None:
        if self._room() <= 0 or self._batch.nbytes >= self._limit_b:
            self._flush()

    def _flush(self) -> None:
        if len(self._batch):
            events, ids = self._batch.tables()
            self.stored_rows += events.num_rows
            self._submit(events, ids)
        self._collect_done()

    def _collect_done(self) -> None:
        """Count what the writer stored (and let go of its tables)."""
        if self._writer.error is not None:
            raise self._writer.error
        rep = self._rep
        while True:
            try:
                job = self._writer.done.get_nowait()
            except queue.Empty:
                return
            if job.result is not None:
                rep.inserted += job.result.inserted
                rep.conflicts += job.result.conflicting
            newest = pc.max(job.events["ts_ms"]).as_py() if job.events is not None else None
            if newest is not None and (rep.newest_ts_ms is None or newest > rep.newest_ts_ms):
                rep.newest_ts_ms = newest
