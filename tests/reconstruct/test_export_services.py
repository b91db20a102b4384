"""The service map: consumers known from the cluster/config vs inferred ones,
and the consumer group on the OTel spans."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from choreo.collector.group_offsets import write_topic_consumers
from choreo.core.config import ChoreoConfig, ServiceConfig
from choreo.core.store import Store
from choreo.reconstruct.export.dot_services import flows, services_dot
from choreo.reconstruct.export.otel import TraceBuilder
from choreo.reconstruct.export.selection import InstanceFilter
from tests.support.export_data import Recorded, build_store

# (group, service, topic, source), as the collector records them.
CONSUMERS = [
    ("payments-g", "payment-service", "orders", "cluster"),
    ("inventory-g", "inventory-service", "payments", "cluster"),
    ("orders-g", "order-service", "payments", "cluster"),
    ("shipping-g", "shipping-service", "inventory", "cluster"),
]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    path = tmp_path_factory.mktemp("services") / "store.duckdb"
    return build_store(path)


def _edges(dot: str) -> dict[tuple[str, str], str]:
    names = dict(re.findall(r'^\t(s\d+) \[label="?([^"\]]+)"?\]', dot, re.M))
    return {
        (names[a], names[b]): rest for a, b, rest in re.findall(r"^\t(s\d+) -> (s\d+) \[(.*)\]$", dot, re.M)
    }


def test_inferred_map(built: Recorded) -> None:
    with Store.open(built.db, read_only=True) as store:
        edges = _edges(services_dot(store))
    assert ("order-service", "payment-service") in edges
    assert "OrderPlaced (10)" in edges[("order-service", "payment-service")]
    assert all("dashed" in attrs for attrs in edges.values())  # all inferred
    assert ("payment-service", "order-service") in edges  # PaymentFailed -> OrderCancelled


def test_known_consumers_from_the_store(built: Recorded, tmp_path: Path) -> None:
    db = tmp_path / "copy.duckdb"
    db.write_bytes(built.db.read_bytes())
    with Store.open(db) as store:
        write_topic_consumers(store, CONSUMERS)
        dot = services_dot(store)
        fl = flows(store)
        spans = [s for page in TraceBuilder(store).pages(InstanceFilter()) for s in page]
    edges = _edges(dot)
    # Every topic that has consumers recorded is drawn from them: solid edges.
    for a, b in [
        ("order-service", "payment-service"),
        ("payment-service", "inventory-service"),
        ("payment-service", "order-service"),
        ("inventory-service", "shipping-service"),
    ]:
        assert "dashed" not in edges[(a, b)], (a, b)
    # payments carries PaymentAuthorized and PaymentFailed to both consumers, but each
    # edge names only what its consumer was seen reacting to.
    assert "PaymentAuthorized (8)" in edges[("payment-service", "inventory-service")]  # one never got a reply
    assert "PaymentFailed (1)" in edges[("payment-service", "order-service")]
    assert "PaymentFailed" not in edges[("payment-service", "inventory-service")]
    assert "PaymentAuthorized" not in edges[("payment-service", "order-service")]
    assert not any(f.inferred and f.emitter == "order-service" for f in fl)
    groups = {
        (s.name, (s.attributes or {}).get("messaging.consumer.group.name"))
        for s in spans
        if s.parent is not None
    }
    assert ("OrderPlaced", "payments-g") in groups
    # PaymentAuthorized is read by two groups: the one whose service reacted.
    assert ("PaymentAuthorized", "inventory-g") in groups
    assert ("PaymentFailed", "orders-g") in groups


def test_known_consumers_from_config(built: Recorded) -> None:
    config = ChoreoConfig(
        services={"shipping-service": ServiceConfig(group="ship-g", consumes=["inventory", "shipments"])}
    )
    with Store.open(built.db, read_only=True) as store:
        edges = _edges(services_dot(store, config))
    assert "dashed" not in edges[("inventory-service", "shipping-service")]
    assert "InventoryReserved (8)" in edges[("inventory-service", "shipping-service")]
    # shipping-service consumes its own topic too: no loop (no dependency between services).
    assert not any(a == b for a, b in edges)


def test_no_reaction_drawn_to_a_topic_a_known_consumer_does_not_read(built: Recorded) -> None:
    # shipping-service's topics are known and "inventory" is not one of them: its
    # ShipmentScheduled only came after InventoryReserved, nothing read it there.
    config = ChoreoConfig(
        services={"shipping-service": ServiceConfig(group="ship-g", consumes=["shipments"])}
    )
    with Store.open(built.db, read_only=True) as store:
        edges = _edges(services_dot(store, config))
        unknown = _edges(services_dot(store))
    assert "dashed" in unknown[("inventory-service", "shipping-service")]  # nothing known: inferred
    assert ("inventory-service", "shipping-service") not in edges
    assert "dashed" in edges[("order-service", "payment-service")]  # payment-service's topics: unknown
