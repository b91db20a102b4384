"""The dashboard beside a writer: it works on a private copy of the writer's
snapshot (``core.snapshot``) and follows the writer live. Each refresh copies
into it the events the writer's newest snapshot holds and it does not, then
reconstruction folds them in exactly as in ``choreo tail`` (only the touched
instances, judged against the wall clock).

When the writer stops, its snapshot goes away and the store is free: the
last events are taken from the store itself (opened read-only for a moment)
and the dashboard stays on them, no longer live.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import duckdb

from choreo.cli.live_feed import Updater
from choreo.core.logsetup import kv
from choreo.core.progress import CollectProgress
from choreo.core.snapshot import SnapshotStore, newest_snapshot
from choreo.core.store import Store
from choreo.core.timefmt import duration

log = logging.getLogger(__name__)

# Events whose ingestion time is this much older than the newest we hold are
# not looked for again (the primary key absorbs what is looked for twice).
_INGEST_SLACK_MS = 60_000
_ALIAS = "choreo_follow"


class SnapshotFollower:
    """A ``LiveSource`` (choreo.tui.context) for a store another process writes."""

    def __init__(
        self, store: SnapshotStore, original: str | Path, update: Updater, *, restatus_every: float = 5.0
    ) -> None:
        self.store = store
        self.original = Path(original)
        self._update = update
        self._restatus_every = restatus_every
        self._seen_published = store.snapshot.published_ms
        self._last_update = 0.0
        self._needs_update = True  # the copy's derived tables may predate its events
        self._lock = threading.Lock()
        self.running = True  # while the writer writes
        self.progress: CollectProgress | None = None  # no collector of ours to report on
        self.syncs = 0

    @property
    def source(self) -> str:
        snap = self.store.snapshot
        state = "" if self.running else ", stopped"
        return f"following {snap.writer} (pid {snap.writer_pid}{state})"

    @property
    def note(self) -> str:
        if not self.running:
            return "the writer stopped: its last events are shown"
        age = max(0, int(time.time() * 1000) - self._seen_published)
        return f"snapshot {duration(age)} old"

    def collect(self, stop: threading.Event) -> None:
        """Nothing to collect: the writer does that; returns when told to stop."""
        stop.wait()

    def update(self) -> bool:
        """Copy in what the writer stored since, reconstruct; True when anything changed."""
        with self._lock:
            changed = self._sync()
            now = time.monotonic()
            if not changed and not self._needs_update and now - self._last_update < self._restatus_every:
                return False
            own = self.store.cursor()
            try:
                self._update(own, int(time.time() * 1000))
            finally:
                own.close()
            self._needs_update = False
            self._last_update = now
            return True

    def _sync(self) -> bool:
        if not self.running:
            return False
        snap = newest_snapshot(self.original)
        if snap is not None:
            if snap.published_ms == self._seen_published:
                return False
            try:
                copied = self._copy_from(snap.path)
            except duckdb.IOException:
                return False  # its writer started publishing into it again: the next refresh
            self._seen_published = snap.published_ms
            return copied
        # No snapshot: the writer stopped (or is about to publish its first one).
        try:
            copied = self._copy_from(self.original)
        except duckdb.IOException:
            return False  # still locked: a new snapshot is on its way
        self.running = False
        log.info("follow: the writer stopped %s", kv(store=self.original))
        return copied

    def _copy_from(self, source: Path) -> bool:
        """Events (and their identifiers) ``source`` has and the copy has not;
        the consumer groups' offsets as ``source`` last saw them."""
        cur = self.store.cursor()
        con = cur.con
        escaped = str(source).replace("'", "''")
        try:
            con.execute(f"ATTACH '{escaped}' AS {_ALIAS} (READ_ONLY)")
        except duckdb.Error:
            cur.close()
            raise
        try:
            row = con.execute("SELECT max(ingested_ms) FROM main.events").fetchone()
            since = (int(row[0]) if row and row[0] is not None else 0) - _INGEST_SLACK_MS
            keys = 'topic, partition, "offset"'
            with cur.transaction():
                con.execute(
                    f"CREATE OR REPLACE TEMP TABLE _follow_new AS SELECT {keys} FROM {_ALIAS}.events s "
                    f"ANTI JOIN main.events USING ({keys}) WHERE s.ingested_ms >= ?",
                    [since],
                )
                row = con.execute("SELECT count(*) FROM _follow_new").fetchone()
                new = int(row[0]) if row else 0
                if new:
                    for table in ("events", "identifiers"):
                        con.execute(
                            f"INSERT INTO main.{table} SELECT t.* FROM {_ALIAS}.{table} t "
                            f"SEMI JOIN _follow_new USING ({keys})"
                        )
                con.execute("DROP TABLE _follow_new")
                for table in ("group_offsets", "topic_consumers"):
                    con.execute(f"INSERT OR REPLACE INTO main.{table} SELECT * FROM {_ALIAS}.{table}")
        finally:
            con.execute(f"DETACH {_ALIAS}")
            cur.close()
        self.syncs += 1
        log.debug("follow: synced %s", kv(source=source, new=new))
        return bool(new)


def follows(store: Store) -> bool:
    """True for a private copy of another process's snapshot."""
    return isinstance(store, SnapshotStore) and store.private


__all__ = ["SnapshotFollower", "follows"]
