"""The service map as a Graphviz diagram, from what was observed.

Services are nodes. An edge runs from the service that emits an event type
to a service seen *reacting* to it: an event it emitted was caused by one of
that type (its causation link, or, without one, the step right before it in
the instance when the learned model has that step as a sequence, not as two
parallel branches of a fan-out). Such an edge is drawn (solid) when the reacting service
is a known consumer of the topic — from the ``topic_consumers`` table (the
cluster's consumer groups, recorded while collecting live) or ``[services.*]
consumes`` in the config; a reaction on a topic with no known consumer at
all is drawn dashed and labelled ``inferred``. A known consumer never seen
reacting to anything on a topic (a sink) gets a dotted edge saying it reads
the topic, not which events it did nothing with. A service whose topics are
known is never drawn reacting to a topic it does not read: its event only
came after that one (a parallel branch, a coincidence of timing), it was
not caused by it. Never a self-loop: a service consuming its own topic is no
dependency between services.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import graphviz

from choreo.core.config import ChoreoConfig
from choreo.core.errors import InputError
from choreo.core.event_log import ensure_log_views
from choreo.core.schema import POISON_KINDS
from choreo.core.store import Store
from choreo.reconstruct.export.dot_labels import label

# A poison record's "service" is only the topic it was found on (nothing
# could be decoded), so it is no evidence of a service.
_NOT_POISON = "e.payload_kind NOT IN ({})".format(", ".join(f"'{k}'" for k in POISON_KINDS))


@dataclass(frozen=True)
class Flow:
    emitter: str
    consumer: str
    event_type: str  # the event the consumer reacted to; for a sink, the topic it reads
    count: int
    inferred: bool  # no consumer of the topic is known: seen only from the reactions
    reads_only: bool = False  # a known consumer seen reacting to nothing on the topic


def known_consumers(store: Store, config: ChoreoConfig | None) -> dict[str, set[str]]:
    """topic -> consuming services, from the store and the config."""
    out: dict[str, set[str]] = defaultdict(set)
    for topic, service in store.query("SELECT topic, service FROM log_topic_consumers"):
        out[str(topic)].add(str(service))
    if config is not None:
        for name, svc in config.services.items():
            for topic in svc.consumes:
                out[topic].add(name)
    return out


def reactions(store: Store) -> list[tuple[str, str, str, str, int]]:
    """(emitter, topic, event type, reacting service, times) as observed in the instances."""
    rows = store.query(
        f"""
        WITH s AS (
            SELECT ie.instance_id, ie.seq, ie.parent_seq, e.service, e.topic, e.event_type, i.workflow
            FROM instance_events ie JOIN log_events e USING (topic, partition, "offset")
            JOIN instances i USING (instance_id)
            WHERE ie.duplicate_of_seq IS NULL AND {_NOT_POISON}
        ), c AS (
            SELECT *, lag(seq) OVER (PARTITION BY instance_id ORDER BY seq) AS prev_seq FROM s
        )
        SELECT p.service, p.topic, p.event_type, c.service, count(*)
        FROM c JOIN s p ON p.instance_id = c.instance_id AND p.seq = coalesce(c.parent_seq, c.prev_seq)
        LEFT JOIN model_edges m
            ON m.workflow = c.workflow AND m.src_type = p.event_type AND m.dst_type = c.event_type
        WHERE p.service <> c.service
          AND (c.parent_seq IS NOT NULL OR (m.src_type IS NOT NULL AND NOT m.concurrent AND NOT EXISTS (
              -- two branches of one fan-out: the one before is no cause of the other
              SELECT 1 FROM model_expect a JOIN model_expect b USING (workflow, parent_type)
              WHERE a.workflow = c.workflow AND a.source = 'fan-out' AND b.source = 'fan-out'
                AND a.child_type = p.event_type AND b.child_type = c.event_type)))
        GROUP BY ALL ORDER BY ALL
        """
    )
    return [(str(a), str(t), str(x), str(r), int(n)) for a, t, x, r, n in rows]


def flows(store: Store, config: ChoreoConfig | None = None) -> list[Flow]:
    ensure_log_views(store)
    consumers = known_consumers(store, config)
    reading = {service for services in consumers.values() for service in services}
    out: list[Flow] = []
    reacted: set[tuple[str, str]] = set()  # (topic, consumer)
    for emitter, topic, event_type, reactor, n in reactions(store):
        known = consumers.get(topic)
        if known and reactor not in known:
            continue  # it reacted to a copy read elsewhere, not to this topic
        if not known and reactor in reading:
            continue  # what it reads is known, and this topic is not part of it
        out.append(Flow(emitter, reactor, event_type, n, inferred=not known))
        reacted.add((topic, reactor))
    emitters = store.query(
        f"SELECT DISTINCT e.topic, e.service FROM log_events e WHERE {_NOT_POISON} ORDER BY ALL"
    )
    for topic, emitter in emitters:
        for consumer in sorted(consumers.get(str(topic), ())):
            if consumer != emitter and (str(topic), consumer) not in reacted:
                out.append(Flow(str(emitter), consumer, str(topic), 0, inferred=False, reads_only=True))
    return out


def services_dot(store: Store, config: ChoreoConfig | None = None) -> str:
    """DOT source of the service map."""
    ensure_log_views(store)
    services = {
        str(r[0]) for r in store.query(f"SELECT DISTINCT service FROM log_events e WHERE {_NOT_POISON}")
    }
    if not services:
        raise InputError(f"{store.path} holds no events")
    fl = flows(store, config)
    services |= {f.consumer for f in fl}
    ids = {s: f"s{i}" for i, s in enumerate(sorted(services))}
    g = graphviz.Digraph(
        "services",
        graph_attr={"rankdir": "LR", "fontname": "Helvetica", "nodesep": "0.5", "ranksep": "1.2"},
        node_attr={
            "shape": "box",
            "style": "rounded,filled",
            "fillcolor": "#e8f0f8",
            "color": "#2f5d8a",
            "fontname": "Helvetica",
        },
        edge_attr={"fontname": "Helvetica", "fontsize": "10", "color": "#555555"},
    )
    for s in sorted(services):
        g.node(ids[s], label(s))
    grouped: dict[tuple[str, str], list[Flow]] = defaultdict(list)
    for f in fl:
        grouped[(f.emitter, f.consumer)].append(f)
    for (src, dst), items in sorted(grouped.items()):
        items.sort(key=lambda f: (f.reads_only, f.event_type, f.inferred))
        lines = [
            f"reads {f.event_type} (no reaction seen)" if f.reads_only else f"{f.event_type} ({f.count})"
            for f in items
        ]
        attrs: dict[str, str] = {}
        if all(f.inferred for f in items):
            lines.append("inferred: no consumer group known")
            attrs = {"style": "dashed"}
        elif all(f.reads_only for f in items):
            attrs = {"style": "dotted", "color": "#999999", "fontcolor": "#777777"}
        g.edge(ids[src], ids[dst], label(*lines), **attrs)
    return str(g.source)
