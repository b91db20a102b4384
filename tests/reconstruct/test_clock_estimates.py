"""Clock offsets estimated from fast certain steps where no effect is stamped
before its cause (``clock_offsets.solve_offsets``).

Independent generator (``bench/independent_traffic.py``) seed 8: the
inventory service's clock is 383 ms ahead of the shipments service's, and
its reply to a shipment request takes 10-150 ms; no effect is ever stamped
before its cause, so the clocks were left alone, and the backorder the
shipments service sends after "stock unavailable" (its clock behind) was
stamped first every time and learned as the cause. A fast step stamped
400 ms late twice over says the clock is ahead; a step that takes a fixed
400 ms looks the same from that step alone, so the estimate moves a clock
only where two fast certain steps agree and none is left slow.
"""

from __future__ import annotations

import numpy as np

from choreo.reconstruct.engine.clock_offsets import FLOOR, Bound, solve_offsets


def _step(a: int, b: int, m: float, spread: float, *, pairs: int = 1_000, log_normal: bool = True) -> Bound:
    return Bound(a, b, m=m, pairs=pairs, spread=spread, floor_near_zero=log_normal)


def test_two_fast_steps_stamped_late_say_the_clock_is_ahead() -> None:
    """Service 0 asks, service 1 answers in one of two ways; both answers are
    stamped at least 420 ms after the question, within 60 ms of each other."""
    answers = [_step(0, 1, 420.0, 58.0), _step(0, 1, 438.0, 64.0, pairs=80, log_normal=False)]
    o, conflict = solve_offsets(2, answers)
    assert abs((o[1] - o[0]) - (420.0 - FLOOR * 58.0)) <= 1.0, o
    assert conflict == set()


def test_one_step_alone_moves_no_clock() -> None:
    """One fast step 420 ms late: a clock ahead, or a step that takes 420 ms."""
    o, _ = solve_offsets(2, [_step(0, 1, 420.0, 58.0)])
    assert np.allclose(o, 0.0), o


def test_steps_that_take_a_fixed_time_move_no_clock() -> None:
    """``bench/reconstruct.py``'s log: right clocks, each step a fixed time
    (270 to 1,460 ms) plus a tail of about 16 ms. No choice of clocks makes
    all of them fast, so none moves (moving the ones it could showed 320,000
    events as skew-adjusted instead of 18,000)."""
    bounds = [
        _step(0, 1, 366.0, 16.0),  # user -> analytics
        _step(0, 2, 268.0, 16.0, log_normal=False),  # user -> notification
        _step(0, 3, 516.0, 17.0, log_normal=False),  # user -> recommendation
        _step(1, 3, 114.0, 17.0),  # analytics -> recommendation
        _step(4, 5, 1464.0, 17.0),  # transcoder -> indexer
        _step(5, 6, 366.0, 16.0, log_normal=False),  # indexer -> publisher
        _step(4, 5, 1470.0, 17.0, pairs=400),
    ]
    o, conflict = solve_offsets(7, bounds)
    assert np.allclose(o, 0.0), o
    assert conflict == set()


def test_a_clock_seen_off_still_moves_on_one_step() -> None:
    """An effect stamped 190 ms before its cause: the clock is off for sure,
    and its one fast step places it (as before the estimates counted
    elsewhere)."""
    o, _ = solve_offsets(2, [_step(0, 1, -190.0, 50.0)])
    assert abs((o[1] - o[0]) - (-190.0 - FLOOR * 50.0)) <= 1.0, o
