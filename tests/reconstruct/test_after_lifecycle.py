"""A step after a lifecycle activity follows its complete, not its start
(``precedence.learned_parents``, ``model_precedence.block``): a learned
order was applied to single events only, and a step 20 ms after an
activity's complete, stamped by a clock 60 ms behind, was put before it
(trafficgen seed 121, a 4-hour window: 96.5 % of instances in order)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from choreo.core.config import ChoreoConfig
from choreo.core.store import Store
from choreo.reconstruct.engine.pipeline import rebuild
from tests.support.saga_builder import T0, Log

MINUTE = 60_000
BEHIND = 60  # the packing service's clock, ms


def test_a_step_after_a_lifecycle_follows_its_complete(db_path: Path) -> None:
    rng = np.random.default_rng(21)

    def lat(median: float) -> int:
        return int(median * np.exp(rng.normal(0.0, 0.5)))

    log = Log()
    complete_and_next: list[tuple[tuple[str, int, int], tuple[str, int, int]]] = []
    for i in range(300):
        t, order, p = T0 + i * MINUTE, f"ord-{i}", i % 2
        log.event("orders", "OrderPlaced", t, service="order-service", orderId=order, partition=p)
        t += lat(300)
        log.event("checks", "Checking", t, service="check-service", orderId=order, partition=p)
        t += lat(400)
        done = log.event("checks", "Checking", t, service="check-service", orderId=order, partition=p)
        t += lat(20)
        began = log.event("packs", "Packing", t - BEHIND, service="pack-service", orderId=order, partition=p)
        t += lat(300)
        log.event("packs", "Packing", t - BEHIND, service="pack-service", orderId=order, partition=p)
        t += lat(100)
        log.event("orders", "OrderShipped", t, service="order-service", orderId=order, partition=p)
        complete_and_next.append((done, began))
    log.store(db_path)
    with Store.open(db_path) as s:
        rebuild(s, ChoreoConfig(), now_ms=T0 + 310 * MINUTE)
        seq = {
            (str(t), int(p), int(o)): int(q)
            for t, p, o, q in s.query('SELECT topic, partition, "offset", seq FROM instance_events')
        }
        block = s.query(
            "SELECT block FROM model_precedence WHERE parent_type = 'Checking' AND child_type = 'Packing'"
        )
    assert block == [(True,)]
    wrong = [began for done, began in complete_and_next if seq[began] < seq[done]]
    assert wrong == []
