"""An instance awaiting several fan-out branches (``status``) is overdue when
any of them is: a slow branch still pending does not hold back a fast one
long missing."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from choreo.core.config import ChoreoConfig
from choreo.core.store import Store
from choreo.reconstruct.engine.pipeline import rebuild
from tests.support.saga_builder import T0, Log

MINUTE = 60_000
STALLED = (280, 281, 282, 283, 284)


def _claims(log: Log) -> None:
    """A claim a minute for 290 minutes: ClaimOpened -> two branches in
    either order, Scored (0.3 s) -> Checked (0.5 s) and Assigned (0.3 s) ->
    Reviewed (by a rule at once, or by a person in 30 minutes) -> ClaimClosed
    after both. Five claims
    near the end were scored but never checked; their review is not due yet
    (trafficgen seed 143, two workflows: a branch step missing for minutes
    waited for the slowest pending branch's deadline, hours)."""
    rng = np.random.default_rng(4)
    end = T0 + 290 * MINUTE

    def lat(median: float, sigma: float = 0.8) -> int:
        return int(median * np.exp(rng.normal(0.0, sigma)))

    for i in range(290):
        t = T0 + i * MINUTE
        claim = f"clm-{i}"
        log.event("claims", "ClaimOpened", t, service="claim-service", claimId=claim, partition=i % 2)
        scored = t + lat(300)
        checked = scored + lat(500)
        assigned = t + lat(300)
        # Half the reviews are done by a rule at once, half by a person.
        by_person = i in STALLED or rng.random() < 0.5
        reviewed = assigned + (lat(30 * MINUTE, 0.3) if by_person else lat(500))
        log.event("scores", "Scored", scored, service="scoring-service", claimId=claim, partition=i % 3)
        if i not in STALLED:
            log.event("scores", "Checked", checked, service="scoring-service", claimId=claim, partition=i % 3)
        log.event("reviews", "Assigned", assigned, service="review-service", claimId=claim, partition=i % 2)
        if reviewed < end:
            log.event(
                "reviews", "Reviewed", reviewed, service="review-service", claimId=claim, partition=i % 2
            )
            done = max(checked, reviewed) + 100
            log.event("claims", "ClaimClosed", done, service="claim-service", claimId=claim, partition=i % 2)


def test_a_fast_branch_long_missing_is_overdue_while_a_slow_sibling_is_still_pending(db_path: Path) -> None:
    log = Log()
    _claims(log)
    log.store(db_path)
    with Store.open(db_path) as s:
        rebuild(s, ChoreoConfig(), now_ms=T0 + 290 * MINUTE)
        stuck = s.query("SELECT label, expected_types FROM instances JOIN stuck USING (instance_id)")
    assert sorted(str(label).split("=")[1] for label, _ in stuck) == sorted(f"clm-{i}" for i in STALLED)
    assert all("Checked" in list(expected) for _, expected in stuck)
