"""Where one file's records go on their way to the store."""

from __future__ import annotations

import queue
from collections import Counter
from collections.abc import Sequence

import pyarrow.compute as pc

from choreo import _native
from choreo.collector.batch import EventBatch, LinesAdded, Record
from choreo.collector.importers.prepare import Prepared
from choreo.collector.importers.report import FileReport
from choreo.collector.writer import Job, StoreWriter


def source_of(p: Prepared) -> str:
    return f"import:{p.input.label}"


class FileSink:
    """Where one file's records go: batches, bounded in records and in raw
    bytes, handed to the store writer; counts what the writer stored as it
    reports back."""

    def __init__(
        self, rep: FileReport, batch: EventBatch, writer: StoreWriter, batch_records: int, batch_bytes: int
    ) -> None:
        self._rep = rep
        self._batch = batch
        self._writer = writer
        self._limit_n = batch_records
        self._limit_b = batch_bytes

    @property
    def notes(self) -> Counter[str]:
        """What the core noticed in this file's records, by message."""
        return self._batch.notes

    def add_lines(
        self, decoder: _native.LineDecoder, data: bytes, first_lineno: int, begin: int, end: int
    ) -> LinesAdded:
        """Lines ``data[begin:end]``, whole; flushed as the batch fills. Large
        blocks go in slices, so that a batch stays near its limits."""
        got = self._batch.add_lines(decoder, data, first_lineno, begin, end)
        self._rep.records += got.records
        self._maybe_flush()
        return got

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

    def _maybe_flush(self) -> None:
        if len(self._batch) >= self._limit_n or self._batch.nbytes >= self._limit_b:
            self._flush()

    def _flush(self) -> None:
        if len(self._batch):
            events, ids = self._batch.tables()
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
