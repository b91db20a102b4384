"""Generate a dump and its ground truth: instances of the spec's workflows
arriving over the window (and before it, for retention to cut), played out
with faults, encoded by their services, plus duplicates, redeliveries and
records that are not events; then laid into partitions (Kafka position =
arrival order), stamped by each producer's clock and cut by retention."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass

from choreo.trafficgen.encode import Encoder, EventFacts, InstanceIds, data_value
from choreo.trafficgen.kafka import TS_CREATE, TS_LOG_APPEND, Header, KafkaRecord, partition_for
from choreo.trafficgen.knobs import Knobs
from choreo.trafficgen.layout import PendingRecord, Played, carried, layout, truth_rows, workflow_truth
from choreo.trafficgen.names import hex_id, id_value, prefix_of
from choreo.trafficgen.noise import POISON_KINDS, poison_payload, truncate
from choreo.trafficgen.play import NEVER, Outages, judge, plan_instance, stall
from choreo.trafficgen.randomspec import random_spec
from choreo.trafficgen.spec import Parallel, TrafficSpec, WorkflowSpec, activities
from choreo.trafficgen.truth import OutageTruth, RecordKind, ServiceTruth, Truth

T0_MS = 1_714_550_400_000  # 2024-05-01T08:00:00Z: the window's start


@dataclass
class Generated:
    spec: TrafficSpec
    records: list[KafkaRecord]  # in dump order: topic, partition, offset
    truth: Truth
    header_shapes: dict[str, str]


class _Gen:
    def __init__(self, knobs: Knobs, spec: TrafficSpec) -> None:
        self.k, self.spec = knobs, spec
        self.rng = random.Random(f"traffic:{knobs.seed}")
        self.start = T0_MS
        self.end = T0_MS + knobs.duration_ms
        self.svc = {s.name: s for s in spec.services}
        self.enc = {s.name: Encoder(s) for s in spec.services}
        self.topics = {t.name: t for t in spec.topics}
        # Topics keep different retention: each lost what came before its own cut.
        self.cut = {
            t.name: self.start
            + (
                self.rng.randint(0, min(knobs.retention_skew_ms, knobs.duration_ms // 2))
                if knobs.retention_lead_ms
                else 0
            )
            for t in spec.topics
        }
        self.recs: list[PendingRecord] = []
        self.insts: list[Played] = []
        self.outages = Outages()
        self.outage_truth: list[OutageTruth] = []
        self.serial = 0
        self.batch_traces: dict[tuple[str, int], str] = {}

    # -- faults ------------------------------------------------------------------
    def plan_outages(self) -> None:
        k, rng = self.k, self.rng
        branch = sorted(
            {
                a.service
                for w in self.spec.workflows
                for it in w.body
                if isinstance(it, Parallel)
                for b in it.branches
                for a in b
            }
        )
        starts = {w.start.service for w in self.spec.workflows}
        steps = sorted({a.service for w in self.spec.workflows for a in activities(w)} - starts)
        pool = branch or steps
        if not pool:
            return
        for n in range(k.outages + k.outages_to_end):
            svc = pool[n % len(pool)] if n < len(pool) else rng.choice(pool)
            length = int(min(rng.uniform(*k.outage_ms), k.duration_ms / 2))
            if n < k.outages:
                a = rng.randint(self.start, max(self.start, self.end - length - k.duration_ms // 8))
                span = (a, a + length)
            else:
                span = (self.end - length, NEVER)
            self.outages.spans.setdefault(svc, []).append(span)
            self.outage_truth.append(
                OutageTruth(service=svc, start_ms=span[0], end_ms=None if span[1] >= NEVER else span[1])
            )
        for spans in self.outages.spans.values():
            spans.sort()

    # -- instances -----------------------------------------------------------------
    def ids(self, wf: WorkflowSpec, wf_index: int) -> InstanceIds:
        rng, k = self.rng, self.k
        self.serial += 1
        n_customers = max(1, round(k.instances * k.customers_per_instance))
        # A few customers place most orders.
        customer = int(n_customers * rng.random() ** 2)
        ids = InstanceIds(
            entity=wf.entity,
            primary=id_value(rng, wf.id_values, prefix_of(wf.entity), (wf_index + 1) * 10**7 + self.serial),
            customer=f"cus-{customer:06d}" if customer % 3 else str(9 * 10**8 + customer),
            tenant=f"tenant-{rng.randrange(k.tenants)}",
        )
        if wf.secondary is not None:
            ids.secondary_entity = wf.secondary
            ids.secondary = id_value(
                rng, wf.secondary_values, prefix_of(wf.secondary), 5 * 10**8 + self.serial
            )
        for a in activities(wf):
            s = self.svc[a.service]
            if s.local_id_at and a.service not in ids.local:
                ids.local[a.service] = f"{prefix_of(s.name)}_{hex_id(rng, 10)}"
        return ids

    def instances(self) -> None:
        k, rng = self.k, self.rng
        lo = self.start - k.retention_lead_ms
        starts = sorted(rng.randint(lo, self.end) for _ in range(k.instances))
        wfs = self.spec.workflows
        picks = rng.choices(range(len(wfs)), [w.weight for w in wfs], k=k.instances)
        for t, wi in zip(starts, picks, strict=True):
            wf = wfs[wi]
            plan = plan_instance(wf, rng, self.outages, t)
            if rng.random() < k.stall_rate:
                stall(plan, rng, self.end)
            inst = Played(wf, plan, judge(plan, self.end), self.ids(wf, wi))
            self.insts.append(inst)
            self.emit(len(self.insts) - 1, inst)

    def _trace(self, inst: Played, i: int, traces: list[str | None]) -> tuple[str, str] | None:
        e = inst.plan.events[i]
        svc = self.svc[e.service]
        if not svc.traceparent:
            return None
        inherited = traces[e.cause] if e.cause is not None else None
        if svc.batch_trace:
            # A batch job: one trace for every instance it handles in ten seconds.
            trace = self.batch_traces.setdefault((svc.name, e.at // 10_000), hex_id(self.rng, 32))
        else:
            trace = inherited or hex_id(self.rng, 32)
        traces[i] = trace
        return trace, hex_id(self.rng, 16)

    def emit(self, n: int, inst: Played) -> None:
        rng, k = self.rng, self.k
        ev = inst.plan.events
        event_ids: list[str | None] = [None] * len(ev)
        traces: list[str | None] = [None] * len(ev)
        for i, e in enumerate(ev):
            if e.at > self.end:
                continue
            svc = self.svc[e.service]
            act = e.activity
            bare = act.bare and not svc.envelope.startswith("ce-")
            if (svc.event_id_at is not None or svc.envelope.startswith("ce-")) and not bare:
                event_ids[i] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            cause_id = event_ids[e.cause] if e.cause is not None and svc.causation_at else None
            skew = rng.choice(svc.skews_ms)
            drng = random.Random(f"{n}:{e.type}") if bare else rng
            facts = EventFacts(
                type=e.type,
                carries=act.carries,
                phase=e.phase,
                attempt=e.attempt,
                bare=bare,
                event_id=event_ids[i],
                nonce=hex_id(rng, 20),
                cause_event_id=cause_id,
                trace=self._trace(inst, i, traces),
                clock_ms=e.at + skew,
                data={f: data_value(drng, kind) for f, kind in act.fields.items()},
            )
            key, headers, payload = self.enc[e.service].encode(inst.ids, facts)
            rec = self.record(svc.topic, e.at, skew, key, headers, payload, "event")
            rec.inst, rec.ev = n, i
            # (A batch job's trace spans instances: it ties nothing.)
            trace = facts.trace[0] if facts.trace is not None and not svc.batch_trace else None
            own = [
                inst.ids.primary,
                inst.ids.secondary,
                *inst.ids.local.values(),
                event_ids[i],
                cause_id,
                trace,
            ]
            rec.tokens = carried(own, key, headers, payload)
            inst.records[i] = rec
            if rng.random() < k.dup_rate:
                self.copy(rec, rec.at + rng.randint(1, 300), same_ts=True)
            if rng.random() < k.redelivery_rate:
                self.copy(rec, rec.at + int(rng.uniform(*k.redelivery_delay_ms)), same_ts=False)
        self.instance_noise(n, inst)

    def record(
        self,
        topic: str,
        at: int,
        skew: int,
        key: bytes | None,
        headers: list[Header],
        payload: bytes | None,
        kind: RecordKind,
    ) -> PendingRecord:
        t = self.topics[topic]
        part = partition_for(key, t.partitions) if key is not None else self.rng.randrange(t.partitions)
        ts, ts_type = (at, TS_LOG_APPEND) if t.log_append else (at + skew, TS_CREATE)
        rec = PendingRecord(
            topic, part, at, ts, ts_type, key, headers, payload, kind, skew=0 if t.log_append else skew
        )
        self.recs.append(rec)
        return rec

    def copy(self, rec: PendingRecord, at: int, same_ts: bool) -> None:
        # Retention deletes whole old segments: a copy of a record it deleted is gone as well.
        if at > self.end or rec.at < self.cut[rec.topic]:
            return
        dup = PendingRecord(
            rec.topic,
            rec.partition,
            at,
            rec.ts if same_ts else at + rec.skew,
            rec.ts_type,
            rec.key,
            rec.headers,
            rec.payload,
            "duplicate",
            rec.inst,
            rec.ev,
            dup_of=rec,
            skew=rec.skew,
            tokens=rec.tokens,
        )
        if rec.ts_type == TS_LOG_APPEND:
            dup.ts = at
        self.recs.append(dup)

    def instance_noise(self, n: int, inst: Played) -> None:
        rng, k = self.rng, self.k
        if not inst.records:
            return
        last = max(r.at for r in inst.records.values())
        start_svc = self.svc[inst.wf.start.service]
        if rng.random() < k.tombstone_rate:
            at = last + rng.randint(1000, 600_000)
            if at <= self.end:
                key = inst.ids.primary.encode()
                self.record(
                    start_svc.topic, at, rng.choice(start_svc.skews_ms), key, [], None, "tombstone"
                ).near = n
        if rng.random() < k.truncated_rate:
            src = rng.choice(list(inst.records.values()))
            at = src.at + rng.randint(1, 2000)
            if at <= self.end and src.payload:
                rec = self.record(
                    src.topic, at, src.skew, src.key, src.headers, truncate(rng, src.payload), "truncated"
                )
                rec.near = n

    def poison(self) -> None:
        rng, k = self.rng, self.k
        n = round(k.poison_per_10k * len(self.recs) / 10_000)
        topics = sorted(self.topics)
        for _ in range(n):
            kind = rng.choice(POISON_KINDS)
            near, key = -1, None
            if self.insts and rng.random() < k.poison_keyed_share:
                near = rng.randrange(len(self.insts))
                key = self.insts[near].ids.primary.encode()
            topic = rng.choice(topics)
            rec = self.record(
                topic,
                rng.randint(self.start, self.end),
                0,
                key,
                [],
                poison_payload(rng, kind, topic),
                "poison",
            )
            rec.near, rec.poison = near, kind


def generate(knobs: Knobs, spec: TrafficSpec | None = None) -> Generated:
    """The dump (records in topic, partition, offset order) and its truth."""
    spec = spec or random_spec(knobs, random.Random(f"spec:{knobs.seed}"))
    g = _Gen(knobs, spec)
    g.plan_outages()
    g.instances()
    g.poison()
    kept = layout(g.recs, g.cut)
    observed = {s.name: s.observed_name for s in spec.services}
    rows, insts = truth_rows(kept, g.insts, observed, g.end)
    records = [
        KafkaRecord(
            r.topic,
            r.partition,
            r.offset,
            r.ts,
            r.ts_type,
            g.topics[r.topic].broker,
            r.key,
            r.headers,
            r.payload,
        )
        for r in kept
    ]
    truth = Truth(
        seed=knobs.seed,
        knobs=knobs.model_dump(mode="json"),
        window_start_ms=g.start,
        end_ms=g.end,
        now_ms=max((r.ts for r in kept), default=g.end),
        workflows=[workflow_truth(w) for w in spec.workflows],
        services=[
            ServiceTruth(
                name=s.name,
                observed=s.observed_name,
                topic=s.topic,
                envelope=s.envelope,
                causation=s.causation_at,
                event_ids=s.event_id_at is not None or s.envelope.startswith("ce-"),
                skews_ms=s.skews_ms,
            )
            for s in spec.services
        ],
        outages=g.outage_truth,
        instances=insts,
        records=rows,
    )
    return Generated(spec, records, truth, {t.name: t.header_shape for t in spec.topics})
