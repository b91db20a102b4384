"""Store raw records (collector.raw) as events and identifiers.

``SqlExtractor.append_raw`` takes a DuckDB relation of raw records on the
store's connection and stores them with exactly the fields and identifiers
``collector.extract.Extractor`` gives each record.
"""

from __future__ import annotations

import pyarrow as pa

from choreo.config import ExtractConfig
from choreo.store import AppendResult, Store
from collector.batch import EventBatch
from collector.extract import Extractor
from collector.raw import RAW_COLUMNS

_FETCH_ROWS = 65_536


class SqlExtractor:
    def __init__(self, config: ExtractConfig | None = None) -> None:
        self._config = config or ExtractConfig()
        self._extractor = Extractor(self._config)

    @property
    def extractor(self) -> Extractor:
        return self._extractor

    def append_raw(self, store: Store, relation: str, source: str) -> AppendResult:
        """Store every record of ``relation`` (a table or view on ``store.con``
        with the columns of ``collector.raw.RAW_SCHEMA``); records already
        stored are ignored, as with ``Store.append``."""
        table: pa.Table = store.con.sql(f"SELECT {RAW_COLUMNS} FROM {relation}").to_arrow_table()
        batches = table.to_batches(_FETCH_ROWS)
        offered = inserted = 0
        for rb in batches:
            result = self._append_python(store, rb, source)
            offered += result.offered
            inserted += result.inserted
        return AppendResult(offered, inserted)

    def _append_python(self, store: Store, rb: pa.RecordBatch, source: str) -> AppendResult:
        batch = EventBatch(self._extractor, source)
        cols = rb.to_pydict()
        for t, p, o, ts, tt, k, hs, pl in zip(
            cols["topic"],
            cols["partition"],
            cols["offset"],
            cols["ts_ms"],
            cols["ts_type"],
            cols["key"],
            cols["headers"],
            cols["payload"],
            strict=True,
        ):
            headers = [(h["name"], h["value"]) for h in hs] if hs else None
            batch.add(t, p, o, ts, tt, k, headers, pl)
        events, ids = batch.tables()
        return store.append(events, ids)
