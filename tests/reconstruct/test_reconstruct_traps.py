"""The trap rule looks at how many instances a value would merge: swept over
generated logs whose case ids repeat per type (loops with and without
per-attempt ids, lifecycle start/complete events) beside attributes shared
by many instances (customers, tenants, employees crossing the cases, a
record key that is the customer on one topic, and on a topic whose other
service keys by the order: there the key is left out only on the type keyed
by the customer, and an event carrying the order id only as its key still
stitches)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.engine_logs import T0, Log, Truth, derive


@dataclass(frozen=True)
class Shape:
    orders: int
    numeric: bool  # order ids are numbers
    retries: int  # payment attempts per order (each with its own payment id when attempt_ids)
    attempt_ids: bool
    lifecycle: bool  # packing logged as start and complete, one event type
    customers: int  # pool size; == orders: every customer orders once
    tenants: int  # 0: no tenant id
    employees: int  # 0: none; else each handling step names one of them
    key_by_customer: bool  # the payment topic keys its records by customer
    shared_topic: bool  # a loyalty service writes to the orders topic, keyed by customer


shapes = st.builds(
    Shape,
    orders=st.integers(8, 30),
    numeric=st.booleans(),
    retries=st.integers(1, 3),
    attempt_ids=st.booleans(),
    lifecycle=st.booleans(),
    customers=st.sampled_from([0, 3, 5]),  # 0: as many as orders
    tenants=st.sampled_from([0, 2, 4]),
    employees=st.sampled_from([0, 3, 5]),
    key_by_customer=st.booleans(),
    shared_topic=st.booleans(),
)


def _log(shape: Shape) -> tuple[Log, Truth, int]:
    """Orders that overlap in time, each as ``shape`` says."""
    log, truth = Log(), Truth()
    customers = shape.customers or shape.orders
    events: list[tuple[int, str, str, str, str | None, dict[str, Any]]] = []
    for i in range(shape.orders):
        oid: str | int = 40_000 + i if shape.numeric else f"ord-{i:04d}"
        cust = f"cus-{i % customers}"
        common: dict[str, Any] = {"tenantId": f"ten-{i % shape.tenants}"} if shape.tenants else {}
        t = T0 + i * 2_500  # a new order every 2.5 s; each lasts longer
        steps: list[tuple[str, str, str | None, dict[str, Any]]] = [
            ("orders", "OrderPlaced", str(oid), {"orderId": oid, "customerId": cust})
        ]
        for a in range(shape.retries):
            pay = f"pay-{i}-{a}" if shape.attempt_ids else f"pay-{i}"
            pay_key = cust if shape.key_by_customer else str(oid)
            steps.append(("payments", "PaymentAttempted", pay_key, {"orderId": oid, "paymentId": pay}))
        for p in ("start", "complete") if shape.lifecycle else ("complete",):
            who = {"employeeId": f"emp-{(i + len(p)) % shape.employees}"} if shape.employees else {}
            steps.append(("packing", "PackingLogged", None, {"orderId": oid, "phase": p, **who}))
        if shape.shared_topic:
            # Known by its record key alone (the orders topic is keyed by the order id) ...
            steps.append(("orders", "OrderConfirmed", str(oid), {}))
            # ... while another service keys its records on that topic by the customer.
            steps.append(("orders", "LoyaltyCredited", cust, {"orderId": oid, "points": 10}))
        steps.append(("orders", "OrderClosed", str(oid), {"orderId": oid, "customerId": cust}))
        for n, (topic, etype, record_key, ids) in enumerate(steps):
            events.append((t + n * 1_000, f"o{i}", topic, etype, record_key, {**common, **ids}))
    for at, name, topic, etype, record_key, ids in sorted(events, key=lambda e: e[0]):
        truth.add(name, log.event(topic, etype, at, key=record_key, **ids))
    return log, truth, max(e[0] for e in events)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shape=shapes)
def test_case_ids_stitch_and_shared_attributes_do_not(shape: Shape) -> None:
    log, truth, last = _log(shape)
    d = derive(log, now_ms=last + 60_000)
    exact = d.exact(truth)
    assert all(v is not None for v in exact.values()), (shape, d.key_stats)
    assert d.key_stats["orderId"][0], d.key_stats["orderId"]
    # Repeated events of one type per value never made the order id a trap.
    if shape.customers:
        assert not d.key_stats["customerId"][0]
    if shape.tenants:
        assert not d.key_stats["tenantId"][0]
