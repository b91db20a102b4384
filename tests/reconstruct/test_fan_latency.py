"""A branch's normal latency (``model_branches``): the stretches an outage's
backlog delayed as a whole left out, a slow path all through the log not."""

from __future__ import annotations

import numpy as np

from choreo.reconstruct.engine.model_branches import delayed_stretches_out, normal_latencies


def _p99(lat: np.ndarray, bucket: np.ndarray) -> float:
    return float(np.quantile(normal_latencies(delayed_stretches_out(lat, bucket)), 0.99))


def test_a_third_of_the_log_delayed_by_hours_is_an_outage_not_the_latency() -> None:
    rng = np.random.default_rng(1)
    bucket = np.repeat(np.arange(50), 12)
    lat = 2_000.0 * np.exp(rng.normal(0.0, 0.8, bucket.size))
    # The service down for a third of the log, then working off its backlog:
    # the first reactions two hours late, the last ones on time again.
    down = np.flatnonzero((bucket >= 20) & (bucket < 37))
    lat[down] += np.linspace(7_200_000, 0, down.size)
    assert _p99(lat, bucket) < 30_000
    # Without the stretches the spread alone keeps much of the backlog: minutes.
    assert float(np.quantile(normal_latencies(lat), 0.99)) > 300_000


def test_a_slow_path_in_every_stretch_is_no_outage() -> None:
    """Four in ten approved by a person two hours later, the rest at once, all
    through the log: no stretch is an outage's backlog."""
    rng = np.random.default_rng(2)
    bucket = np.repeat(np.arange(50), 12)
    lat = 200.0 * np.exp(rng.normal(0.0, 0.8, bucket.size))
    human = rng.random(bucket.size) < 0.4
    lat[human] = 7_200_000.0 * np.exp(rng.normal(0.0, 0.3, int(human.sum())))
    assert delayed_stretches_out(lat, bucket).size == lat.size
