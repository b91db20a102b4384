"""Copying only the changed blocks of a DuckDB file gives the file itself,
byte for byte, whatever the checkpoints between did (appends, deletes,
tables made and dropped, the file growing and shrinking)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from choreo.core.block_copy import Held, sync_file

BLOCK = 262_144


def _change(con: duckdb.DuckDBPyConnection, step: int) -> None:
    lo, hi = step * 200_000, (step + 1) * 200_000
    con.execute("INSERT INTO t SELECT range, repeat('x', 40) || range FROM range(?, ?)", [lo, hi])
    if step == 2:
        con.execute("DELETE FROM t WHERE a % 7 = 0")
    if step == 3:
        con.execute("CREATE TABLE u AS SELECT * FROM t WHERE a % 3 = 0")
    if step == 4:
        con.execute("DROP TABLE u")
        con.execute("DELETE FROM t WHERE a < 500000")


def test_the_copy_is_the_file_after_every_checkpoint(tmp_path: Path) -> None:
    src, dst = tmp_path / "s.duckdb", tmp_path / "copy.duckdb"
    with duckdb.connect(str(src)) as con:
        con.execute("CREATE TABLE t (a BIGINT, b VARCHAR)")
    copied = []
    for step in range(6):
        with duckdb.connect(str(src)) as con:
            _change(con, step)
            con.execute("CHECKPOINT")
            expected = con.execute("SELECT count(*), sum(hash(b)) FROM t").fetchall()
        done = sync_file(str(src), str(dst), BLOCK)
        copied.append((done.copied, done.blocks))
        assert dst.read_bytes() == src.read_bytes()
        with duckdb.connect(str(dst), read_only=True) as con:
            assert con.execute("SELECT count(*), sum(hash(b)) FROM t").fetchall() == expected
    assert copied[0][0] == copied[0][1], "the first copy writes every block"
    assert any(n < blocks for n, blocks in copied[1:]), "later ones only what changed"


def test_a_copy_a_reader_has_open_is_not_written(tmp_path: Path) -> None:
    src, dst = tmp_path / "s.duckdb", tmp_path / "copy.duckdb"
    with duckdb.connect(str(src)) as con:
        con.execute("CREATE TABLE t AS SELECT range AS a FROM range(1000)")
    sync_file(str(src), str(dst), BLOCK)
    reader = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys; c = duckdb.connect(sys.argv[1], read_only=True); print('open', flush=True); "
            "sys.stdin.readline()",
            str(dst),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout is not None and reader.stdout.readline().strip() == "open"
        before = dst.read_bytes()
        with duckdb.connect(str(src)) as con:
            con.execute("INSERT INTO t SELECT range FROM range(1000, 500000)")
        with pytest.raises(Held):
            sync_file(str(src), str(dst), BLOCK)
        assert dst.read_bytes() == before
    finally:
        reader.communicate("\n", timeout=30)
    sync_file(str(src), str(dst), BLOCK)
    assert dst.read_bytes() == src.read_bytes()
