"""The deadline of a branch after a loop (``status``): the loop may come round
again only until something after it came."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from choreo.core.config import ChoreoConfig
from choreo.core.store import Store
from choreo.reconstruct.engine.pipeline import rebuild
from tests.support.saga_builder import T0, Log

MINUTE = 60_000
STALLED = (150, 160, 170, 180, 190)


def _renders(log: Log) -> None:
    """A render every two minutes: RenderCreated -> Reminded, one to three
    rounds 45 minutes apart -> two branches after the loop's last round,
    Audited (0.2 s) and Tagged (0.3 s) -> RenderDone. Five renders got their
    Tagged but never their Audited: the loop is over (a branch after it came),
    so Audited is overdue after its own latency, not after another round."""
    rng = np.random.default_rng(11)
    for i in range(200):
        t = T0 + i * 2 * MINUTE
        render = f"rnd-{i}"
        log.event("renders", "RenderCreated", t, service="render-service", renderId=render, partition=i % 2)
        at = t + 1_000
        for r in range(1 + i % 3):
            if r:
                at += int(45 * MINUTE * np.exp(rng.normal(0.0, 0.3)))
            log.event("credits", "Reminded", at, service="credit-service", renderId=render, partition=i % 3)
        audited = at + int(200 * np.exp(rng.normal(0.0, 0.5)))
        tagged = at + int(300 * np.exp(rng.normal(0.0, 0.5)))
        if i not in STALLED:
            log.event("audits", "Audited", audited, service="audit-service", renderId=render, partition=i % 2)
        log.event("documents", "Tagged", tagged, service="document-service", renderId=render, partition=i % 2)
        if i not in STALLED:
            done = max(audited, tagged) + 100
            log.event(
                "renders", "RenderDone", done, service="render-service", renderId=render, partition=i % 2
            )


def test_a_branch_missing_after_its_sibling_came_is_not_waiting_for_another_loop_round(db_path: Path) -> None:
    log = Log()
    _renders(log)
    log.store(db_path)
    with Store.open(db_path) as s:
        rebuild(s, ChoreoConfig(), now_ms=T0 + 560 * MINUTE)
        stuck = s.query("SELECT label, expected_types FROM instances JOIN stuck USING (instance_id)")
    assert sorted(str(label).split("=")[1] for label, _ in stuck) == sorted(f"rnd-{i}" for i in STALLED)
    assert all(list(expected) == ["Audited"] for _, expected in stuck)
