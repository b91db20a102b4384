"""`choreo tail` publishes snapshots while it reconstructs: DuckDB refuses a
CHECKPOINT beside a transaction that changes tables, so the publisher waits
for a running reconstruction to end instead of failing and trying again
(a soak's log had 25 refusals in 17 minutes)."""

from __future__ import annotations

import threading
from pathlib import Path

from choreo.cli.live_feed import LiveFeed
from choreo.collector.extract import Extractor
from choreo.collector.kafka_tap import Collector
from choreo.core.snapshot import snapshot_path
from choreo.core.snapshot_publish import Publisher
from choreo.core.store import Store
from tests.support.collect_helpers import settings
from tests.support.waiting import wait_for


def test_the_publisher_waits_for_a_running_reconstruction(db_path: Path) -> None:
    inside, release = threading.Event(), threading.Event()

    def reconstruction(store: Store, now_ms: int) -> object:
        # As the engine's stages do: tables replaced inside one transaction.
        store.con.execute("BEGIN")
        store.con.execute("CREATE OR REPLACE TABLE rebuilding AS SELECT ? AS now_ms", [now_ms])
        inside.set()
        release.wait(60)
        store.con.execute("COMMIT")
        return None

    with Store.open(db_path) as store:
        # The collector is never started: only its store is used.
        collector = Collector(settings("127.0.0.1:1", "orders", "g"), store, Extractor())
        feed = LiveFeed(collector, reconstruction, "test")
        worker = threading.Thread(target=feed.update)
        worker.start()
        pub = Publisher(store, "choreo tail", interval=0.05)
        try:
            wait_for(inside.is_set, what="the reconstruction's transaction")
            # The update holds the lock the publisher checkpoints under.
            assert store.checkpoint_lock.locked()
            pub.start()
            wait_for(lambda: pub.attempts > 0, what="the publisher trying")
            assert pub.published == 0
            release.set()
            worker.join(60)
            wait_for(lambda: pub.published > 0, what="a snapshot once the reconstruction ended")
            assert pub.busy == 0, "the CHECKPOINT was never tried beside the reconstruction"
            assert snapshot_path(db_path).exists()
        finally:
            release.set()
            worker.join(60)
            pub.stop()
