"""A type's events stamped at the same instant (an activity's start and
complete recorded together, on different partitions, no causation id) follow
their lifecycle transition, not the partition they landed on."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np

from choreo.core.store import Store
from choreo.reconstruct.engine.order import Constraints, causal_order
from choreo.reconstruct.engine.pipeline import rebuild
from choreo.reconstruct.query.lifecycle import PHASES, UNKNOWN_PHASE
from tests.support.saga_builder import T0, Log


def _order(
    ts: list[int],
    tp: list[int],
    kind: list[int],
    phase: list[int],
    dup_of: list[int],
    prev: list[int] | None = None,
) -> list[int]:
    n = len(ts)
    none = np.full(n, -1, dtype=np.int64)
    c = Constraints(
        parent=none,
        prev=np.array(prev, dtype=np.int64) if prev else none,
        learned=np.full((1, n), -1, dtype=np.int64),
        clock=np.zeros(n, dtype=np.int64),
    )
    asked: list[int] = []

    def phase_of(pos: np.ndarray) -> np.ndarray:
        asked.extend(pos.tolist())
        return np.array([phase[p] for p in pos.tolist()], dtype=np.int64)

    o = causal_order(
        np.zeros(n, dtype=np.int64),
        np.array(ts, dtype=np.int64),
        np.zeros(n, dtype=np.int64),
        np.array(dup_of, dtype=np.int64),
        np.array(tp, dtype=np.int64),
        c,
        kind=np.array(kind, dtype=np.int64),
        phase_of=phase_of,
    )
    # Only the tied events' transitions are looked up.
    assert all(ts[p] == 100 for p in asked), asked
    return [int(p) for p in o.order]


START, COMPLETE = PHASES["start"], PHASES["complete"]


def test_start_before_complete_whatever_the_partition() -> None:
    # 0: earlier event; 1: complete on partition 0; 2: start on partition 5;
    # 3: a duplicate of the complete; 4: later event.
    got = _order(
        ts=[50, 100, 100, 100, 200],
        tp=[0, 0, 5, 0, 1],
        kind=[7, 3, 3, 3, 8],
        phase=[UNKNOWN_PHASE, COMPLETE, START, COMPLETE, UNKNOWN_PHASE],
        dup_of=[-1, -1, -1, 1, -1],
    )
    assert got == [0, 2, 1, 3, 4]


def test_the_start_after_an_earlier_event_on_its_partition_still_comes_first() -> None:
    """The start follows the earlier event on its partition (one level deeper):
    that says nothing about the complete on another partition."""
    got = _order(
        ts=[50, 100, 100],
        tp=[5, 0, 5],
        kind=[7, 3, 3],
        phase=[UNKNOWN_PHASE, COMPLETE, START],
        dup_of=[-1, -1, -1],
        prev=[-1, -1, 0],
    )
    assert got == [0, 2, 1]


def test_one_partition_keeps_its_order_and_other_types_are_not_reordered() -> None:
    # Same partition: the position (stored order) stands, whatever the transitions say.
    assert _order([100, 100], [2, 2], [3, 3], [COMPLETE, START], [-1, -1], prev=[-1, 0]) == [0, 1]
    # Two types at one instant: not a lifecycle, nothing looked up changes them.
    assert _order([100, 100], [0, 5], [3, 4], [COMPLETE, START], [-1, -1]) == [0, 1]


def test_a_store_orders_start_and_complete_stamped_together(tmp_path: Path) -> None:
    """Approvals recorded as start and complete at the same millisecond, each
    on a partition of its own choosing (no key): every instance holds the start
    first, and the XES-style field name counts as well."""
    rng = random.Random(3)
    log = Log()
    truth: dict[str, tuple[tuple[str, int, int], tuple[str, int, int]]] = {}
    for i in range(120):
        key = f"req-{i}"
        t = T0 + i * 10_000
        log.event("requests", "Requested", t, key=key, requestId=key)
        at = t + rng.randint(100, 5_000)
        field = "lifecycle" if i % 2 else "lifecycle:transition"
        first, second = rng.sample(range(4), 2)
        done_f: dict[str, Any] = {field: "complete"}
        start_f: dict[str, Any] = {field: "start"}
        done = log.event("approvals", "Approval", at, partition=first, requestId=key, **done_f)
        began = log.event("approvals", "Approval", at, partition=second, requestId=key, **start_f)
        log.event("requests", "Closed", at + rng.randint(50, 500), key=key, requestId=key)
        truth[key] = (began, done)
    log.store(tmp_path / "s.duckdb")
    with Store.open(tmp_path / "s.duckdb") as s:
        rebuild(s, now_ms=T0 + 10**9)
        seq = {
            (str(t), int(p), int(o)): int(q)
            for t, p, o, q in s.query('SELECT topic, partition, "offset", seq FROM instance_events')
        }
    wrong = [k for k, (began, done) in truth.items() if seq[began] > seq[done]]
    assert wrong == []
