"""Where dumps come from: stdin (in-process and through a real pipe), globs,
several files at once; and importing twice stores each record once."""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

from tests.support.import_helpers import count, kcat_line, ok, records, write

LINES = [kcat_line("orders", i % 3, i, f'{{"type":"A","orderId":"o-{i}"}}') for i in range(60)]


def test_stdin(tmp_path: Path) -> None:
    run = ok("import", "--db", tmp_path / "s.duckdb", "-", stdin=b"".join(LINES))
    assert run.out.startswith("stdin (kcat): 60 records, 60 new")
    rows = records(tmp_path / "s.duckdb")
    assert len(rows) == 60


def test_compressed_stdin_through_a_pipe(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    proc = subprocess.run(
        [sys.executable, "-m", "choreo.cli", "import", "--db", str(db), "-"],
        input=gzip.compress(b"".join(LINES)),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert b"stdin (kcat, gzip): 60 records, 60 new" in proc.stdout
    assert count(db) == 60


def test_globs_and_several_files(tmp_path: Path) -> None:
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    write(dumps / "a.json", LINES[:20])
    write(dumps / "b.json.gz", LINES[20:40], "gzip")
    write(dumps / "c.json.zst", LINES[40:], "zstd")
    (dumps / "sub").mkdir()  # directories matched by a glob are not inputs
    run = ok("import", "--db", tmp_path / "s.duckdb", str(dumps / "*"))
    assert run.out.count("records") == 4  # three files and the total line
    assert "total: 3 files, 60 records, 60 new, 0 bad line(s)" in run.out
    assert count(tmp_path / "s.duckdb") == 60


def test_importing_twice_stores_each_record_once(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    dump = write(tmp_path / "d.json", LINES)
    ok("import", "--db", db, dump)
    before = records(db)
    run = ok(
        "import",
        "--db",
        db,
        dump,
        write(tmp_path / "overlap.json", [*LINES[30:], kcat_line("x", 0, 0, "{}")]),
    )
    assert "d.json (kcat): 60 records, 0 new, 60 already stored" in run.out
    assert "overlap.json (kcat): 31 records, 1 new, 30 already stored" in run.out
    assert count(db) == 61
    assert [r for r in records(db) if r[0] == "orders"] == before


def test_empty_file(tmp_path: Path) -> None:
    run = ok("import", "--db", tmp_path / "s.duckdb", write(tmp_path / "empty.json", [b"\n"]))
    assert "empty.json (empty): 0 records, 0 new" in run.out


def test_progress_bar_on_stderr(tmp_path: Path) -> None:
    run = ok("import", "--progress", "--db", tmp_path / "s.duckdb", write(tmp_path / "d.json", LINES))
    assert "d.json" in run.err and "events/s" in run.err
    assert "events/s" not in run.out  # stdout keeps only the summary
    quiet = ok("import", "--db", tmp_path / "s.duckdb", write(tmp_path / "d.json", LINES))
    assert quiet.err == ""  # small file, not a terminal: no bar
