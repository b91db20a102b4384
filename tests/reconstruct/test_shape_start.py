"""Starts and ends told by the shape of the time differences alone
(``precedence.shape_starts_and_ends``): a start no causation id names,
stamped by a clock ahead of every first step's; an end stamped by a clock
behind its cause's by more than the step takes."""

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


def _applications(log: Log, n: int) -> None:
    """ApplicationCreated (application-service, clock 327 ms behind) ->
    Audited (1 s) -> CourierScheduled (courier-service, clock 299 ms ahead,
    4 s) -> CourierDelivered (courier-service, 8 min) -> ApplicationCompleted
    (application-service, 60 ms later): the end is stamped 560 ms before its
    cause in (nearly) every application, and no causation id ties them."""
    rng = np.random.default_rng(8)
    for i in range(n):
        t = T0 + i * 20_000
        app = f"app-{i}"
        log.event(
            "apps", "ApplicationCreated", t - 327, service="application-service", appId=app, partition=i % 2
        )
        audited = t + int(1_000 * np.exp(rng.normal(0.0, 0.8)))
        log.event("audits", "Audited", audited + 128, service="audit-service", appId=app, partition=i % 3)
        scheduled = audited + int(4_000 * np.exp(rng.normal(0.0, 0.8)))
        log.event(
            "courier", "CourierScheduled", scheduled + 299, service="courier-service", appId=app, partition=0
        )
        delivered = scheduled + int(480_000 * np.exp(rng.normal(0.0, 0.8)))
        log.event(
            "courier", "CourierDelivered", delivered + 299, service="courier-service", appId=app, partition=1
        )
        done = delivered + int(60 * np.exp(rng.normal(0.0, 0.8)))
        log.event(
            "apps",
            "ApplicationCompleted",
            done - 327,
            service="application-service",
            appId=app,
            partition=i % 2,
        )


def test_an_end_stamped_before_its_cause_by_a_clock_behind_still_ends_its_instances(db_path: Path) -> None:
    log = Log()
    _applications(log, 400)
    log.store(db_path)
    with Store.open(db_path) as s:
        rebuild(s, ChoreoConfig())
        lasts = s.query("SELECT last_type, count(*) FROM instances GROUP BY 1 ORDER BY 2 DESC")
        statuses = s.query("SELECT status, count(*) FROM instances GROUP BY 1")
    assert lasts == [("ApplicationCompleted", 400)]
    assert statuses == [("completed", 400)]
