"""The simulator's own record of what happened: the ground truth.

Every record produced (with its Kafka coordinates once delivered), which
instance it belongs to, which are duplicates, skewed or poison, and per
instance its final outcome; for stuck instances the event that was consumed
without reaction, the expected next event type(s) and the responsible
service. Written as JSON next to a demo store or a fixture dump.

The recorder is the simulator's bookkeeping only: services never read it
to make decisions (it is how the ground truth learns which instance a
consumed record belongs to, which a carrier service itself does not know).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from choreo.demo.runtime import Choreography, Outbound
from choreo.reconstruct.query.records import STATUS_ORDER

TRUTH_VERSION = 1


@dataclass
class _Record:
    seq: int
    topic: str
    event_type: str | None
    service: str
    instance: str | None
    duplicate_of: int | None
    skew_ms: int
    poison: str | None
    partition: int | None = None
    offset: int | None = None
    ts_ms: int | None = None
    error: str | None = None

    def coords(self) -> list[Any]:
        return [self.topic, self.partition, self.offset]


@dataclass
class _Withheld:
    service: str
    event_type: str
    reason: str
    after_seq: int | None  # the consumed record that got no reaction
    after_type: str


@dataclass
class _Instance:
    id: str
    workflow: str
    index: int
    ids: dict[str, str]
    records: list[int] = field(default_factory=list)
    withheld: list[_Withheld] = field(default_factory=list)


class GroundTruth:
    """Thread-safe recorder shared by all services of one run."""

    def __init__(self, choreographies: Iterable[Choreography]) -> None:
        self._lock = threading.Lock()
        self._chors = {c.workflow: c for c in choreographies}
        self._records: list[_Record] = []
        self._instances: dict[str, _Instance] = {}
        self._by_content: dict[tuple[str, bytes | None, str | None], int] = {}

    # -- recording ----------------------------------------------------------
    def begin(self, workflow: str, instance_id: str, index: int) -> None:
        with self._lock:
            self._instances[instance_id] = _Instance(instance_id, workflow, index, {})

    def produced(
        self,
        out: Outbound,
        service: str,
        instance: str | None,
        *,
        skew_ms: int = 0,
        poison: str | None = None,
    ) -> int:
        """Register a record about to be produced; returns its sequence number.

        Producing byte-identical content again (a retried publish) registers a
        duplicate of the first.
        """
        with self._lock:
            seq = len(self._records)
            content = (out.topic, out.value, out.key)
            first = self._by_content.get(content) if poison is None else None
            if first is None and poison is None:
                self._by_content[content] = seq
            self._records.append(
                _Record(
                    seq,
                    out.topic,
                    out.event_type if poison is None else None,
                    service,
                    instance,
                    first,
                    skew_ms,
                    poison,
                )
            )
            if instance is not None and instance in self._instances:
                inst = self._instances[instance]
                inst.records.append(seq)
                for k, v in out.ids.items():
                    inst.ids.setdefault(k, v)
            return seq

    def delivered(self, seq: int, partition: int | None, offset: int | None, ts_ms: int | None) -> None:
        with self._lock:
            r = self._records[seq]
            r.partition, r.offset, r.ts_ms = partition, offset, ts_ms

    def failed(self, seq: int, error: str) -> None:
        with self._lock:
            self._records[seq].error = error

    def lookup(
        self, topic: str, value: bytes | None, key: bytes | str | None
    ) -> tuple[int | None, str | None]:
        """(sequence number, instance) of a consumed record, by its content."""
        k = key.decode("utf-8", "replace") if isinstance(key, bytes) else key
        with self._lock:
            seq = self._by_content.get((topic, value, k))
            return (None, None) if seq is None else (seq, self._records[seq].instance)

    def index_of(self, instance: str | None) -> int | None:
        with self._lock:
            inst = self._instances.get(instance) if instance is not None else None
            return None if inst is None else inst.index

    def withhold(
        self,
        instance: str | None,
        service: str,
        event_type: str,
        reason: str,
        after_seq: int | None,
        after_type: str,
    ) -> None:
        if instance is None:
            return
        with self._lock:
            inst = self._instances.get(instance)
            if inst is not None:
                inst.withheld.append(_Withheld(service, event_type, reason, after_seq, after_type))

    # -- reading ------------------------------------------------------------
    def outcome_of(self, inst: _Instance) -> str:
        types = {
            r.event_type
            for r in (self._records[s] for s in inst.records)
            if r.duplicate_of is None and r.event_type is not None and r.error is None
        }
        outcome = self._chors[inst.workflow].outcomes.outcome(types)
        if outcome is not None:
            return outcome
        return "stuck" if inst.withheld else "running"

    def counts(self) -> dict[str, dict[str, int]]:
        with self._lock:
            out: dict[str, dict[str, int]] = {}
            for inst in self._instances.values():
                per = out.setdefault(inst.workflow, dict.fromkeys((s.value for s in STATUS_ORDER), 0))
                per[self.outcome_of(inst)] += 1
            return out

    def n_records(self) -> int:
        with self._lock:
            return len(self._records)

    def undelivered(self) -> int:
        with self._lock:
            return sum(1 for r in self._records if r.offset is None and r.error is None)

    def to_json(self, meta: Mapping[str, Any]) -> dict[str, Any]:
        with self._lock:
            records = [r for r in self._records if r.error is None]
            coords: dict[int, list[Any]] = {r.seq: r.coords() for r in records}
            instances = []
            for inst in sorted(self._instances.values(), key=lambda i: (i.workflow, i.index)):
                recs = [self._records[s] for s in inst.records if self._records[s].error is None]
                recs.sort(key=lambda r: r.seq)
                entry: dict[str, Any] = {
                    "id": inst.id,
                    "workflow": inst.workflow,
                    "index": inst.index,
                    "outcome": self.outcome_of(inst),
                    "identifiers": dict(sorted(inst.ids.items())),
                    "path": [r.event_type for r in recs if r.duplicate_of is None],
                    "events": [
                        {
                            "topic": r.topic,
                            "partition": r.partition,
                            "offset": r.offset,
                            "type": r.event_type,
                            "service": r.service,
                            "duplicate_of": coords.get(r.duplicate_of)
                            if r.duplicate_of is not None
                            else None,
                            "skew_ms": r.skew_ms,
                        }
                        for r in recs
                    ],
                    "stuck": None,
                }
                if entry["outcome"] == "stuck":
                    w = inst.withheld
                    none: list[Any] = [None, None, None]
                    after = coords.get(w[0].after_seq, none) if w[0].after_seq is not None else none
                    entry["stuck"] = {
                        "reason": "branch-missing"
                        if self._chors[inst.workflow].outcomes.all_of
                        else w[0].reason,
                        "expected": sorted({x.event_type for x in w}),
                        "service": w[0].service,
                        "services": sorted({x.service for x in w}),
                        "after": {
                            "type": w[0].after_type,
                            "topic": after[0],
                            "partition": after[1],
                            "offset": after[2],
                        },
                    }
                instances.append(entry)
            record_list = [
                {
                    "topic": r.topic,
                    "partition": r.partition,
                    "offset": r.offset,
                    "ts": r.ts_ms,
                    "type": r.event_type,
                    "service": r.service,
                    "instance": r.instance,
                    "duplicate_of": coords.get(r.duplicate_of) if r.duplicate_of is not None else None,
                    "skew_ms": r.skew_ms,
                    "poison": r.poison,
                }
                for r in sorted(records, key=lambda r: (r.topic, r.partition or 0, r.offset or 0))
            ]
        counts = self.counts()
        return {
            "version": TRUTH_VERSION,
            **meta,
            "counts": {
                "records": len(record_list),
                "duplicates": sum(1 for r in record_list if r["duplicate_of"] is not None),
                "poison": sum(1 for r in record_list if r["poison"] is not None),
                "skewed": sum(1 for r in record_list if r["skew_ms"]),
                "instances": len(instances),
                "outcomes": counts,
            },
            "instances": instances,
            "records": record_list,
        }


def workflow_meta(choreographies: Iterable[Choreography]) -> dict[str, Any]:
    """What the ground truth says about each workflow and service (for tests and docs)."""
    workflows: dict[str, Any] = {}
    services: dict[str, Any] = {}
    for c in choreographies:
        o = c.outcomes
        workflows[c.workflow] = {
            "start": [c.start_type],
            "terminal": dict(o.terminal),
            "all_of": list(o.all_of),
            "failure": list(o.failure),
            "compensation": list(o.compensation),
            "topics": list(c.topics),
        }
        services[c.entry_service] = {"group": None, "consumes": [], "emits": [c.topics[0]]}
        for s in c.services:
            services[s.name] = {"group": s.group, "consumes": list(s.inputs), "emits": list(s.emits)}
    return {"workflows": workflows, "services": services}


def write_truth(path: str | Path, data: Mapping[str, Any]) -> None:
    Path(path).write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n")


def load_truth(path: str | Path) -> dict[str, Any]:
    data = orjson.loads(Path(path).read_bytes())
    if not isinstance(data, dict):
        raise ValueError(f"{path} is not a ground-truth file")
    return data
