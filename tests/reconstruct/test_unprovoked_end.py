"""An end named like a compensation that follows no failure and no
compensation (``model_kinds.after_failure_kinds``): a claim its customer
withdraws undoes nothing, so the claim failed; a refund after a failed
payout, and the cancellation after the refund, are a compensation."""

from __future__ import annotations

import random
from pathlib import Path

from choreo.core.config import ChoreoConfig
from choreo.core.store import Store
from choreo.reconstruct.engine.pipeline import rebuild
from tests.support.saga_builder import T0, Log

HOUR = 3_600_000
CFG = ChoreoConfig.model_validate({"reconstruct": {"min_overdue": 1}})


def _path(rng: random.Random) -> list[str]:
    head = ["ClaimFiled", "ClaimAssessed", "SettlementProposed"]
    r = rng.random()
    if r < 0.08:  # the customer says no: nothing to undo
        return [*head, "ClaimWithdrawn"]
    if r < 0.16:  # the payout fails after the money left: it is taken back
        return [*head, "SettlementAccepted", "PayoutFailed", "PaymentReversed", "ClaimCancelled"]
    return [*head, "SettlementAccepted", "PayoutIssued", "ClaimClosed"]


def test_a_withdrawn_claim_failed_and_a_reversed_payout_was_compensated(db_path: Path) -> None:
    rng = random.Random(5)
    log = Log()
    paths = {}
    for i in range(400):
        t = T0 + i * 600_000
        case = f"claim-{i}"
        paths[case] = _path(rng)
        for activity in paths[case]:
            t += int(rng.lognormvariate(11.0, 0.8))
            log.event("claims", activity, t, key=case, claimId=case, time=t)
    log.store(db_path)
    with Store.open(db_path) as s:
        rebuild(s, CFG, now_ms=T0 + 400 * 600_000 + 7 * 24 * HOUR)
        kinds = dict(s.query("SELECT event_type, kind FROM model_nodes"))
        status = dict(s.query("SELECT label, status FROM instances"))
    assert kinds["ClaimWithdrawn"] == "failure", kinds
    assert kinds["PaymentReversed"] == kinds["ClaimCancelled"] == "compensation", kinds
    expect = {"ClaimWithdrawn": "failed", "ClaimCancelled": "compensated", "ClaimClosed": "completed"}
    wrong = {
        c: (p[-1], status.get(f"claimId={c}"))
        for c, p in paths.items()
        if status.get(f"claimId={c}") != expect[p[-1]]
    }
    assert not wrong, wrong
