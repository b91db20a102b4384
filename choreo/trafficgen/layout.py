"""From generated records to the dump and its truth: partition logs in
append order, retention's cut, and what each record and instance truly is."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from choreo.trafficgen.encode import InstanceIds
from choreo.trafficgen.kafka import Header
from choreo.trafficgen.play import Plan, Verdict
from choreo.trafficgen.spec import WorkflowSpec, activities
from choreo.trafficgen.truth import InstanceTruth, RecordKind, RecordTruth, WorkflowTruth


@dataclass(slots=True)
class PendingRecord:
    """A record produced, before its offset is known and retention had its say."""

    topic: str
    partition: int
    at: int  # true time the broker appended it
    ts: int
    ts_type: int
    key: bytes | None
    headers: list[Header]
    payload: bytes | None
    kind: RecordKind
    inst: int = -1  # index into the instance list (events, duplicates)
    ev: int = -1  # index into the instance's plan
    near: int = -1  # not-events: the instance whose key it carries
    dup_of: PendingRecord | None = None
    skew: int = 0
    poison: str | None = None
    offset: int = -1
    # The instance's linking values it carries (identifiers, its event id, its cause's, its trace id):
    # what could tie it to the instance's other records.
    tokens: frozenset[str] = frozenset()


@dataclass
class Played:
    """One instance as played out, and its first record of each event."""

    wf: WorkflowSpec
    plan: Plan
    verdict: Verdict
    ids: InstanceIds
    records: dict[int, PendingRecord] = field(default_factory=dict)  # event index -> its first record


def layout(recs: list[PendingRecord], cut: dict[str, int]) -> list[PendingRecord]:
    """Partition logs in append order; retention deletes what came before the window."""
    parts: dict[tuple[str, int], list[PendingRecord]] = {}
    for r in recs:
        parts.setdefault((r.topic, r.partition), []).append(r)
    kept: list[PendingRecord] = []
    for (_, _), recs in sorted(parts.items()):
        recs.sort(key=lambda r: r.at)  # stable: equal times keep production order
        for offset, r in enumerate(recs):
            r.offset = offset
            if r.at >= cut[r.topic]:
                kept.append(r)
    return kept


def truth_rows(
    kept: list[PendingRecord], played: list[Played], observed: dict[str, str], end: int
) -> tuple[list[RecordTruth], list[InstanceTruth]]:
    """Truth of every record left in the dump, and of every instance that has an event in it."""
    # The first copy of an event left in the dump is the event; later copies are duplicates.
    first: dict[tuple[int, int], PendingRecord] = {}
    for r in sorted((r for r in kept if r.inst >= 0), key=lambda r: (r.at, r.topic, r.partition, r.offset)):
        first.setdefault((r.inst, r.ev), r)
    kept_events: dict[int, list[PendingRecord]] = {}
    rows = []
    for r in kept:
        if r.inst < 0:
            near = played[r.near].ids.primary if r.near >= 0 else None
            rows.append(
                RecordTruth(
                    topic=r.topic,
                    partition=r.partition,
                    offset=r.offset,
                    ts=r.ts,
                    true_ms=r.at,
                    kind=r.kind,
                    poison=r.poison,
                    near=near,
                    skew_ms=r.skew,
                )
            )
            continue
        inst = played[r.inst]
        e = inst.plan.events[r.ev]
        orig = first[(r.inst, r.ev)]
        cause, cause_cut = None, False
        if e.cause is not None:
            c = first.get((r.inst, e.cause))
            cause_cut = c is None
            cause = None if c is None else (c.topic, c.partition, c.offset)
        kept_events.setdefault(r.inst, []).append(r)
        rows.append(
            RecordTruth(
                topic=r.topic,
                partition=r.partition,
                offset=r.offset,
                ts=r.ts,
                true_ms=r.at,
                kind="event" if orig is r else "duplicate",
                instance=inst.ids.primary,
                workflow=inst.wf.name,
                type=e.type,
                service=observed[e.service],
                cause=cause,
                cause_cut=cause_cut,
                duplicate_of=None if orig is r else coord_of(orig),
                skew_ms=r.skew,
                phase=e.phase,
                attempt=e.attempt,
            )
        )
    insts = []
    for n, recs in sorted(kept_events.items()):
        inst = played[n]
        v = inst.verdict
        ev0 = inst.plan.events[0]
        first_kept = min(r.at for r in recs)
        # Retention took events from after its first record in the dump (topics keep different
        # spans): what is left cannot show how it ended.
        hole = any((n, i) not in first and first_kept < e.at <= end for i, e in enumerate(inst.plan.events))
        why = "stalled recently" if v.ambiguous else "retention hole" if hole else None
        insts.append(
            InstanceTruth(
                id=inst.ids.primary,
                workflow=inst.wf.name,
                status=v.status,
                ambiguous=why is not None,
                ambiguous_why=why,
                start_cut=(n, 0) not in first and ev0.at <= end,
                linked=linked(recs),
                start_type=ev0.type,
                expected=list(dict.fromkeys(t for t, _ in v.expected)),
                expected_services=list(dict.fromkeys(observed[s] for _, s in v.expected)),
                stall=v.stall,
                stall_at=v.where,
                records=len(recs),
                first_ms=min(r.at for r in recs),
                last_ms=max(r.at for r in recs),
            )
        )
    return rows, insts


def carried(
    values: list[str | None], key: bytes | None, headers: list[Header], payload: bytes | None
) -> frozenset[str]:
    """The values a record carries whole (not inside a longer word), in its key, headers or payload."""
    parts = [key or b"", payload or b"", *(v or b"" for _, v in headers)]
    out = set()
    for v in values:
        if not v:
            continue
        word = re.compile(rb"(?<![A-Za-z0-9_-])" + re.escape(v.encode()) + rb"(?![A-Za-z0-9_-])")
        if any(word.search(p) for p in parts):
            out.add(v)
    return frozenset(out)


def linked(recs: list[PendingRecord]) -> bool:
    """Whether shared values tie all these records together (transitively): what
    retention left of an instance may be fragments that nothing in the dump joins."""
    if len(recs) <= 1:
        return True
    root = list(range(len(recs)))

    def find(i: int) -> int:
        while root[i] != i:
            root[i] = root[root[i]]
            i = root[i]
        return i

    first: dict[str, int] = {}
    for i, r in enumerate(recs):
        for tok in r.tokens:
            j = first.setdefault(tok, i)
            root[find(i)] = find(j)
    return len({find(i) for i in range(len(recs))}) == 1


def coord_of(r: PendingRecord) -> tuple[str, int, int]:
    return (r.topic, r.partition, r.offset)


def workflow_truth(w: WorkflowSpec) -> WorkflowTruth:
    types = set(w.start_types())
    for a in activities(w):
        types.update(t for t in (a.type, a.failure, a.compensation) if t)
    return WorkflowTruth(
        name=w.name,
        start_types=w.start_types(),
        end_type=w.end.type if w.end else None,
        rejected_type=w.rejected.type,
        cancelled_type=w.cancelled.type,
        types=sorted(types),
    )
