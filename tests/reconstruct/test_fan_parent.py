"""Which step a fanned-out branch is expected after (``model_branches.fan_parent``)."""

from __future__ import annotations

from choreo.reconstruct.engine.model_branches import fan_parent

# Created -> Reserved -> Confirmed -> Issued, then branches Loaded, Handled and
# Approved (two minutes slow).
CREATED, RESERVED, CONFIRMED, ISSUED, LOADED, HANDLED = range(6)
CHAIN = [CREATED, RESERVED, CONFIRMED, ISSUED]
ORDER = {(a, b) for i, a in enumerate(CHAIN) for b in CHAIN[i + 1 :]}


def test_a_slow_branch_follows_the_latest_step_not_the_nearest_median() -> None:
    """From every step before it the slow branch is about two minutes away;
    Created's median came out smallest by chance (another sample of instances):
    the latest step in the learned order is its parent, even where that step
    is itself expected (from an alternative start)."""
    p50 = {CREATED: 114_393.5, RESERVED: 116_563.0, CONFIRMED: 116_724.0, ISSUED: 115_561.0}
    got = fan_parent(
        CHAIN, cause=None, branches={LOADED, HANDLED}, expected={RESERVED, ISSUED}, before=ORDER, p50=p50
    )
    assert got == ISSUED


def test_the_learned_cause_comes_first() -> None:
    p50 = {CREATED: 900.0, RESERVED: 700.0, CONFIRMED: 500.0, ISSUED: 300.0}
    assert (
        fan_parent(CHAIN, cause=RESERVED, branches=set(), expected=set(), before=ORDER, p50=p50) == RESERVED
    )


def test_a_sibling_branch_is_not_the_parent() -> None:
    """A faster sibling comes after every step too: it is no parent while a
    step that is not a branch is a candidate."""
    cands = [*CHAIN, LOADED]
    order = ORDER | {(c, LOADED) for c in CHAIN}
    p50 = {CREATED: 4_000.0, RESERVED: 3_000.0, CONFIRMED: 2_500.0, ISSUED: 2_000.0, LOADED: 1_700.0}
    assert fan_parent(cands, cause=None, branches={LOADED}, expected=set(), before=order, p50=p50) == ISSUED


def test_unordered_candidates_fall_back_to_the_nearest() -> None:
    p50 = {CREATED: 900.0, RESERVED: 700.0, CONFIRMED: 500.0, ISSUED: 800.0}
    assert fan_parent(CHAIN, cause=None, branches=set(), expected=set(), before=set(), p50=p50) == CONFIRMED
