"""Live: collect from the embedded cluster while a service is stopped; the
instances waiting on it turn stuck once overdue, and the explanation names
the service and its consumer group's lag."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
import pytest
from confluent_kafka import Consumer, Producer

from choreo.collector.settings import ServiceGroup
from choreo.core.config import ChoreoConfig
from choreo.core.store import Store
from choreo.reconstruct.engine.pipeline import IncrementalReconstructor
from choreo.reconstruct.query.read import stuck_list
from tests.conftest import KafkaTarget
from tests.support.collect_helpers import FAST_GROUP, settings, start_collector
from tests.support.waiting import wait_for

pytestmark = pytest.mark.kafka


@contextmanager
def reactor(bootstrap: str, group: str, source: str, sink: str, reply: str, service: str) -> Iterator[None]:
    """A real service: consumes ``source`` in its own group, emits ``reply`` to ``sink``."""
    stop = threading.Event()
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            **FAST_GROUP,
        }
    )
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    consumer.subscribe([source])

    def run() -> None:
        while not stop.is_set():
            msg = consumer.poll(0.1)
            if msg is None or msg.error():
                continue
            value = msg.value()
            if value is None:
                continue
            body = orjson.loads(value)
            out = {"type": reply, "orderId": body["orderId"], "service": service}
            producer.produce(sink, key=msg.key(), value=orjson.dumps(out))
            producer.flush(10)
            consumer.commit(message=msg, asynchronous=False)
        consumer.close()

    thread = threading.Thread(target=run, name=f"svc-{service}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(15)


def _count(s: Store, etype: str) -> int:
    cur = s.con.cursor()
    try:
        row = cur.execute("SELECT count(*) FROM events WHERE event_type = ?", [etype]).fetchone()
        return int(row[0]) if row else 0
    finally:
        cur.close()


def test_stopped_service_turns_waiting_instances_stuck(kafka: KafkaTarget, tmp_path: Path) -> None:
    orders, payments, shipping = (kafka.create_topic(t, 2) for t in ("orders", "payments", "shipping"))
    ship_group = kafka.prefix + "shipping-service"
    producer = Producer({"bootstrap.servers": kafka.bootstrap, "linger.ms": 5})

    def place(n: int, start: int) -> None:
        for i in range(start, start + n):
            body = {"type": "OrderCreated", "orderId": f"ord-{i}", "service": "order-service"}
            producer.produce(orders, key=f"ord-{i}".encode(), value=orjson.dumps(body))
        producer.flush(10)

    collect = settings(
        kafka.bootstrap,
        f"^{kafka.prefix}.*",
        kafka.prefix + "choreo",
        services=(ServiceGroup("shipping-service", ship_group, (payments,)),),
        group_sample_interval=0.2,
    )
    running = start_collector(collect, tmp_path / "live.duckdb")
    store = Store(running.store.con.cursor(), running.store.path, read_only=False)
    cfg = ChoreoConfig.model_validate(
        {
            "reconstruct": {"min_overdue": 0.5},
            "services": {"shipping-service": {"group": ship_group, "consumes": [payments]}},
        }
    )
    try:
        with reactor(
            kafka.bootstrap,
            kafka.prefix + "payment-service",
            orders,
            payments,
            "PaymentCompleted",
            "payment-service",
        ):
            with reactor(
                kafka.bootstrap, ship_group, payments, shipping, "ShipmentScheduled", "shipping-service"
            ):
                place(12, 0)
                wait_for(lambda: _count(store, "ShipmentScheduled") == 12, 60, what="12 shipments collected")
            # The shipping service is down now; three more orders get paid and wait for it.
            place(3, 12)
            wait_for(lambda: _count(store, "PaymentCompleted") == 15, 60, what="15 payments collected")
        live = IncrementalReconstructor(store, cfg)
        wait_for(lambda: live.tick().stuck == 3, 60, interval=0.2, what="three overdue instances")
        stuck = stuck_list(store)
    finally:
        store.con.close()
        running.stop()
    assert sorted(x.label for x in stuck) == [f"orderId=ord-{i}" for i in (12, 13, 14)]
    for x in stuck:
        assert x.expected_types == ["ShipmentScheduled"] and x.responsible_service == "shipping-service"
        assert x.consumer_group == ship_group and x.consumer_state == "lagging"
        assert x.group_lag is not None and x.group_lag >= 1
        assert "shipping-service" in x.explanation and "has not consumed" in x.explanation
        assert f"group lag {x.group_lag}" in x.explanation
