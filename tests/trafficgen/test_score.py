"""The scorer against a perfect reconstruction (built from the truth) and
against that reconstruction with one thing wrong at a time: each mistake
moves exactly its measure, and is listed with the instance and why."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from choreo.trafficgen.score import Score, as_dict, score
from choreo.trafficgen.traffic import Generated, generate
from choreo.trafficgen.truth import InstanceTruth
from tests.trafficgen.support import oracle_store, small


@pytest.fixture(scope="module")
def gen() -> Generated:
    knobs = small(
        instances=120,
        seed=7,
        stall_rate=0.2,
        dup_rate=0.1,
        redelivery_rate=0.05,
        poison_per_10k=300.0,
        tombstone_rate=0.1,
        truncated_rate=0.1,
    )
    return generate(knobs)


@pytest.fixture
def oracle(gen: Generated, tmp_path: Path) -> Path:
    db = tmp_path / "oracle.duckdb"
    oracle_store(gen.truth, db)
    return db


def test_a_perfect_reconstruction_scores_perfectly(gen: Generated, oracle: Path) -> None:
    s = score(gen.truth, oracle)
    # The example is not trivial: every measure has something to judge.
    assert s.stuck_true > 0 and s.dup_groups > 0 and s.not_events > 0 and s.order_judged > 0
    assert s.measures() == {
        "exact": 1.0,
        "workflows_found": 3,
        "workflows_true": 3,
        "workflows_named_not_start": 0,
        "status_right": 1.0,
        "cause_before_effect": 1.0,
        "stuck_recall": 1.0,
        "stuck_precision": 1.0,
        "stuck_right_expected": 1.0,
        "not_events_attached": 0,
        "not_events": s.not_events,
        "duplicates_marked": 1.0,
        "false_duplicates": 0,
    }
    assert s.failures == []


def _one(gen: Generated, pred: Callable[[InstanceTruth], bool]) -> InstanceTruth:
    return next(i for i in gen.truth.instances if pred(i) and not i.ambiguous and i.linked)


def test_an_instance_nothing_in_the_dump_links_is_left_out_of_exact(gen: Generated, oracle: Path) -> None:
    """Retention can take every record that joined an instance's parts: no
    reconstruction can stitch what is left, and exact leaves it out."""
    inst = _one(gen, lambda i: i.records >= 3)
    cut = [i.model_copy(update={"linked": False}) if i.id == inst.id else i for i in gen.truth.instances]
    truth = gen.truth.model_copy(update={"instances": cut})
    before = score(truth, oracle)
    _sql(
        oracle,
        "UPDATE instance_events SET instance_id = 'part' WHERE instance_id = ? AND seq = 1",
        f"o:{inst.id}",
    )
    s = score(truth, oracle)
    assert s.unlinkable == before.unlinkable == score(gen.truth, oracle).unlinkable + 1
    assert s.exact == before.exact == s.true_instances - s.unlinkable
    assert s.measures()["exact"] == 1.0 and not [f for f in s.failures if f.measure == "exact"]


def _sql(db: Path, sql: str, *params: object) -> None:
    with duckdb.connect(str(db)) as con:
        con.execute(sql, list(params))


def test_a_split_instance_is_not_exact(gen: Generated, oracle: Path) -> None:
    inst = _one(gen, lambda i: i.records >= 3)
    _sql(
        oracle,
        "UPDATE instance_events SET instance_id = 'split' WHERE instance_id = ? AND seq = 1",
        f"o:{inst.id}",
    )
    s = score(gen.truth, oracle)
    assert s.exact == s.true_instances - s.unlinkable - 1
    (f,) = [f for f in s.failures if f.measure == "exact"]
    assert f.subject == inst.id and "split across 2 instances" in f.detail


def test_merged_instances_are_not_exact(gen: Generated, oracle: Path) -> None:
    a, b = gen.truth.instances[0], gen.truth.instances[1]
    _sql(oracle, "UPDATE instance_events SET instance_id = ? WHERE instance_id = ?", f"o:{a.id}", f"o:{b.id}")
    s = score(gen.truth, oracle)
    assert s.exact == s.true_instances - s.unlinkable - 2
    assert any(f.subject == a.id and "merged with 1 other" in f.detail for f in s.failures)


def test_a_wrong_status_is_counted(gen: Generated, oracle: Path) -> None:
    inst = _one(gen, lambda i: i.status == "completed")
    _sql(oracle, "UPDATE instances SET status = 'running' WHERE instance_id = ?", f"o:{inst.id}")
    s = score(gen.truth, oracle)
    assert s.status_right == s.status_judged - 1
    assert s.status_confusion["completed->running"] == 1


def test_an_effect_before_its_cause_is_counted(gen: Generated, oracle: Path) -> None:
    r = next(r for r in gen.truth.records if r.kind == "event" and r.cause is not None)
    c = r.cause
    assert c is not None
    with duckdb.connect(str(oracle)) as con:
        (sq,) = con.execute(
            'SELECT seq FROM instance_events WHERE topic=? AND partition=? AND "offset"=?', list(r.coord)
        ).fetchone() or (None,)
        con.execute(
            'UPDATE instance_events SET seq = ? + 1 WHERE topic=? AND partition=? AND "offset"=?', [sq, *c]
        )
    s = score(gen.truth, oracle)
    assert s.order_right == s.order_judged - 1
    (f,) = [f for f in s.failures if f.measure == "order"]
    assert f.subject == r.instance and f"caused {r.type}" in f.detail


def test_stuck_misses_false_alarms_and_wrong_expectations(gen: Generated, oracle: Path) -> None:
    stuck = [i for i in gen.truth.instances if i.status == "stuck" and not i.ambiguous]
    done = _one(gen, lambda i: i.status == "completed")
    _sql(oracle, "DELETE FROM stuck WHERE instance_id = ?", f"o:{stuck[0].id}")
    _sql(oracle, "UPDATE stuck SET expected_types = ['Nope'] WHERE instance_id = ?", f"o:{stuck[1].id}")
    _sql(
        oracle,
        "INSERT INTO stuck (instance_id, workflow, reason, last_type, last_service, last_topic, "
        "last_partition, last_offset, expected_types, silent_ms, explanation) "
        "VALUES (?, 'w', 'overdue', 't', 's', 't', 0, 0, ['X'], 0, 'x')",
        f"o:{done.id}",
    )
    s = score(gen.truth, oracle)
    m = s.measures()
    assert s.stuck_found == s.stuck_true - 1
    assert m["stuck_precision"] == (s.stuck_flagged - 1) / s.stuck_flagged
    assert s.stuck_right_expected == s.stuck_true - 2
    kinds = {f.measure: f.subject for f in s.failures}
    assert kinds == {"stuck-missed": stuck[0].id, "expected": stuck[1].id, "stuck-false": done.id}


def test_not_events_attached_and_duplicates(gen: Generated, oracle: Path) -> None:
    poison = next(r for r in gen.truth.records if r.kind == "poison")
    dup = next(r for r in gen.truth.records if r.kind == "duplicate")
    single = next(
        r
        for r in gen.truth.records
        if r.kind == "event"
        and r.coord != dup.duplicate_of
        and not any(x.duplicate_of == r.coord for x in gen.truth.records)
    )
    inst = gen.truth.instances[0]
    _sql(
        oracle,
        "INSERT INTO instance_events VALUES (?, ?, ?, ?, 999, 0, 0, NULL, NULL)",
        f"o:{inst.id}",
        *poison.coord,
    )
    _sql(
        oracle,
        'UPDATE instance_events SET duplicate_of_seq = NULL WHERE topic=? AND partition=? AND "offset"=?',
        *dup.coord,
    )
    _sql(
        oracle,
        'UPDATE instance_events SET duplicate_of_seq = 0 WHERE topic=? AND partition=? AND "offset"=?',
        *single.coord,
    )
    s = score(gen.truth, oracle)
    assert s.not_events_attached == 1 and s.attached_by_kind == {"poison": 1}
    assert s.dup_groups_marked == s.dup_groups - 1
    assert s.false_duplicates == 1
    assert (
        s.exact == s.true_instances - s.unlinkable
    )  # a not-event does not spoil membership: it has its own measure


def test_workflows_found_and_names(gen: Generated, oracle: Path) -> None:
    inst = gen.truth.instances[0]
    not_a_start = next(t for w in gen.truth.workflows for t in w.types if t not in w.start_types)
    _sql(oracle, "UPDATE instances SET workflow = ? WHERE instance_id = ?", not_a_start, f"o:{inst.id}")
    s = score(gen.truth, oracle)
    assert s.workflows_found == 4 and s.workflow_names_not_start == [not_a_start]
    assert as_dict(s)["failures"]["workflow"]


def test_json_shape(gen: Generated, oracle: Path) -> None:
    d = as_dict(score(gen.truth, oracle), failures=1)
    assert set(d) == {"measures", "counts", "failure_totals", "failures"}
    assert isinstance(Score(**d["counts"]), Score)
