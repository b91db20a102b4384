"""Bad input: malformed lines skipped, counted and named; --strict stores
nothing; missing, unreadable and unknown files are one-line errors (exit 2)
that leave the store as it was."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest

from tests.support.import_helpers import choreo, count, kcat_line, ok, records, write

GOOD = [kcat_line("t", 0, i, '{"type":"A"}') for i in range(10)]
BAD = {
    3: b"{not json\n",
    5: b'{"topic":"t","partition":"zero","offset":1,"payload":"x"}\n',
    6: b'{"topic":"t","partition":0,"offset":-1,"payload":"x"}\n',
    8: b'{"topic":"t","partition":0,"offset":2,"headers":["odd"],"payload":"x"}\n',
    9: b"[1, 2]\n",
    11: b'{"topic":"t","partition":0,"offset":4,"tstype":"sometime","ts":1,"payload":"x"}\n',
    12: b'{"topic":"t","partition":0,"offset":4,"payload":"x","headers":{"h":[1]}}\n',
}


def _mixed() -> list[bytes]:
    lines = list(GOOD)
    for lineno in sorted(BAD):
        lines.insert(lineno - 1, BAD[lineno])
    return lines


def test_bad_lines_are_skipped_counted_and_named(tmp_path: Path) -> None:
    dump = write(tmp_path / "d.json", _mixed())
    run = ok("import", "--db", tmp_path / "s.duckdb", dump)
    assert "10 records, 10 new" in run.out
    assert "7 bad line(s) skipped (first 5):" in run.out
    for lineno in (3, 5, 6, 8, 9):
        assert f"{dump}:{lineno}: " in run.out
    assert f"{dump}:3: not JSON" in run.out
    assert f"{dump}:5: partition missing or not an integer" in run.out
    assert f"{dump}:8: headers array has an odd number of items" in run.out
    assert count(tmp_path / "s.duckdb") == 10


def test_json_summary_lists_bad_lines(tmp_path: Path) -> None:
    import orjson

    run = ok("import", "--json", "--db", tmp_path / "s.duckdb", write(tmp_path / "d.json", _mixed()))
    summary = orjson.loads(run.out)
    assert summary["bad_lines"] == 7 and summary["inserted"] == 10
    assert [b["line"] for b in summary["files"][0]["bad_examples"]] == [3, 5, 6, 8, 9]


def test_strict_stops_at_the_first_bad_line_and_stores_nothing(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    ok("import", "--db", db, write(tmp_path / "before.json", [kcat_line("old", 0, 0, "{}")]))
    before = records(db)
    good_file = write(tmp_path / "a.json", [kcat_line("t2", 0, i, "{}") for i in range(100)])
    bad_file = write(tmp_path / "d.json", _mixed())
    run = choreo("import", "--strict", "--db", db, good_file, bad_file)
    assert run.code == 2
    assert run.err.count("\n") == 1
    assert run.err.startswith(f"choreo: input: {bad_file}:3: not JSON")
    assert run.err.rstrip().endswith("(--strict: nothing imported)")
    assert records(db) == before  # not even the good file before it


def test_strict_passes_a_clean_file(tmp_path: Path) -> None:
    ok("import", "--strict", "--db", tmp_path / "s.duckdb", write(tmp_path / "d.json", GOOD))
    assert count(tmp_path / "s.duckdb") == 10


def test_strict_from_stdin(tmp_path: Path) -> None:
    # stdin is read twice under --strict (checked, then imported): spooled in between.
    db = tmp_path / "s.duckdb"
    run = choreo("import", "--strict", "--db", db, "-", stdin=gzip.compress(b"".join(_mixed())))
    assert run.code == 2 and run.err.startswith("choreo: input: stdin:3: not JSON")
    assert count(db) == 0
    run = ok("import", "--strict", "--db", db, "-", stdin=gzip.compress(b"".join(GOOD)))
    assert "stdin (kcat, gzip): 10 records, 10 new" in run.out


def _error(tmp_path: Path, *args: str | Path) -> str:
    db = tmp_path / "s.duckdb"
    ok("import", "--db", db, write(tmp_path / "seed.json", GOOD[:2]))
    run = choreo("import", "--db", db, write(tmp_path / "fine.json", GOOD), *args)
    assert run.code == 2, run
    assert run.err.count("\n") == 1 and run.err.startswith("choreo: input: "), run.err
    assert "Traceback" not in run.err
    assert count(db) == 2  # the good file given alongside was not imported either
    return run.err


def test_missing_file(tmp_path: Path) -> None:
    assert "nope.json: no such file" in _error(tmp_path, tmp_path / "nope.json")


def test_glob_matching_nothing(tmp_path: Path) -> None:
    assert "no file matches" in _error(tmp_path, str(tmp_path / "dumps" / "*.json"))


def test_directory(tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    assert "is a directory" in _error(tmp_path, tmp_path / "dir")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file regardless of permissions")
def test_unreadable_file(tmp_path: Path) -> None:
    locked = write(tmp_path / "locked.json", GOOD)
    locked.chmod(0)
    assert "permission denied" in _error(tmp_path, locked)


@pytest.mark.skipif(not Path("/proc/self/mem").exists(), reason="needs Linux /proc")
def test_file_that_cannot_be_read(tmp_path: Path) -> None:
    # Opens fine (even as root), but reading at offset 0 fails with EIO.
    assert "/proc/self/mem: cannot read" in _error(tmp_path, "/proc/self/mem")


def test_unknown_text_format(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("dear diary\nthe cluster is gone\n")
    assert "not a known dump format" in _error(tmp_path, notes)


def test_binary_file(tmp_path: Path) -> None:
    blob = tmp_path / "blob.bin"
    blob.write_bytes(b"\x00\x01\x02" * 1000)
    assert "binary data, not a known dump format" in _error(tmp_path, blob)


def test_stdin_twice(tmp_path: Path) -> None:
    assert "more than once" in _error(tmp_path, "-", "-")
