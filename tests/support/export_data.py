"""A small, hand-written order choreography for the export tests.

Real events go through the real extractor into a real store, then the real
reconstruction fills the derived tables. The data is fixed (no randomness)
so the diagrams built from it are stable enough for golden files.

Order saga: OrderPlaced (order-service) -> PaymentAuthorized (payment-service)
-> InventoryReserved (inventory-service) -> ShipmentScheduled (shipping-service)
-> ShipmentDelivered (shipping-service, carries only the shipment id).
Failure path: PaymentFailed -> OrderCancelled (compensation).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import pytest

from choreo.collector.batch import EventBatch
from choreo.collector.extract import Extractor
from choreo.core.config import ChoreoConfig
from choreo.core.store import Store

BASE_MS = 1_700_000_000_000
TOPICS = {
    "OrderPlaced": "orders",
    "OrderCancelled": "orders",
    "PaymentAuthorized": "payments",
    "PaymentFailed": "payments",
    "InventoryReserved": "inventory",
    "ShipmentScheduled": "shipments",
    "ShipmentDelivered": "shipments",
}
SERVICES = {
    "OrderPlaced": "order-service",
    "OrderCancelled": "order-service",
    "PaymentAuthorized": "payment-service",
    "PaymentFailed": "payment-service",
    "InventoryReserved": "inventory-service",
    "ShipmentScheduled": "shipping-service",
    "ShipmentDelivered": "shipping-service",
}
HAPPY = ["OrderPlaced", "PaymentAuthorized", "InventoryReserved", "ShipmentScheduled", "ShipmentDelivered"]
FAILED = ["OrderPlaced", "PaymentFailed", "OrderCancelled"]
STUCK = ["OrderPlaced", "PaymentAuthorized"]
# What an operator would declare in choreo.toml about this saga.
CONFIG_TOML = """
[workflows.order]
start = ["OrderPlaced"]
terminal = ["ShipmentDelivered", "OrderCancelled"]
failure = ["PaymentFailed"]
compensation = ["OrderCancelled"]
"""
CONFIG = ChoreoConfig.model_validate(tomllib.loads(CONFIG_TOML))
# The trace id carried (as W3C traceparent) by every event of order o-3.
TRACED_ORDER = "o-3"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


@dataclass
class Recorded:
    """What was produced, for checking exports against it."""

    db: Path
    orders: dict[str, list[str]] = field(default_factory=dict)  # order id -> event types in order
    records: int = 0
    duplicates: int = 0
    now_ms: int = 0

    @property
    def args(self) -> list[str]:
        """CLI options that read this store as it was reconstructed (same config, same "now")."""
        config = self.db.with_name("choreo.toml")
        return ["--db", str(self.db), "--config", str(config), "--now", str(self.now_ms)]


def _payload(etype: str, order: str, n: int, cause: str | None) -> bytes:
    doc: dict[str, object] = {"type": etype, "service": SERVICES[etype], "eventId": f"{order}-{n}"}
    if cause is not None:
        doc["causationId"] = cause
    if etype == "ShipmentDelivered":
        doc["shipmentId"] = f"s-{order}"  # joins the order only through ShipmentScheduled
    else:
        doc["orderId"] = order
        if etype == "ShipmentScheduled":
            doc["shipmentId"] = f"s-{order}"
    return orjson.dumps(doc)


def build_store(path: Path, *, happy: int = 8, reconstruct: bool = True) -> Recorded:
    """Fill a store at ``path`` with the order saga and reconstruct it; the
    config goes to choreo.toml next to it."""
    from choreo.reconstruct.engine.pipeline import rebuild

    path.with_name("choreo.toml").write_text(CONFIG_TOML, encoding="utf-8")
    rec = Recorded(path)
    offsets: dict[tuple[str, int], int] = {}
    batch = EventBatch(Extractor(), "test")

    def add(
        topic: str, partition: int, ts: int, key: str, payload: bytes, headers: list[tuple[str, bytes | None]]
    ) -> None:
        off = offsets.get((topic, partition), 0)
        offsets[(topic, partition)] = off + 1
        batch.add(topic, partition, off, ts, 1, key.encode(), headers, payload)
        rec.records += 1

    plans: list[tuple[str, list[str]]] = [(f"o-{i}", HAPPY) for i in range(1, happy + 1)]
    plans += [(f"o-{happy + 1}", FAILED), (f"o-{happy + 2}", STUCK)]
    for i, (order, types) in enumerate(plans):
        start = BASE_MS + i * 10_000
        ts = start
        cause: str | None = None
        rec.orders[order] = list(types)
        for n, etype in enumerate(types):
            # Step latencies vary per order so percentiles are not all equal.
            ts += 200 + 50 * n + 37 * (i % 4)
            stamped = ts
            if order == "o-2" and etype == "InventoryReserved":
                stamped = ts - 900  # inventory-service's clock runs behind: skew
            headers: list[tuple[str, bytes | None]] = []
            if order == TRACED_ORDER:
                headers.append(("traceparent", f"00-{TRACE_ID}-{n + 1:016x}-01".encode()))
            payload = _payload(etype, order, n, cause)
            partition = i % 2
            add(TOPICS[etype], partition, stamped, order, payload, headers)
            if order == "o-1" and etype == "PaymentAuthorized":
                add(TOPICS[etype], partition, stamped + 5, order, payload, headers)  # redelivered
                rec.duplicates += 1
            cause = f"{order}-{n}"
    # "now" is far past the stuck order's last event.
    rec.now_ms = BASE_MS + len(plans) * 10_000 + 3_600_000
    with Store.open(path) as store:
        store.append(*batch.tables())
        if reconstruct:
            rebuild(store, CONFIG, now_ms=rec.now_ms)
    return rec


def run_choreo(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run the real CLI in-process: (exit code, stdout, stderr)."""
    from choreo.cli.main import main

    with pytest.raises(SystemExit) as exc:
        main(argv)
    out, err = capsys.readouterr()
    code = exc.value.code
    return (code if isinstance(code, int) else 1), out, err
