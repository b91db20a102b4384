"""A step after which about half the cases end and half go on
(``model_kinds.ends_all_along``): in a process log read long after, the
cases that ended there are completed, not stuck; while a service that
stopped reacting half-way through the log still leaves its cases stuck,
since the older part of the log shows it reacting every time."""

from __future__ import annotations

import random
from pathlib import Path

from choreo.core.config import ChoreoConfig
from choreo.core.store import Store
from choreo.reconstruct.engine.pipeline import rebuild
from tests.support.saga_builder import T0, Log

HOUR = 3_600_000
CFG = ChoreoConfig.model_validate({"reconstruct": {"min_overdue": 1}})
N = 800


def _log(rng: random.Random, *, review: float, stop_at: int | None) -> Log:
    """Open -> Triage -> Fix, then Review in ``review`` of the cases; from case
    ``stop_at`` on the review service reacts to nothing."""
    log = Log()
    for i in range(N):
        t = T0 + i * 600_000
        case = f"case-{i}"
        path = ["Open", "Triage", "Fix"]
        if rng.random() < review and (stop_at is None or i < stop_at):
            path.append("Review")
        for activity in path:
            t += int(rng.lognormvariate(13.5, 0.8))
            log.event("tickets", activity, t, key=case, caseId=case, time=t)
    return log


def _statuses(db_path: Path, log: Log) -> dict[str, int]:
    log.store(db_path)
    with Store.open(db_path) as s:
        rebuild(s, CFG, now_ms=T0 + N * 600_000 + 14 * 24 * HOUR)
        return dict(s.query("SELECT status, count(*) FROM instances GROUP BY 1"))


def test_half_the_cases_ending_at_a_step_are_completed(db_path: Path) -> None:
    # 52 % of Fix events followed by Review: more than half, yet an end all along the log.
    assert _statuses(db_path, _log(random.Random(1), review=0.52, stop_at=None)) == {"completed": N}


def test_a_service_that_stopped_half_way_leaves_its_cases_stuck(db_path: Path) -> None:
    """Review always came, until the service stopped reacting at case 300:
    most Fix events are unfollowed, but not in the log's older part."""
    got = _statuses(db_path, _log(random.Random(2), review=1.0, stop_at=300))
    assert got == {"completed": 300, "stuck": N - 300}
