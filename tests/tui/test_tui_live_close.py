"""Closing the dashboard waits for the live collector to finish the batch
in hand: it writes the store on a connection of its own, and whoever
opened the store closes it right after the app (a close beside a busy
connection fails: seen once in CI, the demo's live dashboard)."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

from choreo.core.progress import CollectProgress
from choreo.core.store import Store
from choreo.tui.app import make_app
from choreo.tui.data.reader import StoreReader
from tests.support.tui_fixtures import FixtureStore
from tests.support.tui_helpers import overview_ready, wait_until

_DEADLINE_S = 30.0


class FinishingLive:
    """A collector that, once told to stop, still stores a last batch, and
    only when the dashboard is already closing."""

    source = "finishing"
    progress: CollectProgress | None = None
    note: str | None = None

    def __init__(self, store: Store) -> None:
        self.store = store
        self.running = False
        self.started = threading.Event()
        self.release = threading.Event()
        self.stored = threading.Event()

    def collect(self, stop: threading.Event) -> None:
        self.running = True
        own = self.store.cursor()
        try:
            self.started.set()
            stop.wait()
            assert self.release.wait(_DEADLINE_S), "never released"
            own.con.execute("SELECT count(*) FROM events").fetchone()  # the last batch
            self.stored.set()
        finally:
            own.close()
            self.running = False

    def update(self) -> bool:
        return False


def _release_when_closing(reader: StoreReader, live: FinishingLive) -> threading.Thread:
    def run() -> None:
        tick = threading.Event()  # never set: a timed wait between looks
        deadline = time.monotonic() + _DEADLINE_S
        while not reader.closing and time.monotonic() < deadline:
            tick.wait(0.01)
        live.release.set()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


async def test_closing_waits_for_the_collector_to_store_its_last_batch(
    mixed: FixtureStore, tmp_path: Path
) -> None:
    path = tmp_path / "live.duckdb"
    shutil.copy(mixed.path, path)
    with Store.open(path) as store:
        live = FinishingLive(store)
        app = make_app(store, live=live)
        async with app.run_test(size=(100, 30)) as pilot:
            await overview_ready(pilot)
            await wait_until(pilot, live.started.is_set, what="the collector")
            assert app.ctx is not None
            releaser = _release_when_closing(app.ctx.reader, live)
        # The app is gone: the collector's last batch was stored before it went.
        assert live.stored.is_set()
        releaser.join(_DEADLINE_S)
