"""Readers beside a writer: a process that holds a store publishes snapshots
of it; readers in other processes read the newest one, never stop the
writer, and never see a torn or shrinking store."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from choreo.core.errors import StoreLockedError
from choreo.core.snapshot import SnapshotStore, open_for_reading, snapshot_path
from choreo.core.snapshot_publish import Publisher
from choreo.core.store import Store
from tests.support.waiting import wait_for

# A writer process: appends a batch of 2,000 events every 20 ms (every tenth
# batch 130,000, past DuckDB's row group size) while publishing,
# and says after each commit how many events it has stored.
_WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from choreo.core.store import Store
    from choreo.core.snapshot_publish import Publisher

    db, publish, seconds = sys.argv[1], sys.argv[2] == "publish", float(sys.argv[3])
    stop_file = Path(db + ".stop")
    with Store.open(db) as store:
        pub = Publisher(store, "test writer", interval=0.1) if publish else None
        if pub is not None:
            pub.start()
        n, batch, deadline = 0, 0, time.monotonic() + seconds
        while time.monotonic() < deadline and not stop_file.exists():
            size = 130_000 if batch % 10 == 9 else 2_000
            store.con.execute(
                "INSERT INTO events SELECT 't', 0, ? + range, 0, 1, NULL, [], repeat('x', 100)::BLOB, "
                "'json', 'E', 's', NULL, NULL, NULL, NULL, 'collect:test', epoch_ms(now()) FROM range(?)",
                [n, size],
            )
            n += size
            batch += 1
            print(n, flush=True)
            time.sleep(0.02)  # a collector's batch rhythm (pacing the writer, not waiting on anything)
        if pub is not None:
            pub.stop()
    print("done", flush=True)
    """
)


class Writer:
    def __init__(self, db: Path, *, publish: bool = True, seconds: float = 60.0) -> None:
        self.db = db
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(db), "publish" if publish else "hold", str(seconds)],
            stdout=subprocess.PIPE,
            text=True,
            env=dict(os.environ, PYTHONUNBUFFERED="1"),
        )
        self.stored = 0

    def read_progress(self) -> int:
        """The writer's count after its next commit."""
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if line.isdigit():
            self.stored = int(line)
        return self.stored

    def stop(self) -> None:
        Path(str(self.db) + ".stop").touch()
        assert self.proc.stdout is not None
        counts = [line for line in self.proc.stdout.read().split() if line.isdigit()]
        if counts:
            self.stored = int(counts[-1])
        assert self.proc.wait(timeout=60) == 0


@pytest.fixture
def writer(db_path: Path) -> Iterator[Writer]:
    Store.open(db_path).close()
    w = Writer(db_path)
    try:
        yield w
    finally:
        if w.proc.poll() is None:
            w.proc.kill()
            w.proc.wait()


def _count(store: Store) -> int:
    row = store.con.execute('SELECT count(*), count(DISTINCT "offset") FROM events').fetchone()
    assert row is not None and row[0] == row[1]  # nothing torn, nothing doubled
    return int(row[0])


def test_readers_see_a_growing_snapshot_while_the_writer_keeps_writing(db_path: Path, writer: Writer) -> None:
    wait_for(lambda: writer.read_progress() > 0, what="the writer's first commit")
    seen = [0]
    reads = 0

    def caught_up_with(target: int) -> bool:
        nonlocal reads
        with open_for_reading(db_path, writable=False) as s:
            assert isinstance(s, SnapshotStore) and not s.private
            assert s.snapshot.writer == "test writer" and s.snapshot.writer_pid == writer.proc.pid
            n = _count(s)
            # A full scan reads every block: a torn copy fails its checksums here.
            s.con.execute("SELECT sum(hash(payload)) FROM events").fetchall()
        reads += 1
        assert n >= seen[-1], "a newer snapshot never holds less"
        seen.append(n)
        return n >= target

    for _round in range(3):
        target = writer.read_progress()

        def caught_up(t: int = target) -> bool:
            return caught_up_with(t)

        wait_for(caught_up, timeout=60, what=f"a snapshot with {target} events")
    assert writer.proc.poll() is None, "the writer kept running"
    assert reads >= 3

    # A private copy for a reader that judges: its writes stay its own, and it is gone when closed.
    with open_for_reading(db_path, writable=True) as copy:
        assert isinstance(copy, SnapshotStore) and copy.private
        copy.set_meta("mine", "1")
        private = copy.path
    assert not private.exists()
    with open_for_reading(db_path, writable=False) as s:
        assert s.get_meta("mine") is None

    writer.stop()
    assert not snapshot_path(db_path).exists(), "the snapshot goes with its writer"
    with open_for_reading(db_path, writable=False) as s:
        assert not isinstance(s, SnapshotStore)
        assert _count(s) == writer.stored


def test_the_writer_keeps_its_lock_while_it_publishes(db_path: Path, writer: Writer) -> None:
    # POSIX record locks are lost when the holding process closes any descriptor of
    # the file: the copy must not be made by the writer process itself.
    wait_for(lambda: snapshot_path(db_path).exists(), what="a first snapshot")
    first = writer.read_progress()
    wait_for(lambda: writer.read_progress() > first, what="more commits")
    with open_for_reading(db_path, writable=False) as s:
        assert isinstance(s, SnapshotStore)
    with pytest.raises(StoreLockedError) as err:
        Store.open(db_path).close()
    assert err.value.pid == writer.proc.pid


def test_a_store_held_without_snapshots_is_a_one_line_error(db_path: Path) -> None:
    Store.open(db_path).close()
    holder = Writer(db_path, publish=False, seconds=60)
    try:
        holder.read_progress()
        with pytest.raises(StoreLockedError, match="publishes no snapshot"):
            open_for_reading(db_path, writable=False, wait=0.3)
    finally:
        holder.stop()


def test_copies_left_by_killed_readers_are_removed(db_path: Path, writer: Writer) -> None:
    wait_for(lambda: snapshot_path(db_path).exists(), what="a first snapshot")
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    leftover = db_path.parent / f".{db_path.name}.reader-{dead.stdout.strip()}-deadbeef"
    leftover.write_bytes(b"x")
    with open_for_reading(db_path, writable=True) as copy:
        assert copy.path.exists()
    assert not leftover.exists()


def test_a_checkpoint_refused_for_an_open_transaction_is_tried_again_soon(db_path: Path) -> None:
    # A reconstruction holds a write transaction that changes tables; DuckDB refuses to
    # checkpoint meanwhile. The next try must not wait a whole interval (an hour here).
    with Store.open(db_path) as store:
        other = store.cursor()
        other.con.execute("BEGIN")
        other.con.execute("CREATE TABLE rebuilding (x INTEGER)")
        pub = Publisher(store, "test writer", interval=3600.0)
        pub.start()
        try:
            wait_for(lambda: pub.busy > 0, what="a refused checkpoint")
            assert not snapshot_path(db_path).exists()
            other.con.execute("COMMIT")
            wait_for(lambda: pub.published == 1, timeout=60, what="the snapshot, once the transaction ended")
        finally:
            pub.stop()
            other.close()
