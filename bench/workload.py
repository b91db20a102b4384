"""The event stream the ingest and import benchmarks share: realistic order
events (JSON payloads of about 300 bytes, 3 headers) on 4 topics x 3 partitions."""

from __future__ import annotations

from dataclasses import dataclass

TOPICS = ("bench-orders", "bench-payments", "bench-inventory", "bench-shipping")
PARTITIONS = 3
TYPES = {
    "bench-orders": ("OrderPlaced", "order-service"),
    "bench-payments": ("PaymentCaptured", "payment-service"),
    "bench-inventory": ("StockReserved", "inventory-service"),
    "bench-shipping": ("ShipmentScheduled", "shipping-service"),
}
_PAYLOAD = (
    '{"type":"%s","orderId":"o-%08d","customerId":"c-%05d","occurredAt":"2024-05-01T10:%02d:%02d.%03dZ",'
    '"order":{"id":"o-%08d","items":[{"sku":"SKU-%04d","qty":%d,"price":%d.99}],'
    '"total":%d.97,"currency":"EUR"},"metadata":{"eventId":"e-%012d","source":"%s","version":3}}'
)


@dataclass(frozen=True)
class Event:
    topic: str
    order: int  # the saga it belongs to
    event_type: str
    key: str
    payload: str
    headers: tuple[tuple[str, str], ...]  # correlation id, traceparent, event type


def event(i: int) -> Event:
    """The i-th event of the stream."""
    topic = TOPICS[i % 4]
    etype, service = TYPES[topic]
    order = i // 4
    payload = _PAYLOAD % (
        etype, order, order % 50_000, i % 60, i % 60, i % 1000, order,
        i % 9999, 1 + i % 5, 10 + i % 90, 30 + i % 300, i, service,
    )  # fmt: skip
    headers = (
        ("correlation-id", f"corr-{order:08d}"),
        ("traceparent", f"00-{order + 1:032x}-{i + 1:016x}-01"),
        ("event-type", etype),
    )
    return Event(topic, order, etype, f"o-{order:08d}", payload, headers)
