"""Promise: a corrupt, truncated or full store is a one-line cause and exit 2,
never a traceback, and nothing already stored is lost (issue 15, finding 9).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from choreo.core.store import Store
from tests.conftest import KafkaTarget
from tests.support.catalogue_helpers import (
    FIXTURE_EVENTS,
    assert_one_line,
    corrupt_copy,
    event_count,
    fixture_store,
    run_choreo,
    run_in_pty,
    truncated_copy,
)
from tests.support.collect_helpers import FAST_GROUP_ARGS, produce
from tests.support.import_helpers import choreo
from tests.support.paths import FIXTURES


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield fixture_store(tmp_path_factory.mktemp("store") / "good.duckdb")


@pytest.mark.parametrize(("command", "keep"), [("status", 0.2), ("reconstruct", 0.1)])
def test_truncated_store_read(good: Path, tmp_path: Path, command: str, keep: float) -> None:
    bad = truncated_copy(good, tmp_path / "t.duckdb", keep)
    run = choreo(command, "--db", bad)
    assert_one_line(run.code, run.err, says="damaged")


def test_store_truncated_inside_its_header(good: Path, tmp_path: Path) -> None:
    bad = truncated_copy(good, tmp_path / "t.duckdb", 0.0001)
    run = choreo("stuck", "--db", bad)
    assert_one_line(run.code, run.err, says="t.duckdb")


def test_corrupt_block(good: Path, tmp_path: Path) -> None:
    bad = corrupt_copy(good, tmp_path / "c.duckdb")
    run = choreo("status", "--db", bad)
    assert_one_line(run.code, run.err, says="damaged")


def test_import_into_a_truncated_store(good: Path, tmp_path: Path) -> None:
    """Records it does not hold yet: the import must store and reconstruct,
    which reads what the cut took (the same dump again would find every record
    already stored, from blocks the cut may have left whole, and rightly do
    nothing)."""
    bad = truncated_copy(good, tmp_path / "t.duckdb", 0.2)
    run = choreo("import", "--db", bad, FIXTURES / "orders-clean" / "dump.kcat.jsonl")
    assert_one_line(run.code, run.err, says="damaged")


def test_disk_full_during_import_keeps_what_was_stored(good: Path, tmp_path: Path) -> None:
    db = tmp_path / "full.duckdb"
    db.write_bytes(good.read_bytes())
    big = tmp_path / "big.jsonl"
    with big.open("w") as f:  # plain lines, about 20 MB: more than the limit lets the store grow
        for i in range(60_000):
            f.write(f'{{"type": "OrderPlaced", "orderId": "o-{i}", "time": {1_700_000_000_000 + i}, ')
            f.write(f'"pad": "{"x" * 300}"}}\n')
    limit = good.stat().st_size + 2 * 1024 * 1024
    proc = run_choreo("import", "--db", db, big, file_size_limit=limit)
    assert_one_line(proc.returncode, proc.stderr, says="disk space")
    assert event_count(db) >= FIXTURE_EVENTS  # what was there before is all there


def test_tui_on_a_truncated_store_exits_2_with_one_line(good: Path, tmp_path: Path) -> None:
    bad = truncated_copy(good, tmp_path / "t.duckdb", 0.2)
    code, out = run_in_pty("tui", "--db", bad)
    assert code == 2, out[-2000:]
    assert "Traceback" not in out
    assert "choreo: store: " in out and "damaged" in out


def test_schema_version_not_a_number(good: Path, tmp_path: Path) -> None:
    db = tmp_path / "v.duckdb"
    db.write_bytes(good.read_bytes())
    con = duckdb.connect(str(db))
    con.execute("UPDATE choreo_meta SET value = 'abc' WHERE key = 'schema_version'")
    con.close()
    run = choreo("status", "--db", db)
    assert_one_line(run.code, run.err, says="schema_version")


@pytest.mark.kafka
def test_disk_full_during_collect(kafka: KafkaTarget, tmp_path: Path) -> None:
    topic = kafka.create_topic("full", 1)
    pad = "x" * 500
    n = 8_000  # about 4.5 MB: within what the embedded cluster keeps of a partition
    produce(
        kafka.bootstrap,
        (
            (topic, None, f'{{"type": "A", "orderId": "o-{i}", "pad": "{pad}"}}'.encode(), None)
            for i in range(n)
        ),
    )
    db = tmp_path / "s.duckdb"
    Store.open(db).close()  # an empty store: its size is known
    args = ["collect", "-b", kafka.bootstrap, "-t", topic, "-g", f"{kafka.prefix}full", "--db", str(db)]
    proc = run_choreo(
        *args, "--until-idle", "2", *FAST_GROUP_ARGS, file_size_limit=db.stat().st_size + 1024 * 1024
    )
    last = [ln for ln in proc.stderr.splitlines() if ln.strip()][-1]
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert last.startswith("choreo: store: ") and "disk space" in last, last
    assert event_count(db) < n
    # Nothing was committed that is not stored: with room, a restart stores the rest.
    done = run_choreo(*args, "--until-idle", "1", *FAST_GROUP_ARGS)
    assert done.returncode == 0, done.stderr[-2000:]
    assert event_count(db) == n
