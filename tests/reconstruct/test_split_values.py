"""A value that would merge instances, of a name that is not a trap
(``traps.merging``'s ``split``, ``KeyStat.split_values``): phone claims
carry the claim number and the caller's customer id; two callers of sixty
phoned twice. Two of sixty values merging is below the trap rule's share,
so the name stitches, but those two values link nothing: four claims, not
two merged pairs (an independent generator's phone claims, exact 99.8 %)."""

from __future__ import annotations

from pathlib import Path

import orjson

from choreo.core.config import ChoreoConfig
from tests.support.engine_logs import T0, Log, Truth, derive
from tests.support.live_batch import feed_in_batches


def _log(claims: int) -> tuple[Log, Truth, int]:
    log, truth = Log(), Truth()
    t = T0
    for i in range(claims):
        t = T0 + i * 20_000
        caller = f"C{(i % 2) if i < 4 else i:05d}"  # claims 0 and 2, 1 and 3: the same caller
        no = str(4_000_000 + i * 37)
        for at, topic, body in (
            (
                t,
                "callcenter",
                {"@type": "ClaimReportedByPhone", "claimId": no, "caller_customer_id": caller},
            ),
            (t + 30_000, "claims", {"type": "ClaimAssessed", "claimId": no}),
            (t + 45_000, "claims", {"type": "ClaimClosed", "claimId": no}),
        ):
            truth.add(f"c{i}", log.add(topic, at, orjson.dumps(body)))
    return log, truth, t + 45_000


def test_the_values_that_would_merge_link_nothing() -> None:
    log, truth, last = _log(60)
    d = derive(log, now_ms=last + 60_000)
    exact = d.exact(truth)
    assert all(v is not None for v in exact.values()), {k: v for k, v in exact.items() if v is None}
    used, reason = d.key_stats["caller_customer_id"]
    assert used and "link nothing" in reason, reason


def test_live_batches_leave_the_same_values_out(tmp_path: Path) -> None:
    log, _truth, last = _log(60)
    source = log.store(tmp_path / "source.duckdb")
    cfg = ChoreoConfig.model_validate({"reconstruct": {"min_overdue": 1}})
    run = feed_in_batches(
        source, tmp_path / "work", batches=4, config=cfg, now_ms=last + 60_000, first_share=0.5
    )
    assert run.mismatches == []
