"""The importer's writer thread: batches committed in chunks, failures
surfaced on the caller's thread, open chunks rolled back."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from choreo.errors import InputError
from choreo.store import Store
from collector.batch import EventBatch
from collector.extract import Extractor
from collector.importers.runner import ImportOptions, import_files
from collector.importers.writer import BatchWriter
from tests.import_helpers import kcat_line, write

SMALL = ImportOptions(batch_records=30, commit_every=100)


def _tables(offsets: range) -> tuple[pa.Table, pa.Table]:
    batch = EventBatch(Extractor(), "test")
    for o in offsets:
        batch.add("t", 0, o, 1, 1, b"k", None, b'{"orderId":"o-1"}')
    return batch.tables()


def test_many_small_batches_and_chunks(tmp_path: Path) -> None:
    dump = write(tmp_path / "d.json", [kcat_line("t", 0, i, "{}") for i in range(1000)])
    with Store.open(tmp_path / "s.duckdb") as store:
        report = import_files(store, [str(dump)], options=SMALL)
        assert (report.records, report.inserted) == (1000, 1000)
        assert store.count_events() == 1000


def test_strict_stores_nothing_though_good_batches_came_first(tmp_path: Path) -> None:
    lines = [kcat_line("t", 0, i, "{}") for i in range(500)] + [b"oops\n"]
    dump = write(tmp_path / "d.json", lines)
    with Store.open(tmp_path / "s.duckdb") as store:
        with pytest.raises(InputError, match=r"d\.json:501: not JSON"):
            import_files(store, [str(dump)], options=ImportOptions(batch_records=30, strict=True))
        assert store.count_events() == 0


def test_a_failed_append_surfaces_and_rolls_back_its_chunk(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.duckdb") as store:
        inserted: list[int] = []
        writer = BatchWriter(store, commit_every=10)
        writer.submit(*_tables(range(10)), lambda _e, n: inserted.append(n))  # committed chunk
        writer.submit(*_tables(range(10, 15)), lambda _e, n: inserted.append(n))  # open chunk
        events, _ids = _tables(range(15, 20))
        writer.submit(events, events, lambda _e, n: inserted.append(n))  # wrong table: fails
        with pytest.raises(Exception, match=r"(?i)binder|conversion|column|mismatch"):
            writer.sync()
        writer.close()
        assert inserted == [10, 5]
        assert store.count_events() == 10
