"""What the generated traffic is made of: workflows (a start, sequential
steps with failure branches and compensations, parallel blocks, loops, a
success end) and the services producing their events (how each names
itself, its ids, its envelope, its clock). A spec is random
(``random_spec``) or declared in a JSON file of this shape
(``generate --spec``); ``generate --write-spec`` writes the one it used.
"""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Annotated, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from choreo.core.errors import InputError

# A stall is unambiguous ("stuck") when the step has been overdue this many
# times its longest normal latency, and at least STUCK_FLOOR_MS.
STUCK_FACTOR = 10
STUCK_FLOOR_MS = 120_000
TAIL_SIGMAS = 3.0  # latencies are log-normal, capped at median * e^(3 sigma)


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Latency(_Frozen):
    median_ms: float = Field(ge=0)
    sigma: float = Field(default=0.8, ge=0, le=1.2)
    min_ms: float = Field(default=0, ge=0)  # never faster than this

    @property
    def cap_ms(self) -> int:
        return max(math.ceil(self.min_ms), math.ceil(self.median_ms * math.exp(TAIL_SIGMAS * self.sigma)))

    def sample(self, rng: random.Random) -> int:
        if self.median_ms == 0:
            return 0
        drawn = round(rng.lognormvariate(math.log(self.median_ms), self.sigma))
        return max(1, math.ceil(self.min_ms), min(self.cap_ms, drawn))


class Activity(_Frozen):
    """One step: the event a service emits when it reacts."""

    type: str = Field(min_length=1)
    service: str
    latency: Latency
    lifecycle: Latency | None = None  # two events of this type: start, then complete after this
    failure: str | None = None  # type emitted instead when the step fails
    failure_rate: float = Field(default=0.0, ge=0, le=1)
    compensation: str | None = None  # type that undoes it after a later failure
    compensation_service: str | None = None
    carries: Literal["primary", "both", "secondary"] = "primary"
    bare: bool = False  # no event id, time or counter: repeats are equal payloads
    fields: dict[str, str] = Field(default_factory=dict)  # data fields: name -> kind


class Step(_Frozen):
    kind: Literal["step"] = "step"
    activity: Activity


class Parallel(_Frozen):
    kind: Literal["parallel"] = "parallel"
    branches: list[list[Activity]] = Field(min_length=2)
    join: Activity | None = None


class Loop(_Frozen):
    kind: Literal["loop"] = "loop"
    body: list[Activity] = Field(min_length=1)
    max_iterations: int = Field(ge=1, le=50)
    repeat_rate: float = Field(default=0.5, ge=0, le=1)


Item = Annotated[Step | Parallel | Loop, Field(discriminator="kind")]


class WorkflowSpec(_Frozen):
    name: str
    entity: str  # noun of the primary id
    id_values: Literal["uuid", "prefixed", "numeric", "ulid", "human"] = "prefixed"
    secondary: str | None = None  # noun of the id a later service knows it by
    secondary_values: Literal["uuid", "prefixed", "numeric", "ulid", "human"] = "prefixed"
    start: Activity
    alt_start: str | None = None  # a minority start type (same service)
    alt_start_rate: float = Field(default=0.0, ge=0, le=1)
    body: list[Item] = Field(default_factory=list)
    end: Activity | None = None
    rejected: Activity  # terminal after a failure with nothing to undo
    cancelled: Activity  # terminal after the compensations
    weight: float = Field(default=1.0, gt=0)

    def start_types(self) -> list[str]:
        return [self.start.type] + ([self.alt_start] if self.alt_start else [])


class IdAt(_Frozen):
    """Where a service puts an identifier: a payload path, a header, or nowhere but the key."""

    where: Literal["payload", "header", "key"]
    path: list[str] = Field(default_factory=list)


class ServiceSpec(_Frozen):
    name: str
    topic: str
    name_at: str | None = None  # payload:FIELD | header:NAME | ce_source; None: states no name
    stated: str | None = None  # the text it states (ce_source may be a URI)
    envelope: Literal["plain", "meta", "ce-binary", "ce-structured", "type-header"] = "plain"
    type_at: str = "type"  # payload field (plain, meta) or header name (type-header)
    event_id_at: str | None = None  # payload:F | meta:F | header:NAME (CloudEvents: always its id)
    causation_at: str | None = None  # payload:F | meta:F | header:NAME
    time_at: str | None = None  # payload:F | meta:F (CloudEvents: its time)
    time_format: Literal["iso-z", "iso-offset", "epoch-ms", "epoch-s"] = "iso-z"
    traceparent: bool = False
    batch_trace: bool = False  # one trace per batch of instances (a trap)
    key: Literal["primary", "secondary", "customer", "event", "none"] = "primary"
    ids: dict[str, IdAt] = Field(default_factory=dict)  # entity -> where its id goes
    customer_at: list[str] | None = None
    tenant_at: list[str] | None = None
    local_id_at: list[str] | None = None  # its own per-instance id (e.g. paymentId)
    skews_ms: list[int] = Field(default_factory=lambda: [0], min_length=1)  # one per replica
    correlation_header: str | None = None  # also sends the primary id in this header

    @property
    def observed_name(self) -> str:
        """The service name a reader of the records can see (its topic when it states none)."""
        return self.stated if self.stated is not None else self.topic


class TopicSpec(_Frozen):
    name: str
    partitions: int = Field(ge=1, le=1000)
    log_append: bool = False
    header_shape: Literal["array", "map"] = "array"
    broker: int = 1


class TrafficSpec(_Frozen):
    version: Literal[1] = 1
    org: str = "acme"
    topics: list[TopicSpec]
    services: list[ServiceSpec]
    workflows: list[WorkflowSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> TrafficSpec:
        topics = {t.name for t in self.topics}
        services = {s.name for s in self.services}
        for s in self.services:
            if s.topic not in topics:
                raise ValueError(f"service {s.name!r} publishes to undeclared topic {s.topic!r}")
        for w in self.workflows:
            for a in activities(w):
                if a.service not in services:
                    raise ValueError(f"workflow {w.name!r}: {a.type!r} by undeclared service {a.service!r}")
                if a.compensation_service is not None and a.compensation_service not in services:
                    raise ValueError(f"workflow {w.name!r}: undeclared service {a.compensation_service!r}")
        return self

    def service(self, name: str) -> ServiceSpec:
        return self._services()[name]

    def topic(self, name: str) -> TopicSpec:
        return next(t for t in self.topics if t.name == name)

    def _services(self) -> dict[str, ServiceSpec]:
        return {s.name: s for s in self.services}


def activities(w: WorkflowSpec) -> list[Activity]:
    """Every activity of a workflow, in spec order."""
    out = [w.start]
    for item in w.body:
        if isinstance(item, Step):
            out.append(item.activity)
        elif isinstance(item, Parallel):
            out.extend(a for b in item.branches for a in b)
            if item.join is not None:
                out.append(item.join)
        else:
            out.extend(item.body)
    out.extend(a for a in (w.end, w.rejected, w.cancelled) if a is not None)
    return out


def load_spec(path: str | Path) -> TrafficSpec:
    p = Path(path)
    try:
        data = orjson.loads(p.read_bytes())
    except OSError as exc:
        raise InputError(f"cannot read spec {p}: {exc.strerror}") from None
    except orjson.JSONDecodeError as exc:
        raise InputError(f"spec {p} is not JSON: {exc}") from None
    try:
        return TrafficSpec.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(x) for x in err["loc"]) or "spec"
        raise InputError(f"spec {p}: {where}: {err['msg']}") from None


def dump_spec(spec: TrafficSpec) -> bytes:
    return orjson.dumps(spec.model_dump(mode="json"), option=orjson.OPT_INDENT_2) + b"\n"
