"""The generator's truth: invariants, determinism, declared specs, and that
each knob does what it says."""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings

from choreo.trafficgen.kafka import kcat_line
from choreo.trafficgen.knobs import CORNERS, Knobs, corner
from choreo.trafficgen.spec import Parallel, dump_spec, load_spec
from choreo.trafficgen.traffic import Generated, generate
from tests.trafficgen.invariants import check_readable, check_truth
from tests.trafficgen.support import knob_sweep, small


@pytest.fixture(scope="module")
def default_small() -> Generated:
    return generate(small(instances=150, seed=5))


def test_truth_invariants_at_defaults(default_small: Generated) -> None:
    check_truth(default_small)
    check_readable(default_small)
    c = default_small.truth.counts()
    assert c["workflows"] == 3
    # Every status and kind of record the defaults promise turns up.
    assert {"completed", "running"} <= set(c["status"])
    assert {"event", "duplicate"} <= set(c["kinds"])


@pytest.mark.parametrize("name", list(CORNERS))
def test_truth_invariants_at_each_corner(name: str) -> None:
    g = generate(corner(name, small(instances=80, seed=11)))
    check_truth(g)
    check_readable(g)


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(knobs=knob_sweep())
def test_truth_invariants_over_the_knobs(knobs: Knobs) -> None:
    g = generate(knobs)
    check_truth(g)
    check_readable(g)


def test_same_seed_same_dump_other_seed_other_names() -> None:
    a, b = generate(small(seed=3)), generate(small(seed=3))
    assert [kcat_line(r) for r in a.records] == [kcat_line(r) for r in b.records]
    assert a.truth == b.truth
    c = generate(small(seed=4))
    # Nothing is tuned to one vocabulary: another seed names types, services and topics anew.
    types = {t for w in a.truth.workflows for t in w.types}
    assert not types & {t for w in c.truth.workflows for t in w.types}


def test_declared_spec_round_trips(tmp_path: Path) -> None:
    knobs = small(seed=9)
    g = generate(knobs)
    (tmp_path / "spec.json").write_bytes(dump_spec(g.spec))
    again = generate(knobs, load_spec(tmp_path / "spec.json"))
    assert again.truth == g.truth


def test_counts_follow_the_knobs() -> None:
    g = generate(small(instances=400, seed=2, poison_per_10k=100.0, retention_lead_ms=0))
    c = g.truth.counts()
    n_records = c["records"]
    assert c["kinds"]["poison"] == pytest.approx(100 * n_records / 10_000, rel=0.05, abs=2)
    assert c["start_cut"] == 0
    # With no lead before the window every started instance is in the dump.
    assert c["instances"] == 400


def test_no_faults_no_stuck_and_no_skew() -> None:
    g = generate(corner("clean", small(instances=200, seed=1)))
    assert "stuck" not in g.truth.counts()["status"]
    assert all(r.skew_ms == 0 and r.ts == r.true_ms for r in g.truth.records)


def test_skew_is_per_producer_within_the_range() -> None:
    g = generate(small(seed=8, skew_ms=(-420, 330), replicas=(1, 1)))
    skews: dict[str, set[int]] = defaultdict(set)
    for r in g.truth.records:
        if r.kind == "event" and r.service is not None:
            skews[r.service].add(r.skew_ms)
    assert all(len(s) == 1 for s in skews.values()), "one clock per single-host service"
    assert all(-420 <= x <= 330 for s in skews.values() for x in s)
    assert len({x for s in skews.values() for x in s}) > 1


def test_bare_loops_repeat_equal_payloads_that_are_not_duplicates() -> None:
    g = generate(
        small(
            seed=4,
            loop_share=1.0,
            bare_loop_share=1.0,
            loop_max=5,
            cloudevents_binary_share=0.0,
            cloudevents_structured_share=0.0,
            dup_rate=0.0,
            redelivery_rate=0.0,
        )
    )
    payload = {(r.topic, r.partition, r.offset): r.payload for r in g.records}
    seen: Counter[tuple[str | None, bytes | None]] = Counter()
    for r in g.truth.records:
        if r.kind == "event":
            seen[(r.instance, payload[r.coord])] += 1
    assert any(n > 1 for n in seen.values()), "equal payloads of one instance, all of them true events"


def test_stalls_hit_every_kind_of_step() -> None:
    knobs = corner("stuck", small(instances=500, seed=6, fanout_share=1.0, loop_share=1.0))
    g = generate(knobs.with_(failure_rate=0.5, failure_share=1.0))
    where = Counter(i.stall_at for i in g.truth.instances if i.status == "stuck")
    assert {"step", "branch", "loop", "compensation"} <= set(where), where


def test_fanout_branches_arrive_in_any_order() -> None:
    g = generate(small(instances=200, seed=12, fanout_share=1.0, branches=(3, 3), workflows=1))
    (wf,) = g.spec.workflows
    par = next(i for i in wf.body if isinstance(i, Parallel))
    firsts = {b[0].type for b in par.branches}
    orders = set()
    by: dict[str | None, list[tuple[int, str]]] = defaultdict(list)
    for r in g.truth.records:
        if r.kind == "event" and r.type in firsts:
            by[r.instance].append((r.true_ms, str(r.type)))
    for evs in by.values():
        orders.add(tuple(t for _, t in sorted(evs)))
    assert len(orders) > 1


def test_retention_cuts_starts_and_offsets_begin_above_zero() -> None:
    g = generate(corner("retention", small(instances=200, seed=3)))
    assert g.truth.counts()["start_cut"] > 0
    assert min(r.offset for r in g.records) > 0 or len({(r.topic, r.partition) for r in g.records}) > 1
    cut = [i for i in g.truth.instances if i.start_cut]
    assert all(
        r.cause_cut
        for r in g.truth.records
        if r.instance in {i.id for i in cut} and r.cause is None and r.kind == "event"
    )


@pytest.mark.parametrize("shape", ["array", "map"])
def test_header_shapes(shape: str) -> None:
    g = generate(small(seed=2, header_shape=shape, traceparent_share=1.0))
    lines = [kcat_line(r, g.header_shapes[r.topic]) for r in g.records if r.headers]
    assert lines
    assert all((b'"headers":{' in ln) == (shape == "map") for ln in lines)
    assert all(isinstance(orjson.loads(ln), dict) for ln in lines)
