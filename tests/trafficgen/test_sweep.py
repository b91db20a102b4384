"""Property sweep over the knobs: generate -> `choreo import` -> score.

The instrument's own properties must always hold. The targets of issue 12
are asserted too; those the engine does not meet yet are xfail (not
strict), with what was measured, so that they turn into plain assertions
(drop the mark) once the engine is fixed. Small sizes: each example is one
import of a few hundred records. The examples are fixed (derandomized from
each test's source); the numbers in the reasons come from

    TRAFFICGEN_SWEEP_LOG=/tmp/m.jsonl .venv/bin/pytest tests/trafficgen/test_sweep.py -k instrument
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, Phase, given, settings

from choreo.core.store import Store
from choreo.trafficgen.knobs import Knobs
from choreo.trafficgen.run import DB
from choreo.trafficgen.score import Score
from tests.trafficgen.support import knob_sweep, reconstruct

SWEEP = settings(
    max_examples=6,
    deadline=None,
    derandomize=True,  # the same examples on every run and machine
    database=None,
    # A failing target fails on its first example; shrinking would only spend time.
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow],
)


def _run(knobs: Knobs) -> Score:
    with tempfile.TemporaryDirectory(prefix="trafficgen-") as d:
        g, s = reconstruct(knobs, Path(d))
        with Store.open(Path(d) / DB, read_only=True) as store:
            assert store.count_events() == len(g.records), "every generated record was imported"
    return s


def _log(s: Score) -> None:
    """TRAFFICGEN_SWEEP_LOG=FILE appends each example's measures: how the xfail reasons were measured."""
    path = os.environ.get("TRAFFICGEN_SWEEP_LOG")
    if path:
        with Path(path).open("ab") as fh:
            fh.write(orjson.dumps({**s.measures(), "true_instances": s.true_instances}) + b"\n")


@SWEEP
@given(knobs=knob_sweep())
def test_the_instrument_is_consistent(knobs: Knobs) -> None:
    s = _run(knobs)
    _log(s)
    assert 0 <= s.exact <= s.true_instances - s.unlinkable and s.true_instances > 0
    assert s.status_right <= s.status_judged <= s.exact
    assert s.order_right <= s.order_judged <= s.exact and s.pairs_right <= s.pairs
    assert s.stuck_found <= s.stuck_true and s.stuck_false <= s.stuck_flagged
    assert s.stuck_right_expected <= s.stuck_found
    assert s.not_events_attached <= s.not_events and s.dup_groups_marked <= s.dup_groups
    assert all(v is None or v >= 0 for v in s.measures().values())
    # Every miss is listed, with the instance and why.
    listed = {m: sum(f.measure == m for f in s.failures) for m in ("exact", "status", "order", "attached")}
    assert listed == {
        "exact": s.true_instances - s.unlinkable - s.exact,
        "status": s.status_judged - s.status_right,
        "order": s.order_judged - s.order_right,
        "attached": s.not_events_attached,
    }


def _at_least(key: str, floor: float) -> Callable[[Score], bool]:
    def ok(s: Score) -> bool:
        v = s.measures()[key]
        return v is None or float(v) >= floor

    return ok


_M = "issue 12; main d036e55 on the 6 examples of test_the_instrument_is_consistent: "
# engine-b 43059b2 on the same 6 examples (30-54 instances each, knobs at their extremes: too few
# instances for learned structure; at 3,000 instances see README's "Reconstruction accuracy"):
_B = "; engine-b 43059b2: "
# (name, check, xfail reason or None): when the engine meets a target, drop its reason.
TARGETS: list[tuple[str, Callable[[Score], bool], str | None]] = [
    ("exact membership 100 %", lambda s: s.exact == s.true_instances - s.unlinkable, None),
    # Met since main aa991a5 on every example (it was: main d036e55 found 5 of
    # 1, 3 of 2, 6 of 2, 6 of 3 workflows; engine-b 43059b2 6 of 3, 3 of 2, 1 of 2).
    ("workflows found = truth", lambda s: s.workflows_found == s.workflows_true, None),
    (
        "no workflow named after a non-start type",
        lambda s: not s.workflow_names_not_start,
        _M + "4, 1, 5, 2 workflows named after non-start types on 4 examples" + _B + "2, 1 on 2 examples",
    ),
    (
        "status right >= 99.5 %",
        _at_least("status_right", 0.995),
        _M + "status right 0.43-1.00, mean 0.73" + _B + "0.78-1.00, mean 0.90",
    ),
    (
        "cause before effect >= 99.5 %",
        _at_least("cause_before_effect", 0.995),
        _M + "0.18-1.00, mean 0.58" + _B + "0.14-1.00, mean 0.60 (clock offsets from 40 instances)",
    ),
    (
        "stuck recall >= 0.99",
        _at_least("stuck_recall", 0.99),
        _M + "stuck recall 0.11-0.93, mean 0.41" + _B + "0.00, 0.00, 1.00 on 3 examples",
    ),
    (
        "stuck precision >= 0.99",
        _at_least("stuck_precision", 0.99),
        None,
    ),
    (
        "stuck expected event and service >= 0.99",
        _at_least("stuck_right_expected", 0.99),
        _M + "0.00-0.36, mean 0.17" + _B + "0.00, 0.00, 1.00 on 3 examples",
    ),
    ("no not-event attached", lambda s: s.not_events_attached == 0, None),
    (
        "duplicates collapsed, none invented",
        lambda s: s.dup_groups_marked == s.dup_groups and s.false_duplicates == 0,
        _M + "redeliveries all collapsed; 7 distinct events marked duplicates in 1 example",
    ),
]


@pytest.mark.parametrize(
    "check",
    [
        pytest.param(c, id=name, marks=[pytest.mark.xfail(strict=False, reason=why)] if why else [])
        for name, c, why in TARGETS
    ],
)
@SWEEP
@given(knobs=knob_sweep())
def test_issue_12_targets(check: Callable[[Score], bool], knobs: Knobs) -> None:
    s = _run(knobs)
    assert check(s), s.measures()
