"""Causal order, clock-skew adjustment and duplicates."""

from __future__ import annotations

from pathlib import Path

from choreo.core.store import Store
from choreo.reconstruct.engine.pipeline import rebuild
from choreo.reconstruct.query.read import find_instances, instance_detail
from tests.support.saga_builder import T0, Log


def _chain(log: Log, i: int, t: int, *, skew: int = 0) -> None:
    """A -> B -> C -> D by causation; B and C come from a clock running ``skew`` ms behind."""
    o = f"ord-{i}"
    log.event("orders", "OrderCreated", t, service="orders", eid=f"a{i}", orderId=o)
    log.event(
        "payments",
        "PaymentCompleted",
        t + 100 - skew,
        service="payments",
        eid=f"b{i}",
        cause=f"a{i}",
        orderId=o,
    )
    log.event(
        "payments",
        "PaymentReceipted",
        t + 150 - skew,
        service="payments",
        eid=f"c{i}",
        cause=f"b{i}",
        orderId=o,
    )
    log.event(
        "shipping", "ShipmentScheduled", t + 300, service="shipping", eid=f"d{i}", cause=f"c{i}", orderId=o
    )


def test_child_stamped_before_its_cause_is_skew(db_path: Path) -> None:
    log = Log()
    for i in range(5):
        _chain(log, i, T0 + i * 10_000)
    _chain(log, 9, T0 + 90_000, skew=1000)
    log.store(db_path)
    with Store.open(db_path) as s:
        stats = rebuild(s, now_ms=T0 + 200_000)
        assert stats.skewed == 2
        d = instance_detail(s, find_instances(s, "ord-9")[0])
        assert d is not None
        assert [e.event_type for e in d.events] == [
            "OrderCreated",
            "PaymentCompleted",
            "PaymentReceipted",
            "ShipmentScheduled",
        ]
        by = {e.event_type: e for e in d.events}
        # Moved to its cause's time; its same-clock child carries the same shift.
        assert by["PaymentCompleted"].skew_ms == 900
        assert by["PaymentCompleted"].adj_ts_ms == by["OrderCreated"].adj_ts_ms
        assert by["PaymentReceipted"].skew_ms == 900
        # Another service's clock is right: it is not moved.
        assert by["ShipmentScheduled"].skew_ms == 0
        assert [e.parent_seq for e in d.events] == [None, 0, 1, 2]
        assert d.instance.n_skewed == 2
        assert all(e.since_prev_ms is None or e.since_prev_ms >= 0 for e in d.events)
        # The learned latency is not polluted by negative gaps.
        assert s.query("SELECT min(p50_ms) FROM model_edges")[0][0] >= 0


def test_causation_cycle_does_not_hang_or_drop_events(db_path: Path) -> None:
    log = Log()
    log.event("x", "A", T0, service="s", eid="a", cause="b", orderId="o1")
    log.event("x", "B", T0 + 10, service="s", eid="b", cause="a", orderId="o1")
    log.store(db_path)
    with Store.open(db_path) as s:
        stats = rebuild(s, now_ms=T0 + 100)
        assert stats.instances == 1
        assert s.query("SELECT count(*) FROM instance_events")[0][0] == 2


def test_redelivered_duplicates_count_once(db_path: Path) -> None:
    log = Log()
    for i in range(4):
        t = T0 + i * 10_000
        o = f"ord-{i}"
        log.event("orders", "OrderCreated", t, service="orders", eid=f"a{i}", orderId=o)
        log.event("payments", "PaymentCompleted", t + 100, service="payments", orderId=o)
        log.event("shipping", "ShipmentScheduled", t + 200, service="shipping", eid=f"s{i}", orderId=o)
    # Redelivery of an event with an id (new offset, later stamp) and of one without.
    log.event("orders", "OrderCreated", T0 + 20_500, service="orders", eid="a2", orderId="ord-2")
    log.event("payments", "PaymentCompleted", T0 + 20_600, service="payments", orderId="ord-2")
    log.store(db_path)
    with Store.open(db_path) as s:
        stats = rebuild(s, now_ms=T0 + 100_000)
        assert stats.duplicates == 2
        d = instance_detail(s, find_instances(s, "ord-2")[0])
        assert d is not None
        assert d.instance.n_events == 3 and d.instance.n_duplicates == 2
        dups = [(e.event_type, e.duplicate_of_seq) for e in d.events if e.duplicate_of_seq is not None]
        originals = {e.seq: e.event_type for e in d.events if e.duplicate_of_seq is None}
        assert sorted((t, originals[q]) for t, q in dups) == [
            ("OrderCreated", "OrderCreated"),
            ("PaymentCompleted", "PaymentCompleted"),
        ]
        # Each duplicate sits right after its original.
        for e in d.events:
            if e.duplicate_of_seq is not None:
                assert e.seq == e.duplicate_of_seq + 1 or d.events[e.seq - 1].duplicate_of_seq is not None
        # Counted once in the model too.
        assert s.query("SELECT count FROM model_nodes WHERE event_type = 'OrderCreated'")[0][0] == 4
