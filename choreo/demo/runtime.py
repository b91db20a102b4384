"""The small runtime every example service is written against.

A service is a consumer group plus a handler that maps one input event to
output events. Services never call each other and nothing coordinates them:
they only read and write topics. The same handlers run under two drivers:
``live`` (real consumers and producers against a Kafka-protocol cluster, one
thread per service) and ``simulate`` (a deterministic discrete-event clock,
used to record fixtures).

Everything a handler decides (ids, declines, latencies) is drawn from
``Ctx`` helpers seeded by the run's seed and the event's own identifiers, so
the same input always gives the same output whatever the scheduling.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson


def stable_hex(*parts: object, n: int = 12) -> str:
    """Deterministic hex digest of ``parts`` (never Python's salted hash())."""
    text = "\x1f".join(str(p) for p in parts)
    return hashlib.sha256(text.encode()).hexdigest()[:n]


def stable_rng(*parts: object) -> random.Random:
    return random.Random(stable_hex(*parts, n=32))


@dataclass(frozen=True)
class Outbound:
    """A record a service wants to produce.

    ``event_type`` and ``ids`` are for the ground truth only; what goes on the
    wire is topic, key, headers and value.
    """

    topic: str
    key: str | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    event_type: str
    ids: Mapping[str, str] = field(default_factory=dict)
    partition: int | None = None  # None: the murmur2 partitioner picks from the key


@dataclass(frozen=True)
class Inbound:
    """A consumed record, decoded for handlers."""

    topic: str
    partition: int
    offset: int
    key: str | None
    headers: Mapping[str, str]
    body: Mapping[str, Any]
    ts_ms: int

    @property
    def type(self) -> str:
        for name in ("ce_type", "x-event-type", "event-type"):
            v = self.headers.get(name)
            if v:
                return v
        for name in ("type", "eventType"):
            v = self.body.get(name)
            if isinstance(v, str):
                return v
        return ""

    @property
    def event_id(self) -> str | None:
        for name in ("ce_id", "event-id"):
            v = self.headers.get(name)
            if v:
                return v
        for scope in (self.body, self.body.get("metadata")):
            if isinstance(scope, Mapping):
                for name in ("eventId", "messageId"):
                    v = scope.get(name)
                    if isinstance(v, str):
                        return v
        return None


def decode(
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    headers: list[tuple[str, bytes | None]] | None,
    value: bytes | None,
    ts_ms: int,
) -> Inbound | None:
    """Decode a record for a handler; None for anything that is not a JSON object (poison)."""
    if not value:
        return None
    try:
        body = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(body, dict):
        return None
    hdrs = {n.lower(): v.decode("utf-8", "replace") for n, v in (headers or []) if v is not None}
    key_text = key.decode("utf-8", "replace") if key is not None else None
    return Inbound(topic, partition, offset, key_text, hdrs, body, ts_ms)


class Ctx(Protocol):
    """What a handler may use besides its input."""

    seed: int
    service: str
    now_ms: int  # emission time on this service's clock (skew included)

    def uid(self, prefix: str, *parts: object) -> str: ...

    def uuid(self, *parts: object) -> str: ...

    def chance(self, rate: float, *parts: object) -> bool: ...

    def withhold(self, event_type: str, reason: str) -> None:
        """Record that this service deliberately did not emit ``event_type`` (a fault)."""
        ...


@dataclass
class HandlerCtx:
    """The Ctx both drivers hand to handlers."""

    seed: int
    service: str
    now_ms: int
    on_withhold: Callable[[str, str], None]

    def uid(self, prefix: str, *parts: object) -> str:
        return f"{prefix}-{stable_hex(self.seed, prefix, *parts, n=12)}"

    def uuid(self, *parts: object) -> str:
        h = stable_hex(self.seed, "uuid", *parts, n=32)
        # Shaped like a version-4 UUID so that it looks like what real services send.
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) % 4]}{h[17:20]}-{h[20:32]}"

    def chance(self, rate: float, *parts: object) -> bool:
        if rate <= 0:
            return False
        return stable_rng(self.seed, "chance", *parts).random() < rate

    def withhold(self, event_type: str, reason: str) -> None:
        self.on_withhold(event_type, reason)


class Handler(Protocol):
    def __call__(self, msg: Inbound, ctx: Ctx) -> list[Outbound]: ...


@dataclass(frozen=True)
class ServiceSpec:
    """One service: its consumer group, the topics it reads, and its handler.

    Times are simulated milliseconds (the live driver compresses them):
    ``work_ms`` is how long handling one record keeps the consumer busy (it
    lags when records arrive faster), ``delay_ms`` how long after that the
    reaction is published (the service has taken the record into its own
    state and acts later, e.g. a carrier delivering). Handlers may keep state
    in their own closure: a real service has its own database.
    """

    name: str
    group: str
    inputs: tuple[str, ...]
    emits: tuple[str, ...]
    handler: Handler
    delay_ms: tuple[int, int] = (200, 1500)
    work_ms: tuple[int, int] = (20, 120)


class Starter(Protocol):
    """Creates instance number ``index`` of a workflow: its first record(s)."""

    def __call__(self, index: int, ctx: Ctx) -> tuple[str, list[Outbound]]:
        """Returns (instance id, records to produce)."""
        ...


@dataclass(frozen=True)
class Outcomes:
    """How the ground truth decides an instance's final outcome."""

    terminal: Mapping[str, str] = field(default_factory=dict)  # event type -> outcome
    all_of: tuple[str, ...] = ()  # fan-out: completed once every one of these happened
    failure: tuple[str, ...] = ()
    compensation: tuple[str, ...] = ()

    def outcome(self, types: set[str]) -> str | None:
        for t, result in self.terminal.items():
            if t in types:
                return result
        if self.all_of and all(t in types for t in self.all_of):
            return "completed"
        return None


@dataclass(frozen=True)
class Choreography:
    """One example workflow: its topics, services and how instances start."""

    workflow: str
    topics: tuple[str, ...]
    entry_service: str  # the service whose API starts an instance
    start_type: str
    starter: Starter
    services: tuple[ServiceSpec, ...]
    outcomes: Outcomes
