"""Event ids found by value (``discover._event_id_fields``): the order
service writes its event id as a payload ``id`` (no name choreo reads as an
event id), the shipping service states ``causationId`` with that value and
carries no order id. The shipment joins its order only once the ``id`` is
known to be the order event's own id; ``choreo keys`` says how it was found."""

from __future__ import annotations

from pathlib import Path

import orjson

from choreo.core.config import ChoreoConfig
from tests.support.engine_logs import T0, Log, Truth, derive
from tests.support.live_batch import feed_in_batches


def _log(orders: int, id_name: str) -> tuple[Log, Truth, int]:
    log, truth = Log(), Truth()
    t = T0
    for i in range(orders):
        t = T0 + i * 5_000  # orders overlap: each takes longer than the gap between them
        case = f"o{i}"
        placed = {
            "type": "OrderPlaced",
            id_name: f"3f2a-{i:04d}-9c1e",
            "orderId": f"ord-{i}",
            "total": 20 + i,
        }
        booked = {"type": "ShipmentBooked", "shipmentId": f"shp-{i}", "causationId": f"3f2a-{i:04d}-9c1e"}
        for at, topic, body in (
            (t, "orders", placed),
            (t + 1_500, "payments", {"type": "PaymentTaken", "orderId": f"ord-{i}"}),
            (t + 9_000, "shipping", booked),
            (t + 12_000, "shipping", {"type": "ShipmentLeft", "shipmentId": f"shp-{i}"}),
        ):
            truth.add(case, log.add(topic, at, orjson.dumps(body)))
    return log, truth, t + 12_000


def test_a_payload_id_other_events_name_as_their_cause_is_the_events_own_id() -> None:
    log, truth, last = _log(24, "id")
    d = derive(log, now_ms=last + 60_000)
    exact = d.exact(truth)
    assert all(v is not None for v in exact.values()), exact
    _used, reason = d.key_stats["id"]
    assert reason.startswith("event id:"), reason


def test_a_stated_event_id_needs_no_finding() -> None:
    """Control: under ``eventId`` the same log stitches by name alone."""
    log, truth, last = _log(24, "eventId")
    d = derive(log, now_ms=last + 60_000)
    assert all(v is not None for v in d.exact(truth).values())
    assert "id" not in d.key_stats


def test_live_batches_find_the_same_causes(tmp_path: Path) -> None:
    """Live equals batch: the event ids found at the last rebuild are read
    from the new events of each batch too."""
    log, _truth, last = _log(30, "id")
    source = log.store(tmp_path / "source.duckdb")
    cfg = ChoreoConfig.model_validate({"reconstruct": {"min_overdue": 1}})
    run = feed_in_batches(
        source, tmp_path / "work", batches=5, config=cfg, now_ms=last + 60_000, first_share=0.5
    )
    assert run.mismatches == []
