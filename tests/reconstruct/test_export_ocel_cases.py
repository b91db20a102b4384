"""OCEL export of particular logs: traps, numeric ids, record keys, text that
XML cannot carry."""

from __future__ import annotations

from pathlib import Path

import pytest

from choreo.core.store import Store
from choreo.reconstruct.engine.pipeline import rebuild
from choreo.reconstruct.export.ocel import export_ocel
from tests.support.ocel import PARSERS, SUFFIX, Parsed
from tests.support.saga_builder import T0, Log, order_saga


def exported(log: Log, tmp_path: Path, fmt: str = "json") -> Parsed:
    db = log.store(tmp_path / "s.duckdb")
    out = tmp_path / f"log.{SUFFIX[fmt]}"
    with Store.open(db) as store:
        rebuild(store, now_ms=T0 + 3_600_000)
        export_ocel(store, out)
    return PARSERS[fmt](out)


def test_shared_identifiers_are_objects_marked_as_such(tmp_path: Path) -> None:
    log = Log()
    for i in range(12):
        order_saga(log, i, T0 + i * 10_000, "ok")
    ocel = exported(log, tmp_path)
    customers = ocel.of_type("customer")
    # Four customers share twelve orders: stitching ruled customerId out.
    assert sorted(customers) == [f"customer=cust-{k}" for k in range(4)]
    for cust in customers.values():
        assert cust.attributes["role"] == "shared attribute"
        assert cust.attributes["reason"].startswith("trap:")
        assert not cust.relations  # no stitching link, so it belongs to nothing
    orders = ocel.of_type("order")
    assert len(orders) == 12 and {o.attributes["role"] for o in orders.values()} == {"identifier"}
    assert all("reason" not in o.attributes for o in orders.values())
    # A customer's events span its three orders' instances.
    for k in range(4):
        instances = {
            e.attributes["instance"] for e in ocel.events.values() if f"customer=cust-{k}" in e.relations
        }
        assert len(instances) == 3
    # The nested order.id is the same order object as the top-level orderId.
    quals = {q for e in ocel.events.values() for oid, q in e.relations.items() if oid.startswith("order=")}
    assert quals == {"payload:orderId", "payload:order.id"}


def test_numeric_ids_stay_apart_and_a_numeric_key_joins_its_order(tmp_path: Path) -> None:
    log = Log()
    log.event("orders", "OrderCreated", T0, service="o", key="42", orderId=42)
    log.event("payments", "PaymentAuthorized", T0 + 100, service="p", orderId=42, paymentId=42)
    log.event("orders", "OrderNoted", T0 + 200, service="o", key="42")  # only the record key
    log.event("orders", "OrderCreated", T0 + 300, service="o", key="43", orderId=43)
    ocel = exported(log, tmp_path)
    # Without declared workflows, a workflow is named after its first event type.
    assert ocel.type_counts() == {"order": 2, "payment": 1, "saga:OrderCreated": 2}
    assert set(ocel.of_type("order")) == {"order=42", "order=43"}
    assert set(ocel.of_type("payment")) == {"payment=42"}
    by_type = {e.type: e.relations for e in ocel.events.values() if e.attributes["instance"] == "orders:0:0"}
    assert by_type["OrderCreated"] == {"orders:0:0": "instance", "order=42": "payload:orderId"}
    assert by_type["PaymentAuthorized"] == {
        "orders:0:0": "instance",
        "order=42": "payload:orderId",
        "payment=42": "payload:paymentId",
    }
    assert by_type["OrderNoted"] == {"orders:0:0": "instance", "order=42": "key"}
    assert ocel.objects["payment=42"].relations == {"order=42": "belongs to"}


@pytest.mark.parametrize("fmt", ["json", "xml", "sqlite"])
def test_markup_and_control_characters(tmp_path: Path, fmt: str) -> None:
    odd_type, odd_service, odd_id = 'Odd<&>"Type\u0001\ttab\nline', 'svc "<x>" & co', "o<&>'\u0002\n\u20ac1"
    log = Log()
    log.event("t", odd_type, T0, service=odd_service, orderId=odd_id, headers={"correlation-id": "c\x7f1"})
    log.event("t", "Plain", T0 + 1, service="plain", orderId=odd_id)
    ocel = exported(log, tmp_path, fmt)
    if fmt == "xml":
        # XML 1.0 cannot carry U+0001 and U+0002 at all: replaced, the rest kept.
        odd_type, odd_id = odd_type.replace("\u0001", "\ufffd"), odd_id.replace("\u0002", "\ufffd")
    assert sorted(e.type for e in ocel.events.values()) == sorted([odd_type, "Plain"])
    assert set(ocel.event_types) == {odd_type, "Plain"}
    assert {e.attributes["service"] for e in ocel.events.values()} == {odd_service, "plain"}
    order = ocel.objects[f"order={odd_id}"]
    assert order.attributes["value"] == odd_id
    first = next(e for e in ocel.events.values() if e.type == odd_type)
    assert first.relations[f"order={odd_id}"] == "payload:orderId"
    assert first.relations["correlation=c\x7f1"] == "header:correlation-id"
