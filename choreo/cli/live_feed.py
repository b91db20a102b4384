"""``choreo tail``'s engine, without any UI: the collector runs in one thread,
incremental reconstruction in another, and the dashboard polls ``progress``.

Both threads write to the same DuckDB database through their own
connections (the collector appends raw events, reconstruction writes the
derived tables), so neither blocks the other for long.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from choreo.core.config import ChoreoConfig
from choreo.core.logsetup import kv
from choreo.core.progress import CollectProgress, CollectStats
from choreo.core.store import Store

if TYPE_CHECKING:
    # Only `choreo tail` builds a collector; a dashboard following a snapshot needs no Kafka client.
    from choreo.collector.kafka_tap import Collector

log = logging.getLogger(__name__)

# Brings the derived tables up to date with the raw events; gets its own
# connection to the store and the reference time (wall clock, live).
Updater = Callable[[Store, int], object]


def live_updater(config: ChoreoConfig) -> Updater:
    """Reconstruction for a live loop (``choreo tail``, a dashboard following a
    writer), judged against the wall clock: new events update only the
    instances they touch; without new events the open instances are
    re-judged at the new "now". An incremental update that fails is logged
    with its traceback and the tables are rebuilt instead: a dashboard that
    runs for hours outlives one bad batch (a failing rebuild still ends it)."""
    from choreo.reconstruct.engine.pipeline import judge, rebuild, update
    from choreo.reconstruct.query.asof import AsOf, NowKind, is_stale, record_as_of

    def run(store: Store, now_ms: int) -> object:
        if is_stale(store, config):
            try:
                out: object = update(store, config, now_ms=now_ms)
            except Exception:
                log.exception("live: the incremental update failed; rebuilding the derived tables instead")
                out = rebuild(store, config, now_ms=now_ms)
        else:
            out = judge(store, config, now_ms)
        record_as_of(store, AsOf(now_ms, NowKind.LIVE))
        return out

    return run


class LiveFeed:
    def __init__(
        self, collector: Collector, update: Updater, source: str, *, restatus_every: float = 5.0
    ) -> None:
        self.collector = collector
        self.source = source  # what is tapped, e.g. the bootstrap address
        self._update = update
        self._store = collector.store
        # The collector reports from its own thread; a plain attribute
        # assignment is atomic, readers take whatever snapshot is current.
        collector.on_progress = self._on_progress
        self.progress: CollectProgress | None = None
        self.stats: CollectStats | None = None
        self.error: Exception | None = None
        self.running = False
        self.started = threading.Event()  # set when the collector starts
        self.stopped = threading.Event()  # set once the collector has returned
        self._seen_events = -1
        # Instances turn stuck by the clock alone, so statuses are re-evaluated
        # this often even when no event arrives.
        self._restatus_every = restatus_every
        self._last_update = 0.0
        self._update_lock = threading.Lock()
        self._closed = False

    @property
    def note(self) -> str | None:
        return None  # the collector's progress says it all

    def _on_progress(self, progress: CollectProgress) -> None:
        self.progress = progress

    def collect(self, stop: threading.Event) -> CollectStats:
        """Run the collector until ``stop`` is set; call from a worker thread."""
        self.started.set()
        self.running = True
        try:
            self.stats = self.collector.run(stop)
        except Exception as exc:
            self.error = exc
            raise
        finally:
            self.running = False
            self.stopped.set()
        log.info("tail collector stopped %s", kv(consumed=self.stats.consumed if self.stats else 0))
        return self.stats

    def close(self) -> None:
        """Stop reconstructing: wait for a reconstruction still running, and
        refuse any that a dashboard worker starts later (call before the
        store closes; a worker's update on a closed store would fail)."""
        with self._update_lock:
            self._closed = True

    def update(self) -> bool:
        """Reconstruct what arrived since the last call (and re-evaluate
        statuses now and then); True when the derived tables changed.

        Call from a worker thread; concurrent calls are serialised.
        """
        with self._update_lock:
            if self._closed:
                return False
            own = self._store.cursor()
            try:
                row = own.con.execute("SELECT count(*) FROM events").fetchone()
                events = int(row[0]) if row else 0
                now = time.monotonic()
                if events == self._seen_events and now - self._last_update < self._restatus_every:
                    return False
                # A reconstruction's transaction changes tables, and DuckDB refuses the
                # snapshot publisher's CHECKPOINT beside it: the publisher waits for the
                # update to end instead of being refused (25 times in a soak's 17 minutes).
                with own.checkpoint_lock:
                    self._update(own, int(time.time() * 1000))
                self._seen_events = events
                self._last_update = now
                return True
            finally:
                own.close()
