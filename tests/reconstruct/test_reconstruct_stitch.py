"""Stitching: transitive linking, traps, namespacing of numeric ids."""

from __future__ import annotations

from pathlib import Path

from choreo.core.config import ChoreoConfig
from choreo.core.store import Store
from choreo.reconstruct.engine.pipeline import rebuild
from choreo.reconstruct.query.read import find_instances, instance_detail, key_stats
from tests.support.saga_builder import T0, Log, order_saga


def _membership(store: Store) -> dict[str, set[str]]:
    """label -> set of 'topic:partition:offset' of its events."""
    out: dict[str, set[str]] = {}
    for label, t, p, o in store.query(
        'SELECT i.label, e.topic, e.partition, e."offset" FROM instances i '
        "JOIN instance_events e USING (instance_id)"
    ):
        out.setdefault(label, set()).add(f"{t}:{p}:{o}")
    return out


def test_transitive_linking_and_customer_trap(db_path: Path) -> None:
    log = Log()
    expected: dict[str, int] = {}
    for i in range(24):
        order_saga(log, i, T0 + i * 1000, "ok")
        expected[f"orderId=ord-{i}"] = 6
    log.store(db_path)
    with Store.open(db_path) as s:
        stats = rebuild(s, now_ms=T0 + 3_600_000)
        assert stats.instances == 24
        assert stats.traps == ["customerId"]
        members = _membership(s)
        assert {k: len(v) for k, v in members.items()} == expected
        # ShipmentDelivered carries only the shipment id, yet is in its order's instance.
        found = find_instances(s, "shp-7")
        detail = instance_detail(s, found[0])
        assert detail is not None and detail.instance.label == "orderId=ord-7"
        assert [e.event_type for e in detail.events][-2:] == ["ShipmentDelivered", "OrderCompleted"]
        keys = {k.name: k for k in key_stats(s)}
        assert not keys["customerId"].used_for_stitching and "trap" in keys["customerId"].reason
        assert keys["orderId"].used_for_stitching and keys["shipmentId"].used_for_stitching
        assert keys["order.id"].used_for_stitching


def test_config_forces_names_in_and_out(db_path: Path) -> None:
    log = Log()
    for i in range(8):
        order_saga(log, i, T0 + i * 1000, "ok")
    log.store(db_path)
    forced_in = ChoreoConfig.model_validate({"reconstruct": {"stitch_include": ["customerId"]}})
    with Store.open(db_path) as s:
        assert rebuild(s, forced_in, now_ms=T0).instances == 4  # 4 customers swallow the orders
        forced_out = ChoreoConfig.model_validate({"reconstruct": {"stitch_exclude": ["shipmentId"]}})
        stats = rebuild(s, forced_out, now_ms=T0)
        # Without the shipment id, each ShipmentDelivered is left on its own.
        assert stats.instances == 8 and stats.unlinked == 8


def test_numeric_ids_of_different_kinds_do_not_collide(db_path: Path) -> None:
    log = Log()
    for i in range(5):
        t = T0 + i * 1000
        log.event("orders", "OrderCreated", t, service="o", orderId=i + 1)
        log.event("payments", "PaymentCompleted", t + 10, service="p", orderId=i + 1, paymentId=i + 100)
        # A refund system numbering its own records from 1: same digits, another kind.
        log.event("refunds", "RefundLogged", t + 20, service="r", refundId=i + 1, paymentId=i + 100)
        log.event("audit", "Audited", t + 30, service="a", refundId=i + 1)
    log.store(db_path)
    with Store.open(db_path) as s:
        stats = rebuild(s, now_ms=T0 + 60_000)
        # payment 100+i links order i+1 and refund i+1 legitimately; nothing else merges.
        assert stats.instances == 5
        sizes = sorted(n for (n,) in s.query("SELECT n_events FROM instances"))
        assert sizes == [4, 4, 4, 4, 4]


def test_numeric_key_reads_as_the_id_it_usually_equals(db_path: Path) -> None:
    log = Log()
    for i in range(6):
        t = T0 + i * 1000
        log.event("orders", "OrderCreated", t, service="o", key=str(500 + i), orderId=500 + i)
        # This service puts the order id only in the record key.
        log.event("orders", "OrderAudited", t + 10, service="audit", key=str(500 + i))
        log.event("shipments", "Packed", t + 20, service="s", key=str(i), boxId=str(i))
    log.store(db_path)
    with Store.open(db_path) as s:
        rebuild(s, now_ms=T0 + 60_000)
        rows = s.query("SELECT label, n_events FROM instances ORDER BY label")
        assert ("orderId=500", 2) in rows
        # Key 0..5 on another topic is not order 0..5.
        assert sum(n for _, n in rows) == 18 and len(rows) == 12


def test_causation_link_joins_an_event_without_identifiers(db_path: Path) -> None:
    log = Log()
    for i in range(4):
        t = T0 + i * 1000
        log.event("orders", "OrderCreated", t, service="o", eid=f"e{i}", orderId=f"ord-{i}")
        log.event("mail", "MailSent", t + 10, service="m", eid=f"m{i}", cause=f"e{i}")
    log.store(db_path)
    with Store.open(db_path) as s:
        stats = rebuild(s, now_ms=T0 + 60_000)
        assert stats.instances == 4 and stats.unlinked == 0
        detail = instance_detail(s, find_instances(s, "ord-2")[0])
        assert detail is not None
        assert [(e.event_type, e.parent_seq) for e in detail.events] == [
            ("OrderCreated", None),
            ("MailSent", 0),
        ]


def test_weak_trap_found_by_the_instances_its_values_merge(db_path: Path) -> None:
    """Most customers ordered once: their ids repeat event types rarely
    (1.2 events per value and type), yet merging through them would join
    every second order of a returning customer."""
    log = Log()
    n = 50
    for i in range(n):
        customer = f"cus-{i // 2}" if i < 20 else f"cus-{i}"  # ten customers with two orders
        t = T0 + i * 1000
        log.event("orders", "OrderCreated", t, service="o", orderId=f"ord-{i}", customerId=customer)
        log.event(
            "payments", "PaymentCompleted", t + 50, service="p", orderId=f"ord-{i}", customerId=customer
        )
        log.event("orders", "OrderCompleted", t + 90, service="o", orderId=f"ord-{i}")
    log.store(db_path)
    with Store.open(db_path) as s:
        stats = rebuild(s, now_ms=T0 + 3_600_000)
        assert stats.instances == n and stats.traps == ["customerId"]
        reason = s.query("SELECT reason FROM identifier_stats WHERE name = 'customerId'")[0][0]
        assert reason == "trap: 10 of 40 values checked would merge several instances (1.2 on average)"
