"""A sequential step's normal latency: the stretches of the log an outage
delayed as a whole are not what the step normally takes (``outages``), so a
service down for hours does not hide every later stall after its step."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from choreo.core.config import ChoreoConfig
from choreo.core.store import Store
from choreo.reconstruct.engine.outages import delayed_rows
from choreo.reconstruct.engine.pipeline import rebuild
from tests.support.saga_builder import T0, Log

MINUTE = 60_000
HOUR = 60 * MINUTE


def test_a_third_of_a_steps_timeline_delayed_by_hours_is_an_outage() -> None:
    rng = np.random.default_rng(1)
    n = 600
    t = np.arange(n, dtype=np.int64) * MINUTE
    lat = 2_000.0 * np.exp(rng.normal(0.0, 1.1, n))
    # Down for a third of the log, then working off its backlog.
    down = np.arange(200, 400)
    lat[down] += np.linspace(3 * HOUR, 0, down.size)
    late = delayed_rows(np.zeros(n, dtype=np.int64), 1, t, lat)
    assert late[220:380].all()
    assert not late[:180].any() and not late[420:].any()


def test_a_slow_path_in_every_stretch_is_no_outage_and_steps_are_judged_apart() -> None:
    """Step 0: four in ten approved by a person hours later, all through the
    log. Step 1, in the same call: delayed as a whole in its middle third."""
    rng = np.random.default_rng(2)
    n = 600
    t = np.arange(n, dtype=np.int64) * MINUTE
    slow = 200.0 * np.exp(rng.normal(0.0, 0.8, n))
    human = rng.random(n) < 0.4
    slow[human] = 2 * HOUR * np.exp(rng.normal(0.0, 0.3, int(human.sum())))
    fast = 200.0 * np.exp(rng.normal(0.0, 0.8, n))
    fast[200:400] += 2 * HOUR
    key = np.r_[np.zeros(n, dtype=np.int64), np.ones(n, dtype=np.int64)]
    late = delayed_rows(key, 2, np.r_[t, t[::-1]], np.r_[slow, fast[::-1]])
    assert not late[:n].any()
    assert late[n:].sum() >= 180


def _orders(log: Log) -> tuple[int, list[str]]:
    """An order a minute for 400 minutes: OrderCreated -> PaymentCompleted
    (a second or so) -> OrderCompleted, or, one order in 20, PaymentDeclined
    -> OrderRejected (too few declines to see the outage in their own
    latencies). The payment service is down from minute 150 to 280 and then
    works off its backlog; five orders after it came back got no payment at
    all (stalled)."""
    rng = np.random.default_rng(3)
    stalled: list[str] = []
    back = T0 + 280 * MINUTE
    for i in range(400):
        t = T0 + i * MINUTE
        order = f"ord-{i}"
        log.event("orders", "OrderCreated", t, service="order-service", orderId=order, partition=i % 2)
        if i in (300, 310, 320, 330, 340):
            stalled.append(order)
            continue
        paid = t + int(1_000 * np.exp(rng.normal(0.0, 1.1)))
        if 150 <= i < 280:
            paid = max(paid, back + (i - 150) * 200)
        declined = i % 20 == 7
        paid_type, done_type = (
            ("PaymentDeclined", "OrderRejected") if declined else ("PaymentCompleted", "OrderCompleted")
        )
        log.event("payments", paid_type, paid, service="payment-service", orderId=order, partition=i % 3)
        done = paid + int(300 * np.exp(rng.normal(0.0, 0.5)))
        log.event("orders", done_type, done, service="order-service", orderId=order, partition=i % 2)
    return T0 + 400 * MINUTE, stalled


def test_a_stall_after_a_step_whose_service_was_down_for_hours_is_still_flagged(db_path: Path) -> None:
    log = Log()
    end, stalled = _orders(log)
    log.store(db_path)
    with Store.open(db_path) as s:
        rebuild(s, ChoreoConfig(), now_ms=end)
        p99 = s.query("SELECT dst_type, p99_ms FROM model_edges WHERE src_type = 'OrderCreated'")
        assert {str(t) for t, _ in p99} == {"PaymentCompleted", "PaymentDeclined"}
        assert all(float(v) < 5 * MINUTE for _, v in p99), p99
        flagged = {
            str(label).split("=")[1]
            for label, status in s.query("SELECT label, status FROM instances")
            if status == "stuck"
        }
    assert flagged == set(stalled)
