"""What must hold for every generated dump and its truth, whatever the knobs."""

from __future__ import annotations

from collections import defaultdict

import orjson

from choreo.collector.extract import Extractor
from choreo.trafficgen.kafka import TS_CREATE, partition_for
from choreo.trafficgen.traffic import Generated
from choreo.trafficgen.truth import RecordTruth


def check_truth(g: Generated) -> None:
    t, spec = g.truth, g.spec
    rows = {r.coord: r for r in t.records}
    assert len(rows) == len(t.records) == len(g.records), "one truth row per record"
    # Dump order is topic, partition, offset; offsets rise within a partition, as does append time.
    coords = [(r.topic, r.partition, r.offset) for r in g.records]
    assert coords == sorted(coords)
    last: dict[tuple[str, int], RecordTruth] = {}
    for rec in g.records:
        row = rows[(rec.topic, rec.partition, rec.offset)]
        assert row.ts == rec.ts
        prev = last.get((rec.topic, rec.partition))
        if prev is not None:
            assert row.true_ms >= prev.true_ms, "Kafka position follows append time"
        last[(rec.topic, rec.partition)] = row
        topic = spec.topic(rec.topic)
        assert rec.partition < topic.partitions
        if rec.key is not None:
            assert rec.partition == partition_for(rec.key, topic.partitions), "keyed: the default partitioner"
        if row.kind == "duplicate" and row.duplicate_of is not None and rows[row.duplicate_of].ts == rec.ts:
            pass  # a producer retry re-sends the batch with its timestamp
        elif rec.ts_type == TS_CREATE:
            assert rec.ts - row.true_ms == row.skew_ms, "create time is the producer's clock"
        else:
            assert rec.ts == row.true_ms
    assert t.now_ms == max(r.ts for r in g.records)

    by_instance: dict[str, list[RecordTruth]] = defaultdict(list)
    for r in t.records:
        if r.is_event:
            assert r.instance is not None and r.type is not None and r.workflow is not None
            by_instance[r.instance].append(r)
        else:
            assert r.instance is None and r.cause is None
    for r in t.records:
        if r.kind == "event" and r.cause is not None:
            c = rows[r.cause]
            assert c.kind == "event" and c.instance == r.instance, "a cause is an event of the same instance"
            assert c.true_ms <= r.true_ms, "causes precede their effects in true time"
            assert not r.cause_cut
        if r.kind == "duplicate":
            assert r.duplicate_of is not None
            o = rows[r.duplicate_of]
            assert o.kind == "event" and o.instance == r.instance and o.type == r.type
            assert o.true_ms <= r.true_ms
        if r.kind == "tombstone":
            assert _payload(g, r) is None
        if r.kind in ("poison", "truncated"):
            assert _not_json(_payload(g, r))

    # Distinct events with equal content are spaced well beyond any redelivery: a window can tell them apart.
    window = 2 * float(t.knobs["redelivery_delay_ms"][1])
    content = {(x.topic, x.partition, x.offset): (x.key, x.payload) for x in g.records}
    seen: dict[tuple[object, ...], int] = {}
    for r in sorted(t.records, key=lambda r: r.true_ms):
        if r.kind == "event":
            same = (r.instance, r.type, *content[r.coord])
            if same in seen:
                assert r.true_ms - seen[same] >= window, r
            seen[same] = r.true_ms

    workflows = {w.name: w for w in t.workflows}
    assert {i.id for i in t.instances} == set(by_instance)
    for inst in t.instances:
        evs = by_instance[inst.id]
        assert inst.records == len(evs)
        wf = workflows[inst.workflow]
        assert inst.start_type in wf.start_types
        starts = [r for r in evs if r.kind == "event" and r.cause is None and not r.cause_cut]
        assert len(starts) == (0 if inst.start_cut else 1)
        if starts:
            assert starts[0].type == inst.start_type
        types = {r.type for r in evs}
        # Only retention (the start or a record joining two parts gone) leaves
        # records that nothing in the dump ties together.
        assert inst.linked or inst.start_cut or inst.ambiguous_why == "retention hole", inst
        if inst.ambiguous:
            assert inst.ambiguous_why in ("stalled recently", "retention hole")
            continue
        if inst.status == "failed":
            assert wf.rejected_type in types
        if inst.status == "compensated":
            assert wf.cancelled_type in types
        if inst.status == "completed" and wf.end_type is not None:
            assert wf.end_type in types
        if inst.status == "stuck":
            assert inst.expected and inst.expected_services and inst.stall in ("stall", "outage")
        else:
            assert not inst.expected


def _payload(g: Generated, r: RecordTruth) -> bytes | None:
    return next(x.payload for x in g.records if (x.topic, x.partition, x.offset) == r.coord)


def _not_json(payload: bytes | None) -> bool:
    if payload is None:
        return False
    try:
        return not isinstance(orjson.loads(payload), dict)
    except orjson.JSONDecodeError:
        return True


def check_readable(g: Generated) -> None:
    """choreo's extractor reads every event's type and its producer's name as the truth states them."""
    ex = Extractor()
    rows = {r.coord: r for r in g.truth.records}
    for rec in g.records:
        row = rows[(rec.topic, rec.partition, rec.offset)]
        if not row.is_event:
            continue
        got = ex.extract(rec.topic, rec.key, rec.headers, rec.payload)
        assert (got.event_type, got.service) == (row.type, row.service), row
