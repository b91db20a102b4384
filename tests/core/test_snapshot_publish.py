"""Snapshots brought up to date block by block: readers in other processes see
every commit made before the last publish, one consistent state at a time,
from either of the two files, and never what a killed writer left."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from choreo.core.snapshot import SnapshotStore, open_for_reading, snapshot_paths
from choreo.core.snapshot_publish import Publisher
from choreo.core.store import Store
from tests.support.waiting import wait_for

_INSERT = (
    "INSERT INTO events SELECT 't', 0, ? + range, 0, 1, NULL, [], repeat('x', 200)::BLOB, "
    "'json', 'E', 's', NULL, NULL, NULL, NULL, 'collect:test', epoch_ms(now()) FROM range(?)"
)

# A reader process: opens the store as every reading command does and prints
# what it read, as JSON (with "hold", it keeps it open until a line on stdin).
_READER = textwrap.dedent(
    """
    import json, sys
    from choreo.core.snapshot import SnapshotStore, open_for_reading
    db, hold = sys.argv[1], sys.argv[2] == "hold"
    with open_for_reading(db, writable=False) as s:
        snap = s.snapshot if isinstance(s, SnapshotStore) else None
        n, distinct = s.con.execute('SELECT count(*), count(DISTINCT "offset") FROM events').fetchone()
        s.con.execute("SELECT sum(hash(payload)) FROM events").fetchall()  # every block read: none torn
        meta = dict(s.con.execute("SELECT key, value FROM choreo_meta").fetchall())
        tally = s.con.execute("SELECT max(n) FROM tally").fetchone()[0] if "tally_n" in meta else None
        print(json.dumps({
            "events": n, "distinct": distinct, "tally": tally, "meta_n": meta.get("tally_n"),
            "generation": snap.generation if snap else None, "pid": snap.writer_pid if snap else None,
            "path": str(s.path),
        }), flush=True)
        if hold:
            sys.stdin.readline()
    """
)


_READ_OR_SAY = textwrap.dedent(
    """
    import sys
    from choreo.core.errors import StoreLockedError
    from choreo.core.snapshot import open_for_reading
    try:
        open_for_reading(sys.argv[1], writable=False, wait=0.5).close()
        print("read")
    except StoreLockedError as exc:
        print(exc.message)
    """
)


def read_beside(db: Path) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", _READER, str(db), "once"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    read: dict[str, object] = json.loads(done.stdout)
    return read


def test_a_reader_sees_every_commit_before_the_last_publish(db_path: Path) -> None:
    with Store.open(db_path) as store:
        pub = Publisher(store, "test writer")  # published by hand here, not from its thread
        try:
            store.con.execute(_INSERT, [0, 1000])
            assert pub.publish()
            first = read_beside(db_path)
            assert first["events"] == 1000 and first["generation"] == pub.generation
            assert first["pid"] == os.getpid()

            store.con.execute(_INSERT, [1000, 150_000])  # past a row group: written early
            assert read_beside(db_path)["events"] == 1000, "not published yet: the last publish's state"
            assert pub.publish()
            assert not pub.publish(), "nothing changed since"
            again = read_beside(db_path)
            assert again["events"] == again["distinct"] == 151_000
            assert isinstance(again["generation"], int) and again["generation"] > first["generation"]
        finally:
            pub.stop()
        assert not any(p.exists() for p in snapshot_paths(db_path)), "the snapshots go with their writer"
        assert store.get_meta("snapshot_writer_pid") is None
        assert store.count_events() == 151_000


# A writer process: every transaction appends a batch of events and, with it,
# rewrites a table and a meta key that say how many there are, while publishing.
_WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from choreo.core.store import Store
    from choreo.core.snapshot_publish import Publisher

    db = sys.argv[1]
    stop_file = Path(db + ".stop")
    with Store.open(db) as store:
        store.con.execute("CREATE TABLE IF NOT EXISTS tally (n BIGINT)")
        pub = Publisher(store, "test writer", interval=0.05)
        pub.start()
        n, batch = 0, 0
        while not stop_file.exists():
            size = 130_000 if batch % 10 == 9 else 3_000
            with store.transaction() as con:
                con.execute(sys.argv[2], [n, size])
                n += size
                con.execute("DELETE FROM tally")
                con.execute("INSERT INTO tally SELECT ? - range FROM range(3)", [n])
                con.execute("INSERT OR REPLACE INTO choreo_meta VALUES ('tally_n', ?)", [str(n)])
            batch += 1
            print(n, flush=True)
            time.sleep(0.01)  # a collector's batch rhythm (pacing the writer, not waiting on anything)
        pub.stop()
    print("done", n, flush=True)
    """
)


class Writer:
    def __init__(self, db: Path) -> None:
        self.db = db
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(db), _INSERT], stdout=subprocess.PIPE, text=True
        )
        self.stored = 0

    def next_commit(self) -> int:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().split()
        if line and line[0].isdigit():
            self.stored = int(line[0])
        return self.stored

    def stop(self) -> int:
        Path(str(self.db) + ".stop").touch()
        assert self.proc.stdout is not None
        last = self.proc.stdout.read().split()
        assert self.proc.wait(timeout=60) == 0
        assert last[-2] == "done"
        return int(last[-1])


@pytest.fixture
def writer(db_path: Path) -> Iterator[Writer]:
    Store.open(db_path).close()
    w = Writer(db_path)
    try:
        # Before it holds the store, a reader would open the store itself and keep it from the writer.
        wait_for(lambda: w.next_commit() > 0, what="the writer's first commit")
        yield w
    finally:
        if w.proc.poll() is None:
            w.proc.kill()
            w.proc.wait()


def test_every_read_is_one_published_state(db_path: Path, writer: Writer) -> None:
    generations: list[int] = []

    def consistent_read() -> bool:
        got = read_beside(db_path)
        if got["generation"] is None:
            return False  # no snapshot yet
        # The events, the table and the meta key written with them: all of one commit.
        assert got["events"] == got["distinct"] == got["tally"] == int(str(got["meta_n"]))
        gen = got["generation"]
        assert isinstance(gen, int) and (not generations or gen >= generations[-1]), "never an older one"
        generations.append(gen)
        return len(set(generations)) >= 8

    wait_for(consistent_read, timeout=120, interval=0.01, what="eight publishes read")
    stored = writer.stop()
    with open_for_reading(db_path, writable=False) as s:
        assert not isinstance(s, SnapshotStore)
        assert s.count_events() == stored, "nothing stored is lost"


def test_a_reader_holding_one_snapshot_does_not_stop_publishing(db_path: Path, writer: Writer) -> None:
    wait_for(lambda: read_beside(db_path)["generation"] is not None, timeout=60, what="a first snapshot")
    holder = subprocess.Popen(
        [sys.executable, "-c", _READER, str(db_path), "hold"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        held = json.loads(holder.stdout.readline())
        target = writer.next_commit()

        def newer_elsewhere() -> bool:
            got = read_beside(db_path)
            events = got["events"]
            return isinstance(events, int) and events >= target and got["path"] != held["path"]

        wait_for(newer_elsewhere, timeout=60, what="a newer snapshot in the other file")
    finally:
        holder.communicate("\n", timeout=60)
    writer.stop()


def test_a_killed_writers_snapshots_are_ignored_and_replaced(db_path: Path, writer: Writer) -> None:
    wait_for(lambda: read_beside(db_path)["generation"] is not None, timeout=60, what="a first snapshot")
    committed = writer.next_commit()
    writer.proc.send_signal(signal.SIGKILL)
    writer.proc.wait()
    assert any(p.exists() for p in snapshot_paths(db_path)), "left behind"
    # The store is free: readers read it, not the dead writer's snapshot.
    got = read_beside(db_path)
    assert got["generation"] is None and got["path"] == str(db_path)
    assert isinstance(got["events"], int) and got["events"] >= committed, "nothing committed is lost"
    # Another process holding the store without publishing: never the dead writer's snapshot.
    with Store.open(db_path) as store:
        done = subprocess.run(
            [sys.executable, "-c", _READ_OR_SAY, str(db_path)], capture_output=True, text=True, timeout=120
        )
        assert "publishes no snapshot" in done.stdout, done.stdout + done.stderr
    # A new writer replaces them with its own.
    with Store.open(db_path) as store:
        pub = Publisher(store, "next writer")
        try:
            pub.start()
            wait_for(lambda: pub.published > 0, what="the new writer's first snapshot")
            again = read_beside(db_path)
            assert again["pid"] == os.getpid() and again["events"] == got["events"]
        finally:
            pub.stop()
