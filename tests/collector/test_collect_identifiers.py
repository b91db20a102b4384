"""Every record produced across topics and partitions is stored once, with
the identifiers each convention carries."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from choreo.collector.extract import Extractor
from choreo.core.config import ExtractConfig
from tests.conftest import KafkaTarget
from tests.support.collect_helpers import Record, collect_until_idle, produce, query, settings, stored_keys

pytestmark = pytest.mark.kafka

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def _records(orders: str, payments: str, shipping: str, n: int) -> list[Record]:
    out: list[Record] = []
    for i in range(n):
        oid = f"o-{i}"
        # headers: correlation id; key: order id; payload: type + nested order.id
        out.append(
            (
                orders,
                oid.encode(),
                json.dumps({"type": "OrderPlaced", "order": {"id": oid, "total": i}}).encode(),
                [("correlation-id", f"corr-{i}".encode())],
            )
        )
        # W3C traceparent + payload correlationId
        out.append(
            (
                payments,
                None,
                json.dumps({"eventType": "PaymentCaptured", "correlationId": f"corr-{i}"}).encode(),
                [("traceparent", f"00-{TRACE}-00f067aa0ba902b7-01".encode())],
            )
        )
        # CloudEvents binary mode
        out.append(
            (
                shipping,
                None,
                json.dumps({"shipmentId": f"s-{i}", "orderId": oid}).encode(),
                [
                    ("ce_id", f"evt-{i}".encode()),
                    ("ce_type", b"ShipmentScheduled"),
                    ("ce_source", b"shipping-svc"),
                    ("ce_specversion", b"1.0"),
                    ("ce_time", b"2024-05-01T10:00:00Z"),
                ],
            )
        )
        # CloudEvents structured mode
        out.append(
            (
                shipping,
                None,
                json.dumps(
                    {
                        "specversion": "1.0",
                        "id": f"evt-d-{i}",
                        "type": "ShipmentDelivered",
                        "source": "courier",
                        "data": {"shipmentId": f"s-{i}"},
                    }
                ).encode(),
                None,
            )
        )
    return out


def test_every_record_once_with_identifiers(kafka: KafkaTarget, db_path: Path) -> None:
    orders = kafka.create_topic("orders", 3)
    payments = kafka.create_topic("payments", 2)
    shipping = kafka.create_topic("shipping", 4)
    n = 60
    produced = produce(kafka.bootstrap, _records(orders, payments, shipping, n))
    extractor = Extractor(ExtractConfig(identifier_paths=["order.id"]))
    stats = collect_until_idle(
        settings(kafka.bootstrap, f"{kafka.prefix}(orders|payments|shipping)", "c1", until_idle=1.0),
        db_path,
        extractor,
    )
    assert stats.consumed == produced == 4 * n
    keys = stored_keys(db_path)
    assert len(keys) == len(set(keys)) == produced
    parts = {(t, p) for t, p, _ in keys}
    assert len(parts) > 3  # spread over several partitions of several topics

    def ids_of(where: str) -> set[tuple[str, str]]:
        rows = query(
            db_path,
            'SELECT i.name, i.value FROM identifiers i JOIN events e USING (topic, partition, "offset") '
            f"WHERE {where}",
        )
        return {(str(a), str(b)) for a, b in rows}

    placed = ids_of(f"e.topic = '{orders}' AND e.key = 'o-7'::BLOB")
    assert {("correlation-id", "corr-7"), ("key", "o-7"), ("order.id", "o-7")} <= placed
    paid = ids_of(
        f"e.topic = '{payments}' AND EXISTS (SELECT 1 FROM identifiers j WHERE j.topic = e.topic "
        "AND j.partition = e.partition AND j.offset = e.offset AND j.value = 'corr-7')"
    )
    assert {("correlationId", "corr-7"), ("trace_id", TRACE)} <= paid
    scheduled = ids_of("e.event_id = 'evt-7'")
    assert {("shipmentId", "s-7"), ("orderId", "o-7")} <= scheduled
    delivered = ids_of("e.event_id = 'evt-d-7'")
    assert ("data.shipmentId", "s-7") in delivered

    rows = query(
        db_path,
        "SELECT event_type, service, count(*) FROM events GROUP BY 1, 2 ORDER BY 1",
    )
    assert [(str(a), str(b), int(c)) for a, b, c in rows] == [
        ("OrderPlaced", orders, n),
        ("PaymentCaptured", payments, n),
        ("ShipmentDelivered", "courier", n),
        ("ShipmentScheduled", "shipping-svc", n),
    ]
    trace = query(db_path, f"SELECT DISTINCT trace_id FROM events WHERE topic = '{payments}'")
    assert trace == [(TRACE,)]
    times = query(db_path, "SELECT DISTINCT event_time_ms FROM events WHERE event_type = 'ShipmentScheduled'")
    assert times == [(1714557600000,)]
    source = query(db_path, "SELECT DISTINCT source FROM events")
    assert source == [("collect:c1",)]
