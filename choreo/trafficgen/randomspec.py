"""A random ``TrafficSpec`` from the knobs: workflows with their own start
service, steps by a shared pool of domain services (so workflows share
services and topics), names in several styles per service."""

from __future__ import annotations

import math
import random
from typing import Literal

from choreo.trafficgen import names as nm
from choreo.trafficgen.knobs import Knobs
from choreo.trafficgen.spec import (
    Activity,
    IdAt,
    Item,
    Latency,
    Loop,
    Parallel,
    ServiceSpec,
    Step,
    TopicSpec,
    TrafficSpec,
    WorkflowSpec,
    activities,
)

_FIELD_KINDS = {
    "amount": "amount",
    "total": "amount",
    "currency": "currency",
    "quantity": "count",
    "item count": "count",
    "status": "status",
    "reason": "status",
    "priority": "priority",
    "channel": "channel",
    "region": "region",
    "score": "score",
    "note": "note",
    "express": "flag",
    "items": "items",
    "sku": "sku",
    "attempts allowed": "count",
    "weight kg": "score",
}
_NAME_FIELDS = {"plain": ("source", "service", "producer", "emitter"), "meta": ("source", "service")}
_NAME_HEADERS = ("service", "x-service", "producer")
_ID_FIELDS = ("eventId", "event_id", "messageId", "message_id")
_ID_HEADERS = ("event-id", "x-event-id", "message-id")
_CAUSATION_FIELDS = ("causationId", "causation_id", "causedBy", "caused_by")
_CAUSATION_HEADERS = ("causation-id", "x-causation-id")
_TIME_FIELDS = ("occurredAt", "timestamp", "time", "eventTime", "occurred_at")
_TYPE_FIELDS = ("type", "eventType", "event_type", "@type")
_TYPE_HEADERS = ("x-event-type", "event-type")
_LIFECYCLE_FIELDS = ("lifecycle", "transition", "phase")


class _Builder:
    def __init__(self, rng: random.Random, knobs: Knobs) -> None:
        self.rng, self.k = rng, knobs
        self.org = rng.choice(nm.ORGS)
        self.services: dict[str, ServiceSpec] = {}
        self.subject: dict[str, str] = {}  # service -> the noun its event types start with
        self.type_style: dict[str, str] = {}
        self.topics: dict[str, TopicSpec] = {}
        self.types: set[str] = set()
        self.shared_types: dict[tuple[str, str], str] = {}
        self.uses: dict[str, set[str]] = {}  # service -> entities whose ids it carries
        self.bus = nm.topic_name(rng.choice(nm.TOPIC_STYLES), "domain", self.org)

    # -- names ----------------------------------------------------------------
    def new_type(self, service: str, verbs: tuple[str, ...], subject: str | None = None) -> str:
        subj = subject or self.subject[service]
        for attempt in range(60):
            verb = verbs[attempt % len(verbs)] if attempt < len(verbs) else self.rng.choice(nm.PLAIN_VERBS)
            t = nm.event_type(self.type_style[service], subj, verb, self.org)
            if attempt >= 40:
                t = f"{t}{attempt}"
            if t not in self.types:
                self.types.add(t)
                return t
        raise RuntimeError("ran out of event type names")  # 60 tries over ~30 verbs cannot all collide

    def latency(self, slow: bool | None = None) -> Latency:
        k = self.k
        is_slow = self.rng.random() < k.slow_step_share if slow is None else slow
        lo, hi = k.slow_median_ms if is_slow else k.latency_median_ms
        median = math.exp(self.rng.uniform(math.log(max(lo, 1.0)), math.log(max(hi, 1.0))))
        return Latency(median_ms=round(median, 1), sigma=k.latency_sigma)

    def fields(self) -> dict[str, str]:
        snake = self.rng.random() < 0.4
        picked = self.rng.sample(sorted(_FIELD_KINDS), self.rng.randint(0, 3))
        return {nm.field_name(nm.words(f), snake): _FIELD_KINDS[f] for f in picked}

    # -- services -------------------------------------------------------------
    def service(self, domain: str, own_topic: bool = False) -> str:
        rng, k = self.rng, self.k
        name = nm.service_name(rng.choice(nm.SERVICE_STYLES), domain)
        while name in self.services:
            name += "2"
        if own_topic or rng.random() >= k.shared_topic_share:
            topic = nm.topic_name(rng.choice(nm.TOPIC_STYLES), domain, self.org)
        else:
            topic = self.bus
        if topic not in self.topics:
            shape: Literal["array", "map"]
            shape = rng.choice(("array", "map")) if k.header_shape == "mixed" else k.header_shape
            self.topics[topic] = TopicSpec(
                name=topic,
                partitions=rng.randint(*k.partitions),
                log_append=rng.random() < k.log_append_share,
                header_shape=shape,
                broker=rng.randint(1, 3),
            )
        self.services[name] = self._profile(name, domain, topic)
        self.subject[name] = domain
        self.type_style[name] = rng.choice(nm.TYPE_STYLES)
        self.uses[name] = set()
        return name

    def _profile(self, name: str, domain: str, topic: str) -> ServiceSpec:
        rng, k = self.rng, self.k
        r = rng.random()
        envelope: Literal["plain", "meta", "ce-binary", "ce-structured", "type-header"]
        if r < k.cloudevents_binary_share:
            envelope = "ce-binary"
        elif r < k.cloudevents_binary_share + k.cloudevents_structured_share:
            envelope = "ce-structured"
        else:
            envelope = rng.choices(("plain", "meta", "type-header"), (0.7, 0.15, 0.15))[0]
        ce = envelope.startswith("ce-")
        name_at: str | None = None
        stated: str | None = None
        if ce:
            name_at = "ce_source"
            stated = rng.choice((name, f"/{self.org}/{domain}", f"urn:{self.org}:{name}"))
        elif rng.random() < k.service_named_share:
            if envelope == "meta":
                name_at = f"meta:{rng.choice(_NAME_FIELDS['meta'])}"
            elif rng.random() < 0.3:
                name_at = f"header:{rng.choice(_NAME_HEADERS)}"
            else:
                name_at = f"payload:{rng.choice(_NAME_FIELDS['plain'])}"
            stated = name
        where = "meta" if envelope == "meta" else "payload"
        event_id_at = None
        if not ce and rng.random() < k.event_id_share:
            event_id_at = (
                f"header:{rng.choice(_ID_HEADERS)}"
                if rng.random() < 0.3
                else f"{where}:{rng.choice(_ID_FIELDS)}"
            )
        causation_at = None
        c = rng.random()
        if c < k.causation_header_share:
            causation_at = "header:ce_causationid" if ce else f"header:{rng.choice(_CAUSATION_HEADERS)}"
        elif c < k.causation_header_share + k.causation_payload_share:
            causation_at = "payload:causationid" if ce else f"{where}:{rng.choice(_CAUSATION_FIELDS)}"
        time_at = None if ce or rng.random() < 0.2 else f"{where}:{rng.choice(_TIME_FIELDS)}"
        key_r = rng.random()
        key: Literal["primary", "secondary", "customer", "event", "none"] = "primary"
        if key_r < k.key_by_customer_share:
            key = "customer"
        elif key_r < k.key_by_customer_share + k.null_key_share:
            key = "none"
        elif key_r < k.key_by_customer_share + k.null_key_share + 0.05:
            key = "event"
        snake = rng.random() < 0.4
        traced = rng.random() < k.traceparent_share
        return ServiceSpec(
            name=name,
            topic=topic,
            name_at=name_at,
            stated=stated,
            envelope=envelope,
            type_at=rng.choice(_TYPE_HEADERS) if envelope == "type-header" else rng.choice(_TYPE_FIELDS),
            event_id_at=event_id_at,
            causation_at=causation_at,
            time_at=time_at,
            time_format=rng.choice(("iso-z", "iso-z", "iso-offset", "epoch-ms", "epoch-s")),
            traceparent=traced,
            batch_trace=traced and rng.random() < k.batch_trace_share,
            key=key,
            customer_at=self._attr_path(["customer"], snake, 0.5),
            tenant_at=self._attr_path(["tenant"], snake, 0.3),
            local_id_at=[nm.field_name([*nm.words(domain), "id"], snake)] if rng.random() < 0.3 else None,
            skews_ms=[rng.randint(*k.skew_ms) for _ in range(rng.randint(*k.replicas))],
            correlation_header=rng.choice(("correlation-id", "x-correlation-id"))
            if rng.random() < 0.1
            else None,
        )

    def _attr_path(self, ws: list[str], snake: bool, share: float) -> list[str] | None:
        if self.rng.random() >= share:
            return None
        style = self.rng.choice(("suffix", "suffix", "unlike", "nested"))
        if style == "nested":
            return [ws[0], "id"]
        if style == "unlike":
            return [nm.field_name([*ws, "ref"], snake)]
        return [nm.field_name([*ws, "id"], snake)]

    def assign_ids(self, secondary_services: dict[str, str]) -> None:
        """Decide where each service puts each entity's id it carries (after all workflows exist)."""
        k, rng = self.k, self.rng
        weights = (k.id_suffix, k.id_unlike, k.id_nested, k.id_key_only)
        if sum(weights) <= 0:
            weights = (1.0, 0.0, 0.0, 0.0)
        for name, entities in self.uses.items():
            svc = self.services[name]
            ids: dict[str, IdAt] = {}
            key = svc.key
            for entity in sorted(entities):
                style = rng.choices(("suffix", "unlike", "nested", "key"), weights)[0]
                if style == "key" and name in secondary_services:
                    # Its records are keyed by its own id: the step that carries both ids
                    # must carry the instance's id in the payload.
                    style = "suffix"
                if style == "key":
                    ids[entity] = IdAt(where="key")
                    key = "primary"
                else:
                    ids[entity] = IdAt(where="payload", path=list(nm.id_field(rng, style, entity)))
            if name in secondary_services:
                entity = secondary_services[name]
                ids[entity] = IdAt(where="payload", path=list(nm.id_field(rng, "suffix", entity)))
                key = "secondary"
            self.services[name] = svc.model_copy(update={"ids": ids, "key": key})

    # -- workflows --------------------------------------------------------------
    def activity(self, service: str, verbs: tuple[str, ...], fallible: bool = False) -> Activity:
        rng, k = self.rng, self.k
        lifecycle = None
        if not fallible and rng.random() < k.lifecycle_share:
            lifecycle = Latency(median_ms=0.0) if rng.random() < k.instant_share else self.latency()
            verbs = (rng.choice(nm.LIFECYCLE_ACTIVITIES),)
        triple = rng.choice(nm.VERB_TRIPLES)
        return Activity(
            type=self.new_type(service, verbs if not fallible else (triple[0],)),
            service=service,
            latency=self.latency(),
            lifecycle=lifecycle,
            failure=self.new_type(service, (triple[1],)) if fallible else None,
            failure_rate=k.failure_rate if fallible else 0.0,
            compensation=self.new_type(service, (triple[2],)) if fallible and rng.random() < 0.7 else None,
            fields=self.fields(),
        )

    def branch_activity(self, service: str) -> Activity:
        """A parallel branch's step; shared services may emit one type for several workflows."""
        key = (service, "branch")
        if key in self.shared_types and self.rng.random() < self.k.shared_type_share:
            return Activity(
                type=self.shared_types[key], service=service, latency=self.latency(), fields=self.fields()
            )
        act = self.activity(service, (self.rng.choice(nm.PLAIN_VERBS),))
        self.shared_types.setdefault(key, act.type)
        return act

    def loop(self, pool: list[str], used: list[str]) -> Loop:
        rng, k = self.rng, self.k
        bare = rng.random() < k.bare_loop_share
        # Equal payloads need a service that stamps no id: CloudEvents always has one.
        plain = [s for s in pool if not self.services[s].envelope.startswith("ce-")]
        svc = rng.choice(plain) if bare and plain else rng.choice(pool)
        used.append(svc)
        act = self.activity(svc, (rng.choice(nm.LOOP_VERBS),))
        if bare:
            # Equal payloads that are not duplicates: they repeat well after any redelivery could
            # (at least twice its longest delay), so the two can be told apart.
            late = k.redelivery_delay_ms[1]
            spaced = Latency(median_ms=3 * late, sigma=0.3, min_ms=2 * late)
            act = act.model_copy(update={"bare": True, "lifecycle": None, "latency": spaced})
        return Loop(body=[act], max_iterations=k.loop_max)

    def parallel(self, pool: list[str], used: list[str], start_svc: str, entity: str) -> Parallel:
        rng, k = self.rng, self.k
        n = rng.randint(*k.branches)
        svcs = rng.sample(pool, n) if len(pool) >= n else [rng.choice(pool) for _ in range(n)]
        used.extend(svcs)
        branches = [[self.branch_activity(s)] for s in svcs]
        for b in branches:
            if rng.random() < 0.3:
                b.append(self.activity(b[0].service, (rng.choice(nm.PLAIN_VERBS),)))
        join = None
        if rng.random() < k.join_share:
            join_type = self.new_type(start_svc, ("prepared", "assembled", "ready"), entity)
            join = Activity(type=join_type, service=start_svc, latency=self.latency())
        return Parallel(branches=branches, join=join)

    def secondary_steps(self, used: list[str]) -> list[Step]:
        """A service that knows the instance by its own id: the first step carries both ids."""
        sec_svc = self.service(self.rng.choice(("shipping", "courier", "dispatch", "fulfilment")))
        used.append(sec_svc)
        first = self.activity(sec_svc, ("scheduled", "assigned", "booked"))
        then = self.activity(sec_svc, ("delivered", "handed-over", "completed"))
        return [
            Step(activity=first.model_copy(update={"carries": "both", "lifecycle": None})),
            Step(
                activity=then.model_copy(update={"carries": "secondary", "latency": self.latency(slow=True)})
            ),
        ]

    def terminal(self, start_svc: str, verbs: tuple[str, ...], fields: bool = False) -> Activity:
        return Activity(
            type=self.new_type(start_svc, verbs),
            service=start_svc,
            latency=Latency(median_ms=0.0) if fields else self.latency(slow=False),
            fields=self.fields() if fields else {},
        )

    def workflow(self, entity: str, pool: list[str], secondary: str | None) -> WorkflowSpec:
        rng, k = self.rng, self.k
        start_svc = self.service(entity, own_topic=True)
        self.subject[start_svc] = entity
        # The instance's own id is the start service's id: it mints no second one.
        self.services[start_svc] = self.services[start_svc].model_copy(update={"local_id_at": None})
        used: list[str] = [start_svc]
        items: list[Item] = []
        for _ in range(rng.randint(*k.steps)):
            svc = rng.choice(pool)
            used.append(svc)
            verb = rng.choice(nm.PLAIN_VERBS)
            items.append(Step(activity=self.activity(svc, (verb,), fallible=rng.random() < k.failure_share)))
        if rng.random() < k.loop_share:
            loop = self.loop(pool, used)
            items.insert(rng.randint(0, len(items)), loop)
        if rng.random() < k.fanout_share:
            par = self.parallel(pool, used, start_svc, entity)
            items.insert(rng.randint(0, len(items)), par)
        if secondary is not None:
            items.extend(self.secondary_steps(used))
        # Without an end step a workflow ending in a fan-out is complete when every branch arrived.
        end = None
        if rng.random() < 0.85 or not items or not isinstance(items[-1], Parallel):
            end = Activity(
                type=self.new_type(start_svc, nm.END_VERBS), service=start_svc, latency=self.latency()
            )
        for s in used:
            self.uses[s].add(entity)
        has_alt = rng.random() < k.alt_start_share
        numeric = rng.random() < k.numeric_id_share
        return WorkflowSpec(
            name=entity,
            entity=entity,
            id_values="numeric" if numeric else rng.choice(("uuid", "prefixed", "ulid", "human")),
            secondary=secondary,
            secondary_values=rng.choice(("uuid", "prefixed", "numeric", "human")),
            start=self.terminal(start_svc, nm.START_VERBS, fields=True),
            alt_start=self.new_type(start_svc, nm.ALT_START_VERBS) if has_alt else None,
            alt_start_rate=k.alt_start_rate if has_alt else 0.0,
            body=items,
            end=end,
            rejected=self.terminal(start_svc, nm.REJECT_VERBS),
            cancelled=self.terminal(start_svc, nm.CANCEL_VERBS),
            weight=round(rng.uniform(0.5, 2.0), 2),
        )


def random_spec(knobs: Knobs, rng: random.Random | None = None) -> TrafficSpec:
    r = rng or random.Random(knobs.seed)
    b = _Builder(r, knobs)
    n_pool = knobs.services or 2 * knobs.workflows + 3
    domains = r.sample(nm.DOMAINS, min(n_pool, len(nm.DOMAINS)))
    while len(domains) < n_pool:
        domains.append(f"{r.choice(nm.DOMAINS)} {len(domains)}")
    pool = [b.service(d) for d in domains]
    entities = r.sample(nm.ENTITIES, min(knobs.workflows, len(nm.ENTITIES)))
    while len(entities) < knobs.workflows:
        entities.append(f"{r.choice(nm.ENTITIES)} {len(entities)}")
    workflows = []
    secondary_services: dict[str, str] = {}
    for entity in entities:
        secondary = None
        if r.random() < knobs.secondary_id_share:
            secondary = r.choice(("shipment", "tracking", "job", "case", "dossier", "voucher"))
        wf = b.workflow(entity, pool, secondary)
        workflows.append(wf)
        for item in wf.body:
            if isinstance(item, Step) and item.activity.carries == "both" and secondary is not None:
                secondary_services[item.activity.service] = secondary
    b.assign_ids(secondary_services)
    used = {a for w in workflows for a in _service_names(w)}
    return TrafficSpec(
        org=b.org,
        topics=[
            t
            for t in b.topics.values()
            if any(s.topic == t.name for s in b.services.values() if s.name in used)
        ],
        services=[s for s in b.services.values() if s.name in used],
        workflows=workflows,
    )


def _service_names(w: WorkflowSpec) -> set[str]:
    return {a.service for a in activities(w)}
