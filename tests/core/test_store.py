from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from choreo.collector.batch import EventBatch
from choreo.collector.extract import Extractor
from choreo.core.errors import NotAStoreError, StoreLockedError, StoreVersionError
from choreo.core.schema import SCHEMA_VERSION
from choreo.core.store import Store


def _batch() -> EventBatch:
    b = EventBatch(Extractor(), "test")
    b.add(
        "orders",
        0,
        1,
        1000,
        1,
        b"o-1",
        [("correlation-id", b"c1"), ("n", None)],
        b'{"orderId":"o-1"}',
    )
    b.add("orders", 1, 7, 1001, 2, None, None, b"\xff\xfe")
    return b


def test_append_is_idempotent_and_byte_exact(db_path: Path) -> None:
    with Store.open(db_path) as s:
        assert s.append(*_batch().tables()).inserted == 2
        assert s.append(*_batch().tables()).inserted == 0
        assert s.summary() == {"events": 2, "topics": {"orders": 2}, "poison": 1}
        row = s.query('SELECT payload, headers FROM events WHERE "offset" = 7')[0]
        assert row[0] == b"\xff\xfe"
        assert s.query("SELECT count(*) FROM identifiers")[0][0] == 3


def test_reopen_keeps_data(db_path: Path) -> None:
    with Store.open(db_path) as s:
        s.append(*_batch().tables())
    with Store.open(db_path, read_only=True) as s:
        assert s.count_events() == 2


def test_not_a_duckdb_file(tmp_path: Path) -> None:
    p = tmp_path / "x.duckdb"
    p.write_text("hello")
    with pytest.raises(NotAStoreError):
        Store.open(p)
    assert p.read_text() == "hello"


def test_foreign_duckdb_is_refused_and_untouched(tmp_path: Path) -> None:
    p = tmp_path / "other.duckdb"
    con = duckdb.connect(str(p))
    con.execute("CREATE TABLE t(a INT)")
    con.close()
    with pytest.raises(NotAStoreError):
        Store.open(p)
    con = duckdb.connect(str(p))
    assert con.execute("SELECT table_name FROM duckdb_tables()").fetchall() == [("t",)]
    con.close()


def test_newer_schema_is_refused(db_path: Path) -> None:
    with Store.open(db_path) as s:
        s.append(*_batch().tables())
        s.set_meta("schema_version", str(SCHEMA_VERSION + 1))
    with pytest.raises(StoreVersionError, match="newer choreo"):
        Store.open(db_path)
    con = duckdb.connect(str(db_path), read_only=True)
    assert con.execute("SELECT count(*) FROM events").fetchone() == (2,)
    con.close()


def test_locked_by_another_process(db_path: Path) -> None:
    Store.open(db_path).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb,sys; c=duckdb.connect({str(db_path)!r}); "
            "print('ready', flush=True); sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(StoreLockedError, match="in use by another process"):
            Store.open(db_path)
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=30)


def test_no_progress_bar_on_stdout(db_path: Path) -> None:
    # DuckDB would print one on stdout for long queries, corrupting piped output.
    with Store.open(db_path) as s:
        assert s.query("SELECT current_setting('enable_progress_bar')") == [(False,)]
