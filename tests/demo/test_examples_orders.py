"""The order saga as real services on the embedded cluster, collected by
choreo's collector and compared with the simulator's ground truth."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from choreo.demo.faults import FaultPlan
from choreo.demo.scenario import Scenario
from choreo.demo.sim_driver import simulate
from tests.conftest import KafkaTarget
from tests.support.examples_support import assert_stored_once, instance_ids, run_and_collect

pytestmark = pytest.mark.kafka

SCENARIO = Scenario(
    seed=3, instances=30, workflows=("order",), faults=FaultPlan(decline_rate=0.2, stockout_rate=0.2)
)


def test_order_saga_is_stored_once_and_matches_the_ground_truth(kafka: KafkaTarget, db_path: Path) -> None:
    got = run_and_collect(kafka, SCENARIO, db_path)
    truth = got.truth
    stored = assert_stored_once(truth, db_path)

    outcomes = {i["id"]: i["outcome"] for i in truth["instances"]}
    assert len(outcomes) == SCENARIO.instances
    assert {"completed", "failed", "compensated"} <= set(outcomes.values())
    assert "stuck" not in outcomes.values() and "running" not in outcomes.values()
    # The live run decides exactly as the deterministic simulation of the same seed.
    simulated = simulate(SCENARIO).truth_json()
    assert {i["id"]: i["outcome"] for i in simulated["instances"]} == outcomes
    assert {i["id"]: i["path"] for i in simulated["instances"]} == {
        i["id"]: i["path"] for i in truth["instances"]
    }

    for inst in truth["instances"]:
        expected = {
            "completed": [
                "OrderCreated",
                "PaymentCompleted",
                "InventoryReserved",
                "ShipmentScheduled",
                "ShipmentDelivered",
                "OrderCompleted",
            ],
            "failed": ["OrderCreated", "PaymentDeclined", "OrderRejected"],
            "compensated": [
                "OrderCreated",
                "PaymentCompleted",
                "InventoryUnavailable",
                "PaymentRefunded",
                "OrderCancelled",
            ],
        }[inst["outcome"]]
        assert inst["path"] == expected
        for e in inst["events"]:
            assert stored[(e["topic"], e["partition"], e["offset"])]["type"] == e["type"]


def test_order_identifiers_are_as_varied_as_real_systems(kafka: KafkaTarget, db_path: Path) -> None:
    got = run_and_collect(kafka, SCENARIO, db_path)
    stored = assert_stored_once(got.truth, db_path)
    customers: dict[str, set[str]] = {}
    for inst in got.truth["instances"]:
        order_id = inst["id"]
        rows = {e["type"]: stored[(e["topic"], e["partition"], e["offset"])] for e in inst["events"]}
        created = rows["OrderCreated"]
        assert created["ids"]["orderId"] == {order_id}
        customers.setdefault(next(iter(created["ids"]["customerId"])), set()).add(order_id)
        payment = rows.get("PaymentCompleted") or rows["PaymentDeclined"]
        # CloudEvents binary mode; the order id only nested in the payload.
        assert payment["ids"]["order.id"] == {order_id}
        assert "orderId" not in payment["ids"]
        assert payment["event_id"] is not None and payment["service"] == "payment-service"
        # W3C trace propagated from the order service to the payment service.
        assert created["trace_id"] is not None and payment["trace_id"] == created["trace_id"]
        if "InventoryReserved" in rows:
            reserved = rows["InventoryReserved"]
            assert reserved["ids"]["orderRef.orderId"] == {order_id}
            assert reserved["causation_id"] == payment["event_id"]
            assert reserved["trace_id"] is None
        if "ShipmentDelivered" in rows:
            scheduled, delivered = rows["ShipmentScheduled"], rows["ShipmentDelivered"]
            shipment_id = inst["identifiers"]["shipmentId"]
            # ShipmentScheduled carries both ids; ShipmentDelivered only the shipment id.
            assert {order_id, shipment_id} <= instance_ids(scheduled)
            assert instance_ids(delivered) == {shipment_id}
            assert scheduled["causation_id"] == rows["InventoryReserved"]["event_id"]
            body = orjson.loads(delivered["payload"])
            assert "orderId" not in body and "customerId" not in body
    # The customer-id trap: one customer id on several orders.
    assert max(len(orders) for orders in customers.values()) > 1
