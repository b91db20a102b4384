"""An effect never comes before its cause by more than any clock is off
(``precedence_dag.Matrices.refuted``): a fast branch whose service was down
for hours is not taken for the cause of its slow sibling."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from choreo.core.config import ChoreoConfig
from choreo.core.store import Store
from choreo.reconstruct.engine.pipeline import rebuild
from tests.support.saga_builder import T0, Log

MINUTE = 60_000


# (type, service, topic, median latency after the one before in ms); each
# branch a chain of steps, all after TicketCreated.
BRANCHES = (
    (("Archived", "routing-service", "routing", 738.0),),
    (("Packed", "media-service", "media", 231.0), ("Stamped", "media-service", "media", 142.0)),
    (("Billed", "billing-service", "billing", 411.0), ("Tagged", "billing-service", "billing", 335.0)),
    (("Queued", "search-service", "search", 450_000.0), ("Measured", "search-service", "search", 1_667.0)),
)


def _tickets(log: Log) -> None:
    """A ticket a minute for 400 minutes: TicketCreated -> four branches,
    one of them slow (Queued, 7.5 min) -> TicketPrepared once all came. The
    routing service is down from minute 150 to 280, then works off its
    backlog: those tickets are archived hours late, long after they were
    queued. Archived comes before Queued in every other ticket, and its
    latency is the shorter: read off the shape of the difference alone, it
    looks like Queued's cause (trafficgen seed 101, two workflows: then
    Queued and all after it were moved hours late behind Archived, and 66
    completed tickets called running)."""
    rng = np.random.default_rng(5)
    back = T0 + 280 * MINUTE
    for i in range(400):
        t = T0 + i * MINUTE
        ticket = f"tkt-{i}"
        log.event("tickets", "TicketCreated", t, service="ticket-service", ticketId=ticket, partition=i % 2)
        ends = []
        for branch in BRANCHES:
            at = t
            for etype, svc, topic, median in branch:
                at += int(median * np.exp(rng.normal(0.0, 0.8)))
                if etype == "Archived" and 150 <= i < 280:
                    at = max(at, back + (i - 150) * 300)
                log.event(topic, etype, at, service=svc, ticketId=ticket, partition=i % 3)
            ends.append(at)
        done = max(ends) + int(100 * np.exp(rng.normal(0.0, 0.5)))
        log.event(
            "tickets", "TicketPrepared", done, service="ticket-service", ticketId=ticket, partition=i % 2
        )


def test_a_branch_down_for_hours_is_not_taken_for_the_cause_of_its_slow_sibling(db_path: Path) -> None:
    log = Log()
    _tickets(log)
    log.store(db_path)
    with Store.open(db_path) as s:
        rebuild(s, ChoreoConfig(), now_ms=T0 + 500 * MINUTE)
        learned = s.query(
            "SELECT count(*) FROM model_precedence WHERE parent_type = 'Archived' AND child_type = 'Queued'"
        )
        moved = s.query("SELECT count(*) FROM instance_events WHERE abs(skew_ms) > 60000")
        statuses = s.query("SELECT status, count(*) FROM instances GROUP BY 1")
    assert learned == [(0,)]
    assert moved == [(0,)]
    assert statuses == [("completed", 400)]
