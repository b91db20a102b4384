"""A workflow that ends in a loop (``model._last_of_type``): a process tree
``->(Register, Check, *(Review, Rework))`` played out by pm4py ends every
case on Review, after zero or more rework rounds. Most Review events are
followed (by Rework), yet every case's last Review ends it: the case is
completed, not stuck waiting for another Rework."""

from __future__ import annotations

import random
from pathlib import Path

from choreo.core.config import ChoreoConfig
from choreo.core.store import Store
from choreo.reconstruct.engine.pipeline import rebuild
from tests.support.saga_builder import T0, Log

HOUR = 3_600_000
CFG = ChoreoConfig.model_validate({"reconstruct": {"min_overdue": 1}})


def _cases(log: Log, n: int, repeat: float, rng: random.Random) -> None:
    for i in range(n):
        t = T0 + i * 600_000
        case = f"case-{i}"
        path = ["Register", "Check", "Review"]
        while rng.random() < repeat:
            path += ["Rework", "Review"]
        for activity in path:
            t += int(rng.lognormvariate(14.0, 1.0))  # about 20 minutes, human steps
            log.event("cases", activity, t, key=case, caseId=case, time=t)


def test_a_case_ending_on_its_loop_is_completed(db_path: Path) -> None:
    rng = random.Random(5)
    log = Log()
    _cases(log, 400, repeat=0.75, rng=rng)  # three in four Review events are followed by Rework
    log.store(db_path)
    now = T0 + 400 * 600_000 + 30 * 24 * HOUR  # a closed log read a month later
    with Store.open(db_path) as s:
        rebuild(s, CFG, now_ms=now)
        statuses = dict(s.query("SELECT status, count(*) FROM instances GROUP BY 1"))
        terminal = s.query("SELECT event_type FROM model_nodes WHERE is_terminal")
    assert statuses == {"completed": 400}
    assert terminal == [("Review",)]


def test_a_case_stalled_inside_the_loop_is_still_stuck(db_path: Path) -> None:
    """The same log with 20 cases whose Rework never came back to Review:
    Rework is no end (every one of its occurrences but those is followed)."""
    rng = random.Random(6)
    log = Log()
    _cases(log, 400, repeat=0.75, rng=rng)
    for i in range(400, 420):
        t = T0 + i * 600_000
        for activity in ("Register", "Check", "Review", "Rework"):
            t += 1_200_000
            log.event("cases", activity, t, key=f"case-{i}", caseId=f"case-{i}", time=t)
    log.store(db_path)
    now = T0 + 420 * 600_000 + 30 * 24 * HOUR
    with Store.open(db_path) as s:
        rebuild(s, CFG, now_ms=now)
        stuck = {label for (label,) in s.query("SELECT label FROM instances WHERE status = 'stuck'")}
    assert stuck == {f"caseId=case-{i}" for i in range(400, 420)}
