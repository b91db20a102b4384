"""Degenerate logs: empty, nothing linkable, a single event, poison records."""

from __future__ import annotations

from pathlib import Path

from choreo.core.store import Store
from choreo.reconstruct.engine.pipeline import rebuild
from choreo.reconstruct.query.read import instance_detail, instances_page, stuck_list
from tests.support.saga_builder import T0, Log


def test_empty_store(db_path: Path) -> None:
    with Store.open(db_path) as s:
        stats = rebuild(s)
        assert (stats.events, stats.instances, stats.stuck) == (0, 0, 0)
        assert instances_page(s).total == 0 and stuck_list(s) == []


def test_nothing_linkable(db_path: Path) -> None:
    log = Log()
    log.add("t", T0, b"\x00\x01binary")
    log.add("t", T0 + 1, b"")
    log.add("t", T0 + 2, None)
    log.add("t", T0 + 3, {"type": "Ping"})
    log.store(db_path)
    with Store.open(db_path) as s:
        stats = rebuild(s, now_ms=T0 + 10)
        assert (stats.events, stats.instances, stats.unlinked) == (4, 0, 4)


def test_single_event_and_poison_with_a_key(db_path: Path) -> None:
    log = Log()
    log.event("orders", "OrderCreated", T0, service="o", key="ord-1", orderId="ord-1")
    log.add("orders", T0 + 5, b"not json", key="ord-1")
    log.store(db_path)
    with Store.open(db_path) as s:
        stats = rebuild(s, now_ms=T0 + 10)
        # The unreadable record is not an event: listed beside the order whose key it carries.
        assert stats.instances == 1
        (row,) = instances_page(s).rows
        assert row.n_events == 1
        detail = instance_detail(s, row.instance_id)
        assert detail is not None
        assert [(r.offset, r.reason, r.key) for r in detail.beside] == [(1, "not JSON (text)", b"ord-1")]
