"""Re-judging the open instances at a new "now", apart from the rest of the engine.

Every command on a store collected live re-judges first (the wall clock
moved since the last judgement), so this path decides how fast they start:
it needs the stage runner and the status SQL only, not the stitching,
ordering and learning stages (``steps.py``: numpy, pyarrow.compute, SciPy).
``pipeline.judge`` is this ``judge``.
"""

from __future__ import annotations

from choreo.core.config import ChoreoConfig
from choreo.core.event_log import ensure_log_views
from choreo.core.schema import META_NOW
from choreo.core.store import Store
from choreo.reconstruct.engine.stages import Pipeline, Relation, Slot, Stage, Work, working
from choreo.reconstruct.engine.status import EvalResult, evaluate
from choreo.reconstruct.query.asof import log_facts, now_of

JUDGED = Slot[EvalResult]("judged", "how many instances were judged and how many are stuck")
EVAL = Relation("_r_eval", "each judged instance's status and what it waits for")


def judge_open(w: Work) -> None:
    w.put(JUDGED, evaluate(w.con, w.config, w.now_ms, scope="status IN ('running', 'stuck')"))
    w.adopt(EVAL)


def _stamp_now(w: Work) -> None:
    w.store.set_meta(META_NOW, str(w.now_ms))


JUDGE = Pipeline(
    "judge",
    (
        Stage("judge-open", judge_open, gives=(JUDGED, EVAL), writes=True),
        Stage("stamp", _stamp_now, writes=True),
    ),
    keeps=(JUDGED,),
)


def judge(store: Store, config: ChoreoConfig | None = None, now_ms: int | None = None) -> int:
    """Re-judge the open (running/stuck) instances at ``now``; returns the stuck count."""
    cfg = config or ChoreoConfig()
    ensure_log_views(store)
    now = now_of(log_facts(store.con)).ms if now_ms is None else int(now_ms)
    with working(store, cfg, now) as w:
        JUDGE.run(w)
    row = store.con.execute("SELECT count(*) FROM stuck").fetchone()
    return int(row[0]) if row else 0
