"""Terminal types from a window that cuts a slow step short
(``model_kinds.seen_weights``, ``followed_share``).

Trafficgen seed 903 (the short-window corner, 10 hours): a person's
approval takes hours after a quick branch; only the approvals that came
within the window were seen, the quickest, so the time after the branch
looked short, the branch an end, and 201 loans still waiting "completed".
"""

from __future__ import annotations

import numpy as np

from choreo.reconstruct.engine.model_kinds import TERMINAL_FOLLOWED, followed_share, seen_weights

HOUR = 3_600_000


def _window(
    median_h: float, window_h: float, n: int = 3_000
) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    """Every occurrence is followed, after a log-normal time; occurrences
    happen evenly over the window; what came after "now" was not seen."""
    rng = np.random.default_rng(7)
    t = rng.uniform(0, window_h * HOUR, n)
    lat = median_h * HOUR * np.exp(rng.normal(0.0, 0.8, n))
    window = window_h * HOUR - t
    seen = lat <= window
    return (
        int(seen.sum()),
        np.sort(lat[seen].astype(np.int64)),
        np.sort(window[seen].astype(np.int64)),
        np.sort(window[~seen].astype(np.int64)),
    )


def test_a_step_slower_than_most_of_the_window_is_still_expected() -> None:
    """A step of 9 hours or so in a 10-hour log: a quarter of the occurrences
    were followed before "now", the quickest. Read as they are, the step
    seems to follow fewer than half (an end); weighted by how many could
    have shown each latency, more than half."""
    followed, lat, windows, ages = _window(median_h=9.0, window_h=10.0)
    plain = followed_share(followed, ages, lat)
    weights = seen_weights(lat, windows, ages, followed)
    assert weights is not None
    fixed = followed_share(followed, ages, lat, None, weights)
    assert plain <= TERMINAL_FOLLOWED  # what the seen latencies alone say: an end
    assert fixed > TERMINAL_FOLLOWED, fixed


def test_in_a_log_much_longer_than_the_step_nothing_changes() -> None:
    followed, lat, windows, ages = _window(median_h=0.05, window_h=200.0)
    weights = seen_weights(lat, windows, ages, followed)
    assert weights is not None
    assert np.allclose(weights[: int(0.99 * weights.size)], 1.0, atol=0.02)
    assert (
        abs(followed_share(followed, ages, lat, None, weights) - followed_share(followed, ages, lat)) < 0.01
    )


def test_an_end_stays_an_end() -> None:
    """Nine in ten occurrences end the instance (followed by nothing, ever);
    the others are followed within minutes: in a long or a short log, an end."""
    rng = np.random.default_rng(3)
    for window_h in (10.0, 200.0):
        n = 3_000
        t = rng.uniform(0, window_h * HOUR, n)
        goes_on = rng.random(n) < 0.1
        lat = 5 * 60_000 * np.exp(rng.normal(0.0, 0.8, n))
        seen = goes_on & (lat <= window_h * HOUR - t)
        window = window_h * HOUR - t
        lat_s, win_s = np.sort(lat[seen].astype(np.int64)), np.sort(window[seen].astype(np.int64))
        ages = np.sort(window[~seen].astype(np.int64))
        weights = seen_weights(lat_s, win_s, ages, int(seen.sum()))
        assert followed_share(int(seen.sum()), ages, lat_s, None, weights) <= TERMINAL_FOLLOWED
