"""`choreo tail`'s dashboard against the embedded cluster: events produced
while it runs show up, the user's selection stays put, q commits and quits."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
import pytest

from choreo.cli.live_feed import LiveFeed
from choreo.collector.extract import Extractor
from choreo.collector.kafka_tap import Collector
from choreo.core.store import Store
from choreo.reconstruct.engine.pipeline import update
from choreo.tui.app import make_app
from choreo.tui.screens.overview import OverviewScreen
from choreo.tui.widgets.overview.workflows import WorkflowTable
from tests.conftest import KafkaTarget
from tests.support.collect_helpers import Record, produce, settings
from tests.support.tui_helpers import overview_ready, wait_until

pytestmark = pytest.mark.kafka


def orders(topic: str, first: int, n: int) -> list[Record]:
    """OrderCreated then OrderCompleted for orders first..first+n-1."""
    out: list[Record] = []
    for i in range(first, first + n):
        oid = f"ord-{i:05d}"
        for etype in ("OrderCreated", "OrderCompleted"):
            body = {"type": etype, "orderId": oid, "source": "order-service", "eventId": f"{oid}-{etype}"}
            out.append((topic, oid.encode(), orjson.dumps(body), None))
    return out


def signups(topic: str, n: int) -> list[Record]:
    return [
        (topic, None, orjson.dumps({"type": "UserSignedUp", "userId": f"usr-{i}", "source": "users"}), None)
        for i in range(n)
    ]


async def test_live_events_arrive_and_quitting_commits(kafka: KafkaTarget, db_path: Path) -> None:
    topic = kafka.create_topic("orders", partitions=2)
    users = kafka.create_topic("users", partitions=1)
    await asyncio.to_thread(produce, kafka.bootstrap, orders(topic, 0, 5) + signups(users, 3))
    with Store.open(db_path) as store:
        collector = Collector(
            settings(kafka.bootstrap, f"{kafka.prefix}.*", f"{kafka.prefix}tail"), store, Extractor()
        )
        feed = LiveFeed(collector, lambda s, now: update(s, now_ms=now), kafka.bootstrap)
        app = make_app(store, live=feed)
        async with app.run_test(size=(100, 30)) as pilot:
            await overview_ready(pilot)
            screen = app.screen
            assert isinstance(screen, OverviewScreen)

            def events_shown(n: int) -> bool:
                return screen.overview is not None and screen.overview.events == n

            await wait_until(pilot, lambda: events_shown(13), timeout=60, what="the first 13 events")
            table = screen.query_one(WorkflowTable)
            await wait_until(pilot, lambda: table.row_count == 2, what="two workflows")
            # The user selects the second workflow; live updates must keep it selected.
            table.focus()
            await pilot.press("down")
            selected = table.selected_key()
            assert selected is not None
            await asyncio.to_thread(produce, kafka.bootstrap, orders(topic, 5, 20))
            await wait_until(pilot, lambda: events_shown(53), timeout=60, what="the 40 new events")
            assert table.selected_key() == selected
            assert "LIVE" in str(screen.query_one("#store-bar").render())
            await pilot.press("q")
            await wait_until(pilot, lambda: not app.is_running, timeout=60, what="quit after the last batch")
        assert feed.stopped.wait(60)
        feed.close()  # as `choreo tail` does before the store closes
        assert not feed.update()  # a dashboard worker late to the exit does not touch the store
        assert feed.stats is not None and feed.stats.commits >= 1
        assert store.count_events() == 53
