"""The deterministic driver: the same services and handlers on a simulated
clock, for recording fixtures that are identical for the same seed.

Kafka's delivery is modelled by what matters to the services: each
subscribing service receives each record after a small network delay, in
order per topic; a service handles one record at a time (busy for its work
time, so a slow one falls behind) and publishes its reaction after its
delay. The resulting records, with their simulated timestamps, are then
written to a real cluster by one producer in the order they were published,
so their partitions and offsets are deterministic too.
"""

from __future__ import annotations

import heapq
import logging
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaError, Message, Producer

from choreo.demo.faults import DemoError
from choreo.demo.formats import poison_value
from choreo.demo.reactor import Emit, Reactor, expand
from choreo.demo.runtime import Choreography, HandlerCtx, Outbound, stable_rng
from choreo.demo.scenario import POISON_SERVICE, Scenario, all_services
from choreo.demo.truth import GroundTruth, workflow_meta

log = logging.getLogger(__name__)

# 2024-05-01T08:00:00Z: fixtures live at a fixed point in time.
DEFAULT_EPOCH_MS = 1_714_550_400_000
NETWORK_MS = (15, 60)
RETRY_MS = (5, 40)  # gap between a publish and its duplicate
QUIET_MS = 15 * 60 * 1000  # evaluation time: this long after the last record


@dataclass
class Published:
    seq: int  # ground-truth sequence number
    true_ms: int  # when it was published (true time)
    ts_ms: int  # its timestamp (the publisher's clock: skew included)
    service: str
    out: Outbound


@dataclass
class SimResult:
    truth: GroundTruth
    records: list[Published]
    choreographies: list[Choreography]
    scenario: Scenario
    epoch_ms: int
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def last_ms(self) -> int:
        return max((r.ts_ms for r in self.records), default=self.epoch_ms)

    def truth_json(self) -> dict[str, Any]:
        s = self.scenario
        meta: dict[str, Any] = {
            "driver": "simulated",
            "seed": s.seed,
            "instances_per_workflow": s.instances,
            "workflows_run": list(s.workflows),
            "faults": s.faults.to_json(),
            "started_ms": self.epoch_ms,
            "ended_ms": self.last_ms,
            # Outcomes hold as of now_ms: stuck instances have been silent for QUIET_MS.
            "now_ms": self.last_ms + QUIET_MS,
            **workflow_meta(self.choreographies),
            **self.meta,
        }
        return self.truth.to_json(meta)


def simulate(scenario: Scenario, epoch_ms: int = DEFAULT_EPOCH_MS) -> SimResult:
    """Run the scenario on the simulated clock until nothing is left to happen."""
    scenario.validate()
    chors = scenario.choreographies()
    truth = GroundTruth(chors)
    services = all_services(chors)
    reactors = {s.name: Reactor(s, scenario, truth) for s in services}
    readers: dict[str, list[str]] = {}
    for s in services:
        for topic in s.inputs:
            readers.setdefault(topic, []).append(s.name)
    busy_until: dict[str, int] = dict.fromkeys(reactors, epoch_ms)
    last_arrival: dict[tuple[str, str], int] = {}
    records: list[Published] = []
    heap: list[tuple[int, int, str, Any]] = []
    tick = 0

    def push(t: int, kind: str, data: Any) -> None:
        nonlocal tick
        tick += 1
        heapq.heappush(heap, (t, tick, kind, data))

    def publish(t: int, service: str, emits: list[Emit], skew: int, poison: str | None = None) -> None:
        gap = 0
        for e in emits:
            if e.duplicate:
                gap += stable_rng(scenario.seed, "retry", service, len(records)).randint(*RETRY_MS)
            seq = truth.produced(e.out, service, e.instance, skew_ms=skew, poison=poison)
            rec = Published(seq, t + gap, t + gap + skew, service, e.out)
            records.append(rec)
            for reader in readers.get(e.out.topic, []):
                net = stable_rng(scenario.seed, "net", seq, reader).randint(*NETWORK_MS)
                arrive = max(t + gap + net, last_arrival.get((reader, e.out.topic), 0))
                last_arrival[(reader, e.out.topic)] = arrive
                push(arrive, "deliver", (reader, rec))

    for chor in chors:
        for index in range(scenario.instances):
            push(epoch_ms + scenario.start_offset_ms(chor.workflow, index), "start", (chor, index))
    for i, (offset_ms, topic, partition, kind) in enumerate(scenario.poison_schedule()):
        out = Outbound(topic, None, poison_value(kind, i), (), "poison", partition=partition)
        push(epoch_ms + offset_ms, "poison", (out, kind))

    while heap:
        t, _, kind, data = heapq.heappop(heap)
        if kind == "start":
            chor, index = data
            skew = int(scenario.faults.skew.get(chor.entry_service, 0))
            ctx = HandlerCtx(scenario.seed, chor.entry_service, t + skew, _ignore)
            instance, outs = chor.starter(index, ctx)
            truth.begin(chor.workflow, instance, index)
            publish(t, chor.entry_service, expand(outs, instance, scenario, chor.entry_service), skew)
        elif kind == "poison":
            out, pkind = data
            publish(t, POISON_SERVICE, [Emit(out, None, False)], 0, poison=pkind)
        elif kind == "deliver":
            name, rec = data
            reactor = reactors[name]
            key = rec.out.key.encode() if rec.out.key is not None else None
            # Offsets are not known yet in the simulation; the sequence number stands in.
            inbound = reactor.read(
                rec.out.topic, 0, rec.seq, key, list(rec.out.headers), rec.out.value, rec.ts_ms
            )
            work, delay = reactor.timing(inbound)
            start = max(t, busy_until[name])
            busy_until[name] = start + work
            emit = start + work + delay
            emits = reactor.react(inbound, key, rec.out.value, emit)
            if emits:
                push(emit, "emit", (name, emits))
        elif kind == "emit":
            name, emits = data
            publish(t, name, emits, reactors[name].skew_ms)
    records.sort(key=lambda r: (r.true_ms, r.seq))
    return SimResult(truth, records, chors, scenario, epoch_ms)


def _ignore(event_type: str, reason: str) -> None:
    del event_type, reason


def write_to_cluster(result: SimResult, bootstrap: str) -> None:
    """Produce the simulated records, in publish order, with their timestamps; record their offsets."""
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "partitioner": "murmur2_random",
            "enable.idempotence": True,  # keeps per-partition order exactly as produced
            "linger.ms": 5,
            "logger": logging.getLogger("choreo.demo.kafka"),
        }
    )
    errors: list[str] = []

    def make_cb(seq: int, r_ts: int) -> Any:
        def cb(err: KafkaError | None, msg: Message) -> None:
            if err is not None:
                errors.append(str(err))
                result.truth.failed(seq, str(err))
            else:
                result.truth.delivered(seq, msg.partition(), msg.offset(), r_ts)

        return cb

    for r in result.records:
        o = r.out
        kwargs: dict[str, Any] = {"partition": o.partition} if o.partition is not None else {}
        while True:
            try:
                producer.produce(
                    o.topic,
                    o.value,
                    o.key,
                    headers=list(o.headers),
                    timestamp=r.ts_ms,
                    on_delivery=make_cb(r.seq, r.ts_ms),
                    **kwargs,
                )
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
    left = producer.flush(60)
    if left or errors:
        raise DemoError(
            f"could not write the simulated records: {errors[0] if errors else f'{left} pending'}"
        )
