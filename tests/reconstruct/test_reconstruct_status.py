"""Statuses and stuck detection with explanations, on hand-made sagas."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from choreo.core.config import ChoreoConfig
from choreo.core.store import Store
from choreo.reconstruct.engine.pipeline import judge, rebuild
from choreo.reconstruct.query.read import find_instances, stuck_list, workflow_counts
from tests.support.saga_builder import T0, Log, fan_out, order_saga

CFG = ChoreoConfig.model_validate({"reconstruct": {"min_overdue": 1}})


def _saga_log() -> tuple[Log, dict[str, str]]:
    """40 orders with known outcomes; returns the log and order id -> expected status."""
    log = Log()
    truth: dict[str, str] = {}
    plan = (
        ["ok"] * 24
        + ["declined"] * 5
        + ["stockout"] * 5
        + [
            "stuck-payment",
            "stuck-inventory",
            "stuck-inventory",
            "stuck-refund",
            "stuck-cancel",
            "stuck-ship",
        ]
    )
    for i, kind in enumerate(plan):
        t = T0 + i * 2000
        if kind.startswith("stuck-"):
            outcome, cut = {
                "stuck-payment": ("ok", 1),
                "stuck-inventory": ("ok", 2),
                "stuck-refund": ("stockout", 3),
                "stuck-cancel": ("stockout", 4),
                "stuck-ship": ("ok", 4),
            }[kind]
            order = order_saga(log, i, t, outcome, stop_after=cut)
            truth[order] = kind
        else:
            order = order_saga(log, i, t, kind)
            truth[order] = {"ok": "completed", "declined": "failed", "stockout": "compensated"}[kind]
    return log, truth


def test_statuses_and_stuck_explanations(db_path: Path) -> None:
    log, truth = _saga_log()
    log.store(db_path)
    now = T0 + 40 * 2000 + 600_000
    with Store.open(db_path) as s:
        stats = rebuild(s, CFG, now_ms=now)
        assert stats.workflows == 1
        got = {label.split("=")[1]: st for label, st in s.query("SELECT label, status FROM instances")}
        for order, want in truth.items():
            assert got[order] == ("stuck" if want.startswith("stuck") else want), order
        stuck = {x.label.split("=")[1]: x for x in stuck_list(s)}
        assert set(stuck) == {o for o, w in truth.items() if w.startswith("stuck")}
        by_kind = {truth[o]: x for o, x in stuck.items()}
        pay = by_kind["stuck-payment"]
        assert pay.reason == "overdue"
        assert pay.expected_types[0] == "PaymentCompleted" and "PaymentDeclined" in pay.expected_types
        assert pay.responsible_service == "payment-service"
        inv = by_kind["stuck-inventory"]
        assert inv.last_type == "PaymentCompleted" and inv.responsible_service == "inventory-service"
        assert "inventory-service" in inv.explanation and "overdue by" in inv.explanation
        refund = by_kind["stuck-refund"]
        assert refund.reason == "compensation-unfinished" and refund.expected_types == ["PaymentRefunded"]
        cancel = by_kind["stuck-cancel"]
        assert cancel.reason == "compensation-unfinished" and cancel.expected_types == ["OrderCancelled"]
        assert cancel.responsible_service == "order-service"
        assert by_kind["stuck-ship"].expected_types == ["ShipmentDelivered"]
        nodes = dict(s.query("SELECT event_type, kind FROM model_nodes"))
        assert nodes["PaymentDeclined"] == "failure" and nodes["PaymentRefunded"] == "compensation"
        terminals = {t for (t,) in s.query("SELECT event_type FROM model_nodes WHERE is_terminal")}
        assert terminals == {"OrderCompleted", "OrderRejected", "OrderCancelled"}


def test_recent_silence_is_running_then_stuck_later(db_path: Path) -> None:
    log, _ = _saga_log()
    last = T0 + 50 * 2000
    order_saga(log, 99, last, "ok", stop_after=2)
    log.store(db_path)
    with Store.open(db_path) as s:
        rebuild(s, CFG, now_ms=last + 100 + 200)
        iid = find_instances(s, "ord-99")[0]
        assert s.query("SELECT status FROM instances WHERE instance_id = ?", [iid])[0][0] == "running"
        judge(s, CFG, now_ms=last + 3_600_000)
        assert s.query("SELECT status FROM instances WHERE instance_id = ?", [iid])[0][0] == "stuck"
        assert workflow_counts(s)["OrderCreated"]["completed"] == 24


def test_declared_timeout_and_terminals(db_path: Path) -> None:
    log, _ = _saga_log()
    log.store(db_path)
    cfg = ChoreoConfig.model_validate(
        {
            "reconstruct": {"min_overdue": 3600},
            "workflows": {
                "order": {
                    "start": ["OrderCreated"],
                    "terminal": ["OrderCompleted", "OrderRejected", "OrderCancelled"],
                    "timeout": 60,
                }
            },
        }
    )
    with Store.open(db_path) as s:
        rebuild(s, cfg, now_ms=T0 + 40 * 2000 + 600_000)
        assert {w for (w,) in s.query("SELECT DISTINCT workflow FROM instances")} == {"order"}
        reasons = {r for (r,) in s.query("SELECT reason FROM stuck")}
        assert reasons == {"timeout", "compensation-unfinished"}
        text = s.query("SELECT explanation FROM stuck WHERE reason = 'timeout' LIMIT 1")[0][0]
        assert "timeout of 1m00s" in text


def test_fan_out_missing_branch(db_path: Path) -> None:
    log = Log()
    for i in range(30):
        fan_out(log, i, T0 + i * 1000)
    fan_out(log, 30, T0 + 31_000, branches=("WelcomeEmailSent", "AnalyticsRecorded"))
    log.store(db_path)
    with Store.open(db_path) as s:
        rebuild(s, CFG, now_ms=T0 + 600_000)
        counts = workflow_counts(s)["UserSignedUp"]
        assert counts == {"completed": 30, "stuck": 1}
        (x,) = stuck_list(s)
        assert x.reason == "branch-missing" and x.expected_types == ["RecommendationsSeeded"]
        assert x.responsible_service == "recommendation-service"
        assert x.label == "userId=user-30"


def test_consumer_group_state(db_path: Path) -> None:
    log, _ = _saga_log()
    log.store(db_path)
    cfg = ChoreoConfig.model_validate(
        {
            "reconstruct": {"min_overdue": 1},
            "services": {
                "inventory-service": {"group": "inventory"},
                "payment-service": {"group": "payments"},
            },
        }
    )
    with Store.open(db_path) as s:
        rebuild(s, cfg, now_ms=T0 + 600_000)
        inv = [x for x in stuck_list(s) if x.responsible_service == "inventory-service"]
        pay = [x for x in stuck_list(s) if x.last_type == "OrderCreated"]
        assert len(inv) == 2 and len(pay) == 1
        (ev,) = s.query(
            "SELECT last_topic, last_partition, last_offset FROM stuck WHERE instance_id = ?",
            [pay[0].instance_id],
        )
        # The payment group is behind the OrderCreated; inventory consumed past its events.
        s.con.execute(
            "INSERT INTO group_offsets VALUES ('payments', ?, ?, ?, ?, 0)", [ev[0], ev[1], ev[2], ev[2] + 7]
        )
        for topic, part in {(x.last_topic, x.last_partition) for x in inv}:
            s.con.execute(
                "INSERT INTO group_offsets VALUES ('inventory', ?, ?, 1000, 1000, 0)", [topic, part]
            )
        judge(s, cfg, now_ms=T0 + 600_000)
        pay_now = next(x for x in stuck_list(s) if x.last_type == "OrderCreated")
        assert pay_now.consumer_state == "lagging" and pay_now.group_lag == 7
        assert "has not consumed" in pay_now.explanation and "group lag 7" in pay_now.explanation
        for x in stuck_list(s):
            if x.responsible_service == "inventory-service":
                assert x.consumer_state == "consumed-no-reaction" and "did not react" in x.explanation


def test_branch_of_a_service_that_stopped_early_stays_expected(db_path: Path) -> None:
    """Recommendations came for the first 25 of 400 sign-ups, then never again
    (the service is down): a small share of history, but the sign-ups since
    are stuck on it, not complete (the demo's `--stall recommendation-service:0.04`)."""
    log = Log()
    without = ("WelcomeEmailSent", "AnalyticsRecorded")
    for i in range(400):
        fan_out(log, i, T0 + i * 1000, branches=None if i < 25 else without)
    log.store(db_path)
    with Store.open(db_path) as s:
        rebuild(s, CFG, now_ms=T0 + 400_000 + 600_000)
        assert workflow_counts(s)["UserSignedUp"] == {"completed": 25, "stuck": 375}
        stuck = stuck_list(s)
        assert {x.reason for x in stuck} == {"branch-missing"}
        assert {tuple(x.expected_types) for x in stuck} == {("RecommendationsSeeded",)}


def test_branch_seen_only_in_a_middle_stretch_is_not_expected(db_path: Path) -> None:
    """A branch that reported only for sign-ups 400-429 of 800 (a feature
    tried for a while) and never before: not an outage since the log began,
    and too small a share of it to be what normal looks like."""
    log = Log()
    without = ("WelcomeEmailSent", "AnalyticsRecorded")
    for i in range(800):
        fan_out(log, i, T0 + i * 1000, branches=None if 400 <= i < 430 else without)
    log.store(db_path)
    with Store.open(db_path) as s:
        rebuild(s, CFG, now_ms=T0 + 800_000 + 600_000)
        assert workflow_counts(s)["UserSignedUp"] == {"completed": 800}


def _claim(log: Log, i: int, t: int, steps: tuple[str, ...]) -> None:
    """A claim: created, dispatch scheduled (the one event naming claim and
    dispatch), dispatch delivered (the dispatch only), claim completed."""
    claim, dispatch = f"clm-{i}", f"dsp-{i}"
    events: dict[str, tuple[str, str, dict[str, Any]]] = {
        "ClaimCreated": ("claims", "claim-service", {"claimId": claim}),
        "DispatchScheduled": ("dispatch", "dispatch-service", {"claimId": claim, "dispatchId": dispatch}),
        "DispatchDelivered": ("dispatch", "carrier-service", {"dispatchId": dispatch}),
        "ClaimCompleted": ("claims", "claim-service", {"claimId": claim}),
    }
    for n, etype in enumerate(events):
        if etype in steps:
            topic, svc, ids = events[etype]
            log.event(topic, etype, t + n * 1000, service=svc, **ids)


def test_fragment_cut_by_retention_waits_only_for_what_could_join_it(db_path: Path) -> None:
    """Retention took a claim's first two events: what is left, the delivery,
    carries only the dispatch id, and the completion only the claim id; they
    can never meet, so the delivery alone is not "stuck waiting for the
    completion" (it may well have come). A fragment that still holds the
    scheduling (it names the claim) and lacks the completion is stuck."""
    log = Log()
    everything = ("ClaimCreated", "DispatchScheduled", "DispatchDelivered", "ClaimCompleted")
    for i in range(40):
        _claim(log, i, T0 + 60_000 + i * 10_000, everything)
    _claim(log, 100, T0, ("DispatchDelivered",))
    _claim(log, 100, T0, ("ClaimCompleted",))
    _claim(log, 101, T0 + 1_000, ("DispatchScheduled", "DispatchDelivered"))
    log.store(db_path)
    with Store.open(db_path) as s:
        rebuild(s, CFG, now_ms=T0 + 3_600_000)
        stuck = {x.label for x in stuck_list(s)}
        assert stuck == {"claimId=clm-101"}
        rows = s.query("SELECT label, status FROM instances WHERE label LIKE '%-100'")
        assert sorted(rows) == [("claimId=clm-100", "completed"), ("dispatchId=dsp-100", "running")]
