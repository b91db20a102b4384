"""Hand-made event logs for reconstruction tests, stored through the real
EventBatch + Store.append path."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from choreo.collector.batch import EventBatch
from choreo.collector.extract import Extractor
from choreo.core.store import Store


@dataclass
class Log:
    """Builds records; offsets are assigned per (topic, partition)."""

    source: str = "import:test.json"
    records: list[tuple[str, int, int, int, bytes | None, list[tuple[str, bytes | None]], bytes | None]] = (
        field(default_factory=list)
    )
    _next: dict[tuple[str, int], int] = field(default_factory=dict)

    def add(
        self,
        topic: str,
        ts: int,
        payload: dict[str, Any] | bytes | None,
        *,
        key: str | None = None,
        headers: dict[str, str] | None = None,
        partition: int = 0,
        offset: int | None = None,
    ) -> tuple[str, int, int]:
        if offset is None:
            offset = self._next.get((topic, partition), 0)
        self._next[(topic, partition)] = max(self._next.get((topic, partition), 0), offset + 1)
        body = orjson.dumps(payload) if isinstance(payload, dict) else payload
        hdrs: list[tuple[str, bytes | None]] = [(k, v.encode()) for k, v in (headers or {}).items()]
        self.records.append((topic, partition, offset, ts, key.encode() if key else None, hdrs, body))
        return topic, partition, offset

    def event(
        self,
        topic: str,
        etype: str,
        ts: int,
        *,
        service: str | None = None,
        eid: str | None = None,
        cause: str | None = None,
        key: str | None = None,
        partition: int = 0,
        headers: dict[str, str] | None = None,
        **ids: Any,
    ) -> tuple[str, int, int]:
        payload: dict[str, Any] = {"type": etype, **ids}
        if service:
            payload["source"] = service
        if eid:
            payload["eventId"] = eid
        if cause:
            payload["causationId"] = cause
        return self.add(topic, ts, payload, key=key, partition=partition, headers=headers)

    def store(self, path: Path, extractor: Extractor | None = None) -> Path:
        batch = EventBatch(extractor or Extractor(), self.source)
        for topic, partition, offset, ts, key, headers, payload in self.records:
            batch.add(topic, partition, offset, ts, 1, key, headers, payload)
        with Store.open(path) as s:
            s.append(*batch.tables())
        return path


T0 = 1_700_000_000_000
SVC = {
    "OrderCreated": "order-service",
    "OrderCompleted": "order-service",
    "OrderRejected": "order-service",
    "OrderCancelled": "order-service",
    "PaymentCompleted": "payment-service",
    "PaymentDeclined": "payment-service",
    "PaymentRefunded": "payment-service",
    "InventoryReserved": "inventory-service",
    "InventoryUnavailable": "inventory-service",
    "ShipmentScheduled": "shipping-service",
    "ShipmentDelivered": "shipping-service",
}
TOPIC = {
    "order-service": "orders",
    "payment-service": "payments",
    "inventory-service": "inventory",
    "shipping-service": "shipping",
}
PATHS = {
    "ok": [
        "OrderCreated",
        "PaymentCompleted",
        "InventoryReserved",
        "ShipmentScheduled",
        "ShipmentDelivered",
        "OrderCompleted",
    ],
    "declined": ["OrderCreated", "PaymentDeclined", "OrderRejected"],
    "stockout": [
        "OrderCreated",
        "PaymentCompleted",
        "InventoryUnavailable",
        "PaymentRefunded",
        "OrderCancelled",
    ],
}


def order_saga(
    log: Log, i: int, t: int, outcome: str, *, stop_after: int | None = None, step_ms: int = 100
) -> str:
    """One order saga; ``stop_after`` cuts it after that many events (a stuck saga).

    Identifiers vary like real services: the order id at top level, nested
    (order.id) or absent (ShipmentDelivered carries only the shipment id);
    every order event carries the customer id shared by many orders.
    """
    order, customer, shipment = f"ord-{i}", f"cust-{i % 4}", f"shp-{i}"
    path = PATHS[outcome][:stop_after]
    for n, etype in enumerate(path):
        svc = SVC[etype]
        ids: dict[str, Any]
        if etype == "ShipmentDelivered":
            ids = {"shipmentId": shipment}
        elif etype == "ShipmentScheduled":
            ids = {"orderId": order, "shipmentId": shipment}
        elif etype.startswith("Inventory"):
            ids = {"order": {"id": order}, "customerId": customer}
        else:
            ids = {"orderId": order, "customerId": customer}
        log.event(TOPIC[svc], etype, t + n * step_ms, service=svc, partition=i % 2, **ids)
    return order


def fan_out(log: Log, i: int, t: int, *, branches: tuple[str, ...] | None = None) -> str:
    """UserSignedUp consumed by three services, each answering in its own time."""
    user = f"user-{i}"
    log.event("users", "UserSignedUp", t, service="user-service", userId=user)
    all_branches = (
        ("WelcomeEmailSent", "notification-service", 50 + 37 * (i % 3)),
        ("AnalyticsRecorded", "analytics-service", 60 + 23 * (i % 4)),
        ("RecommendationsSeeded", "recommendation-service", 70 + 19 * (i % 5)),
    )
    for etype, svc, delay in all_branches:
        if branches is None or etype in branches:
            log.event(svc.split("-")[0], etype, t + delay, service=svc, userId=user)
    return user
