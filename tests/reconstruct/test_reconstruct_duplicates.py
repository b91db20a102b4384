"""Duplicates: the same event id, or the same content (no event id) with the
same timestamp (a producer's retry) or within the redelivery window once the
instance moved on; a repeat that comes straight after its twin and that the
instance goes on from is an event (a loop), and so is a copy from far apart.
A copy that carries the event's own time (``occurredAt``) stamped later than
that time allows is a redelivery even where it comes straight after the
original; a run of the activity with its own time is an event."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from choreo.core.config import ChoreoConfig
from tests.support.engine_logs import STEPS, T0, TOPIC, Coord, Log, Truth, derive

_WINDOW_S = 900
_GAP_MS = 300

fault = st.sampled_from(
    (
        "none",
        "retry",
        "redelivery",
        "late-redelivery",
        "loop",
        "far",
        "event-id",
        "stamped-redelivery",
        "stamped-loop",
    )
)


def _order(log: Log, truth: Truth, i: int, t0: int, what: str, step: int, delay_ms: int) -> int:
    """One order without event ids; ``what`` happens to step ``step``. Returns its last time."""
    oid = f"ord-{i:04d}"
    t = t0
    orig: Coord | None = None
    for n, etype in enumerate(STEPS):
        eid = f"{oid}-{n}" if what == "event-id" else None
        # The event's own time, to the millisecond (not the record's timestamp).
        own: dict[str, Any] = {"occurredAt": t + 7} if what.startswith("stamped") else {}
        coord = log.event(TOPIC[etype], etype, t, key=oid, eid=eid, orderId=oid, step=n, **own)
        truth.add(oid, coord)
        if n == step:
            orig = coord
            if what == "stamped-redelivery":  # delivered again before the instance moved on
                t += delay_ms
                dup = log.event(TOPIC[etype], etype, t, key=oid, orderId=oid, step=n, **own)
                truth.add(oid, dup)
                truth.duplicates[dup] = coord
            elif what == "stamped-loop":  # ran again: its own time
                t += delay_ms
                again = log.event(TOPIC[etype], etype, t, key=oid, orderId=oid, step=n, occurredAt=t + 7)
                truth.add(oid, again)
            elif what == "retry":  # resent by the producer: the same record, the same timestamp
                dup = log.event(TOPIC[etype], etype, t, key=oid, orderId=oid, step=n)
                truth.add(oid, dup)
                truth.duplicates[dup] = coord
            elif what == "loop":  # the activity ran again, nothing tells the runs apart
                t += delay_ms
                truth.add(oid, log.event(TOPIC[etype], etype, t, key=oid, orderId=oid, step=n))
        t += _GAP_MS
    end = t - _GAP_MS
    assert orig is not None
    etype, eid = STEPS[step], f"{oid}-{step}" if what == "event-id" else None
    if what in ("redelivery", "late-redelivery", "event-id"):
        # Delivered again after the instance moved on (after its last step).
        at = end + (delay_ms if what != "late-redelivery" else 1_000)
        dup = log.event(TOPIC[etype], etype, at, key=oid, eid=eid, orderId=oid, step=step)
        truth.add(oid, dup)
        truth.duplicates[dup] = orig
    elif what == "far":  # alike, but far beyond any redelivery: another event
        at = end + _WINDOW_S * 1000 + delay_ms
        truth.add(oid, log.event(TOPIC[etype], etype, at, key=oid, orderId=oid, step=step))
        end = at
    return end


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    faults=st.lists(
        st.tuples(fault, st.integers(0, len(STEPS) - 2), st.integers(2_000, 600_000)), min_size=1, max_size=8
    )
)
def test_duplicates_are_copies_and_repeats_are_events(faults: list[tuple[str, int, int]]) -> None:
    log, truth = Log(), Truth()
    last = T0
    for i, (what, step, delay) in enumerate(faults):
        last = max(last, _order(log, truth, i, T0 + i * 3_600_000, what, step, delay))
    cfg = ChoreoConfig.model_validate({"reconstruct": {"redelivery_window": _WINDOW_S}})
    d = derive(log, cfg, now_ms=last + 60_000)
    exact = d.exact(truth)
    assert all(v is not None for v in exact.values()), exact
    assert d.duplicate_of == truth.duplicates
