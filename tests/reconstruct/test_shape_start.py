"""A start told by the shape of the time differences alone (``precedence.shape_starts``):
a start no causation id names, stamped by a clock ahead of every first step's."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from choreo.core.config import ChoreoConfig
from choreo.core.store import Store
from choreo.reconstruct.engine.pipeline import rebuild
from tests.support.saga_builder import T0, Log

# (type, service, median latency after the start in ms, clock offset in ms)
BRANCHES = (
    ("QuotaReserved", "quota-service", 103.0, 86),
    ("KycRouted", "kyc-service", 416.0, -305),
    ("MediaUploaded", "media-service", 48.0, -248),
    ("TaxArchived", "tax-service", 53.0, -390),
)


def _trips(log: Log, n: int) -> None:
    """TripCreated (trip-service, clock 286 ms ahead, no event id) -> four
    branches from four services whose clocks are 200 to 700 ms behind, each
    answering in 50 to 400 ms: every branch is stamped before the start in
    (nearly) every trip; no causation id ties any of them to it."""
    rng = np.random.default_rng(7)
    for i in range(n):
        t = T0 + i * 5_000
        trip = f"trip-{i}"
        log.event("trips", "TripCreated", t + 286, service="trip-service", tripId=trip, partition=i % 2)
        for etype, svc, median, clock in BRANCHES:
            at = t + int(median * np.exp(rng.normal(0.0, 0.8))) + clock
            log.event(svc.split("-")[0], etype, at, service=svc, tripId=trip, partition=i % 3)


def test_a_start_stamped_after_all_its_first_steps_still_starts_its_instances(db_path: Path) -> None:
    log = Log()
    _trips(log, 400)
    log.store(db_path)
    with Store.open(db_path) as s:
        rebuild(s, ChoreoConfig())
        workflows = {str(w) for (w,) in s.query("SELECT DISTINCT workflow FROM instances")}
        firsts = s.query("SELECT first_type, count(*) FROM instances GROUP BY 1 ORDER BY 2 DESC")
    assert workflows == {"TripCreated"}
    assert firsts == [("TripCreated", 400)]
