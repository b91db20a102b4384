"""The service map as a Graphviz diagram.

Services are nodes; an edge runs from the service that emits an event type to
each service that consumes its topic, labelled with the event types and their
counts. Consumers come from the ``topic_consumers`` table (the cluster's
consumer groups or the service -> group mapping in choreo.toml, recorded when
collecting live) and from ``[services.*] consumes`` in the config. For topics
with no known consumer, the consumer is inferred from which service emitted
the next step of the same instances; such edges are dashed.
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
    event_type: str
    count: int
    inferred: bool


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


def flows(store: Store, config: ChoreoConfig | None = None) -> list[Flow]:
    ensure_log_views(store)
    consumers = known_consumers(store, config)
    emitted = store.query(
        "SELECT e.service, e.topic, e.event_type, count(*) FROM log_events e "
        'LEFT JOIN instance_events ie USING (topic, partition, "offset") '
        f"WHERE ie.duplicate_of_seq IS NULL AND {_NOT_POISON} GROUP BY ALL ORDER BY ALL"
    )
    out: list[Flow] = []
    for service, topic, event_type, n in emitted:
        for consumer in sorted(consumers.get(str(topic), ())):
            out.append(Flow(str(service), consumer, str(event_type), int(n), False))
    # Inferred: a step's emitter consumed its cause (causal parent, else the
    # step before it in the instance).
    inferred = store.query(
        """
        WITH s AS (
            SELECT ie.instance_id, ie.seq, ie.parent_seq, e.service, e.topic, e.event_type
            FROM instance_events ie JOIN log_events e USING (topic, partition, "offset")
            WHERE ie.duplicate_of_seq IS NULL
        ), c AS (
            SELECT *, coalesce(parent_seq, lag(seq) OVER (PARTITION BY instance_id ORDER BY seq)) AS cause
            FROM s
        )
        SELECT p.service, p.topic, p.event_type, c.service, count(*)
        FROM c JOIN s p ON p.instance_id = c.instance_id AND p.seq = c.cause
        WHERE p.service <> c.service
        GROUP BY ALL ORDER BY ALL
        """
    )
    for service, topic, event_type, consumer, n in inferred:
        if str(topic) not in consumers:
            out.append(Flow(str(service), str(consumer), str(event_type), int(n), True))
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
        items.sort(key=lambda f: (f.event_type, f.inferred))
        lines = [f"{f.event_type} ({f.count})" for f in items]
        attrs = {"style": "dashed"} if all(f.inferred for f in items) else {}
        g.edge(ids[src], ids[dst], label(*lines), **attrs)
    return str(g.source)
