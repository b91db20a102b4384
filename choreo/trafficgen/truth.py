"""Ground truth of a generated dump: for every record what it really is,
for every instance what it really is at the dump's end. Written next to the
dump as JSON; the scorer reads it back.

Record kinds: ``event`` (a real event, first copy), ``duplicate`` (the same
event again: a producer retry or a late redelivery, ``duplicate_of`` names
the first copy), and the records that are not events: ``poison`` (text,
binary, empty or invalid UTF-8), ``tombstone`` (null payload) and
``truncated`` (a JSON payload cut short). ``near`` names the instance whose
key a not-event carries, if any.

Instance status is judged as of the end of the dump (a post-mortem):
completed | failed | compensated | running (its next step is not due yet) |
stuck (a fault stopped it and the missing step is overdue by at least ten
times its longest normal latency). ``ambiguous`` instances cannot be
judged from the dump: stopped by a fault too recently to tell from a slow
step, or retention (which differs per topic) took events from after their
first record in the dump. Scores leave them out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from choreo.core.errors import InputError

Coord = tuple[str, int, int]  # topic, partition, offset
RecordKind = Literal["event", "duplicate", "poison", "tombstone", "truncated"]
Status = Literal["completed", "failed", "compensated", "running", "stuck"]
EVENT_KINDS = ("event", "duplicate")
NOT_EVENT_KINDS = ("poison", "tombstone", "truncated")


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RecordTruth(_M):
    topic: str
    partition: int
    offset: int
    ts: int
    true_ms: int
    kind: RecordKind
    poison: str | None = None  # text | binary | empty | invalid-utf8
    instance: str | None = None
    near: str | None = None
    workflow: str | None = None
    type: str | None = None
    service: str | None = None  # the name readers can see (its topic when it states none)
    cause: Coord | None = None
    cause_cut: bool = False  # its cause was deleted by retention
    duplicate_of: Coord | None = None
    skew_ms: int = 0
    phase: str | None = None
    attempt: int = 0

    @property
    def coord(self) -> Coord:
        return (self.topic, self.partition, self.offset)

    @property
    def is_event(self) -> bool:
        return self.kind in EVENT_KINDS


class InstanceTruth(_M):
    id: str
    workflow: str
    status: Status
    ambiguous: bool = False
    ambiguous_why: str | None = None  # stalled recently | retention hole
    start_cut: bool = False
    # Its records in the dump are tied together by values they share (ids, event and causation ids,
    # trace ids). False: retention took every record that joined its fragments; nothing can stitch it.
    linked: bool = True
    start_type: str
    expected: list[str] = Field(default_factory=list)
    expected_services: list[str] = Field(default_factory=list)
    stall: str | None = None  # stall | outage
    stall_at: str | None = None  # kind of the missing step: step, branch, join, loop, compensation, ...
    records: int
    first_ms: int
    last_ms: int


class WorkflowTruth(_M):
    name: str
    start_types: list[str]
    end_type: str | None
    rejected_type: str
    cancelled_type: str
    types: list[str]


class ServiceTruth(_M):
    name: str
    observed: str
    topic: str
    envelope: str
    causation: str | None
    event_ids: bool
    skews_ms: list[int]


class OutageTruth(_M):
    service: str
    start_ms: int
    end_ms: int | None  # None: still down when the dump ends


class Truth(_M):
    version: Literal[1] = 1
    seed: int
    knobs: dict[str, Any]
    window_start_ms: int
    end_ms: int
    now_ms: int  # the newest record's timestamp: the dump's "now"
    workflows: list[WorkflowTruth]
    services: list[ServiceTruth]
    outages: list[OutageTruth]
    instances: list[InstanceTruth]
    records: list[RecordTruth]

    def counts(self) -> dict[str, Any]:
        kinds: dict[str, int] = {}
        for r in self.records:
            kinds[r.kind] = kinds.get(r.kind, 0) + 1
        status: dict[str, int] = {}
        for i in self.instances:
            key = "ambiguous" if i.ambiguous else i.status
            status[key] = status.get(key, 0) + 1
        return {
            "records": len(self.records),
            "kinds": kinds,
            "instances": len(self.instances),
            "status": status,
            "start_cut": sum(i.start_cut for i in self.instances),
            "workflows": len(self.workflows),
        }


def dump_truth(truth: Truth, path: Path) -> None:
    path.write_bytes(orjson.dumps(truth.model_dump(mode="json")))


def load_truth(path: str | Path) -> Truth:
    p = Path(path)
    try:
        data = orjson.loads(p.read_bytes())
    except OSError as exc:
        raise InputError(f"cannot read truth {p}: {exc.strerror}") from None
    except orjson.JSONDecodeError as exc:
        raise InputError(f"truth {p} is not JSON: {exc}") from None
    try:
        return Truth.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(x) for x in err["loc"]) or "truth"
        raise InputError(f"truth {p} is not a trafficgen truth file: {where}: {err['msg']}") from None
