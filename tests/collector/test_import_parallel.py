"""Big inputs are decoded by worker processes: the same records, the same
bad-line report, the same damage handling as in-process."""

from __future__ import annotations

import gzip
from pathlib import Path

from choreo.collector.importers.runner import ImportOptions, ImportReport, import_files
from choreo.core.store import Store
from tests.support.import_helpers import identifiers, kcat_line, records, write

PARALLEL = ImportOptions(workers=2, parallel_min_bytes=0, chunk_lines=7, batch_records=10)
SERIAL = ImportOptions(workers=1)


def _lines() -> list[bytes]:
    lines = [
        kcat_line("orders", i % 3, i, f'{{"type":"T{i % 4}","orderId":"o-{i // 4}"}}', key=f"o-{i // 4}")
        for i in range(200)
    ]
    lines[10] = b"{broken\n"
    lines[77] = b'{"topic":"t","partition":-1,"offset":0,"payload":"x"}\n'
    lines[150] = b"\n"
    return lines


def _import(db: Path, dump: Path, opts: ImportOptions) -> ImportReport:
    with Store.open(db) as store:
        return import_files(store, [str(dump)], options=opts)


def test_workers_store_what_one_process_stores(tmp_path: Path) -> None:
    dump = write(tmp_path / "d.json", _lines())
    par = _import(tmp_path / "par.duckdb", dump, PARALLEL)
    ser = _import(tmp_path / "ser.duckdb", dump, SERIAL)
    assert (par.records, par.inserted, par.bad) == (ser.records, ser.inserted, ser.bad) == (197, 197, 2)
    assert par.files[0].bad_examples == ser.files[0].bad_examples
    assert [n for n, _ in par.files[0].bad_examples] == [11, 78]
    assert records(tmp_path / "par.duckdb") == records(tmp_path / "ser.duckdb")
    assert identifiers(tmp_path / "par.duckdb") == identifiers(tmp_path / "ser.duckdb")


def test_workers_keep_what_came_before_damage(tmp_path: Path) -> None:
    whole = gzip.compress(b"".join(_lines()))
    cut = tmp_path / "cut.json.gz"
    cut.write_bytes(whole[: len(whole) * 2 // 3])
    par = _import(tmp_path / "par.duckdb", cut, PARALLEL)
    ser = _import(tmp_path / "ser.duckdb", cut, SERIAL)
    assert par.files[0].damage and par.files[0].damage == ser.files[0].damage
    assert records(tmp_path / "par.duckdb") == records(tmp_path / "ser.duckdb")
    assert 0 < par.records < 197
