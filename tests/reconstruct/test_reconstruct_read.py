"""Read helpers: paging, filters, search by any identifier, detail."""

from __future__ import annotations

from pathlib import Path

from choreo.core.config import ChoreoConfig
from choreo.core.store import Store
from choreo.reconstruct.engine.pipeline import rebuild
from choreo.reconstruct.query.read import find_instances, instance_detail, instances_page
from tests.support.saga_builder import T0, Log, order_saga

CFG = ChoreoConfig.model_validate({"reconstruct": {"min_overdue": 1}})


def _store(db_path: Path) -> Path:
    log = Log()
    for i in range(30):
        order_saga(log, i, T0 + i * 1000, "declined" if i % 10 == 3 else "ok")
    order_saga(log, 30, T0 + 30_000, "ok", stop_after=3)
    return log.store(db_path)


def test_page_filter_sort_search(db_path: Path) -> None:
    with Store.open(_store(db_path)) as s:
        rebuild(s, CFG, now_ms=T0 + 600_000)
        page = instances_page(s, limit=10, sort="start", descending=False)
        assert page.total == 31 and len(page.rows) == 10
        assert page.rows[0].label == "orderId=ord-0"
        nxt = instances_page(s, limit=10, offset=10, sort="start", descending=False)
        assert nxt.rows[0].label == "orderId=ord-10"
        failed = instances_page(s, status="failed")
        assert failed.total == 3 and {r.last_type for r in failed.rows} == {"OrderRejected"}
        assert instances_page(s, status=["stuck", "failed"]).total == 4
        assert instances_page(s, workflow="nope").total == 0
        by_events = instances_page(s, sort="events", descending=False, limit=1)
        assert by_events.rows[0].n_events == 3
        # Search by a value only ShipmentDelivered carries, by name=value, by instance id.
        hit = instances_page(s, search="shp-17")
        assert [r.label for r in hit.rows] == ["orderId=ord-17"]
        assert instances_page(s, search="shipmentId=shp-17").total == 1
        assert instances_page(s, search="orderId=shp-17").total == 0
        iid = hit.rows[0].instance_id
        assert find_instances(s, iid) == [iid]
        assert instances_page(s, search="cust-1").total == 8  # a trap value still finds its orders


def test_detail_timeline(db_path: Path) -> None:
    with Store.open(_store(db_path)) as s:
        rebuild(s, CFG, now_ms=T0 + 600_000)
        d = instance_detail(s, find_instances(s, "ord-30")[0])
        assert d is not None and d.stuck is not None
        assert d.instance.status == "stuck"
        assert [e.event_type for e in d.events] == ["OrderCreated", "PaymentCompleted", "InventoryReserved"]
        assert [e.service for e in d.events] == ["order-service", "payment-service", "inventory-service"]
        assert [e.since_prev_ms for e in d.events] == [None, 100, 100]
        assert d.stuck.expected_types == ["ShipmentScheduled"]
        assert ("shipmentId", "shp-30") not in d.identifiers and ("orderId", "ord-30") in d.identifiers
        assert b"InventoryReserved" in (d.events[2].payload or b"")
        assert d.as_dict()["events"][0]["payload"].startswith("{")
        assert instance_detail(s, "no-such") is None
