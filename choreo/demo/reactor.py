"""How one service reacts to one consumed record, with the fault knobs applied.

Shared by both drivers, so that the live run and the simulation make the
same decisions for the same seed: idempotent consumption (a redelivered or
republished record is ignored), the stall knob, the duplicate knob and the
service's clock skew.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from choreo.demo.runtime import HandlerCtx, Inbound, Outbound, ServiceSpec, decode, stable_rng
from choreo.demo.scenario import Scenario
from choreo.demo.truth import GroundTruth

log = logging.getLogger(__name__)

Headers = list[tuple[str, bytes | None]] | None


@dataclass(frozen=True)
class Emit:
    out: Outbound
    instance: str | None
    duplicate: bool  # a second publish of the same record (the duplicate knob)


def _digest(value: bytes | None) -> str:
    return hashlib.sha256(value or b"").hexdigest()[:16]


class Reactor:
    def __init__(
        self, spec: ServiceSpec, scenario: Scenario, truth: GroundTruth, time_scale: float = 1.0
    ) -> None:
        self.spec = spec
        self.scenario = scenario
        self.truth = truth
        # Real milliseconds of clock offset (simulated ms compressed like every other time).
        self.skew_ms = skew_of(scenario, spec.name, time_scale)
        self._stall_index = scenario.stall_index(spec.name)
        self._slow_ms = scenario.faults.slow.get(spec.name)
        self._seen: set[tuple[str, str | None, str]] = set()
        self.poison_skipped = 0

    def read(
        self,
        topic: str,
        partition: int,
        offset: int,
        key: bytes | None,
        headers: Headers,
        value: bytes | None,
        ts_ms: int,
    ) -> Inbound | None:
        """Decode a consumed record; None (and counted) for poison, which services skip."""
        msg = decode(topic, partition, offset, key, headers, value, ts_ms)
        if msg is None:
            self.poison_skipped += 1
            log.debug(
                "service=%s skipped a record that is not a JSON event at %s[%d]@%d",
                self.spec.name,
                topic,
                partition,
                offset,
            )
        return msg

    def timing(self, msg: Inbound | None) -> tuple[int, int]:
        """(work, delay) in simulated ms for this record, drawn from the seed and the event's identity
        (not its bytes, which hold times that differ between runs)."""
        if msg is None:
            return 0, 0
        rng = stable_rng(
            self.scenario.seed, "timing", self.spec.name, msg.topic, msg.key, msg.type, msg.event_id
        )
        work = self._slow_ms if self._slow_ms is not None else rng.randint(*self.spec.work_ms)
        return int(work), rng.randint(*self.spec.delay_ms)

    def react(self, msg: Inbound | None, key: bytes | None, value: bytes | None, emit_ms: int) -> list[Emit]:
        """The records to publish at ``emit_ms`` (true time) in reaction to one consumed record."""
        if msg is None:
            return []
        seen_key = (msg.topic, msg.key, _digest(value))
        if seen_key in self._seen:
            return []  # idempotent consumer: already handled this event
        self._seen.add(seen_key)
        after_seq, instance = self.truth.lookup(msg.topic, value, key)

        def on_withhold(event_type: str, reason: str) -> None:
            self.truth.withhold(instance, self.spec.name, event_type, reason, after_seq, msg.type)

        ctx = HandlerCtx(self.scenario.seed, self.spec.name, emit_ms + self.skew_ms, on_withhold)
        outs = self.spec.handler(msg, ctx)
        if not outs:
            return []
        index = self.truth.index_of(instance)
        if self._stall_index is not None and index is not None and index >= self._stall_index:
            for o in outs:
                on_withhold(o.event_type, "service-stopped")
            return []
        return expand(outs, instance, self.scenario, self.spec.name)


def skew_of(scenario: Scenario, service: str, time_scale: float = 1.0) -> int:
    return int(scenario.faults.skew.get(service, 0) * time_scale)


def expand(outs: list[Outbound], instance: str | None, scenario: Scenario, service: str) -> list[Emit]:
    """Apply the duplicate knob: some records are published twice."""
    emits = []
    for o in outs:
        emits.append(Emit(o, instance, False))
        rate = scenario.faults.dup_rate
        # Keyed by what the event is, not its bytes (which hold times that differ between runs).
        if rate and stable_rng(scenario.seed, "dup", service, o.topic, o.key, o.event_type).random() < rate:
            emits.append(Emit(o, instance, True))
    return emits
