"""Where one file's records go on their way to the store."""

from __future__ import annotations

import queue

import pyarrow as pa
import pyarrow.compute as pc

from choreo.collector.batch import EventBatch
from choreo.collector.importers.prepare import Prepared
from choreo.collector.importers.record import Record
from choreo.collector.importers.report import FileReport
from choreo.collector.writer import Job, StoreWriter


def source_of(p: Prepared) -> str:
    return f"import:{p.input.label}"


class FileSink:
    """Where one file's records go: batches (by count or size) handed to the
    store writer; counts what the writer stored as it reports back."""

    def __init__(
        self, rep: FileReport, batch: EventBatch, writer: StoreWriter, batch_records: int, batch_bytes: int
    ) -> None:
        self._rep = rep
        self._batch = batch
        self._add = batch.add
        self._writer = writer
        self._limit_n = batch_records
        self._limit_b = batch_bytes
        self._pending = 0
        self._tables: list[tuple[pa.Table, pa.Table]] = []  # from worker processes, not yet appended
        self._table_rows = 0

    def add(self, record: Record, size: int) -> None:
        self._add(*record)
        self._rep.records += 1
        self._pending += size
        if self._pending >= self._limit_b or len(self._batch) >= self._limit_n:
            self._flush()

    def add_tables(self, events: pa.Table, identifiers: pa.Table) -> None:
        """Records already decoded and extracted (by a worker process); gathered
        into appends of the usual size."""
        self._rep.records += events.num_rows
        self._tables.append((events, identifiers))
        self._table_rows += events.num_rows
        if self._table_rows >= self._limit_n:
            self._flush()

    def finish(self) -> None:
        """Store the rest and wait until all of the file is stored."""
        self._flush()
        self._writer.wait_idle()
        self._collect_done()

    def _flush(self) -> None:
        if len(self._batch):
            events, ids = self._batch.tables()
            self._batch.clear()
            self._pending = 0
            self._writer.submit(Job(events, ids))
        if self._tables:
            events = pa.concat_tables([e for e, _ in self._tables])
            ids = pa.concat_tables([i for _, i in self._tables])
            self._tables, self._table_rows = [], 0
            self._writer.submit(Job(events, ids))
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
            newest = pc.max(job.events["ts_ms"]).as_py() if job.events is not None else None
            if newest is not None and (rep.newest_ts_ms is None or newest > rep.newest_ts_ms):
                rep.newest_ts_ms = newest
