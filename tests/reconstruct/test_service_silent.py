"""Waiting on a service that went silent (``status._waiting_on_silent``).

Independent generator seeds 1, 11 and 12: the carrier gateway goes down 50
minutes before the dump is taken and never comes back; 53 shipments waiting
for their label are flagged stuck, but the one packed 14 s before the dump
stayed "running" (its own deadline, 30 s, had not passed) although nothing
had come from the gateway for 50 minutes while the others piled up.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from choreo.core.config import ChoreoConfig
from choreo.core.store import Store
from choreo.reconstruct.engine.pipeline import rebuild
from tests.support.saga_builder import T0, Log

MINUTE = 60_000


def _orders(log: Log, minutes: list[float], *, pay_until: float, pay_ms: float = 1_000.0) -> None:
    """OrderCreated -> PaymentCompleted (``pay_ms`` or so) -> OrderCompleted
    for an order at each of ``minutes``; the payment service answers only
    orders created before ``pay_until``."""
    rng = np.random.default_rng(4)
    for i, minute in enumerate(minutes):
        t = T0 + int(minute * MINUTE)
        order = f"ord-{i}"
        log.event("orders", "OrderCreated", t, service="order-service", orderId=order, partition=i % 2)
        if minute >= pay_until:
            continue
        paid = t + int(pay_ms * np.exp(rng.normal(0.0, 0.5)))
        log.event("payments", "PaymentCompleted", paid, service="payment-service", orderId=order)
        done = paid + int(300 * np.exp(rng.normal(0.0, 0.5)))
        log.event("orders", "OrderCompleted", done, service="order-service", orderId=order, partition=i % 2)


def _stuck(db_path: Path, now_ms: int) -> dict[str, tuple[str, str]]:
    with Store.open(db_path) as s:
        rebuild(s, ChoreoConfig(), now_ms=now_ms)
        rows = s.query(
            "SELECT i.label, st.reason, st.explanation FROM stuck st JOIN instances i USING (instance_id)"
        )
    return {str(label).split("=")[1]: (str(reason), str(text)) for label, reason, text in rows}


def test_what_waits_on_a_service_silent_while_others_pile_up_is_stuck(db_path: Path) -> None:
    """An order a minute; the payment service is down from minute 350 on.
    The order created 30 s before "now" is not overdue by its own deadline,
    yet nothing has come from the payment service for 50 minutes while 49
    orders went past theirs: it is stuck too, and says why."""
    log = Log()
    _orders(log, [float(m) for m in range(400)], pay_until=350.0)
    log.store(db_path)
    stuck = _stuck(db_path, T0 + int(399.5 * MINUTE))
    assert set(stuck) == {f"ord-{i}" for i in range(350, 400)}
    reason, text = stuck["ord-399"]
    assert reason == "service-silent", text
    assert "payment-service has emitted nothing for 50m" in text
    assert "overdue by" not in text
    reason, text = stuck["ord-398"]
    assert reason == "overdue"
    assert "payment-service has emitted nothing for 50m" in text


def test_an_idle_service_is_not_a_down_one(db_path: Path) -> None:
    """No orders from minute 350 to 399, then three at once: the payment
    service has said nothing for 50 minutes, but nobody was waiting on it.
    The three are running until their own deadline."""
    log = Log()
    _orders(log, [*(float(m) for m in range(350)), 399.0, 399.1, 399.2], pay_until=399.0)
    log.store(db_path)
    assert _stuck(db_path, T0 + int(399.5 * MINUTE)) == {}


def test_two_overdue_do_not_make_a_service_down(db_path: Path) -> None:
    """Two orders went past their deadline since the payment service's last
    word: a couple of lost messages, not yet an outage. The newest waits for
    its own deadline."""
    log = Log()
    _orders(log, [*(float(m) for m in range(350)), 390.0, 395.0, 399.2], pay_until=390.0)
    log.store(db_path)
    assert set(_stuck(db_path, T0 + int(399.5 * MINUTE))) == {"ord-350", "ord-351"}


def test_a_slow_step_arrived_at_a_minute_ago_is_not_due_yet(db_path: Path) -> None:
    """Payments take 20 minutes or so (a person approves them; p99 about an
    hour, deadline five times that), and the payment service is down from
    minute 100 of 600 on. An order created a minute before "now" would not
    have its payment yet even were the service up: it is running. One
    created 150 minutes before is past any payment's usual time: stuck, the
    service being silent."""
    log = Log()
    _orders(log, [float(m) for m in range(600)], pay_until=100.0, pay_ms=20 * MINUTE)
    log.store(db_path)
    stuck = _stuck(db_path, T0 + int(599.5 * MINUTE))
    assert "ord-599" not in stuck and "ord-590" not in stuck
    assert stuck["ord-450"][0] == "service-silent", stuck["ord-450"]
    assert stuck["ord-150"][0] != "service-silent"  # past its own deadline
