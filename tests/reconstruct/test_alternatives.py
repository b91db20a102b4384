"""Two alternatives after one step (``model_kinds.structural_failures``): the
clear minority whose instances never end where the majority's do is a
failure; of a near-even split (two ways a process log's cases go) neither
is, whatever their names."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from choreo.core.config import ChoreoConfig
from choreo.core.store import Store
from choreo.reconstruct.engine.pipeline import rebuild
from tests.support.saga_builder import T0, Log

HOUR = 3_600_000
CFG = ChoreoConfig.model_validate({"reconstruct": {"min_overdue": 1}})


def _log(n: int, minority: float, rng: random.Random, rework: float = 0.0) -> Log:
    """``rework``: the majority's Approve repeats (after Amend) this often."""
    log = Log()
    for i in range(n):
        t = T0 + i * 600_000
        case = f"case-{i}"
        tail = ["Escalate", "Resolve"] if rng.random() < minority else ["Approve", "Ship"]
        while tail[0] == "Approve" and rng.random() < rework:
            tail = ["Approve", "Amend", *tail]
        for activity in ["Open", "Check", *tail]:
            t += int(rng.lognormvariate(13.0, 0.8))
            log.event("tickets", activity, t, key=case, caseId=case, time=t)
    return log


@pytest.mark.parametrize(
    ("minority", "rework", "failure"),
    [
        (0.47, 0.0, False),
        (0.12, 0.0, True),
        # Counted in instances: the majority's repeats do not make 47 % a minority.
        (0.47, 0.7, False),
    ],
)
def test_only_a_clear_minority_is_a_failure(
    db_path: Path, minority: float, rework: float, failure: bool
) -> None:
    _log(600, minority, random.Random(3), rework).store(db_path)
    with Store.open(db_path) as s:
        rebuild(s, CFG, now_ms=T0 + 600 * 600_000 + 7 * 24 * HOUR)
        kinds = dict(s.query("SELECT event_type, kind FROM model_nodes"))
        statuses = dict(s.query("SELECT status, count(*) FROM instances GROUP BY 1"))
    assert (kinds["Escalate"] == "failure") is failure, kinds
    assert kinds["Approve"] == "normal"
    assert "stuck" not in statuses and "running" not in statuses, statuses
