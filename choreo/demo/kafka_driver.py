"""The live driver: every example service as a real Kafka consumer (its own
consumer group) and producer, one thread each, against any Kafka-protocol
cluster (the embedded one in the demo and tests).

Time is compressed: simulated milliseconds are multiplied by ``time_scale``
(default 1/150: ten simulated minutes pass in four seconds). Each service
consumes a record, is busy for its work time (so a slow service lags),
stores the offset (auto-committed), and publishes its reaction after its
delay. Nothing coordinates the services; the only shared object is the
ground-truth recorder, which they write to and never decide from.
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import TracebackType
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer

from choreo.demo.faults import DemoError
from choreo.demo.formats import poison_value
from choreo.demo.reactor import Emit, Reactor, expand, skew_of
from choreo.demo.runtime import Choreography, HandlerCtx, Outbound, ServiceSpec
from choreo.demo.scenario import POISON_SERVICE, Scenario, all_services
from choreo.demo.truth import GroundTruth, workflow_meta

log = logging.getLogger(__name__)
_kafka_log = logging.getLogger("choreo.demo.kafka")

DEFAULT_TIME_SCALE = 1 / 150


def _wall_ms() -> int:
    return int(time.time() * 1000)


def _headers(msg: Message) -> list[tuple[str, bytes | None]]:
    raw = msg.headers() or []
    pairs = raw.items() if isinstance(raw, dict) else raw
    return [(n, v.encode() if isinstance(v, str) else v) for n, v in pairs]


def _ignore_withhold(event_type: str, reason: str) -> None:
    del event_type, reason


@dataclass(frozen=True)
class LiveSettings:
    bootstrap: str
    time_scale: float = DEFAULT_TIME_SCALE
    client_conf: Mapping[str, str] | None = None  # extra librdkafka settings for every client
    # Prepended to every topic and group name: keeps runs apart on a shared cluster.
    prefix: str = ""


class LiveRun:
    """Runs a scenario's services against a cluster until stopped.

    Use as a context manager, or call start() and stop(). The topics must
    exist (or be auto-created) on the cluster.
    """

    def __init__(self, scenario: Scenario, settings: LiveSettings) -> None:
        scenario.validate()
        self.scenario = scenario
        self.settings = settings
        self.choreographies: list[Choreography] = scenario.choreographies()
        self.truth = GroundTruth(self.choreographies)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._work = 0  # (record, reader) pairs produced and not yet handled, plus pending reactions
        self._subs: dict[str, int] = {}
        for spec in all_services(self.choreographies):
            for topic in spec.inputs:
                self._subs[settings.prefix + topic] = self._subs.get(settings.prefix + topic, 0) + 1
        self._threads: list[threading.Thread] = []
        self._topic_ids: dict[str, int] = {}
        self._generators = 0
        self._generators_done = 0
        self._errors: list[BaseException] = []
        self._uncommitted: set[str] = set()  # services with handled but uncommitted records
        self._t0 = 0.0
        self.started_ms = 0
        self.ended_ms = 0

    # -- control --------------------------------------------------------------
    def start(self) -> None:
        self._t0 = time.monotonic()
        self.started_ms = _wall_ms()
        for chor in self.choreographies:
            for spec in chor.services:
                self._spawn(f"svc-{spec.name}", self._run_service, spec)
        for chor in self.choreographies:
            self._generators += 1
            self._spawn(f"gen-{chor.workflow}", self._run_generator, chor, 0, self._t0, 0, 1.0)
        if self.scenario.faults.poison:
            self._generators += 1
            self._spawn("gen-poison", self._run_poison)

    def continue_forever(self, slower: float = 1.0) -> None:
        """After the scenario's instances: keep starting new ones until stop(),
        ``slower`` times further apart than during the run."""
        first = self.scenario.instances
        now = time.monotonic()
        for chor in self.choreographies:
            base = self.scenario.start_offset_ms(chor.workflow, first)
            self._spawn(f"gen-{chor.workflow}-more", self._run_generator, chor, first, now, base, slower)

    def stop(self) -> None:
        """Stop every service (publishing nothing further) and join; re-raise a service's failure."""
        self._stop.set()
        for t in self._threads:
            t.join(timeout=30)
        self.ended_ms = _wall_ms()
        if self._errors:
            raise DemoError(f"an example service failed: {self._errors[0]}") from self._errors[0]

    def __enter__(self) -> LiveRun:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is None:
            self.stop()
        else:
            self._stop.set()
            for t in self._threads:
                t.join(timeout=30)

    # -- progress -------------------------------------------------------------
    @property
    def failed(self) -> bool:
        return bool(self._errors)

    def generated(self) -> bool:
        """Every instance (and poison record) has been started."""
        with self._lock:
            return self._generators_done == self._generators

    def quiescent(self) -> bool:
        """Everything started, every record handled by every service that reads it, offsets committed."""
        with self._lock:
            return self._generators_done == self._generators and self._work <= 0 and not self._uncommitted

    def wait(self, condition: str, timeout: float) -> bool:
        """Wait until ``generated`` or ``quiescent``; False on timeout or a failed service."""
        check = self.generated if condition == "generated" else self.quiescent
        deadline = time.monotonic() + timeout
        while not check():
            if self.failed or time.monotonic() > deadline:
                return False
            self._stop.wait(0.02)
        return True

    def sim_to_wall_s(self, sim_ms: float) -> float:
        return sim_ms * self.settings.time_scale / 1000.0

    def truth_json(self, **extra: Any) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "driver": "live",
            "seed": self.scenario.seed,
            "instances_per_workflow": self.scenario.instances,
            "workflows_run": list(self.scenario.workflows),
            "faults": self.scenario.faults.to_json(),
            "time_scale": self.settings.time_scale,
            "started_ms": self.started_ms,
            "ended_ms": self.ended_ms or _wall_ms(),
            **workflow_meta(self.choreographies),
            **extra,
        }
        return self.truth.to_json(meta)

    # -- threads --------------------------------------------------------------
    def _spawn(self, name: str, target: Any, *args: Any) -> None:
        def run() -> None:
            try:
                target(*args)
            except BaseException as exc:
                log.error("thread=%s failed: %r", name, exc)
                self._errors.append(exc)
                self._stop.set()

        t = threading.Thread(target=run, name=name, daemon=True)
        self._threads.append(t)
        t.start()

    def _conf(self, **conf: Any) -> dict[str, Any]:
        base: dict[str, Any] = {"bootstrap.servers": self.settings.bootstrap, "logger": _kafka_log}
        base.update(self.settings.client_conf or {})
        base.update(conf)
        return base

    def _producer(self, name: str) -> Producer:
        return Producer(self._conf(**{"client.id": name, "linger.ms": 2, "partitioner": "murmur2_random"}))

    def _publish(
        self, producer: Producer, service: str, e: Emit, ts_ms: int, skew_ms: int, poison: str | None = None
    ) -> None:
        o = e.out
        if self.settings.prefix:
            o = replace(o, topic=self.settings.prefix + o.topic)
        seq = self.truth.produced(o, service, e.instance, skew_ms=skew_ms, poison=poison)
        # Counted for every reader now, not at the delivery report: a reader may
        # handle the record before the report reaches this producer.
        readers = self._subs.get(o.topic, 0)
        with self._lock:
            self._work += readers

        def on_delivery(err: KafkaError | None, msg: Message) -> None:
            if err is not None:
                log.error("service=%s could not publish to %s: %s", service, o.topic, err)
                self.truth.failed(seq, str(err))
                with self._lock:
                    self._work -= readers
                return
            self.truth.delivered(seq, msg.partition(), msg.offset(), ts_ms)

        kwargs: dict[str, Any] = {}
        if o.partition is not None:
            kwargs["partition"] = o.partition
        while True:
            try:
                producer.produce(
                    o.topic,
                    o.value,
                    o.key,
                    headers=list(o.headers),
                    timestamp=ts_ms,
                    on_delivery=on_delivery,
                    **kwargs,
                )
                return
            except BufferError:
                producer.poll(0.05)

    def _commit(self, consumer: Consumer, service: str) -> None:
        """Commit what was handled once the service is idle, so that its group's
        committed offsets are current when the run settles (auto-commit does the rest)."""
        try:
            consumer.commit(asynchronous=False)
        except KafkaException as exc:
            err = exc.args[0]
            if not (isinstance(err, KafkaError) and err.code() == KafkaError._NO_OFFSET):
                log.warning("service=%s commit failed: %s", service, err)
                return
        with self._lock:
            self._uncommitted.discard(service)

    def _handled(self) -> None:
        with self._lock:
            self._work -= 1

    def _run_service(self, spec: ServiceSpec) -> None:
        reactor = Reactor(spec, self.scenario, self.truth, self.settings.time_scale)
        scale = self.settings.time_scale
        consumer = Consumer(
            self._conf(
                **{
                    "group.id": self.settings.prefix + spec.group,
                    "client.id": spec.name,
                    "auto.offset.reset": "earliest",
                    "enable.auto.commit": True,
                    "enable.auto.offset.store": False,
                    "auto.commit.interval.ms": 200,
                    "fetch.wait.max.ms": 20,
                    "session.timeout.ms": 6000,
                    "heartbeat.interval.ms": 500,
                }
            )
        )
        producer = self._producer(spec.name)
        pending: list[tuple[float, int, int, list[Emit]]] = []
        n = 0
        # Records read again after a rebalance (offsets not yet committed) are
        # skipped here, so each record is handled, and accounted for, once.
        consumed: set[tuple[int, int, int]] = set()
        dirty = False  # offsets stored since the last commit
        try:
            consumer.subscribe([self.settings.prefix + t for t in spec.inputs])
            while not self._stop.is_set():
                now = time.monotonic()
                while pending and pending[0][0] <= now:
                    _, _, emit_ms, emits = heapq.heappop(pending)
                    for e in emits:
                        self._publish(producer, spec.name, e, emit_ms + reactor.skew_ms, reactor.skew_ms)
                    self._handled()
                wait = 0.05 if not pending else min(0.05, max(0.001, pending[0][0] - now))
                msg = consumer.poll(wait)
                producer.poll(0)
                if msg is None:
                    if dirty:
                        self._commit(consumer, spec.name)
                        dirty = False
                    continue
                if msg.error() is not None:
                    log.warning("service=%s consumer error: %s", spec.name, msg.error())
                    continue
                topic, value = msg.topic() or "", msg.value()
                coords = (
                    self._topic_ids.setdefault(topic, len(self._topic_ids)),
                    msg.partition() or 0,
                    msg.offset() or 0,
                )
                if coords in consumed:
                    log.info(
                        "service=%s read %s[%d]@%d again (rebalance)", spec.name, topic, coords[1], coords[2]
                    )
                    consumer.store_offsets(msg)
                    continue
                consumed.add(coords)
                inbound = reactor.read(
                    topic, coords[1], coords[2], msg.key(), _headers(msg), value, msg.timestamp()[1]
                )
                work_ms, delay_ms = reactor.timing(inbound)
                if work_ms and self._stop.wait(work_ms * scale / 1000):
                    break
                emit_ms = _wall_ms() + int(delay_ms * scale)
                emits = reactor.react(inbound, msg.key(), value, emit_ms)
                consumer.store_offsets(msg)
                if not dirty:
                    dirty = True
                    with self._lock:
                        self._uncommitted.add(spec.name)
                if emits:
                    n += 1
                    heapq.heappush(pending, (time.monotonic() + delay_ms * scale / 1000, n, emit_ms, emits))
                else:
                    self._handled()
        finally:
            producer.flush(10)
            consumer.close()

    def _run_generator(self, chor: Choreography, first: int, t0: float, base_ms: int, slower: float) -> None:
        """Start instances from ``first`` on: instance i at ``t0`` plus its start offset
        past ``base_ms``, stretched by ``slower``."""
        producer = self._producer(chor.entry_service)
        skew = skew_of(self.scenario, chor.entry_service, self.settings.time_scale)
        index = first
        continuous = first > 0
        try:
            while continuous or index < self.scenario.instances:
                offset = self.scenario.start_offset_ms(chor.workflow, index) - base_ms
                due = t0 + slower * self.sim_to_wall_s(offset)
                if self._stop.wait(max(0.0, due - time.monotonic())):
                    break
                now = _wall_ms()
                ctx = HandlerCtx(self.scenario.seed, chor.entry_service, now + skew, _ignore_withhold)
                instance, outs = chor.starter(index, ctx)
                self.truth.begin(chor.workflow, instance, index)
                for e in expand(outs, instance, self.scenario, chor.entry_service):
                    self._publish(producer, chor.entry_service, e, now + skew, skew)
                producer.poll(0)
                index += 1
            producer.flush(10)
        finally:
            if not continuous:
                with self._lock:
                    self._generators_done += 1

    def _run_poison(self) -> None:
        producer = self._producer(POISON_SERVICE)
        try:
            for i, (offset_ms, topic, partition, kind) in enumerate(self.scenario.poison_schedule()):
                due = self._t0 + self.sim_to_wall_s(offset_ms)
                if self._stop.wait(max(0.0, due - time.monotonic())):
                    break
                out = Outbound(topic, None, poison_value(kind, i), (), "poison", partition=partition)
                self._publish(producer, POISON_SERVICE, Emit(out, None, False), _wall_ms(), 0, poison=kind)
                producer.poll(0)
            producer.flush(10)
        finally:
            with self._lock:
                self._generators_done += 1
