"""The dashboard on a store that `choreo collect` (another process) is
writing: it opens on the collector's snapshot and follows it live, without
stopping it; when the collector stops, it keeps the last of its events."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from pathlib import Path

import pytest

from choreo.cli.commands.tui import open_for_tui, reconstruction
from choreo.cli.follow import SnapshotFollower
from choreo.cli.live_feed import live_updater
from choreo.core.config import ChoreoConfig
from choreo.core.snapshot import SnapshotStore, snapshot_path
from choreo.tui.app import make_app
from choreo.tui.screens.overview import OverviewScreen
from tests.conftest import KafkaTarget
from tests.support.collect_helpers import FAST_GROUP_ARGS, choreo_cmd, produce
from tests.support.tui_helpers import overview_ready, screen_text, wait_until
from tests.support.waiting import wait_for
from tests.tui.test_tui_live import orders

pytestmark = pytest.mark.kafka


async def test_the_dashboard_follows_a_store_another_process_collects(
    kafka: KafkaTarget, db_path: Path
) -> None:
    topic = kafka.create_topic("orders", partitions=2)
    await asyncio.to_thread(produce, kafka.bootstrap, orders(topic, 0, 5))
    args = ["collect", "-b", kafka.bootstrap, "-t", topic, "-g", f"{kafka.prefix}c", "--db", str(db_path)]
    collector = subprocess.Popen(
        choreo_cmd(*args, *FAST_GROUP_ARGS, "--batch-seconds", "0.2"),
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    try:
        await asyncio.to_thread(wait_for, snapshot_path(db_path).exists, 60, 0.05, "a snapshot")
        store, problem = open_for_tui(db_path, read_only=False)
        assert problem is None and isinstance(store, SnapshotStore) and store.private
        config = ChoreoConfig()
        follower = SnapshotFollower(store, db_path, live_updater(config))
        try:
            app = make_app(store, live=follower, reconstruction=reconstruction(config))
            async with app.run_test(size=(120, 40)) as pilot:
                await overview_ready(pilot)
                screen = app.screen
                assert isinstance(screen, OverviewScreen)

                def events_shown(n: int) -> bool:
                    return screen.overview is not None and screen.overview.events == n

                await wait_until(pilot, lambda: events_shown(10), what="the first 10 events")
                assert f"following choreo collect (pid {collector.pid})" in screen_text(app)
                await asyncio.to_thread(produce, kafka.bootstrap, orders(topic, 5, 10))
                await wait_until(pilot, lambda: events_shown(30), what="20 more, collected meanwhile")
                assert collector.poll() is None, "the collector kept running"

                collector.send_signal(signal.SIGINT)
                await asyncio.to_thread(collector.wait, 60)
                await wait_until(pilot, lambda: not follower.running, what="the writer seen stopping")
                assert events_shown(30)
                await pilot.press("q")
        finally:
            store.close()
        assert not store.path.exists(), "the private copy is deleted"
    finally:
        if collector.poll() is None:
            collector.send_signal(signal.SIGINT)
        collector.communicate(timeout=60)
    assert collector.returncode == 0
