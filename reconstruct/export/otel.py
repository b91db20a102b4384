"""Instances as OpenTelemetry traces, built with the SDK's span model.

Each instance becomes one trace: a root span covering the instance and one
span per distinct event, parented along causation (events without a known
cause hang off the root). A step span lasts from its event to the first event
it caused, i.e. how long the reaction took. Spans carry the messaging
semantic-convention attributes. Where the events carried a W3C traceparent,
the trace reuses its trace id and each step links to the producer's span;
otherwise ids are derived from the instance and the record's identity, so
exporting twice yields the same ids.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags
from opentelemetry.util.types import AttributeValue

from choreo.core.config import ChoreoConfig
from choreo.core.event_log import ensure_log_views
from choreo.core.store import Store
from choreo.reconstruct.export.selection import InstanceFilter
from choreo.reconstruct.query.read import instances_after
from choreo.reconstruct.query.records import InstanceRow

_MS = 1_000_000  # ns per ms
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)


@dataclass
class _Row:
    seq: int
    ts_ms: int
    raw_ts_ms: int | None
    skew_ms: int
    parent_seq: int | None
    duplicate_of: int | None
    event_type: str
    service: str
    topic: str
    partition: int
    offset: int
    key: bytes | None
    headers: list[dict[str, Any]]
    event_id: str | None
    trace_id: str | None


def _id(text: str, size: int) -> int:
    value = int.from_bytes(hashlib.sha256(text.encode()).digest()[:size], "big")
    return value or 1  # all-zero ids are invalid in OTLP


def _span_id(r: _Row) -> int:
    return _id(f"choreo-span:{r.topic}/{r.partition}/{r.offset}", 8)


def _traceparent(headers: list[dict[str, Any]]) -> tuple[int, int] | None:
    for h in headers:
        if str(h["name"]).lower() in ("traceparent", "ce_traceparent") and h["value"] is not None:
            parts = bytes(h["value"]).decode("utf-8", "replace").strip().split("-")
            if len(parts) >= 4 and len(parts[1]) == 32 and len(parts[2]) == 16:
                try:
                    trace, span = int(parts[1], 16), int(parts[2], 16)
                except ValueError:
                    return None
                if trace and span:
                    return trace, span
    return None


def _key_text(key: bytes | None) -> str | None:
    if key is None:
        return None
    try:
        text = key.decode("utf-8")
    except UnicodeDecodeError:
        return key.hex()
    return text if text.isprintable() else key.hex()


class TraceBuilder:
    """Turns instances of a store into ReadableSpans, a page of instances at a time."""

    def __init__(self, store: Store, config: ChoreoConfig | None = None) -> None:
        self._store = store
        ensure_log_views(store)
        self._scope = InstrumentationScope("choreo", version("choreo"))
        self._resources: dict[str, Resource] = {}
        # (topic, service) -> group and topic -> groups, for messaging.consumer.group.name.
        self._group_of: dict[tuple[str, str], str] = {}
        self._groups_on: dict[str, set[str]] = defaultdict(set)
        for group, service, topic in store.query("SELECT group_id, service, topic FROM log_topic_consumers"):
            self._group_of[(str(topic), str(service))] = str(group)
            self._groups_on[str(topic)].add(str(group))
        if config is not None:
            for name, svc in config.services.items():
                if svc.group:
                    for topic in svc.consumes:
                        self._group_of.setdefault((topic, name), svc.group)
                        self._groups_on[topic].add(svc.group)

    def _resource(self, service: str) -> Resource:
        res = self._resources.get(service)
        if res is None:
            # Not Resource.create(): its detectors would add this process's
            # details (and a random instance id) to services choreo only observed.
            res = Resource({"service.name": service})
            self._resources[service] = res
        return res

    def pages(self, flt: InstanceFilter, page_size: int = 500) -> Iterator[list[ReadableSpan]]:
        """Spans of the matching instances, ``page_size`` instances per list."""
        cond, params = flt.sql()
        after = ""
        while True:
            heads = instances_after(self._store, after, where=cond, params=params, limit=page_size)
            if not heads:
                return
            yield self._spans_for(heads)
            after = heads[-1].instance_id

    def _spans_for(self, heads: list[InstanceRow]) -> list[ReadableSpan]:
        ids = [h.instance_id for h in heads]
        rows: dict[str, list[_Row]] = defaultdict(list)
        for r in self._store.query(
            "SELECT ie.instance_id, ie.seq, ie.adj_ts_ms, e.ts_ms, ie.skew_ms, ie.parent_seq, "
            'ie.duplicate_of_seq, e.event_type, e.service, e.topic, e.partition, e."offset", '
            "e.key, e.headers, e.event_id, e.trace_id "
            'FROM instance_events ie JOIN log_events e USING (topic, partition, "offset") '
            "WHERE ie.instance_id IN (SELECT unnest(?::VARCHAR[])) ORDER BY ie.instance_id, ie.seq",
            [ids],
        ):
            rows[str(r[0])].append(_Row(*r[1:]))
        stuck = {
            str(r[0]): r[1:]
            for r in self._store.query(
                "SELECT instance_id, explanation, expected_types, responsible_service, consumer_group "
                "FROM stuck WHERE instance_id IN (SELECT unnest(?::VARCHAR[]))",
                [ids],
            )
        }
        spans: list[ReadableSpan] = []
        for h in heads:
            spans.extend(self._trace(h, rows.get(h.instance_id, []), stuck.get(h.instance_id)))
        return spans

    def _trace(
        self, inst: InstanceRow, rows: list[_Row], stuck: tuple[Any, ...] | None
    ) -> list[ReadableSpan]:
        trace_id = next((int(r.trace_id, 16) for r in rows if r.trace_id), None)
        if trace_id is None:
            trace_id = _id(f"choreo-trace:{inst.instance_id}", 16)
        root_ctx = SpanContext(trace_id, _id(f"choreo-root:{inst.instance_id}", 8), False, _SAMPLED)
        by_seq = {r.seq: r for r in rows}

        def original(seq: int | None) -> _Row | None:
            row = by_seq.get(seq) if seq is not None else None
            while row is not None and row.duplicate_of is not None:
                row = by_seq.get(row.duplicate_of)
            return row

        steps = [r for r in rows if r.duplicate_of is None]
        ctx = {r.seq: SpanContext(trace_id, _span_id(r), False, _SAMPLED) for r in steps}
        children: dict[int, list[_Row]] = defaultdict(list)
        redelivered: dict[int, list[_Row]] = defaultdict(list)
        for r in rows:
            if r.duplicate_of is not None:
                orig = original(r.seq)
                if orig is not None:
                    redelivered[orig.seq].append(r)
                continue
            parent = original(r.parent_seq)
            if parent is not None and parent.seq != r.seq:
                children[parent.seq].append(r)

        root_attrs: dict[str, AttributeValue] = {
            "choreo.instance.id": inst.instance_id,
            "choreo.instance.label": inst.label,
            "choreo.workflow": inst.workflow,
            "choreo.status": inst.status,
            "choreo.events": inst.n_events,
            "choreo.duplicates": inst.n_duplicates,
            "choreo.skewed_events": inst.n_skewed,
        }
        root_events: list[Event] = []
        status = Status(StatusCode.UNSET)
        if inst.status == "completed":
            status = Status(StatusCode.OK)
        elif inst.status == "failed":
            status = Status(StatusCode.ERROR, "saga failed")
        stuck_group: str | None = None
        if stuck is not None:
            explanation, expected, responsible, stuck_group = stuck
            status = Status(StatusCode.ERROR, str(explanation))
            stuck_attrs: dict[str, AttributeValue] = {
                "choreo.explanation": str(explanation),
                "choreo.expected_types": [str(t) for t in expected],
            }
            if responsible:
                stuck_attrs["choreo.responsible_service"] = str(responsible)
            root_events.append(Event("stuck", stuck_attrs, inst.end_ms * _MS))
        spans = [
            ReadableSpan(
                inst.workflow,
                context=root_ctx,
                parent=None,
                resource=self._resource("choreo"),
                attributes=root_attrs,
                events=root_events,
                kind=SpanKind.INTERNAL,
                status=status,
                start_time=inst.start_ms * _MS,
                end_time=max(inst.end_ms, inst.start_ms) * _MS,
                instrumentation_scope=self._scope,
            )
        ]
        last_seq = max((r.seq for r in steps), key=lambda s: (by_seq[s].ts_ms, s), default=None)
        for r in steps:
            kids = children.get(r.seq, [])
            end_ms = min((k.ts_ms for k in kids), default=r.ts_ms)
            attrs = self._attributes(r, kids, stuck_group if r.seq == last_seq else None)
            dups = redelivered.get(r.seq, [])
            if dups:
                attrs["choreo.duplicates"] = len(dups)
            events = [
                Event(
                    "redelivered",
                    {
                        "messaging.destination.partition.id": str(d.partition),
                        "messaging.kafka.offset": d.offset,
                    },
                    d.ts_ms * _MS,
                )
                for d in dups
            ]
            parent = original(r.parent_seq)
            parent_ctx = ctx[parent.seq] if parent is not None and parent.seq != r.seq else root_ctx
            tp = _traceparent(r.headers)
            links = (
                [Link(SpanContext(tp[0], tp[1], True, _SAMPLED), {"choreo.link": "traceparent"})]
                if tp is not None
                else []
            )
            spans.append(
                ReadableSpan(
                    r.event_type,
                    context=ctx[r.seq],
                    parent=parent_ctx,
                    resource=self._resource(r.service),
                    attributes=attrs,
                    events=events,
                    links=links,
                    kind=SpanKind.PRODUCER,
                    start_time=r.ts_ms * _MS,
                    end_time=max(end_ms, r.ts_ms) * _MS,
                    instrumentation_scope=self._scope,
                )
            )
        return spans

    def _attributes(self, r: _Row, kids: list[_Row], stuck_group: str | None) -> dict[str, AttributeValue]:
        attrs: dict[str, AttributeValue] = {
            "messaging.system": "kafka",
            "messaging.operation.type": "send",
            "messaging.operation.name": "send",
            "messaging.destination.name": r.topic,
            "messaging.destination.partition.id": str(r.partition),
            "messaging.kafka.offset": r.offset,
            "choreo.event_type": r.event_type,
            "choreo.seq": r.seq,
        }
        key = _key_text(r.key)
        if key is not None:
            attrs["messaging.kafka.message.key"] = key
        if r.event_id:
            attrs["messaging.message.id"] = r.event_id
        group = self._consumer_group(r, kids) or stuck_group
        if group:
            attrs["messaging.consumer.group.name"] = group
        if r.skew_ms:
            attrs["choreo.skew_ms"] = r.skew_ms
            if r.raw_ts_ms is not None:
                attrs["choreo.broker_timestamp_ms"] = r.raw_ts_ms
        return attrs

    def _consumer_group(self, r: _Row, kids: list[_Row]) -> str | None:
        """The group that consumed this event: the reacting service's group, or
        the topic's only known group."""
        for k in kids:
            g = self._group_of.get((r.topic, k.service))
            if g is not None:
                return g
        groups = self._groups_on.get(r.topic)
        if groups is not None and len(groups) == 1:
            return next(iter(groups))
        return None
