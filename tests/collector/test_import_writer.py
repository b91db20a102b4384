"""Importing through the store writer thread: many small batches, and a
failed write surfacing on the importing thread."""

from __future__ import annotations

from pathlib import Path

import pytest

from choreo.collector.importers.runner import ImportOptions, import_files
from choreo.core.errors import InputError, StoreError
from choreo.core.store import Store
from tests.support.import_helpers import kcat_line, write

SMALL = ImportOptions(batch_records=30)


def test_many_small_batches(tmp_path: Path) -> None:
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


def test_a_failed_write_surfaces_on_the_importing_thread(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    Store.open(db).close()
    dump = write(tmp_path / "d.json", [kcat_line("t", 0, i, "{}") for i in range(100)])
    with Store.open(db, read_only=True) as store, pytest.raises(StoreError, match="read-only"):
        import_files(store, [str(dump)], options=SMALL)
