"""Promise: an import stores every good record once, or says why not; nothing
is dropped silently, and new records are never called "already stored"
(issue 15, findings 4 and 11).
"""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
import zstandard

from choreo.collector.importers.runner import ImportOptions, import_files
from choreo.core.store import Store
from tests.support.catalogue_helpers import assert_one_line, event_count
from tests.support.import_helpers import choreo


def _lines(path: Path, tag: str, n: int, first: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = (
        {"type": "OrderPlaced", "orderId": f"{tag}-{i}", "time": 1_700_000_000_000 + i}
        for i in range(first, first + n)
    )
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    return path


def _import(db: Path, *args: str | Path) -> str:
    run = choreo("import", "--db", db, "--no-reconstruct", *args)
    assert run.code == 0, run.err
    return run.out


def test_same_file_name_in_two_directories(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    out = _import(
        db, _lines(tmp_path / "a" / "app.jsonl", "a", 30), _lines(tmp_path / "b" / "app.jsonl", "b", 40)
    )
    assert event_count(db) == 70
    assert "already stored" not in out


def test_two_days_under_one_topic(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    _import(
        db,
        "--topic",
        "app",
        _lines(tmp_path / "day1.jsonl", "d1", 25),
        _lines(tmp_path / "day2.jsonl", "d2", 25),
    )
    assert event_count(db) == 50


def test_rotated_log_in_two_calls(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    log = tmp_path / "app.jsonl"
    _import(db, _lines(log, "monday", 20))
    out = _import(db, _lines(log, "tuesday", 20))  # same path, the next day's content
    assert event_count(db) == 40
    assert "20 new" in out and "already stored" not in out


def test_reimport_is_still_harmless(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    log = _lines(tmp_path / "app.jsonl", "x", 20)
    _import(db, log)
    out = _import(db, log)
    assert event_count(db) == 20 and "0 new, 20 already stored" in out


def test_a_log_that_grew_adds_only_its_new_lines(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    log = _lines(tmp_path / "app.jsonl", "x", 20)
    _import(db, log)
    with log.open("ab") as f:
        f.write(_lines(tmp_path / "more.jsonl", "x", 5, first=20).read_bytes())
    out = _import(db, log)
    assert event_count(db) == 25 and "5 new, 20 already stored" in out


def test_same_start_different_rest_is_reported_not_dropped(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    first = _lines(tmp_path / "one.jsonl", "x", 30)
    _import(db, "--topic", "app", first)
    other = tmp_path / "two.jsonl"  # the same first 20 lines, then different ones
    other.write_bytes(b"".join(first.read_bytes().splitlines(keepends=True)[:20]))
    with other.open("ab") as f:
        f.write(_lines(tmp_path / "rest.jsonl", "y", 5).read_bytes())
    run = choreo("import", "--db", db, "--no-reconstruct", "--topic", "app", other)
    assert "5 NOT stored" in run.out and "5 already stored" not in run.out
    assert_one_line(run.code, run.err, says="not stored")


def test_same_file_name_over_many_batches(tmp_path: Path) -> None:
    a = _lines(tmp_path / "a" / "app.jsonl", "a", 300)
    b = _lines(tmp_path / "b" / "app.jsonl", "b", 300)
    opts = ImportOptions(batch_records=100)  # each batch goes to the writer with the file's identity
    with Store.open(tmp_path / "s.duckdb") as store:
        report = import_files(store, [str(a), str(b)], options=opts)
        assert report.inserted == 600 and store.count_events() == 600


def test_kcat_dump_with_text_partitions_is_still_kcat(tmp_path: Path) -> None:
    dump = tmp_path / "orders.json"
    rows = [{"topic": "orders", "partition": "0", "offset": i, "payload": "{}"} for i in range(20)]
    rows += [{"topic": "orders", "partition": 0, "offset": 100 + i, "payload": "{}"} for i in range(3)]
    dump.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    out = _import(tmp_path / "s.duckdb", dump)
    assert "(kcat)" in out and "20 bad line(s)" in out
    with Store.open(tmp_path / "s.duckdb", read_only=True) as s:
        assert s.query("SELECT DISTINCT topic FROM events") == [("orders",)]


@pytest.mark.parametrize("keep", [30, 100])
def test_small_truncated_zst_says_nothing_was_kept(tmp_path: Path, keep: int) -> None:
    whole = zstandard.ZstdCompressor().compress(_lines(tmp_path / "x.jsonl", "x", 50).read_bytes())
    cut = tmp_path / "cut.jsonl.zst"
    cut.write_bytes(whole[:keep])
    run = choreo("import", "--db", tmp_path / "s.duckdb", "--no-reconstruct", cut)
    line = assert_one_line(run.code, run.err, says="damaged")
    assert "no record could be read" in line and "were imported" not in line
