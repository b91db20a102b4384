"""gzip and zstd dumps, recognised by content; truncated and corrupt ones
keep the records before the damage and say so."""

from __future__ import annotations

import gzip
import uuid
from pathlib import Path

import pytest
import zstandard

from tests.support.import_helpers import choreo, count, kcat_line, ok, records, write

LINES = [kcat_line("orders", i % 2, i // 2, f'{{"type":"A","orderId":"o-{i}"}}') for i in range(3000)]


@pytest.mark.parametrize("codec", ["gzip", "zstd"])
def test_compressed_dump_named_anything(codec: str, tmp_path: Path) -> None:
    # No .gz/.zst suffix: recognised from the magic bytes.
    dump = write(tmp_path / "dump.data", LINES, codec)
    run = ok("import", "--db", tmp_path / "s.duckdb", dump)
    assert f"(kcat, {codec}): 3,000 records, 3,000 new" in run.out
    plain = tmp_path / "p.duckdb"
    ok("import", "--db", plain, write(tmp_path / "plain.json", LINES))
    assert records(tmp_path / "s.duckdb") == records(plain)


def test_concatenated_members(tmp_path: Path) -> None:
    gz = tmp_path / "d.json.gz"
    gz.write_bytes(gzip.compress(b"".join(LINES[:10])) + gzip.compress(b"".join(LINES[10:20])))
    zst = tmp_path / "d.json.zst"
    c = zstandard.ZstdCompressor()
    zst.write_bytes(c.compress(b"".join(LINES[20:30])) + c.compress(b"".join(LINES[30:40])))
    ok("import", "--db", tmp_path / "s.duckdb", gz, zst)
    assert count(tmp_path / "s.duckdb") == 40


@pytest.mark.parametrize("codec", ["gzip", "zstd"])
def test_truncated_keeps_what_came_before(codec: str, tmp_path: Path) -> None:
    whole = write(tmp_path / "whole", LINES, codec).read_bytes()
    cut = tmp_path / "cut.json"
    cut.write_bytes(whole[: len(whole) * 2 // 3])
    run = choreo("import", "--db", tmp_path / "s.duckdb", cut)
    assert run.code == 2
    assert f"DAMAGED: {codec} stream is truncated" in run.out
    kept = count(tmp_path / "s.duckdb")
    # The last line is the error (a warning about what was reconstructed may come first).
    assert run.err.strip().splitlines()[-1] == (
        f"choreo: input: damaged input: {cut} (the {kept:,} records before the damage were imported)"
    )
    assert 0 < kept < len(LINES)
    # What was kept is exactly the start of the dump, in order.
    assert {(r[1], r[2]) for r in records(tmp_path / "s.duckdb")} == {(i % 2, i // 2) for i in range(kept)}


def test_corrupt_gzip_is_damage(tmp_path: Path) -> None:
    # Random ids keep the compressed file large enough to be read in several chunks.
    lines = [kcat_line("t", 0, i, f'{{"id":"{uuid.uuid4().hex}"}}') for i in range(3000)]
    data = bytearray(write(tmp_path / "whole", lines, "gzip").read_bytes())
    data[len(data) // 2] ^= 0xFF
    bad = tmp_path / "bad.json.gz"
    bad.write_bytes(bytes(data))
    run = choreo("import", "--db", tmp_path / "s.duckdb", bad)
    assert run.code == 2 and "DAMAGED: gzip" in run.out
    # Records from before the corrupt block were kept.
    assert 0 < count(tmp_path / "s.duckdb") < 3000


def test_damage_before_the_first_line(tmp_path: Path) -> None:
    cut = tmp_path / "cut.json.zst"
    cut.write_bytes(write(tmp_path / "whole", LINES, "zstd").read_bytes()[:20])
    run = choreo("import", "--db", tmp_path / "s.duckdb", cut)
    assert run.code == 2 and "DAMAGED: zstd stream is truncated" in run.out


def test_truncated_strict_stores_nothing(tmp_path: Path) -> None:
    whole = write(tmp_path / "whole", LINES, "gzip").read_bytes()
    cut = tmp_path / "cut.json.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    run = choreo("import", "--strict", "--db", tmp_path / "s.duckdb", cut)
    assert run.code == 2 and "truncated" in run.err and "nothing imported" in run.err
    assert count(tmp_path / "s.duckdb") == 0
