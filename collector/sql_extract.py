"""Store raw records (collector.raw) as events and identifiers.

``SqlExtractor.append_raw`` takes a DuckDB relation of raw records on the
store's connection and stores them with exactly the fields and identifiers
``collector.extract.Extractor`` gives each record.

Extraction is per-record Python (it was measured against vectorised DuckDB
SQL doing the same work, which spent more CPU per record, not less), so big
relations are cut into slices extracted in worker processes, one per core,
while this process only moves Arrow tables and stores them.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from types import TracebackType

import pyarrow as pa

from choreo.config import ExtractConfig
from choreo.store import AppendResult, Store
from collector.batch import EventBatch
from collector.extract import Extractor
from collector.raw import RAW_COLUMNS, RAW_SCHEMA

_SLICE_ROWS = 16_384  # records a worker extracts at a time
_PARALLEL_MIN_ROWS = 2 * _SLICE_ROWS  # below this, starting workers costs more than it saves


def extract_table(extractor: Extractor, raw: pa.Table, source: str) -> tuple[pa.Table, pa.Table]:
    """Events and identifiers (Arrow tables for Store.append) of raw records."""
    batch = EventBatch(extractor, source)
    add = batch.add
    cols = raw.select(RAW_SCHEMA.names).to_pydict()
    for t, p, o, ts, tt, k, hs, pl in zip(*(cols[name] for name in RAW_SCHEMA.names), strict=True):
        add(t, p, o, ts, tt, k, [(h["name"], h["value"]) for h in hs] if hs else None, pl)
    return batch.tables()


_worker_extractor: Extractor | None = None  # one per worker process


def _init_worker(config: ExtractConfig) -> None:
    global _worker_extractor
    _worker_extractor = Extractor(config)
    # Millions of short-lived acyclic objects: rescanning them is wasted time.
    gc.set_threshold(100_000, 50, 100)


def _extract_slice(raw: pa.Table, source: str) -> tuple[pa.Table, pa.Table]:
    if _worker_extractor is None:
        raise RuntimeError("_extract_slice runs in an extraction worker process")
    return extract_table(_worker_extractor, raw, source)


class SqlExtractor:
    """Extracts and stores raw records; ``close()`` (or ``with``) ends its worker processes."""

    def __init__(self, config: ExtractConfig | None = None, workers: int | None = None) -> None:
        self._config = config or ExtractConfig()
        self._extractor = Extractor(self._config)
        self._workers = workers if workers is not None else (os.cpu_count() or 1)
        self._pool: ProcessPoolExecutor | None = None

    @property
    def extractor(self) -> Extractor:
        return self._extractor

    def append_raw(self, store: Store, relation: str, source: str) -> AppendResult:
        """Store every record of ``relation`` (a table or view on ``store.con``
        with the columns of ``collector.raw.RAW_SCHEMA``), atomically; records
        already stored are ignored, as with ``Store.append``. The relation is
        read whole into memory: hand it batches of bounded size."""
        raw: pa.Table = store.con.sql(f"SELECT {RAW_COLUMNS} FROM {relation}").to_arrow_table()
        events, ids = self.extract(raw, source)
        return store.append(events, ids)

    def extract(self, raw: pa.Table, source: str) -> tuple[pa.Table, pa.Table]:
        """Events and identifiers of raw records, in their order."""
        if raw.num_rows < _PARALLEL_MIN_ROWS or self._workers <= 1:
            return extract_table(self._extractor, raw, source)
        pool = self._start_pool()
        futures = [
            pool.submit(_extract_slice, raw.slice(i, _SLICE_ROWS), source)
            for i in range(0, raw.num_rows, _SLICE_ROWS)
        ]
        parts = [f.result() for f in futures]
        return pa.concat_tables([e for e, _ in parts]), pa.concat_tables([i for _, i in parts])

    def _start_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # spawn, not fork: the parent holds DuckDB and threads a forked child must not inherit.
            self._pool = ProcessPoolExecutor(
                self._workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker,
                initargs=(self._config,),
            )
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> SqlExtractor:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
