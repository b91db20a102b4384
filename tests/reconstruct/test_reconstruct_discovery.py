"""Correlation discovery by value, swept over generated logs: services that
carry the order id under names that do not look like ids (text or numbers,
nested or not), a record key that is the order number on one topic, a
causation id under a name nobody declared, a reference to the customer
(never stitched through), a constant field (never found), and the field
found by value on a step that comes long after the rest (a slow step: ten
minutes after orders that all fit in four). Numbers are told from
coincidences by time alone: there every other order's payment is slow (half
the values meet across a fast step, which is evidence enough); a step that
is always slower than the gaps between instances leaves time undecided."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.engine_logs import T0, Log, Truth, derive


@dataclass(frozen=True)
class Shape:
    orders: int
    numeric: bool  # order ids are numbers (then only time can tell a match from a coincidence)
    ref_name: str  # what the payment service calls the order id
    nested: bool  # ... inside an object
    key_only_topic: bool  # a topic whose records carry the order id only as the record key
    cause_name: str | None  # a causation id under this name on the shipment events
    customer_ref: bool  # the payment events also name the customer (shared by orders)
    slow: bool  # the payment (the only event naming the order by ref_name) comes 10 minutes late


shapes = st.builds(
    Shape,
    orders=st.integers(12, 30),
    numeric=st.booleans(),
    ref_name=st.sampled_from(["orderRef", "reference", "order_no", "ctx", "purchase"]),
    nested=st.booleans(),
    key_only_topic=st.booleans(),
    cause_name=st.sampled_from([None, "causationid", "triggered_by", "parent"]),
    customer_ref=st.booleans(),
    slow=st.booleans(),
)


def _log(shape: Shape) -> tuple[Log, Truth, int]:
    log, truth = Log(), Truth()
    records: list[tuple[int, str, str, str | None, dict[str, Any]]] = []
    for i in range(shape.orders):
        oid: str | int = 70_000 + i if shape.numeric else f"ord-{i:04d}"
        t = T0 + i * 7_000  # orders overlap: each takes longer than the gap between them
        late = 600_000 if shape.slow and (not shape.numeric or i % 2) else 0
        ref: Any = {"id": oid} if shape.nested else oid
        pay: dict[str, Any] = {"paymentId": f"pay-{i}", shape.ref_name: ref, "currency": "EUR"}
        if shape.customer_ref:
            pay["customerRef"] = f"cus-{i % 3}"
        records.append((t, f"o{i}", "OrderPlaced", None, {"orderId": oid, "customerId": f"cus-{i % 3}"}))
        records.append((t + 2_000 + late, f"o{i}", "PaymentTaken", None, pay))
        records.append((t + 4_000 + late, f"o{i}", "PaymentSettled", None, {"paymentId": f"pay-{i}"}))
        ship: dict[str, Any] = {"shipmentId": f"shp-{i}", "eventId": f"ev-ship-{i}"}
        if shape.cause_name is None:
            ship["orderId"] = oid
        else:
            # Only a causation id (under a name nobody declared) ties the shipment to its order.
            ship[shape.cause_name] = f"ev-order-{i}"
        records.append((t + 6_000, f"o{i}", "ShipmentBooked", None, ship))
        records.append((t + 9_000, f"o{i}", "ShipmentLeft", None, {"shipmentId": f"shp-{i}"}))
        if shape.key_only_topic:
            records.append((t + 11_000, f"o{i}", "InvoiceSent", str(oid), {"amount": 10 + i}))
        records.append(
            (t + 12_000, f"o{i}", "OrderClosed", None, {"orderId": oid, "eventId": f"ev-close-{i}"})
        )
    for at, name, etype, key, body in sorted(records, key=lambda r: r[0]):
        topic = etype.split("Placed")[0].split("Taken")[0].lower()[:5]
        if etype == "OrderPlaced":
            body = {**body, "eventId": f"ev-order-{int(name[1:])}"}
        truth.add(name, log.add(topic, at, orjson.dumps({"type": etype, **body}), key=key))
    return log, truth, max(r[0] for r in records)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shape=shapes)
def test_fields_are_found_by_what_they_carry(shape: Shape) -> None:
    log, truth, last = _log(shape)
    d = derive(log, now_ms=last + 60_000)
    exact = d.exact(truth)
    assert all(v is not None for v in exact.values()), (shape, d.key_stats)
    assert "currency" not in d.key_stats
    # A reference to the customer links nothing: not found (its values' events are spread over
    # the whole log), or found and ruled a trap.
    assert not d.key_stats.get("customerRef", (False, ""))[0], d.key_stats.get("customerRef")
